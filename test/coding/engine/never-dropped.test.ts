/**
 * Property (seeded, reproducible): no administration is ever billed as nothing. Random encounters in
 * office, hospital outpatient and home, with drugs drawn from the whole CMS universe and documented
 * the ways outside EHRs do it — HCPCS, NDC in every printed form, RxNorm, text only, or nothing
 * Dripline knows — at plausible or unusable doses. For every encounter with administrations given
 * IV, SC or IM with their times documented:
 * - it yields service lines, among them at least one administration line (a Medicare home visit
 *   giving no HIT-eligible drug has none, and says so, R15.1);
 * - every such administration is on a line or named by an issue (nothing disappears silently);
 * - every drug line has whole units ≥ 1, or is a held line with its reason.
 */
import { describe, expect, test } from '@jest/globals';
import { codeEncounters } from '../../../src/coding/engine/index.ts';
import { mulberry32 } from '../../../src/sandbox/random.ts';
import type {
  CareSetting,
  CodingInput,
  DocumentedAdministration,
  EncounterContext,
  PayerKind,
  Quantity,
} from '../../../src/coding/types.ts';
import { TABLES } from './helpers.ts';

const QUARTER = TABLES.cms.quarters[0]!;
const CODES = [...QUARTER.drugs.values()].filter((d) => d.unit !== undefined);
const NDCS = [...QUARTER.ndc.keys()];
const RXNORM = TABLES.drugs.drugs.flatMap((d) => d.rxnorm ?? []);
/** IV solutions: hydration is billable only past 30 minutes (R3.4), so the generator runs them longer. */
const FLUIDS = new Set(
  TABLES.categoryRules.hcpcsRules.flatMap((r) => (r.family === 'hydration' ? (r.codes ?? []) : [])),
);
const isFluid = (drug: DocumentedAdministration['drug']): boolean =>
  (drug.hcpcs !== undefined && FLUIDS.has(drug.hcpcs)) ||
  (drug.ndc !== undefined &&
    [...QUARTER.ndc.entries()].some(
      ([ndc, rows]) => printedForms(ndc).includes(drug.ndc as string) && rows.some((r) => FLUIDS.has(r[1])),
    ));

/** The ways an 11-digit NDC is printed: 5-4-2, 11 digits, and its 10-digit form with or without hyphens. */
function printedForms(ndc11: string): string[] {
  const [a, b, c] = [ndc11.slice(0, 5), ndc11.slice(5, 9), ndc11.slice(9)];
  const ten = a.startsWith('0')
    ? [`${a.slice(1)}-${b}-${c}`, `${a.slice(1)}${b}${c}`]
    : b.startsWith('0')
      ? [`${a}-${b.slice(1)}-${c}`, `${a}${b.slice(1)}${c}`]
      : c.startsWith('0')
        ? [`${a}-${b}-${c.slice(1)}`, `${a}${b}${c.slice(1)}`]
        : [];
  return [`${a}-${b}-${c}`, ndc11, ...ten];
}

function printed(ndc11: string, pick: number): string {
  const forms = printedForms(ndc11);
  return forms[pick % forms.length] as string;
}

function randomInput(rand: () => number): CodingInput {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const setting = pick<CareSetting>(['office', 'hospital-outpatient', 'home']);
  const payer = pick<PayerKind>(['medicare', 'medicaid', 'commercial']);
  const base = Date.parse('2026-02-10T13:00:00Z');
  const encounters: EncounterContext[] =
    setting === 'home'
      ? [
          { id: 'EP', kind: 'home-episode', start: '2026-02-09T00:00:00Z', diagnoses: ['A41.9'] },
          {
            id: 'V1',
            kind: 'home-nursing-visit',
            partOf: 'EP',
            start: new Date(base).toISOString(),
            end: new Date(base + 150 * 60_000).toISOString(),
            diagnoses: [],
          },
        ]
      : [{ id: 'E1', kind: 'visit', start: new Date(base).toISOString(), diagnoses: ['C18.9'] }];
  const encounterId = setting === 'home' ? 'V1' : 'E1';
  const administrations: DocumentedAdministration[] = [];
  const count = 1 + Math.floor(rand() * 5);
  for (let i = 0; i < count; i++) {
    const cms = pick(CODES);
    const roll = rand();
    const drug: DocumentedAdministration['drug'] =
      roll < 0.3
        ? { hcpcs: cms.code }
        : roll < 0.55
          ? { ndc: printed(pick(NDCS), Math.floor(rand() * 4)) }
          : roll < 0.65
            ? { rxnorm: pick(RXNORM) }
            : roll < 0.85
              ? { text: `${cms.names[0] ?? cms.label} ${Math.ceil(rand() * 500)} mg in NS 100 mL` }
              : { text: pick(['investigational agent', 'study drug XR-22', 'compounded bag']) };
    const unit = cms.unit!;
    const doseRoll = rand();
    const dose: Quantity | undefined =
      doseRoll < 0.08
        ? undefined
        : doseRoll < 0.14
          ? { value: 5, unit: 'mg/kg' }
          : doseRoll < 0.2
            ? { value: 10, unit: 'mL' }
            : unit.kind === 'amount'
              ? {
                  value: unit.value * (1 + Math.floor(rand() * 20)) * (rand() < 0.3 ? 0.6 : 1),
                  unit: unit.unit,
                }
              : { value: 1, unit: '{vial}' };
    const route = pick([
      'intravenous',
      'intravenous',
      'intravenous',
      'subcutaneous',
      'intramuscular',
    ] as const);
    const start = base + Math.floor(rand() * 180) * 60_000;
    const minutes =
      route !== 'intravenous'
        ? 0
        : isFluid(drug)
          ? 31 + Math.floor(rand() * 200)
          : 2 + Math.floor(rand() * (rand() < 0.1 ? 600 : 200));
    administrations.push({
      id: `a${i + 1}`,
      encounterId,
      status: 'completed',
      drug,
      route,
      ...(route === 'intravenous' && rand() < 0.2 ? { method: pick(['push', 'infusion'] as const) } : {}),
      ...(setting === 'hospital-outpatient' ? { site: pick(['L', 'R']) } : {}),
      ...(dose ? { dose } : {}),
      start: new Date(start).toISOString(),
      ...(route === 'intravenous' ? { end: new Date(start + minutes * 60_000).toISOString() } : {}),
      ordered: rand() < 0.9,
    });
  }
  return { setting, payer, encounters, administrations };
}

const RUNS = 500;
const cases = Array.from({ length: RUNS }, (_, i) => [7000 + i, randomInput(mulberry32(7000 + i))] as const);

describe('no administration is ever billed as nothing (seeded)', () => {
  test.each(cases)('seed %i', (_seed, input) => {
    const result = codeEncounters(input, TABLES);
    const administrationLines = result.lines.filter(
      (l) => l.kind === 'administration' || l.kind.startsWith('home-'),
    );
    if (input.setting === 'home' && input.payer === 'medicare') {
      // Medicare pays home infusion professional services only for HIT-eligible drugs (R15.1): a
      // visit giving none has no G-code, and says so; its drugs are billed when their code is known.
      if (administrationLines.length === 0) {
        expect(result.issues.map((i) => i.code)).toContain('hit-no-eligible-drug');
      }
    } else {
      expect(result.lines.length).toBeGreaterThan(0);
      expect(administrationLines.length).toBeGreaterThan(0);
    }

    const onLine = new Set(result.lines.flatMap((l) => l.administrationIds));
    const named = new Set(result.issues.map((i) => i.administrationId));
    for (const a of input.administrations) {
      expect(onLine.has(a.id) || named.has(a.id)).toBe(true);
    }
    for (const l of result.lines) {
      if (l.hold) {
        expect(l.units).toBe(0);
        expect(l.hold.reason.length).toBeGreaterThan(0);
      } else {
        expect(Number.isInteger(l.units) && l.units >= 1).toBe(true);
      }
    }
  });
});
