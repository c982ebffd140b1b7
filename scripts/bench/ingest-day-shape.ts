/**
 * bench:ingest's day-shaped charge-capture phase (`charges-day`): the stream an infusion clinic's
 * EHR sends over a day, rather than the worst case of the `charges` phase (every notification a
 * visit of its own, coded in full). As in the sandbox day, a visit is three encounter changes
 * (arrived, in progress, finished) and two or three administrations: a diphenhydramine push, the
 * infliximab infusion, and for every third visit an ondansetron push — 16 notifications for 3
 * visits. Charge capture codes the visit when it finishes; the other changes find it unfinished.
 *
 * Every notification is a new version, as a real day's are (its changes hours apart): the phase
 * runs in waves, one change of every visit each (wave 1: every visit arrived; 2: in progress; 3-5:
 * the administrations; 6: finished). Before a wave of encounter changes the EHR makes them
 * (./ingest-ehr.ts, outside the timing); each wave is sent, closed loop, and drained — fetched back,
 * stored, charges recomputed — before the EHR makes the next. Were the waves to overlap, the worker
 * would fetch a later version for an earlier notification and the phase would do less than a day's
 * work. The rate is every notification over the waves' summed time (first send → both queues
 * drained), so the drains' tails count against it.
 */
import type { Encounter, Medication, MedicationAdministration } from '@medplum/fhirtypes';
import { officeEncounter, PATIENTS, VISIT_MEDICATION } from './ingest-load.ts';

/** The day-shaped phase's visits' ids start with this prefix. */
export const DAY_PREFIX = 'day';

export type DayStatus = 'arrived' | 'in-progress' | 'finished';

/** Notifications per 3 visits: 3 × 3 encounter changes and 2 + 2 + 3 administrations. */
const NOTIFICATIONS_PER_3_VISITS = 16;

/** The visits a phase of about `notifications` notifications has (at least 3). */
export function dayVisits(notifications: number): number {
  return Math.max(3, Math.round((3 * notifications) / NOTIFICATIONS_PER_3_VISITS));
}

/** The premedication and antiemetic the visits give beside infliximab (NDCs of the drug table). */
export const DAY_MEDICATIONS: readonly (Medication & { id: string })[] = [
  {
    resourceType: 'Medication',
    id: 'med-diphenhydramine',
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '63323-664-01' }] },
  },
  {
    resourceType: 'Medication',
    id: 'med-ondansetron',
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '0409-4759-01' }] },
  },
];

/**
 * Visit i's day: one visit per patient a day, going forward from 2026-11-27 — after every day of
 * the `charges` phase (which goes back from 2026-11-26), so no visit here is the same patient's
 * second visit that day (coded together with the other phase's: every change of it a full run).
 */
function dayOf(i: number): string {
  return new Date(Date.UTC(2026, 10, 27) + Math.floor(i / PATIENTS) * 86_400_000).toISOString().slice(0, 10);
}

/** Visit i's Encounter as the EHR holds it at `status`. */
export function dayEncounter(prefix: string, i: number, status: DayStatus): Encounter & { id: string } {
  const day = dayOf(i);
  return officeEncounter(`${prefix}-enc-${i}`, `pat-${i % PATIENTS}`, status, {
    start: `${day}T08:30:00Z`,
    ...(status === 'finished' ? { end: `${day}T11:30:00Z` } : {}),
  });
}

/** The administrations of visit i, in the order given: two, or three for every third visit. */
export function dayAdministrations(prefix: string, i: number): (MedicationAdministration & { id: string })[] {
  const day = dayOf(i);
  const given = (
    n: number,
    medication: string,
    start: string,
    end: string,
    dose: number,
    technique: 'push' | 'infusion',
  ): MedicationAdministration & { id: string } => ({
    resourceType: 'MedicationAdministration',
    id: `${prefix}-${i}-${n}`,
    status: 'completed',
    medicationReference: { reference: `Medication/${medication}` },
    subject: { reference: `Patient/pat-${i % PATIENTS}` },
    context: { reference: `Encounter/${prefix}-enc-${i}` },
    effectivePeriod: { start: `${day}T${start}:00Z`, end: `${day}T${end}:00Z` },
    performer: [{ actor: { reference: 'Practitioner/nurse-1' } }],
    dosage: {
      route: { coding: [{ system: 'http://snomed.info/sct', code: '47625008', display: 'Intravenous' }] },
      ...(technique === 'push'
        ? { method: { coding: [{ system: 'http://snomed.info/sct', code: '420620005', display: 'Push' }] } }
        : {}),
      dose: { value: dose, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
    },
  });
  const administrations = [
    given(0, 'med-diphenhydramine', '08:45', '08:47', 50, 'push'),
    given(1, VISIT_MEDICATION.id, '09:00', '11:00', 500, 'infusion'),
  ];
  if (i % 3 === 0) {
    administrations.push(given(2, 'med-ondansetron', '11:05', '11:08', 8, 'push'));
  }
  return administrations;
}

/** One wave: one change of every visit (./ingest-day-shape.ts header). */
export interface DayWave {
  readonly label: string;
  readonly focusType: 'Encounter' | 'MedicationAdministration';
  readonly ids: string[];
  /** The encounters' status the EHR sets before the wave (wave 1's is how the EHR was seeded). */
  readonly advanceTo?: DayStatus;
}

export function dayWaves(prefix: string, visits: number): DayWave[] {
  const all = Array.from({ length: visits }, (_, i) => i);
  const encounters = all.map((i) => `${prefix}-enc-${i}`);
  const administered = (n: number): string[] =>
    all.flatMap((i) =>
      dayAdministrations(prefix, i)
        .filter((_, k) => k === n)
        .map((a) => a.id),
    );
  return [
    { label: 'arrived', focusType: 'Encounter', ids: encounters },
    { label: 'in progress', focusType: 'Encounter', ids: encounters, advanceTo: 'in-progress' },
    { label: 'premedication', focusType: 'MedicationAdministration', ids: administered(0) },
    { label: 'infusion', focusType: 'MedicationAdministration', ids: administered(1) },
    { label: 'antiemetic', focusType: 'MedicationAdministration', ids: administered(2) },
    { label: 'finished', focusType: 'Encounter', ids: encounters, advanceTo: 'finished' },
  ];
}
