/**
 * A finished office visit as the charge-capture tests store it: the Encounter whose setting
 * (Dripline's care-setting code) makes its group codable.
 */
import type { Encounter } from '@medplum/fhirtypes';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';

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
