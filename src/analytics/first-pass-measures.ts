/**
 * The first-pass measures (pure): clean-claim rate, denial rate, first-pass resolution rate, and
 * authorizations obtained with the denials they avoided. Conventions: ./measures.ts.
 */
import type { PaymentFact } from './facts.ts';
import type { AnalyticsData, MeasureQuery, MeasureResult, MeasureRow } from './measure-model.ts';
import { carcCategory, isDenialAdjustment } from './adjudication.ts';
import { cents, inRange, ratio, result, rowsInRange, sliced } from './measure-kit.ts';

/** Clean-claim rate: decided originals whose first decision is not a denial / decided originals. */
/** A count `n` of `d` per slice. */
interface Counted {
  n: number;
  d: number;
}

const countedRow = (key: string, acc: Counted): MeasureRow => ({
  key,
  value: ratio(acc.n, acc.d),
  numerator: acc.n,
  denominator: acc.d,
});

/** A measure that is the share `n` ÷ `d` of what it counted, in total and per slice. */
function countedRatio(
  measure: MeasureResult['measure'],
  q: MeasureQuery,
  parts: { total: Counted; slices: Map<string, Counted> },
): MeasureResult {
  return result(
    measure,
    q,
    'ratio',
    { total: countedRow('all', parts.total), slices: parts.slices },
    countedRow,
  );
}

export function cleanClaimRate(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const claims = rowsInRange(data, q, (r) => r.decidedOriginal);
  const parts = sliced(
    claims,
    q.by,
    () => ({ n: 0, d: 0 }),
    (acc, r) => {
      acc.d += 1;
      acc.n += r.firstDenied ? 0 : 1;
    },
  );
  return countedRatio('clean-claim-rate', q, parts);
}

interface DenialAcc {
  claims: number;
  denied: number;
  billed: number;
  deniedDollars: number;
  byCategory: Record<string, { claims: number; dollars: number }>;
  byCarc: Record<string, { claims: number; dollars: number }>;
}

/**
 * Denial rate (first pass): decided originals whose first decision denied the claim or a line /
 * decided originals; in dollars, the non-routine adjustments of those decisions / their billed
 * charges. By category and CARC: claims (each counted once per CARC) and dollars.
 */
export function denialRate(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const claims = rowsInRange(data, q, (r) => r.decidedOriginal);
  const parts = sliced<DenialAcc>(
    claims,
    q.by,
    () => ({ claims: 0, denied: 0, billed: 0, deniedDollars: 0, byCategory: {}, byCarc: {} }),
    (acc, r) => {
      const first = r.first as PaymentFact;
      acc.claims += 1;
      acc.billed = cents(acc.billed + r.claim.billed);
      if (!r.firstDenied) {
        return;
      }
      acc.denied += 1;
      const denials = first.adjustments.filter(isDenialAdjustment);
      const seenCarc = new Set<string>();
      const seenCategory = new Set<string>();
      for (const a of denials) {
        const category = carcCategory(a.carc);
        acc.deniedDollars = cents(acc.deniedDollars + a.amount);
        const carc = (acc.byCarc[a.carc] ??= { claims: 0, dollars: 0 });
        carc.dollars = cents(carc.dollars + a.amount);
        carc.claims += seenCarc.has(a.carc) ? 0 : 1;
        seenCarc.add(a.carc);
        const cat = (acc.byCategory[category] ??= { claims: 0, dollars: 0 });
        cat.dollars = cents(cat.dollars + a.amount);
        cat.claims += seenCategory.has(category) ? 0 : 1;
        seenCategory.add(category);
      }
    },
  );
  const row = (key: string, acc: DenialAcc): MeasureRow => ({
    key,
    value: ratio(acc.denied, acc.claims),
    numerator: acc.denied,
    denominator: acc.claims,
    dollars: { value: ratio(acc.deniedDollars, acc.billed), denied: acc.deniedDollars, billed: acc.billed },
    byCategory: acc.byCategory,
    byCarc: acc.byCarc,
  });
  return result('denial-rate', q, 'ratio', { total: row('all', parts.total), slices: parts.slices }, row);
}

/**
 * First-pass resolution rate: decided originals settled by their first decision (paid in full: not
 * denied, not partly paid, never reversed, no work item, not replaced) / decided originals.
 */
export function firstPassResolutionRate(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const worked = new Set(data.workItems.map((w) => w.claim));
  const claims = rowsInRange(data, q, (r) => r.decidedOriginal);
  const parts = sliced(
    claims,
    q.by,
    () => ({ n: 0, d: 0 }),
    (acc, r) => {
      const first = r.first as PaymentFact;
      acc.d += 1;
      const settled =
        r.payments.length === 1 &&
        first.outcome === 'paid' &&
        !r.firstDenied &&
        !worked.has(r.claim.id) &&
        !r.claim.replaced;
      acc.n += settled ? 1 : 0;
    },
  );
  return countedRatio('first-pass-resolution-rate', q, parts);
}

/**
 * Authorizations obtained: approved preauthorizations decided in the range (by payer only). Denials
 * avoided: decided claims of the range billed with an authorization number whose first decision
 * carried no authorization denial (CARC category `authorization`).
 */
export function authorizations(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const obtained = data.authorizations.filter((a) => a.approved && inRange(a.date, q));
  const claims = rowsInRange(data, q, (r) => r.claim.preAuth && r.first !== undefined);
  const avoided = sliced(
    claims,
    q.by,
    () => ({ v: 0, d: 0 }),
    (acc, r) => {
      const first = r.first as PaymentFact;
      acc.d += 1;
      const authDenial = first.adjustments.some(
        (a) => isDenialAdjustment(a) && carcCategory(a.carc) === 'authorization',
      );
      acc.v += authDenial ? 0 : 1;
    },
  );
  const obtainedBy = new Map<string, number>();
  for (const a of obtained) {
    const key = q.by === 'payer' ? a.payer : 'all';
    obtainedBy.set(key, (obtainedBy.get(key) ?? 0) + 1);
  }
  const row = (
    key: string,
    acc: { v: number; d: number } | undefined,
    got: number | undefined,
  ): MeasureRow => ({
    key,
    value: got ?? null,
    obtained: got ?? null,
    denialsAvoided: acc?.v ?? 0,
    claimsWithAuthorization: acc?.d ?? 0,
  });
  const keys = new Set([...avoided.slices.keys(), ...(q.by === 'payer' ? obtainedBy.keys() : [])]);
  return result(
    'authorizations',
    q,
    'count',
    { total: row('all', avoided.total, obtained.length), slices: new Map([...keys].map((k) => [k, k])) },
    (key: string) =>
      row(key, avoided.slices.get(key), q.by === 'payer' ? (obtainedBy.get(key) ?? 0) : undefined),
  );
}
