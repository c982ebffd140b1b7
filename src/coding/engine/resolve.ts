/**
 * What drug an administration gave, as billing needs it: the HCPCS code (from the Medication's
 * HCPCS coding, else the CMS NDC–HCPCS crosswalk, else the catalog's NDC packages, else the
 * catalog's RxNorm codes, else — lower confidence, always with a coder-confirm finding — the drug's
 * name matched against the CMS descriptors and crosswalk names), the CMS row of the quarter the
 * date of service falls in (billing unit, payment, OPPS status), the package used (crosswalk
 * package data, else the catalog's), and the catalog entry or one derived from CMS data.
 *
 * Pure over loaded tables. When no HCPCS code can be found the drug is still described (name,
 * family rules) so its administration is coded; only the drug line waits for the code.
 */
import { hyphenatedNdc, ndc11Candidates } from '../ndc.ts';
import type { BillingUnit } from '../cms/dosage.ts';
import type { CmsNdcRow } from '../cms/table-format.ts';
import { nameWords } from '../cms/names.ts';
import { quarterFor } from '../tables/cms.ts';
import type { QuarterChoice } from '../tables/cms.ts';
import type { CmsDrug, CmsQuarter, CodingTables, DrugEntry, DrugPackage } from '../tables/types.ts';
import { drugEntryFor, ruleDerivedEntry } from '../tables/universe.ts';
import type { DocumentedAdministration } from '../types.ts';
import { lookupNdc, lookupRxnorm } from './catalog.ts';

export interface ResolutionFinding {
  readonly severity: 'error' | 'warning' | 'information';
  readonly code: string;
  readonly message: string;
  readonly rule: string;
}

export interface DrugResolution {
  /** Catalog entry, or one derived from the CMS row, or (no HCPCS) a description for the family rules. */
  readonly drug: DrugEntry;
  /** The HCPCS code billed; undefined when nothing documented leads to one. */
  readonly hcpcs?: string;
  /** The code's row in the chosen quarter's CMS table. */
  readonly cms?: CmsDrug;
  readonly quarter: QuarterChoice;
  /** CMS billing unit of the quarter, else the catalog's; undefined = unknown (drug line held). */
  readonly billing?: BillingUnit;
  /** The package used, when its NDC is in the crosswalk (or the catalog) under this HCPCS code. */
  readonly pkg?: DrugPackage;
  readonly matchedBy: 'hcpcs' | 'ndc' | 'rxnorm' | 'name' | 'none';
  readonly findings: readonly ResolutionFinding[];
}

/** Packages by crosswalk row and CMS drug: loaded tables are read-only, and the same rows recur all day. */
const packages = new WeakMap<CmsNdcRow, WeakMap<CmsDrug, DrugPackage | null>>();

function crosswalkPackage(row: CmsNdcRow, cms: CmsDrug): DrugPackage | undefined {
  let byDrug = packages.get(row);
  if (!byDrug) {
    byDrug = new WeakMap();
    packages.set(row, byDrug);
  }
  let pkg = byDrug.get(cms);
  if (pkg === undefined) {
    pkg = packageOfRow(row, cms) ?? null;
    byDrug.set(cms, pkg);
  }
  return pkg ?? undefined;
}

/** A package from the crosswalk row: amount per item in the code's billing unit; solutions in mL. */
function packageOfRow(row: CmsNdcRow, cms: CmsDrug): DrugPackage | undefined {
  const [ndc11, , pkgSize, , billUnits] = row;
  const unit = cms.unit;
  if (!unit) {
    return undefined;
  }
  const perItem = unit.kind === 'amount' ? { value: billUnits * unit.value, unit: unit.unit } : undefined;
  // Package size is mL for solutions and a count for solids; a size of 1 cannot tell which, so the
  // package counts in units (UN), as do oral solids (R11.4; the unit convention is payer-specific).
  const volume = unit.kind === 'amount' && unit.unit === 'mL';
  const liquid = volume || (!cms.oral && pkgSize !== 1);
  return {
    ndc: hyphenatedNdc(ndc11),
    ndc11,
    contains: perItem ?? { value: billUnits, unit: '{package}' },
    ...(liquid ? { volume: { value: pkgSize, unit: 'mL' as const } } : {}),
    ndcUnit: liquid ? 'ML' : 'UN',
    verification: 'V',
  };
}

/** ESRD-on-dialysis codes share NDCs with the non-ESRD ones (J0881/J0882, J0885/Q4081, Q0138/Q0139). */
const ESRD_ONLY = /(?<!non-)\besrd\b/i;

/** The crosswalk row for an NDC without a documented code: the non-ESRD one, the one whose billing unit is the package, else the first. */
function chooseRow(rows: readonly CmsNdcRow[], quarter: CmsQuarter): { row: CmsNdcRow; why?: string } {
  if (rows.length === 1) {
    return { row: rows[0] as CmsNdcRow };
  }
  const ranked = [...rows].sort((a, b) => {
    const esrd = (r: CmsNdcRow): number => (ESRD_ONLY.test(quarter.drugs.get(r[1])?.label ?? '') ? 1 : 0);
    const whole = (r: CmsNdcRow): number => (r[4] === 1 ? 0 : 1);
    return esrd(a) - esrd(b) || whole(a) - whole(b) || a[1].localeCompare(b[1]);
  });
  const row = ranked[0] as CmsNdcRow;
  return {
    row,
    why: `the crosswalk assigns this NDC to ${rows.map((r) => r[1]).join(', ')}: ${row[1]} chosen (not ESRD-specific; its billing unit is the package) — document the HCPCS code if another applies`,
  };
}

interface NameHit {
  readonly code: string;
  readonly alternatives: readonly string[];
}

const ndcCounts = new WeakMap<CmsQuarter, Map<string, number>>();

function ndcCount(quarter: CmsQuarter, code: string): number {
  let counts = ndcCounts.get(quarter);
  if (!counts) {
    counts = new Map();
    for (const rows of quarter.ndc.values()) {
      for (const r of rows) {
        counts.set(r[1], (counts.get(r[1]) ?? 0) + 1);
      }
    }
    ndcCounts.set(quarter, counts);
  }
  return counts.get(code) ?? 0;
}

/**
 * The HCPCS code whose name (every word of one of its name keys) is in the text: lower confidence,
 * so the caller always raises a coder-confirm finding naming the equally good alternatives.
 */
export function matchDrugName(quarter: CmsQuarter, text: string): NameHit | undefined {
  const words = nameWords(text);
  const position = new Map(words.map((w, i) => [w, i]));
  // Per code: the longest name of it found in the text, and where in the text that name starts.
  const found = new Map<string, { length: number; at: number }>();
  for (const w of words) {
    for (const name of quarter.names.get(w) ?? []) {
      if (!name.words.every((x) => position.has(x))) {
        continue;
      }
      const at = Math.min(...name.words.map((x) => position.get(x) ?? Infinity));
      for (const code of name.codes) {
        const prev = found.get(code);
        if (!prev || name.words.length > prev.length || (name.words.length === prev.length && at < prev.at)) {
          found.set(code, { length: name.words.length, at });
        }
      }
    }
  }
  if (found.size === 0) {
    return undefined;
  }
  // The longest name wins ("irinotecan liposome" over "irinotecan"), then the one named first in the
  // text (the drug before its diluent), then a code the ASP file prices, then the most NDCs.
  const ranked = [...found.entries()]
    .sort(
      ([a, x], [b, y]) =>
        y.length - x.length ||
        x.at - y.at ||
        Number(quarter.drugs.get(b)?.origin === 'asp') - Number(quarter.drugs.get(a)?.origin === 'asp') ||
        ndcCount(quarter, b) - ndcCount(quarter, a) ||
        a.localeCompare(b),
    )
    .map(([code]) => code);
  const best = found.get(ranked[0] ?? '');
  return {
    code: ranked[0] as string,
    alternatives: ranked.slice(1).filter((c) => {
      const f = found.get(c);
      return f?.length === best?.length && f?.at === best?.at;
    }),
  };
}

/**
 * A drug code the quarter's ASP file does not list is not separately priced by Medicare that
 * quarter — often because CMS replaced it (J3370 vancomycin 500 mg by J3373 per 10 mg in 2026): say
 * so, naming the priced code that carries the same drug name, so a coder checks before it is billed.
 */
function staleCodeFinding(quarter: CmsQuarter, hcpcs: string): ResolutionFinding | undefined {
  const row = quarter.drugs.get(hcpcs);
  if (row?.origin === 'asp' || !/^[JQ]\d{4}$/.test(hcpcs)) {
    return undefined;
  }
  // Priced, non-oral codes sharing one of its name keys (candidates, not a verdict).
  const keys = new Set(row?.names ?? []);
  const priced = new Set<string>();
  for (const key of keys) {
    for (const name of quarter.names.get(key.split(' ')[0] ?? '') ?? []) {
      if (name.key !== key) {
        continue;
      }
      for (const code of name.codes) {
        const other = quarter.drugs.get(code);
        if (code !== hcpcs && other?.origin === 'asp' && !other.oral) {
          priced.add(code);
        }
      }
    }
  }
  const list = [...priced].sort().slice(0, 5);
  return {
    severity: 'warning',
    code: 'hcpcs-not-in-asp',
    message: `${hcpcs} is not in the CMS ASP pricing file of ${quarter.id} (not separately priced that quarter, or replaced)${list.length > 0 ? `; codes priced for the same drug name: ${list.map((c) => `${c} (${quarter.drugs.get(c)?.label ?? ''})`).join(', ')}` : ''} — check the code`,
    rule: 'R9.1',
  };
}

function describe(drug: DocumentedAdministration['drug']): string {
  return drug.text ?? drug.ndc ?? drug.rxnorm ?? drug.hcpcs ?? '(nothing documented)';
}

/** An entry for a code (or no code) Dripline has no row for: name from the documentation, family from the rules. */
function undescribedEntry(tables: CodingTables, code: string | undefined, text: string): DrugEntry {
  const words = nameWords(text).sort();
  return ruleDerivedEntry(tables, {
    key: code ? `unlisted-${code.toLowerCase()}` : `undocumented-${words.join('-') || 'drug'}`,
    name: text,
    hcpcs: code ?? '',
    hcpcsLabel: code ? `${code} (not in the CMS tables)` : 'HCPCS unknown',
    unit: undefined,
    names: [words.join(' ')],
    verification: 'UNVERIFIED',
    source: 'documentation only',
  });
}

/**
 * Resolutions by loaded tables, quarter chosen and documented drug: a resolution depends on nothing
 * else, the same few drugs are documented all day, and resolving one (NDC readings, crosswalk and
 * catalog lookups, findings) cost more than the rest of classifying its administration.
 */
const resolutions = new WeakMap<CodingTables, WeakMap<QuarterChoice, Map<string, DrugResolution>>>();
const MAX_RESOLUTIONS_PER_QUARTER = 10_000;

export function resolveAdministrationDrug(
  tables: CodingTables,
  adm: DocumentedAdministration,
  dateOfService: string,
): DrugResolution {
  const quarter = quarterFor(tables.cms, dateOfService);
  let byQuarter = resolutions.get(tables);
  if (!byQuarter) {
    byQuarter = new WeakMap();
    resolutions.set(tables, byQuarter);
  }
  let byDrug = byQuarter.get(quarter);
  if (!byDrug) {
    byDrug = new Map();
    byQuarter.set(quarter, byDrug);
  }
  const { ndc, rxnorm, hcpcs, text } = adm.drug;
  // A map key only: fields joined by a separator no code or drug text contains (absent ≠ empty).
  const key = `${ndc ?? '\u0001'}\u0000${rxnorm ?? '\u0001'}\u0000${hcpcs ?? '\u0001'}\u0000${text ?? '\u0001'}`;
  let resolution = byDrug.get(key);
  if (!resolution) {
    resolution = resolveDocumentedDrug(tables, adm.drug, quarter);
    if (byDrug.size < MAX_RESOLUTIONS_PER_QUARTER) {
      byDrug.set(key, resolution);
    }
  }
  return resolution;
}

function resolveDocumentedDrug(
  tables: CodingTables,
  documented: DocumentedAdministration['drug'],
  quarter: QuarterChoice,
): DrugResolution {
  const q = quarter.quarter;
  const findings: ResolutionFinding[] = [];

  // The NDC as printed → the 11-digit NDC a table knows (an unhyphenated 10-digit code has three readings).
  let ndc11: string | undefined;
  let crosswalkRows: readonly CmsNdcRow[] | undefined;
  let catalogHit: ReturnType<typeof lookupNdc>;
  if (documented.ndc) {
    const candidates = ndc11Candidates(documented.ndc);
    const known = candidates.filter((c) => q.ndc.has(c) || lookupNdc(tables, c) !== undefined);
    const [only] = known;
    if (known.length === 1 && only !== undefined) {
      ndc11 = only;
      crosswalkRows = q.ndc.get(only);
      catalogHit = lookupNdc(tables, only);
    } else if (known.length > 1) {
      findings.push({
        severity: 'warning',
        code: 'ndc-ambiguous',
        message: `NDC ${documented.ndc} has no hyphens and reads as ${known.join(' or ')}, both known packages: document it as printed (with hyphens) or as 11 digits; the NDC is left off the claim`,
        rule: 'R11.1',
      });
    } else {
      findings.push({
        severity: 'warning',
        code: 'ndc-not-in-crosswalk',
        message:
          candidates.length === 0
            ? `"${documented.ndc}" is not an NDC (10 digits as 4-4-2, 5-3-2 or 5-4-1, or 11 digits 5-4-2): left off the claim`
            : `NDC ${documented.ndc} is neither in the CMS NDC-HCPCS crosswalk (${q.id}) nor in the catalog: its package is unknown and the NDC is left off the claim`,
        rule: 'R11.1',
      });
    }
  }

  // The HCPCS code.
  let hcpcs: string | undefined;
  let matchedBy: DrugResolution['matchedBy'] = 'none';
  let row: CmsNdcRow | undefined;
  const documentedCode = documented.hcpcs?.trim().toUpperCase();
  if (documentedCode) {
    hcpcs = documentedCode;
    matchedBy = 'hcpcs';
    if (crosswalkRows) {
      row = crosswalkRows.find((r) => r[1] === hcpcs);
      if (!row) {
        findings.push({
          severity: 'warning',
          code: 'ndc-hcpcs-mismatch',
          message: `NDC ${ndc11 ?? ''} is assigned to ${crosswalkRows.map((r) => r[1]).join(', ')} in the CMS crosswalk (${q.id}), not to the documented ${hcpcs}: the documented code is billed without the NDC's package data — check which is right`,
          rule: 'R11.1',
        });
      }
    }
  } else if (crosswalkRows) {
    const choice = chooseRow(crosswalkRows, q);
    row = choice.row;
    hcpcs = row[1];
    matchedBy = 'ndc';
    if (choice.why) {
      findings.push({
        severity: 'information',
        code: 'ndc-several-codes',
        message: choice.why,
        rule: 'R11.1',
      });
    }
  } else if (catalogHit) {
    hcpcs = catalogHit.drug.hcpcs;
    matchedBy = 'ndc';
  } else if (documented.rxnorm && lookupRxnorm(tables, documented.rxnorm)) {
    hcpcs = lookupRxnorm(tables, documented.rxnorm)?.hcpcs;
    matchedBy = 'rxnorm';
  } else if (documented.text) {
    const hit = matchDrugName(q, documented.text);
    if (hit) {
      hcpcs = hit.code;
      matchedBy = 'name';
      findings.push({
        severity: 'warning',
        code: 'drug-matched-by-name',
        message: `"${documented.text}" has no HCPCS, NDC or known RxNorm code: ${hit.code} (${q.drugs.get(hit.code)?.label ?? ''}) was matched by name${hit.alternatives.length > 0 ? ` (also possible: ${hit.alternatives.slice(0, 5).join(', ')})` : ''} — a coder must confirm the code, or document the NDC or HCPCS`,
        rule: 'R9.1',
      });
    }
  }

  const text = describe(documented);
  if (hcpcs) {
    const stale = staleCodeFinding(q, hcpcs);
    if (stale) {
      findings.push(stale);
    }
  }
  if (!hcpcs) {
    return { drug: undescribedEntry(tables, undefined, text), quarter, matchedBy, findings };
  }
  const cms = q.drugs.get(hcpcs);
  const catalogDrug = catalogHit?.drug.hcpcs === hcpcs ? catalogHit.drug : undefined;
  const drug = catalogDrug ?? drugEntryFor(tables, hcpcs, cms) ?? undescribedEntry(tables, hcpcs, text);
  const billing: BillingUnit | undefined =
    cms?.unit ??
    (drug.billingUnit.unit.startsWith('{') ? undefined : { kind: 'amount', ...drug.billingUnit });
  const pkg =
    (row && cms ? crosswalkPackage(row, cms) : undefined) ??
    (catalogHit && catalogHit.drug.hcpcs === hcpcs ? catalogHit.pkg : undefined);
  return {
    drug,
    hcpcs,
    ...(cms ? { cms } : {}),
    quarter,
    ...(billing ? { billing } : {}),
    ...(pkg ? { pkg } : {}),
    matchedBy,
    findings,
  };
}
