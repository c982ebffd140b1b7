/** A PAS request's inputs, as Dripline would gather them for one infusion order (fictional people, checksum-valid NPIs). */
import type { Coverage, MedicationRequest, Patient, Practitioner } from '@medplum/fhirtypes';
import type { PasRequestInput, RequestedService } from '../../../src/coverage/pas/request-bundle.ts';

export const FHIR_BASE = 'http://dripline.test/fhir';

export const patient: Patient & { id: string } = {
  resourceType: 'Patient',
  id: 'pat-1',
  meta: { versionId: '3', lastUpdated: '2026-11-30T10:00:00Z' },
  identifier: [{ system: 'https://ehr.test/sid/mrn', value: 'MRN1001' }],
  name: [{ family: 'Alvarez', given: ['Rosa'] }],
  gender: 'female',
  birthDate: '1961-04-12',
  address: [{ line: ['12 Oak St'], city: 'Columbus', state: 'OH', postalCode: '43215' }],
  telecom: [{ system: 'phone', value: '6145550111' }],
};

export const coverage: Coverage & { id: string } = {
  resourceType: 'Coverage',
  id: 'cov-1',
  status: 'active',
  subscriberId: 'W123456789',
  beneficiary: { reference: 'Patient/pat-1' },
  relationship: {
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }],
  },
  payor: [{ reference: 'Organization/payer-1', display: 'Buckeye Health Plan' }],
  period: { start: '2026-01-01' },
};

export const orderer: Practitioner & { id: string } = {
  resourceType: 'Practitioner',
  id: 'prac-1',
  identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1003000126' }],
  name: [{ family: 'Okafor', given: ['Chidi'], prefix: ['Dr.'] }],
};

export const order: MedicationRequest & { id: string } = {
  resourceType: 'MedicationRequest',
  id: 'mr-1',
  meta: { versionId: '1' },
  identifier: [{ system: 'https://ehr.test/sid/order', value: 'ORD-77' }],
  status: 'active',
  intent: 'order',
  medicationCodeableConcept: {
    coding: [
      { system: 'http://hl7.org/fhir/sid/ndc', code: '57894-0030-01', display: 'Remicade 100 mg vial' },
    ],
  },
  subject: { reference: 'Patient/pat-1' },
  authoredOn: '2026-11-28T14:05:00-05:00',
  requester: { reference: 'Practitioner/prac-1' },
  dosageInstruction: [
    {
      text: 'infliximab 5 mg/kg IV over 2 h, weeks 0, 2, 6',
      route: { coding: [{ system: 'http://snomed.info/sct', code: '47625008' }] },
      doseAndRate: [
        { doseQuantity: { value: 400, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } },
      ],
    },
  ],
};

export const billing = {
  name: 'Riverside Infusion Center',
  npi: '1234567893',
  taxonomy: '261QI0500X',
  taxId: '123456789',
  phone: '6145550100',
  address: { line: ['100 Main St'], city: 'Columbus', state: 'OH', postalCode: '43215' },
};

export const services: RequestedService[] = [
  {
    sequence: 1,
    code: 'J1745',
    codeSystem: 'hcpcs',
    units: 120,
    start: '2026-12-07',
    end: '2027-06-06',
    placeOfService: '11',
    serviceType: '1',
  },
];

export function requestInput(overrides: Partial<PasRequestInput> = {}): PasRequestInput {
  return {
    fhirBase: FHIR_BASE,
    tenant: 'clinic-a',
    claimId: 'pas-abc-1',
    transactionId: 'pas-abc-1',
    trace: 'PA0000001',
    now: '2026-12-04T15:00:00Z',
    claimType: 'professional',
    parties: {
      patient,
      coverage,
      payer: { id: 'buckeye', name: 'Buckeye Health Plan', payerId: 'BHP01' },
      requestor: billing,
      orderer,
      order,
    },
    transmission: {
      applicationSenderCode: 'DRIPLINE',
      applicationReceiverCode: 'BHP01',
      interchangeSenderId: '1234567893',
      interchangeReceiverId: 'BHP01',
    },
    diagnoses: ['K50.90', 'K50.012'],
    services,
    doses: 3,
    ...overrides,
  };
}
