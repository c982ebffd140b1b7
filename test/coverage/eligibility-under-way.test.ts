/**
 * Which eligibility checks a new claim waits for (src/coverage/eligibility/records.ts,
 * `eligibilityUnderWay`, read by the claim build): a check being asked, or due and not yet tried —
 * not one that has failed and waits for its retry (the payer is down: no answer is about to come),
 * a pre-visit check not yet due, another patient's, or an old one. Over a real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ELIGIBILITY_QUEUE, eligibilityUnderWay } from '../../src/coverage/eligibility/records.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

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
