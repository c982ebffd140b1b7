/**
 * What a revenue measure is (types and names only): the data it reads (./facts.ts), the question
 * (range, slice, "as of" day), the answer's shape, and the measures served with their titles.
 * Definitions are in ./measures.ts and the README's "Revenue analytics" table.
 */
import type {
  AppealFact,
  AuthorizationFact,
  ClaimFact,
  DrugChargeFact,
  LineFact,
  PaymentFact,
  WorkItemFact,
} from './facts.ts';

export type Dimension = 'payer' | 'location' | 'drug' | 'code';
export const DIMENSIONS: readonly Dimension[] = ['payer', 'location', 'drug', 'code'];

/**
 * What the measures read of one claim and its payments, derived once when either changes
 * (./claim-rows.ts) rather than by every measure on every question.
 */
export interface ClaimRow {
  readonly claim: ClaimFact;
  /** Its payments, oldest first (none: empty). */
  readonly payments: readonly PaymentFact[];
  /** Per payment (same order): the sum of its contractual adjustments (./adjudication.ts). */
  readonly contractual: readonly number[];
  /** Its first decision (./adjudication.ts `firstDecision`) and whether it denied. */
  readonly first: PaymentFact | undefined;
  readonly firstDenied: boolean;
  /** An original (frequency 1) with a first decision: what the first-pass measures count. */
  readonly decidedOriginal: boolean;
  /** ./adjudication.ts `inAr`. */
  readonly inAr: boolean;
  /** Its slice keys per dimension (./measure-kit.ts `sliceKeys`). */
  readonly keys: Readonly<Record<Dimension, readonly string[]>>;
  /** Its lines with a drug code. */
  readonly drugLines: readonly LineFact[];
  /** Drug units of its payments' lines paid something, reversals negative, in payment order. */
  readonly paidDrugUnits: readonly { readonly code: string; readonly units: number }[];
}

export interface AnalyticsData {
  readonly claims: ReadonlyMap<string, ClaimFact>;
  /** Per claim id, oldest first (payment date, then posting instant). */
  readonly payments: ReadonlyMap<string, readonly PaymentFact[]>;
  /** One per claim of `claims`, in the same order. */
  readonly rows: readonly ClaimRow[];
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
