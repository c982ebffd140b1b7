/**
 * JW/JZ read once (src/coding/engine/waste-modifiers.ts): what the engine plans, what the check
 * accepts, and that the check (the scrubber's reading) accepts every claim the engine codes and the
 * sandbox payer pays every such Medicare claim.
 */
import { describe, expect, test } from '@jest/globals';
import { codeEncounters } from '../../../src/coding/engine/index.ts';
import { isPackagedOn } from '../../../src/coding/engine/payment.ts';
import {
  checkWasteModifiers,
  planWasteModifiers,
  WASTE_INSIDE_UNIT_SOURCE,
} from '../../../src/coding/engine/waste-modifiers.ts';
import type { WasteLine, WasteModifierRule } from '../../../src/coding/engine/waste-modifiers.ts';
import type { CodingInput, PayerKind } from '../../../src/coding/types.ts';
import { mulberry32 } from '../../../src/sandbox/random.ts';
import { adjudicate } from '../../../src/sandbox/payer/adjudicate.ts';
import { buildPayerTables } from '../../../src/sandbox/payer/tables.ts';
import { claim as payerClaim } from '../../sandbox/payer/helpers.ts';
import { TABLES } from './helpers.ts';

const MEDICARE: WasteModifierRule = TABLES.payers.medicare.wasteModifiers;
const COMMERCIAL: WasteModifierRule = TABLES.payers.commercial.wasteModifiers;
const DOS = '2025-03-10';

describe('planWasteModifiers', () => {
  const plan = (doseUnits: number, wasteUnits: number | undefined, over: Partial<{ date: string }> = {}) =>
    planWasteModifiers({
      rule: MEDICARE,
      container: 'single-dose',
      dateOfService: over.date ?? DOS,
      doseUnits,
      wasteUnits,
    });

  test('waste worth units of its own: administered line plus a JW line (R10.1)', () => {
    expect(plan(35, 5)).toEqual({ kind: 'jw-line', jwUnits: 5, rule: 'R10.1' });
  });

  test('nothing discarded: JZ (R10.2)', () => {
    expect(plan(40, 0)).toEqual({ kind: 'jz', wasteInsideUnit: false, rule: 'R10.2' });
  });

  test('waste inside the billed unit: no JW line, and the one line takes JZ (R10.4)', () => {
    // 25 mg given from a 50 mg vial under a 50 mg code: 0.5 + 0.5 unit → one unit.
    expect(plan(0.5, 0.5)).toEqual({ kind: 'jz', wasteInsideUnit: true, rule: 'R10.4' });
    expect(WASTE_INSIDE_UNIT_SOURCE).toMatch(/^https:\/\//);
  });

  test('before JZ was required: neither (R10.2 / R10.4)', () => {
    expect(plan(40, 0, { date: '2023-06-30' }).kind).toBe('none');
    expect(plan(0.5, 0.5, { date: '2023-06-30' })).toEqual({
      kind: 'none',
      wasteInsideUnit: true,
      rule: 'R10.4',
    });
  });

  test('multi-dose: neither (R10.3); a payer without the modifiers: neither (R10.5); unknown waste', () => {
    expect(
      planWasteModifiers({
        rule: MEDICARE,
        container: 'multi-dose',
        dateOfService: DOS,
        doseUnits: 4,
        wasteUnits: 36,
      }),
    ).toEqual({ kind: 'exempt', reason: 'multi-dose', rule: 'R10.3' });
    // Not separately payable (OPPS packaged on an institutional claim): neither either (R10.3).
    expect(
      planWasteModifiers({
        rule: MEDICARE,
        container: 'single-dose',
        dateOfService: DOS,
        doseUnits: 4,
        wasteUnits: 36,
        packaged: true,
      }),
    ).toEqual({ kind: 'exempt', reason: 'packaged', rule: 'R10.3' });
    expect(
      planWasteModifiers({
        rule: COMMERCIAL,
        container: 'single-dose',
        dateOfService: DOS,
        doseUnits: 35,
        wasteUnits: 5,
      }).rule,
    ).toBe('R10.5');
    expect(plan(35, undefined).kind).toBe('unknown-waste');
  });
});

describe('checkWasteModifiers', () => {
  const line = (sequence: number, code: string, modifiers: string[], over: Partial<WasteLine> = {}) => ({
    sequence,
    code,
    date: DOS,
    modifiers,
    container: 'single-dose' as const,
    ...over,
  });
  const problems = (lines: WasteLine[], rule = MEDICARE) =>
    checkWasteModifiers(rule, lines).map((f) => `${f.sequence}:${f.problem}`);

  test('the administered line without a modifier beside its JW line is right (CMS: two lines)', () => {
    expect(problems([line(1, 'J1745', []), line(2, 'J1745', ['JW'])])).toEqual([]);
  });

  test('one line with JZ is right; a line with neither and no JW line is not', () => {
    expect(problems([line(1, 'J1745', ['JZ'])])).toEqual([]);
    expect(problems([line(1, 'J1745', [])])).toEqual(['1:missing']);
  });

  test('JW and JZ together, JZ beside a JW line, a JW line alone, JZ on a multi-dose drug', () => {
    expect(problems([line(1, 'J1745', ['JW', 'JZ'])])).toEqual(['1:jw-and-jz']);
    expect(problems([line(1, 'J1745', ['JZ']), line(2, 'J1745', ['JW'])])).toEqual(['1:jz-with-waste-line']);
    expect(problems([line(1, 'J1745', ['JW'])])).toEqual(['1:waste-line-alone']);
    expect(problems([line(1, 'J2405', ['JZ'], { container: 'multi-dose' })])).toEqual(['1:not-single-dose']);
  });

  test('a drug OPPS packages on an institutional claim needs neither and carries neither (R10.3)', () => {
    expect(problems([line(1, 'J1100', [], { packaged: true })])).toEqual([]);
    expect(problems([line(1, 'J1100', ['JZ'], { packaged: true })])).toEqual(['1:not-single-dose']);
  });

  test('a JW line covers only its own drug, date and package', () => {
    expect(problems([line(1, 'J1745', []), line(2, 'J9312', ['JW'])])).toEqual([
      '1:missing',
      '2:waste-line-alone',
    ]);
    expect(problems([line(1, 'J1745', [], { date: '2025-03-11' }), line(2, 'J1745', ['JW'])]).sort()).toEqual(
      ['1:missing', '2:waste-line-alone'],
    );
    expect(
      problems([
        line(1, 'J1745', [], { ndc: '11111111111' }),
        line(2, 'J1745', ['JW'], { ndc: '22222222222' }),
      ]),
    ).toEqual(['1:missing', '2:waste-line-alone']);
  });

  test('before the JZ date a bare line passes; lines that are not catalog drugs are not checked; R10.5', () => {
    expect(problems([line(1, 'J1745', [], { date: '2023-06-30' })])).toEqual([]);
    expect(problems([line(1, '96413', [], { container: undefined })])).toEqual([]);
    expect(problems([line(1, 'J1745', [])], COMMERCIAL)).toEqual([]);
  });
});

/** Random single- and multi-dose drug doses, with and without documented waste, for every payer. */
function randomDrugInput(rand: () => number): CodingInput {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const drugs = TABLES.drugs.drugs;
  const administrations: CodingInput['administrations'][number][] = [];
  const count = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < count; i++) {
    const drug = pick(drugs);
    const pkg = drug.packages[Math.floor(rand() * drug.packages.length)];
    const dose = drug.billingUnit.value * (0.3 + rand() * 30);
    const start = Date.parse(`${DOS}T09:00:00Z`) + i * 45 * 60_000;
    administrations.push({
      id: `a${i + 1}`,
      encounterId: 'E1',
      status: 'completed',
      drug: pkg && rand() < 0.7 ? { ndc: pkg.ndc } : { hcpcs: drug.hcpcs },
      route: 'intravenous',
      method: 'infusion',
      dose: { value: Number(dose.toFixed(2)), unit: drug.billingUnit.unit },
      ...(rand() < 0.3
        ? {
            discarded: {
              value: Number((drug.billingUnit.value * rand() * 3).toFixed(2)),
              unit: drug.billingUnit.unit,
            },
          }
        : {}),
      start: new Date(start).toISOString(),
      end: new Date(start + 40 * 60_000).toISOString(),
      ordered: true,
    });
  }
  return {
    setting: pick(['office', 'hospital-outpatient'] as const),
    payer: pick<PayerKind>(['medicare', 'medicaid', 'commercial']),
    encounters: [{ id: 'E1', kind: 'visit', start: `${DOS}T08:30:00Z`, diagnoses: ['C18.9'] }],
    administrations,
  };
}

describe('engine, scrubber reading and payer agree (seeded)', () => {
  const payerTables = buildPayerTables();
  const cases = Array.from(
    { length: 300 },
    (_, i) => [2000 + i, randomDrugInput(mulberry32(2000 + i))] as const,
  );

  test.each(cases)('seed %i', (_seed, input) => {
    const result = codeEncounters(input, TABLES);
    const unknownWaste = result.issues.some((i) => i.code === 'waste-undocumented');
    const lines: WasteLine[] = result.lines.map((l, i) => {
      const drug = TABLES.drugs.drugs.find((d) => d.hcpcs === l.code.code);
      return {
        sequence: i + 1,
        code: l.code.code,
        date: l.dateOfService,
        modifiers: l.modifiers,
        container: drug?.container,
        packaged:
          input.setting === 'hospital-outpatient' && isPackagedOn(TABLES, l.code.code, l.dateOfService),
        ...(l.ndc ? { ndc: l.ndc.ndc11 } : {}),
      };
    });
    const findings = checkWasteModifiers(TABLES.payers[input.payer].wasteModifiers, lines);
    if (!unknownWaste) {
      expect(findings).toEqual([]);
    }
    if (input.payer === 'medicare' && !unknownWaste) {
      // The sandbox payer (its own reading of the CMS rule) denies none of these lines for JW/JZ.
      const sent = payerClaim({
        lines: result.lines.map((l) => ({
          code: l.code.code,
          units: l.units,
          modifiers: [...l.modifiers],
          date: l.dateOfService,
          ...(l.ndc ? { ndc: l.ndc.ndc11 } : {}),
        })),
        dx: ['C18.9'],
      });
      if (input.setting === 'hospital-outpatient') {
        // As a UB-04: the payer reads OPPS packaging on institutional claims only.
        sent.type = {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }],
        };
      }
      const adjudicated = adjudicate({
        claim: sent,
        kind: 'medicare',
        tables: payerTables,
        receivedDate: DOS,
      });
      expect(adjudicated.lines.flatMap((l) => l.denials).filter((d) => d.carc === '4')).toEqual([]);
    }
  });
});
