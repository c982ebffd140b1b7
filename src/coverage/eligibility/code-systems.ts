/**
 * The code systems others define that eligibility and the patient estimate use: X12's (as Da Vinci
 * PAS names them, https://codesystem.x12.org/005010/<element>) and HL7's. Dripline's own URLs are
 * in src/contract/eligibility.ts.
 */

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
