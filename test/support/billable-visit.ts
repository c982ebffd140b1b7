import type { ChargeItem, Encounter } from '@medplum/fhirtypes';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import type { Store } from '../../src/store/port.ts';

/**
 * Stores a finished office visit of `patient` from `start` to `end` with one billable charge for
 * it (a chemotherapy infusion's first hour), as charge capture leaves a visit ready to bill.
 */
export async function storeBillableOfficeVisit(
  store: Pick<Store, 'resources'>,
  tenant: string,
  visit: { readonly id: string; readonly patient: string; readonly start: string; readonly end: string },
): Promise<void> {
  const { id, patient, start, end } = visit;
  const encounter: Encounter = {
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
    subject: { reference: `Patient/${patient}` },
    period: { start, end },
  };
  const charge: ChargeItem = {
    resourceType: 'ChargeItem',
    id: `charge-${id}`,
    status: 'billable',
    code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '96413' }] },
    subject: { reference: `Patient/${patient}` },
    context: { reference: `Encounter/${id}` },
    occurrenceDateTime: start.slice(0, 10),
  };
  await store.resources.create(tenant, encounter, { id });
  await store.resources.create(tenant, charge, { id: charge.id });
}
