/**
 * The encounter view (GET /app/api/encounters/:id) says when an encounter waiting for its claim
 * inside the tenant's bill hold is released, so a biller who finds no claim knows why and until
 * when; once the hold is over, once a claim stands, or for a tenant with no hold, it says nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, Claim } from '@medplum/fhirtypes';
import { storeBillableOfficeVisit } from '../support/billable-visit.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { encounterView } from '../../src/web/api/encounter.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-encounter-bill-hold-'));
let store: SqliteStore;
const TENANT = 'clinic';
const HOLDS_THREE_DAYS = { payers: [], coding: {}, timeZone: 'America/New_York', billHold: { hours: 72 } };

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A finished office visit from 13:00 UTC to `end`, with a billable charge (as charge capture leaves
 * it). The charge's date is the visit's end day (the visits here start and end on one UTC day).
 */
const finishedVisit = (id: string, end: string, patient = `pat-${id}`): Promise<void> =>
  storeBillableOfficeVisit(store, TENANT, { id, patient, start: end.slice(0, 11) + '13:00:00Z', end });

test('inside the hold: held until the end of the visit plus the tenant’s hours; after it, or with no hold, nothing', async () => {
  await finishedVisit('waiting', '2026-12-04T14:30:00Z');
  const at = (iso: string) =>
    encounterView(store, TENANT, HOLDS_THREE_DAYS, 'waiting', new Date(iso)).then((v) => v?.billHold);

  expect(await at('2026-12-04T15:00:00Z')).toEqual({
    until: '2026-12-07T14:30:00.000Z',
    hours: 72,
    timeZone: 'America/New_York',
  });
  expect(await at('2026-12-07T14:29:59Z')).toEqual({
    until: '2026-12-07T14:30:00.000Z',
    hours: 72,
    timeZone: 'America/New_York',
  });
  // The hold is over: the claim is built at the next sweep; no hold to explain.
  expect(await at('2026-12-07T14:30:00Z')).toBeUndefined();
  // A tenant without a hold bills at once.
  const noHold = await encounterView(
    store,
    TENANT,
    { payers: [], coding: {} },
    'waiting',
    new Date('2026-12-04T15:00:00Z'),
  );
  expect(noHold?.claims).toEqual([]);
  expect(noHold?.billHold).toBeUndefined();
});

test('a claim standing for the encounter, or no billable charge: nothing held', async () => {
  const now = new Date('2026-12-04T15:00:00Z');
  await finishedVisit('claimed', '2026-12-04T14:30:00Z');
  const claim: Claim = {
    resourceType: 'Claim',
    id: 'claim-claimed',
    status: 'active',
    use: 'claim',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    patient: { reference: 'Patient/pat-claimed' },
    created: '2026-12-04',
    provider: { display: 'Clinic' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov' } }],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ code: '96413' }] },
        encounter: [{ reference: 'Encounter/claimed' }],
      },
    ],
  };
  await store.resources.create(TENANT, claim, { id: claim.id! });
  const claimed = await encounterView(store, TENANT, HOLDS_THREE_DAYS, 'claimed', now);
  expect(claimed?.claims.map((c) => c.id)).toEqual(['claim-claimed']);
  expect(claimed?.billHold).toBeUndefined();

  await finishedVisit('not-billable', '2026-12-04T14:30:00Z');
  const charge = (await store.resources.read(TENANT, 'ChargeItem', 'charge-not-billable')) as ChargeItem & {
    id: string;
  };
  await store.resources.update(TENANT, { ...charge, status: 'not-billable' });
  expect(
    (await encounterView(store, TENANT, HOLDS_THREE_DAYS, 'not-billable', now))?.billHold,
  ).toBeUndefined();
});

test('a visit whose own hold is over waits for the hold of the patient’s later visit that day (one claim)', async () => {
  await finishedVisit('morning', '2026-12-14T15:00:00Z', 'ana');
  await finishedVisit('afternoon', '2026-12-14T19:00:00Z', 'ana');
  await finishedVisit('next-day', '2026-12-15T19:00:00Z', 'ana');
  const held = async (id: string, iso: string) =>
    (await encounterView(store, TENANT, HOLDS_THREE_DAYS, id, new Date(iso)))?.billHold?.until;

  expect(await held('morning', '2026-12-14T16:00:00Z')).toBe('2026-12-17T19:00:00.000Z');
  // Its own 72 hours are over; the afternoon visit's are not (the next day's visit is another claim).
  expect(await held('morning', '2026-12-17T15:00:00Z')).toBe('2026-12-17T19:00:00.000Z');
  expect(await held('morning', '2026-12-17T19:00:00Z')).toBeUndefined();
});
