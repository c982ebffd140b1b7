/**
 * Each measure against a hand-computed fixture (the numbers in the comments are worked by hand from
 * the resources below), read from a real store through the analytics service: November 2026 of a
 * clinic in New York, asked on 4 December.
 *
 * Claims (billed): c1 Medicare, 2 Nov, J1745×10 $1000 + 96365 $200: paid 800, CO-45 250, PR-2 150.
 *   c2 Medicare, 5 Nov, J9035×20 $2000: denied CO-50 2000 (denial work item).
 *   c3 Aetna, 10 Nov, J1745×5 $500 + 96365 $200: J1745 denied CO-197 500; 96365 paid 150, CO-45 50.
 *   c4 Aetna, 30 Nov, 96365 $200: submitted, no answer.  c5 Aetna, 15 Oct (outside), 96365 $200: submitted.
 *   c6 Medicare, 12 Nov, J1745×10 $1000, authorized: paid 700, CO-45 300; underpayment $50, recovered.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Resource } from '@medplum/fhirtypes';
import { AnalyticsService } from '../../src/analytics/service.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import type { ClaimSpec } from './fixtures.ts';
import { appeal, claim, drugCharge, payment, preauthorization, workItem } from './fixtures.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-analytics-'));
let store: SqliteStore;
const NOW = new Date('2026-12-04T15:00:00Z');
const tenant = (timeZone: string): TenantConfig => ({
  id: 't',
  name: 'Clinic',
  timeZone,
  connections: [],
  coding: {},
  payers: [],
});
const NY = tenant('America/New_York');
const NOV = { from: '2026-11-01', to: '2026-11-30' };
let service: AnalyticsService;

const c1 = claim('c1', {
  payer: 'medicare',
  location: 'north',
  date: '2026-11-02',
  lines: [
    { code: 'J1745', units: 10, net: 1000 },
    { code: '96365', units: 1, net: 200 },
  ],
});
const c2 = claim('c2', {
  payer: 'medicare',
  location: 'north',
  date: '2026-11-05',
  lines: [{ code: 'J9035', units: 20, net: 2000 }],
});
const c3 = claim('c3', {
  payer: 'aetna',
  location: 'south',
  date: '2026-11-10',
  lines: [
    { code: 'J1745', units: 5, net: 500 },
    { code: '96365', units: 1, net: 200 },
  ],
});
const c4 = claim('c4', {
  payer: 'aetna',
  location: 'south',
  date: '2026-11-30',
  state: 'submitted',
  lines: [{ code: '96365', units: 1, net: 200 }],
});
const c5Spec: ClaimSpec = {
  payer: 'aetna',
  location: 'south',
  date: '2026-10-15',
  state: 'submitted',
  lines: [{ code: '96365', units: 1, net: 200 }],
};
const c5 = claim('c5', c5Spec);
const c6 = claim('c6', {
  payer: 'medicare',
  location: 'north',
  date: '2026-11-12',
  preAuth: true,
  lines: [{ code: 'J1745', units: 10, net: 1000 }],
});

const resources: Resource[] = [
  c1,
  c2,
  c3,
  c4,
  c5,
  c6,
  payment('e1', c1, {
    date: '2026-11-20',
    lines: [
      {
        code: 'J1745',
        units: 10,
        submitted: 1000,
        paid: 700,
        adjustments: [
          { group: 'CO', carc: '45', amount: 175 },
          { group: 'PR', carc: '2', amount: 125 },
        ],
      },
      {
        code: '96365',
        units: 1,
        submitted: 200,
        paid: 100,
        adjustments: [
          { group: 'CO', carc: '45', amount: 75 },
          { group: 'PR', carc: '2', amount: 25 },
        ],
      },
    ],
  }),
  payment('e2', c2, {
    date: '2026-11-25',
    lines: [
      {
        code: 'J9035',
        units: 20,
        submitted: 2000,
        paid: 0,
        adjustments: [{ group: 'CO', carc: '50', amount: 2000 }],
      },
    ],
  }),
  payment('e3', c3, {
    date: '2026-11-28',
    lines: [
      {
        code: 'J1745',
        units: 5,
        submitted: 500,
        paid: 0,
        adjustments: [{ group: 'CO', carc: '197', amount: 500 }],
      },
      {
        code: '96365',
        units: 1,
        submitted: 200,
        paid: 150,
        adjustments: [{ group: 'CO', carc: '45', amount: 50 }],
      },
    ],
  }),
  payment('e6', c6, {
    date: '2026-11-22',
    lines: [
      {
        code: 'J1745',
        units: 10,
        submitted: 1000,
        paid: 700,
        adjustments: [{ group: 'CO', carc: '45', amount: 300 }],
      },
    ],
  }),
  workItem('w2', 'denial', 'c2', { authored: '2026-11-25T17:00:00Z', state: 'open', dollars: 2000 }),
  workItem('w6', 'underpayment', 'c6', { authored: '2026-11-23T15:00:00Z', state: 'recovered', dollars: 50 }),
  // 22:00 on 30 November in New York (1 December in UTC): in November's range.
  appeal('a1', 'c2', {
    authored: '2026-12-01T03:00:00Z',
    level: 'redetermination',
    outcome: 'overturned',
    recovered: 1500,
  }),
  // 23:00 on 31 October in New York (1 November in UTC): not in November's range.
  appeal('a2', 'c3', { authored: '2026-11-01T03:00:00Z', level: 'first-level', outcome: 'open' }),
  appeal('a3', 'c3', { authored: '2026-11-29T15:00:00Z', level: 'first-level', outcome: 'upheld' }),
  preauthorization('pa1', { created: '2026-11-03T12:00:00Z', payer: 'medicare', approved: true }),
  preauthorization('pa2', { created: '2026-11-04T12:00:00Z', payer: 'aetna', approved: false }),
  drugCharge('d1', 'J1745', 10, '2026-11-02T10:00:00-05:00'),
  drugCharge('d2', 'J9035', 20, '2026-11-05T10:00:00-05:00'),
  drugCharge('d3', 'J1745', 5, '2026-11-10T10:00:00-05:00'),
  drugCharge('d6', 'J1745', 10, '2026-11-12T10:00:00-05:00'),
  // 20:00 on 30 November in New York, written in UTC: given in November.
  drugCharge('d7', 'J1745', 2, '2026-12-01T01:00:00Z'),
];

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  for (const r of resources) {
    await store.resources.create('t', r, { id: r.id as string });
  }
  // Another tenant's claim never shows.
  await store.resources.create(
    'other',
    claim('x1', { payer: 'medicare', date: '2026-11-02', lines: [{ code: 'J1745', units: 99, net: 9900 }] }),
    { id: 'x1' },
  );
  service = new AnalyticsService({
    store,
    now: () => NOW,
    inventory: (t, from) => (t.id === 't' && from === '2026-11-01' ? new Map([['J1745', 30]]) : undefined),
  });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('each measure against its hand-computed value', () => {
  test('clean-claim rate: 2 of the 4 decided originals (c1, c6) had no denial on first pass', async () => {
    const r = await service.measure(NY, 'clean-claim-rate', { ...NOV, by: 'payer' });
    expect(r.total).toMatchObject({ value: 0.5, numerator: 2, denominator: 4 });
    expect(r.slices).toEqual([
      { key: 'aetna', value: 0, numerator: 0, denominator: 1 },
      { key: 'medicare', value: 0.6667, numerator: 2, denominator: 3 },
    ]);
  });

  test('denial rate: 2 of 4 claims; $2,500 of $4,900 billed; by category and CARC', async () => {
    const r = await service.measure(NY, 'denial-rate', NOV);
    expect(r.total).toMatchObject({
      value: 0.5,
      numerator: 2,
      denominator: 4,
      dollars: { value: 0.5102, denied: 2500, billed: 4900 },
      byCategory: {
        'medical-necessity': { claims: 1, dollars: 2000 },
        authorization: { claims: 1, dollars: 500 },
      },
      byCarc: { '50': { claims: 1, dollars: 2000 }, '197': { claims: 1, dollars: 500 } },
    });
  });

  test('days in A/R: $2,900 open on 30 Nov over $5,100 charged in 30 days ($170 a day) = 17.1', async () => {
    const r = await service.measure(NY, 'days-in-ar', NOV);
    expect(r.total).toMatchObject({ value: 17.1, arBalance: 2900, charges: 5100, days: 30 });
  });

  test('A/R aging by payer on 30 Nov: c2, c3, c4 in 0-30; c5 (46 days) in 31-60', async () => {
    const r = await service.measure(NY, 'ar-aging', NOV);
    expect(r.by).toBe('payer');
    expect(r.total).toMatchObject({
      value: 2900,
      buckets: { '0-30': 2700, '31-60': 200, '61-90': 0, '91-120': 0, '120+': 0 },
    });
    expect(r.slices.map((s) => [s.key, s.value])).toEqual([
      ['aetna', 900],
      ['medicare', 2000],
    ]);
  });

  test('net collection rate: $1,650 paid over $4,350 (charges less contractual and patient share)', async () => {
    const r = await service.measure(NY, 'net-collection-rate', NOV);
    expect(r.total).toMatchObject({ value: 0.3793, numerator: 1650, denominator: 4350 });
  });

  test('first-pass resolution: only c1 was settled by its first payment (c6 had an underpayment)', async () => {
    const r = await service.measure(NY, 'first-pass-resolution-rate', NOV);
    expect(r.total).toMatchObject({ value: 0.25, numerator: 1, denominator: 4 });
  });

  test('underpayments: one found ($50), recovered', async () => {
    const r = await service.measure(NY, 'underpayments', NOV);
    expect(r.total).toMatchObject({
      found: { count: 1, dollars: 50 },
      recovered: { count: 1, dollars: 50 },
      recoveryRate: 1,
    });
  });

  test('appeals filed in November (New York): a1 overturned ($1,500), a3 upheld; a2 was filed 31 Oct', async () => {
    const r = await service.measure(NY, 'appeals', NOV);
    expect(r.total).toMatchObject({
      filed: 2,
      overturned: 1,
      overturnRate: 0.5,
      recovered: 1500,
      byOutcome: { overturned: 1, upheld: 1 },
    });
  });

  test('authorizations: one approved in November; the authorized claim (c6) was not denied for it', async () => {
    const r = await service.measure(NY, 'authorizations', NOV);
    expect(r.total).toMatchObject({ obtained: 1, denialsAvoided: 1, claimsWithAuthorization: 1 });
  });

  test('drug units: bought (inventory) vs given vs billed vs paid', async () => {
    const r = await service.measure(NY, 'drug-units', NOV);
    expect(r.slices).toEqual([
      { key: 'J1745', value: 25, bought: 30, given: 27, billed: 25, paid: 20, paidOfBilled: 0.8 },
      { key: 'J9035', value: 20, given: 20, billed: 20, paid: 0, paidOfBilled: 0 },
    ]);
  });
});

describe('slices and ranges', () => {
  test('by code: a claim counts in each code it bills; by location: one slice each', async () => {
    const byCode = await service.measure(NY, 'clean-claim-rate', { ...NOV, by: 'code' });
    expect(byCode.slices.map((s) => [s.key, s.numerator, s.denominator])).toEqual([
      ['96365', 1, 2],
      ['J1745', 2, 3],
      ['J9035', 0, 1],
    ]);
    const byLocation = await service.measure(NY, 'denial-rate', { ...NOV, by: 'location' });
    expect(byLocation.slices.map((s) => [s.key, s.numerator, s.denominator])).toEqual([
      ['Location/north', 1, 3],
      ['Location/south', 1, 1],
    ]);
  });

  test('range edges are the tenant’s days: in UTC the appeals and the evening dose fall in other months', async () => {
    const utc = tenant('UTC');
    const appeals = await service.measure(utc, 'appeals', NOV);
    expect(appeals.total).toMatchObject({ filed: 2, byOutcome: { open: 1, upheld: 1 } });
    const drugs = await service.measure(utc, 'drug-units', NOV);
    expect(drugs.slices.find((s) => s.key === 'J1745')).toMatchObject({ given: 25 });
    // Both ends are included: a range of one day, 30 November, holds c4.
    const lastDay = await service.measure(NY, 'days-in-ar', { from: '2026-11-30', to: '2026-11-30' });
    expect(lastDay.total).toMatchObject({ charges: 200, days: 1 });
  });

  test('the defaults are the 30 days up to today in the tenant’s zone', async () => {
    const r = await service.measure(NY, 'clean-claim-rate', {});
    expect([r.from, r.to]).toEqual(['2026-11-05', '2026-12-04']);
  });

  test('a new payment is counted on the next question (changes read since the last one)', async () => {
    const c4paid = payment('e4', c4, {
      date: '2026-12-02',
      lines: [
        {
          code: '96365',
          units: 1,
          submitted: 200,
          paid: 160,
          adjustments: [{ group: 'CO', carc: '45', amount: 40 }],
        },
      ],
    });
    const before = await service.measure(NY, 'clean-claim-rate', NOV);
    await store.resources.create('t', c4paid, { id: 'e4' });
    const after = await service.measure(NY, 'clean-claim-rate', NOV);
    expect([before.total.denominator, after.total.denominator]).toEqual([4, 5]);
    await store.resources.update('t', { ...c4paid, status: 'entered-in-error' });
    const undone = await service.measure(NY, 'clean-claim-rate', NOV);
    expect(undone.total.denominator).toBe(4);
  });

  test("a claim's kept row follows writes to the claim: another payer moves its balance, a replacement takes it out of A/R", async () => {
    const aging = async (): Promise<[number, (string | number | null)[][]]> => {
      const r = await service.measure(NY, 'ar-aging', NOV);
      return [r.total.value as number, r.slices.map((s) => [s.key, s.value])];
    };
    expect(await aging()).toEqual([
      2900,
      [
        ['aetna', 900],
        ['medicare', 2000],
      ],
    ]);
    // c5 (Aetna, $200 open, 31-60 days) is billed to Medicare instead.
    await store.resources.update('t', claim('c5', { ...c5Spec, payer: 'medicare' }));
    expect(await aging()).toEqual([
      2900,
      [
        ['aetna', 700],
        ['medicare', 2200],
      ],
    ]);
    // Then replaced by a corrected claim: its balance leaves A/R.
    await store.resources.update('t', claim('c5', { ...c5Spec, replacedBy: 'c9' }));
    expect(await aging()).toEqual([
      2700,
      [
        ['aetna', 700],
        ['medicare', 2000],
      ],
    ]);
    await store.resources.update('t', c5);
    expect((await aging())[0]).toBe(2900);
  });

  test('a backwards, a too long or an impossible range, or an unknown slice, is refused', async () => {
    await expect(
      service.measure(NY, 'denial-rate', { from: '2026-11-30', to: '2026-11-01' }),
    ).rejects.toThrow(/backwards/);
    await expect(
      service.measure(NY, 'denial-rate', { from: '2024-01-01', to: '2026-11-01' }),
    ).rejects.toThrow(/at most 366/);
    await expect(
      service.measure(NY, 'denial-rate', { from: '2026-02-30', to: '2026-03-01' }),
    ).rejects.toThrow(/must be a date/);
    await expect(
      service.measure(NY, 'denial-rate', { from: '2026-00-10', to: '2026-03-01' }),
    ).rejects.toThrow(/must be a date/);
    await expect(
      service.measure(NY, 'denial-rate', { from: '0000-01-01', to: '0000-01-02' }),
    ).rejects.toThrow(/must be a date/);
    // Years below 100 are dates too (`Date.UTC` read 0050 as 1950 and refused them): this range is
    // refused for its length only.
    await expect(
      service.measure(NY, 'denial-rate', { from: '0050-01-01', to: '2026-11-01' }),
    ).rejects.toThrow(/at most 366/);
    await expect(service.measure(NY, 'denial-rate', { ...NOV, by: 'patient' })).rejects.toThrow(
      /"by" is one of/,
    );
    // A leap year's 366 days are allowed.
    await expect(
      service.measure(NY, 'denial-rate', { from: '2028-01-01', to: '2028-12-31' }),
    ).resolves.toBeDefined();
  });
});
