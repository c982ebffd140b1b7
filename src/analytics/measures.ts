/**
 * Revenue measures (pure), one module per family (first-pass, A/R, recovery, drug units) and this
 * index of them: each a function of the facts (./facts.ts) of one tenant, a date range
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
import type { AnalyticsData, MeasureName, MeasureQuery, MeasureResult } from './measure-model.ts';
import { arAging, daysInAr, netCollectionRate } from './ar-measures.ts';
import { drugUnits } from './drug-units.ts';
import {
  authorizations,
  cleanClaimRate,
  denialRate,
  firstPassResolutionRate,
} from './first-pass-measures.ts';
import { appeals, underpayments } from './recovery-measures.ts';

export type {
  AnalyticsData,
  ClaimRow,
  Dimension,
  MeasureName,
  MeasureQuery,
  MeasureResult,
  MeasureRow,
} from './measure-model.ts';
export { DIMENSIONS, isMeasureName, MEASURES, TITLES } from './measure-model.ts';
export {
  asOfDay,
  balanceOn,
  bucketOf,
  carcCategory,
  firstDecision,
  inAr,
  isContractualAdjustment,
  isDenial,
  isDenialAdjustment,
} from './adjudication.ts';
export { claimsInRange, isOriginal, sliceKeys } from './measure-kit.ts';
export { arAging, daysInAr, netCollectionRate } from './ar-measures.ts';
export { drugUnits } from './drug-units.ts';
export {
  authorizations,
  cleanClaimRate,
  denialRate,
  firstPassResolutionRate,
} from './first-pass-measures.ts';
export { appeals, underpayments } from './recovery-measures.ts';

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
