/**
 * Kill -9 proof of the claim workflow. Dripline runs as a child process exactly as `npm start`
 * runs it (embedded store, its own workers), ingesting a finished day from the sandbox EHR and
 * sending claims to the sandbox payer (both in this process, over HTTP, each with its own SMART
 * authorization server). It is SIGKILLed while submissions are in flight — the payer answers
 * slowly, so some claims are `submitting` — and started again on the same data.
 *
 * What must hold after the restart: every finished encounter with charges is billed by exactly one
 * claim; every claim reached a final state for this flow (held with a Task, or answered by the
 * payer); no claim was adjudicated twice; no job was dead-lettered; every claim's history is a
 * legal sequence of states.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, Claim, Encounter, Task } from '@medplum/fhirtypes';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { claimFrequencyOf, encountersOfClaim, replacedByOf } from '../../src/claims/workflow/identity.ts';
import { CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { claimTaskId } from '../../src/claims/workflow/tasks.ts';
import { freePort } from '../../src/http/free-port.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { SEED_PAYERS } from '../../src/sandbox/ehr/seed-data/cast.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { startSandboxPayer } from '../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../src/sandbox/payer/server.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { sandboxSeedDay } from '../../src/sandbox/day.ts';
import { driplineChildEnv, startDriplineChild } from '../support/child.ts';
import { testClock } from '../support/clock.ts';
import type { DriplineChild } from '../support/child.ts';
import { waitFor } from '../support/wait.ts';
import { billingSettled } from '../support/billing-settled.ts';

const TENANT = 'k9claims';
const SERVER = fileURLToPath(new URL('../ingest/kill9-server.ts', import.meta.url));
const PAYERS = SEED_PAYERS;
const TIME_ZONE = 'America/New_York';
/** Legal next states of the workflow (a retry may repeat `submitting`). */
const NEXT: Record<string, readonly string[]> = {
  built: ['held', 'ready', 'void'],
  held: ['built', 'ready', 'void'],
  ready: ['submitting', 'built'],
  submitting: ['submitting', 'adjudicated', 'rejected'],
  rejected: ['built', 'void'],
  adjudicated: ['adjudicated'],
  void: ['built'],
};

let dir: string;
let ehr: SandboxEhr;
let payer: SandboxPayer;
let child: DriplineChild | undefined;
let store: SqliteStore;
let submittingAtKill = 0;
let answeredAtKill = 0;
/** Claims the payer had answered while Dripline still held them `submitting`, at the kill. */
let unheardAtKill = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dripline-claims-kill9-'));
  // The day the sandbox would seed now (a day that has ended in the clinic's zone), on the run's
  // clock: .ci/run pins it at 00:30 and 23:30 UTC.
  const day = sandboxSeedDay(testClock(), { timeZone: TIME_ZONE, patients: 16 });
  ehr = await startSandboxEhr({
    port: 0,
    seed: { date: day, patients: 16, timeZone: TIME_ZONE },
    now: testClock,
  });
  const connection = await sandboxConnection(ehr);
  payer = await startSandboxPayer({
    port: 0,
    payerIds: Object.fromEntries(PAYERS.map((p) => [p.payerId, p.kind])),
    now: testClock,
    timeZone: TIME_ZONE,
  });
  // Slow answers, given after the claim is adjudicated and recorded: the kill lands while a claim
  // the payer has answered is still `submitting` at Dripline.
  payer.setBehaviour({ answerDelayMs: 400 });
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = 'k9-payer';
  const scope = 'system/Claim.crs system/ClaimResponse.rs';
  const clientId = await payer.registerClient({
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' }] },
    scope,
  });
  const privateKeyJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES384', use: 'sig' };
  const configFile = join(dir, 'dripline.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      tenants: [
        {
          id: TENANT,
          name: 'Kill -9 claims clinic',
          timeZone: TIME_ZONE,
          connections: [connection],
          billing: {
            name: 'Sandbox Infusion Center',
            npi: '1234567893',
            taxonomy: '261QI0500X',
            taxId: '123456789',
            address: { line: ['100 Main Street'], city: 'Columbus', state: 'OH', postalCode: '432151234' },
          },
          payers: PAYERS.map((p) => ({
            ...p,
            channel: 'fhir',
            fhirBaseUrl: payer.fhirBaseUrl,
            tokenUrl: payer.tokenUrl,
            clientId,
            privateKeyJwk,
            scope,
          })),
        },
      ],
    }),
  );
  const port = await freePort();
  const env = {
    ...driplineChildEnv({ configFile, dataDir: join(dir, 'data'), port }),
    // A killed worker's jobs are leased; after the restart they wait this long.
    JOB_LEASE_MS: '2000',
    // Bill every 500 ms rather than every 5 s (kill9-server.ts): the waits below were sweep ticks.
    KILL9_SWEEP_MS: '500',
  };
  child = await startDriplineChild(SERVER, env);
  store = await openSqliteStore({ path: join(dir, 'data', 'dripline.sqlite') });
  await waitFor(
    'the EHR to hold both subscriptions active',
    async () => {
      const subscriptions = await ehr.listResources('Subscription');
      return (
        subscriptions.length === 2 &&
        subscriptions.every((s) => ehr.subscriptionInfo(s.id ?? '')?.status === 'active')
      );
    },
    20_000,
  );
  await ehr.replay({ speed: 0 });

  // Kill when the payer has answered some claims, one of them a claim Dripline still holds as
  // `submitting` (answered, the answer not yet heard): after the restart Dripline must ask for
  // that answer, not have the claim adjudicated again.
  const first = child;
  await waitFor(
    'a submission answered but not yet heard',
    async () => {
      const claims = await searchAll<Claim>(store, TENANT, 'Claim');
      const submitting = claims.filter((c) => claimStateOf(c) === 'submitting');
      const responses = await payer.claimResponses();
      const answered = new Set(responses.map((r) => r.request?.reference));
      const unheard = submitting.filter((c) => answered.has(`Claim/${c.id}`)).length;
      if (responses.length >= 2 && unheard > 0) {
        first.process.kill('SIGKILL');
        submittingAtKill = submitting.length;
        unheardAtKill = unheard;
        answeredAtKill = responses.length;
        return true;
      }
      return false;
    },
    60_000,
    20,
  );
  await first.exited;
  child = await startDriplineChild(SERVER, env);
  payer.setBehaviour({});

  // Settled: every queue idle, nothing built / ready / submitting, every finished encounter with
  // charges billed (the sweep runs on a timer), three looks in a row.
  await billingSettled(store, TENANT, { timeoutMs: 90_000, beforeLook: () => ehr.idle() });
}, 240_000);

afterAll(async () => {
  child?.process.kill('SIGKILL');
  await child?.exited;
  await store?.close();
  await payer?.stop();
  await ehr?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the kill landed mid-submission, with a claim answered by the payer and not yet heard', () => {
  expect(submittingAtKill).toBeGreaterThan(0);
  expect(unheardAtKill).toBeGreaterThan(0);
  expect(answeredAtKill).toBeGreaterThanOrEqual(2);
});

test('every finished encounter with charges is billed by exactly one standing claim', async () => {
  const claims = await searchAll<Claim>(store, TENANT, 'Claim');
  const byId = new Map(claims.map((c) => [c.id ?? '', c]));
  // An original replaced by its corrected claim (frequency 7, the same encounters) no longer stands:
  // charges that change after adjudication — an administration the EHR sent while Dripline was
  // down arrives after the restart — are billed by a correction, never by a second original.
  const replaced = claims.filter((c) => byId.has(replacedByOf(c) ?? ''));
  expect(
    replaced.filter((c) => {
      const correction = byId.get(replacedByOf(c) ?? '')!;
      return (
        claimFrequencyOf(correction) !== '7' ||
        encountersOfClaim(correction).join() !== encountersOfClaim(c).join()
      );
    }),
  ).toEqual([]);
  const billedBy = new Map<string, string[]>();
  for (const claim of claims.filter((c) => !replaced.includes(c))) {
    for (const encounter of encountersOfClaim(claim)) {
      billedBy.set(encounter, [...(billedBy.get(encounter) ?? []), claim.id ?? '']);
    }
  }
  const billable = new Set(
    (await searchAll<ChargeItem>(store, TENANT, 'ChargeItem'))
      .filter((c) => c.status === 'billable')
      .map((c) => c.context?.reference ?? ''),
  );
  const finished = (await searchAll<Encounter>(store, TENANT, 'Encounter')).filter(
    (e) => e.status === 'finished' && billable.has(`Encounter/${e.id}`),
  );
  expect(finished.length).toBeGreaterThan(0);
  const problems = finished
    .map((e) => `Encounter/${e.id}`)
    .filter((ref) => (billedBy.get(ref) ?? []).length !== 1)
    .map((ref) => {
      // Each claim with what it bills, its state, frequency and creation: enough to tell a rebuild
      // of another encounter group from a double build of the same one.
      const billing = (billedBy.get(ref) ?? []).map((id) => {
        const claim = claims.find((c) => c.id === id);
        return claim
          ? `${id} (${claimStateOf(claim) ?? '?'}, ${claim.status}, frequency ${claimFrequencyOf(claim)}, replaced by ${replacedByOf(claim) ?? '-'}, ${encountersOfClaim(claim).join('+')}, created ${claim.created})`
          : id;
      });
      return `${ref}: ${JSON.stringify(billing)}`;
    });
  expect(problems).toEqual([]);
});

test('every claim is held with a Task or answered by the payer, and none was adjudicated twice', async () => {
  const claims = await searchAll<Claim & StoredResource>(store, TENANT, 'Claim');
  const states = claims.map((c) => claimStateOf(c));
  expect(states.every((s) => s === 'held' || s === 'adjudicated' || s === 'rejected')).toBe(true);
  const answers = new Map<string, number>();
  for (const response of await payer.claimResponses()) {
    const ref = response.request?.reference ?? '';
    answers.set(ref, (answers.get(ref) ?? 0) + 1);
  }
  for (const claim of claims.filter((c) => claimStateOf(c) === 'held')) {
    const task = (await store.resources.read(TENANT, 'Task', claimTaskId(claim.id))) as Task;
    expect([claim.id, task.status]).toEqual([claim.id, 'requested']);
  }
  for (const claim of claims.filter((c) => claimStateOf(c) !== 'held')) {
    expect([claim.id, answers.get(`Claim/${claim.id}`)]).toEqual([claim.id, 1]);
  }
  // No claim the payer answered is missing here, and nothing was dead-lettered.
  const ours = new Set(claims.map((c) => `Claim/${c.id}`));
  expect([...answers.keys()].filter((ref) => !ours.has(ref))).toEqual([]);
  for (const queue of [CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE, ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE]) {
    expect(await store.jobs.listJobs(TENANT, queue, 'dead', 10)).toEqual([]);
  }
  console.log(
    `claims kill -9: ${claims.length} claims ${JSON.stringify(
      states.reduce<Record<string, number>>((n, s) => ({ ...n, [s ?? '?']: (n[s ?? '?'] ?? 0) + 1 }), {}),
    )}; killed with ${submittingAtKill} submitting (${unheardAtKill} of them answered) and ${answeredAtKill} answered`,
  );
});

test('every claim history is a legal sequence of workflow states', async () => {
  const problems: string[] = [];
  for (const claim of await searchAll<Claim>(store, TENANT, 'Claim')) {
    const history = await store.resources.history(TENANT, 'Claim', claim.id ?? '');
    const states = history.resources.map((v) => claimStateOf(v as Claim) ?? '?').reverse();
    if (states[0] !== 'built') {
      problems.push(`${claim.id ?? ''} starts ${states[0] ?? '?'}`);
    }
    for (let i = 1; i < states.length; i++) {
      const from = states[i - 1] ?? '?';
      const to = states[i] ?? '?';
      if (!(NEXT[from] ?? []).includes(to)) {
        problems.push(`${claim.id ?? ''}: ${from} → ${to}`);
      }
    }
  }
  expect(problems).toEqual([]);
});
