/**
 * What the ingest tests create at the sandbox EHR to make it notify: a new in-progress
 * administration in one of its seeded encounters (an event for the MedicationAdministration topic).
 */
import type { Encounter, MedicationAdministration, MedicationRequest } from '@medplum/fhirtypes';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';

export async function newAdministration(
  ehr: SandboxEhr,
  overrides: Partial<MedicationAdministration> = {},
): Promise<MedicationAdministration> {
  const template = (await ehr.listResources('MedicationRequest'))[0] as MedicationRequest;
  const administration: MedicationAdministration = {
    resourceType: 'MedicationAdministration',
    status: 'in-progress',
    subject: template.subject,
    ...(template.encounter ? { context: template.encounter } : {}),
    ...(template.medicationReference ? { medicationReference: template.medicationReference } : {}),
    request: { reference: `MedicationRequest/${template.id}` },
    effectivePeriod: { start: '2026-11-26T09:00:00-05:00' },
  };
  return ehr.createResource({ ...administration, ...overrides });
}

/**
 * A new in-progress visit at the sandbox EHR for the patient of its first order (the patient
 * `newAdministration` gives), starting at `start`: pass `{ context }` of it to `newAdministration`.
 */
export async function newVisit(ehr: SandboxEhr, start: string): Promise<Encounter> {
  const order = (await ehr.listResources('MedicationRequest'))[0] as MedicationRequest;
  return ehr.createResource<Encounter>({
    resourceType: 'Encounter',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: order.subject,
    period: { start },
  });
}
