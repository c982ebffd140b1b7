/**
 * The claims behind a figure (src/analytics/drill.ts), read from a real store through the same
 * service as the measures: for each figure the analytics view draws as a bar, the claims listed are
 * exactly the ones the measure counted (their number is the bar's count; their open balances add
 * up to the aging bar). November 2026 of a clinic in New York, asked on 4 December.
 *
 * c1 Medicare 2 Nov paid; c2 Medicare 5 Nov denied CO-50 (medical necessity); c3 Aetna 10 Nov a
 * line denied CO-197 (authorization); c4 Aetna 30 Nov sent, no answer; c5 Aetna 15 Oct sent, no
 * answer; c6 Medicare 12 Nov paid, underpaid $50 (recovered). Appeals: c2 overturned, c3 upheld.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Resource } from '@medplum/fhirtypes';
import { claimsBehind } from '../../src/analytics/drill.ts';
import type { AnalyticsData, MeasureName, MeasureQuery } from '../../src/analytics/measures.ts';
import { balanceOn } from '../../src/analytics/measures.ts';
import { AnalyticsService } from '../../src/analytics/service.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { appeal, claim, payment, workItem } from './fixtures.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-drill-'));
const NOW = new Date('2026-12-04T15:00:00Z');
const NY: TenantConfig = {
  id: 't',
  name: 'Clinic',
  timeZone: 'America/New_York',
  connections: [],
  coding: {},
  payers: [],
};
const NOV: MeasureQuery = { from: '2026-11-01', to: '2026-11-30', asOf: '2026-12-04', by: 'payer' };
let store: SqliteStore;
let service: AnalyticsService;
let data: AnalyticsData;

const line = (
  code: string,
  submitted: number,
  paid: number,
  adjustments: { group: string; carc: string; amount: number }[],
) => ({
  code,
  units: 1,
  submitted,
  paid,
  adjustments,
});
const c1 = claim('c1', {
  payer: 'medicare',
  date: '2026-11-02',
  lines: [{ code: '96365', units: 1, net: 200 }],
});
const c2 = claim('c2', {
  payer: 'medicare',
  date: '2026-11-05',
  lines: [{ code: 'J9035', units: 20, net: 2000 }],
});
const c3 = claim('c3', {
  payer: 'aetna',
  date: '2026-11-10',
  lines: [
    { code: 'J1745', units: 5, net: 500 },
    { code: '96365', units: 1, net: 200 },
  ],
});
const c4 = claim('c4', {
  payer: 'aetna',
  date: '2026-11-30',
  state: 'submitted',
  lines: [{ code: '96365', units: 1, net: 200 }],
});
const c5 = claim('c5', {
  payer: 'aetna',
  date: '2026-10-15',
  state: 'submitted',
  lines: [{ code: '96365', units: 1, net: 200 }],
});
const c6 = claim('c6', {
  payer: 'medicare',
  date: '2026-11-12',
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
    lines: [line('96365', 200, 150, [{ group: 'CO', carc: '45', amount: 50 }])],
  }),
  payment('e2', c2, {
    date: '2026-11-25',
    lines: [line('J9035', 2000, 0, [{ group: 'CO', carc: '50', amount: 2000 }])],
  }),
  payment('e3', c3, {
    date: '2026-11-28',
    lines: [
      line('J1745', 500, 0, [{ group: 'CO', carc: '197', amount: 500 }]),
      line('96365', 200, 150, [{ group: 'CO', carc: '45', amount: 50 }]),
    ],
  }),
  payment('e6', c6, {
    date: '2026-11-22',
    lines: [line('J1745', 1000, 700, [{ group: 'CO', carc: '45', amount: 300 }])],
  }),
  workItem('w6', 'underpayment', 'c6', { authored: '2026-11-23T15:00:00Z', state: 'recovered', dollars: 50 }),
  appeal('a1', 'c2', {
    authored: '2026-11-26T15:00:00Z',
    level: 'redetermination',
    outcome: 'overturned',
    recovered: 1500,
  }),
  appeal('a3', 'c3', { authored: '2026-11-29T15:00:00Z', level: 'first-level', outcome: 'upheld' }),
];

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  for (const r of resources) {
    await store.resources.create('t', r, { id: r.id as string });
  }
  service = new AnalyticsService({ store, now: () => NOW });
  data = await service.reader.data('t', 'America/New_York');
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ids = (measure: MeasureName, slice: string, part?: string): string[] =>
  claimsBehind(data, measure, { ...NOV, slice, ...(part ? { part } : {}) }).map((c) => c.claim);

describe('the claims behind each bar are the ones the measure counted', () => {
  test('clean-claim and denial rates: per payer, clean and denied, each count the figure', async () => {
    const clean = await service.measure(NY, 'clean-claim-rate', { from: NOV.from, to: NOV.to, by: 'payer' });
    for (const slice of clean.slices) {
      expect(ids('clean-claim-rate', slice.key)).toHaveLength(slice.denominator ?? -1);
      expect(ids('clean-claim-rate', slice.key, 'clean')).toHaveLength(slice.numerator ?? -1);
    }
    expect(ids('clean-claim-rate', 'medicare', 'clean')).toEqual(['c1', 'c6']);
    expect(ids('denial-rate', 'all', 'denied')).toEqual(['c2', 'c3']);
  });

  test('denials by category: each category lists the claims denied with one of its reasons', async () => {
    const denial = await service.measure(NY, 'denial-rate', { from: NOV.from, to: NOV.to });
    const byCategory = denial.total['byCategory'] as Record<string, { claims: number }>;
    expect(Object.keys(byCategory).length).toBe(2);
    for (const [category, figure] of Object.entries(byCategory)) {
      expect(ids('denial-rate', 'all', category)).toHaveLength(figure.claims);
    }
    expect(ids('denial-rate', 'all', 'authorization')).toEqual(['c3']);
  });

  test('A/R aging: the open balances of the claims behind a payer and age add up to its figure', async () => {
    const aging = await service.measure(NY, 'ar-aging', { from: NOV.from, to: NOV.to });
    let checked = 0;
    for (const slice of aging.slices) {
      for (const [bucket, amount] of Object.entries(slice['buckets'] as Record<string, number>)) {
        const behind = claimsBehind(data, 'ar-aging', { ...NOV, slice: slice.key, part: bucket });
        const open = behind.reduce(
          (s, c) => s + balanceOn(data.claims.get(c.claim)!, data.payments.get(c.claim), '2026-11-30'),
          0,
        );
        expect(Math.round(open * 100) / 100).toBe(amount);
        checked += behind.length;
      }
    }
    expect(checked).toBeGreaterThan(0);
    // c5 was served in October and is still open: it is in A/R, 31-60 days old on 30 November.
    expect(ids('ar-aging', 'aetna', '31-60')).toEqual(['c5']);
  });

  test('underpayments, appeals and net collection', () => {
    expect(ids('underpayments', 'all')).toEqual(['c6']);
    expect(ids('underpayments', 'all', 'recovered')).toEqual(['c6']);
    expect(ids('appeals', 'all')).toEqual(['c2', 'c3']);
    expect(ids('appeals', 'all', 'overturned')).toEqual(['c2']);
    expect(ids('net-collection-rate', 'aetna')).toEqual(['c3', 'c4']);
  });

  test('a slice no claim is in lists none', () => {
    expect(ids('denial-rate', 'nobody')).toEqual([]);
  });
});
