/**
 * A follow-up infusion as the sandbox EHR charts it: a patient's finished visit repeated later (a
 * new Encounter and a copy of each completed administration, every instant moved by the same
 * amount), written to the EHR like any charting, so its subscriptions notify Dripline.
 */
import type { Encounter, MedicationAdministration } from '@medplum/fhirtypes';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';

export interface FollowUpVisit {
  /** "Encounter/<id>" of the follow-up. */
  readonly encounter: string;
  /** The visit it repeats. */
  readonly repeats: Encounter;
  /** How many administrations were charted. */
  readonly administrations: number;
}

/** Charts `id` at the EHR: the patient's first finished top-level visit, `shiftMs` later. */
export async function chartFollowUpVisit(
  ehr: SandboxEhr,
  patient: string,
  options: { readonly id: string; readonly shiftMs: number },
): Promise<FollowUpVisit> {
  const { id, shiftMs } = options;
  const encounters = (await ehr.listResources('Encounter')) as Encounter[];
  const visit = encounters.find(
    (e) => e.subject?.reference === patient && e.status === 'finished' && !e.partOf,
  );
  if (!visit) {
    throw new Error(`no finished visit of ${patient} at the EHR`);
  }
  const shift = (iso: string | undefined): string | undefined =>
    iso === undefined ? undefined : new Date(Date.parse(iso) + shiftMs).toISOString();
  const period = { start: shift(visit.period?.start)!, end: shift(visit.period?.end)! };
  const followUp: Encounter = {
    ...structuredClone(visit),
    id,
    identifier: [{ system: 'https://sandbox.example/visit', value: id.toUpperCase() }],
    period,
    statusHistory: [],
    location: (visit.location ?? []).map((l) => ({ ...l, period })),
  };
  delete followUp.meta;
  await ehr.createResource(followUp);
  const given = ((await ehr.listResources('MedicationAdministration')) as MedicationAdministration[]).filter(
    (a) => a.context?.reference === `Encounter/${visit.id}` && a.status === 'completed',
  );
  for (const [i, a] of given.entries()) {
    const copy: MedicationAdministration = {
      ...structuredClone(a),
      id: `ma-${id}-${i + 1}`,
      context: { reference: `Encounter/${id}` },
      ...(a.effectivePeriod
        ? {
            effectivePeriod: {
              start: shift(a.effectivePeriod.start)!,
              ...(a.effectivePeriod.end ? { end: shift(a.effectivePeriod.end)! } : {}),
            },
          }
        : {}),
      ...(a.effectiveDateTime ? { effectiveDateTime: shift(a.effectiveDateTime)! } : {}),
    };
    delete copy.meta;
    delete copy.identifier;
    await ehr.createResource(copy);
  }
  return { encounter: `Encounter/${id}`, repeats: visit, administrations: given.length };
}
