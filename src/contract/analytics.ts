/**
 * Analytics' part of Dripline's FHIR contract: the Measures its MeasureReports name
 * (src/analytics/measure-report.ts). Each measure's numerator, denominator and source are in the
 * README ("Revenue analytics"); the definitions live in src/analytics/measures.ts.
 */
import { define } from './registry.ts';

export const MEASURE_CLEAN_CLAIM_RATE = define(
  'measure',
  'clean-claim-rate',
  'MeasureReport.measure: original claims whose first payer decision was not a denial, over those decided',
);
export const MEASURE_DENIAL_RATE = define(
  'measure',
  'denial-rate',
  'MeasureReport.measure: original claims whose first payer decision denied a line or the claim, over those decided',
);
export const MEASURE_FIRST_PASS_RESOLUTION_RATE = define(
  'measure',
  'first-pass-resolution-rate',
  'MeasureReport.measure: decided original claims paid in full by one payment with no work item, over those decided',
);
export const MEASURE_NET_COLLECTION_RATE = define(
  'measure',
  'net-collection-rate',
  'MeasureReport.measure: insurance payments over charges less contractual adjustments and patient responsibility',
);
export const MEASURE_DAYS_IN_AR = define(
  'measure',
  'days-in-ar',
  'MeasureReport.measure: open insurance A/R over average daily charges of the period',
);
