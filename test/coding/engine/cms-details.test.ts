/**
 * Details of coding drugs from the CMS tables, each checked against the January 2026 files by hand:
 * NDC in every printed form, NDC unit and quantity from the crosswalk's package, units from real
 * billing units (conversions, per vial, per dose, combinations, holds), the Medicare reference
 * payment (ASP limit, OPPS packaged), the category order, the name fallback, and the FHIR contract
 * for the category and strength.
 */
import { describe, expect, test } from '@jest/globals';
import type { Resource } from '@medplum/fhirtypes';
import { ndc11Candidates } from '../../../src/coding/ndc.ts';
import { codeEncounters } from '../../../src/coding/engine/index.ts';
import { decideCategory } from '../../../src/coding/engine/category.ts';
import { matchDrugName } from '../../../src/coding/engine/resolve.ts';
import { extractCodingInput } from '../../../src/coding/fhir/extract.ts';
import { catalogEntry, drugEntryFor } from '../../../src/coding/tables/universe.ts';
import type {
  CareSetting,
  ChargeLine,
  CodingResult,
  DocumentedAdministration,
  PayerKind,
} from '../../../src/coding/types.ts';
import { toFhirBundle } from '../fhir-bundle.ts';
import { TABLES } from './helpers.ts';

const Q1 = TABLES.cms.quarters.find((q) => q.id === '2026Q1')!;

function code(
  drug: DocumentedAdministration['drug'],
  dose: DocumentedAdministration['dose'],
  opts: {
    setting?: CareSetting;
    payer?: PayerKind;
    minutes?: number;
    extra?: Partial<DocumentedAdministration>;
  } = {},
): CodingResult {
  return codeEncounters(
    {
      setting: opts.setting ?? 'office',
      payer: opts.payer ?? 'medicare',
      encounters: [{ id: 'E1', kind: 'visit', start: '2026-02-10T08:50:00Z', diagnoses: ['C18.9'] }],
      administrations: [
        {
          id: 'a',
          encounterId: 'E1',
          status: 'completed',
          drug,
          route: 'intravenous',
          site: 'L',
          ...(dose ? { dose } : {}),
          start: '2026-02-10T09:00:00Z',
          end: new Date(Date.parse('2026-02-10T09:00:00Z') + (opts.minutes ?? 60) * 60_000).toISOString(),
          ordered: true,
          ...opts.extra,
        },
      ],
    },
    TABLES,
  );
}

const drugLines = (r: CodingResult): ChargeLine[] => r.lines.filter((l) => l.kind !== 'administration');
const issueCodes = (r: CodingResult): string[] => r.issues.map((i) => i.code);

describe('NDC in every printed form (R11.1)', () => {
  test('4-4-2, 5-3-2, 5-4-1 and unhyphenated 10 digits become the 11-digit 5-4-2 the crosswalk knows', () => {
    // Labeler, product and package segment each short by one digit in turn.
    const cases = [
      ['00009011205', ['0009-0112-05', '0009011205', '00009-0112-05', '00009011205']],
      ['61703030906', ['61703-309-06', '6170330906', '61703-0309-06']],
      ['55513019001', ['55513-0190-1', '5551301901', '55513-0190-01']],
    ] as const;
    for (const [ndc11, printed] of cases) {
      for (const p of printed) {
        const line = drugLines(code({ ndc: p }, { value: 1, unit: 'mg' }))[0];
        expect([p, line?.ndc?.ndc11]).toEqual([p, ndc11]);
      }
    }
    expect(ndc11Candidates('0009011205')).toEqual(['00009011205', '00090011205', '00090112005']);
  });

  test('an unhyphenated 10-digit NDC with two known readings is not guessed', () => {
    // 43066-0001-01 (read as 5-3-2) and 43066-0010-01 (read as 5-4-1) are both crosswalk packages.
    expect(Q1.ndc.has('43066000101') && Q1.ndc.has('43066001001')).toBe(true);
    const r = code({ ndc: '4306600101' }, { value: 1, unit: 'mg' });
    expect(issueCodes(r)).toContain('ndc-ambiguous');
    expect(drugLines(r)).toEqual([]);
    expect(issueCodes(r)).toContain('unknown-drug');
  });
});

describe('NDC unit and quantity from the crosswalk package (R11.4)', () => {
  test('a solution in mL: irinotecan 180 mg from 100 mg/5 mL vials is 9 mL given and 1 mL discarded', () => {
    const r = code({ ndc: '00009-0112-05' }, { value: 180, unit: 'mg' }, { minutes: 90 });
    expect(drugLines(r).map((l) => [l.code.code, l.units, l.modifiers, l.ndc])).toEqual([
      ['J9206', 9, [], { ndc11: '00009011205', unit: 'ML', quantity: 9 }],
      ['J9206', 1, ['JW'], { ndc11: '00009011205', unit: 'ML', quantity: 1 }],
    ]);
  });

  test('a vial counted in units: ertapenem 1 g from a 1 g vial is UN 1', () => {
    const [line] = drugLines(code({ ndc: '00143-9398-10' }, { value: 1, unit: 'g' }, { minutes: 30 }));
    expect(line).toMatchObject({
      units: 2,
      modifiers: ['JZ'],
      ndc: { ndc11: '00143939810', unit: 'UN', quantity: 1 },
    });
  });
});

describe('units from real billing units (R9.1, rounded up R9.2)', () => {
  const units = (
    hcpcs: string,
    dose: DocumentedAdministration['dose'],
    extra: Partial<DocumentedAdministration> = {},
  ) => {
    const r = code({ hcpcs }, dose, { extra });
    const line = drugLines(r).find((l) => l.kind === 'drug');
    return { units: line?.units, held: line?.hold?.code, issues: issueCodes(r) };
  };

  test('mass: g ↔ mg ↔ mcg, and a dose below one unit is one unit', () => {
    expect(units('J0690', { value: 2, unit: 'g' }).units).toBe(4); // 500 mg
    expect(units('J2506', { value: 6000, unit: 'mcg' }).units).toBe(12); // 0.5 mg
    expect(units('J2506', { value: 6000, unit: 'ug' }).units).toBe(12);
    expect(units('J9390', { value: 7, unit: 'mg' }).units).toBe(1); // 10 mg
    // Units written out, as some EHRs send Quantity.unit without a UCUM code.
    expect(units('J0690', { value: 1000, unit: 'milligrams' }).units).toBe(2);
    expect(units('J2506', { value: 6000, unit: 'micrograms' }).units).toBe(12);
  });

  test('volume-billed solutions in mL; units for biologics billed per unit; mEq; IU for a mcg code that states it', () => {
    expect(units('J7050', { value: 500, unit: 'mL' }).units).toBe(2); // 250 cc
    expect(units('J0885', { value: 10000, unit: '[iU]' }).units).toBe(10); // 1000 units
    expect(units('J0885', { value: 10000, unit: 'U' }).units).toBe(10);
    expect(units('J3480', { value: 20, unit: 'meq' }).units).toBe(10); // 2 mEq
    expect(units('J2790', { value: 1500, unit: '[iU]' }).units).toBe(1); // 300 mcg (1500 IU)
    expect(units('J2790', { value: 300, unit: 'mcg' }).units).toBe(1);
  });

  test('a dose in mL of a mass-billed drug needs the strength: held without it, counted with it', () => {
    const bare = units('J9206', { value: 9, unit: 'mL' });
    expect(bare).toMatchObject({ units: 0, held: 'unconvertible-dose' });
    const withStrength = units(
      'J9206',
      { value: 9, unit: 'mL' },
      {
        concentration: { contains: { value: 20, unit: 'mg' }, volumeMl: 1 },
      },
    );
    expect(withStrength.units).toBe(9);
  });

  test('per vial, per dose, a dose range, combination products', () => {
    expect(units('J0850', { value: 2, unit: '{vial}' }).units).toBe(2);
    expect(units('J0850', { value: 150, unit: 'mg' })).toMatchObject({
      units: 0,
      held: 'package-size-unknown',
    });
    expect(units('J0850', { value: 150, unit: 'mg' }, { packageSize: { value: 50, unit: 'mg' } }).units).toBe(
      3,
    );
    expect(units('J3402', undefined).units).toBe(1);
    const outside = units('Q9991', { value: 300, unit: 'mg' });
    expect(outside.units).toBe(1);
    expect(outside.issues).toContain('dose-outside-code-range');
    // Ceftolozane-tazobactam is billed per 75 mg of both together: 1.5 g = 20 units, no warning.
    expect(units('J0695', { value: 1.5, unit: 'g' })).toMatchObject({ units: 20 });
    expect(units('J0695', { value: 1.5, unit: 'g' }).issues).not.toContain('combination-dose');
    // Imipenem-cilastatin-relebactam per 4/4/2 mg: the dose is read as imipenem, said on the line.
    const combo = units('J0742', { value: 500, unit: 'mg' });
    expect(combo.units).toBe(125);
    expect(combo.issues).toContain('combination-dose');
  });

  test('a dose per kg or m², or no dose, holds the line with the reason; the administration is coded', () => {
    for (const dose of [{ value: 5, unit: 'mg/kg' }, { value: 1.4, unit: 'mg/m2' }, undefined]) {
      const r = code({ hcpcs: 'J9206' }, dose);
      expect(r.lines.map((l) => [l.code.code, l.units, l.hold !== undefined])).toEqual([
        ['96413', 1, false],
        ['J9206', 0, true],
      ]);
      expect(r.lines[1]?.hold?.reason.length).toBeGreaterThan(20);
    }
  });

  test('a HCPCS code in no table: the line is held naming the code; the administration is coded', () => {
    const r = code({ hcpcs: 'J9998' }, { value: 10, unit: 'mg' });
    expect(r.lines.map((l) => [l.code.code, l.units, l.hold?.code])).toEqual([
      ['96413', 1, undefined],
      ['J9998', 0, 'billing-unit-unknown'],
    ]);
  });
});

describe('a code the quarter does not price is billed with a warning naming the priced codes', () => {
  test('J3370 (vancomycin 500 mg) is not in the 2026Q1 ASP file; J3373 (per 10 mg) is', () => {
    const r = code({ hcpcs: 'J3370' }, { value: 1, unit: 'g' });
    expect(drugLines(r).map((l) => [l.code.code, l.units])).toEqual([['J3370', 2]]);
    const warning = r.issues.find((i) => i.code === 'hcpcs-not-in-asp');
    expect(warning?.severity).toBe('warning');
    expect(warning?.message).toContain('J3373');
    expect(issueCodes(code({ hcpcs: 'J9206' }, { value: 100, unit: 'mg' }))).not.toContain(
      'hcpcs-not-in-asp',
    );
  });
});

describe('Medicare reference payment (ASP limit; OPPS packaged is zero)', () => {
  test('office: ASP payment limit × units, the JW line too', () => {
    const r = code({ ndc: '00009-0112-05' }, { value: 180, unit: 'mg' }, { minutes: 90 });
    expect(drugLines(r).map((l) => l.payment)).toEqual([
      {
        basis: 'asp-limit',
        quarter: '2026Q1',
        perUnit: 1.794,
        amount: 16.15,
        statusIndicator: 'N',
        coinsurancePercent: 20,
      },
      {
        basis: 'asp-limit',
        quarter: '2026Q1',
        perUnit: 1.794,
        amount: 1.79,
        statusIndicator: 'N',
        coinsurancePercent: 20,
      },
    ]);
    expect(drugLines(r)[0]?.rationale.amounts).toMatchObject({ expectedPayment: 16.15 });
  });

  test('hospital outpatient: K separately payable under 0636, N packaged under 0250 at zero', () => {
    const k = drugLines(
      code({ ndc: '49401-0102-01' }, { value: 700, unit: 'mg' }, { setting: 'hospital-outpatient' }),
    );
    expect(k.map((l) => [l.code.code, l.units, l.modifiers, l.revenueCode, l.payment?.amount])).toEqual([
      ['J0490', 70, [], '0636', 4000.92],
      ['J0490', 10, ['JW'], '0636', 571.56],
    ]);
    const n = drugLines(
      code({ ndc: '00009-0112-05' }, { value: 180, unit: 'mg' }, { setting: 'hospital-outpatient' }),
    );
    expect(
      n.map((l) => [l.code.code, l.units, l.modifiers, l.revenueCode, l.payment?.basis, l.payment?.amount]),
    ).toEqual([['J9206', 9, [], '0250', 'opps-packaged', 0]]);
  });

  test('a code CMS does not price has no expected amount', () => {
    const [line] = drugLines(code({ hcpcs: 'J3370' }, { value: 1, unit: 'g' }));
    expect(line?.payment).toEqual({ basis: 'not-priced', quarter: '2026Q1' });
  });
});

describe('the category decision, in order, each step citing its source (R1.2)', () => {
  const belimumab = drugEntryFor(TABLES, 'J0490')!;
  const base = {
    hcpcs: 'J0490',
    drug: belimumab,
    listed: false,
    names: Q1.drugs.get('J0490')!.names,
    payer: 'medicare' as const,
    payerRules: TABLES.payers.medicare,
    rules: TABLES.categoryRules,
  };
  test('documented > tenant (payer kind, then all) > payer rule set > drug table > HCPCS/name rule > TPD default', () => {
    expect(decideCategory({ ...base, documented: { family: 'hydration', on: 'order' } })).toMatchObject({
      family: 'hydration',
      step: 'order',
    });
    expect(
      decideCategory({
        ...base,
        tenant: { medicare: { J0490: 'therapeutic' }, all: { J0490: 'hydration' } },
      }),
    ).toMatchObject({ family: 'therapeutic', step: 'tenant' });
    expect(decideCategory({ ...base, tenant: { all: { J0490: 'hydration' } } })).toMatchObject({
      step: 'tenant',
    });
    const commercial = { ...base, payer: 'commercial' as const, payerRules: TABLES.payers.commercial };
    const leuprolide = { ...commercial, hcpcs: 'J9217', drug: catalogEntry(TABLES, 'J9217')!, listed: true };
    expect(decideCategory(leuprolide)).toMatchObject({ family: 'therapeutic', step: 'payer' });
    expect(
      decideCategory({ ...leuprolide, payer: 'medicare', payerRules: TABLES.payers.medicare }),
    ).toMatchObject({
      family: 'chemo-complex',
      step: 'drug-table',
      hormonalAntineoplastic: true,
    });
    const byName = decideCategory(base);
    expect(byName).toMatchObject({ family: 'chemo-complex', step: 'name-rule' });
    expect(byName.confirm).toMatch(/confirm/);
    expect(byName.sources).toEqual(expect.arrayContaining(['NOR-JF-COMPLEX', 'USAN-STEMS']));
    const irinotecan = drugEntryFor(TABLES, 'J9206')!;
    const byCode = decideCategory({ ...base, hcpcs: 'J9206', drug: irinotecan, names: ['irinotecan'] });
    expect(byCode).toMatchObject({ family: 'chemo-complex', step: 'hcpcs-rule' });
    expect(byCode.confirm).toBeUndefined();
    const unknown = decideCategory({ ...base, hcpcs: 'J3490', names: ['mystery'] });
    expect(unknown).toMatchObject({ family: 'therapeutic', step: 'default' });
    expect(unknown.confirm).toMatch(/TPD/);
  });

  test('the administration line cites the category step; an unconfirmed family is a warning, the line is billed', () => {
    const r = code({ hcpcs: 'J0490' }, { value: 700, unit: 'mg' });
    const admin = r.lines.find((l) => l.kind === 'administration')!;
    expect(admin.code.code).toBe('96413');
    expect(admin.rationale.text).toContain('monoclonal antibody');
    expect(admin.rationale.sources).toEqual(expect.arrayContaining(['NOR-JF-COMPLEX']));
    expect(r.issues.find((i) => i.code === 'category-unconfirmed')?.severity).toBe('warning');
  });
});

describe('the name fallback (lower confidence, always confirmed by a coder)', () => {
  test('the longest name wins, then the drug named first; brand names count', () => {
    expect(matchDrugName(Q1, 'irinotecan liposome 70 mg')?.code).toBe('J9205');
    expect(matchDrugName(Q1, 'Irinotecan HCl 100 mg/5 mL')?.code).toBe('J9206');
    expect(matchDrugName(Q1, 'Camptosar')?.code).toBe('J9206');
    expect(matchDrugName(Q1, 'riTUXimab 500 mg')?.code).toBe('J9312');
    expect(matchDrugName(Q1, 'rituximab-abbs (Truxima)')?.code).toBe('Q5115');
    expect(matchDrugName(Q1, 'ceFAZolin 2 g in dextrose 5% 100 mL')?.code).toBe('J0690');
    expect(matchDrugName(Q1, 'study drug XR-22')).toBeUndefined();
  });
});

describe('FHIR contract: documented category and strength', () => {
  function extracted(resources: Resource[]) {
    return extractCodingInput(resources, { setting: 'office' }).input.administrations[0]!;
  }
  const bundle = (adm: Partial<DocumentedAdministration>): Resource[] =>
    toFhirBundle({
      setting: 'office',
      payer: 'medicare',
      encounters: [{ id: 'E1', kind: 'visit', start: '2026-02-10T08:50:00Z', diagnoses: ['C18.9'] }],
      administrations: [
        {
          id: 'a',
          encounterId: 'E1',
          status: 'completed',
          drug: { hcpcs: 'J0490', text: 'belimumab' },
          route: 'intravenous',
          dose: { value: 700, unit: 'mg' },
          start: '2026-02-10T09:00:00Z',
          end: '2026-02-10T10:00:00Z',
          ordered: true,
          ...adm,
        },
      ],
    }).entry!.map((e) => e.resource!);

  test('extension administration-category on the order, else on the Medication', () => {
    expect(extracted(bundle({ category: { family: 'therapeutic', on: 'order' } })).category).toEqual({
      family: 'therapeutic',
      on: 'order',
    });
    expect(extracted(bundle({ category: { family: 'hydration', on: 'medication' } })).category).toEqual({
      family: 'hydration',
      on: 'medication',
    });
    expect(extracted(bundle({})).category).toBeUndefined();
  });

  test('strength from the active ingredient: a dose in mL converts', () => {
    const adm = extracted(
      bundle({
        dose: { value: 9, unit: 'mL' },
        concentration: { contains: { value: 20, unit: 'mg' }, volumeMl: 1 },
      }),
    );
    expect(adm.concentration).toEqual({ contains: { value: 20, unit: 'mg' }, volumeMl: 1 });
  });

  test('drug codes by their HL7 OIDs (NDC, RxNorm, HCPCS), as C-CDA-era EHRs write them', () => {
    const resources = bundle({});
    const medication = resources.find((r) => r.resourceType === 'Medication') as any;
    medication.code = {
      coding: [
        { system: 'urn:oid:2.16.840.1.113883.6.285', code: 'J9206' },
        { system: 'urn:oid:2.16.840.1.113883.6.69', code: '0009-0112-05' },
        { system: 'urn:oid:2.16.840.1.113883.6.88', code: '1726319' },
      ],
    };
    expect(extracted(resources).drug).toEqual({ hcpcs: 'J9206', ndc: '0009-0112-05', rxnorm: '1726319' });
  });

  test('routes: HL7 v3 codes and words, as EHRs without SNOMED send them', () => {
    const resources = bundle({});
    const ma = resources.find((r) => r.resourceType === 'MedicationAdministration') as any;
    const routeOf = (route: unknown) => {
      ma.dosage.route = route;
      return extracted(resources).route;
    };
    expect(
      routeOf({
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration', code: 'IVINJ' }],
      }),
    ).toBe('intravenous');
    expect(
      routeOf({
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration', code: 'SQ' }],
      }),
    ).toBe('subcutaneous');
    expect(routeOf({ text: 'Intramuscular' })).toBe('intramuscular');
    expect(routeOf({ coding: [{ system: 'urn:epic:route', code: '11', display: 'Intravenous' }] })).toBe(
      'intravenous',
    );
    expect(routeOf({ text: 'Oral' })).toBe('other');
  });
});
