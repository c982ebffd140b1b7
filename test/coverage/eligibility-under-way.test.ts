/**
 * Which eligibility checks a new claim waits for (src/coverage/eligibility/records.ts,
 * `eligibilityUnderWay`, read by the claim build): a check being asked, or due and not yet tried —
 * not one that has failed and waits for its retry (the payer is down: no answer is about to come),
 * a pre-visit check not yet due, another patient's, or an old one. And when the wait ends: every
 * end of a check (src/coverage/eligibility/worker.ts) makes due at once the jobs waiting on it
 * (`eligibilityWaitKey`, `JobQueue.wake`). Over a real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { codingTablesOnFirstUse } from '../../src/coding/tables/load.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import {
  ELIGIBILITY_QUEUE,
  eligibilityUnderWay,
  eligibilityWaitKey,
} from '../../src/coverage/eligibility/records.ts';
import { EligibilityWorker } from '../../src/coverage/eligibility/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { payer } from '../claims/fixtures.ts';
import { waitFor } from '../support/wait.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-eligibility-under-way-'));
let store: SqliteStore;
let tenantNo = 0;

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A tenant of its own with one eligibility check of Patient/p enqueued at `at` (due then unless `runAt`). */
async function withCheck(at: Date, runAt?: Date): Promise<{ tenant: string; jobId: string }> {
  tenantNo += 1;
  const tenant = `t${tenantNo}`;
  const { jobId } = await store.jobs.enqueue(tenant, {
    queue: ELIGIBILITY_QUEUE,
    key: `check-${tenantNo}`,
    payload: { patient: 'Patient/p' },
    runAt: (runAt ?? at).toISOString(),
  });
  return { tenant, jobId };
}

const leaseAll = async (now: Date) =>
  store.jobs.lease({ queue: ELIGIBILITY_QUEUE, leaseMs: 60_000, limit: 100, now });

test('a due check not yet tried, and one being asked, are under way; another patient’s is not', async () => {
  const now = new Date();
  const { tenant } = await withCheck(now);
  expect(await eligibilityUnderWay(store, tenant, 'Patient/p', now)).toBe(true);
  expect(await eligibilityUnderWay(store, tenant, 'Patient/q', now)).toBe(false);
  const leased = (await leaseAll(now)).filter((j) => j.tenant === tenant);
  expect(leased).toHaveLength(1);
  expect(await eligibilityUnderWay(store, tenant, 'Patient/p', now)).toBe(true);
  // Answered: nothing left to wait for.
  await store.jobs.ack(leased[0]!.id, leased[0]!.leaseToken!);
  expect(await eligibilityUnderWay(store, tenant, 'Patient/p', now)).toBe(false);
});

test('a check that failed and waits for its retry holds nothing up, even once its retry is due', async () => {
  const now = new Date();
  const { tenant, jobId } = await withCheck(now);
  const leased = (await leaseAll(now)).find((j) => j.id === jobId)!;
  await store.jobs.fail(jobId, leased.leaseToken!, {
    error: 'payer answered 503',
    retryable: true,
    now,
    retryAt: new Date(now.getTime() + 1000).toISOString(),
  });
  expect(await store.jobs.getJob(jobId)).toMatchObject({ state: 'ready', attempts: 1 });
  expect(await eligibilityUnderWay(store, tenant, 'Patient/p', now)).toBe(false);
  const retryDue = new Date(now.getTime() + 1000);
  expect(await eligibilityUnderWay(store, tenant, 'Patient/p', retryDue)).toBe(false);
  // Its retry, once being asked, is under way again.
  expect((await leaseAll(retryDue)).map((j) => j.id)).toContain(jobId);
  expect(await eligibilityUnderWay(store, tenant, 'Patient/p', retryDue)).toBe(true);
});

test('a pre-visit check not yet due, and one older than the wait, are not under way', async () => {
  const now = new Date();
  const later = await withCheck(now, new Date(now.getTime() + 86_400_000));
  expect(await eligibilityUnderWay(store, later.tenant, 'Patient/p', now)).toBe(false);
  const old = await withCheck(now);
  expect(await eligibilityUnderWay(store, old.tenant, 'Patient/p', new Date(now.getTime() + 29_000))).toBe(
    true,
  );
  expect(await eligibilityUnderWay(store, old.tenant, 'Patient/p', new Date(now.getTime() + 31_000))).toBe(
    false,
  );
});

test('a long backlog of older checks does not hide the patient’s recent one', async () => {
  tenantNo += 1;
  const tenant = `t${tenantNo}`;
  // 1,200 checks of other patients, due and untried (a busy morning's backlog), then, a moment
  // later, Patient/p's: only checks within the wait count, whatever lies before them.
  await store.resources.writeBatch(
    tenant,
    Array.from({ length: 1_200 }, (_, i) => ({
      op: 'enqueue' as const,
      job: { queue: ELIGIBILITY_QUEUE, key: `backlog-${i}`, payload: { patient: `Patient/other-${i}` } },
    })),
  );
  const backlogDone = Date.now();
  await waitFor('the clock to pass the backlog', () => Date.now() > backlogDone + 1, 1_000, 1);
  await store.jobs.enqueue(tenant, {
    queue: ELIGIBILITY_QUEUE,
    key: 'recent',
    payload: { patient: 'Patient/p' },
  });
  const now = new Date();
  // The wait reaches back to just after the backlog.
  const withinMs = now.getTime() - (backlogDone + 1);
  expect(await eligibilityUnderWay(store, tenant, 'Patient/p', now, withinMs)).toBe(true);
  expect(await eligibilityUnderWay(store, tenant, 'Patient/other-1199', now, withinMs)).toBe(false);
});

test('every end of a check — answered, failed and retried later, given up — makes due at once the jobs waiting on that patient in its tenant, and only those', async () => {
  // A store of its own: the worker leases every tenant's due checks, the other tests' included.
  const own = await openSqliteStore({ path: path.join(dir, 'wake.db') });
  const now = new Date();
  const waitUntil = new Date(now.getTime() + 60_000).toISOString();
  const tenants: TenantConfig[] = [
    // No payers: the check ends at once, answered with a note.
    { id: 'answered', name: 'Answered', connections: [], coding: {}, payers: [] },
    // A payer, but the patient is not stored: the check fails and is retried later, or, on its last
    // attempt, given up.
    { id: 'retried', name: 'Retried', connections: [], coding: {}, payers: [payer()] },
    { id: 'given-up', name: 'Given up', connections: [], coding: {}, payers: [payer()] },
  ];
  const WAITING_QUEUE = 'waits-for-eligibility';
  let nudged = 0;
  const worker = new EligibilityWorker({
    store: own,
    tables: codingTablesOnFirstUse(),
    logger: createLogger('silent'),
    publicUrl: 'http://dripline.test',
    now: () => now,
    tenants: () => tenants,
    waiting: [{ queue: WAITING_QUEUE, notify: () => (nudged += 1) }],
  });
  /** A job of the waiting queue, deferred until a minute from now on a patient's check. */
  const waiting = async (tenant: string, patient: string): Promise<string> => {
    const { jobId } = await own.jobs.enqueue(tenant, {
      queue: WAITING_QUEUE,
      key: `${tenant}|${patient}`,
      payload: null,
      runAt: now.toISOString(),
    });
    const [job] = await own.jobs.lease({ queue: WAITING_QUEUE, leaseMs: 60_000, limit: 1, now });
    expect(job?.id).toBe(jobId);
    const wait = { runAt: waitUntil, reason: 'waits', now, waitKey: eligibilityWaitKey(patient) };
    expect(await own.jobs.defer(jobId, job!.leaseToken!, wait)).toBe(true);
    return jobId;
  };
  const woken = [
    await waiting('answered', 'Patient/p'),
    await waiting('retried', 'Patient/p'),
    await waiting('given-up', 'Patient/p'),
  ];
  const still = [await waiting('answered', 'Patient/q'), await waiting('other', 'Patient/p')];
  for (const tenant of tenants) {
    await own.jobs.enqueue(tenant.id, {
      queue: ELIGIBILITY_QUEUE,
      key: `check-${tenant.id}`,
      payload: { kind: 'check', patient: 'Patient/p', mode: 'now', reason: 'test' },
      runAt: now.toISOString(),
      ...(tenant.id === 'given-up' ? { maxAttempts: 1 } : {}),
    });
  }

  expect(await worker.runOnce()).toBe(3);
  const checks = await Promise.all(
    tenants.map(async (t) => (await own.jobs.listJobs(t.id, ELIGIBILITY_QUEUE, 'done', 10)).length),
  );
  expect(checks).toEqual([1, 0, 0]);
  expect((await own.jobs.listJobs('retried', ELIGIBILITY_QUEUE, 'ready', 10))[0]?.attempts).toBe(1);
  expect(await own.jobs.listJobs('given-up', ELIGIBILITY_QUEUE, 'dead', 10)).toHaveLength(1);
  for (const id of woken) {
    expect(await own.jobs.getJob(id)).toMatchObject({ state: 'ready', runAt: now.toISOString() });
  }
  for (const id of still) {
    expect((await own.jobs.getJob(id))?.runAt).toBe(waitUntil);
  }
  expect(nudged).toBe(3);
  await own.close();
});
