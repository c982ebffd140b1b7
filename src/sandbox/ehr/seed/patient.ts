/**
 * A patient of the day, as the EHR holds them before the visit: the Patient (drawn demographics,
 * a name no other patient of the day has), the spouse who holds a commercial coverage, the
 * Coverages the plan's payer mix gives, and the Conditions the regimen treats. Every draw comes
 * from the day's PRNG in a fixed order, so the same seed gives the same patient.
 */
import type {
  Condition,
  Coverage,
  Organization,
  Patient,
  Reference,
  RelatedPerson,
} from '@medplum/fhirtypes';
import { COMMERCIAL, PAYERS } from '../seed-data/cast.ts';
import { ACUTE_DX, DX, FEMALE_ONLY, MALE_ONLY } from '../seed-data/clinical-codes.ts';
import { FAMILY, GIVEN, PLACES, STREETS } from '../seed-data/demographics.ts';
import type { PlanEntry } from '../seed-data/plan.ts';
import type { DayContext, PayerKey, Rng } from './model.ts';
import { SYSTEMS } from './systems.ts';
import { addDays } from '../../../time/zone.ts';
import { coding, nth, pad, ref } from './values.ts';

/** What the visit needs to know of its patient. */
export interface DayPatient {
  readonly id: string;
  readonly given: string;
  readonly family: string;
  readonly weightKg: number;
  readonly bsa: number;
  /** The patient's Conditions, the first being the order's reason. */
  readonly reasons: Reference<Condition>[];
  /** The patient's Coverage ids, primary first. */
  readonly coverages: readonly string[];
}

/**
 * Draws patient number `n` for a plan entry treated for `dxCodes`, and adds their Patient,
 * spouse, Coverages and Conditions to the day's reference data.
 */
export function admitPatient(
  day: DayContext,
  entry: PlanEntry,
  dxCodes: readonly string[],
  n: number,
): DayPatient {
  const { patient, weightKg, bsa } = drawPatient(day, entry, dxCodes, n);
  day.reference.push(patient);
  const insurance = coverages(day, entry, patient, n);
  day.reference.push(...insurance);
  const conditions = diagnoses(day, dxCodes, n);
  day.reference.push(...conditions);
  const name = patient.name?.[0];
  return {
    id: patient.id ?? '',
    given: name?.given?.[0] ?? '',
    family: name?.family ?? '',
    weightKg,
    bsa,
    reasons: conditions.map((c) => ref<Condition>('Condition', c.id ?? '')),
    coverages: insurance.filter((r) => r.resourceType === 'Coverage').map((c) => c.id ?? ''),
  };
}

/** The Patient: age by payer, sex by diagnosis (else drawn), an unused name, weight and height. */
function drawPatient(
  day: DayContext,
  entry: PlanEntry,
  dxCodes: readonly string[],
  n: number,
): { patient: Patient; weightKg: number; bsa: number } {
  const { date, seed, rng, usedNames } = day;
  const pid = `pat-${pad(n)}`;
  const medicareAge = entry.payer.startsWith('medicare');
  const age = medicareAge ? rng.int(66, 88) : rng.int(24, 63);
  const gender: 'female' | 'male' = dxCodes.some((c) => FEMALE_ONLY.includes(c))
    ? 'female'
    : dxCodes.some((c) => MALE_ONLY.includes(c))
      ? 'male'
      : rng.next() < 0.55
        ? 'female'
        : 'male';
  let family = rng.pick(FAMILY);
  let given = rng.pick(GIVEN[gender]);
  while (usedNames.has(`${given} ${family}`) && usedNames.size < FAMILY.length * GIVEN[gender].length) {
    family = rng.pick(FAMILY);
    given = rng.pick(GIVEN[gender]);
  }
  usedNames.add(`${given} ${family}`);
  const birthDate = addDays(`${Number(date.slice(0, 4)) - age}-01-01`, rng.int(0, 364));
  const [city, postalCode] = rng.pick(PLACES);
  const weightKg = gender === 'female' ? rng.int(52, 95) : rng.int(64, 112);
  const heightCm = gender === 'female' ? rng.int(152, 175) : rng.int(165, 190);
  const bsa = Number(Math.sqrt((weightKg * heightCm) / 3600).toFixed(2));
  const patient: Patient = {
    resourceType: 'Patient',
    id: pid,
    active: true,
    identifier: [
      {
        use: 'usual',
        type: coding('http://terminology.hl7.org/CodeSystem/v2-0203', 'MR', 'Medical record number'),
        system: SYSTEMS.mrn,
        value: `E${String(4_100_000 + n * 7919 + seed * 13).padStart(7, '0')}`,
      },
    ],
    name: [{ use: 'official', family, given: [given] }],
    telecom: [
      { system: 'phone', value: `614-555-${pad(1000 + n * 37 + (seed % 50), 4).slice(-4)}`, use: 'home' },
    ],
    gender,
    birthDate,
    address: [
      {
        use: 'home',
        line: [`${rng.int(100, 9899)} ${rng.pick(STREETS)}`],
        city,
        state: 'OH',
        postalCode,
        country: 'US',
      },
    ],
  };
  return { patient, weightKg, bsa };
}

/**
 * The spouse who holds a commercial coverage (when one is recorded), then a Coverage per payer of
 * the entry's payer mix, in order of benefits.
 */
function coverages(
  day: DayContext,
  entry: PlanEntry,
  patient: Patient,
  n: number,
): (RelatedPerson | Coverage)[] {
  const { date, rng } = day;
  const pid = patient.id ?? '';
  const carrier = rng.pick(COMMERCIAL);
  const plans: PayerKey[] =
    entry.payer === 'medicare'
      ? ['medicare']
      : entry.payer === 'medicaid'
        ? ['medicaid']
        : entry.payer === 'commercial'
          ? [carrier]
          : entry.payer === 'medicare+medicaid'
            ? ['medicare', 'medicaid']
            : ['medicare', carrier];
  // (The draw is made for every commercial entry, so a forced spouse changes no other draw.)
  const spouseSubscriber =
    (entry.payer === 'commercial' && rng.next() < 0.35) || entry.spouseNotRecorded === true;
  const spouse = spouseSubscriber && !entry.spouseNotRecorded ? spouseOf(patient, n) : undefined;
  const out: (RelatedPerson | Coverage)[] = spouse ? [spouse] : [];
  plans.forEach((payerKey, k) => {
    const payer = PAYERS[payerKey];
    const isCommercial = COMMERCIAL.includes(payerKey);
    const subscriberId =
      payerKey === 'medicare'
        ? mbi(rng)
        : payerKey === 'medicaid'
          ? String(rng.int(100000, 999999)) + String(rng.int(100000, 999999))
          : `${payer.payerId.slice(0, 3)}${rng.int(10000000, 99999999)}${spouseSubscriber ? '02' : '01'}`;
    const coverage: Coverage = {
      resourceType: 'Coverage',
      id: `cov-${pad(n)}-${k + 1}`,
      status: 'active',
      identifier: [{ system: payerKey === 'medicare' ? SYSTEMS.mbi : SYSTEMS.memberId, value: subscriberId }],
      type: coding(SYSTEMS.payerType, payer.sopt[0], payer.sopt[1]),
      ...(spouseSubscriber && isCommercial
        ? spouse
          ? { subscriber: ref<RelatedPerson>('RelatedPerson', spouse.id ?? '') }
          : {}
        : { subscriber: ref<Patient>('Patient', pid) }),
      subscriberId,
      beneficiary: ref<Patient>('Patient', pid),
      relationship: coding(
        'http://terminology.hl7.org/CodeSystem/subscriber-relationship',
        spouseSubscriber && isCommercial ? 'spouse' : 'self',
        spouseSubscriber && isCommercial ? 'Spouse' : 'Self',
      ),
      period: { start: `${Number(date.slice(0, 4)) - (k === 0 ? 3 : 1)}-01-01` },
      payor: [ref<Organization>('Organization', payer.id, payer.name)],
      class: [
        payerKey === 'medicare'
          ? {
              type: coding('http://terminology.hl7.org/CodeSystem/coverage-class', 'plan'),
              value: 'PART-B',
              name: 'Medicare Part B',
            }
          : payerKey === 'medicaid'
            ? {
                type: coding('http://terminology.hl7.org/CodeSystem/coverage-class', 'plan'),
                value: 'OH-MCD-FFS',
                name: 'Ohio Medicaid',
              }
            : {
                type: coding('http://terminology.hl7.org/CodeSystem/coverage-class', 'group'),
                value: `GRP-${rng.int(10000, 99999)}`,
                name: `${payer.name} employer group`,
              },
      ],
      order: k + 1,
    };
    out.push(coverage);
  });

  return out;
}

/** One Condition per diagnosis code, onset weeks (acute) or years ago. */
function diagnoses(day: DayContext, dxCodes: readonly string[], n: number): Condition[] {
  const { rng } = day;
  const pid = `pat-${pad(n)}`;
  return dxCodes.map((code, k): Condition => {
    const id = `cond-${pad(n)}-${k + 1}`;
    const onsetDaysAgo = ACUTE_DX.includes(code) ? rng.int(2, 12) : rng.int(60, 1500);
    const condition: Condition = {
      resourceType: 'Condition',
      id,
      clinicalStatus: coding('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active', 'Active'),
      verificationStatus: coding(
        'http://terminology.hl7.org/CodeSystem/condition-ver-status',
        'confirmed',
        'Confirmed',
      ),
      category: [
        coding(
          'http://terminology.hl7.org/CodeSystem/condition-category',
          'problem-list-item',
          'Problem List Item',
        ),
      ],
      code: {
        coding: [{ system: SYSTEMS.icd10cm, code, display: DX[code] ?? code }],
        text: DX[code] ?? code,
      },
      subject: ref<Patient>('Patient', pid),
      onsetDateTime: day.shift(-onsetDaysAgo),
      recordedDate: day.shift(-(onsetDaysAgo - rng.int(0, Math.min(onsetDaysAgo - 1, 30)))),
    };
    return condition;
  });
}

/** Medicare Beneficiary Identifier shape: C A AN N A AN N A A N N (letters exclude S, L, O, I, B, Z). */
function mbi(rng: Rng): string {
  const L = 'ACDEFGHJKMNPQRTUVWXY';
  const N = '0123456789';
  const letter = (): string => nth(L.split(''), rng.int(0, L.length - 1));
  const digit = (min = 0): string => nth(N.split(''), rng.int(min, 9));
  const alnum = (): string => (rng.next() < 0.5 ? letter() : digit());
  return [
    digit(1),
    letter(),
    alnum(),
    digit(),
    letter(),
    alnum(),
    digit(),
    letter(),
    letter(),
    digit(),
    digit(),
  ].join('');
}

/**
 * The spouse who holds a patient's commercial coverage (Coverage.subscriber), drawn without the PRNG
 * so adding it changes nothing else of the day: a name from the other list, the same address, an
 * age near the patient's.
 */
function spouseOf(patient: Patient, n: number): RelatedPerson {
  const gender = patient.gender === 'female' ? 'male' : 'female';
  const given = nth(GIVEN[gender], (n * 7) % GIVEN[gender].length);
  return {
    resourceType: 'RelatedPerson',
    id: `rp-${pad(n)}`,
    active: true,
    patient: ref<Patient>('Patient', patient.id ?? ''),
    relationship: [coding('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'SPS', 'spouse')],
    name: [{ use: 'official', family: patient.name?.[0]?.family ?? '', given: [given] }],
    gender,
    birthDate: addDays(patient.birthDate ?? '1970-01-01', ((n * 131) % 1461) - 730),
    ...(patient.address ? { address: structuredClone(patient.address) } : {}),
  };
}
