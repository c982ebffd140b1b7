/** Small, realistic infusion-day resources for API tests (our own, not copied from any IG). */
export function patient(mrn: string, family = 'Alvarez'): any {
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14', value: mrn }],
    name: [{ family, given: ['Rosa'] }],
    gender: 'female',
    birthDate: '1958-04-12',
  };
}

export function encounter(
  patientId: string,
  start: string,
  end: string | undefined,
  status = 'finished',
): any {
  return {
    resourceType: 'Encounter',
    status,
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${patientId}` },
    period: { start, ...(end ? { end } : {}) },
  };
}

export function administration(patientId: string, encounterId: string, start: string, end: string): any {
  return {
    resourceType: 'MedicationAdministration',
    status: 'completed',
    medicationCodeableConcept: {
      coding: [
        { system: 'http://hl7.org/fhir/sid/ndc', code: '57894-0030-01', display: 'infliximab 100 mg vial' },
      ],
    },
    subject: { reference: `Patient/${patientId}` },
    context: { reference: `Encounter/${encounterId}` },
    effectivePeriod: { start, end },
    dosage: {
      route: {
        coding: [{ system: 'http://snomed.info/sct', code: '47625008', display: 'Intravenous route' }],
      },
      dose: { value: 400, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
    },
  };
}
