/**
 * The claim workflow's days are the facility's (tenant `timeZone`): visits of one patient on one
 * day of service in that zone bill together whatever offset the EHR wrote their times in, and
 * "today" (timely filing) is the tenant's calendar day — at 00:30 UTC and at 23:30 UTC alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Claim } from '@medplum/fhirtypes';
import type { ClaimReadyJob } from '../../src/claims/workflow/jobs.ts';
import { CLAIM_READY_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { storeBillableOfficeVisit } from '../support/billable-visit.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { payer, PROVIDER } from './fixtures.ts';
import { officeTenant, sweepWorker } from './sweep-worker.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';

const NY = 'America/New_York';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-claims-zone-'));
let store: SqliteStore;

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function builds(t: string): Promise<string[][]> {
  const jobs = await store.jobs.listJobs(t, CLAIM_READY_QUEUE, 'ready', 100);
  return jobs.map((j) => [...(j.payload as ClaimReadyJob).encounters].sort()).sort();
}

/** A finished office visit of `patient` and a billable charge for it. */
const visit = (t: string, id: string, patient: string, start: string, end: string): Promise<void> =>
  storeBillableOfficeVisit(store, t, { id, patient, start, end });

// 15:00 and 20:00 on 3 December in New York; the EHR wrote the evening visit in UTC (next day).
const AFTERNOON = ['2026-12-03T15:00:00-05:00', '2026-12-03T16:00:00-05:00'] as const;
const EVENING = ['2026-12-04T01:00:00Z', '2026-12-04T02:30:00Z'] as const;

test('two visits on one New York day bill on one claim, whatever offset the EHR wrote', async () => {
  await visit('zoned', 'enc-a', 'pat-1', ...AFTERNOON);
  await visit('zoned', 'enc-b', 'pat-1', ...EVENING);
  expect(
    await sweepWorker(
      store,
      officeTenant('zoned', { timeZone: NY }),
      () => new Date('2026-12-04T12:00:00Z'),
    ).sweep('zoned'),
  ).toBe(1);
  expect(await builds('zoned')).toEqual([['Encounter/enc-a', 'Encounter/enc-b']]);
});

test('without a time zone, days are as the EHR wrote them (the documented fallback)', async () => {
  await visit('unzoned', 'enc-a', 'pat-1', ...AFTERNOON);
  await visit('unzoned', 'enc-b', 'pat-1', ...EVENING);
  await sweepWorker(
    store,
    officeTenant('unzoned', { timeZone: null }),
    () => new Date('2026-12-04T12:00:00Z'),
  ).sweep('unzoned');
  expect(await builds('unzoned')).toEqual([['Encounter/enc-a'], ['Encounter/enc-b']]);
});

test.each([
  ['2026-12-04T00:30:00Z', NY, '2026-12-03'],
  ['2026-12-04T23:30:00Z', NY, '2026-12-04'],
  ['2026-12-04T00:30:00Z', undefined, '2026-12-04'],
])('at %s, "today" for timely filing in %s is %s', async (now, timeZone, today) => {
  const t = `today-${timeZone ? 'ny' : 'utc'}-${now.slice(11, 13)}`;
  await visit(t, 'enc-t', 'pat-2', ...AFTERNOON);
  await store.resources.create(t, { resourceType: 'Patient', name: [{ family: 'Okafor' }] }, { id: 'pat-2' });
  const claim: Claim = {
    resourceType: 'Claim',
    id: 'claim-t',
    status: 'draft',
    use: 'claim',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    patient: { reference: 'Patient/pat-2' },
    created: '2026-12-03',
    provider: { display: PROVIDER.name },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { display: 'none' } }],
    extension: [
      { url: EXT_CLAIM_PAYER, valueString: payer('commercial').id },
      { url: EXT_CLAIM_STATE, valueCode: 'held' },
    ],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ code: '96413' }] },
        encounter: [{ reference: 'Encounter/enc-t' }],
      },
    ],
  };
  await store.resources.create(t, claim, { id: 'claim-t' });
  const ctx = await sweepWorker(
    store,
    officeTenant(t, { timeZone: timeZone ?? null }),
    () => new Date(now),
  ).loadContext(t, 'claim-t');
  expect(ctx?.today).toBe(today);
});
