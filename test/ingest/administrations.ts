/**
 * What the ingest tests create at the sandbox EHR to make it notify: a new in-progress
 * administration in one of its seeded encounters (an event for the MedicationAdministration topic).
 */
import type { MedicationAdministration, MedicationRequest } from '@medplum/fhirtypes';
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
