/**
 * `npm start` stopped and started again on the same data (here the next day): the sandbox EHR
 * comes back with the day it seeded — the same ids, the same contents, nothing replayed twice —
 * and the sandbox payer remembers what it adjudicated, so a corrected claim for an encounter of
 * the first run is accepted as the replacement of its original (no CARC 129 "prior processing
 * information"), and payer claim numbers keep counting instead of starting again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Claim, ClaimResponse, MedicationAdministration, Resource } from '@medplum/fhirtypes';
import { correctionIdFor, encountersOfClaim, replacedByOf } from '../../src/claims/workflow/identity.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { freePort } from '../../src/http/free-port.ts';
import { createLogger } from '../../src/logger.ts';
import { runSandbox, SANDBOX_TENANT } from '../../src/sandbox/index.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { normalizeReference } from '../../src/store/search-index.ts';
import { testClock } from '../support/clock.ts';
import { waitFor } from '../support/wait.ts';
import { billingSettled } from '../support/billing-settled.ts';
import { localSandboxConfig } from '../../src/sandbox/local-config.ts';

const DAY_MS = 86_400_000;
const TIMED = new Set(['96360', '96365', '96413', '96366', '96361', '96415', '96367']);

let dir: string;
let port: number;
let run: SandboxRun | undefined;

/** What the EHR holds, by "Type/id", without the server's own meta. */
type Holdings = Map<string, string>;
let firstRun: {
  holdings: Holdings;
  claims: (Claim & StoredResource)[];
  responses: ClaimResponse[];
  encounterIds: string[];
};

async function start(clockOffsetMs: number): Promise<SandboxRun> {
  const config = localSandboxConfig({
    dataDir: dir,
    port,
    patients: 16,
    logLevel: 'silent',
    env: { CLOCK_OFFSET_MS: String(clockOffsetMs) },
  });
  // The claim sweep every 300 ms rather than every 5 s (as test/sandbox/day.test.ts): each run
  // settles, and the corrected claim is built, without waiting out 5-second ticks.
  const started = await runSandbox(config, createLogger('silent'), { claimWorkflow: { sweepMs: 300 } });
  await started.replayed;
  return started;
}

async function all<T extends Resource>(type: T['resourceType']): Promise<(T & StoredResource)[]> {
  return searchAll<T>(run!.server.store, SANDBOX_TENANT, type);
}

async function holdings(): Promise<Holdings> {
  const out: Holdings = new Map();
  for (const type of ['Patient', 'Coverage', 'Encounter', 'MedicationAdministration', 'MedicationRequest']) {
    for (const r of await run!.ehr.listResources(type)) {
      const { meta: _meta, ...rest } = r;
      out.set(`${type}/${r.id ?? ''}`, JSON.stringify(rest));
    }
  }
  return out;
}

/**
 * Nothing queued, nothing moving, every finished encounter with charges billed, and still so after
 * a claim sweep asked for once a look found it so.
 */
async function settled(): Promise<void> {
  await billingSettled(run!.server.store, SANDBOX_TENANT, {
    timeoutMs: 90_000,
    // Every 100 ms (as day.test): while jobs are queued a look reads the queues alone, and a run
    // settles a few looks after its ingest drains (the wait is the gap between looks).
    intervalMs: 100,
    beforeLook: () => run!.ehr.idle(),
    sweepNow: () => run!.server.claims.sweepNow(),
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-sandbox-restart-'));
  port = await freePort();
  const offset = testClock().getTime() - Date.now();
  run = await start(offset);
  await settled();
  firstRun = {
    holdings: await holdings(),
    claims: await all<Claim>('Claim'),
    responses: await run.payer.claimResponses(),
    encounterIds: (await all('Encounter')).map((e) => e.id).sort(),
  };
  await run.stop();
  run = undefined;
  // Started again on the same data, a day later.
  run = await start(offset + DAY_MS);
  await settled();
}, 240_000);

afterAll(async () => {
  await run?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the sandbox EHR holds what it held: the same day, the same ids and contents', async () => {
  expect(firstRun.holdings.size).toBeGreaterThan(50);
  const now = await holdings();
  expect([...now.keys()].sort()).toEqual([...firstRun.holdings.keys()].sort());
  const changed = [...now].filter(([key, value]) => firstRun.holdings.get(key) !== value).map(([k]) => k);
  expect(changed).toEqual([]);
});

test('Dripline billed nothing again: the same encounters, the same claims', async () => {
  expect((await all('Encounter')).map((e) => e.id).sort()).toEqual(firstRun.encounterIds);
  const claims = await all<Claim>('Claim');
  expect(claims.map((c) => `${c.id} ${claimStateOf(c) ?? ''}`).sort()).toEqual(
    firstRun.claims.map((c) => `${c.id} ${claimStateOf(c) ?? ''}`).sort(),
  );
  expect((await run!.payer.claimResponses()).map((r) => r.id)).toEqual(firstRun.responses.map((r) => r.id));
});

test('a corrected claim for a first-run encounter replaces its original (no CARC 129)', async () => {
  const administrations = await all<MedicationAdministration>('MedicationAdministration');
  // An original adjudicated in the first run, with a timed infusion to lengthen.
  let pick: { claim: Claim & StoredResource; ma: MedicationAdministration } | undefined;
  for (const claim of firstRun.claims) {
    const codes = (claim.item ?? []).flatMap((i) =>
      (i.productOrService.coding ?? []).map((c) => c.code ?? ''),
    );
    if (claimStateOf(claim) !== 'adjudicated' || !codes.some((c) => TIMED.has(c))) {
      continue;
    }
    // A standing original: one the first run already corrected (a late change to its visit after
    // adjudication, which a fast claim build can meet) has its correction answered already, and
    // would be found below before the second run sent anything.
    const correction = correctionIdFor(encountersOfClaim(claim), claim.id);
    if (replacedByOf(claim) !== undefined || firstRun.claims.some((c) => c.id === correction)) {
      continue;
    }
    const encounters = new Set(encountersOfClaim(claim));
    const ma = administrations.find(
      (m) =>
        m.status === 'completed' &&
        encounters.has(normalizeReference(m.context?.reference ?? '') ?? '') &&
        Date.parse(m.effectivePeriod?.end ?? '') - Date.parse(m.effectivePeriod?.start ?? '') >= 16 * 60_000,
    );
    if (ma) {
      pick = { claim, ma };
      break;
    }
  }
  expect(pick).toBeDefined();
  const { claim: original, ma } = pick!;
  const correctionId = correctionIdFor(encountersOfClaim(original), original.id);
  const originalNumber = firstRun.responses
    .find((r) => r.request?.reference === `Claim/${original.id}`)
    ?.identifier?.find((i) => i.value)?.value;
  expect(originalNumber).toBeDefined();

  // The nurse corrects the stop time in the EHR: two hours longer, so the add-on units change.
  const current = (await run!.ehr.readResource(
    'MedicationAdministration',
    ma.id!,
  )) as MedicationAdministration;
  const end = new Date(Date.parse(current.effectivePeriod!.end!) + 120 * 60_000).toISOString();
  await run!.ehr.updateResource({ ...current, effectivePeriod: { ...current.effectivePeriod, end } });

  // Until the payer has answered, each look asks for a claim sweep (sweepNow) instead of waiting
  // for the loop's timer: the correction takes two sweeps (one takes the original over, the next
  // builds the corrected claim), and each waited ~0.45 s of idle loop turns for its timer.
  const response = await waitFor(
    'the payer to answer the corrected claim',
    async () => {
      const answer = (await run!.payer.claimResponses()).find(
        (r) => r.request?.reference === `Claim/${correctionId}`,
      );
      if (!answer) {
        await run!.server.claims.sweepNow();
      }
      return answer;
    },
    60_000,
  );
  const reasons = [
    ...(response.adjudication ?? []),
    ...(response.item ?? []).flatMap((i) => i.adjudication ?? []),
  ].flatMap((a) => (a.reason?.coding ?? []).map((c) => c.code ?? ''));
  expect({ outcome: response.outcome, reasons: reasons.filter((r) => r === '129') }).toEqual({
    outcome: 'complete',
    reasons: [],
  });
  // It reversed the first run's payment of the original, by the payer claim number it gave then.
  expect(response.payment?.adjustmentReason?.text).toContain(originalNumber);
  // And got a claim number of its own, after the first run's (the counter did not start again).
  const counter = (r: ClaimResponse): number => Number(r.identifier?.[0]?.value?.slice(-6));
  expect(counter(response)).toBeGreaterThan(Math.max(...firstRun.responses.map(counter)));
  await waitFor('the corrected claim to be adjudicated', async () => {
    const corrected = (await all<Claim>('Claim')).find((c) => c.id === correctionId);
    return corrected && claimStateOf(corrected) === 'adjudicated';
  });
}, 90_000);
