/**
 * What the charge-capture tests share: a finished office visit (the Encounter whose setting,
 * Dripline's care-setting code, makes its group codable), the clinic's drug and insured patients,
 * and a worker whose clock runs a second ahead (so a job runs at its enqueue time).
 */
import type { Encounter, Medication, MedicationAdministration } from '@medplum/fhirtypes';
import { ChargeCaptureWorker } from '../../src/charges/capture.ts';
import type { ChargeCaptureDeps } from '../../src/charges/capture.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import { createLogger } from '../../src/logger.ts';
import type { Store, TenantId } from '../../src/store/port.ts';

export function officeVisit(patient: string, start: string, end: string): Encounter {
  return {
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
    subject: { reference: `Patient/${patient}` },
    period: { start, end },
  };
}

/** An office visit the EHR has not finished: `status`, its period started and without an end. */
export function unfinishedVisit(patient: string, start: string, status: Encounter['status']): Encounter {
  return { ...officeVisit(patient, start, start), status, period: { start } };
}

/** Infliximab 500 mg IV (Medication/infliximab) given to `patient` at `encounter`. */
export function infusion(
  id: string,
  encounter: string,
  patient: string,
  start: string,
  end: string,
): MedicationAdministration {
  return {
    resourceType: 'MedicationAdministration',
    id,
    status: 'completed',
    medicationReference: { reference: 'Medication/infliximab' },
    subject: { reference: `Patient/${patient}` },
    context: { reference: `Encounter/${encounter}` },
    effectivePeriod: { start, end },
    dosage: {
      route: { coding: [{ system: 'http://snomed.info/sct', code: '47625008' }] },
      dose: { value: 500, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
    },
  };
}

/**
 * Stores `patient`'s finished office visit `visit.id` (`visit.start`–`visit.end`) and its
 * infliximab infusion `given.id` (`given.start`–`given.end`).
 */
export async function storeVisitWithInfusion(
  store: Store,
  tenant: TenantId,
  patient: string,
  visit: { readonly id: string; readonly start: string; readonly end: string },
  given: { readonly id: string; readonly start: string; readonly end: string },
): Promise<void> {
  await store.resources.create(tenant, officeVisit(patient, visit.start, visit.end), { id: visit.id });
  await store.resources.create(tenant, infusion(given.id, visit.id, patient, given.start, given.end), {
    id: given.id,
  });
}

/** Medication/infliximab (by its NDC), and each patient with an active commercial coverage. */
export async function seedClinic(store: Store, tenant: TenantId, patients: readonly string[]): Promise<void> {
  const infliximab: Medication = {
    resourceType: 'Medication',
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '57894-0030-01' }] },
  };
  await store.resources.create(tenant, infliximab, { id: 'infliximab' });
  for (const patient of patients) {
    await store.resources.create(
      tenant,
      { resourceType: 'Patient', name: [{ family: patient }] },
      { id: patient },
    );
    await store.resources.create(tenant, {
      resourceType: 'Coverage',
      status: 'active',
      beneficiary: { reference: `Patient/${patient}` },
      payor: [{ display: 'Commercial payer' }],
    });
  }
}

/** A charge-capture worker over `store`, silent, its clock a second ahead of the enqueues. */
export function captureWorker(
  store: Store,
  options: Pick<ChargeCaptureDeps, 'batchSize' | 'pollMs' | 'planningThread'> = {},
): ChargeCaptureWorker {
  return new ChargeCaptureWorker({
    store,
    tables: loadCodingTables(),
    logger: createLogger('silent'),
    publicUrl: 'http://dripline.test',
    now: () => new Date(Date.now() + 1_000),
    ...options,
  });
}
