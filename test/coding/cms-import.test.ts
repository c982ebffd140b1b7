/**
 * The CMS import: billing units from every dosage form the ASP file uses, drug-name keys, files
 * recognised by content, a new quarter imported with one command and chosen by date of service, and
 * — when ../shared/data/cms is present — the committed table being exactly what the import produces
 * from the public files (so a stale table fails).
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseCsv } from '../../src/coding/cms/csv.ts';
import { parseDescriptorUnit, parseHcpcsDosage } from '../../src/coding/cms/dosage.ts';
import { buildCmsQuarter, CmsImportError, serializeCmsQuarter } from '../../src/coding/cms/import.ts';
import type { CmsQuarterTable } from '../../src/coding/cms/table-format.ts';
import { descriptorNames, nameKey } from '../../src/coding/cms/names.ts';
import { codeEncounters } from '../../src/coding/engine/index.ts';
import { CMS_DIR, DEFAULT_TABLES_DIR, loadCodingTables } from '../../src/coding/tables/load.ts';
import { runImportCms } from '../../src/cli/tables-command.ts';
import type { CodingInput } from '../../src/coding/types.ts';

const SHARED = path.resolve('../shared/data/cms');
const HAS_SHARED = existsSync(path.join(SHARED, 'asp-pricing-2026Q1.csv'));
const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs) {
    rmSync(d, { recursive: true, force: true });
  }
});
function temp(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

describe('billing units from the CMS dosage strings (every form of the January 2026 ASP file)', () => {
  test.each([
    ['20 MG', { kind: 'amount', value: 20, unit: 'mg' }],
    ['1MG', { kind: 'amount', value: 1, unit: 'mg' }],
    ['1.125 GM', { kind: 'amount', value: 1.125, unit: 'g' }],
    ['500 MCG', { kind: 'amount', value: 500, unit: 'ug' }],
    ['1 ML', { kind: 'amount', value: 1, unit: 'mL' }],
    ['1000 CC', { kind: 'amount', value: 1000, unit: 'mL' }],
    ['150 IU', { kind: 'amount', value: 150, unit: '[iU]' }],
    ['100,000 UNITS', { kind: 'amount', value: 100000, unit: 'U' }],
    ['5 Unit', { kind: 'amount', value: 5, unit: 'U' }],
    ['1 USP UNIT', { kind: 'amount', value: 1, unit: 'U' }],
    ['2 MEQ', { kind: 'amount', value: 2, unit: 'meq' }],
    ['1 microCurie', { kind: 'amount', value: 1, unit: 'uCi' }],
    ['1 SQ CM', { kind: 'amount', value: 1, unit: 'cm2' }],
    ['1 million\u00a0PFU', { kind: 'amount', value: 1, unit: '10*6.[PFU]' }],
    ['1 I.U. VWF:RCO', { kind: 'amount', value: 1, unit: '[iU]' }],
    ['PER FACTOR VIII IU', { kind: 'amount', value: 1, unit: '[iU]' }],
    ['up to 5 MG', { kind: 'amount', value: 5, unit: 'mg', upTo: true }],
    ['UP TO 1 GM', { kind: 'amount', value: 1, unit: 'g', upTo: true }],
    ['50 MCG (250 IU)', { kind: 'amount', value: 50, unit: 'ug', alt: { value: 250, unit: '[iU]' } }],
    [
      '10 MG/3MG',
      {
        kind: 'amount',
        value: 10,
        unit: 'mg',
        components: [
          { value: 10, unit: 'mg' },
          { value: 3, unit: 'mg' },
        ],
      },
    ],
    ['4 MG-4 MG-2 MG', expect.objectContaining({ kind: 'amount', value: 4, unit: 'mg' })],
    ['3 MG & 3 MG', expect.objectContaining({ kind: 'amount', value: 3, unit: 'mg' })],
    ['0.25 MG - 5 MG', expect.objectContaining({ kind: 'amount', value: 0.25, unit: 'mg' })],
    [
      '75mg (50mg cft/25mg taz)',
      expect.objectContaining({ kind: 'amount', value: 75, unit: 'mg', total: true }),
    ],
    ['Per 3.2 mg single-use applicator', { kind: 'amount', value: 3.2, unit: 'mg' }],
    ['PER VIAL', { kind: 'per-package', per: 'vial' }],
    ['1 EA', { kind: 'per-package', per: 'each' }],
    ['1 EACH', { kind: 'per-package', per: 'each' }],
    ['per dose', { kind: 'per-administration', per: 'dose' }],
    ['1 DOSE', { kind: 'per-administration', per: 'dose' }],
    ['PER THERAPEUTIC DOSE', { kind: 'per-administration', per: 'therapeutic dose' }],
    ['PER IMPLANT', { kind: 'per-administration', per: 'implant' }],
    ['Per infusion (minimum 50 million cells)', { kind: 'per-administration', per: 'infusion' }],
    ['UP TO 200 MILLION CAR T CELLS', expect.objectContaining({ kind: 'per-administration' })],
    [
      'up to 100 million autologous b-cell maturation antigen (bcma) directed car-positive t cells',
      expect.objectContaining({ kind: 'per-administration' }),
    ],
    ['Less than or equal to 7 days of therapy', expect.objectContaining({ kind: 'per-administration' })],
    [
      'Less than or equal to 100 MG',
      { kind: 'per-administration', per: 'administration', max: { value: 100, unit: 'mg', inclusive: true } },
    ],
    [
      'Greater than 100 MG',
      {
        kind: 'per-administration',
        per: 'administration',
        min: { value: 100, unit: 'mg', inclusive: false },
      },
    ],
  ])('"%s"', (dosage, expected) => {
    expect(parseHcpcsDosage(dosage)).toEqual(expected);
  });

  test('strings that are no billing unit give undefined', () => {
    for (const s of ['', 'see note', 'MG', '10 furlongs']) {
      expect(parseHcpcsDosage(s)).toBeUndefined();
    }
  });

  test('HCPCS long descriptors of codes outside the ASP file', () => {
    expect(parseDescriptorUnit('Injection, vancomycin hcl, 500 mg')).toEqual({
      kind: 'amount',
      value: 500,
      unit: 'mg',
    });
    expect(parseDescriptorUnit('Injection, cefotaxime sodium, per gm')).toEqual({
      kind: 'amount',
      value: 1,
      unit: 'g',
    });
    expect(parseDescriptorUnit('Injection, diphenhydramine hcl, up to 50 mg')).toMatchObject({
      value: 50,
      upTo: true,
    });
    expect(
      parseDescriptorUnit(
        'Injection, argatroban (accord), not therapeutically equivalent to j0884, 1 mg (for esrd on dialysis)',
      ),
    ).toEqual({ kind: 'amount', value: 1, unit: 'mg' });
    expect(parseDescriptorUnit('Injection, factor viii, fc fusion protein, (recombinant), per i.u.')).toEqual(
      {
        kind: 'amount',
        value: 1,
        unit: '[iU]',
      },
    );
    expect(parseDescriptorUnit('Injection, phenylephrine and ketorolac, 4 ml vial')).toBeUndefined();
  });
});

describe('drug-name keys', () => {
  test('salts and noise words go, unless nothing else is left; hyphenated suffixes split', () => {
    expect(nameKey('Irinotecan HCl')).toBe('irinotecan');
    expect(nameKey('piperacillin sodium/tazobactam sodium')).toBe('piperacillin tazobactam');
    expect(nameKey('Potassium Chloride')).toBe('chloride potassium');
    expect(nameKey('rituximab-abbs')).toBe('abbs rituximab');
    expect(nameKey('leucovorin calcium')).not.toBe(nameKey('levoleucovorin calcium'));
  });

  test('a descriptor names its drug and its brand, not its remarks', () => {
    expect(
      descriptorNames('Injection, infliximab-dyyb, biosimilar, (inflectra), 10 mg').map(nameKey),
    ).toEqual(['dyyb infliximab', 'inflectra']);
    expect(
      descriptorNames('Injection, argatroban (accord), 1 mg (for esrd on dialysis)').map(nameKey),
    ).toEqual(['argatroban', 'accord']);
  });
});

// ---------------------------------------------------------------------------------------------
// Small CMS-shaped files, as CMS publishes them (preamble, Latin-1, padding columns)
// ---------------------------------------------------------------------------------------------

const pad = ','.repeat(12);
function aspFile(from: string, through: string, rows: readonly string[]): Buffer {
  return Buffer.from(
    [
      `Payment Allowance Limits for Medicare Part B Drugs,,,,,,,,,,,`,
      `,,,,,,,,,,,`,
      `"Effective ${from} through ${through}",,,,,,,,,,,`,
      `Note 1: Payment allowance limits \u00e9t\u00e9 based on ASP data.,,,,,,,,,,,`,
      `HCPCS Code,Short Description,HCPCS Code Dosage,Payment Limit,Co-insurance Percentage,Vaccine AWP%,Vaccine Limit,Blood AWP%,Blood limit,Clotting Factor,Notes,`,
      ...rows,
    ].join('\r\n'),
    'latin1',
  );
}
function crosswalkFile(from: string, through: string, rows: readonly string[]): Buffer {
  return Buffer.from(
    [
      `April 2026 ASP NDC - HCPCS Crosswalk for Medicare Part B Drugs${pad}`,
      `"     Effective ${from} through ${through}"${pad}`,
      pad,
      `_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,PKG QTY,BILLUNITS,BILLUNITSPKG${pad}`,
      ...rows.map((r) => `${r}${pad}`),
    ].join('\r\n'),
    'latin1',
  );
}

describe('buildCmsQuarter on CMS-shaped files', () => {
  const asp = aspFile('April 1, 2026', 'June 30, 2026', [
    'J9206,Irinotecan injection,20 MG,2.000,20.000,,,,,,,',
    'J0690,Cefazolin sodium injection,500 MG,0.900,20.000,,,,,,,',
    '90375,Rabies ig im/sc,150 IU,279.949,20.000,,,,,,,',
  ]);
  const crosswalk = crosswalkFile('April 1, 2026', 'June 30, 2026', [
    'J9206,Irinotecan injection,"Sagent, Inc.",25021-0230-02,Irinotecan HCl,20 MG,2,1,2,2',
    'J9206,Irinotecan injection,Sagent,25021-0230-05,Irinotecan HCl,20 MG,5,1,5,5',
    'J0690,Cefazolin sodium injection,Hikma,0143-9924-90,Cefazolin,500 MG,1,25,2,50',
    'J0690,Cefazolin sodium injection,Bad Data,8888674136891,Cefazolin,500 MG,1,1,2,2',
  ]);

  test('files are recognised by content (names do not matter), with the quarter the ASP file states', () => {
    const table = buildCmsQuarter(
      [
        { name: 'download (1).csv', bytes: crosswalk },
        { name: 'whatever.csv', bytes: asp },
        { name: 'notes.txt', bytes: Buffer.from('ignored') },
      ],
      '2026-04-02',
    );
    expect(table).toMatchObject({
      quarter: '2026Q2',
      effective: '2026-04-01',
      through: '2026-06-30',
      imported: '2026-04-02',
    });
    expect(table.hcpcs.map((r) => r[0])).toEqual(['90375', 'J0690', 'J9206']);
    // CPT-coded products never carry the AMA descriptor.
    expect(table.hcpcs[0]?.[1]).not.toMatch(/rabies/i);
    expect(table.ndc.map((r) => r.slice(0, 2))).toEqual([
      ['00143992490', 'J0690'],
      ['25021023002', 'J9206'],
      ['25021023005', 'J9206'],
    ]);
    expect(table.skipped).toEqual([
      'crosswalk: NDC "8888674136891" of J0690 is not an NDC as printed (5-4-2, 4-4-2, 5-3-2, 5-4-1)',
    ]);
    expect(table.sources.map((s) => s.kind).sort()).toEqual(['asp-crosswalk', 'asp-pricing']);
  });

  test('files of different quarters, or a missing ASP file, are refused', () => {
    const january = crosswalkFile('January 1, 2026', 'March 31, 2026', []);
    expect(() =>
      buildCmsQuarter(
        [
          { name: 'a.csv', bytes: asp },
          { name: 'b.csv', bytes: january },
        ],
        '2026-04-02',
      ),
    ).toThrow(CmsImportError);
    expect(() => buildCmsQuarter([{ name: 'b.csv', bytes: crosswalk }], '2026-04-02')).toThrow(
      /ASP pricing file/,
    );
  });

  test('a new quarter is one command: the table is added beside the others and chosen by date of service', () => {
    const source = temp('dripline-cms-q2-');
    writeFileSync(path.join(source, 'asp.csv'), asp);
    writeFileSync(path.join(source, 'crosswalk.csv'), crosswalk);
    const tables = temp('dripline-tables-q2-');
    for (const f of readdirSync(DEFAULT_TABLES_DIR).filter((x) => x.endsWith('.json'))) {
      cpSync(path.join(DEFAULT_TABLES_DIR, f), path.join(tables, f));
    }
    mkdirSync(path.join(tables, CMS_DIR));
    cpSync(path.join(DEFAULT_TABLES_DIR, CMS_DIR, '2026Q1.json'), path.join(tables, CMS_DIR, '2026Q1.json'));

    const summary = runImportCms([source, '--out', tables], new Date('2026-04-02T12:00:00Z'));
    expect(summary).toMatchObject({ quarter: '2026Q2', hcpcs: 3, ndc: 3 });
    expect(readdirSync(path.join(tables, CMS_DIR)).sort()).toEqual(['2026Q1.json', '2026Q2.json']);

    const loaded = loadCodingTables(tables);
    expect(loaded.cms.quarters.map((q) => q.id)).toEqual(['2026Q1', '2026Q2']);
    const irinotecan = (day: string) => {
      const input: CodingInput = {
        setting: 'office',
        payer: 'medicare',
        encounters: [{ id: 'E1', kind: 'visit', diagnoses: ['C18.9'] }],
        administrations: [
          {
            id: 'a',
            encounterId: 'E1',
            status: 'completed',
            drug: { hcpcs: 'J9206' },
            route: 'intravenous',
            dose: { value: 180, unit: 'mg' },
            start: `${day}T14:00:00Z`,
            end: `${day}T15:30:00Z`,
            ordered: true,
          },
        ],
      };
      return codeEncounters(input, loaded).lines.find((l) => l.code.code === 'J9206')!;
    };
    // January: the January file's limit (1.794); May: the new quarter's (2.000); August (no table
    // yet): the nearest earlier quarter, said on the line.
    expect(irinotecan('2026-02-10').payment).toMatchObject({ quarter: '2026Q1', perUnit: 1.794 });
    expect(irinotecan('2026-05-05').payment).toMatchObject({ quarter: '2026Q2', perUnit: 2, amount: 18 });
    const august = irinotecan('2026-08-03');
    expect(august.payment).toMatchObject({ quarter: '2026Q2' });
    expect(august.rationale.text).toContain('outside the imported CMS quarters');
  });
});

(HAS_SHARED ? describe : describe.skip)(
  `the committed table is what the import makes of the public CMS files (${HAS_SHARED ? '../shared/data/cms' : 'skipped: ../shared/data/cms not present'})`,
  () => {
    test('re-importing ../shared/data/cms reproduces cms/2026Q1.json byte for byte', () => {
      const committed = readFileSync(path.join(DEFAULT_TABLES_DIR, CMS_DIR, '2026Q1.json'), 'utf8');
      const imported = (JSON.parse(committed) as CmsQuarterTable).imported;
      const files = readdirSync(SHARED)
        .filter((n) => /\.(csv|json)$/.test(n))
        .sort()
        .map((name) => ({ name, bytes: readFileSync(path.join(SHARED, name)) }));
      const fresh = serializeCmsQuarter(buildCmsQuarter(files, imported));
      expect(fresh === committed).toBe(true);
    });

    test('the crosswalk is read whole: 6,946 NDCs less the one CMS prints with 12 digits', () => {
      const table = JSON.parse(readFileSync(path.join(DEFAULT_TABLES_DIR, CMS_DIR, '2026Q1.json'), 'utf8'));
      expect(new Set(table.ndc.map((r: string[]) => r[0])).size).toBe(6945);
      const raw = parseCsv(
        readFileSync(path.join(SHARED, 'asp-ndc-hcpcs-crosswalk-2026Q1.csv')).toString('latin1'),
      );
      expect(raw.filter((r) => /^\d{5}-\d{4}-\d{2}$/.test(r[3] ?? '')).length).toBe(7124);
    });
  },
);
