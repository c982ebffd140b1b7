/**
 * The canonical URLs of eligibility and the patient estimate (src/coverage/eligibility,
 * src/coverage/estimate), declared through the registry (./registry.ts). None is published yet.
 */
import { define } from './registry.ts';

export const ID_ELIGIBILITY_TRACE = define(
  'identifier-system',
  'eligibility-trace',
  'CoverageEligibilityRequest/Response.identifier: the trace number (270 TRN02, returned in the 271)',
);
export const ID_PATIENT_ESTIMATE = define(
  'identifier-system',
  'patient-estimate',
  "ExplanationOfBenefit.identifier (use predetermination): Dripline's patient estimate of an order or encounter",
);
export const EXT_ESTIMATE_BASIS = define(
  'extension',
  'estimate-basis',
  'ExplanationOfBenefit item or adjudication: the input an estimate figure came from, in words',
);
export const CS_X12_MESSAGE = define(
  'code-system',
  'x12-message',
  'DocumentReference.type of X12 messages Dripline keeps as sent or received (270, 271)',
);
