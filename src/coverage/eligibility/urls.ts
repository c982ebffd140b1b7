/**
 * The canonical URLs and code systems eligibility and the patient estimate use: X12's code systems
 * (as Da Vinci PAS names them, https://codesystem.x12.org/005010/<element>), HL7's, and the few
 * Dripline defines. Dripline's own are kept in this one module until the project's contract module
 * gathers them.
 */

const DRIPLINE = 'https://dripline.dev/fhir';

/** Dripline's definitions for eligibility and estimates, one line of meaning each. */
export const ELIGIBILITY_URLS = {
  /** Identifier system of a CoverageEligibilityRequest's trace number (270 TRN02, echoed by the payer). */
  traceSystem: `${DRIPLINE}/sid/eligibility-trace`,
  /** Identifier system of Dripline's patient estimates (ExplanationOfBenefit, use predetermination). */
  estimateSystem: `${DRIPLINE}/sid/patient-estimate`,
  /** Extension (valueString) on an estimate's adjudication or item: the input it came from, in words. */
  estimateBasis: `${DRIPLINE}/StructureDefinition/estimate-basis`,
  /** Code system of the X12 messages Dripline keeps as DocumentReferences (codes 270, 271). */
  x12Message: `${DRIPLINE}/CodeSystem/x12-message`,
} as const;

/** X12 code lists, by the element they are defined for. */
export const X12_CODE_SYSTEMS = {
  /** 1365: service type codes (EQ01, EB03). */
  serviceType: 'https://codesystem.x12.org/005010/1365',
  /** 1390: eligibility or benefit information codes (EB01). */
  benefit: 'https://codesystem.x12.org/005010/1390',
  /** 615: time period qualifiers (EB06). */
  timePeriod: 'https://codesystem.x12.org/005010/615',
  /** 901: reject reason codes (AAA03). */
  rejectReason: 'https://codesystem.x12.org/005010/901',
} as const;

/** HL7 code systems the resources use. */
export const HL7_SYSTEMS = {
  benefitType: 'http://terminology.hl7.org/CodeSystem/benefit-type',
  benefitNetwork: 'http://terminology.hl7.org/CodeSystem/benefit-network',
  benefitUnit: 'http://terminology.hl7.org/CodeSystem/benefit-unit',
  benefitTerm: 'http://terminology.hl7.org/CodeSystem/benefit-term',
  adjudication: 'http://terminology.hl7.org/CodeSystem/adjudication',
  /** CARIN Blue Button adjudication codes (coinsurance, memberliability), as US payers' EOBs use them. */
  adjudicationUs: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication',
  claimType: 'http://terminology.hl7.org/CodeSystem/claim-type',
  informationCategory: 'http://terminology.hl7.org/CodeSystem/claiminformationcategory',
  processPriority: 'http://terminology.hl7.org/CodeSystem/processpriority',
  npi: 'http://hl7.org/fhir/sid/us-npi',
} as const;
