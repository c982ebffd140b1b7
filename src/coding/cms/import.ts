/**
 * The CMS drug-table import: pure functions from the public CMS files to Dripline's compact
 * per-quarter table (src/coding/tables/cms/<quarter>.json). No I/O: the CLI command
 * (`npm run cli -- tables import-cms <dir>`) reads the files and writes the result.
 *
 * Files are recognised by their content (header row), not their names, so a quarter downloaded
 * from CMS under its own names imports the same way:
 * - ASP pricing file ("Payment Allowance Limits for Medicare Part B Drugs"): the universe of
 *   separately payable Part B drugs, their billing unit ("HCPCS Code Dosage"), payment limit and
 *   coinsurance; its "Effective … through …" line names the quarter;
 * - ASP NDC–HCPCS crosswalk: NDC (5-4-2) → HCPCS, package size and quantity, billing units per
 *   item and per package; must be of the same quarter;
 * - HCPCS Level II file: short and long descriptors (labels, drug names, billing units of the J/Q/C
 *   drug codes the ASP file does not price);
 * - OPPS Addendum B: status indicator (K separately payable, N packaged…) and APC rate;
 * - practitioner MUE values, Medicare (`{code: {maxUnits, adjudicationType}}`) and Medicaid
 *   (`{code: {limit, unit, rationale}}`), the Medicaid value used only where Medicare has none.
 * CPT descriptors (AMA) are never copied: CPT-coded products get Dripline's own label.
 */
import { createHash } from 'node:crypto';
import { cell, parseCsv } from './csv.ts';
import { parseDescriptorUnit, parseHcpcsDosage } from './dosage.ts';
import type { BillingUnit } from './dosage.ts';
import type {
  CmsFileKind,
  CmsHcpcsRow,
  CmsMueRow,
  CmsNdcRow,
  CmsQuarterTable,
  CmsSource,
} from './table-format.ts';
import { descriptorNames, nameKey } from './names.ts';
import { normalizeNdc } from '../ndc.ts';
import { quarterOf } from '../tables/cms.ts';

export interface CmsFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export class CmsImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CmsImportError';
  }
}

// ---------------------------------------------------------------------------------------------
// Recognising files
// ---------------------------------------------------------------------------------------------

interface Table {
  readonly preamble: readonly string[];
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Finds the header row (the first whose cells include every `required` name) and the data after it. */
function tableOf(rows: readonly string[][], required: readonly string[]): Table | undefined {
  const limit = Math.min(rows.length, 40);
  for (let i = 0; i < limit; i++) {
    const cells = (rows[i] ?? []).map((c) => cell(c).toUpperCase());
    if (required.every((r) => cells.includes(r))) {
      return {
        preamble: rows.slice(0, i).map((r) =>
          r
            .map(cell)
            .filter((c) => c !== '')
            .join(' '),
        ),
        header: cells,
        rows: rows.slice(i + 1).filter((r) => cell(r[0]) !== '' || cell(r[1]) !== ''),
      };
    }
  }
  return undefined;
}

const CSV_KINDS: readonly { kind: CmsFileKind; required: readonly string[] }[] = [
  { kind: 'asp-pricing', required: ['HCPCS CODE', 'HCPCS CODE DOSAGE', 'PAYMENT LIMIT'] },
  { kind: 'asp-crosswalk', required: ['NDC2', 'BILLUNITS', 'BILLUNITSPKG'] },
  { kind: 'hcpcs', required: ['HCPCS_CODE', 'LONG_DESCRIPTION'] },
  { kind: 'opps-addendum-b', required: ['HCPCS CODE', 'SI', 'APC', 'PAYMENT RATE'] },
];

interface Recognised {
  readonly file: CmsFile;
  readonly kind: CmsFileKind;
  readonly table?: Table;
  readonly json?: Record<string, Record<string, unknown>>;
}

function recognise(file: CmsFile): Recognised | undefined {
  if (/\.json$/i.test(file.name)) {
    const json = JSON.parse(Buffer.from(file.bytes).toString('utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    const first = Object.values(json)[0];
    if (first && 'maxUnits' in first) {
      return { file, kind: 'mue-medicare', json };
    }
    if (first && 'limit' in first) {
      return { file, kind: 'mue-medicaid', json };
    }
    return undefined;
  }
  if (!/\.csv$/i.test(file.name)) {
    return undefined;
  }
  const rows = parseCsv(Buffer.from(file.bytes).toString('latin1'));
  for (const { kind, required } of CSV_KINDS) {
    const table = tableOf(rows, required);
    if (table) {
      return { file, kind, table };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------------

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

function isoDate(text: string): string | undefined {
  const m = /([a-z]+)\s+(\d{1,2}),\s*(\d{4})/i.exec(text);
  const month = m?.[1] ? MONTHS.indexOf(m[1].toLowerCase()) : -1;
  return m?.[2] && m[3] && month >= 0
    ? `${m[3]}-${String(month + 1).padStart(2, '0')}-${m[2].padStart(2, '0')}`
    : undefined;
}

/** "Effective January 1, 2026 through March 31, 2026" → the two dates. */
function effectivePeriod(preamble: readonly string[]): { from: string; through: string } | undefined {
  for (const line of preamble) {
    const m = /effective\s+(.+?)\s+through\s+(.+)$/i.exec(line);
    const from = m?.[1] ? isoDate(m[1]) : undefined;
    const through = m?.[2] ? isoDate(m[2]) : undefined;
    if (from && through) {
      return { from, through };
    }
  }
  return undefined;
}

function periodFromName(name: string): string | undefined {
  return /(\d{4})[-_ ]?Q([1-4])/i.exec(name)?.slice(1, 3).join('Q');
}

// ---------------------------------------------------------------------------------------------
// Building the quarter table
// ---------------------------------------------------------------------------------------------

function numberOrNull(text: string | undefined): number | null {
  const s = cell(text).replace(/[$,]/g, '');
  if (s === '' || !/^-?\d*\.?\d+$/.test(s)) {
    return null;
  }
  return Number(s);
}

function column(table: Table, name: string): number {
  const i = table.header.indexOf(name);
  if (i < 0) {
    throw new CmsImportError(`column "${name}" not found`);
  }
  return i;
}

/** HCPCS Level II drug codes outside the ASP file that the table still describes (J codes; Q0/Q2/Q5/Q9; C90xx–C94xx). */
const HCPCS_DRUG_CODE = /^(J\d{4}|Q[0259]\d{3}|C9[0-4]\d{2})$/;
/** Codes whose MUE the table keeps besides the drugs: drug administration, home infusion visits, HIT G-codes. */
const MUE_OTHER_CODES = /^(9636\d|9637\d|964[0-4]\d|9654\d|9960[12]|G00(6[89]|70|8[89]|90))$/;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Dripline's own label for a CPT-coded product (CPT descriptors are AMA copyright). */
function cptLabel(code: string, dosage: string): string {
  return `Vaccine/immune globulin product ${code}, ${dosage}`.slice(0, 60);
}

/**
 * Builds one quarter's table from the CMS files (any order; unrecognised files are ignored). The
 * ASP pricing file and the crosswalk are required and must cover the same quarter.
 */
export function buildCmsQuarter(files: readonly CmsFile[], imported: string): CmsQuarterTable {
  const recognised = files.map(recognise).filter((r): r is Recognised => r !== undefined);
  const byKind = new Map<CmsFileKind, Recognised>();
  for (const r of recognised) {
    const other = byKind.get(r.kind);
    if (other) {
      throw new CmsImportError(`two ${r.kind} files: ${other.file.name} and ${r.file.name}`);
    }
    byKind.set(r.kind, r);
  }
  const asp = byKind.get('asp-pricing')?.table;
  const crosswalk = byKind.get('asp-crosswalk')?.table;
  if (!asp || !crosswalk) {
    throw new CmsImportError(
      `the ASP pricing file and the ASP NDC-HCPCS crosswalk are required; found: ${[...byKind.keys()].join(', ') || 'none'}`,
    );
  }
  const period = effectivePeriod(asp.preamble);
  if (!period) {
    throw new CmsImportError('the ASP pricing file does not say "Effective <date> through <date>"');
  }
  const quarter = quarterOf(period.from);
  const crosswalkPeriod = effectivePeriod(crosswalk.preamble);
  if (crosswalkPeriod && quarterOf(crosswalkPeriod.from) !== quarter) {
    throw new CmsImportError(
      `the crosswalk covers ${quarterOf(crosswalkPeriod.from)}, the ASP pricing file ${quarter}: import files of one quarter`,
    );
  }
  const skipped: string[] = [];

  // HCPCS Level II descriptors.
  const descriptors = new Map<string, { short: string; long: string }>();
  const hcpcs = byKind.get('hcpcs')?.table;
  if (hcpcs) {
    const [c, s, l] = [
      column(hcpcs, 'HCPCS_CODE'),
      column(hcpcs, 'SHORT_DESCRIPTION'),
      column(hcpcs, 'LONG_DESCRIPTION'),
    ];
    for (const r of hcpcs.rows) {
      descriptors.set(cell(r[c]).toUpperCase(), { short: cell(r[s]), long: cell(r[l]) });
    }
  }

  // OPPS status indicators.
  const opps = new Map<string, { si: string; rate: number | null }>();
  const oppsTable = byKind.get('opps-addendum-b')?.table;
  if (oppsTable) {
    const [c, si, rate] = [
      column(oppsTable, 'HCPCS CODE'),
      column(oppsTable, 'SI'),
      column(oppsTable, 'PAYMENT RATE'),
    ];
    for (const r of oppsTable.rows) {
      opps.set(cell(r[c]).toUpperCase(), { si: cell(r[si]), rate: numberOrNull(r[rate]) });
    }
  }

  // Crosswalk: NDC rows and drug names per HCPCS.
  const ndc = new Map<string, CmsNdcRow[]>();
  const crosswalkNames = new Map<string, Set<string>>();
  const crosswalkDosage = new Map<string, string>();
  {
    const t = crosswalk;
    const code = t.header.findIndex((h) => /^_?\d{4}_CODE$|^HCPCS/.test(h));
    if (code < 0) {
      throw new CmsImportError('crosswalk: no HCPCS code column');
    }
    const [ndcCol, name, dosage, size, qty, bu, bupkg] = [
      column(t, 'NDC2'),
      column(t, 'DRUG NAME'),
      column(t, 'HCPCS DOSAGE'),
      column(t, 'PKG SIZE'),
      column(t, 'PKG QTY'),
      column(t, 'BILLUNITS'),
      column(t, 'BILLUNITSPKG'),
    ];
    for (const r of t.rows) {
      const h = cell(r[code]).toUpperCase();
      // CMS prints 5-4-2; a 10-digit form (4-4-2, 5-3-2, 5-4-1) is padded the usual way (R11.1).
      const digits = normalizeNdc(cell(r[ndcCol]));
      const numbers = [size, qty, bu, bupkg].map((i) => numberOrNull(r[i]));
      if (digits === undefined) {
        skipped.push(
          `crosswalk: NDC "${cell(r[ndcCol])}" of ${h} is not an NDC as printed (5-4-2, 4-4-2, 5-3-2, 5-4-1)`,
        );
        continue;
      }
      if (numbers.some((n) => n === null || !(n > 0))) {
        skipped.push(`crosswalk: NDC ${digits} of ${h} has no package size or billing units`);
        continue;
      }
      const [s, q, b, bp] = numbers as [number, number, number, number];
      const list = ndc.get(digits) ?? [];
      if (!list.some((x) => x[1] === h)) {
        list.push([digits, h, s, q, b, bp]);
      }
      ndc.set(digits, list);
      const key = nameKey(cell(r[name]));
      if (key !== '') {
        const names = crosswalkNames.get(h) ?? new Set<string>();
        names.add(key);
        crosswalkNames.set(h, names);
      }
      if (!crosswalkDosage.has(h)) {
        crosswalkDosage.set(h, cell(r[dosage]));
      }
    }
  }

  const namesOf = (code: string): string[] => {
    const names = new Set<string>();
    const d = descriptors.get(code);
    for (const n of d ? descriptorNames(d.long) : []) {
      const key = nameKey(n);
      if (key !== '') {
        names.add(key);
      }
    }
    // The descriptor's names first (the engine shows the first), then the crosswalk's, sorted.
    for (const n of [...(crosswalkNames.get(code) ?? [])].sort()) {
      names.add(n);
    }
    return [...names];
  };
  const oral = (code: string): boolean => /\boral\b/i.test(descriptors.get(code)?.long ?? '');
  const labelOf = (code: string, fallback: string, dosage: string): string =>
    /^\d/.test(code) ? cptLabel(code, dosage) : (descriptors.get(code)?.short ?? fallback).slice(0, 60);

  const rows = new Map<string, CmsHcpcsRow>();
  const row = (
    code: string,
    label: string,
    dosage: string,
    unit: BillingUnit | undefined,
    limit: number | null,
    coinsurance: number | null,
    origin: CmsHcpcsRow[9],
  ): CmsHcpcsRow => {
    const o = opps.get(code);
    if (!unit) {
      skipped.push(`${code}: billing unit "${dosage}" not understood`);
    }
    return [
      code,
      label,
      dosage,
      unit ?? null,
      limit,
      coinsurance,
      o?.si || null,
      o?.rate ?? null,
      namesOf(code),
      origin,
      oral(code),
    ];
  };

  // ASP pricing: the universe of separately payable Part B drugs.
  {
    const [c, s, d, limit, coins] = [
      column(asp, 'HCPCS CODE'),
      column(asp, 'SHORT DESCRIPTION'),
      column(asp, 'HCPCS CODE DOSAGE'),
      column(asp, 'PAYMENT LIMIT'),
      column(asp, 'CO-INSURANCE PERCENTAGE'),
    ];
    for (const r of asp.rows) {
      const code = cell(r[c]).toUpperCase();
      if (!/^[A-Z0-9]\d{3}[A-Z0-9]$/.test(code)) {
        continue;
      }
      const dosage = cell(r[d]);
      rows.set(
        code,
        row(
          code,
          labelOf(code, cell(r[s]), dosage),
          dosage,
          parseHcpcsDosage(dosage),
          numberOrNull(r[limit]),
          numberOrNull(r[coins]),
          'asp',
        ),
      );
    }
  }
  // Crosswalk codes the ASP file does not list.
  for (const [code, dosage] of crosswalkDosage) {
    if (!rows.has(code)) {
      rows.set(
        code,
        row(code, labelOf(code, code, dosage), dosage, parseHcpcsDosage(dosage), null, null, 'crosswalk'),
      );
    }
  }
  // HCPCS Level II drug codes with a billing unit in their descriptor.
  for (const [code, d] of descriptors) {
    if (rows.has(code) || !HCPCS_DRUG_CODE.test(code)) {
      continue;
    }
    const unit = parseDescriptorUnit(d.long);
    if (unit) {
      const tail =
        d.long
          .replace(/\s*\([^()]*\)\s*$/, '')
          .split(',')
          .pop()
          ?.trim() ?? '';
      rows.set(code, row(code, labelOf(code, d.short, tail), tail, unit, null, null, 'hcpcs'));
    }
  }

  // MUE: Medicare practitioner values, Medicaid where Medicare has none (or only 0: not payable).
  const mue: CmsMueRow[] = [];
  const medicare = byKind.get('mue-medicare')?.json ?? {};
  const medicaid = byKind.get('mue-medicaid')?.json ?? {};
  for (const code of [...new Set([...Object.keys(medicare), ...Object.keys(medicaid)])].sort()) {
    if (!rows.has(code) && !MUE_OTHER_CODES.test(code)) {
      continue;
    }
    const m = medicare[code]?.['maxUnits'];
    const d = medicaid[code]?.['limit'];
    if (typeof m === 'number' && m > 0) {
      mue.push([code, m, 'medicare']);
    } else if (typeof m !== 'number' && typeof d === 'number' && d > 0) {
      mue.push([code, d, 'medicaid']);
    }
  }

  const sources: CmsSource[] = [...byKind.values()]
    .sort((a, b) => a.kind.localeCompare(b.kind))
    .map((r) => {
      const p = r.table ? effectivePeriod(r.table.preamble) : undefined;
      const title = r.table?.preamble.find((l) => l !== '') ?? r.kind;
      return {
        kind: r.kind,
        file: r.file.name,
        title: title.slice(0, 120),
        period: p
          ? `${p.from}..${p.through}`
          : (periodFromName(r.file.name) ?? /\bCY ?(\d{4})\b/.exec(title)?.[1] ?? 'not stated'),
        rows: r.table ? r.table.rows.length : Object.keys(r.json ?? {}).length,
        sha256: sha256(r.file.bytes),
      };
    });

  const byKey = (a: readonly [string, ...unknown[]], b: readonly [string, ...unknown[]]): number =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

  return {
    title: `CMS Part B drug table ${quarter}: billing units, payment limits, OPPS status, NDC crosswalk, MUE`,
    format: 1,
    quarter,
    effective: period.from,
    through: period.through,
    imported,
    generator: 'npm run tables:import-cms (src/coding/cms/import.ts); do not edit by hand',
    sources,
    notes:
      'Generated from public CMS files (US Government works). hcpcs rows: [code, label, dosage as published, billing unit, payment limit per unit (ASP+6%), coinsurance %, OPPS status indicator, OPPS payment rate, drug-name keys, origin (asp = ASP pricing file; crosswalk = crosswalk only; hcpcs = HCPCS Level II descriptor only, not priced), oral]. ndc rows: [11-digit NDC, HCPCS, package size (mL, or count for solids), items per package, billing units per item, billing units per package]. mue: [code, units per day of service, practitioner table it came from]. CPT descriptors are never copied (CPT-coded products carry Dripline labels). The OPPS and MUE files may be of another quarter than the ASP file: see sources.',
    hcpcs: [...rows.values()].sort(byKey),
    ndc: [...ndc.values()].flat().sort((a, b) => byKey(a, b) || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)),
    mue: mue.sort(byKey),
    skipped,
  };
}

/**
 * The table as committed: one entry per line so a new quarter's diff is readable, and compact
 * (no indentation inside an entry).
 */
export function serializeCmsQuarter(table: CmsQuarterTable): string {
  const { hcpcs, ndc, mue, ...header } = table;
  const block = (rows: readonly unknown[]): string => rows.map((r) => `    ${JSON.stringify(r)}`).join(',\n');
  const head = JSON.stringify(header, null, 2).replace(/\n}$/, '');
  return `${head},\n  "hcpcs": [\n${block(hcpcs)}\n  ],\n  "ndc": [\n${block(ndc)}\n  ],\n  "mue": [\n${block(mue)}\n  ]\n}\n`;
}
