/**
 * The claim workflow end to end over real HTTP: the sandbox EHR's day flows in, charge capture
 * prices it, claims are built, scrubbed (held with a Task, or ready), and submitted to the sandbox
 * payer (Dripline is its SMART Backend Services client) — first while the payer answers 503 (claims
 * stay queued), then after it recovers (every claim adjudicated or rejected, none lost, none sent
 * twice). Prints the first-pass acceptance rate of the day.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  AuditEvent,
  ChargeItem,
  Claim,
  ClaimResponse,
  Encounter,
  ExplanationOfBenefit,
  MedicationAdministration,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import {
  claimIdFor,
  claimPayerOf,
  correctionIdFor,
  encountersOfClaim,
  replacedByOf,
  voidIdFor,
} from '../../src/claims/workflow/identity.ts';
import { CLAIM_ANSWER_QUEUE, CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { standingClaims } from '../../src/claims/workflow/sweep.ts';
import { isDenial } from '../../src/claims/workflow/submission.ts';
import { claimTaskId, findingsOfTask } from '../../src/claims/workflow/tasks.ts';
import { authorizationOnFile } from '../../src/coverage/authorizations.ts';
import { findingsOfOutcome } from '../../src/claims/routes.ts';
import { correctedClaimTaskId } from '../../src/charges/reconcile.ts';
import { normalizeReference } from '../../src/store/search-index.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { SEED_PAYERS } from '../../src/sandbox/ehr/seed-data/cast.ts';
import { payerClientOf, SANDBOX_BILLING, seededTenantPayers } from '../support/sandbox-payers.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { startSandboxPayer } from '../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../src/sandbox/payer/server.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import { X12parser } from 'x12-parser';
import { Readable } from 'node:stream';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { advancingClock } from '../../src/time/clock.ts';
import { EXT_CLAIM_FREQUENCY, EXT_CLAIM_STATE, EXT_CLAIM_STATE_SINCE } from '../../src/contract/canonical.ts';
import { EXT_CLAIM_PAYMENT_STATUS } from '../../src/contract/remittance.ts';

/** What rendering an 837 discloses, so what reading one needs (src/auth/disclosure.ts). */
const X12_READ =
  'system/Claim.rs system/Patient.r system/Coverage.r system/Organization.r system/Practitioner.r system/RelatedPerson.r';
const TENANT = 'sandbox';
const DAY = { date: '2026-11-26', patients: 16 };

const X12_PAYER = 'medicaid-oh';
/** The longest wait between two submission attempts (the claim workflow's backoff, capped here). */
const MAX_RETRY_DELAY_MS = 1_000;

/** Every party's clock: moved past the claims' retry backoff once the payer is back, instead of waiting it out. */
const clock = advancingClock();
let ehr: SandboxEhr;
let payer: SandboxPayer;
let server: TestServer;

async function queueIdle(queue: string): Promise<boolean> {
  const store = server.running.store;
  const ready = await store.jobs.listJobs(TENANT, queue, 'ready', 1);
  const leased = await store.jobs.listJobs(TENANT, queue, 'leased', 1);
  return ready.length === 0 && leased.length === 0;
}

async function all<T>(type: string): Promise<(T & StoredResource)[]> {
  return (await searchAll(server.running.store, TENANT, type as Resource['resourceType'])) as (T &
    StoredResource)[];
}

const claims = (): Promise<(Claim & StoredResource)[]> => all<Claim>('Claim');

/**
 * A look that asks the claim worker for a sweep first: the sweep takes over corrections, rechecks
 * held claims and bills what charge capture finished, so a wait for its work need not wait out
 * `sweepMs` (the timer's own sweeps are the worker's tests' subject, not this file's).
 */
const afterSweep =
  <T>(look: () => Promise<T>) =>
  async (): Promise<T> => {
    await server.running.claims.sweepNow();
    return look();
  };
/** Claims by state; X12-channel claims (waiting for a batch, not for $submit) apart as `x12:<state>`. */
const stateCounts = async (): Promise<Record<string, number>> => {
  const counts: Record<string, number> = {};
  for (const c of await claims()) {
    if (claimPayerOf(c) === X12_PAYER) {
      const key = `x12:${claimStateOf(c) ?? '?'}`;
      counts[key] = (counts[key] ?? 0) + 1;
      continue;
    }
    const s = claimStateOf(c) ?? '?';
    counts[s] = (counts[s] ?? 0) + 1;
  }
  return counts;
};

/**
 * Ingest, charge capture and claim building are idle, no claim is still `built`, and every finished
 * encounter with billable charges has its claim: the sweep that bills runs on a timer, so idle
 * queues alone do not say the day is billed. (The payer is down: claims wait in `submitting`.)
 */
async function claimsSettled(): Promise<boolean> {
  await ehr.idle();
  for (const q of [INGEST_QUEUE, ENCOUNTER_CHANGED_QUEUE, CLAIM_READY_QUEUE]) {
    if (!(await queueIdle(q))) {
      return false;
    }
  }
  const list = await claims();
  if (list.length === 0 || list.some((c) => claimStateOf(c) === 'built')) {
    return false;
  }
  const { claimed } = standingClaims(list);
  const billable = new Set(
    (await all<ChargeItem>('ChargeItem'))
      .filter((c) => c.status === 'billable')
      .map((c) => c.context?.reference ?? ''),
  );
  return (await all<Encounter>('Encounter')).every((e) => {
    const ref = `Encounter/${e.id}`;
    return e.status !== 'finished' || !billable.has(ref) || claimed.has(ref);
  });
}

async function parseX12(text: string): Promise<{ name: string; [element: string]: unknown }[]> {
  const parser = new X12parser();
  const out: { name: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    parser.on('data', (s: { name: string }) => out.push(s));
    parser.on('end', resolve);
    parser.on('error', reject);
    Readable.from([Buffer.from(text, 'ascii')]).pipe(parser);
  });
  return out;
}

beforeAll(async () => {
  loadFhirDefinitions();
  ehr = await startSandboxEhr({ port: 0, seed: DAY, now: clock.now });
  const connection = await sandboxConnection(ehr);
  payer = await startSandboxPayer({
    now: clock.now,
    port: 0,
    payerIds: Object.fromEntries(SEED_PAYERS.map((p) => [p.payerId, p.kind])),
  });
  const client = await payerClientOf(payer, 'system/Claim.crs system/ClaimResponse.rs');
  // The payer is down while the day flows in: claims must wait, not be lost.
  payer.setBehaviour({ unavailable: 503 });
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    {
      now: clock.now,
      extraConnections: [{ tenant: TENANT, connection }],
      claimWorkflow: {
        holdMs: 0,
        sweepMs: 300,
        recheckMs: 300,
        retryDelayMs: (attempts) => Math.min(150 * 2 ** Math.max(attempts - 1, 0), MAX_RETRY_DELAY_MS),
      },
      // Charge capture's idle poll out of reach: whatever hands it work must wake it — ingest's
      // encounter events, a correction or void the claim workflow takes over, and its own retries
      // (a Condition not stored yet fails a home episode's first attempt: woken at the retry).
      chargeCaptureWorker: { pollMs: 60_000 },
    },
    {
      tenants: [
        {
          id: TENANT,
          name: 'Sandbox infusion center',
          billing: SANDBOX_BILLING,
          // Ohio Medicaid takes claims from a clearinghouse (837 batches, a test connection: ISA15
          // T); the rest by Claim/$submit.
          payers: seededTenantPayers(payer, client, (p) =>
            p.id === X12_PAYER ? { channel: 'x12', usage: 'T' } : {},
          ),
        },
      ],
    },
  );
  await waitFor('active subscriptions', async () => {
    const records = await Promise.all(
      INGEST_TOPICS.map((t) => loadRecord(server.running.store, TENANT, connection.id, t)),
    );
    return records.every((r) => r?.status === 'active');
  });
  await ehr.replay({ speed: 0 });
  try {
    let settledLooks = 0; // two looks in a row
    await waitFor(
      'claims built and scrubbed',
      afterSweep(async () => {
        settledLooks = (await claimsSettled()) ? settledLooks + 1 : 0;
        return settledLooks >= 2;
      }),
      Number(process.env['WF_WAIT'] ?? 120_000),
    );
  } catch (err) {
    const store = server.running.store;
    console.error(
      JSON.stringify({
        counts: await stateCounts(),
        ready: await store.jobs.listJobs(TENANT, CLAIM_READY_QUEUE, 'ready', 3),
        dead: await store.jobs.listJobs(TENANT, CLAIM_READY_QUEUE, 'dead', 3),
        logs: server.logs.slice(-15),
        encounters: (await all<{ status: string }>('Encounter')).map((e) => e.status).join(','),

        ecq: await store.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'ready', 2),
        ecql: await store.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'leased', 2),
        sweep: await server.running.claims.sweep(TENANT),
        done: await Promise.all(
          (await store.jobs.listJobs(TENANT, CLAIM_READY_QUEUE, 'done', 3)).map(async (j) => [
            j.payload,
            await server.running.claims
              .buildAndScrub(TENANT, j.payload as never)
              .catch((e: unknown) => (e as Error).stack),
          ]),
        ),
      }).slice(0, 6000),
    );
    throw err;
  }
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await payer?.stop();
  await ehr?.stop();
});

describe('claim workflow over the sandbox day', () => {
  test('while the payer answers 503, ready claims wait in submitting with their job queued', async () => {
    const counts = await stateCounts();
    expect((counts['submitting'] ?? 0) + (counts['ready'] ?? 0)).toBeGreaterThan(0);
    expect(counts['adjudicated'] ?? 0).toBe(0);
    expect(await payer.claimResponses()).toHaveLength(0);
    const store = server.running.store;
    const pending = [
      ...(await store.jobs.listJobs(TENANT, CLAIM_SUBMIT_QUEUE, 'ready', 1000)),
      ...(await store.jobs.listJobs(TENANT, CLAIM_SUBMIT_QUEUE, 'leased', 1000)),
    ];
    expect(pending.length).toBe((counts['submitting'] ?? 0) + (counts['ready'] ?? 0));
    expect(await store.jobs.listJobs(TENANT, CLAIM_SUBMIT_QUEUE, 'dead', 10)).toHaveLength(0);
  });

  test('after the payer recovers every ready claim is submitted once and adjudicated (or rejected)', async () => {
    payer.setBehaviour({});
    clock.advance(MAX_RETRY_DELAY_MS); // every submission waiting for its next attempt is due
    server.running.claims.notify(); // and the worker looks now, not at its next poll
    await waitFor(
      'submissions to finish',
      async () => {
        const counts = await stateCounts();
        return (
          (counts['ready'] ?? 0) + (counts['submitting'] ?? 0) === 0 && (await queueIdle(CLAIM_SUBMIT_QUEUE))
        );
      },
      60_000,
    );
    const list = await claims();
    const responses = await payer.claimResponses();
    const submitted = list.filter((c) => ['adjudicated', 'rejected'].includes(claimStateOf(c) ?? ''));
    expect(submitted.length).toBeGreaterThan(0);
    // One payer ClaimResponse per submitted claim: nothing sent twice.
    const perClaim = new Map<string, number>();
    for (const r of responses) {
      perClaim.set(r.request?.reference ?? '', (perClaim.get(r.request?.reference ?? '') ?? 0) + 1);
    }
    expect([...perClaim.values()].every((n) => n === 1)).toBe(true);
    expect(responses).toHaveLength(submitted.length);
    // Each submitted claim has its stored ClaimResponse, and its history shows every transition.
    const stored = await all<ClaimResponse>('ClaimResponse');
    for (const claim of submitted) {
      expect(stored.some((r) => r.request?.reference === `Claim/${claim.id}`)).toBe(true);
      const history = await server.running.store.resources.history(TENANT, 'Claim', claim.id);
      const states = history.resources.map((v) => claimStateOf(v as Claim)).reverse();
      const distinct = states.filter((s, i) => i === 0 || s !== states[i - 1]);
      expect(distinct.slice(0, 4)).toEqual(['built', 'ready', 'submitting', claimStateOf(claim)]);
      expect(claim.status).toBe('active');
      expect(claim.extension?.some((e) => e.url === EXT_CLAIM_STATE_SINCE)).toBe(true);
    }

    const accepted = stored.filter((r) => !isDenial(r)).length;
    const rate = submitted.length > 0 ? accepted / submitted.length : 0;
    const counts = await stateCounts();
    console.log(
      `claim workflow (sandbox day, ${DAY.patients} patients): ${list.length} claims ${JSON.stringify(counts)}; ` +
        `first-pass acceptance ${accepted}/${submitted.length} = ${(rate * 100).toFixed(1)}% ` +
        `(adjudicated without denial / submitted)`,
    );
    const reasons = stored.flatMap((r) =>
      (r.item ?? []).flatMap((i) =>
        (i.adjudication ?? []).flatMap((a) => (a.reason?.coding ?? []).map((c) => c.code)),
      ),
    );
    const tasks = (await all<Task>('Task')).filter((t) => t.code?.text === 'claim needs attention');
    console.log(
      `payer reason codes: ${JSON.stringify(reasons)}; attention tasks: ${tasks.length} (${tasks
        .map((t) => t.focus?.reference?.split('/')[0])
        .join(',')}); held findings: ${JSON.stringify(
        tasks.flatMap((t) =>
          findingsOfTask(t)
            .filter((f) => f.severity === 'error')
            .map((f) => f.ruleId),
        ),
      )}`,
    );
  });

  test("every adjudicated answer is posted by remittance as an ExplanationOfBenefit, the claim's payment status set", async () => {
    const answers = (await all<ClaimResponse>('ClaimResponse')).filter(
      (r) => r.use === 'claim' && r.outcome !== 'error',
    );
    expect(answers.length).toBeGreaterThan(0);
    // Posting is the remittance worker's job (CLAIM_ANSWER_QUEUE), enqueued with each answer.
    await waitFor(
      'an ExplanationOfBenefit for every adjudicated answer',
      async () => (await all<ExplanationOfBenefit>('ExplanationOfBenefit')).length >= answers.length,
    );
    const eobs = await all<ExplanationOfBenefit>('ExplanationOfBenefit');
    const byClaim = await claims();
    for (const answer of answers) {
      const claimRef = normalizeReference(answer.request?.reference ?? '');
      const mine = eobs.filter((e) => e.claim?.reference === claimRef);
      expect(mine.map((e) => e.status)).toEqual(['active']);
      const claim = byClaim.find((c) => `Claim/${c.id}` === claimRef);
      const status = claim?.extension?.find((e) => e.url === EXT_CLAIM_PAYMENT_STATUS)?.valueCode;
      expect(['paid', 'partially-paid', 'denied']).toContain(status);
      // A claim posted as (partially) denied is one the payer's answer denied something on.
      if (status !== 'paid') {
        expect(isDenial(answer)).toBe(true);
      }
    }
  });

  test('every denial the payer answered is a remittance work item in its queue, listed over /api/remittance/work-items and assignable', async () => {
    const responses = (await all<ClaimResponse>('ClaimResponse')).filter(
      (r) => r.use === 'claim' && isDenial(r),
    );
    const token = await server.token(TENANT, 'system/Task.rs system/Claim.r');
    const { status, body } = await fhirFetch(`${server.url}/api/remittance/work-items`, token);
    expect(status).toBe(200);
    const items = body.items as {
      id: string;
      claim: string;
      queue: string;
      dollarsAtStake: number;
      appealDeadline?: string;
      recommendedFix?: { rule: string };
    }[];
    // Each denied claim has at least one item, with dollars at stake, a deadline and a fix.
    for (const r of responses) {
      const claim = (r.request?.reference ?? '').replace('Claim/', '');
      const mine = items.filter((i) => i.claim === claim);
      expect(mine.length).toBeGreaterThan(0);
      for (const item of mine) {
        expect(item.dollarsAtStake).toBeGreaterThan(0);
        expect(item.appealDeadline).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(item.recommendedFix?.rule).toBeTruthy();
      }
    }
    console.log(
      `remittance work items: ${items.length} for ${responses.length} denied answers; by queue ${JSON.stringify(body.counts)}`,
    );
    const first = items[0];
    if (first) {
      const write = await server.token(TENANT, 'system/Task.u system/Claim.u');
      const res = await fetch(`${server.url}/api/remittance/work-items/${first.id}/assign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
        body: JSON.stringify({ assignee: 'denials-team-b' }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { item: { assignee: string } }).item.assignee).toBe('denials-team-b');
      // A read-only token cannot assign; another tenant does not see the items.
      const denied = await fetch(`${server.url}/api/remittance/work-items/${first.id}/assign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ assignee: 'x' }),
      });
      expect(denied.status).toBe(403);
      const other = await fhirFetch(
        `${server.url}/api/remittance/work-items`,
        await server.token('clinic-b', 'system/Task.rs system/Claim.r'),
      );
      expect(other.status).toBe(200);
      expect(other.body.items).toEqual([]);
    }
  });

  test('every held claim has a "claim needs attention" Task listing its findings', async () => {
    const held = (await claims()).filter((c) => claimStateOf(c) === 'held');
    for (const claim of held) {
      const task = (await server.running.store.resources.read(TENANT, 'Task', claimTaskId(claim.id))) as Task;
      expect(task.status).toBe('requested');
      expect(task.code?.text).toBe('claim needs attention');
      expect(task.focus?.reference).toBe(`Claim/${claim.id}`);
      const findings = findingsOfTask(task);
      expect(findings.some((f) => f.severity === 'error')).toBe(true);
      for (const f of findings) {
        expect(f.ruleId).not.toBe('');
        expect(f.fix).not.toBe('');
        expect(f.source).not.toBe('');
      }
      expect(claim.status).toBe('draft');
    }
    console.log(`held claims: ${held.length}`);
  });

  test('resubmitting the same claim version (a duplicate job, or a crash after sending) never double-submits', async () => {
    const claim = (await claims()).find((c) => claimStateOf(c) === 'adjudicated');
    if (!claim) {
      console.warn('skipped: no adjudicated claim in the day');
      return;
    }
    const before = (await payer.claimResponses()).filter((r) => r.request?.reference === `Claim/${claim.id}`);
    expect(before).toHaveLength(1);
    const store = server.running.store;
    const history = await store.resources.history(TENANT, 'Claim', claim.id);
    const readyVersion =
      history.resources.find((v) => claimStateOf(v as Claim) === 'ready')?.meta.versionId ?? '2';
    // A duplicate job for the same version: the claim is past submitting, nothing is sent.
    await store.jobs.enqueue(TENANT, {
      queue: CLAIM_SUBMIT_QUEUE,
      key: `dup|${claim.id}`,
      payload: { claim: claim.id, version: readyVersion },
    });
    // A crash after the payer got it but before we recorded: the claim is back in `submitting`.
    const crashed = {
      ...claim,
      extension: (claim.extension ?? []).map((e) =>
        e.url === EXT_CLAIM_STATE ? { ...e, valueCode: 'submitting' } : e,
      ),
    };
    delete (crashed as { meta?: unknown }).meta;
    await store.resources.update(TENANT, crashed, {
      ifMatchVersion: claim.meta.versionId,
    });
    await store.jobs.enqueue(TENANT, {
      queue: CLAIM_SUBMIT_QUEUE,
      key: `crash|${claim.id}`,
      payload: { claim: claim.id, version: readyVersion },
    });
    server.running.claims.notify();
    await waitFor(
      'the interrupted submission to be recovered',
      async () =>
        claimStateOf((await store.resources.read(TENANT, 'Claim', claim.id)) as Claim) === 'adjudicated' &&
        (await queueIdle(CLAIM_SUBMIT_QUEUE)),
      20_000,
    );
    const after = (await payer.claimResponses()).filter((r) => r.request?.reference === `Claim/${claim.id}`);
    expect(after).toHaveLength(1);
  });

  test('the worklist answers what is waiting, on whom, for how long', async () => {
    const token = await server.token(TENANT, 'system/Claim.rs system/Task.rs');
    const { status, body } = await fhirFetch(`${server.url}/api/claims/worklist`, token);
    expect(status).toBe(200);
    const total = Object.values(body.counts as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBe((await claims()).length);
    for (const entry of body.byState.held ?? []) {
      expect(entry.task?.focus).toBe(entry.claim);
      expect(typeof entry.ageSeconds).toBe('number');
    }
    // The read is audited: the claims listed and their patients.
    const audits = await all<AuditEvent>('AuditEvent');
    const listed = Object.values(
      body.byState as Record<string, { claim: string; patient?: string }[]>,
    ).flat();
    const audit = audits.find(
      (a) =>
        a.entity?.some((e) => e.query !== undefined) &&
        listed.every((l) => a.entity?.some((e) => e.what?.reference === l.claim)),
    );
    expect(audit).toBeDefined();
    const patient = listed.find((l) => l.patient)?.patient;
    expect(audit?.entity?.some((e) => e.what?.reference === patient)).toBe(true);
    // The workflow state is a search parameter of the FHIR API too (indexed: claim-state).
    const held = (await claims())
      .filter((c) => claimStateOf(c) === 'held')
      .map((c) => c.id)
      .sort();
    const searched = await fhirFetch(`${server.fhir}/Claim?claim-state=held&_count=100`, token);
    expect(searched.status).toBe(200);
    expect(
      ((searched.body.entry ?? []) as { resource: { id: string } }[]).map((e) => e.resource.id).sort(),
    ).toEqual(held);
    const byState = await fhirFetch(`${server.url}/api/claims/worklist?state=held`, token);
    expect(Object.keys(byState.body.counts as object)).toEqual(held.length > 0 ? ['held'] : []);
    const unauthorized = await fhirFetch(`${server.url}/api/claims/worklist`, undefined);
    expect(unauthorized.status).toBe(401);
    const wrongScope = await fhirFetch(
      `${server.url}/api/claims/worklist`,
      await server.token(TENANT, 'system/Patient.rs'),
    );
    expect(wrongScope.status).toBe(403);
  });

  test('an override is audited with the client and the reason, and releases a claim whose errors are all overridable', async () => {
    const held = (await claims()).filter((c) => claimStateOf(c) === 'held');
    const token = await server.token(TENANT, 'system/Claim.u');
    const noReason = await fhirFetch(`${server.url}/api/claims/x/override`, token, {
      method: 'POST',
      body: {},
    });
    expect(noReason.status).toBe(400);
    if (held.length === 0) {
      console.warn('skipped: no held claim in the day');
      return;
    }
    // Prefer a claim held for something besides prior authorization (a later test releases one of
    // those by recording the authorization).
    const priorAuthOnly = async (c: Claim & StoredResource): Promise<boolean> => {
      const task = (await server.running.store.resources.read(TENANT, 'Task', claimTaskId(c.id))) as Task;
      return findingsOfTask(task)
        .filter((f) => f.severity === 'error')
        .every((f) => f.ruleId === 'prior-auth');
    };
    let claim = held[0]!;
    for (const c of held) {
      if (!(await priorAuthOnly(c))) {
        claim = c;
        break;
      }
    }
    const reason = 'Reviewed with the payer rep: bill as is (test)';
    const { status, body } = await fhirFetch(`${server.url}/api/claims/${claim.id}/override`, token, {
      method: 'POST',
      body: { reason },
      headers: { 'content-type': 'application/json' },
    });
    expect([200, 409]).toContain(status);
    const audits = await all<{
      purposeOfEvent?: { text?: string }[];
      agent?: { who?: { identifier?: { value?: string } } }[];
    }>('AuditEvent');
    const audit = audits.find((a) => a.purposeOfEvent?.[0]?.text === reason);
    expect(audit).toBeDefined();
    expect(audit?.agent?.[0]?.who?.identifier?.value).toMatch(/.+/);
    if (status === 200) {
      expect(body.state).toBe('ready');
      await waitFor(
        'the overridden claim to be submitted',
        async () =>
          ['adjudicated', 'rejected'].includes(
            claimStateOf((await server.running.store.resources.read(TENANT, 'Claim', claim.id)) as Claim) ??
              '',
          ),
        20_000,
      );
    } else {
      expect(body.resourceType).toBe('OperationOutcome');
      const blocking = findingsOfOutcome(body);
      expect(blocking.length).toBeGreaterThan(0);
      expect(blocking.every((b) => !b.overridable)).toBe(true);
    }
  });
});

describe('X12 export of the day’s claims', () => {
  test('GET /fhir/Claim/{id}/$x12 renders a stored claim that an independent parser reads back', async () => {
    const token = await server.token(TENANT, X12_READ);
    const claims = await server.running.store.resources.search(TENANT, {
      resourceType: 'Claim',
      filters: [],
      sort: [],
      count: 100,
      offset: 0,
      total: false,
    });
    const claim = claims.resources.find((c: any) => claimStateOf(c) === 'adjudicated') as any;
    expect(claim).toBeDefined();
    const res = await fetch(`${server.fhir}/Claim/${claim.id}/$x12`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/edi-x12');
    const segments = await parseX12(await res.text());
    const names = segments.map((s) => s.name);
    expect(names[0]).toBe('ISA');
    expect(names.at(-1)).toBe('IEA');
    const clm = segments.find((s) => s.name === 'CLM') as any;
    expect(clm['1']).toBe(claim.id);
    // A FHIR-channel payer's claim: production usage unless its connection says otherwise; the
    // next rendering takes the next interchange control number.
    const isa = segments.find((s) => s.name === 'ISA') as any;
    expect(isa['15']).toBe('P');
    const again = await parseX12(
      await (
        await fetch(`${server.fhir}/Claim/${claim.id}/$x12`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).text(),
    );
    expect(Number((again.find((s) => s.name === 'ISA') as any)['13'])).toBe(Number(isa['13']) + 1);
    // Rendering PHI is a read: audited with the claim and its patient.
    const audits = await all<AuditEvent>('AuditEvent');
    expect(
      audits.some(
        (a) =>
          a.entity?.some((e) => e.what?.reference === `Claim/${claim.id}`) &&
          a.entity?.some((e) => e.what?.reference === claim.patient.reference) &&
          a.entity?.some((e) => e.query !== undefined),
      ),
    ).toBe(true);
    // Another tenant's client cannot read it.
    const other = await server.token('clinic-b', X12_READ);
    const denied = await fetch(`${server.fhir}/Claim/${claim.id}/$x12`, {
      headers: { authorization: `Bearer ${other}` },
    });
    expect(denied.status).toBe(404);
  });
});

describe('X12 channel: batches for the clearinghouse', () => {
  test('the ready claims of an X12 payer are handed over in one 837 batch, kept as a DocumentReference, and marked submitted', async () => {
    const store = server.running.store;
    const ours = async (): Promise<(Claim & StoredResource)[]> =>
      (await claims()).filter((c) => claimPayerOf(c) === X12_PAYER);
    const x12Claims = await ours();
    if (x12Claims.length === 0) {
      console.warn(`skipped: no ${X12_PAYER} patient in the day`);
      return;
    }
    // Nothing of the X12 payer went to a FHIR endpoint.
    const sentByFhir = new Set((await payer.claimResponses()).map((r) => r.request?.reference));
    expect(x12Claims.every((c) => !sentByFhir.has(`Claim/${c.id}`))).toBe(true);
    expect(x12Claims.every((c) => ['ready', 'held'].includes(claimStateOf(c) ?? ''))).toBe(true);
    // Release held ones whose errors may be overridden, so the batch has something to carry.
    const overrideToken = await server.token(TENANT, 'system/Claim.u');
    for (const c of x12Claims.filter((x) => claimStateOf(x) === 'held')) {
      await fhirFetch(`${server.url}/api/claims/${c.id}/override`, overrideToken, {
        method: 'POST',
        body: { reason: 'Reviewed by the billing lead (test)' },
        headers: { 'content-type': 'application/json' },
      });
    }
    const ready = (await ours()).filter((c) => claimStateOf(c) === 'ready');
    if (ready.length === 0) {
      console.warn(`skipped: no ${X12_PAYER} claim could be made ready`);
      return;
    }
    // A change in the EHR before the batch is built (here: the registrar adds a visit number to the
    // encounter): the waiting claim is rebuilt from its new inputs and scrubbed again, still ready.
    const waiting = ready[0]!;
    const encounterId = encountersOfClaim(waiting)[0]!.split('/')[1]!;
    const encounter = (await ehr.readResource('Encounter', encounterId)) as Encounter;
    await ehr.updateResource({
      ...encounter,
      identifier: [...(encounter.identifier ?? []), { system: 'urn:example:visit-number', value: 'V-1001' }],
    });
    const rebuilt = await waitFor(
      'the waiting X12 claim to be rebuilt from its changed inputs',
      afterSweep(async () => {
        const c = (await store.resources.read(TENANT, 'Claim', waiting.id)) as Claim & StoredResource;
        return claimStateOf(c) === 'ready' && c.meta.versionId !== waiting.meta.versionId ? c : undefined;
      }),
      20_000,
    );
    const history = await store.resources.history(TENANT, 'Claim', waiting.id);
    const states = history.resources.map((v) => claimStateOf(v as Claim)).reverse();
    expect(states.slice(-3)).toEqual(['ready', 'built', 'ready']);
    ready.splice(0, 1, rebuilt);
    const kinds = new Set(
      ready.map((c) => (c.type?.coding?.[0]?.code === 'institutional' ? '837I' : '837P')),
    );
    const kind = kinds.has('837P') ? '837P' : '837I';
    const inKind = ready.filter(
      (c) => (c.type?.coding?.[0]?.code === 'institutional' ? '837I' : '837P') === kind,
    );

    const token = await server.token(TENANT, 'system/Claim.rus system/DocumentReference.c');
    const post = (body: unknown): ReturnType<typeof fhirFetch> =>
      fhirFetch(`${server.url}/api/claims/x12-batches`, token, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
    expect((await post({ payer: 'nope!' })).status).toBe(400);
    expect((await post({ payer: X12_PAYER, kind: '835' })).status).toBe(400);
    expect((await post({ payer: 'medicare' })).status).toBe(409); // a FHIR-channel payer
    const readOnly = await server.token(TENANT, 'system/Claim.rs');
    const forbidden = await fhirFetch(`${server.url}/api/claims/x12-batches`, readOnly, {
      method: 'POST',
      body: { payer: X12_PAYER, kind },
      headers: { 'content-type': 'application/json' },
    });
    expect(forbidden.status).toBe(403);

    const created = await post({ payer: X12_PAYER, kind });
    expect(created.status).toBe(201);
    expect([...created.body.claims].sort()).toEqual(inKind.map((c) => `Claim/${c.id}`).sort());
    // Every claim of the file is submitted, pointing at the batch; its history says so.
    for (const c of inKind) {
      const after = (await store.resources.read(TENANT, 'Claim', c.id)) as Claim;
      expect(claimStateOf(after)).toBe('submitted');
      expect(after.extension?.some((e) => e.valueReference?.reference === created.body.document)).toBe(true);
    }
    // Nothing left to send: a second batch finds no ready claim.
    expect((await post({ payer: X12_PAYER, kind })).status).toBe(404);

    // The file again, byte for byte; an independent parser reads one CLM per claim.
    const file = await fetch(`${server.url}${created.body.file as string}`, {
      headers: {
        authorization: `Bearer ${await server.token(TENANT, `${X12_READ} system/DocumentReference.r`)}`,
      },
    });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toContain('application/edi-x12');
    const text = await file.text();
    expect(Buffer.byteLength(text)).toBe(created.body.bytes);
    const segments = await parseX12(text);
    const clms = segments.filter((x) => x.name === 'CLM').map((x) => x['1']);
    expect([...clms].sort()).toEqual(inKind.map((c) => c.id).sort());
    const isa = segments.find((x) => x.name === 'ISA') as Record<string, unknown>;
    expect(String(isa['13'])).toBe(created.body.interchangeControlNumber);
    expect(String(isa['15'])).toBe('T');
    // Another tenant cannot fetch it; reading it was audited.
    const other = await fetch(`${server.url}${created.body.file as string}`, {
      headers: {
        authorization: `Bearer ${await server.token('clinic-b', `${X12_READ} system/DocumentReference.r`)}`,
      },
    });
    expect(other.status).toBe(404);
    const audits = await all<{ entity?: { what?: { reference?: string } }[] }>('AuditEvent');
    expect(audits.some((a) => a.entity?.some((e) => e.what?.reference === created.body.document))).toBe(true);
  });
});

describe('corrected claims (frequency 7)', () => {
  const TIMED = new Set(['96360', '96365', '96413', '96366', '96361', '96415', '96367']);

  test('a documentation change after adjudication is billed as a corrected claim replacing the original', async () => {
    const store = server.running.store;
    const administrations = await all<MedicationAdministration>('MedicationAdministration');
    // An original claim that scrubbed clean and was adjudicated, with a timed infusion to lengthen.
    let pick: { claim: Claim & StoredResource; ma: MedicationAdministration } | undefined;
    for (const claim of await claims()) {
      if (claimStateOf(claim) !== 'adjudicated' || (claim.related ?? []).length > 0) {
        continue;
      }
      const codes = (claim.item ?? []).flatMap((i) => (i.productOrService.coding ?? []).map((c) => c.code));
      if (!codes.some((c) => c !== undefined && TIMED.has(c))) {
        continue;
      }
      const history = await store.resources.history(TENANT, 'Claim', claim.id);
      if (claimStateOf(history.resources.at(-2) as Claim) !== 'ready') {
        continue; // was held
      }
      const encounters = new Set(encountersOfClaim(claim));
      const ma = administrations.find((m) => {
        const start = Date.parse(m.effectivePeriod?.start ?? '');
        const end = Date.parse(m.effectivePeriod?.end ?? '');
        return (
          m.status === 'completed' &&
          encounters.has(normalizeReference(m.context?.reference ?? '') ?? '') &&
          end - start >= 16 * 60_000
        );
      });
      if (ma) {
        pick = { claim, ma };
        break;
      }
    }
    expect(pick).toBeDefined();
    const { claim: original, ma } = pick!;
    const encounters = encountersOfClaim(original);
    const correctionId = correctionIdFor(encounters, original.id);
    const responsesBefore = (await payer.claimResponses()).length;

    // The nurse corrects the stop time: two hours longer, so the add-on units change.
    const current = (await ehr.readResource('MedicationAdministration', ma.id!)) as MedicationAdministration;
    const end = new Date(Date.parse(current.effectivePeriod!.end!) + 120 * 60_000).toISOString();
    await ehr.updateResource({ ...current, effectivePeriod: { ...current.effectivePeriod, end } });

    const corrected = await waitFor(
      'the corrected claim to be adjudicated',
      afterSweep(async () => {
        const c = (await claims()).find((x) => x.id === correctionId);
        return c && claimStateOf(c) === 'adjudicated' ? c : undefined;
      }),
      25_000,
    );
    // Frequency 7, related → the original (prior), with the payer's claim number when it gave one.
    expect(corrected.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode).toBe('7');
    const related = corrected.related?.[0];
    expect(related?.claim?.reference).toBe(`Claim/${original.id}`);
    expect(related?.relationship?.coding?.[0]?.code).toBe('prior');
    const originalResponse = (await all<ClaimResponse>('ClaimResponse')).find(
      (r) => r.request?.reference === `Claim/${original.id}`,
    );
    const payerNumber = originalResponse?.identifier?.find((i) => i.value)?.value;
    expect(payerNumber).toBeDefined();
    expect(related?.reference?.value).toBe(payerNumber);
    // Its lines are the recomputed charges: they differ from what the original billed.
    const lines = (c: Claim): string =>
      JSON.stringify((c.item ?? []).map((i) => [i.productOrService.coding?.[0]?.code, i.quantity?.value]));
    expect(lines(corrected)).not.toBe(lines(original));
    const history = await store.resources.history(TENANT, 'Claim', corrected.id);
    // Remittance's posting of the answer may have added an `adjudicated` version (the payment status).
    const states = history.resources.map((v) => claimStateOf(v as Claim)).reverse();
    expect(states.filter((s, i) => s !== states[i - 1])).toEqual([
      'built',
      'ready',
      'submitting',
      'adjudicated',
    ]);

    // The original stays adjudicated, marked replaced by the corrected claim.
    const after = (await store.resources.read(TENANT, 'Claim', original.id)) as Claim;
    expect(claimStateOf(after)).toBe('adjudicated');
    expect(replacedByOf(after)).toBe(corrected.id);

    // The corrected-claim Task is completed, naming the corrected claim.
    const taskIds = encounters.map((e) => correctedClaimTaskId(`Claim/${original.id}`, e));
    const tasks = (await all<Task>('Task')).filter((t) => taskIds.includes(t.id));
    expect(tasks.length).toBeGreaterThan(0);
    for (const task of tasks) {
      expect(task.status).toBe('completed');
      expect(task.note?.at(-1)?.text).toContain(`Claim/${corrected.id}`);
    }

    // Submitted once, and nothing else was; a further sweep builds nothing more.
    const answeredSince = (await payer.claimResponses()).slice(responsesBefore);
    expect(answeredSince.map((r) => r.request?.reference)).toEqual([`Claim/${correctionId}`]);
    const count = (await claims()).length;
    await server.running.claims.sweep(TENANT);
    await waitFor('claim building idle', () => queueIdle(CLAIM_READY_QUEUE));
    expect((await claims()).length).toBe(count);
  }, 30_000);
});

describe('void claims (frequency 8)', () => {
  test('an adjudicated claim whose encounter is entered-in-error in the EHR is voided', async () => {
    const store = server.running.store;
    const stored = await claims();
    // An adjudicated original (never replaced) of one encounter that no other claim bills.
    const original = stored.find((claim) => {
      const encounters = encountersOfClaim(claim);
      return (
        claimStateOf(claim) === 'adjudicated' &&
        (claim.related ?? []).length === 0 &&
        replacedByOf(claim) === undefined &&
        encounters.length === 1 &&
        stored.filter((c) => c.id !== claim.id && encountersOfClaim(c).includes(encounters[0]!)).length === 0
      );
    });
    expect(original).toBeDefined();
    const encounters = encountersOfClaim(original!);
    const voidId = voidIdFor(encounters, original!.id);
    const responsesBefore = (await payer.claimResponses()).length;

    // The encounter turns out to be entered in error in the EHR: all its charges are void.
    const encounter = (await ehr.readResource('Encounter', encounters[0]!.split('/')[1]!)) as Encounter;
    await ehr.updateResource({ ...encounter, status: 'entered-in-error' });

    const voided = await waitFor(
      'the void claim to be adjudicated',
      afterSweep(async () => {
        const c = (await claims()).find((x) => x.id === voidId);
        return c && claimStateOf(c) === 'adjudicated' ? c : undefined;
      }),
      18_000,
    );
    // Frequency 8, related → the original (prior, with the payer's claim number), the same lines.
    expect(voided.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode).toBe('8');
    const related = voided.related?.[0];
    expect(related?.claim?.reference).toBe(`Claim/${original!.id}`);
    expect(related?.relationship?.coding?.[0]?.code).toBe('prior');
    const originalResponse = (await all<ClaimResponse>('ClaimResponse')).find(
      (r) => r.request?.reference === `Claim/${original!.id}`,
    );
    expect(related?.reference?.value).toBe(originalResponse?.identifier?.find((i) => i.value)?.value);
    expect(voided.item).toEqual(original!.item);
    expect(voided.total).toEqual(original!.total);
    const history = await store.resources.history(TENANT, 'Claim', voided.id);
    // Remittance's posting of the answer adds an `adjudicated` version (the payment status).
    const states = history.resources.map((v) => claimStateOf(v as Claim)).reverse();
    expect(states.filter((s, i) => s !== states[i - 1])).toEqual([
      'built',
      'ready',
      'submitting',
      'adjudicated',
    ]);
    // No corrected (frequency 7) claim; the original stays adjudicated, marked replaced by the void.
    expect((await claims()).some((c) => c.id === correctionIdFor(encounters, original!.id))).toBe(false);
    const after = (await store.resources.read(TENANT, 'Claim', original!.id)) as Claim;
    expect(claimStateOf(after)).toBe('adjudicated');
    expect(replacedByOf(after)).toBe(voidId);
    const taskIds = encounters.map((e) => correctedClaimTaskId(`Claim/${original!.id}`, e));
    for (const task of (await all<Task>('Task')).filter((t) => taskIds.includes(t.id))) {
      expect(task.status).toBe('completed');
      expect(task.note?.at(-1)?.text).toContain(`Claim/${voidId}`);
    }

    // Submitted once; a further sweep builds nothing more.
    expect((await payer.claimResponses()).length).toBe(responsesBefore + 1);
    const count = (await claims()).length;
    await server.running.claims.sweep(TENANT);
    await waitFor('claim building idle', () => queueIdle(CLAIM_READY_QUEUE));
    expect((await claims()).length).toBe(count);

    // The EHR reverts the mistake: the encounter is finished again. Nothing bills it now (the
    // original is voided), so it gets a new original claim of its own, which the payer pays (the
    // void released the lines: no duplicate).
    const reverted = (await ehr.readResource('Encounter', encounters[0]!.split('/')[1]!)) as Encounter;
    await ehr.updateResource({ ...reverted, status: 'finished' });
    const rebillId = claimIdFor(encounters, '1|rebill:1');
    const rebill = await waitFor(
      'a new original claim for the reverted encounter',
      afterSweep(async () => {
        const c = (await claims()).find((x) => x.id === rebillId);
        return c && ['adjudicated', 'held', 'rejected'].includes(claimStateOf(c) ?? '') ? c : undefined;
      }),
      20_000,
    );
    expect(rebill.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode).toBe('1');
    expect(rebill.related ?? []).toEqual([]);
    expect(encountersOfClaim(rebill)).toEqual(encounters);
    if (claimStateOf(rebill) === 'held') {
      // The original was released by an override earlier (JW/JZ): the same person releases this one.
      const overridden = await fhirFetch(
        `${server.url}/api/claims/${rebillId}/override`,
        await server.token(TENANT, 'system/Claim.u'),
        {
          method: 'POST',
          body: { reason: 'Same findings as the voided original, reviewed (test)' },
          headers: { 'content-type': 'application/json' },
        },
      );
      expect(overridden.status).toBe(200);
    }
    const answer = await waitFor(
      "the payer's answer to the new original",
      async () => (await payer.claimResponses()).find((r) => r.request?.reference === `Claim/${rebillId}`),
      20_000,
    );
    const reasons = (answer.item ?? []).flatMap((i) =>
      (i.adjudication ?? []).flatMap((a) => (a.reason?.coding ?? []).map((c) => c.code)),
    );
    expect(reasons).not.toContain('18');
    // No corrected-claim Task was opened against the void.
    const openOnVoid = (await all<Task>('Task')).filter(
      (t) => t.focus?.reference === `Claim/${voidId}` && t.status !== 'completed',
    );
    expect(openOnVoid).toEqual([]);
  }, 40_000);
});

describe('claims the payer has not accepted: rebuilt on a fix, resubmitted, answers checked', () => {
  const store = (): TestServer['running']['store'] => server.running.store;
  const read = async (id: string): Promise<Claim & StoredResource> =>
    (await store().resources.read(TENANT, 'Claim', id)) as Claim & StoredResource;
  const distinctStates = async (id: string): Promise<string[]> => {
    const history = await store().resources.history(TENANT, 'Claim', id);
    const states = history.resources.map((v) => claimStateOf(v as Claim) ?? '?').reverse();
    return states.filter((s, i) => i === 0 || s !== states[i - 1]);
  };
  const reasonsOf = async (id: string): Promise<string[]> =>
    (await all<{ target?: { reference?: string }[]; reason?: { text?: string }[] }>('Provenance'))
      .filter((p) => p.target?.[0]?.reference?.startsWith(`Claim/${id}/_history/`))
      .map((p) => p.reason?.[0]?.text ?? '');

  test('a claim held for prior authorization is released when a biller records the authorization; a garbled payer answer is recovered by inquiry, never by a second submission', async () => {
    // A held claim whose only errors are missing prior authorization.
    let pick: { claim: Claim & StoredResource; task: Task } | undefined;
    for (const claim of (await claims()).filter(
      (c) => claimStateOf(c) === 'held' && claimPayerOf(c) !== X12_PAYER,
    )) {
      const task = (await store().resources.read(TENANT, 'Task', claimTaskId(claim.id))) as Task;
      const errors = findingsOfTask(task).filter((f) => f.severity === 'error');
      if (errors.some((f) => f.ruleId === 'prior-auth') && errors.every((f) => f.overridable)) {
        pick = { claim, task };
        break;
      }
    }
    expect(pick).toBeDefined();
    const { claim } = pick!;
    const payerId = claim.insurer?.identifier?.value ?? '';
    const dates = (claim.item ?? []).map((i) => i.servicedDate ?? i.servicedPeriod?.start ?? '').sort();
    const number = `PA-${claim.id.slice(-10).toUpperCase()}`;
    // The payer's answers are garbled on the way back (it adjudicates and records them).
    payer.setBehaviour({ garbleSubmitAnswers: 'invalid-fhir' });
    // The biller records the authorization the payer gave by phone: a preauthorization ClaimResponse.
    const token = await server.token(TENANT, 'system/ClaimResponse.cruds');
    const created = await fhirFetch(`${server.fhir}/ClaimResponse`, token, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: authorizationOnFile({
        patient: claim.patient.reference ?? '',
        payerId,
        number,
        start: (dates[0] ?? '').slice(0, 10),
        end: '2027-12-31',
        now: new Date(),
      }),
    });
    expect(created.status).toBe(201);

    // Rebuilt with the number and scrubbed again: the prior-auth finding is gone.
    const rebuilt = await waitFor(
      'the claim to be rebuilt with the authorization number',
      afterSweep(async () => {
        const c = await read(claim.id);
        return c.insurance?.[0]?.preAuthRef?.[0] === number && claimStateOf(c) !== 'built' ? c : undefined;
      }),
      20_000,
    );
    if (claimStateOf(rebuilt) === 'held') {
      const task = (await store().resources.read(TENANT, 'Task', claimTaskId(claim.id))) as Task;
      const errors = findingsOfTask(task).filter((f) => f.severity === 'error');
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.some((f) => f.ruleId === 'prior-auth')).toBe(false);
      // What is left (e.g. JW/JZ) a biller overrides.
      const overridden = await fhirFetch(
        `${server.url}/api/claims/${claim.id}/override`,
        await server.token(TENANT, 'system/Claim.u'),
        {
          method: 'POST',
          body: { reason: 'Waste documented on paper; billing as is (test)' },
          headers: { 'content-type': 'application/json' },
        },
      );
      expect(overridden.status).toBe(200);
    }

    // Submitted; the garbled answer is on its history.
    await waitFor(
      'a failed attempt with an invalid answer on the claim history',
      async () => (await reasonsOf(claim.id)).some((r) => r.includes('not valid FHIR')),
      20_000,
    );
    // The garbled answer left the claim submitting: the version its Provenance names says so. (The
    // retry, a status inquiry the garbling does not touch, may already have taken the real answer.)
    const garbled = (
      await all<{ target?: { reference?: string }[]; reason?: { text?: string }[] }>('Provenance')
    )
      .filter((p) => p.target?.[0]?.reference?.startsWith(`Claim/${claim.id}/_history/`))
      .find((p) => (p.reason?.[0]?.text ?? '').includes('not valid FHIR'));
    const garbledVersion = garbled?.target?.[0]?.reference?.split('/_history/')[1];
    const versions = (await store().resources.history(TENANT, 'Claim', claim.id)).resources as Claim[];
    expect(claimStateOf(versions.find((v) => v.meta?.versionId === garbledVersion)!)).toBe('submitting');
    payer.setBehaviour({});
    const done = await waitFor(
      'the released claim to be adjudicated',
      async () => {
        const c = await read(claim.id);
        return claimStateOf(c) === 'adjudicated' ? c : undefined;
      },
      20_000,
    );
    expect(done.insurance?.[0]?.preAuthRef).toEqual([number]);
    const states = await distinctStates(claim.id);
    expect(states.slice(0, 3)).toEqual(['built', 'held', 'built']);
    expect(states.slice(-3)).toEqual(['ready', 'submitting', 'adjudicated']);
    // Sent once: the retry asked the payer (by submission key) and took its real answer.
    const sent = (await payer.claimResponses()).filter((r) => r.request?.reference === `Claim/${claim.id}`);
    expect(sent).toHaveLength(1);
    const reasons = (sent[0]?.item ?? []).flatMap((i) =>
      (i.adjudication ?? []).flatMap((a) => (a.reason?.coding ?? []).map((c) => c.code)),
    );
    expect(reasons).not.toContain('197');
    const task = (await store().resources.read(TENANT, 'Task', claimTaskId(claim.id))) as Task;
    expect(task.status).toBe('completed');
  }, 60_000);

  test('resubmit: a claim left submitting gets one new attempt that asks the payer first; other states answer 409', async () => {
    const taken = new Set((await payer.claimResponses()).map((r) => r.request?.reference));
    // Remittance posts each answer on its claim (a new version): let it finish before editing a claim.
    await waitFor('the answers to be posted', () => queueIdle(CLAIM_ANSWER_QUEUE));
    const claim = (await claims()).find(
      (c) =>
        claimStateOf(c) === 'adjudicated' &&
        (c.related ?? []).length === 0 &&
        replacedByOf(c) === undefined &&
        taken.has(`Claim/${c.id}`),
    );
    expect(claim).toBeDefined();
    const token = await server.token(TENANT, 'system/Claim.u');
    const post = (id: string, body: unknown): ReturnType<typeof fhirFetch> =>
      fhirFetch(`${server.url}/api/claims/${id}/resubmit`, token, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
    expect((await post(claim!.id, {})).status).toBe(400);
    expect((await post('bad id!', { reason: 'retry please' })).status).toBe(400);
    expect((await post('no-such-claim', { reason: 'retry please' })).status).toBe(404);
    const adjudicated = await post(claim!.id, { reason: 'retry please' });
    expect(adjudicated.status).toBe(409);

    // Its attempts ran out while the payer was down: stuck in submitting, no job.
    const stuck = {
      ...claim!,
      extension: (claim!.extension ?? []).map((e) =>
        e.url === EXT_CLAIM_STATE ? { ...e, valueCode: 'submitting' } : e,
      ),
    };
    delete (stuck as { meta?: unknown }).meta;
    await store().resources.update(TENANT, stuck, { ifMatchVersion: claim!.meta.versionId });
    const reason = 'Payer portal back up after the outage (test)';
    const queued = await post(claim!.id, { reason });
    expect(queued.status).toBe(202);
    expect(queued.body.ok).toBe(true);
    await waitFor(
      'the requeued submission to finish',
      async () =>
        claimStateOf(await read(claim!.id)) === 'adjudicated' && (await queueIdle(CLAIM_SUBMIT_QUEUE)),
      20_000,
    );
    expect(
      (await payer.claimResponses()).filter((r) => r.request?.reference === `Claim/${claim!.id}`),
    ).toHaveLength(1);
    const audit = (
      await all<{ purposeOfEvent?: { text?: string }[]; subtype?: { code?: string }[] }>('AuditEvent')
    ).find((a) => a.purposeOfEvent?.[0]?.text === reason);
    expect(audit?.subtype?.some((s) => s.code === 'claim-resubmit')).toBe(true);
  }, 30_000);

  test('resubmit: a rejected claim is rebuilt, scrubbed and sent under a new submission key', async () => {
    // An adjudicated original that scrubbed clean the first time (so it scrubs clean again).
    let claim: (Claim & StoredResource) | undefined;
    for (const c of await claims()) {
      if (
        claimStateOf(c) === 'adjudicated' &&
        (c.related ?? []).length === 0 &&
        replacedByOf(c) === undefined
      ) {
        if ((await distinctStates(c.id)).slice(0, 2).join() === 'built,ready') {
          claim = c;
          break;
        }
      }
    }
    expect(claim).toBeDefined();
    const oldKey = claim!.identifier?.find((i) => i.system?.endsWith('claim-submission'))?.value;
    expect(oldKey).toBeDefined();
    const before = (await payer.claimResponses()).filter(
      (r) => r.request?.reference === `Claim/${claim!.id}`,
    ).length;
    // The payer rejected it (front-end rejection): recorded as such.
    const rejected = {
      ...claim!,
      extension: (claim!.extension ?? []).map((e) =>
        e.url === EXT_CLAIM_STATE ? { ...e, valueCode: 'rejected' } : e,
      ),
    };
    delete (rejected as { meta?: unknown }).meta;
    await store().resources.update(TENANT, rejected, { ifMatchVersion: claim!.meta.versionId });
    const token = await server.token(TENANT, 'system/Claim.u');
    const { status, body } = await fhirFetch(`${server.url}/api/claims/${claim!.id}/resubmit`, token, {
      method: 'POST',
      body: { reason: 'Corrected the subscriber id with the payer (test)' },
      headers: { 'content-type': 'application/json' },
    });
    expect(status).toBe(200);
    expect(body.state).toBe('ready');
    const done = await waitFor(
      'the resubmitted claim to be answered',
      async () => {
        const c = await read(claim!.id);
        return ['adjudicated', 'rejected'].includes(claimStateOf(c) ?? '') &&
          (await queueIdle(CLAIM_SUBMIT_QUEUE))
          ? c
          : undefined;
      },
      20_000,
    );
    const newKey = done.identifier?.find((i) => i.system?.endsWith('claim-submission'))?.value;
    expect(newKey).toBeDefined();
    expect(newKey).not.toBe(oldKey);
    expect((await distinctStates(claim!.id)).slice(-5)).toEqual([
      'rejected',
      'built',
      'ready',
      'submitting',
      claimStateOf(done),
    ]);
    // A new submission: the payer answered it separately.
    expect(
      (await payer.claimResponses()).filter((r) => r.request?.reference === `Claim/${claim!.id}`).length,
    ).toBe(before + 1);
  }, 30_000);
});

describe('held drug lines (units unknown) keep their claim', () => {
  test('a dose documented per kg holds the drug line: the claim is rebuilt and held on it, then released with the line when the dose is fixed', async () => {
    const store = server.running.store;
    const charges = await all<ChargeItem>('ChargeItem');
    // A held (not yet sent) FHIR-channel claim with a drug line whose administration documents a dose.
    let pick: { claim: Claim & StoredResource; ma: MedicationAdministration; code: string } | undefined;
    for (const claim of await claims()) {
      if (claimStateOf(claim) !== 'held' || claimPayerOf(claim) === X12_PAYER) {
        continue;
      }
      const encounters = new Set(encountersOfClaim(claim));
      const drug = charges.find(
        (c) =>
          c.status === 'billable' &&
          encounters.has(c.context?.reference ?? '') &&
          /^[JQ]\d{4}$/.test(c.code?.coding?.[0]?.code ?? '') &&
          (c.service ?? []).length === 1,
      );
      const maId = drug?.service?.[0]?.reference?.split('/')[1];
      if (drug && maId) {
        const ma = (await ehr.readResource('MedicationAdministration', maId)) as MedicationAdministration;
        if (ma.dosage?.dose?.value !== undefined) {
          pick = { claim, ma, code: drug.code?.coding?.[0]?.code ?? '' };
          break;
        }
      }
    }
    expect(pick).toBeDefined();
    const { claim, ma, code } = pick!;
    const findings = async (): Promise<string[]> => {
      const task = (await store.resources.read(TENANT, 'Task', claimTaskId(claim.id))) as Task;
      return findingsOfTask(task).map((f) => f.ruleId);
    };
    const billed = async (): Promise<string[]> => {
      const c = (await store.resources.read(TENANT, 'Claim', claim.id)) as Claim;
      return (c.item ?? []).map((i) => i.productOrService.coding?.[0]?.code ?? '');
    };
    expect(await billed()).toContain(code);

    // The nurse's dose is a dose rate (5 mg/kg): the drug line cannot be counted.
    const perKg = { ...ma.dosage!.dose!, value: 5, unit: 'mg/kg', code: 'mg/kg' };
    await ehr.updateResource({ ...ma, dosage: { ...ma.dosage, dose: perKg } });
    await waitFor(
      'the claim held on its held drug line',
      afterSweep(async () => (await findings()).includes('charge-held')),
      25_000,
    );
    expect(await billed()).not.toContain(code);
    const held = (await all<ChargeItem>('ChargeItem')).filter(
      (c) => c.status === 'planned' && c.code?.coding?.[0]?.code === code,
    );
    expect(held.length).toBeGreaterThan(0);

    // The amount given is documented again: the line is billable, back on the claim, the finding gone.
    const current = (await ehr.readResource('MedicationAdministration', ma.id!)) as MedicationAdministration;
    await ehr.updateResource({ ...current, dosage: { ...current.dosage, dose: ma.dosage!.dose } });
    await waitFor(
      'the drug line back on the claim',
      afterSweep(async () => (await billed()).includes(code)),
      25_000,
    );
    const state = claimStateOf((await store.resources.read(TENANT, 'Claim', claim.id)) as Claim);
    if (state === 'held') {
      expect(await findings()).not.toContain('charge-held');
    }
  }, 60_000);
});
