/**
 * The bill hold (config `tenants[].billHold.hours`): a tenant's encounters get no claim until that
 * many hours after they ended, on the injected clock; a tenant without one bills at once; the
 * tenant's setting wins over the worker's `holdMs`.
 */
import { expect, test } from '@jest/globals';
import type { Encounter } from '@medplum/fhirtypes';
import type { ClaimReadyJob } from '../../src/claims/workflow/jobs.ts';
import { CLAIM_READY_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { storePerFile } from '../support/store-per-test.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { officeTenant, sweepWorker } from './sweep-worker.ts';
import { storeBillableOfficeVisit } from '../support/billable-visit.ts';

/** A finished office visit with a billable charge, as charge capture leaves it. */
const finishedVisit = (tenant: string, id: string, start: string, end: string, patient = `pat-${id}`) =>
  storeBillableOfficeVisit(store, tenant, { id, patient, start, end });
/** One clock for the store and the worker. */
let clock = new Date('2026-12-04T12:00:00Z');
let store: SqliteStore;

storePerFile(
  'dripline-claims-bill-hold-',
  () => clock,
  (opened) => {
    store = opened;
  },
);

/** The encounters whose claim build the sweeps have queued. */
async function billed(tenant: string): Promise<string[]> {
  const jobs = await store.jobs.listJobs(tenant, CLAIM_READY_QUEUE, 'ready', 100);
  return jobs.flatMap((j) => (j.payload as ClaimReadyJob).encounters).sort();
}

test('a visit inside its tenant’s 24 h hold gets no claim until 24 h after it ended; a tenant without a hold bills at once', async () => {
  const tenants = [officeTenant('holds-a-day', { billHoldHours: 24 }), officeTenant('bills-at-once')];
  // Both end at 23:50 in New York (the tenants' zone).
  clock = new Date('2026-12-04T23:55:00-05:00');
  await finishedVisit('holds-a-day', 'late-1', '2026-12-04T22:00:00-05:00', '2026-12-04T23:50:00-05:00');
  await finishedVisit('bills-at-once', 'late-2', '2026-12-04T22:00:00-05:00', '2026-12-04T23:50:00-05:00');
  const sweeper = sweepWorker(store, tenants, () => clock);

  expect(await sweeper.sweep('bills-at-once')).toBe(1);
  expect(await billed('bills-at-once')).toEqual(['Encounter/late-2']);
  expect(await sweeper.sweep('holds-a-day')).toBe(0);

  // The next calendar day has begun, and most of it passed: still inside the hold (elapsed hours,
  // not days), whether the sweep reads what changed or, as a restarted worker, everything.
  clock = new Date('2026-12-05T00:10:00-05:00');
  expect(await sweeper.sweep('holds-a-day')).toBe(0);
  clock = new Date('2026-12-05T23:49:59-05:00');
  expect(await sweeper.sweep('holds-a-day')).toBe(0);
  expect(await sweepWorker(store, tenants, () => clock).sweep('holds-a-day')).toBe(0);
  expect(await billed('holds-a-day')).toEqual([]);

  clock = new Date('2026-12-05T23:50:00-05:00');
  expect(await sweeper.sweep('holds-a-day')).toBe(1);
  expect(await billed('holds-a-day')).toEqual(['Encounter/late-1']);
});

test('the tenant’s hold wins over the worker’s holdMs, both longer and shorter', async () => {
  const worker10Min = (tenant: ReturnType<typeof officeTenant>) =>
    sweepWorker(store, tenant, () => clock, 10 * 60_000);
  clock = new Date('2026-12-07T15:00:00Z');
  await finishedVisit('holds-two-hours', 'visit-3', '2026-12-07T13:00:00Z', '2026-12-07T14:00:00Z');
  await finishedVisit('holds-nothing', 'visit-4', '2026-12-07T13:00:00Z', '2026-12-07T14:59:00Z');
  const twoHours = worker10Min(officeTenant('holds-two-hours', { billHoldHours: 2 }));
  // An hour after the visit: the worker's 10 minutes are over, the tenant's 2 hours are not.
  expect(await twoHours.sweep('holds-two-hours')).toBe(0);
  // The tenant holds nothing: billed 1 minute after the end, inside the worker's 10 minutes.
  expect(await worker10Min(officeTenant('holds-nothing', { billHoldHours: 0 })).sweep('holds-nothing')).toBe(
    1,
  );

  clock = new Date('2026-12-07T16:00:00Z');
  expect(await twoHours.sweep('holds-two-hours')).toBe(1);
  expect(await billed('holds-two-hours')).toEqual(['Encounter/visit-3']);
});

test('visits inside their hold are read again when it is over or when they change, not on every sweep', async () => {
  const tenant = 'holds-three-days';
  clock = new Date('2026-12-10T15:00:00Z');
  for (const id of ['quiet-1', 'quiet-2', 'quiet-3', 'corrected']) {
    await finishedVisit(tenant, id, '2026-12-10T12:00:00Z', '2026-12-10T14:00:00Z');
  }
  // The store's reads of one encounter by id, counted.
  const reads: string[] = [];
  const resources = new Proxy(store.resources, {
    get: (target, key) => {
      if (key === 'read') {
        return (...args: Parameters<typeof store.resources.read>) => {
          reads.push(`${args[1]}/${args[2]}`);
          return target.read(...args);
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const counted = new Proxy(store, {
    get: (target, key) => (key === 'resources' ? resources : Reflect.get(target, key)),
  });
  const sweeper = sweepWorker(counted, officeTenant(tenant, { billHoldHours: 72 }), () => clock);
  expect(await sweeper.sweep(tenant)).toBe(0);
  // Later sweeps read what changed from a minute before the latest write they saw: once the clinic
  // has written more than a minute later, the held visits are not read again.
  clock = new Date('2026-12-10T15:05:00Z');
  await finishedVisit(tenant, 'later', '2026-12-10T14:00:00Z', '2026-12-10T15:04:00Z');
  expect(await sweeper.sweep(tenant)).toBe(0);
  reads.length = 0;
  for (const minutes of [10, 15, 20]) {
    clock = new Date(Date.parse('2026-12-10T15:00:00Z') + minutes * 60_000);
    expect(await sweeper.sweep(tenant)).toBe(0);
  }
  expect(reads.filter((r) => /^Encounter\/(quiet|corrected)/.test(r))).toEqual([]);

  // The EHR corrects one visit's end to three days earlier (a visit closed late): it is read again,
  // and its hold is over.
  clock = new Date('2026-12-10T15:25:00Z');
  const corrected = (await store.resources.read(tenant, 'Encounter', 'corrected')) as Encounter & {
    id: string;
  };
  await store.resources.update(tenant, {
    ...corrected,
    period: { start: '2026-12-07T12:00:00Z', end: '2026-12-07T14:00:00Z' },
  });
  expect(await sweeper.sweep(tenant)).toBe(1);
  expect(await billed(tenant)).toEqual(['Encounter/corrected']);

  // At the end of their hold the others (three patients) are read again, and billed; the later
  // visit waits on.
  clock = new Date('2026-12-13T14:00:00Z');
  expect(await sweeper.sweep(tenant)).toBe(3);
  expect(await billed(tenant)).toEqual([
    'Encounter/corrected',
    'Encounter/quiet-1',
    'Encounter/quiet-2',
    'Encounter/quiet-3',
  ]);
});

test('a patient’s visits of one day go out on one claim: the first waits for the last one’s hold', async () => {
  const tenant = 'holds-a-day-too';
  clock = new Date('2026-12-14T19:05:00Z');
  // Morning and afternoon visits of one patient (New York: 10:00 and 14:00 ends), and another patient's.
  await finishedVisit(tenant, 'morning', '2026-12-14T13:00:00Z', '2026-12-14T15:00:00Z', 'ana');
  await finishedVisit(tenant, 'afternoon', '2026-12-14T17:00:00Z', '2026-12-14T19:00:00Z', 'ana');
  await finishedVisit(tenant, 'other', '2026-12-14T13:00:00Z', '2026-12-14T15:00:00Z', 'ben');
  const sweeper = sweepWorker(store, officeTenant(tenant, { billHoldHours: 24 }), () => clock);
  expect(await sweeper.sweep(tenant)).toBe(0);

  // The morning visit's hold is over, the afternoon one's is not: only the other patient's is billed.
  clock = new Date('2026-12-15T15:00:00Z');
  expect(await sweeper.sweep(tenant)).toBe(1);
  expect(await billed(tenant)).toEqual(['Encounter/other']);
  clock = new Date('2026-12-15T18:59:59Z');
  expect(await sweeper.sweep(tenant)).toBe(0);

  clock = new Date('2026-12-15T19:00:00Z');
  expect(await sweeper.sweep(tenant)).toBe(1);
  const jobs = await store.jobs.listJobs(tenant, CLAIM_READY_QUEUE, 'ready', 100);
  // One claim for the patient's day, one for the other patient.
  expect(jobs.map((j) => [...(j.payload as ClaimReadyJob).encounters].sort().join(' + ')).sort()).toEqual([
    'Encounter/afternoon + Encounter/morning',
    'Encounter/other',
  ]);
});
