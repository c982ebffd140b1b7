/**
 * Remittance's part of Dripline's FHIR contract: the URLs posting writes on ExplanationOfBenefit,
 * PaymentReconciliation and Claim (src/remittance), and the identifier systems a remittance and a
 * claim payment are found by. Below them, the external code systems remittance writes (X12 code
 * lists as CARIN Blue Button names them, HL7 terminology): not Dripline's, so not in the registry.
 */

import { define } from './registry.ts';

// ----- Extensions --------------------------------------------------------------------------------

export const EXT_CLAIM_PAYMENT_STATUS = define(
  'extension',
  'claim-payment-status',
  'Claim: what the payer did with it in its latest posted payment (paid, partially-paid, denied, reversed)',
);
export const EXT_CLAIM_STATUS_CODE = define(
  'extension',
  'remittance-claim-status',
  'ExplanationOfBenefit: the X12 claim status code (835 CLP02) it was posted from',
);
export const EXT_REMITTANCE = define(
  'extension',
  'remittance',
  'ExplanationOfBenefit: the PaymentReconciliation (remittance) it came in',
);
export const EXT_REVERSES = define(
  'extension',
  'remittance-reverses',
  'ExplanationOfBenefit: the posted payment a reversal (835 CLP02 22) takes back',
);
export const EXT_REMARK = define(
  'extension',
  'remittance-remark',
  'ExplanationOfBenefit and its items: a remittance advice remark code (RARC, valueCoding)',
);
export const EXT_LINE_ITEM_CONTROL_NUMBER = define(
  'extension',
  'line-item-control-number',
  'Claim.item and ExplanationOfBenefit.item: the line item control number (837/835 REF*6R)',
);
export const EXT_LINE_MATCH = define(
  'extension',
  'remittance-line-match',
  'ExplanationOfBenefit.item: how the paid line was matched to its claim line',
);
export const EXT_CROSSOVER = define(
  'extension',
  'remittance-crossover',
  'ExplanationOfBenefit: the payer forwarded the claim to another payer (crossover)',
);
export const EXT_PAYMENT_METHOD = define(
  'extension',
  'remittance-payment-method',
  'PaymentReconciliation: the 835 BPR01 handling and BPR04 payment method codes',
);

// ----- Identifier systems ------------------------------------------------------------------------

export const ID_REMITTANCE = define(
  'identifier-system',
  'remittance',
  'PaymentReconciliation and the received 835: payer + trace number (TRN02), one remittance',
);
export const ID_REMITTANCE_AMOUNTS = define(
  'identifier-system',
  'remittance-amounts',
  "PaymentReconciliation: the remittance's amounts fingerprint (the same remittance re-sent has the same)",
);
/** Per tenant payer: `${ID_PAYER_CLAIM_NUMBER}/{payer}` (see payerClaimNumberSystem). */
export const ID_PAYER_CLAIM_NUMBER = define(
  'identifier-system',
  'payer-claim-number',
  "ExplanationOfBenefit: the payer's claim number (835 CLP07), one system per tenant payer (/{payer})",
);
export const ID_PATIENT_CONTROL_NUMBER = define(
  'identifier-system',
  'patient-control-number',
  'ExplanationOfBenefit: the patient control number (835 CLP01) the payment was sent under',
);
export const ID_PAYMENT_TRACE = define(
  'identifier-system',
  'payment-trace',
  'PaymentReconciliation and ExplanationOfBenefit: the check or EFT trace number (835 TRN02)',
);
export const ID_REMITTANCE_FILE = define(
  'identifier-system',
  'remittance-file',
  'DocumentReference: a received 835 file',
);
export const ID_TENANT_PAYER = define(
  'identifier-system',
  'tenant-payer',
  'Organization reference identifier: a tenant payer (config payers[].id)',
);

/** The identifier system of one tenant payer's claim numbers. */
export function payerClaimNumberSystem(payer: string): string {
  return `${ID_PAYER_CLAIM_NUMBER}/${payer}`;
}

// ----- External code systems remittance writes (not Dripline's) -----------------------------------

/** X12 code lists as CARIN Blue Button names them. */
export const CARC_SYSTEM = 'https://x12.org/codes/claim-adjustment-reason-codes';
export const RARC_SYSTEM = 'https://x12.org/codes/remittance-advice-remark-codes';
export const GROUP_CODE_SYSTEM = 'https://x12.org/codes/claim-adjustment-group-codes';
export const CLAIM_STATUS_SYSTEM = 'https://x12.org/codes/claim-status-codes-835';
/** FHIR adjudication categories, CARIN's extension of them, and CARIN's payment status. */
export const ADJUDICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/adjudication';
export const C4BB_ADJUDICATION_SYSTEM = 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication';
export const C4BB_PAYMENT_STATUS_SYSTEM =
  'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBPayerClaimPaymentStatusCode';
export const PAYMENT_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/payment-type';
export const CLAIM_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/claim-type';
export const HCPCS_SYSTEM = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
export const CPT_SYSTEM = 'http://www.ama-assn.org/go/cpt';
export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
