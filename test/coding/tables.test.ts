/** The coding rule tables: they load and validate, cross-checks catch bad copies, lookups resolve the sandbox's NDCs. */
import { afterAll, describe, expect, test } from '@jest/globals';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CMS_DIR,
  CodingTableError,
  DEFAULT_TABLES_DIR,
  UCUM_UNITS,
  codingTablesOnFirstUse,
  loadCodingTables,
  normalizeNdc,
} from '../../src/coding/tables/load.ts';
import { findDrug } from '../../src/coding/tables/find-drug.ts';
import { THERAPIES } from '../../src/sandbox/ehr/seed-data/therapies.ts';
import { generateInfusionDay } from '../../src/sandbox/ehr/seed/generate.ts';
import { SYSTEMS } from '../../src/sandbox/ehr/seed/systems.ts';

const tables = loadCodingTables();

// ---------------------------------------------------------------------------------------------
// Temp copies with one table broken
// ---------------------------------------------------------------------------------------------

const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs) {
    rmSync(d, { recursive: true, force: true });
  }
});

function readTable(file: string): any {
  return JSON.parse(readFileSync(path.join(DEFAULT_TABLES_DIR, file), 'utf8'));
}

/** A copy of the shipped JSON tables with `file` replaced by `mutate(parsed)` (or removed when it returns undefined). */
function brokenCopy(file: string, mutate: (table: any) => any): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-tables-'));
  tempDirs.push(dir);
  for (const f of readdirSync(DEFAULT_TABLES_DIR).filter((x) => x.endsWith('.json'))) {
    writeFileSync(path.join(dir, f), readFileSync(path.join(DEFAULT_TABLES_DIR, f)));
  }
  cpSync(path.join(DEFAULT_TABLES_DIR, CMS_DIR), path.join(dir, CMS_DIR), { recursive: true });
  const next = mutate(readTable(file));
  if (next === undefined) {
    unlinkSync(path.join(dir, file));
  } else {
    writeFileSync(path.join(dir, file), JSON.stringify(next));
  }
  return dir;
}

function loadError(dir: string): CodingTableError {
  try {
    loadCodingTables(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(CodingTableError);
    return err as CodingTableError;
  }
  throw new Error('expected the load to fail');
}

const drugIndex = (key: string): number => readTable('drugs.json').drugs.findIndex((d: any) => d.key === key);

// ---------------------------------------------------------------------------------------------

describe('shipped tables', () => {
  test('load, validate and cache', () => {
    expect(tables.drugs.drugs.length).toBeGreaterThanOrEqual(60);
    expect(Object.keys(tables.payers).sort()).toEqual(['commercial', 'medicaid', 'medicare']);
    for (const kind of ['medicare', 'medicaid', 'commercial'] as const) {
      expect(tables.payers[kind].payer).toBe(kind);
    }
    expect(loadCodingTables()).toBe(tables);
    expect(loadCodingTables(DEFAULT_TABLES_DIR)).toBe(tables);
    expect(Object.isFrozen(tables.drugs.drugs[0])).toBe(true);
  });

  test('on first use: the same tables, in place of the accessors once read', () => {
    const view = codingTablesOnFirstUse();
    expect(Object.getOwnPropertyDescriptor(view, 'cms')).not.toHaveProperty('value');
    expect(view.cms).toBe(tables.cms);
    expect(Object.getOwnPropertyDescriptor(view, 'cms')).toHaveProperty('value', tables.cms);
    expect({ ...view }).toEqual({ ...tables });
    for (const name of Object.keys(tables) as (keyof typeof tables)[]) {
      expect(view[name]).toBe(tables[name]);
    }
    expect(Object.isFrozen(view)).toBe(true);
  });

  test('every table has a header with sources and an effective date', () => {
    const headers = [
      tables.drugs,
      tables.administrationCodes,
      tables.mue,
      tables.ncci,
      tables.homeInfusion,
      tables.revenueCodes,
      ...Object.values(tables.payers),
    ];
    for (const h of headers) {
      expect(h.title.length).toBeGreaterThan(0);
      expect(h.sources.length).toBeGreaterThan(0);
      expect(h.effective).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  test('drug catalog covers drug-table sections A–H with the families of R1.2', () => {
    const byHcpcs = (code: string) => tables.drugs.drugs.find((d) => d.hcpcs === code)!;
    for (const code of ['J1745', 'Q5103', 'J2350', 'J3380', 'J9312', 'J9271', 'J9045', 'J9190', 'J9217']) {
      expect([code, byHcpcs(code).family]).toEqual([code, 'chemo-complex']);
    }
    for (const code of ['J0897', 'J2357', 'J1459', 'J1756', 'J2405', 'J0696', 'J0640']) {
      expect([code, byHcpcs(code).family]).toEqual([code, 'therapeutic']);
    }
    for (const code of ['J7030', 'J7040', 'J7050', 'J7120', 'J7060']) {
      expect([code, byHcpcs(code).family]).toEqual([code, 'hydration']);
    }
    expect(byHcpcs('J9217').hormonalAntineoplastic).toBe(true);
    expect(byHcpcs('J9395').hormonalAntineoplastic).toBe(true);
    expect(byHcpcs('J1745').billingUnit).toEqual({ value: 10, unit: 'mg' });
    expect(byHcpcs('J0885').billingUnit).toEqual({ value: 1000, unit: '[iU]' });
    expect(byHcpcs('J9263').billingUnit).toEqual({ value: 0.5, unit: 'mg' });
    for (const d of tables.drugs.drugs) {
      expect(UCUM_UNITS[d.billingUnit.unit]).toBeDefined();
      expect(d.billingUnit.value).toBeGreaterThan(0);
    }
  });

  test('verification is honest: only the Remicade package is V', () => {
    const verified = tables.drugs.drugs.flatMap((d) => d.packages).filter((p) => p.verification === 'V');
    expect(verified.map((p) => p.ndc)).toEqual(['57894-0030-01']);
  });

  test('home per diem and HIT categories point at home-infusion.json', () => {
    const perDiem = new Set(tables.homeInfusion.perDiem.map((p) => p.code));
    expect(tables.drugs.drugs.find((d) => d.hcpcs === 'J0696')!.homePerDiem).toBe('S9500');
    expect(tables.drugs.drugs.find((d) => d.hcpcs === 'J1459')!.homePerDiem).toBe('S9338');
    expect(tables.drugs.drugs.find((d) => d.hcpcs === 'J9190')!.homePerDiem).toBe('S9329');
    for (const d of tables.drugs.drugs) {
      if (d.homePerDiem) {
        expect(perDiem.has(d.homePerDiem)).toBe(true);
      }
    }
    expect(tables.homeInfusion.nursing).toEqual({
      visit: '99601',
      additionalHour: '99602',
      visitMinutes: 120,
    });
    expect(tables.homeInfusion.medicareHit.map((h) => [h.category, h.firstVisit, h.subsequentVisit])).toEqual(
      [
        [1, 'G0088', 'G0068'],
        [2, 'G0089', 'G0069'],
        [3, 'G0090', 'G0070'],
      ],
    );
  });

  test('payer switches per R10.5, R11.5, R2.2, R15', () => {
    const { medicare, medicaid, commercial } = tables.payers;
    expect(medicare.wasteModifiers).toEqual({ jw: true, jzRequiredFrom: '2023-07-01' });
    expect(medicare.ndcRequired).toBe(false);
    expect(medicare.notes).toMatch(/UNCONFIRMED/);
    expect(medicare.homeInfusion).toBe('medicare-hit');
    expect(medicare.refusedCodes).toContain('S9500');
    expect(medicaid.wasteModifiers).toEqual({ jw: false, jzRequiredFrom: null });
    expect(medicaid.ndcRequired).toBe(true);
    expect(medicaid.homeInfusion).toBe('commercial-per-diem');
    expect(commercial.ndcRequired).toBe(true);
    expect(commercial.familyOverrides['J1745']).toBe('therapeutic');
    expect(commercial.distinctServiceModifier).toEqual({ separateSite: '59', separateEncounter: '59' });
  });

  test('administration codes: add-ons, 96376 facility-only, one code per family/role/route', () => {
    const codes = tables.administrationCodes.codes;
    const get = (c: string) => codes.find((x) => x.code === c)!;
    expect(get('96376').facilityOnly).toBe(true);
    for (const c of [
      '96361',
      '96366',
      '96367',
      '96368',
      '96375',
      '96376',
      '96411',
      '96415',
      '96417',
      '99602',
    ]) {
      expect([c, get(c).addOn]).toEqual([c, true]);
    }
    for (const c of [
      '96360',
      '96365',
      '96372',
      '96374',
      '96401',
      '96402',
      '96409',
      '96413',
      '96416',
      '99601',
    ]) {
      expect([c, get(c).addOn]).toEqual([c, false]);
    }
    const selectors = codes.map((c) =>
      [c.family, c.role, (c.routes ?? []).join('/'), String(c.hormonalAntineoplastic ?? '')].join('|'),
    );
    expect(new Set(selectors).size).toBe(selectors.length);
  });

  test('MUE: CMS practitioner values (Medicare, else Medicaid marked as a fallback) replace the placeholders', () => {
    const get = (c: string) => tables.mue.entries.filter((e) => e.code === c);
    // Medicare file (MAI 3 rows only): V, MAI 3.
    expect(get('96361')).toEqual([
      expect.objectContaining({ units: 8, verification: 'V', mai: 3, basis: 'medicare' }),
    ]);
    expect(get('J1745')).toEqual([
      expect.objectContaining({ units: 150, verification: 'V', basis: 'medicare' }),
    ]);
    expect(get('J9206')).toEqual([expect.objectContaining({ units: 42, verification: 'V' })]);
    // 96368 is not in the Medicare extract: Medicaid's value, UNVERIFIED (warn only) and marked.
    expect(get('96368')).toEqual([
      expect.objectContaining({ verification: 'UNVERIFIED', basis: 'medicaid-fallback' }),
    ]);
    // 96376 is 0 for Medicare practitioners (not payable, R5.2): no MUE value is taken from CMS.
    expect(get('96376').every((e) => e.basis === undefined)).toBe(true);
    for (const e of tables.mue.entries.filter((x) => x.basis === undefined)) {
      expect(['C', 'UNVERIFIED']).toContain(e.verification);
    }
  });

  test('NCCI pairs include the R2.5 bundles and second-initial pairs, all marked', () => {
    const has = (a: string, b: string) => tables.ncci.pairs.some((p) => p.column1 === a && p.column2 === b);
    expect(has('96360', '36000')).toBe(true);
    expect(has('96365', '36410')).toBe(true);
    expect(has('96413', '96523')).toBe(true);
    expect(has('96413', '96365')).toBe(true);
    for (const p of tables.ncci.pairs.filter((x) => x.rule === 'R2.2')) {
      expect(p.modifierIndicator).toBe('1');
    }
    for (const p of tables.ncci.pairs) {
      expect(['V', 'C', 'UNVERIFIED']).toContain(p.verification);
    }
  });

  test('revenue codes by kind (R14)', () => {
    expect(tables.revenueCodes.byKind).toMatchObject({
      administration: '0260',
      drug: '0636',
      'drug-packaged': '0250',
      'iv-solution': '0258',
      pump: '0261',
      supply: '0264',
      'drug:hydration': '0258',
    });
    expect(tables.revenueCodes.verification?.['administration']).toBe('UNVERIFIED');
  });
});

describe('no CPT descriptor text', () => {
  // Phrases of the AMA long descriptors; Dripline labels are its own words.
  const amaPhrases = [
    /each additional hour/i,
    /list separately/i,
    /in addition to code for primary/i,
    /for therapy, prophylaxis, or diagnosis/i,
    /specify substance or drug/i,
    /up to 1 hour/i,
    /initial, up to/i,
    /single or initial substance/i,
    /sequential infusion of a new drug/i,
    /requiring use of a portable or implantable pump/i,
    /subcutaneous or intramuscular/i,
  ];
  test('administration labels are short and our own', () => {
    for (const c of tables.administrationCodes.codes) {
      expect(c.label.length).toBeLessThanOrEqual(48);
      for (const re of amaPhrases) {
        expect([c.code, re.test(c.label)]).toEqual([c.code, false]);
      }
    }
  });
  test('home labels are short', () => {
    for (const p of [...tables.homeInfusion.perDiem, ...tables.homeInfusion.supplies]) {
      expect(p.label.length).toBeLessThanOrEqual(60);
    }
  });
});

describe('normalizeNdc (R11.1)', () => {
  test.each([
    ['4-4-2', '0409-4709-02', '00409470902'],
    ['5-3-2', '50242-051-21', '50242005121'],
    ['5-4-1', '12345-6789-1', '12345678901'],
    ['5-4-2 with hyphens', '57894-0030-01', '57894003001'],
    ['11 digits without hyphens', '57894003001', '57894003001'],
    ['surrounding whitespace', ' 0409-4709-02 ', '00409470902'],
  ])('%s', (_layout, printed, expected) => {
    expect(normalizeNdc(printed)).toBe(expected);
  });

  test.each([
    ['10 digits without hyphens (layout unknown)', '0409470902'],
    ['3-4-2', '409-4709-02'],
    ['5-3-1', '50242-051-2'],
    ['letters', '5789A-0030-01'],
    ['empty', ''],
    ['12 digits', '578940030011'],
    ['wrong separators', '57894.0030.01'],
    ['four segments', '57894-0030-01-1'],
  ])('garbage → undefined: %s', (_what, printed) => {
    expect(normalizeNdc(printed)).toBeUndefined();
  });
});

describe('findDrug', () => {
  test('every sandbox THERAPIES NDC resolves to its product', () => {
    for (const t of THERAPIES) {
      const hit = findDrug(tables, { ndc: t.ndc });
      expect([t.key, hit?.drug.hcpcs]).toEqual([t.key, t.hcpcs]);
      expect([t.key, hit?.drug.billingUnit]).toEqual([
        t.key,
        { value: t.billingUnit.value, unit: t.billingUnit.code },
      ]);
      expect([t.key, hit?.package?.contains]).toEqual([
        t.key,
        { value: t.packageAmount.value, unit: t.packageAmount.code },
      ]);
      expect([t.key, hit?.drug.container === 'single-dose']).toEqual([t.key, t.singleDose]);
      expect([t.key, hit?.package?.verification]).toEqual([t.key, t.ndcVerified ? 'V' : 'UNVERIFIED']);
    }
  });

  test('every NDC in a generated sandbox day resolves', () => {
    const day = generateInfusionDay({ date: '2026-03-10', patients: 36 });
    const ndcs = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) {
        v.forEach(walk);
      } else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (o['system'] === SYSTEMS.ndc && typeof o['code'] === 'string') {
          ndcs.add(o['code']);
        }
        Object.values(o).forEach(walk);
      }
    };
    walk(day.reference);
    walk(day.timeline.map((s) => s.resource));
    expect(ndcs.size).toBeGreaterThan(0);
    for (const ndc of ndcs) {
      expect([ndc, findDrug(tables, { ndc })?.package]).toEqual([ndc, expect.objectContaining({ ndc })]);
    }
  });

  test('NDC matches in any printed form; NDC wins over RxNorm and HCPCS', () => {
    expect(findDrug(tables, { ndc: '57894003001' })?.drug.key).toBe('infliximab-remicade');
    expect(findDrug(tables, { ndc: '00409-4709-02' })?.drug.hcpcs).toBe('J9263');
    const hit = findDrug(tables, { ndc: '0409-4709-02', rxnorm: '191831', hcpcs: 'J1745' });
    expect(hit?.drug.hcpcs).toBe('J9263');
    expect(hit?.package?.ndc11).toBe('00409470902');
  });

  test('falls back to RxNorm, then HCPCS; unknown gives undefined', () => {
    expect(findDrug(tables, { ndc: '99999-9999-99', rxnorm: '191831' })).toEqual({
      drug: expect.objectContaining({ hcpcs: 'J1745' }),
    });
    expect(findDrug(tables, { rxnorm: 'nope', hcpcs: 'j9312' })?.drug.key).toBe('rituximab-rituxan');
    expect(findDrug(tables, { hcpcs: 'J1745' })?.package).toBeUndefined();
    expect(findDrug(tables, { ndc: 'garbage' })).toBeUndefined();
    expect(findDrug(tables, {})).toBeUndefined();
  });
});

describe('cross-checks reject a corrupted copy with file and path', () => {
  test('duplicate NDC', () => {
    const i = drugIndex('rituximab-rituxan');
    const dir = brokenCopy('drugs.json', (t) => {
      t.drugs[i].packages[1] = { ...t.drugs[i].packages[1], ndc: '57894-0030-01', ndc11: '57894003001' };
      return t;
    });
    const err = loadError(dir);
    expect(err.message).toContain(`drugs.json: $.drugs[${i}].packages[1].ndc11: duplicate NDC 57894003001`);
    expect(err.issues).toHaveLength(1);
  });

  test('ndc11 that is not the normalization of the printed NDC', () => {
    const i = drugIndex('oxaliplatin');
    const dir = brokenCopy('drugs.json', (t) => {
      t.drugs[i].packages[0].ndc11 = '04094709020';
      return t;
    });
    expect(loadError(dir).message).toContain(
      `drugs.json: $.drugs[${i}].packages[0].ndc11: "04094709020" is not the 5-4-2 normalization of "0409-4709-02" (expected "00409470902")`,
    );
  });

  test('bad billing unit', () => {
    const i = drugIndex('infliximab-remicade');
    const dir = brokenCopy('drugs.json', (t) => {
      t.drugs[i].billingUnit.unit = 'milligrams';
      return t;
    });
    const err = loadError(dir);
    expect(err.message).toContain(
      `drugs.json: $.drugs[${i}].billingUnit.unit: "milligrams" is not an accepted UCUM unit`,
    );
  });

  test('zero billing unit fails the schema', () => {
    const dir = brokenCopy('drugs.json', (t) => {
      t.drugs[2].billingUnit.value = 0;
      return t;
    });
    expect(loadError(dir).message).toContain('drugs.json: $.drugs[2].billingUnit.value: must be > 0');
  });

  test('package contents in a unit that cannot convert to the billing unit', () => {
    const i = drugIndex('infliximab-remicade');
    const dir = brokenCopy('drugs.json', (t) => {
      t.drugs[i].packages[0].contains.unit = 'mL';
      return t;
    });
    expect(loadError(dir).message).toContain(
      `$.drugs[${i}].packages[0].contains.unit: "mL" (volume) cannot be converted`,
    );
  });

  test('unknown family value', () => {
    const dir = brokenCopy('drugs.json', (t) => {
      t.drugs[0].family = 'chemo';
      return t;
    });
    expect(loadError(dir).message).toMatch(
      /drugs\.json: \$\.drugs\[0\]\.family: must be one of "chemo-complex"/,
    );
  });

  test('duplicate drug key', () => {
    const dir = brokenCopy('drugs.json', (t) => {
      t.drugs[1].key = t.drugs[0].key;
      return t;
    });
    expect(loadError(dir).message).toContain(`drugs.json: $.drugs[1].key: duplicate drug key`);
  });

  test('unknown familyOverrides HCPCS', () => {
    const dir = brokenCopy('payer-commercial.json', (t) => {
      t.familyOverrides.J9999 = 'therapeutic';
      return t;
    });
    expect(loadError(dir).message).toContain(
      'payer-commercial.json: $.familyOverrides.J9999: HCPCS J9999 is neither in the drug catalog',
    );
  });

  test('missing payer', () => {
    const dir = brokenCopy('payer-medicaid.json', () => undefined);
    const err = loadError(dir);
    expect(err.message).toContain('payer-medicaid.json: $: file not found');
    expect(err.issues.map((x) => x.file)).toEqual(['payer-medicaid.json']);
  });

  test('payer file holding the wrong payer', () => {
    const dir = brokenCopy('payer-medicaid.json', (t) => ({ ...t, payer: 'commercial' }));
    expect(loadError(dir).message).toContain(
      'payer-medicaid.json: $.payer: file payer-medicaid.json must hold the "medicaid" rule set',
    );
  });

  test('homePerDiem not in home-infusion.json', () => {
    const i = drugIndex('ceftriaxone');
    const dir = brokenCopy('drugs.json', (t) => {
      t.drugs[i].homePerDiem = 'S9999';
      return t;
    });
    expect(loadError(dir).message).toContain(
      `drugs.json: $.drugs[${i}].homePerDiem: S9999 is not a per diem code`,
    );
  });

  test('misspelt property and invalid JSON', () => {
    const dir = brokenCopy('mue.json', (t) => {
      t.entries[0].unit = 3;
      return t;
    });
    expect(loadError(dir).message).toContain('mue.json: $.entries[0].unit: is not an allowed property');
    const bad = brokenCopy('ncci.json', (t) => t);
    writeFileSync(path.join(bad, 'ncci.json'), '{ not json');
    expect(loadError(bad).message).toMatch(/ncci\.json: \$: cannot be read or parsed/);
  });

  test('revenue key qualified by an unknown therapy class', () => {
    const dir = brokenCopy('revenue-codes.json', (t) => {
      t.byKind['drug:fluids'] = '0258';
      return t;
    });
    expect(loadError(dir).message).toContain(
      `revenue-codes.json: $.byKind['drug:fluids']: "fluids" is not a drug therapyClass`,
    );
  });

  test('codingTablesOnFirstUse reads a directory only when a table is asked for, and throws then', () => {
    const dir = brokenCopy('payer-medicare.json', (t) => {
      t.distinctServiceModifier.separateSite = '25';
      return t;
    });
    const view = codingTablesOnFirstUse(dir); // nothing read yet: a broken table does not throw here
    expect(() => view.payers).toThrow(/payer-medicare\.json: \$\.distinctServiceModifier\.separateSite/);
    expect(() => view.drugs).toThrow(CodingTableError);
  });

  test('a failed load is not cached', () => {
    const dir = brokenCopy('payer-medicare.json', (t) => {
      t.distinctServiceModifier.separateSite = '25';
      return t;
    });
    expect(() => loadCodingTables(dir)).toThrow(
      /payer-medicare\.json: \$\.distinctServiceModifier\.separateSite/,
    );
    expect(() => loadCodingTables(dir)).toThrow(CodingTableError);
  });
});
