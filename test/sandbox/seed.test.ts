/** The sandbox EHR's infusion day: valid R4, internally consistent, deterministic, and messy where it should be. */
import { describe, expect, test, beforeAll } from '@jest/globals';
import { validateResource } from '@medplum/core';
import type {
  Condition,
  Coverage,
  Encounter,
  MedicationAdministration,
  Organization,
  Patient,
  RelatedPerson,
  Resource,
} from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { MIN_PATIENTS_FOR_FULL_COVERAGE } from '../../src/sandbox/ehr/seed-data/plan.ts';
import { THERAPIES } from '../../src/sandbox/ehr/seed-data/therapies.ts';
import { generateInfusionDay } from '../../src/sandbox/ehr/seed/generate.ts';
import { ndcTo11 } from '../../src/sandbox/ehr/seed/medications.ts';
import type { InfusionDay, TherapyClass } from '../../src/sandbox/ehr/seed/model.ts';
import { SYSTEMS } from '../../src/sandbox/ehr/seed/systems.ts';
import { indexResource } from '../../src/store/search-index.ts';
import { RULE_IDS } from '../../src/claims/scrub/rules.ts';
import { ELIGIBILITY_RULE_IDS } from '../../src/coverage/eligibility/findings.ts';
import { EXT_DISCARDED_AMOUNT, EXT_PRIMARY_SERVICE } from '../../src/contract/canonical.ts';

const DATE = '2026-03-10';
const key = (r: Resource): string => `${r.resourceType}/${r.id}`;
const ms = (s: string): number => Date.parse(s);

/** Replays the timeline over the reference data, checking ids and references as a server would. */
function replay(day: InfusionDay): { final: Map<string, Resource>; problems: string[] } {
  const final = new Map<string, Resource>();
  const problems: string[] = [];
  for (const r of day.reference) {
    if (final.has(key(r))) {
      problems.push(`duplicate reference id ${key(r)}`);
    }
    final.set(key(r), r);
  }
  const checkRefs = (r: Resource, where: string): void => {
    for (const target of referencesIn(r)) {
      if (!final.has(target)) {
        problems.push(`${where}: ${key(r)} → ${target} does not resolve`);
      }
    }
  };
  day.reference.forEach((r) => checkRefs(r, 'reference'));
  for (const [i, step] of day.timeline.entries()) {
    const k = key(step.resource);
    if (step.action === 'create' && final.has(k)) {
      problems.push(`step ${i}: create of existing ${k}`);
    }
    if (step.action === 'update' && !final.has(k)) {
      problems.push(`step ${i}: update of unknown ${k}`);
    }
    final.set(k, step.resource);
    checkRefs(step.resource, `step ${i}`);
  }
  return { final, problems };
}

function referencesIn(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.flatMap(referencesIn);
  }
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      k === 'reference' && typeof v === 'string' ? [v] : referencesIn(v),
    );
  }
  return [];
}

const ofType = <T extends Resource>(final: Map<string, Resource>, type: T['resourceType']): T[] =>
  [...final.values()].filter((r): r is T => r.resourceType === type);

const productOf = (ma: MedicationAdministration) => {
  const code = ma.medicationReference?.reference?.replace('Medication/med-', '');
  const ndc = ma.medicationCodeableConcept?.coding?.find((c) => c.system === SYSTEMS.ndc)?.code;
  return THERAPIES.find((t) => t.key === code || t.ndc === ndc);
};

const periodEnd = (ma: MedicationAdministration): number | undefined =>
  ma.effectivePeriod?.end ? ms(ma.effectivePeriod.end) : undefined;
const periodStart = (ma: MedicationAdministration): number =>
  ms(ma.effectivePeriod?.start ?? ma.effectiveDateTime ?? '');
const minutes = (ma: MedicationAdministration): number | undefined => {
  const end = periodEnd(ma);
  return end === undefined ? undefined : (end - periodStart(ma)) / 60_000;
};
const settingOf = (e: Encounter): string | undefined =>
  e.type?.[0]?.coding?.find((c) => c.system === SYSTEMS.careSetting)?.code;

beforeAll(() => {
  loadFhirDefinitions();
});

describe('default day', () => {
  const day = generateInfusionDay({ date: DATE });
  const { final, problems } = replay(day);
  const administrations = ofType<MedicationAdministration>(final, 'MedicationAdministration');
  const encounters = ofType<Encounter>(final, 'Encounter');

  test('every resource and every timeline version validates as base R4', () => {
    const failures: string[] = [];
    for (const r of [...day.reference, ...day.timeline.map((s) => s.resource)]) {
      try {
        validateResource(r);
      } catch (err) {
        failures.push(`${key(r)}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    // The validator is live: a broken administration is refused.
    const broken = {
      ...administrations[0]!,
      status: undefined,
      dosage: { route: administrations[0]!.dosage?.route },
    };
    expect(() => validateResource(broken as unknown as Resource)).toThrow();
  });

  test('ids are unique, references resolve at replay time, and creates/updates are consistent', () => {
    expect(problems).toEqual([]);
    for (const r of final.values()) {
      expect(r.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    }
    expect(ofType<Patient>(final, 'Patient').map((p) => p.id)).toContain('pat-007');
    expect(encounters.map((e) => e.id)).toContain('enc-007-1');
    expect(administrations.every((a) => /^ma-\d{3}-1-\d+$/.test(a.id ?? ''))).toBe(true);
  });

  test('the reference set holds the static types; the timeline only writes encounters and administrations', () => {
    const refTypes = new Set(day.reference.map((r) => r.resourceType));
    for (const t of [
      'Organization',
      'Location',
      'Practitioner',
      'Patient',
      'Coverage',
      'Condition',
      'Medication',
      'MedicationRequest',
    ]) {
      expect(refTypes).toContain(t);
    }
    expect(day.reference.filter((r) => r.resourceType === 'Patient')).toHaveLength(36);
    expect(new Set(day.timeline.map((s) => s.resource.resourceType))).toEqual(
      new Set(['Encounter', 'MedicationAdministration']),
    );
    // The only encounters present at start of day are home-infusion episodes begun earlier.
    for (const e of day.reference.filter((r): r is Encounter => r.resourceType === 'Encounter')) {
      expect(e.class.code).toBe('HH');
      expect(e.status).toBe('in-progress');
      expect(ms(e.period?.start ?? '')).toBeLessThan(ms(`${DATE}T00:00:00-05:00`));
    }
  });

  test('the timeline is in non-decreasing time order, with the centre offset, on the day (and just past midnight)', () => {
    const times = day.timeline.map((s) => ms(s.at));
    expect(times.every((t) => !Number.isNaN(t))).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(day.timeline.every((s) => s.at.endsWith('-05:00'))).toBe(true);
    expect(times[0]).toBeGreaterThanOrEqual(ms(`${DATE}T06:00:00-05:00`));
    expect(times.at(-1)).toBeLessThan(ms(`${DATE}T23:59:59-05:00`) + 3 * 3600_000);
  });

  test('encounters: every visit ends finished, after its administrations, with the right class and setting', () => {
    const visits = encounters.filter((e) => settingOf(e) !== 'home-infusion-episode');
    expect(visits).toHaveLength(36);
    for (const e of visits) {
      expect(e.status).toBe('finished');
      expect(e.statusHistory?.map((h) => h.status)).toEqual(['arrived', 'in-progress']);
      const end = ms(e.period?.end ?? '');
      expect(end).toBeGreaterThan(ms(e.period?.start ?? ''));
      expect(e.reasonReference?.length).toBeGreaterThan(0);
      expect(e.serviceProvider?.reference).toMatch(/^Organization\//);
      expect(e.participant?.length).toBe(2);
      for (const ma of administrations.filter((a) => a.context?.reference === `Encounter/${e.id}`)) {
        expect(periodEnd(ma) ?? periodStart(ma)).toBeLessThanOrEqual(end);
        expect(periodStart(ma)).toBeGreaterThanOrEqual(ms(e.period?.start ?? ''));
      }
      // Status transitions appear in the timeline: arrived → in-progress → finished.
      const statuses = day.timeline
        .filter((s) => key(s.resource) === key(e))
        .map((s) => (s.resource as Encounter).status);
      expect(statuses).toEqual(['arrived', 'in-progress', 'finished']);
    }
    const bySetting = (s: string) => visits.filter((e) => settingOf(e) === s);
    for (const e of bySetting('office')) {
      expect(e.class.code).toBe('AMB');
      expect(e.location?.[0]?.location.reference).toBe('Location/loc-office-infusion-suite');
    }
    for (const e of bySetting('hospital-outpatient')) {
      expect(e.class.code).toBe('AMB');
      expect(e.type?.[0]?.coding?.find((c) => c.system === SYSTEMS.placeOfService)?.code).toBe('22');
      expect(e.location?.[0]?.location.reference).toBe('Location/loc-hopd-infusion');
    }
    for (const e of bySetting('home-infusion-visit')) {
      expect(e.class.code).toBe('HH');
      const episode = final.get(e.partOf?.reference ?? '') as Encounter;
      expect(episode.class.code).toBe('HH');
      expect(settingOf(episode)).toBe('home-infusion-episode');
    }
    expect(bySetting('office').length).toBeGreaterThan(10);
    expect(bySetting('hospital-outpatient').length).toBeGreaterThan(5);
    expect(bySetting('home-infusion-visit').length).toBeGreaterThanOrEqual(4);
  });

  test('administration timing is realistic: pushes ≤ 15 min, timed infusions longer, sequential and concurrent runs', () => {
    const valid = administrations.filter((a) => a.status !== 'entered-in-error');
    for (const ma of valid) {
      const technique = ma.dosage?.method?.coding?.[0]?.code;
      const m = minutes(ma);
      if (technique === 'push') {
        expect(m).toBeLessThanOrEqual(15);
        expect(m).toBeGreaterThan(0);
      }
      if (technique === 'infusion' && m !== undefined) {
        expect(m).toBeGreaterThan(15);
      }
      if (technique === 'injection') {
        expect(ma.effectiveDateTime).toBeDefined();
        expect(['34206005', '78421000']).toContain(ma.dosage?.route?.coding?.[0]?.code);
      }
    }
    const byEncounter = new Map<string, MedicationAdministration[]>();
    for (const a of valid) {
      const k = a.context?.reference ?? '';
      byEncounter.set(k, [...(byEncounter.get(k) ?? []), a]);
    }
    const infusions = (list: MedicationAdministration[]) =>
      list.filter((a) => a.dosage?.method?.coding?.[0]?.code === 'infusion' && periodEnd(a) !== undefined);
    // Concurrent: two infusions overlapping in one encounter.
    const concurrent = [...byEncounter.values()].some((list) =>
      infusions(list).some((a) =>
        infusions(list).some(
          (b) => a !== b && periodStart(a) < periodEnd(b)! && periodStart(b) < periodEnd(a)!,
        ),
      ),
    );
    expect(concurrent).toBe(true);
    // Hydration before chemotherapy, then two chemo drugs in sequence.
    const hydrationThenChemo = [...byEncounter.values()].some((list) => {
      const hydration = list.find(
        (a) => productOf(a)?.therapyClass === 'hydration' && periodEnd(a) !== undefined,
      );
      const chemo = infusions(list).filter((a) => productOf(a)?.therapyClass === 'chemotherapy');
      return (
        hydration !== undefined &&
        chemo.length >= 2 &&
        chemo.every((c) => periodStart(c) >= periodEnd(hydration)!) &&
        periodStart(chemo[1]!) >= periodEnd(chemo[0]!)!
      );
    });
    expect(hydrationThenChemo).toBe(true);
    // A home infusion crosses midnight.
    const midnight = ms('2026-03-11T00:00:00-05:00');
    const crossing = valid.filter((a) => periodStart(a) < midnight && (periodEnd(a) ?? 0) > midnight);
    expect(crossing.length).toBeGreaterThanOrEqual(1);
    expect(crossing.every((a) => a.category?.coding?.[0]?.code === 'community')).toBe(true);
  });

  test('administrations carry the documentation a biller needs', () => {
    for (const ma of administrations) {
      expect(ma.subject.reference).toMatch(/^Patient\/pat-\d{3}$/);
      expect(ma.context?.reference).toMatch(/^Encounter\//);
      expect(ma.performer?.[0]?.actor.reference).toMatch(/^Practitioner\/prac-rn-/);
      expect(['47625008', '34206005', '78421000']).toContain(ma.dosage?.route?.coding?.[0]?.code);
      expect(productOf(ma)).toBeDefined();
      if (ma.dosage?.dose) {
        expect(ma.dosage.dose.system).toBe(SYSTEMS.ucum);
      }
    }
    // Both ways of naming the drug are exercised.
    expect(administrations.some((a) => a.medicationReference)).toBe(true);
    expect(
      administrations.some((a) => a.medicationCodeableConcept?.coding?.[0]?.system === SYSTEMS.ndc),
    ).toBe(true);
    // Documented waste on single-dose products only, in UCUM.
    const waste = administrations.filter((a) => a.extension?.some((e) => e.url === EXT_DISCARDED_AMOUNT));
    expect(waste.length).toBeGreaterThanOrEqual(3);
    for (const ma of waste) {
      const q = ma.extension?.find((e) => e.url === EXT_DISCARDED_AMOUNT)?.valueQuantity;
      expect(q?.system).toBe(SYSTEMS.ucum);
      expect(q?.value).toBeGreaterThan(0);
      expect(productOf(ma)?.singleDose).toBe(true);
    }
    // One primary-service flag, on an office visit.
    const primary = administrations.filter((a) =>
      a.extension?.some((e) => e.url === EXT_PRIMARY_SERVICE && e.valueBoolean === true),
    );
    expect(primary).toHaveLength(1);
    expect(settingOf(final.get(primary[0]!.context!.reference!) as Encounter)).toBe('office');
  });

  test('medications carry NDCs as packages show them, package size and container', () => {
    const meds = ofType(final, 'Medication');
    expect(meds.length).toBe(THERAPIES.length);
    const ndcs = meds.map(
      (m: any) => m.code.coding.find((c: any) => c.system === SYSTEMS.ndc).code as string,
    );
    for (const ndc of ndcs) {
      expect(ndc).toMatch(/^(\d{5}-\d{4}-\d{2}|\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d)$/);
      expect(ndcTo11(ndc).replaceAll('-', '')).toMatch(/^\d{11}$/);
    }
    expect(ndcs).toContain('57894-0030-01');
    expect(ndcs.some((n) => n.replaceAll('-', '').length === 10)).toBe(true);
    expect(ndcTo11('50242-051-21')).toBe('50242-0051-21');
    expect(ndcTo11('0517-2340-01')).toBe('00517-2340-01');
    for (const m of meds as any[]) {
      expect(m.amount.numerator.value).toBeGreaterThan(0);
      expect(m.amount.denominator.unit).toMatch(/vial|syringe|kit|bag|package/);
    }
  });

  test('payer mix: Medicare, Medicaid and several commercial plans, some patients with secondary coverage', () => {
    const coverages = ofType<Coverage>(final, 'Coverage');
    const payorIds = new Set(coverages.map((c) => c.payor[0]?.reference));
    expect(payorIds).toContain('Organization/org-medicare');
    expect(payorIds).toContain('Organization/org-medicaid-oh');
    const commercial = [...payorIds].filter((id) => {
      const org = final.get(id ?? '') as Organization;
      return org.type?.[0]?.coding?.[0]?.code === 'pay' && !/medicare|medicaid/i.test(org.name ?? '');
    });
    expect(commercial.length).toBeGreaterThanOrEqual(2);
    expect(coverages.filter((c) => c.order === 2).length).toBeGreaterThanOrEqual(2);
    const patients = ofType<Patient>(final, 'Patient');
    for (const pt of patients) {
      const own = coverages.filter((c) => c.beneficiary.reference === `Patient/${pt.id}`);
      expect(own.map((c) => c.order)).toEqual(own.map((_, i) => i + 1));
      expect(pt.identifier?.[0]?.type?.coding?.[0]?.code).toBe('MR');
    }
    // Medicare beneficiaries carry an MBI-shaped id.
    for (const c of coverages.filter((x) => x.payor[0]?.reference === 'Organization/org-medicare')) {
      expect(c.subscriberId).toMatch(
        /^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]{2}\d{2}$/,
      );
    }
  });

  test('providers and practitioners carry checksum-valid NPIs; diagnoses are ICD-10-CM; no CPT text', () => {
    const luhnNpi = (npi: string) => {
      const digits = `80840${npi}`.split('').map(Number).reverse();
      return (
        digits.reduce((sum, d, i) => sum + (i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0) % 10 === 0
      );
    };
    const npis = [...final.values()].flatMap((r: any) =>
      (r.identifier ?? []).filter((i: any) => i.system === SYSTEMS.npi).map((i: any) => i.value as string),
    );
    expect(npis.length).toBeGreaterThanOrEqual(3 + 16);
    expect(npis.every(luhnNpi)).toBe(true);
    for (const c of ofType<Condition>(final, 'Condition')) {
      expect(c.code?.coding?.[0]?.system).toBe(SYSTEMS.icd10cm);
      expect(c.code?.coding?.[0]?.code).toMatch(/^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$/);
    }
    const text = JSON.stringify(day);
    expect(text).not.toMatch(/ama-assn|\bCPT\b|\b96(3[67]\d|4\d\d)\b/);
  });

  test('data exercises the indexed search parameters', () => {
    const codesFor = (r: Resource) => new Set(indexResource(r).entries.map((e) => e.code));
    const ma = administrations.find((a) => a.medicationReference && a.effectivePeriod?.end)!;
    // `patient`, `encounter` and `date` are answered from the `subject`, `context` and
    // `effective-time` rows (ANSWERED_FROM in src/store/search-parameters.ts): no rows of their own.
    expect(codesFor(ma)).toEqual(
      new Set(['status', 'subject', 'context', 'effective-time', 'medication', 'request']),
    );
    const inline = administrations.find((a) => a.medicationCodeableConcept)!;
    expect(codesFor(inline)).toContain('code');
    const visit = encounters.find((e) => e.partOf)!;
    for (const c of [
      'status',
      'subject', // `patient` is answered from these rows
      'date',
      'class',
      'type',
      'location',
      'part-of',
      'service-provider',
      'identifier',
    ]) {
      expect(codesFor(visit)).toContain(c);
    }
    const coverage = ofType<Coverage>(final, 'Coverage').find((c) => c.subscriber)!;
    expect(codesFor(coverage)).toEqual(
      // `patient` is answered from the `beneficiary` rows.
      new Set(['identifier', 'status', 'beneficiary', 'subscriber', 'payor', 'type']),
    );
  });
});

/** Assertions on the messy cases and coverage that must hold for any seed at the documented minimum size. */
describe.each([
  { patients: 36, seed: 1 },
  { patients: 36, seed: 97 },
  { patients: MIN_PATIENTS_FOR_FULL_COVERAGE, seed: 5 },
])('coverage and messy cases ($patients patients, seed $seed)', ({ patients, seed }) => {
  const day = generateInfusionDay({ date: DATE, patients, seed });
  const { final, problems } = replay(day);
  const administrations = ofType<MedicationAdministration>(final, 'MedicationAdministration');
  const updatesOf = (id: string) =>
    day.timeline
      .filter((s) => s.action === 'update' && s.resource.id === id)
      .map((s) => s.resource as MedicationAdministration);

  test('integrity holds', () => {
    expect(problems).toEqual([]);
  });

  test('every setting, therapy class and payer type is present', () => {
    const settings = new Set(ofType<Encounter>(final, 'Encounter').map(settingOf));
    expect(settings).toEqual(
      new Set(['office', 'hospital-outpatient', 'home-infusion-visit', 'home-infusion-episode']),
    );
    const classes = new Set(administrations.map((a) => productOf(a)?.therapyClass));
    const all: TherapyClass[] = [
      'chemotherapy',
      'biologic',
      'immune-globulin',
      'iron',
      'anti-infective',
      'hydration',
      'supportive',
      'injection',
    ];
    expect([...classes].sort()).toEqual([...all].sort());
    const payerTypes = new Set(ofType<Coverage>(final, 'Coverage').map((c) => c.type?.coding?.[0]?.code));
    expect(payerTypes).toEqual(new Set(['1', '2', '5']));
    // A home episode opened today, and ongoing ones from earlier days.
    expect(
      day.timeline.some(
        (s) => s.action === 'create' && settingOf(s.resource as Encounter) === 'home-infusion-episode',
      ),
    ).toBe(true);
    expect(day.reference.some((r) => r.resourceType === 'Encounter')).toBe(true);
  });

  test('an IV administration without a stop time (start-only dateTime, and an open pump period)', () => {
    const dateTimeOnlyIv = administrations.filter(
      (a) =>
        a.status === 'completed' && a.effectiveDateTime && a.dosage?.route?.coding?.[0]?.code === '47625008',
    );
    expect(dateTimeOnlyIv).toHaveLength(1);
    const open = administrations.filter((a) => a.effectivePeriod && !a.effectivePeriod.end);
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(open.every((a) => a.status === 'in-progress')).toBe(true);
  });

  test('one administration corrected later in the day (same id, full new version, different stop time)', () => {
    const corrected = administrations.filter((a) => {
      const versions = updatesOf(a.id!);
      const ends = new Set(versions.map((v) => v.effectivePeriod?.end).filter(Boolean));
      return ends.size > 1;
    });
    expect(corrected).toHaveLength(1);
    const versions = updatesOf(corrected[0]!.id!);
    expect(minutes(versions.at(-1)!)).toBeGreaterThan(minutes(versions.at(-2)!)!);
    expect(versions.at(-1)).toEqual(corrected[0]);
    expect(versions.at(-1)!.dosage?.dose).toBeDefined();
  });

  test('one administration entered in error, a duplicate of a real one', () => {
    const voided = administrations.filter((a) => a.status === 'entered-in-error');
    expect(voided).toHaveLength(1);
    const v = voided[0]!;
    const twin = administrations.find(
      (a) =>
        a.id !== v.id &&
        a.context?.reference === v.context?.reference &&
        a.status === 'completed' &&
        productOf(a) === productOf(v),
    );
    expect(twin).toBeDefined();
  });

  test('one without a dose, one without a site, one without an order', () => {
    const noDose = administrations.filter((a) => a.dosage && !a.dosage.dose);
    expect(noDose).toHaveLength(1);
    expect(noDose[0]!.dosage?.rateQuantity).toBeDefined();
    const noSite = administrations.filter((a) => !a.dosage?.site);
    expect(noSite).toHaveLength(1);
    const noOrder = administrations.filter((a) => !a.request);
    expect(noOrder).toHaveLength(1);
    expect(noOrder[0]!.status).toBe('completed');
    // Every other request points at an order for the same patient.
    for (const a of administrations.filter((x) => x.request)) {
      expect((final.get(a.request!.reference!) as any).subject.reference).toBe(a.subject.reference);
    }
  });
});

describe('deliberate errors and subscribers', () => {
  test('the seeded errors name encounters of the day and rules that exist (scrubber rule ids, coding issue codes)', () => {
    const day = generateInfusionDay({ date: DATE });
    const encounters = new Set(
      day.timeline.filter((s) => s.resource.resourceType === 'Encounter').map((s) => s.resource.id),
    );
    expect(day.seededErrors.length).toBeGreaterThanOrEqual(10);
    const codingIssues = new Set([
      'missing-dose',
      'missing-stop-time',
      'missing-start-time',
      'missing-route',
    ]);
    for (const e of day.seededErrors) {
      expect(encounters.has(e.encounter)).toBe(true);
      if (e.caughtBy === 'scrub') {
        expect([...RULE_IDS, ...ELIGIBILITY_RULE_IDS] as readonly string[]).toContain(e.rule);
      } else {
        expect(codingIssues.has(e.rule)).toBe(true);
      }
      expect(e.what.length).toBeGreaterThan(10);
    }
    // The minimal full-coverage day already holds one of each kind.
    const small = generateInfusionDay({ date: DATE, patients: MIN_PATIENTS_FOR_FULL_COVERAGE });
    expect(new Set(small.seededErrors.map((e) => e.rule))).toEqual(
      new Set([
        'prior-auth',
        'doc-order',
        'missing-dose',
        'subscriber-missing',
        'missing-stop-time',
        'eligibility-inactive',
      ]),
    );
  });

  test('a spouse who holds a commercial coverage is a RelatedPerson of the patient; one such spouse was never recorded', () => {
    const day = generateInfusionDay({ date: DATE });
    const { final } = replay(day);
    const spouses = [...final.values()].filter((r): r is RelatedPerson => r.resourceType === 'RelatedPerson');
    const coverages = [...final.values()].filter((r): r is Coverage => r.resourceType === 'Coverage');
    const spouseCoverages = coverages.filter((c) => c.relationship?.coding?.[0]?.code === 'spouse');
    expect(spouses.length).toBeGreaterThan(0);
    expect(spouseCoverages.filter((c) => !c.subscriber)).toHaveLength(1);
    for (const c of spouseCoverages.filter((x) => x.subscriber)) {
      const spouse = final.get(c.subscriber?.reference ?? '') as RelatedPerson | undefined;
      expect(spouse?.patient.reference).toBe(c.beneficiary.reference);
      expect(spouse?.name?.[0]?.family).toBeTruthy();
    }
  });
});

describe('options and determinism', () => {
  test('same options → deep-equal output', () => {
    expect(generateInfusionDay({ date: DATE, seed: 7 })).toEqual(
      generateInfusionDay({ date: DATE, seed: 7 }),
    );
  });

  test('a different seed assigns visits to patients differently', () => {
    const assignment = (seed: number) => {
      const day = generateInfusionDay({ date: DATE, seed });
      return day.reference
        .filter((r) => r.resourceType === 'MedicationRequest')
        .map((r) => r.id!.replace(/-\d+$/, ''))
        .sort();
    };
    expect(assignment(1)).not.toEqual(assignment(2));
    const names = (seed: number) =>
      generateInfusionDay({ date: DATE, seed })
        .reference.filter((r): r is Patient => r.resourceType === 'Patient')
        .map((p) => p.name?.[0]?.family);
    expect(names(1)).not.toEqual(names(2));
  });

  test('patients, date and time zone options are honoured', () => {
    const day = generateInfusionDay({ date: '2026-12-31', patients: 20, timeZone: '-08:00' });
    expect(day.reference.filter((r) => r.resourceType === 'Patient')).toHaveLength(20);
    expect(day.timeline.every((s) => s.at.endsWith('-08:00'))).toBe(true);
    expect(day.timeline[0]!.at.startsWith('2026-12-31T')).toBe(true);
    // The midnight-crossing visit rolls over into the new year.
    expect(day.timeline.some((s) => s.at.startsWith('2027-01-01T'))).toBe(true);
    expect(replay(day).problems).toEqual([]);
    expect(() => generateInfusionDay({ date: '2026-13', patients: 3 })).toThrow();
    expect(() => generateInfusionDay({ date: DATE, patients: 0 })).toThrow();
  });

  test('more patients than the plan cycles the visit mix with unique ids', () => {
    const day = generateInfusionDay({ date: DATE, patients: 80, seed: 3 });
    expect(day.reference.filter((r) => r.resourceType === 'Patient')).toHaveLength(80);
    expect(replay(day).problems).toEqual([]);
  });
});
