/**
 * The code systems, identifier systems and extensions the seeded day is written with: public ones
 * (NPI, NDC, ICD-10-CM, SNOMED CT, UCUM, HL7 v3), Dripline's own, and the sandbox EHR's identifier
 * namespaces (MRN, visit, order, member and payer ids).
 */
import { CS_ADMINISTRATION_TECHNIQUE, CS_CARE_SETTING } from '../../../contract/canonical.ts';

/** Code and identifier systems used in the data. */
export const SYSTEMS = {
  npi: 'http://hl7.org/fhir/sid/us-npi',
  ein: 'urn:oid:2.16.840.1.113883.4.4',
  mbi: 'http://hl7.org/fhir/sid/us-mbi',
  ndc: 'http://hl7.org/fhir/sid/ndc',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  snomed: 'http://snomed.info/sct',
  ucum: 'http://unitsofmeasure.org',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  roleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  placeOfService: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set',
  payerType: 'urn:oid:2.16.840.1.113883.3.221.5',
  nucc: 'http://nucc.org/provider-taxonomy',
  /** Dripline's own codes for the care setting of an encounter. */
  careSetting: CS_CARE_SETTING,
  /** Dripline's own codes for push / infusion / injection technique (dosage.method). */
  technique: CS_ADMINISTRATION_TECHNIQUE,
  mrn: 'https://sandbox.dripline.dev/ehr/sid/mrn',
  visitNumber: 'https://sandbox.dripline.dev/ehr/sid/visit-number',
  orderNumber: 'https://sandbox.dripline.dev/ehr/sid/order-number',
  memberId: 'https://sandbox.dripline.dev/ehr/sid/member-id',
  payerId: 'https://sandbox.dripline.dev/ehr/sid/payer-id',
} as const;
