/**
 * The authorization ledger as the app answers it (`GET /app/api/patients/{id}/coverage`, through
 * src/claims/workflow/ledger-bill-holds.ts): a charge that no claim bills yet carries `billHold` while its visit
 * waits inside the tenant's bill hold — the same answer as the encounter view's — and nothing when
 * a claim bills it, when the hold is over, or when the tenant has no hold. And the words both views
 * say, in the tenant's zone whatever the reader's (src/web/client/format.ts). The browser test
 * (bill-hold-views.test.ts) shows both in Chromium over the sandbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { LedgerCharge } from '../../src/coverage/ledger.ts';
import type { LedgerReport } from '../../src/coverage/ledger-report.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { encounterView } from '../../src/web/api/encounter.ts';
import { withBillHolds } from '../../src/claims/workflow/ledger-bill-holds.ts';
import { heldWords } from '../../src/web/client/format.ts';
import { storeBillableOfficeVisit } from '../support/billable-visit.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-ledger-bill-hold-'));
let store: SqliteStore;
const TENANT = 'clinic';
const HOLDS_THREE_DAYS = { payers: [], coding: {}, timeZone: 'America/Chicago', billHold: { hours: 72 } };
const INSIDE = new Date('2026-12-04T15:00:00Z');

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  await storeBillableOfficeVisit(store, TENANT, {
    id: 'visit',
    patient: 'ana',
    start: '2026-12-04T13:00:00Z',
    end: '2026-12-04T14:30:00Z',
  });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const charge = (claim?: string): LedgerCharge => ({
  chargeItem: 'ChargeItem/charge-visit',
  encounter: 'Encounter/visit',
  code: '96413',
  date: '2026-12-04',
  units: 1,
  billing: 'unbilled',
  ...(claim ? { claim, claimState: 'submitted' } : {}),
});

/** A ledger with the visit's charge used under one authorization and given without another's. */
const report = (claim?: string): LedgerReport => ({
  patient: 'Patient/ana',
  today: '2026-12-04',
  authorizations: [
    {
      number: 'AUTH-1',
      source: 'ClaimResponse/auth-1',
      status: 'active',
      anyService: true,
      services: [
        {
          code: '96413',
          measure: 'units',
          used: 1,
          beyond: 0,
          uses: [{ ...charge(claim), used: 1, beyond: 0 }],
        },
      ],
    },
  ],
  withoutAuthorization: [{ ...charge(claim), rule: 'payer rule' }],
  scheduledVisits: [],
  workItems: [],
});

const heldOf = (answer: LedgerReport) => ({
  use: (answer.authorizations[0]!.services[0]!.uses[0] as { billHold?: unknown }).billHold,
  uncovered: (answer.withoutAuthorization[0] as { billHold?: unknown }).billHold,
});

test('a charge without a claim inside its visit’s hold says until when, as the encounter view does', async () => {
  const { report: answer, read } = await withBillHolds(store, TENANT, HOLDS_THREE_DAYS, report(), INSIDE);
  const expected = { until: '2026-12-07T14:30:00.000Z', hours: 72, timeZone: 'America/Chicago' };
  expect(heldOf(answer)).toEqual({ use: expected, uncovered: expected });
  expect((await encounterView(store, TENANT, HOLDS_THREE_DAYS, 'visit', INSIDE))?.billHold).toEqual(expected);
  expect(read).toEqual(['Encounter/visit']);
});

test('no billHold when a claim bills the charge, after the hold, or with no hold (and nothing read)', async () => {
  const claimed = await withBillHolds(store, TENANT, HOLDS_THREE_DAYS, report('Claim/c1'), INSIDE);
  expect(heldOf(claimed.report)).toEqual({ use: undefined, uncovered: undefined });
  expect(claimed.report.withoutAuthorization[0]).not.toHaveProperty('billHold');

  const after = await withBillHolds(
    store,
    TENANT,
    HOLDS_THREE_DAYS,
    report(),
    new Date('2026-12-07T14:30:00Z'),
  );
  expect(after.report.withoutAuthorization[0]).not.toHaveProperty('billHold');
  expect(after.report.authorizations[0]!.services[0]!.uses[0]).not.toHaveProperty('billHold');

  const noHold = await withBillHolds(store, TENANT, { coding: {} }, report(), INSIDE);
  expect(noHold).toEqual({ report: report(), read: [] });
});

test('the words: the tenant’s local time with its zone, not the reader’s', () => {
  // 14:30 UTC is 08:30 in Chicago (CST) and 23:30 in Tokyo; the reader's zone (this process's) plays no part.
  const words = heldWords({ until: '2026-12-07T14:30:00.000Z', hours: 72, timeZone: 'America/Chicago' });
  expect(words.replace(/\s+/g, ' ')).toBe('held until Dec 7, 2026, 8:30 AM CST by the 72-hour bill hold');
  const tokyo = heldWords({ until: '2026-12-07T14:30:00.000Z', hours: 24, timeZone: 'Asia/Tokyo' });
  expect(tokyo.replace(/\s+/g, ' ')).toBe('held until Dec 7, 2026, 11:30 PM GMT+9 by the 24-hour bill hold');
});
