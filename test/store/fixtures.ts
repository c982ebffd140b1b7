/**
 * Realistic FHIR R4 resources for the storage contract suite (infusion-billing flavoured).
 * Every factory returns a fresh object; callers pass what the test asserts on.
 */
import type {
  AuditEvent,
  Claim,
  Coverage,
  Encounter,
  MedicationAdministration,
  Organization,
  Patient,
  Period,
} from '@medplum/fhirtypes';

export const MRN_SYSTEM = 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14';
export const MEMBER_SYSTEM = 'http://payer.example.org/fhir/sid/member-id';
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

export function patient(options: {
  mrn: string;
  family?: string;
  given?: string[];
  birthDate?: string;
  gender?: Patient['gender'];
}): Patient {
  return {
    resourceType: 'Patient',
    meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] },
    identifier: [
      {
        use: 'usual',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        system: MRN_SYSTEM,
        value: options.mrn,
      },
    ],
    active: true,
    name: [{ use: 'official', family: options.family ?? 'Nguyen', given: options.given ?? ['Anh'] }],
    gender: options.gender ?? 'female',
    birthDate: options.birthDate ?? '1968-04-12',
    address: [{ line: ['1200 Infusion Way'], city: 'Springfield', state: 'IL', postalCode: '62704' }],
  };
}

export function encounter(options: {
  patientId: string;
  period?: Period;
  status?: Encounter['status'];
  classCode?: string;
  visitNumber?: string;
}): Encounter {
  return {
    resourceType: 'Encounter',
    ...(options.visitNumber
      ? { identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5.99999.2', value: options.visitNumber }] }
      : {}),
    status: options.status ?? 'finished',
    class: { system: ACT_CODE_SYSTEM, code: options.classCode ?? 'AMB', display: 'ambulatory' },
    type: [
      { coding: [{ system: 'http://snomed.info/sct', code: '386472008', display: 'Infusion therapy' }] },
    ],
    subject: { reference: `Patient/${options.patientId}` },
    ...(options.period ? { period: options.period } : {}),
    serviceProvider: { reference: 'Organization/infusion-center-1' },
  };
}

export function medicationAdministration(options: {
  patientId: string;
  encounterId: string;
  effectivePeriod: Period;
  rxnorm?: string;
  status?: MedicationAdministration['status'];
}): MedicationAdministration {
  return {
    resourceType: 'MedicationAdministration',
    status: options.status ?? 'completed',
    medicationCodeableConcept: {
      coding: [{ system: RXNORM, code: options.rxnorm ?? '1791701', display: 'infliximab 100 MG Injection' }],
    },
    subject: { reference: `Patient/${options.patientId}` },
    context: { reference: `Encounter/${options.encounterId}` },
    effectivePeriod: options.effectivePeriod,
    dosage: {
      route: {
        coding: [{ system: 'http://snomed.info/sct', code: '47625008', display: 'Intravenous route' }],
      },
      dose: { value: 400, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
      rateQuantity: { value: 125, unit: 'mL/h', system: 'http://unitsofmeasure.org', code: 'mL/h' },
    },
  };
}

export function organization(name: string, npi: string): Organization {
  return {
    resourceType: 'Organization',
    identifier: [{ system: NPI_SYSTEM, value: npi }],
    active: true,
    name,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'ins' }] }],
  };
}

export function coverage(options: { patientId: string; payorId: string; memberId: string }): Coverage {
  return {
    resourceType: 'Coverage',
    identifier: [{ system: MEMBER_SYSTEM, value: options.memberId }],
    status: 'active',
    type: {
      coding: [{ system: ACT_CODE_SYSTEM, code: 'PPO', display: 'preferred provider organization policy' }],
    },
    beneficiary: { reference: `Patient/${options.patientId}` },
    subscriber: { reference: `Patient/${options.patientId}` },
    relationship: { coding: [{ code: 'self' }] },
    payor: [{ reference: `Organization/${options.payorId}` }],
  };
}

export function claim(options: {
  patientId: string;
  encounterId: string;
  coverageId: string;
  billablePeriod: Period;
  created: string;
  claimNumber: string;
}): Claim {
  return {
    resourceType: 'Claim',
    identifier: [{ system: 'urn:dripline:claim', value: options.claimNumber }],
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }] },
    use: 'claim',
    patient: { reference: `Patient/${options.patientId}` },
    billablePeriod: options.billablePeriod,
    created: options.created,
    provider: { reference: 'Organization/infusion-center-1' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/${options.coverageId}` } }],
    item: [
      {
        sequence: 1,
        productOrService: {
          coding: [
            { system: 'http://www.ama-assn.org/go/cpt', code: '96413', display: 'Chemo IV infusion 1 hr' },
          ],
        },
        servicedPeriod: options.billablePeriod,
        encounter: [{ reference: `Encounter/${options.encounterId}` }],
        quantity: { value: 1 },
        unitPrice: { value: 412.5, currency: 'USD' },
      },
    ],
  };
}

/** A REST AuditEvent of a device reading `whats` (references, e.g. `Patient/a`). */
export function auditEvent(id: string, whats: readonly string[]): AuditEvent & { id: string } {
  return {
    resourceType: 'AuditEvent',
    id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    recorded: '2026-03-01T10:00:00.000Z',
    agent: [{ who: { reference: 'Device/d1' }, requestor: true }],
    source: { observer: { display: 'test' } },
    entity: whats.map((reference) => ({ what: { reference } })),
  };
}
