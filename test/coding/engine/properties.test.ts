/**
 * Property tests over random valid encounters (seeded PRNG, reproducible): the invariants the
 * rules impose whatever the documentation looks like.
 */
import { describe, expect, test } from '@jest/globals';
import { codeEncounters, INITIAL_CODES } from '../../../src/coding/engine/index.ts';
import type {
  CodingInput,
  DocumentedAdministration,
  EncounterContext,
  PayerKind,
} from '../../../src/coding/types.ts';
import { TABLES } from './helpers.ts';
import { mulberry32 } from '../../../src/sandbox/random.ts';

const IV_DRUGS = [
  'J3370',
  'J0696',
  'J1756',
  'J2405',
  'J1100',
  'J1200',
  'J0131',
  'J9271',
  'J9228',
  'J9263',
  'J9190',
  'J9250',
  'J1745',
  'J7030',
  'J0640',
];
const SC_DRUGS = ['J0897', 'J9217', 'J9250', 'J3420'];
const DISTINCT = new Set(['59', 'XS', 'XE', 'XU', 'XP']);

function randomInput(rand: () => number): CodingInput {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const setting = pick(['office', 'hospital-outpatient'] as const);
  const payer = pick<PayerKind>(['medicare', 'medicaid', 'commercial']);
  const encounterCount = rand() < 0.25 ? 2 : 1;
  const base = Date.parse('2025-03-10T00:00:00Z');
  const encounters: EncounterContext[] = [];
  const administrations: DocumentedAdministration[] = [];
  let n = 0;
  for (let e = 0; e < encounterCount; e++) {
    const encStart =
      base +
      (e === 0 ? 8 * 60 : 14 * 60) * 60_000 +
      Math.floor(rand() * 60) * 60_000 +
      (rand() < 0.15 ? 14 * 3600_000 : 0);
    const id = `E${e + 1}`;
    encounters.push({ id, kind: 'visit', start: new Date(encStart).toISOString(), diagnoses: ['C18.9'] });
    const count = 1 + Math.floor(rand() * 6);
    for (let i = 0; i < count; i++) {
      const sc = rand() < 0.15;
      const hcpcs = pick(sc ? SC_DRUGS : IV_DRUGS);
      const entry = TABLES.drugs.drugs.find((d) => d.hcpcs === hcpcs)!;
      const start = encStart + Math.floor(rand() * 240) * 60_000;
      const minutes =
        rand() < 0.3 ? 1 + Math.floor(rand() * 15) : 16 + Math.floor(rand() * (rand() < 0.1 ? 700 : 240));
      const status = rand() < 0.1 ? 'entered-in-error' : rand() < 0.05 ? 'not-done' : 'completed';
      const method = sc
        ? undefined
        : rand() < 0.2
          ? ('push' as const)
          : rand() < 0.2
            ? ('infusion' as const)
            : undefined;
      administrations.push({
        id: `a${++n}`,
        encounterId: id,
        status,
        drug: rand() < 0.3 && entry.packages[0] ? { ndc: entry.packages[0].ndc } : { hcpcs },
        route: sc ? pick(['subcutaneous', 'intramuscular'] as const) : 'intravenous',
        ...(method ? { method } : {}),
        ...(setting === 'hospital-outpatient' ? { site: pick(['L', 'R', 'L']) } : {}),
        dose: {
          value: entry.billingUnit.value * (1 + Math.floor(rand() * 40)) * (rand() < 0.3 ? 0.7 : 1),
          unit: entry.billingUnit.unit,
        },
        start: new Date(start).toISOString(),
        end: new Date(start + minutes * 60_000).toISOString(),
        ordered: rand() < 0.95,
        ...(rand() < 0.2 ? { primary: true } : {}),
      });
    }
  }
  return {
    setting,
    payer,
    encounters,
    administrations,
    ...(rand() < 0.2 ? { options: { modifier340B: 'JG' as const } } : {}),
  };
}

const RUNS = 400;
const cases = Array.from({ length: RUNS }, (_, i) => {
  const seed = 1000 + i;
  return [seed, randomInput(mulberry32(seed))] as const;
});

describe('coding engine properties (seeded)', () => {
  test.each(cases)('seed %i', (_seed, input) => {
    const result = codeEncounters(input, TABLES);
    const siteOf = new Map(input.administrations.map((a) => [a.id, a.site ?? '']));

    // One initial per encounter (office) / per site (facility) unless it carries a distinct-service modifier (R2.1–R2.4).
    const initials = result.lines.filter((l) => INITIAL_CODES.has(l.code.code));
    for (const l of initials) {
      expect(l.units).toBe(1);
    }
    const unmodified = new Map<string, number>();
    const perGroup = new Map<string, number>();
    for (const l of initials) {
      if (!l.modifiers.some((m) => DISTINCT.has(m))) {
        unmodified.set(l.encounterId, (unmodified.get(l.encounterId) ?? 0) + 1);
      }
      const group =
        input.setting === 'office'
          ? l.encounterId
          : `${l.encounterId}|${siteOf.get(l.administrationIds[0] ?? '') ?? ''}`;
      perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
    }
    for (const count of unmodified.values()) {
      expect(count).toBeLessThanOrEqual(1);
    }
    for (const count of perGroup.values()) {
      expect(count).toBeLessThanOrEqual(1);
    }

    // 96368 at most once per encounter (R4.2).
    const concurrent = new Map<string, number>();
    for (const l of result.lines.filter((x) => x.code.code === '96368')) {
      concurrent.set(l.encounterId, (concurrent.get(l.encounterId) ?? 0) + l.units);
    }
    for (const count of concurrent.values()) {
      expect(count).toBeLessThanOrEqual(1);
    }
    // 96376 never on a professional claim (R5.2).
    if (input.setting === 'office') {
      expect(result.lines.some((l) => l.code.code === '96376')).toBe(false);
    }

    // Units are positive integers; every line has a rationale with a rule and sources.
    for (const l of result.lines) {
      expect(Number.isInteger(l.units)).toBe(true);
      expect(l.units).toBeGreaterThan(0);
      expect(l.rationale.rule).toMatch(/^R\d+(\.\d+)?$/);
      expect(l.rationale.sources.length).toBeGreaterThan(0);
      expect(l.rationale.text.length).toBeGreaterThan(0);
      expect(l.dateOfService).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(l.modifiers.includes('JW') && l.modifiers.includes('JZ')).toBe(false);
    }

    // Keys unique within a result and identical on a re-run.
    const keys = result.lines.map((l) => l.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(codeEncounters(input, TABLES)).toEqual(result);

    // Entered-in-error / not-done administrations never yield lines, and removing them changes nothing.
    const gone = new Set(
      input.administrations
        .filter((a) => a.status === 'entered-in-error' || a.status === 'not-done')
        .map((a) => a.id),
    );
    for (const l of result.lines) {
      for (const id of l.administrationIds) {
        expect(gone.has(id)).toBe(false);
      }
    }
    if (gone.size > 0) {
      const without = codeEncounters(
        { ...input, administrations: input.administrations.filter((a) => !gone.has(a.id)) },
        TABLES,
      );
      expect(without.lines).toEqual(result.lines);
    }
  });

  test('a dose correction on one administration keeps the keys of lines it is not part of', () => {
    for (let i = 0; i < 100; i++) {
      const input = randomInput(mulberry32(5000 + i));
      const target = input.administrations.find((a) => a.status === 'completed');
      if (!target?.dose) {
        continue;
      }
      const corrected: CodingInput = {
        ...input,
        administrations: input.administrations.map((a) =>
          a === target ? { ...a, dose: { ...target.dose!, value: target.dose!.value * 2 } } : a,
        ),
      };
      const before = codeEncounters(input, TABLES).lines.filter(
        (l) => !l.administrationIds.includes(target.id),
      );
      const after = new Set(codeEncounters(corrected, TABLES).lines.map((l) => l.key));
      for (const l of before) {
        expect(after.has(l.key)).toBe(true);
      }
    }
  });
});
