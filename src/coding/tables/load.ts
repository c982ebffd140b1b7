/**
 * Loads the coding rule tables (the JSON files beside this module), validates each against its
 * schema (./schemas.ts), cross-checks them against each other, and caches the result per
 * directory for the life of the process. A bad table throws a `CodingTableError` naming the file
 * and the JSON path of every problem found.
 *
 * The generated CMS quarter tables (`cms/<quarter>.json`) are read by ./cms.ts; their MUE values
 * replace the hand-entered placeholders of the same codes (Medicare practitioner values, Medicaid's
 * where Medicare has none, marked as such).
 *
 * Also: `normalizeNdc` (coding-rules R11.1). Finding a drug by what was documented: ./find-drug.ts.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { describeSchemaError } from '../../config/schema-issues.ts';
import type { PayerKind } from '../types.ts';
import { readCmsTables, withCmsMue } from './cms.ts';
import { categoryRuleIssues } from './universe.ts';
import { THERAPY_CLASSES } from './schemas.ts';
// The schemas (./schemas.ts) compiled ahead of time by ajv (src/config/standalone-validators.ts):
// compiling them here cost every process and test file that loads the tables ~150 ms of CPU.
import * as tableValidators from './table-validators.js';
import { normalizeNdc } from '../ndc.ts';
import type {
  AdministrationCodeTable,
  CategoryRuleTable,
  CmsTables,
  CodingTables,
  DrugCatalog,
  HomeInfusionTable,
  MueTable,
  NcciTable,
  PayerRuleSet,
  RevenueCodeTable,
} from './types.ts';

/** The directory holding the shipped tables (this module's directory). */
export const DEFAULT_TABLES_DIR = dirname(fileURLToPath(import.meta.url));

/** Sub-directory of a tables directory holding the generated CMS quarter tables (`<quarter>.json`). */
export const CMS_DIR = 'cms';

export const PAYER_KINDS: readonly PayerKind[] = ['medicare', 'medicaid', 'commercial'];

/** File names inside a tables directory. */
export const TABLE_FILES = {
  drugs: 'drugs.json',
  administrationCodes: 'administration-codes.json',
  payers: {
    medicare: 'payer-medicare.json',
    medicaid: 'payer-medicaid.json',
    commercial: 'payer-commercial.json',
  },
  mue: 'mue.json',
  ncci: 'ncci.json',
  homeInfusion: 'home-infusion.json',
  revenueCodes: 'revenue-codes.json',
  categoryRules: 'category-rules.json',
} as const;

/**
 * UCUM units the catalog accepts for billing units and package contents, by dimension. Amounts can
 * only be converted within a dimension. "mcg" is not UCUM: microgram is "ug".
 */
export const UCUM_UNITS: Readonly<
  Record<
    string,
    | 'mass'
    | 'volume'
    | 'international-unit'
    | 'unit'
    | 'equivalent'
    | 'radioactivity'
    | 'area'
    | 'plaque-forming-units'
    | 'count'
  >
> = {
  kg: 'mass',
  g: 'mass',
  mg: 'mass',
  ug: 'mass',
  L: 'volume',
  mL: 'volume',
  '[iU]': 'international-unit',
  '10*3.[iU]': 'international-unit',
  '10*6.[iU]': 'international-unit',
  U: 'unit',
  meq: 'equivalent',
  uCi: 'radioactivity',
  mCi: 'radioactivity',
  cm2: 'area',
  '10*6.[PFU]': 'plaque-forming-units',
  '{administration}': 'count',
  '{package}': 'count',
  '{unknown}': 'count',
};

/** Revenue code kinds every table must define (R14). */
export const REQUIRED_REVENUE_KINDS = [
  'administration',
  'drug',
  'drug-packaged',
  'iv-solution',
  'pump',
  'supply',
] as const;

const THERAPY_CLASS_SET: ReadonlySet<string> = new Set(THERAPY_CLASSES);

export interface TableIssue {
  readonly file: string;
  /** JSONPath into the file, e.g. `$.drugs[3].packages[0].ndc11`. */
  readonly path: string;
  readonly message: string;
}

/** A table failed to read, parse, validate or cross-check. The message lists every issue. */
export class CodingTableError extends Error {
  readonly issues: readonly TableIssue[];
  constructor(issues: readonly TableIssue[]) {
    const lines = issues.map((i) => `${i.file}: ${i.path}: ${i.message}`);
    super(
      `Invalid coding table${issues.length > 1 ? 's' : ''} (${issues.length} issue${issues.length > 1 ? 's' : ''}):\n  ${lines.join('\n  ')}`,
    );
    this.name = 'CodingTableError';
    this.issues = issues;
  }
}

/** NDC normalization (R11.1) lives in ../ndc.ts, shared with the engine. */
export { normalizeNdc };

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

const validators: Readonly<Record<string, ValidateFunction>> = tableValidators;

interface Reader {
  readonly issues: TableIssue[];
  /** The parsed, schema-valid file, or undefined after recording its issues. */
  read(file: string, validator: string): unknown;
}

function reader(dir: string): Reader {
  const issues: TableIssue[] = [];
  return {
    issues,
    read(file: string, validator: string): unknown {
      let data: unknown;
      try {
        data = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        issues.push({
          file,
          path: '$',
          message:
            code === 'ENOENT'
              ? `file not found in ${dir}`
              : `cannot be read or parsed: ${(err as Error).message}`,
        });
        return undefined;
      }
      const validate = validators[validator];
      if (validate && !validate(data)) {
        for (const e of validate.errors ?? []) {
          issues.push({ file, ...describeSchemaError(e) });
        }
        return undefined;
      }
      return data;
    },
  };
}

const cache = new Map<string, CodingTables>();

/**
 * Reads, validates and cross-checks every table in `dir` (default: the shipped tables). The result
 * is deep-frozen and cached per directory, so repeated calls are free.
 */
export function loadCodingTables(dir: string = DEFAULT_TABLES_DIR): CodingTables {
  const key = resolve(dir);
  const cached = cache.get(key);
  if (cached) {
    return cached;
  }
  const r = reader(key);
  const drugs = r.read(TABLE_FILES.drugs, 'drugs') as DrugCatalog | undefined;
  const administrationCodes = r.read(TABLE_FILES.administrationCodes, 'administrationCodes') as
    AdministrationCodeTable | undefined;
  const payerSets: Partial<Record<PayerKind, PayerRuleSet>> = {};
  for (const kind of PAYER_KINDS) {
    const set = r.read(TABLE_FILES.payers[kind], 'payer') as PayerRuleSet | undefined;
    if (set) {
      payerSets[kind] = set;
    }
  }
  const mue = r.read(TABLE_FILES.mue, 'mue') as MueTable | undefined;
  const ncci = r.read(TABLE_FILES.ncci, 'ncci') as NcciTable | undefined;
  const homeInfusion = r.read(TABLE_FILES.homeInfusion, 'homeInfusion') as HomeInfusionTable | undefined;
  const revenueCodes = r.read(TABLE_FILES.revenueCodes, 'revenueCodes') as RevenueCodeTable | undefined;
  const categoryRules = r.read(TABLE_FILES.categoryRules, 'categoryRules') as CategoryRuleTable | undefined;
  const cmsRead = readCmsTables(key, CMS_DIR);
  r.issues.push(...cmsRead.issues);
  const cms: CmsTables | undefined = cmsRead.tables;

  const { medicare, medicaid, commercial } = payerSets;
  if (
    r.issues.length > 0 ||
    !drugs ||
    !administrationCodes ||
    !medicare ||
    !medicaid ||
    !commercial ||
    !mue ||
    !ncci ||
    !homeInfusion ||
    !revenueCodes ||
    !categoryRules ||
    !cms
  ) {
    throw new CodingTableError(r.issues);
  }
  const tables: CodingTables = {
    drugs,
    administrationCodes,
    payers: { medicare, medicaid, commercial },
    mue: withCmsMue(mue, cms),
    ncci,
    homeInfusion,
    revenueCodes,
    categoryRules,
    cms,
  };
  const issues = crossCheck(tables);
  if (issues.length > 0) {
    throw new CodingTableError(issues);
  }
  const frozen = deepFreeze(tables);
  cache.set(key, frozen);
  return frozen;
}

/** Every table of a `CodingTables` (the compiler checks none is missing). */
const TABLE_NAMES: Readonly<Record<keyof CodingTables, true>> = {
  drugs: true,
  administrationCodes: true,
  payers: true,
  mue: true,
  ncci: true,
  homeInfusion: true,
  revenueCodes: true,
  categoryRules: true,
  cms: true,
};

/**
 * The tables of `dir` (default: the shipped tables) as `loadCodingTables` gives them, read and
 * checked when a table is first asked for rather than now. A server builds its workers and routes
 * with the tables at start, and reading them (~0.1 CPU-s: 8,000 CMS rows parsed, checked, indexed
 * and frozen) was part of every start, every server test file's included, whether or not anything
 * was coded. The first read puts the tables in place of the accessors (and freezes the object), so
 * later reads are plain property reads; a table that fails its checks throws `CodingTableError`
 * from that read, and again from the next.
 */
export function codingTablesOnFirstUse(dir: string = DEFAULT_TABLES_DIR): CodingTables {
  const view = {} as CodingTables;
  const settle = (): void => {
    const tables = loadCodingTables(dir);
    for (const name of Object.keys(TABLE_NAMES) as (keyof CodingTables)[]) {
      Object.defineProperty(view, name, { value: tables[name], enumerable: true });
    }
    Object.freeze(view);
  };
  for (const name of Object.keys(TABLE_NAMES) as (keyof CodingTables)[]) {
    Object.defineProperty(view, name, {
      get: () => {
        settle();
        return view[name];
      },
      enumerable: true,
      configurable: true,
    });
  }
  return view;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) {
      deepFreeze(v);
    }
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Cross-checks
// ---------------------------------------------------------------------------------------------

function crossCheck(t: CodingTables): TableIssue[] {
  const issues: TableIssue[] = [];
  const add = (file: string, path: string, message: string): void => {
    issues.push({ file, path, message });
  };

  // Drug catalog.
  const F = TABLE_FILES.drugs;
  const cmsCodes = new Set(t.cms.quarters.flatMap((q) => [...q.drugs.keys()]));
  const keys = new Map<string, number>();
  const ndcs = new Map<string, string>();
  const rxnorms = new Map<string, string>();
  const hcpcsCodes = new Set<string>();
  const perDiemCodes = new Set(t.homeInfusion.perDiem.map((p) => p.code));
  const hitCategories = new Set(t.homeInfusion.medicareHit.map((h) => h.category));
  t.drugs.drugs.forEach((d, i) => {
    const at = `$.drugs[${i}]`;
    hcpcsCodes.add(d.hcpcs);
    const seen = keys.get(d.key);
    if (seen !== undefined) {
      add(F, `${at}.key`, `duplicate drug key "${d.key}" (also $.drugs[${seen}])`);
    } else {
      keys.set(d.key, i);
    }
    const billingDim = UCUM_UNITS[d.billingUnit.unit];
    if (!billingDim) {
      add(
        F,
        `${at}.billingUnit.unit`,
        `"${d.billingUnit.unit}" is not an accepted UCUM unit (${Object.keys(UCUM_UNITS).join(', ')})`,
      );
    }
    if (!(d.billingUnit.value > 0) || !Number.isFinite(d.billingUnit.value)) {
      add(F, `${at}.billingUnit.value`, `billing unit must be a positive number, got ${d.billingUnit.value}`);
    }
    if (d.hormonalAntineoplastic && d.family !== 'chemo-complex') {
      add(
        F,
        `${at}.hormonalAntineoplastic`,
        `a hormonal antineoplastic must have family "chemo-complex", got "${d.family}"`,
      );
    }
    for (const rx of d.rxnorm ?? []) {
      const other = rxnorms.get(rx);
      if (other !== undefined && other !== d.key) {
        add(
          F,
          `${at}.rxnorm`,
          `RxNorm ${rx} already identifies drug "${other}"; an RxNorm code must resolve to one drug`,
        );
      } else {
        rxnorms.set(rx, d.key);
      }
    }
    if (d.homePerDiem !== undefined && !perDiemCodes.has(d.homePerDiem)) {
      add(F, `${at}.homePerDiem`, `${d.homePerDiem} is not a per diem code in ${TABLE_FILES.homeInfusion}`);
    }
    if (d.hitCategory !== undefined && !hitCategories.has(d.hitCategory)) {
      add(
        F,
        `${at}.hitCategory`,
        `category ${d.hitCategory} has no Medicare HIT codes in ${TABLE_FILES.homeInfusion}`,
      );
    }
    d.packages.forEach((p, j) => {
      const pat = `${at}.packages[${j}]`;
      const expected = normalizeNdc(p.ndc);
      if (expected === undefined) {
        add(
          F,
          `${pat}.ndc`,
          `"${p.ndc}" is not an NDC as printed (4-4-2, 5-3-2, 5-4-1 or 5-4-2 with hyphens, or 11 digits)`,
        );
      } else if (expected !== p.ndc11) {
        add(
          F,
          `${pat}.ndc11`,
          `"${p.ndc11}" is not the 5-4-2 normalization of "${p.ndc}" (expected "${expected}")`,
        );
      }
      const dup = ndcs.get(p.ndc11);
      if (dup !== undefined) {
        add(F, `${pat}.ndc11`, `duplicate NDC ${p.ndc11} (also ${dup})`);
      } else {
        ndcs.set(p.ndc11, pat);
      }
      const dim = UCUM_UNITS[p.contains.unit];
      if (!dim) {
        add(
          F,
          `${pat}.contains.unit`,
          `"${p.contains.unit}" is not an accepted UCUM unit (${Object.keys(UCUM_UNITS).join(', ')})`,
        );
      } else if (billingDim && dim !== billingDim) {
        add(
          F,
          `${pat}.contains.unit`,
          `"${p.contains.unit}" (${dim}) cannot be converted to the billing unit "${d.billingUnit.unit}" (${billingDim})`,
        );
      }
    });
  });

  // Administration codes.
  const A = TABLE_FILES.administrationCodes;
  const adminCodes = new Map<string, number>();
  t.administrationCodes.codes.forEach((c, i) => {
    const seen = adminCodes.get(c.code);
    if (seen !== undefined) {
      add(A, `$.codes[${i}].code`, `duplicate code ${c.code} (also $.codes[${seen}])`);
    } else {
      adminCodes.set(c.code, i);
    }
  });
  const H = TABLE_FILES.homeInfusion;
  for (const k of ['visit', 'additionalHour'] as const) {
    if (!adminCodes.has(t.homeInfusion.nursing[k])) {
      add(H, `$.nursing.${k}`, `${t.homeInfusion.nursing[k]} is not in ${A}`);
    }
  }

  // Home infusion.
  const seenPerDiem = new Set<string>();
  t.homeInfusion.perDiem.forEach((p, i) => {
    if (seenPerDiem.has(p.code)) {
      add(H, `$.perDiem[${i}].code`, `duplicate per diem code ${p.code}`);
    }
    seenPerDiem.add(p.code);
  });
  const hitSeen = new Set<number>();
  t.homeInfusion.medicareHit.forEach((h, i) => {
    if (hitSeen.has(h.category)) {
      add(H, `$.medicareHit[${i}].category`, `duplicate HIT category ${h.category}`);
    }
    hitSeen.add(h.category);
  });

  const knownCodes = new Set<string>([
    ...adminCodes.keys(),
    ...hcpcsCodes,
    ...perDiemCodes,
    ...t.homeInfusion.medicareHit.flatMap((h) => [h.firstVisit, h.subsequentVisit]),
    ...t.homeInfusion.supplies.map((s) => s.code),
  ]);

  // Payers.
  for (const kind of PAYER_KINDS) {
    const P = TABLE_FILES.payers[kind];
    const set = t.payers[kind];
    if (set.payer !== kind) {
      add(P, '$.payer', `file ${P} must hold the "${kind}" rule set, found "${set.payer}"`);
    }
    for (const hcpcs of Object.keys(set.familyOverrides)) {
      if (!hcpcsCodes.has(hcpcs) && !cmsCodes.has(hcpcs)) {
        add(
          P,
          `$.familyOverrides.${hcpcs}`,
          `HCPCS ${hcpcs} is neither in the drug catalog (${F}) nor in the CMS tables (${CMS_DIR}/)`,
        );
      }
    }
    set.refusedCodes.forEach((code, i) => {
      if (!knownCodes.has(code)) {
        add(P, `$.refusedCodes[${i}]`, `${code} is not a code of any table`);
      }
    });
  }

  // MUE.
  const M = TABLE_FILES.mue;
  const mueSeen = new Set<string>();
  t.mue.entries.forEach((e, i) => {
    const k = `${e.code}|${e.setting}`;
    if (mueSeen.has(k)) {
      add(M, `$.entries[${i}]`, `duplicate MUE for ${e.code} (${e.setting})`);
    }
    mueSeen.add(k);
    if (e.basis === undefined && !knownCodes.has(e.code)) {
      add(M, `$.entries[${i}].code`, `${e.code} is not a code of any table`);
    }
  });

  // NCCI.
  const N = TABLE_FILES.ncci;
  const pairSeen = new Set<string>();
  t.ncci.pairs.forEach((p, i) => {
    if (p.column1 === p.column2) {
      add(N, `$.pairs[${i}]`, `column1 and column2 are both ${p.column1}`);
    }
    const k = `${p.column1}|${p.column2}`;
    if (pairSeen.has(k)) {
      add(N, `$.pairs[${i}]`, `duplicate pair ${p.column1}/${p.column2}`);
    }
    pairSeen.add(k);
  });

  // Category rules.
  issues.push(...categoryRuleIssues(t, perDiemCodes, hitCategories, TABLE_FILES.categoryRules));

  // Revenue codes.
  const R = TABLE_FILES.revenueCodes;
  for (const kind of REQUIRED_REVENUE_KINDS) {
    if (!(kind in t.revenueCodes.byKind)) {
      add(R, `$.byKind`, `missing revenue code for kind "${kind}"`);
    }
  }
  for (const kind of Object.keys(t.revenueCodes.byKind)) {
    const qualifier = kind.split(':')[1];
    if (qualifier !== undefined && !THERAPY_CLASS_SET.has(qualifier)) {
      add(
        R,
        `$.byKind['${kind}']`,
        `"${qualifier}" is not a drug therapyClass (keys are kind or kind:therapyClass)`,
      );
    }
  }
  for (const kind of Object.keys(t.revenueCodes.verification ?? {})) {
    if (!(kind in t.revenueCodes.byKind)) {
      add(R, `$.verification['${kind}']`, `"${kind}" is not a kind in $.byKind`);
    }
  }
  return issues;
}
