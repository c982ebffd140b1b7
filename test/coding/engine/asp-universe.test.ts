/**
 * Every HCPCS code of the CMS ASP pricing file (January 2026, 877 codes), given at a plausible dose,
 * yields an administration line and a drug line of that code with the units its billing unit says:
 * 3 billing units of an amount-billed drug (documented in another measure where one converts: g as
 * mg, mcg as mg), one unit of a per-administration code, two of a per-package code. The codes come
 * from the committed CMS table; when ../shared/data/cms is present the test also checks that the
 * table lists exactly the ASP file's codes.
 */
import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { codeEncounters } from '../../../src/coding/engine/index.ts';
import type { BillingUnit } from '../../../src/coding/cms/dosage.ts';
import { cell, parseCsv } from '../../../src/coding/cms/csv.ts';
import { CMS_DIR, DEFAULT_TABLES_DIR } from '../../../src/coding/tables/load.ts';
import type { CareSetting, DocumentedAdministration, Quantity } from '../../../src/coding/types.ts';
import { TABLES } from './helpers.ts';

const QUARTER = TABLES.cms.quarters.find((q) => q.id === '2026Q1')!;
const ASP_CODES = [...QUARTER.drugs.values()].filter((d) => d.origin === 'asp');
const SHARED_ASP = path.resolve('../shared/data/cms/asp-pricing-2026Q1.csv');

/** A plausible documented dose and the units it must bill. */
function plausible(unit: BillingUnit): { dose: Quantity; units: number } {
  switch (unit.kind) {
    case 'per-administration':
      // Within the code's dose range where it has one (Q9991 ≤ 100 mg, Q9992 > 100 mg).
      return unit.max
        ? { dose: { value: unit.max.value, unit: unit.max.unit }, units: 1 }
        : unit.min
          ? { dose: { value: unit.min.value * 3, unit: unit.min.unit }, units: 1 }
          : { dose: { value: 1, unit: '{dose}' }, units: 1 };
    case 'per-package':
      return { dose: { value: 2, unit: '{vial}' }, units: 2 };
    case 'amount': {
      const value = unit.value * 3;
      if (unit.unit === 'g') {
        return { dose: { value: value * 1000, unit: 'mg' }, units: 3 };
      }
      if (unit.unit === 'ug' && value >= 1000) {
        return { dose: { value: value / 1000, unit: 'mg' }, units: 3 };
      }
      return { dose: { value, unit: unit.unit === 'ug' ? 'mcg' : unit.unit }, units: 3 };
    }
  }
}

function administration(hcpcs: string, dose: Quantity): DocumentedAdministration {
  return {
    id: 'a1',
    encounterId: 'E1',
    status: 'completed',
    drug: { hcpcs },
    route: 'intravenous',
    site: 'L',
    dose,
    start: '2026-02-10T14:00:00Z',
    end: '2026-02-10T15:00:00Z',
    ordered: true,
  };
}

describe('every ASP-file drug is billable with the right unit', () => {
  test('the committed table lists the 877 codes of the January 2026 ASP file, each with a billing unit', () => {
    expect(ASP_CODES).toHaveLength(877);
    expect(ASP_CODES.filter((d) => d.unit === undefined).map((d) => d.code)).toEqual([]);
    expect(existsSync(path.join(DEFAULT_TABLES_DIR, CMS_DIR, '2026Q1.json'))).toBe(true);
  });

  (existsSync(SHARED_ASP) ? test : test.skip)(
    `the codes are the ASP file's own (${existsSync(SHARED_ASP) ? 'read from ../shared/data/cms' : 'skipped: ../shared/data/cms/asp-pricing-2026Q1.csv not present'})`,
    () => {
      const rows = parseCsv(readFileSync(SHARED_ASP).toString('latin1'));
      const header = rows.findIndex((r) => cell(r[0]) === 'HCPCS Code');
      const codes = rows
        .slice(header + 1)
        .map((r) => cell(r[0]))
        .filter((c) => /^[A-Z0-9]\d{3}[A-Z0-9]$/.test(c));
      expect(ASP_CODES.map((d) => d.code).sort()).toEqual([...new Set(codes)].sort());
    },
  );

  const settings: readonly CareSetting[] = ['office', 'hospital-outpatient'];
  test.each(settings)(
    '%s: an administration line and a drug line with the billing unit’s units, for all 877',
    (setting) => {
      const failures: string[] = [];
      for (const drug of ASP_CODES) {
        const { dose, units } = plausible(drug.unit!);
        const result = codeEncounters(
          {
            setting,
            payer: 'medicare',
            encounters: [{ id: 'E1', kind: 'visit', start: '2026-02-10T13:55:00Z', diagnoses: ['C18.9'] }],
            administrations: [administration(drug.code, dose)],
          },
          TABLES,
        );
        const admin = result.lines.filter((l) => l.kind === 'administration');
        const drugLine = result.lines.find((l) => l.kind === 'drug' && l.code.code === drug.code);
        const ok =
          admin.length > 0 &&
          drugLine !== undefined &&
          drugLine.hold === undefined &&
          Number.isInteger(drugLine.units) &&
          drugLine.units === units &&
          (drug.paymentLimit === undefined ||
            (setting === 'hospital-outpatient' && drug.statusIndicator === 'N'
              ? // Packaged: reported at zero expected payment, under 0250 (0258 for IV solutions), R14.2.
                drugLine.payment?.amount === 0 && ['0250', '0258'].includes(drugLine.revenueCode ?? '')
              : drugLine.payment?.perUnit === drug.paymentLimit));
        if (!ok) {
          failures.push(
            `${drug.code} "${drug.dosage}" dose ${dose.value} ${dose.unit}: ${result.lines.map((l) => `${l.code.code}x${l.units}${l.hold ? '(held)' : ''}`).join(' ')} ${result.issues.map((i) => i.code).join(',')}`,
          );
        }
      }
      expect(failures).toEqual([]);
    },
  );
});
