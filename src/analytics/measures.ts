/**
 * Revenue measures (pure): each a function of the facts (./facts.ts) of one tenant, a date range
 * in the tenant's calendar and an "as of" day. Definitions (numerator, denominator, source and the
 * industry reference) are in the README's "Revenue analytics" table; the short form is beside
 * each function. Conventions shared by all:
 *
 * - A claim is in the range when its first date of service is (local dates, both ends included).
 * - First pass: original claims (frequency 1) and their first payer decision (the earliest posted
 *   payment that is not a reversal).
 * - Adjustments are read with the CARC table of src/remittance/codes: a non-routine CARC (anything
 *   but deductible, coinsurance, copay and the contractual write-downs) is a denial; a routine CARC
 *   in group CO is contractual; group PR is the patient's.
 * - Slices (`by`): payer and location put each claim in one slice; code and drug put it in every
 *   slice of a code it bills, so slices by code need not add up to the total.
 */
import { carcInfo } from '../remittance/codes.ts';
import { countsInTotals } from '../remittance/work/items.ts';
import { daysBetween } from '../time/zone.ts';
import type {
  AdjustmentFact,
  AppealFact,
  AuthorizationFact,
  ClaimFact,
  DrugChargeFact,
  PaymentFact,
  WorkItemFact,
} from './facts.ts';
import { isDrugCode } from './facts.ts';

export type Dimension = 'payer' | 'location' | 'drug' | 'code';
export const DIMENSIONS: readonly Dimension[] = ['payer', 'location', 'drug', 'code'];

export interface AnalyticsData {
  readonly claims: ReadonlyMap<string, ClaimFact>;
  /** Per claim id, oldest first (payment date, then posting instant). */
  readonly payments: ReadonlyMap<string, readonly PaymentFact[]>;
  readonly workItems: readonly WorkItemFact[];
  readonly appeals: readonly AppealFact[];
  readonly authorizations: readonly AuthorizationFact[];
  readonly drugCharges: readonly DrugChargeFact[];
  /** Units bought per drug code in the range, when the clinic gives its inventory. */
  readonly inventory?: ReadonlyMap<string, number>;
}

export interface MeasureQuery {
  /** Local dates YYYY-MM-DD, both included. */
  readonly from: string;
  readonly to: string;
  readonly by?: Dimension;
  /** Today in the tenant's zone: balances are as of min(to, asOf). */
  readonly asOf: string;
}

export interface MeasureRow {
  readonly key: string;
  readonly value: number | null;
  readonly numerator?: number;
  readonly denominator?: number;
  readonly [detail: string]: unknown;
}

export interface MeasureResult {
  readonly measure: MeasureName;
  readonly title: string;
  readonly unit: 'ratio' | 'days' | 'usd' | 'count' | 'units';
  readonly from: string;
  readonly to: string;
  readonly by?: Dimension;
  readonly total: MeasureRow;
  readonly slices: readonly MeasureRow[];
}

const cents = (x: number): number => Math.round(x * 100) / 100 + 0;
const ratio = (n: number, d: number): number | null =>
  d === 0 ? null : Math.round((n / d) * 10_000) / 10_000;
const inRange = (date: string, q: MeasureQuery): boolean => date >= q.from && date <= q.to;
const add = (record: Record<string, number>, key: string, x: number): void => {
  record[key] = cents((record[key] ?? 0) + x);
};

export function sliceKeys(claim: ClaimFact | undefined, by: Dimension | undefined): string[] {
  if (!by) {
    return ['all'];
  }
  if (!claim) {
    return ['unknown'];
  }
  switch (by) {
    case 'payer':
      return [claim.payer];
    case 'location':
      return [claim.location];
    case 'code':
      return [...new Set(claim.lines.map((l) => l.code).filter((c) => c !== ''))];
    case 'drug': {
      const drugs = [...new Set(claim.lines.map((l) => l.code).filter(isDrugCode))];
      return drugs.length > 0 ? drugs : ['no drug'];
    }
  }
}

// ----- Reading adjustments -----------------------------------------------------------------------

/** Each CARC's category and whether it is routine, read once from the table (a hot path). */
const CARC_CLASS = new Map<string, { routine: boolean; category: string }>();
function carcClass(carc: string): { routine: boolean; category: string } {
  let known = CARC_CLASS.get(carc);
  if (!known) {
    const info = carcInfo(carc);
    known = { routine: info.routine, category: info.category };
    CARC_CLASS.set(carc, known);
  }
  return known;
}
export function carcCategory(carc: string): string {
  return carcClass(carc).category;
}
export function isDenialAdjustment(a: AdjustmentFact): boolean {
  return a.group !== 'PR' && a.carc !== '' && !carcClass(a.carc).routine;
}
export function isContractualAdjustment(a: AdjustmentFact): boolean {
  const c = carcClass(a.carc);
  return a.group === 'CO' && c.routine && c.category !== 'patient-responsibility';
}
export function isDenial(payment: PaymentFact): boolean {
  return payment.outcome === 'denied' || payment.adjustments.some(isDenialAdjustment);
}
export function firstDecision(payments: readonly PaymentFact[] | undefined): PaymentFact | undefined {
  return payments?.find((p) => p.outcome !== 'reversed');
}

// ----- A generic claim-based measure ---------------------------------------------------------------

/** The claims of the range, each with its slices. */
export function claimsInRange(
  data: AnalyticsData,
  q: MeasureQuery,
  keep: (c: ClaimFact) => boolean,
): ClaimFact[] {
  const out: ClaimFact[] = [];
  for (const claim of data.claims.values()) {
    if (inRange(claim.serviceDate, q) && keep(claim)) {
      out.push(claim);
    }
  }
  return out;
}

function sliced<A>(
  claims: readonly ClaimFact[],
  by: Dimension | undefined,
  init: () => A,
  step: (acc: A, claim: ClaimFact) => void,
): { total: A; slices: Map<string, A> } {
  const total = init();
  const slices = new Map<string, A>();
  for (const claim of claims) {
    step(total, claim);
    if (by) {
      for (const key of sliceKeys(claim, by)) {
        let acc = slices.get(key);
        if (!acc) {
          acc = init();
          slices.set(key, acc);
        }
        step(acc, claim);
      }
    }
  }
  return { total, slices };
}

function result(
  measure: MeasureName,
  q: MeasureQuery,
  unit: MeasureResult['unit'],
  parts: { total: MeasureRow; slices: Map<string, unknown> },
  row: (key: string, acc: never) => MeasureRow,
): MeasureResult {
  return {
    measure,
    title: TITLES[measure],
    unit,
    from: q.from,
    to: q.to,
    ...(q.by ? { by: q.by } : {}),
    total: parts.total,
    slices: [...parts.slices.entries()]
      .map(([key, acc]) => row(key, acc as never))
      .sort((a, b) => a.key.localeCompare(b.key)),
  };
}

export const isOriginal = (c: ClaimFact): boolean => c.frequency === '1';

// ----- The measures ------------------------------------------------------------------------------

/** Clean-claim rate: decided originals whose first decision is not a denial / decided originals. */
export function cleanClaimRate(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const claims = claimsInRange(
    data,
    q,
    (c) => isOriginal(c) && firstDecision(data.payments.get(c.id)) !== undefined,
  );
  const parts = sliced(
    claims,
    q.by,
    () => ({ n: 0, d: 0 }),
    (acc, claim) => {
      acc.d += 1;
      acc.n += isDenial(firstDecision(data.payments.get(claim.id)) as PaymentFact) ? 0 : 1;
    },
  );
  const row = (key: string, acc: { n: number; d: number }): MeasureRow => ({
    key,
    value: ratio(acc.n, acc.d),
    numerator: acc.n,
    denominator: acc.d,
  });
  return result(
    'clean-claim-rate',
    q,
    'ratio',
    { total: row('all', parts.total), slices: parts.slices },
    row,
  );
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
  const claims = claimsInRange(
    data,
    q,
    (c) => isOriginal(c) && firstDecision(data.payments.get(c.id)) !== undefined,
  );
  const parts = sliced<DenialAcc>(
    claims,
    q.by,
    () => ({ claims: 0, denied: 0, billed: 0, deniedDollars: 0, byCategory: {}, byCarc: {} }),
    (acc, claim) => {
      const first = firstDecision(data.payments.get(claim.id)) as PaymentFact;
      acc.claims += 1;
      acc.billed = cents(acc.billed + claim.billed);
      if (!isDenial(first)) {
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

/** The insurance balance of a claim on a day: billed less paid, contractual and patient's share. */
export function balanceOn(
  claim: ClaimFact,
  payments: readonly PaymentFact[] | undefined,
  day: string,
): number {
  let balance = claim.billed;
  for (const p of payments ?? []) {
    if (p.date > day) {
      continue;
    }
    const contractual = p.adjustments.filter(isContractualAdjustment).reduce((s, a) => s + a.amount, 0);
    const sign = p.outcome === 'reversed' ? -1 : 1;
    // A reversal carries negative amounts (835 CLP02 22): adding it takes the payment back.
    balance -= p.paid + sign * Math.abs(contractual) + p.patientResponsibility;
  }
  return cents(Math.max(0, balance));
}

/** Billed to a payer (in A/R): sent, answered or paid; not replaced, not a void. */
const BILLED_STATES = new Set(['submitting', 'submitted', 'adjudicated', 'rejected']);
export function inAr(claim: ClaimFact, payments: readonly PaymentFact[] | undefined): boolean {
  return (
    claim.frequency !== '8' &&
    !claim.replaced &&
    (BILLED_STATES.has(claim.state ?? '') || (payments?.length ?? 0) > 0)
  );
}

const BUCKETS = ['0-30', '31-60', '61-90', '91-120', '120+'] as const;
export function bucketOf(days: number): (typeof BUCKETS)[number] {
  return days <= 30 ? '0-30' : days <= 60 ? '31-60' : days <= 90 ? '61-90' : days <= 120 ? '91-120' : '120+';
}

export const asOfDay = (q: MeasureQuery): string => (q.to < q.asOf ? q.to : q.asOf);

/**
 * A/R aging: the open insurance balance on min(to, today) of claims served up to that day, by age
 * since the date of service (0-30, 31-60, 61-90, 91-120, 120+ days). Sliced by payer by default.
 */
export function arAging(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const day = asOfDay(q);
  const by = q.by ?? 'payer';
  const claims = [...data.claims.values()].filter(
    (c) => c.serviceDate <= day && inAr(c, data.payments.get(c.id)),
  );
  const init = (): Record<string, number> => Object.fromEntries(BUCKETS.map((b) => [b, 0]));
  const parts = sliced(claims, by, init, (acc, claim) => {
    const balance = balanceOn(claim, data.payments.get(claim.id), day);
    if (balance > 0) {
      add(acc, bucketOf(daysBetween(claim.serviceDate, day)), balance);
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
  const open = [...data.claims.values()].filter(
    (c) => c.serviceDate <= day && inAr(c, data.payments.get(c.id)),
  );
  const charged = claimsInRange(data, q, (c) => c.frequency === '1');
  const balances = sliced(
    open,
    q.by,
    () => ({ v: 0 }),
    (acc, claim) => {
      acc.v = cents(acc.v + balanceOn(claim, data.payments.get(claim.id), day));
    },
  );
  const charges = sliced(
    charged,
    q.by,
    () => ({ v: 0 }),
    (acc, claim) => {
      acc.v = cents(acc.v + claim.billed);
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
  const claims = claimsInRange(data, q, (c) => c.frequency !== '8');
  const parts = sliced(
    claims,
    q.by,
    () => ({ paid: 0, expected: 0 }),
    (acc, claim) => {
      const payments = data.payments.get(claim.id) ?? [];
      // A replaced claim's charges are billed again by its replacement: count them once.
      if (!claim.replaced) {
        acc.expected += claim.billed;
      }
      for (const p of payments) {
        const sign = p.outcome === 'reversed' ? -1 : 1;
        const contractual = p.adjustments.filter(isContractualAdjustment).reduce((s, a) => s + a.amount, 0);
        acc.paid += p.paid;
        if (!claim.replaced) {
          acc.expected -= sign * Math.abs(contractual) + p.patientResponsibility;
        }
      }
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

/**
 * First-pass resolution rate: decided originals settled by their first decision (paid in full: not
 * denied, not partly paid, never reversed, no work item, not replaced) / decided originals.
 */
export function firstPassResolutionRate(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const worked = new Set(data.workItems.map((w) => w.claim));
  const claims = claimsInRange(
    data,
    q,
    (c) => isOriginal(c) && firstDecision(data.payments.get(c.id)) !== undefined,
  );
  const parts = sliced(
    claims,
    q.by,
    () => ({ n: 0, d: 0 }),
    (acc, claim) => {
      const payments = data.payments.get(claim.id) ?? [];
      const first = firstDecision(payments) as PaymentFact;
      acc.d += 1;
      const settled =
        payments.length === 1 &&
        first.outcome === 'paid' &&
        !isDenial(first) &&
        !worked.has(claim.id) &&
        !claim.replaced;
      acc.n += settled ? 1 : 0;
    },
  );
  const row = (key: string, acc: { n: number; d: number }): MeasureRow => ({
    key,
    value: ratio(acc.n, acc.d),
    numerator: acc.n,
    denominator: acc.d,
  });
  return result(
    'first-pass-resolution-rate',
    q,
    'ratio',
    { total: row('all', parts.total), slices: parts.slices },
    row,
  );
}

function byTaskSlices<T extends { claim: string }>(
  data: AnalyticsData,
  items: readonly T[],
  by: Dimension | undefined,
): { total: T[]; slices: Map<string, T[]> } {
  const slices = new Map<string, T[]>();
  if (by) {
    for (const item of items) {
      for (const key of sliceKeys(data.claims.get(item.claim), by)) {
        slices.set(key, [...(slices.get(key) ?? []), item]);
      }
    }
  }
  return { total: [...items], slices };
}

/**
 * Underpayments found (underpayment work items opened in the range: count and dollars below the
 * contract; not those a reversal superseded, whose replacing claim's item counts instead) and
 * recovered (those closed as recovered: count and dollars).
 */
export function underpayments(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const items = data.workItems.filter(
    (w) => w.kind === 'underpayment' && countsInTotals(w.state) && inRange(w.day, q),
  );
  const parts = byTaskSlices(data, items, q.by);
  const row = (key: string, list: readonly WorkItemFact[]): MeasureRow => {
    const recovered = list.filter((w) => w.state === 'recovered');
    const found = cents(list.reduce((s, w) => s + w.dollarsAtStake, 0));
    const back = cents(recovered.reduce((s, w) => s + w.dollarsAtStake, 0));
    return {
      key,
      value: found,
      found: { count: list.length, dollars: found },
      recovered: { count: recovered.length, dollars: back },
      recoveryRate: ratio(back, found),
    };
  };
  return result('underpayments', q, 'usd', { total: row('all', parts.total), slices: parts.slices }, row);
}

const OVERTURNED = new Set(['overturned', 'partly-overturned']);
/**
 * Appeals filed in the range (appeal Tasks by authoredOn) by outcome; overturn rate = overturned
 * (fully or partly) / decided (overturned, partly, upheld); recovered = Σ `recovered` outputs.
 */
export function appeals(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const items = data.appeals.filter((a) => inRange(a.day, q));
  const parts = byTaskSlices(data, items, q.by);
  const row = (key: string, list: readonly AppealFact[]): MeasureRow => {
    const byOutcome: Record<string, number> = {};
    const byLevel: Record<string, number> = {};
    for (const a of list) {
      byOutcome[a.outcome] = (byOutcome[a.outcome] ?? 0) + 1;
      byLevel[a.level] = (byLevel[a.level] ?? 0) + 1;
    }
    const overturned = list.filter((a) => OVERTURNED.has(a.outcome)).length;
    const decided = list.filter((a) => OVERTURNED.has(a.outcome) || a.outcome === 'upheld').length;
    return {
      key,
      value: list.length,
      filed: list.length,
      overturned,
      numerator: overturned,
      denominator: decided,
      overturnRate: ratio(overturned, decided),
      recovered: cents(list.reduce((s, a) => s + a.recovered, 0)),
      byOutcome,
      byLevel,
    };
  };
  return result('appeals', q, 'count', { total: row('all', parts.total), slices: parts.slices }, row);
}

/**
 * Authorizations obtained: approved preauthorizations decided in the range (by payer only). Denials
 * avoided: decided claims of the range billed with an authorization number whose first decision
 * carried no authorization denial (CARC category `authorization`).
 */
export function authorizations(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const obtained = data.authorizations.filter((a) => a.approved && inRange(a.date, q));
  const claims = claimsInRange(
    data,
    q,
    (c) => c.preAuth && firstDecision(data.payments.get(c.id)) !== undefined,
  );
  const avoided = sliced(
    claims,
    q.by,
    () => ({ v: 0, d: 0 }),
    (acc, claim) => {
      const first = firstDecision(data.payments.get(claim.id)) as PaymentFact;
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

/**
 * Drug units per HCPCS drug code: bought (the clinic's inventory, when given), given (drug
 * ChargeItems served in the range), billed (lines of the range's claims still in force) and paid
 * (units of those lines the payer paid something for, reversals netted).
 */
export function drugUnits(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  type Units = { bought?: number; given: number; billed: number; paid: number };
  const rows = new Map<string, Units>();
  const get = (code: string): Units => {
    let r = rows.get(code);
    if (!r) {
      r = { given: 0, billed: 0, paid: 0 };
      const bought = data.inventory?.get(code);
      if (bought !== undefined) {
        r.bought = bought;
      }
      rows.set(code, r);
    }
    return r;
  };
  for (const d of data.drugCharges) {
    if (inRange(d.date, q)) {
      get(d.code).given += d.units;
    }
  }
  for (const claim of claimsInRange(data, q, (c) => c.frequency !== '8' && !c.replaced)) {
    for (const line of claim.lines) {
      if (isDrugCode(line.code)) {
        get(line.code).billed += line.units;
      }
    }
    for (const p of data.payments.get(claim.id) ?? []) {
      const sign = p.outcome === 'reversed' ? -1 : 1;
      for (const line of p.lines) {
        if (isDrugCode(line.code) && line.paid !== 0) {
          get(line.code).paid += sign * line.units;
        }
      }
    }
  }
  for (const [code, bought] of data.inventory ?? []) {
    if (!rows.has(code)) {
      get(code).bought = bought;
    }
  }
  const total = { given: 0, billed: 0, paid: 0 };
  for (const r of rows.values()) {
    total.given += r.given;
    total.billed += r.billed;
    total.paid += r.paid;
  }
  const row = (
    key: string,
    r: { bought?: number; given: number; billed: number; paid: number },
  ): MeasureRow => ({
    key,
    value: r.billed,
    ...(r.bought !== undefined ? { bought: r.bought } : {}),
    given: r.given,
    billed: r.billed,
    paid: r.paid,
    paidOfBilled: ratio(r.paid, r.billed),
  });
  return {
    ...result('drug-units', { ...q, by: 'drug' }, 'units', { total: row('all', total), slices: rows }, row),
  };
}

export const MEASURES = [
  'clean-claim-rate',
  'denial-rate',
  'days-in-ar',
  'ar-aging',
  'net-collection-rate',
  'first-pass-resolution-rate',
  'underpayments',
  'appeals',
  'authorizations',
  'drug-units',
] as const;
export type MeasureName = (typeof MEASURES)[number];

export const TITLES: Readonly<Record<MeasureName, string>> = {
  'clean-claim-rate': 'Clean-claim rate (first-pass acceptance)',
  'denial-rate': 'Initial denial rate',
  'days-in-ar': 'Days in A/R (gross)',
  'ar-aging': 'A/R aging',
  'net-collection-rate': 'Net collection rate (insurance)',
  'first-pass-resolution-rate': 'First-pass resolution rate',
  underpayments: 'Underpayments found and recovered',
  appeals: 'Appeals filed and overturned',
  authorizations: 'Authorizations obtained and denials avoided',
  'drug-units': 'Drug units bought, given, billed and paid',
};

export function isMeasureName(name: string): name is MeasureName {
  return (MEASURES as readonly string[]).includes(name);
}

/** Each measure's pure function over the data. */
const COMPUTE: Readonly<Record<MeasureName, (data: AnalyticsData, q: MeasureQuery) => MeasureResult>> = {
  'clean-claim-rate': cleanClaimRate,
  'denial-rate': denialRate,
  'days-in-ar': daysInAr,
  'ar-aging': arAging,
  'net-collection-rate': netCollectionRate,
  'first-pass-resolution-rate': firstPassResolutionRate,
  underpayments,
  appeals,
  authorizations,
  'drug-units': drugUnits,
};

/** One measure over the data. */
export function computeMeasure(name: MeasureName, data: AnalyticsData, q: MeasureQuery): MeasureResult {
  return COMPUTE[name](data, q);
}
