/**
 * The generated CMS quarter tables (`<tables dir>/cms/<quarter>.json`, written by
 * `npm run tables:import-cms`): reading and indexing them at load (Maps, so every lookup the
 * engine makes is O(1)), and choosing the quarter a date of service falls in.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CmsNdcRow, CmsQuarterTable } from '../cms/table-format.ts';
import type { CmsDrug, CmsQuarter, CmsTables, MueEntry, MueTable } from './types.ts';

/** The calendar quarter of a date: "2026-02-10" → "2026Q1". */
export function quarterOf(date: string): string {
  const month = Number(date.slice(5, 7));
  return `${date.slice(0, 4)}Q${Math.floor((month - 1) / 3) + 1}`;
}

export interface CmsLoadIssue {
  readonly file: string;
  readonly path: string;
  readonly message: string;
}

/**
 * A map built on first use: the NDC and name indexes are only needed when a drug is looked up by
 * NDC or by name, so building them (7,000 entries) does not delay the boot.
 */
class LazyMap<K, V> implements ReadonlyMap<K, V> {
  #map: Map<K, V> | undefined;
  readonly #build: () => Map<K, V>;
  constructor(build: () => Map<K, V>) {
    this.#build = build;
  }
  #get(): Map<K, V> {
    this.#map ??= this.#build();
    return this.#map;
  }
  get size(): number {
    return this.#get().size;
  }
  get(key: K): V | undefined {
    return this.#get().get(key);
  }
  has(key: K): boolean {
    return this.#get().has(key);
  }
  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    this.#get().forEach((v, k) => callback(v, k, this));
  }
  entries(): MapIterator<[K, V]> {
    return this.#get().entries();
  }
  keys(): MapIterator<K> {
    return this.#get().keys();
  }
  values(): MapIterator<V> {
    return this.#get().values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#get()[Symbol.iterator]();
  }
}

function ndcIndex(rows: readonly CmsNdcRow[]): Map<string, CmsNdcRow[]> {
  const index = new Map<string, CmsNdcRow[]>();
  for (const row of rows) {
    const list = index.get(row[0]);
    if (list) {
      list.push(row);
    } else {
      index.set(row[0], [row]);
    }
  }
  return index;
}

type NameEntry = { key: string; words: string[]; codes: string[] };

function nameIndex(drugs: ReadonlyMap<string, CmsDrug>): Map<string, NameEntry[]> {
  const names = new Map<string, NameEntry[]>();
  for (const drug of drugs.values()) {
    for (const key of drug.names) {
      const words = key.split(' ');
      const first = words[0] ?? '';
      const list = names.get(first) ?? [];
      const existing = list.find((n) => n.key === key);
      if (existing) {
        existing.codes.push(drug.code);
      } else {
        list.push({ key, words, codes: [drug.code] });
      }
      names.set(first, list);
    }
  }
  return names;
}

function indexQuarter(table: CmsQuarterTable): CmsQuarter {
  const drugs = new Map<string, CmsDrug>();
  for (const row of table.hcpcs) {
    const [code, label, dosage, unit, paymentLimit, coinsurance, si, oppsRate, nameKeys, origin, oral] = row;
    drugs.set(code, {
      code,
      label,
      dosage,
      ...(unit ? { unit } : {}),
      ...(paymentLimit !== null ? { paymentLimit } : {}),
      ...(coinsurance !== null ? { coinsurance } : {}),
      ...(si ? { statusIndicator: si } : {}),
      ...(oppsRate !== null ? { oppsRate } : {}),
      names: nameKeys,
      origin,
      oral,
    });
  }
  return {
    id: table.quarter,
    effective: table.effective,
    through: table.through,
    imported: table.imported,
    sources: table.sources,
    drugs,
    ndc: new LazyMap(() => ndcIndex(table.ndc)),
    mue: table.mue,
    names: new LazyMap(() => nameIndex(drugs)),
  };
}

const CODE = /^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UNIT_KINDS = new Set(['amount', 'per-administration', 'per-package']);

const isNumberOrNull = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v));
const isPositive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

/**
 * Checks a quarter table's shape (a hand-written check rather than a JSON Schema: ajv would spend
 * more time compiling and walking 8,000 rows than the rest of the load); returns problems by path.
 */
function problemsOf(data: unknown): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const t = data as Partial<Record<keyof CmsQuarterTable, unknown>>;
  if (typeof data !== 'object' || data === null) {
    return [{ path: '$', message: 'must be an object' }];
  }
  if (t.format !== 1) {
    problems.push({ path: '$.format', message: 'must be 1' });
  }
  if (typeof t.quarter !== 'string' || !/^\d{4}Q[1-4]$/.test(t.quarter)) {
    problems.push({ path: '$.quarter', message: 'must look like 2026Q1' });
  }
  for (const k of ['effective', 'through', 'imported'] as const) {
    if (typeof t[k] !== 'string' || !DATE.test(t[k])) {
      problems.push({ path: `$.${k}`, message: 'must be a date YYYY-MM-DD' });
    }
  }
  if (!Array.isArray(t.sources) || t.sources.length === 0) {
    problems.push({ path: '$.sources', message: 'must list the CMS files it came from' });
  }
  for (const k of ['hcpcs', 'ndc', 'mue'] as const) {
    if (!Array.isArray(t[k])) {
      problems.push({ path: `$.${k}`, message: 'must be an array of rows' });
    }
  }
  if (problems.length > 0) {
    return problems;
  }
  (t.hcpcs as unknown[]).forEach((row, i) => {
    const r = row as unknown[];
    const unit = (Array.isArray(r) ? r[3] : null) as { kind?: unknown } | null;
    const ok =
      Array.isArray(r) &&
      r.length === 11 &&
      typeof r[0] === 'string' &&
      CODE.test(r[0]) &&
      typeof r[1] === 'string' &&
      typeof r[2] === 'string' &&
      (unit === null || (typeof unit === 'object' && UNIT_KINDS.has(unit.kind as string))) &&
      isNumberOrNull(r[4]) &&
      isNumberOrNull(r[5]) &&
      (r[6] === null || typeof r[6] === 'string') &&
      isNumberOrNull(r[7]) &&
      Array.isArray(r[8]) &&
      (r[9] === 'asp' || r[9] === 'crosswalk' || r[9] === 'hcpcs') &&
      typeof r[10] === 'boolean';
    if (!ok) {
      problems.push({
        path: `$.hcpcs[${i}]`,
        message: 'must be [code, label, dosage, unit, limit, coinsurance, SI, rate, names, origin, oral]',
      });
    }
  });
  (t.ndc as unknown[]).forEach((row, i) => {
    const r = row as unknown[];
    const ok =
      Array.isArray(r) &&
      r.length === 6 &&
      typeof r[0] === 'string' &&
      /^\d{11}$/.test(r[0]) &&
      typeof r[1] === 'string' &&
      CODE.test(r[1]) &&
      r.slice(2).every(isPositive);
    if (!ok) {
      problems.push({
        path: `$.ndc[${i}]`,
        message: 'must be [11-digit NDC, HCPCS, size, quantity, units, units per package]',
      });
    }
  });
  (t.mue as unknown[]).forEach((row, i) => {
    const r = row as unknown[];
    if (
      !Array.isArray(r) ||
      typeof r[0] !== 'string' ||
      !Number.isInteger(r[1]) ||
      !isPositive(r[1]) ||
      (r[2] !== 'medicare' && r[2] !== 'medicaid')
    ) {
      problems.push({ path: `$.mue[${i}]`, message: 'must be [code, units ≥ 1, "medicare" | "medicaid"]' });
    }
  });
  return problems.slice(0, 20);
}

/** Reads every `<quarter>.json` under `<dir>/<cmsDir>`, checked; at least one is required. */
export function readCmsTables(dir: string, cmsDir: string): { tables?: CmsTables; issues: CmsLoadIssue[] } {
  const issues: CmsLoadIssue[] = [];
  const folder = join(dir, cmsDir);
  const files = existsSync(folder)
    ? readdirSync(folder)
        .filter((f) => /^\d{4}Q[1-4]\.json$/.test(f))
        .sort()
    : [];
  if (files.length === 0) {
    issues.push({
      file: `${cmsDir}/`,
      path: '$',
      message: `no CMS quarter table (<quarter>.json) in ${folder}: run npm run tables:import-cms`,
    });
    return { issues };
  }
  const quarters: CmsQuarter[] = [];
  for (const f of files) {
    const file = `${cmsDir}/${f}`;
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(join(folder, f), 'utf8'));
    } catch (err) {
      issues.push({ file, path: '$', message: `cannot be read or parsed: ${(err as Error).message}` });
      continue;
    }
    const problems = problemsOf(data);
    if (problems.length > 0) {
      issues.push(...problems.map((p) => ({ file, ...p })));
      continue;
    }
    const table = data as CmsQuarterTable;
    if (`${table.quarter}.json` !== f || quarterOf(table.effective) !== table.quarter) {
      issues.push({
        file,
        path: '$.quarter',
        message: `file name, quarter (${table.quarter}) and effective date (${table.effective}) disagree`,
      });
      continue;
    }
    quarters.push(indexQuarter(table));
  }
  return issues.length > 0 ? { issues } : { tables: { quarters }, issues };
}

export interface QuarterChoice {
  readonly quarter: CmsQuarter;
  /** Said on the line when the date of service is outside every imported quarter. */
  readonly note?: string;
}

/**
 * The quarter a date of service (YYYY-MM-DD) falls in; outside every imported quarter, the nearest
 * earlier one (or, before the first, the first), with a note saying so.
 */
export function quarterFor(cms: CmsTables, dateOfService: string): QuarterChoice {
  let byDate = choices.get(cms);
  if (!byDate) {
    byDate = new Map();
    choices.set(cms, byDate);
  }
  let choice = byDate.get(dateOfService);
  if (!choice) {
    choice = chooseQuarter(cms, dateOfService);
    byDate.set(dateOfService, choice);
  }
  return choice;
}

/** Quarter choices by date, per loaded tables (a day's administrations share a handful of dates). */
const choices = new WeakMap<CmsTables, Map<string, QuarterChoice>>();

function chooseQuarter(cms: CmsTables, dateOfService: string): QuarterChoice {
  const quarters = cms.quarters;
  const exact = quarters.find((q) => q.effective <= dateOfService && dateOfService <= q.through);
  if (exact) {
    return { quarter: exact };
  }
  const earlier = quarters.filter((q) => q.through < dateOfService);
  const chosen = earlier.at(-1) ?? latestQuarter({ quarters: quarters.slice(0, 1) });
  return {
    quarter: chosen,
    note: `date of service ${dateOfService} is outside the imported CMS quarters (${quarters.map((q) => q.id).join(', ')}): the ${chosen.id} table is used`,
  };
}

/** The latest imported quarter (for code lookups that carry no date, such as the scrubber's). */
export function latestQuarter(cms: CmsTables): CmsQuarter {
  return cms.quarters[cms.quarters.length - 1] as CmsQuarter;
}

/**
 * The MUE table with the CMS practitioner values of the latest quarter: Medicare's (V), else
 * Medicaid's (UNVERIFIED for other payers, basis medicaid-fallback); they replace hand-entered
 * entries of the same code. The Medicare file holds only MAI 3 rows (clinical, date of service).
 */
export function withCmsMue(table: MueTable, cms: CmsTables): MueTable {
  const quarter = latestQuarter(cms);
  const source = (kind: string): string =>
    quarter.sources.find((s) => s.kind === kind)?.file ?? `CMS ${kind} (${quarter.id} table)`;
  const fromCms: MueEntry[] = quarter.mue.map(([code, units, basis]) =>
    basis === 'medicare'
      ? {
          code,
          setting: 'practitioner',
          units,
          mai: 3,
          verification: 'V',
          basis: 'medicare',
          source: source('mue-medicare'),
        }
      : {
          code,
          setting: 'practitioner',
          units,
          mai: 3,
          verification: 'UNVERIFIED',
          maiVerification: 'UNVERIFIED',
          basis: 'medicaid-fallback',
          source: source('mue-medicaid'),
          notes:
            'Medicaid practitioner value: the Medicare file has none for this code (fallback, warn only).',
        },
  );
  const replaced = new Set(fromCms.map((e) => `${e.code}|${e.setting}`));
  return {
    ...table,
    entries: [...table.entries.filter((e) => !replaced.has(`${e.code}|${e.setting}`)), ...fromCms],
  };
}
