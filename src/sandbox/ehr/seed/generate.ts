/**
 * A realistic infusion-centre day as FHIR R4 data, for the sandbox EHR.
 *
 * `generateInfusionDay` is pure and deterministic: the same options give the same bytes, and the
 * seed only changes who gets which visit, names, weights, times, nurses and commercial carriers.
 * `reference` is what the EHR holds at the start of the day; `timeline` is what it writes during
 * the day, in time order, for the sandbox server to replay.
 *
 * What the day is made of is data in ../seed-data/ (the formulary, the centre's cast, clinical
 * codes, regimens, the day plan with its messy cases and deliberate errors, demographics); the code
 * beside this file turns it into FHIR: ./centre.ts and ./medications.ts the static resources,
 * ./patient.ts each patient's record, ./visit.ts each visit's orders and timeline.
 *
 * Sources: drugs, HCPCS codes, billing units, containers and the one verified NDC come from
 * ../shared/research/drug-table.md; time and setting rules from ../shared/research/coding-rules.md.
 * HCPCS, NDC and ICD-10-CM codes are public. No CPT descriptor text appears anywhere in the data.
 * All people, organisations and identifiers are fictional (NPIs are checksum-valid but invented).
 */
import type { Resource } from '@medplum/fhirtypes';
import { locations, organizations, practitioners } from './centre.ts';
import { PLAN } from '../seed-data/plan.ts';
import { REGIMENS } from '../seed-data/regimens.ts';
import { medications } from './medications.ts';
import type {
  DayContext,
  InfusionDay,
  PayerEnrollmentChange,
  Regimen,
  SeededError,
  TimelineStep,
} from './model.ts';
import { admitPatient } from './patient.ts';
import { addDays } from '../../../time/zone.ts';
import { makeClock, makeRng, nth } from './values.ts';
import { chartVisit } from './visit.ts';

export interface InfusionDayOptions {
  /** The calendar day, YYYY-MM-DD, in the centre's local time. */
  date: string;
  /** Patients with a visit today (default 36). Every setting, therapy class and messy case is present from 16. */
  patients?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /**
   * The centre's time zone: an IANA name (the sandbox passes its tenant's, America/New_York: the
   * centre is in Columbus, Ohio) or a fixed ±HH:MM offset (default '-05:00'). Times are written
   * with its offset at each instant.
   */
  timeZone?: string;
}

interface PendingStep {
  minute: number;
  seq: number;
  step: Omit<TimelineStep, 'at'>;
}

export function generateInfusionDay(options: InfusionDayOptions): InfusionDay {
  const { date, patients = 36, seed = 1, timeZone = '-05:00' } = options;
  if (!Number.isInteger(patients) || patients < 1 || patients > 999) {
    throw new Error('patients must be an integer from 1 to 999');
  }
  const clock = makeClock(date, timeZone);
  const rng = makeRng(seed);

  const reference: Resource[] = [...organizations(), ...locations(), ...practitioners(), ...medications()];
  const pending: PendingStep[] = [];
  let seq = 0;
  const day: DayContext = {
    date,
    seed,
    timeZone,
    rng,
    clock,
    shift: (days) => addDays(date, days),
    reference,
    emit: (minute, action, resource, note) => {
      // Each step carries its own snapshot, so later edits of the same object cannot leak into it.
      pending.push({
        minute,
        seq: seq++,
        step: { action, resource: structuredClone(resource), ...(note ? { note } : {}) },
      });
    },
    nurseLoad: { office: 0, hopd: 0, home: 0 },
    usedNames: new Set<string>(),
  };

  // Who gets which visit is the seed's choice; the plan fixes the mix.
  const entries = Array.from({ length: patients }, (_, i) => nth(PLAN, i % PLAN.length));
  const order = rng.shuffle(entries.map((_, i) => i));
  const seededErrors: SeededError[] = [];
  const payerEnrollment: PayerEnrollmentChange[] = [];
  // A coverage a payer ended "last month": its last day is the end of the month before the day's.
  const lastMonthEnd = addDays(`${date.slice(0, 8)}01`, -1);

  order.forEach((planIndex, i) => {
    const entry = nth(entries, planIndex);
    const n = i + 1;
    const regimen: Regimen = REGIMENS[entry.regimen];
    const patient = admitPatient(day, entry, entry.dx ?? regimen.dx, n);
    const encounter = chartVisit(day, entry, regimen, n, patient);
    seededErrors.push(...(entry.seeded ?? []).map((e) => ({ encounter, ...e })));
    const primary = patient.coverages[0];
    if (entry.coverageEndedAtPayer && primary) {
      payerEnrollment.push({ coverage: primary, status: 'terminated', ended: lastMonthEnd });
    }
  });

  pending.sort((a, b) => a.minute - b.minute || a.seq - b.seq);
  return {
    reference,
    timeline: pending.map(({ minute, step }) => ({ at: clock(minute), ...step })),
    seededErrors,
    payerEnrollment,
  };
}
