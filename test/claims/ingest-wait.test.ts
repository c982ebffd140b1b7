/**
 * Billing waits for ingest to catch up: an encounter's claim is not built while a notification
 * the EHR sent before the visit ended (plus the hold) is still waiting to be fetched back — it may
 * carry the visit's last administration. Notifications received later never hold it, so a steady
 * stream of new ones cannot starve billing.
 */
import { expect, test } from '@jest/globals';
import type { ClaimReadyJob } from '../../src/claims/workflow/jobs.ts';
import { CLAIM_READY_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { storeBillableOfficeVisit } from '../support/billable-visit.ts';
import { INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { storePerFile } from '../support/store-per-test.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { sweepWorker } from './sweep-worker.ts';

const HOLD_MS = 10 * 60_000;
/** One clock for the store (job receipt times) and the worker. */
let clock = new Date('2026-12-04T15:00:00Z');
let store: SqliteStore;

storePerFile(
  'dripline-claims-ingest-wait-',
  () => clock,
  (opened) => {
    store = opened;
  },
);

/** A worker as a (re)started process makes it: its first sweep is a full scan. */
const worker = (tenant: string) => sweepWorker(store, tenant, () => clock, HOLD_MS);

/** A finished office visit of `pat-{id}` with a billable charge, as charge capture leaves it. */
const finishedVisit = (tenant: string, id: string, start: string, end: string): Promise<void> =>
  storeBillableOfficeVisit(store, tenant, { id, patient: `pat-${id}`, start, end });

/** An id-only notification as the receiver writes it, received at the clock's current time. */
async function notificationReceived(tenant: string, key: string): Promise<void> {
  await store.jobs.enqueue(tenant, { queue: INGEST_QUEUE, key, payload: { kind: 'event', key } });
}

async function builtEncounters(tenant: string): Promise<string[]> {
  const jobs = await store.jobs.listJobs(tenant, CLAIM_READY_QUEUE, 'ready', 100);
  return jobs.flatMap((j) => (j.payload as ClaimReadyJob).encounters).sort();
}

async function fetchAllBack(): Promise<void> {
  for (const job of await store.jobs.lease({
    queue: INGEST_QUEUE,
    leaseMs: 60_000,
    limit: 100,
    now: clock,
  })) {
    await store.jobs.ack(job.id, job.leaseToken!);
  }
}

test('a visit waits while a notification received before it ended (plus the hold) is not fetched back', async () => {
  const tenant = 'waits';
  clock = new Date('2026-12-04T15:00:00Z');
  await notificationReceived(tenant, 'ma-1'); // the visit's last administration, in the queue
  await finishedVisit(tenant, 'enc-1', '2026-12-04T13:00:00Z', '2026-12-04T14:55:00Z');
  clock = new Date('2026-12-04T16:00:00Z'); // the hold (10 min after 14:55) is long over
  const sweeper = worker(tenant);
  expect(await sweeper.sweep(tenant)).toBe(0);
  expect(await builtEncounters(tenant)).toEqual([]);

  await fetchAllBack();
  expect(await sweeper.sweep(tenant)).toBe(1);
  expect(await builtEncounters(tenant)).toEqual(['Encounter/enc-1']);
});

test('notifications received after a visit ended and its hold passed do not hold it (no starvation)', async () => {
  const tenant = 'streams';
  clock = new Date('2026-12-04T15:00:00Z');
  await finishedVisit(tenant, 'enc-2', '2026-12-04T13:00:00Z', '2026-12-04T14:00:00Z');
  clock = new Date('2026-12-04T14:10:01Z'); // just after the hold of the visit
  await notificationReceived(tenant, 'other-patient-1');
  clock = new Date('2026-12-04T16:00:00Z');
  await notificationReceived(tenant, 'other-patient-2');
  expect(await worker(tenant).sweep(tenant)).toBe(1);
  expect(await builtEncounters(tenant)).toEqual(['Encounter/enc-2']);
});

test('a notification being fetched (leased) holds the visit as a waiting one does', async () => {
  const tenant = 'leased';
  clock = new Date('2026-12-04T15:00:00Z');
  await notificationReceived(tenant, 'ma-3');
  const leases = await store.jobs.lease({ queue: INGEST_QUEUE, leaseMs: 3_600_000, limit: 100, now: clock });
  const leased = leases.find((job) => job.tenant === tenant);
  expect(leased).toBeDefined();
  await finishedVisit(tenant, 'enc-3', '2026-12-04T13:00:00Z', '2026-12-04T14:59:00Z');
  clock = new Date('2026-12-04T16:00:00Z');
  const sweeper = worker(tenant);
  expect(await sweeper.sweep(tenant)).toBe(0);
  await store.jobs.ack(leased!.id, leased!.leaseToken!);
  expect(await sweeper.sweep(tenant)).toBe(1);
});
