/**
 * The A/R measures (pure): A/R aging, days in A/R and the net collection rate. Conventions:
 * ./measures.ts.
 */
import { daysBetween } from '../time/zone.ts';
import type { AnalyticsData, MeasureQuery, MeasureResult, MeasureRow } from './measure-model.ts';
import { asOfDay, BUCKETS, bucketOf } from './adjudication.ts';
import { rowBalanceOn } from './claim-rows.ts';
import { add, cents, ratio, result, rowsInRange, sliced } from './measure-kit.ts';

/**
 * A/R aging: the open insurance balance on min(to, today) of claims served up to that day, by age
 * since the date of service (0-30, 31-60, 61-90, 91-120, 120+ days). Sliced by payer by default.
 */
export function arAging(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const day = asOfDay(q);
  const by = q.by ?? 'payer';
  const claims = data.rows.filter((r) => r.claim.serviceDate <= day && r.inAr);
  const init = (): Record<string, number> => Object.fromEntries(BUCKETS.map((b) => [b, 0]));
  /** Service date → its bucket on `day` (many claims share a day). */
  const buckets = new Map<string, string>();
  const parts = sliced(claims, by, init, (acc, r) => {
    const balance = rowBalanceOn(r, day);
    if (balance > 0) {
      let bucket = buckets.get(r.claim.serviceDate);
      if (bucket === undefined) {
        bucket = bucketOf(daysBetween(r.claim.serviceDate, day));
        buckets.set(r.claim.serviceDate, bucket);
      }
      add(acc, bucket, balance);
    }
  });
  const row = (key: string, acc: Record<string, number>): MeasureRow => {
    const total = cents(Object.values(acc).reduce((s, x) => s + x, 0));
    return {
      key,
      value: total,
      buckets: acc,
      over90: ratio((acc['91-120'] ?? 0) + (acc['120+'] ?? 0), total),
    };
  };
  return {
    ...result('ar-aging', { ...q, by }, 'usd', { total: row('all', parts.total), slices: parts.slices }, row),
    asOf: day,
  } as MeasureResult;
}

/**
 * Days in A/R (gross): the open insurance balance on min(to, today) / (charges of claims served in
 * the range / days in the range).
 */
export function daysInAr(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const day = asOfDay(q);
  const days = daysBetween(q.from, q.to) + 1;
  const open = data.rows.filter((r) => r.claim.serviceDate <= day && r.inAr);
  const charged = rowsInRange(data, q, (r) => r.claim.frequency === '1');
  const balances = sliced(
    open,
    q.by,
    () => ({ v: 0 }),
    (acc, r) => {
      acc.v = cents(acc.v + rowBalanceOn(r, day));
    },
  );
  const charges = sliced(
    charged,
    q.by,
    () => ({ v: 0 }),
    (acc, r) => {
      acc.v = cents(acc.v + r.claim.billed);
    },
  );
  const row = (key: string, ar: number, billed: number): MeasureRow => {
    const daily = billed / days;
    return {
      key,
      value: daily === 0 ? null : Math.round((ar / daily) * 10) / 10,
      numerator: ar,
      denominator: cents(daily),
      arBalance: ar,
      charges: billed,
      days,
    };
  };
  const keys = new Set([...balances.slices.keys(), ...charges.slices.keys()]);
  const slices = new Map([...keys].map((k) => [k, k] as const));
  return result(
    'days-in-ar',
    q,
    'days',
    { total: row('all', balances.total.v, charges.total.v), slices },
    (key: string) => row(key, balances.slices.get(key)?.v ?? 0, charges.slices.get(key)?.v ?? 0),
  );
}

/**
 * Net collection rate (insurance): payments posted for claims served in the range (reversals
 * netted) / (their charges less contractual adjustments and the patients' share).
 */
export function netCollectionRate(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const claims = rowsInRange(data, q, (r) => r.claim.frequency !== '8');
  const parts = sliced(
    claims,
    q.by,
    () => ({ paid: 0, expected: 0 }),
    (acc, r) => {
      const claim = r.claim;
      // A replaced claim's charges are billed again by its replacement: count them once.
      if (!claim.replaced) {
        acc.expected += claim.billed;
      }
      r.payments.forEach((p, i) => {
        const sign = p.outcome === 'reversed' ? -1 : 1;
        acc.paid += p.paid;
        if (!claim.replaced) {
          acc.expected -= sign * Math.abs(r.contractual[i] ?? 0) + p.patientResponsibility;
        }
      });
    },
  );
  const row = (key: string, acc: { paid: number; expected: number }): MeasureRow => ({
    key,
    value: ratio(acc.paid, acc.expected),
    numerator: cents(acc.paid),
    denominator: cents(acc.expected),
  });
  return result(
    'net-collection-rate',
    q,
    'ratio',
    { total: row('all', parts.total), slices: parts.slices },
    row,
  );
}
