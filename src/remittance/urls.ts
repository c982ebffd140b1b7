/**
 * The canonical URLs and code systems remittance posting defines (kept together until the
 * project's contract module gathers every Dripline URL), and the external ones it writes.
 */

const BASE = 'https://dripline.dev/fhir';

/** Extension on Claim: what the payer did with it — paid, partially-paid, denied, reversed (the latest posted payment). */
export const EXT_CLAIM_PAYMENT_STATUS = `${BASE}/StructureDefinition/claim-payment-status`;
/** Extension on ExplanationOfBenefit: the X12 claim status code (CLP02) it was posted from. */
export const EXT_CLAIM_STATUS_CODE = `${BASE}/StructureDefinition/remittance-claim-status`;
/** Extension on ExplanationOfBenefit: the PaymentReconciliation (remittance) it came in. */
export const EXT_REMITTANCE = `${BASE}/StructureDefinition/remittance`;
/** Extension on ExplanationOfBenefit: the EOB a reversal (CLP02 = 22) takes back. */
export const EXT_REVERSES = `${BASE}/StructureDefinition/remittance-reverses`;
/** Extension on ExplanationOfBenefit (and its items): RARC remark codes (valueCoding). */
export const EXT_REMARK = `${BASE}/StructureDefinition/remittance-remark`;
/** Extension on ExplanationOfBenefit.item: the line item control number (REF*6R) the payer echoed. */
export const EXT_LINE_ITEM_CONTROL_NUMBER = `${BASE}/StructureDefinition/line-item-control-number`;
/** Extension on ExplanationOfBenefit.item: how the line was matched to the claim's item. */
export const EXT_LINE_MATCH = `${BASE}/StructureDefinition/remittance-line-match`;
/** Extension on ExplanationOfBenefit: the payer forwarded the claim to another payer (crossover). */
export const EXT_CROSSOVER = `${BASE}/StructureDefinition/remittance-crossover`;
/** Extension on PaymentReconciliation: BPR01 handling and BPR04 method codes. */
export const EXT_PAYMENT_METHOD = `${BASE}/StructureDefinition/remittance-payment-method`;

/** Identifier system of a remittance (payer + trace number), on PaymentReconciliation and the file record. */
export const REMITTANCE_KEY_SYSTEM = `${BASE}/sid/remittance`;
/** Identifier system of a remittance's amounts fingerprint (the same remittance sent again has the same). */
export const REMITTANCE_AMOUNTS_SYSTEM = `${BASE}/sid/remittance-amounts`;
/**
 * Identifier system of the payer's claim number (CLP07), per tenant payer:
 * `${PAYER_CLAIM_NUMBER_SYSTEM}/{payer}`. Declared by the claim workflow, which reads it back for
 * corrected and void claims (REF*F8).
 */
export { PAYER_CLAIM_NUMBER_SYSTEM } from '../claims/workflow/corrections.ts';
/** Identifier system of the patient control number (CLP01) a claim payment was sent under. */
export const PATIENT_CONTROL_NUMBER_SYSTEM = `${BASE}/sid/patient-control-number`;
/** Identifier system of the check or EFT trace number (TRN02). */
export const PAYMENT_TRACE_SYSTEM = `${BASE}/sid/payment-trace`;
/** Identifier system of a received 835 file (DocumentReference). */
export const REMITTANCE_FILE_SYSTEM = `${BASE}/sid/remittance-file`;
/** Identifier system of tenant payers (config `payers[].id`). */
export const TENANT_PAYER_SYSTEM = `${BASE}/sid/tenant-payer`;
/** Work item (Task) code of the unmatched-remittance queue. */
export const UNMATCHED_TASK = { code: 'remittance-unmatched', text: 'remittance to match' } as const;

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
