/**
 * The drug universe: the hand-curated catalog (drugs.json) as an overlay on the CMS quarter tables.
 * A HCPCS code the catalog lists keeps its catalog entry (container, family, packages, per diem);
 * any other code in the CMS tables gets an entry derived from its CMS row and the category rules
 * (category-rules.json): billing unit from CMS, family / therapy class / hormonal flag from the
 * HCPCS and name rules, home per diem and HIT category from the therapy class, and container
 * "single-dose" as an assumption the engine states on the line (CMS files do not say).
 *
 * Pure over loaded tables; entries are derived once per tables object and code (WeakMap cache).
 */
import type { AdministrationFamily } from '../types.ts';
import type { BillingUnit } from '../cms/dosage.ts';
import { latestQuarter } from './cms.ts';
import type {
  CategoryRule,
  CategoryRuleTable,
  CmsDrug,
  CodingTables,
  DrugEntry,
  TherapyClass,
} from './types.ts';

export interface RuleMatch {
  readonly family?: { readonly value: AdministrationFamily; readonly rule: CategoryRule };
  readonly therapyClass?: { readonly value: TherapyClass; readonly rule: CategoryRule };
  readonly hormonalAntineoplastic?: boolean;
}

const patterns = new WeakMap<CategoryRule, RegExp>();

function patternOf(rule: CategoryRule): RegExp | undefined {
  if (rule.pattern === undefined) {
    return undefined;
  }
  let re = patterns.get(rule);
  if (!re) {
    re = new RegExp(rule.pattern);
    patterns.set(rule, re);
  }
  return re;
}

function hcpcsRuleMatches(rule: CategoryRule, code: string): boolean {
  if (rule.codes?.includes(code)) {
    return true;
  }
  return rule.from !== undefined && rule.to !== undefined && code >= rule.from && code <= rule.to;
}

/** Rule matches by code and names, per rule table (the same drugs recur all day). */
const matches = new WeakMap<CategoryRuleTable, Map<string, RuleMatch>>();

/**
 * What the category rules say about a drug: HCPCS rules first, then name rules on its name keys;
 * the first rule giving a family decides it, likewise the therapy class and the hormonal flag.
 */
export function matchCategoryRules(
  rules: CategoryRuleTable,
  code: string | undefined,
  names: readonly string[],
): RuleMatch {
  let cache = matches.get(rules);
  if (!cache) {
    cache = new Map();
    matches.set(rules, cache);
  }
  const key = `${code ?? ''}|${names.join('|')}`;
  let match = cache.get(key);
  if (!match) {
    match = matchRules(rules, code, names);
    if (cache.size < 50_000) {
      cache.set(key, match);
    }
  }
  return match;
}

function matchRules(rules: CategoryRuleTable, code: string | undefined, names: readonly string[]): RuleMatch {
  let family: RuleMatch['family'];
  let therapyClass: RuleMatch['therapyClass'];
  let hormonal: boolean | undefined;
  const take = (rule: CategoryRule): void => {
    if (!family && rule.family) {
      family = { value: rule.family, rule };
    }
    // Hormonal is a property of the drug, whichever rule set its family (J9155 degarelix is in the
    // J9 range and a hormonal antineoplastic).
    if (hormonal === undefined && rule.hormonalAntineoplastic !== undefined) {
      hormonal = rule.hormonalAntineoplastic;
    }
    if (!therapyClass && rule.therapyClass) {
      therapyClass = { value: rule.therapyClass, rule };
    }
  };
  if (code !== undefined) {
    for (const rule of rules.hcpcsRules) {
      if (hcpcsRuleMatches(rule, code)) {
        take(rule);
      }
    }
  }
  for (const rule of rules.nameRules) {
    const re = patternOf(rule);
    if (re && names.some((n) => re.test(n))) {
      take(rule);
    }
  }
  return {
    ...(family ? { family } : {}),
    ...(therapyClass ? { therapyClass } : {}),
    ...(hormonal !== undefined ? { hormonalAntineoplastic: hormonal } : {}),
  };
}

/** The catalog's `billingUnit` shape for a CMS billing unit (count-based units keep a UCUM annotation). */
export function catalogUnitOf(unit: BillingUnit | undefined): { value: number; unit: string } {
  if (!unit) {
    return { value: 1, unit: '{unknown}' };
  }
  switch (unit.kind) {
    case 'amount':
      return { value: unit.value, unit: unit.unit };
    case 'per-administration':
      return { value: 1, unit: '{administration}' };
    case 'per-package':
      return { value: 1, unit: '{package}' };
  }
}

/** What identifies a row the category rules complete: code, names, unit and where it came from. */
export interface RuleDerivedIdentity {
  readonly key: string;
  readonly name: string;
  readonly hcpcs: string;
  readonly hcpcsLabel: string;
  readonly unit: BillingUnit | undefined;
  /** Names matched against the rules' name patterns. */
  readonly names: readonly string[];
  readonly verification: DrugEntry['verification'];
  readonly source: string;
  readonly notes?: string;
}

/**
 * A drug row no one curated: family, therapy class and home-infusion category from
 * category-rules.json (by code, then names), container assumed single-dose (the engine asks to
 * confirm JW/JZ). The CMS universe and the engine's rows for undescribed drugs both come from here.
 */
export function ruleDerivedEntry(tables: CodingTables, identity: RuleDerivedIdentity): DrugEntry {
  const code = identity.hcpcs === '' ? undefined : identity.hcpcs;
  const match = matchCategoryRules(tables.categoryRules, code, identity.names);
  const therapyClass = match.therapyClass?.value ?? 'other';
  const home = tables.categoryRules.homeByTherapyClass[therapyClass];
  return {
    key: identity.key,
    name: identity.name,
    hcpcs: identity.hcpcs,
    hcpcsLabel: identity.hcpcsLabel,
    billingUnit: catalogUnitOf(identity.unit),
    family: match.family?.value ?? 'therapeutic',
    container: 'single-dose',
    ...(match.hormonalAntineoplastic ? { hormonalAntineoplastic: true } : {}),
    therapyClass,
    packages: [],
    ...(home?.perDiem ? { homePerDiem: home.perDiem } : {}),
    ...(home?.hitCategory ? { hitCategory: home.hitCategory } : {}),
    verification: identity.verification,
    source: identity.source,
    ...(identity.notes !== undefined ? { notes: identity.notes } : {}),
  };
}

function deriveEntry(tables: CodingTables, cms: CmsDrug): DrugEntry {
  return ruleDerivedEntry(tables, {
    key: `cms-${cms.code.toLowerCase()}`,
    name: cms.names[0] ?? cms.label,
    hcpcs: cms.code,
    hcpcsLabel: cms.label,
    unit: cms.unit,
    names: cms.names,
    verification: cms.origin === 'hcpcs' ? 'C' : 'V',
    source: `CMS ${cms.origin === 'asp' ? 'ASP pricing file' : cms.origin === 'crosswalk' ? 'NDC-HCPCS crosswalk' : 'HCPCS Level II file'} (dosage "${cms.dosage}"); category-rules.json`,
    notes:
      'Derived, not curated: container assumed single-dose (CMS files do not say; the engine asks to confirm JW/JZ), family and therapy class from category-rules.json.',
  });
}

interface UniverseCache {
  readonly catalog: ReadonlyMap<string, DrugEntry>;
}

const caches = new WeakMap<CodingTables, UniverseCache>();
/** Derived entries by CMS row (a row belongs to one loaded tables object). */
const derived = new WeakMap<CmsDrug, DrugEntry>();

function cacheOf(tables: CodingTables): UniverseCache {
  let cache = caches.get(tables);
  if (!cache) {
    const catalog = new Map<string, DrugEntry>();
    for (const d of tables.drugs.drugs) {
      if (!catalog.has(d.hcpcs.toUpperCase())) {
        catalog.set(d.hcpcs.toUpperCase(), d);
      }
    }
    cache = { catalog };
    caches.set(tables, cache);
  }
  return cache;
}

/** The catalog entry of a HCPCS code (first in file order), if the catalog lists it. */
export function catalogEntry(tables: CodingTables, hcpcs: string): DrugEntry | undefined {
  return cacheOf(tables).catalog.get(hcpcs.trim().toUpperCase());
}

/**
 * The drug entry of any HCPCS code Dripline knows: the catalog's, else one derived from its CMS
 * row (`cms`, default: the row of the latest imported quarter). Undefined for a code in neither.
 */
export function drugEntryFor(tables: CodingTables, hcpcs: string, cms?: CmsDrug): DrugEntry | undefined {
  const code = hcpcs.trim().toUpperCase();
  const listed = cacheOf(tables).catalog.get(code);
  if (listed) {
    return listed;
  }
  const row = cms ?? latestQuarter(tables.cms).drugs.get(code);
  if (!row) {
    return undefined;
  }
  let entry = derived.get(row);
  if (!entry) {
    entry = deriveEntry(tables, row);
    derived.set(row, entry);
  }
  return entry;
}

/** Cross-checks of category-rules.json (run by the loader with the other tables' cross-checks). */
export function categoryRuleIssues(
  t: CodingTables,
  perDiemCodes: ReadonlySet<string>,
  hitCategories: ReadonlySet<number>,
  C: string,
): { file: string; path: string; message: string }[] {
  const issues: { file: string; path: string; message: string }[] = [];
  const add = (file: string, path: string, message: string): void => {
    issues.push({ file, path, message });
  };
  const rulesOf = [
    ['hcpcsRules', t.categoryRules.hcpcsRules],
    ['nameRules', t.categoryRules.nameRules],
  ] as const;
  for (const [list, rules] of rulesOf) {
    rules.forEach((rule, i) => {
      const at = `$.${list}[${i}]`;
      if (
        list === 'hcpcsRules' &&
        rule.codes === undefined &&
        (rule.from === undefined || rule.to === undefined)
      ) {
        add(C, at, 'a HCPCS rule needs codes or from and to');
      }
      if (list === 'nameRules') {
        try {
          new RegExp(rule.pattern ?? '(?!)');
        } catch (err) {
          add(C, `${at}.pattern`, `not a regular expression: ${(err as Error).message}`);
        }
        if (rule.pattern === undefined) {
          add(C, at, 'a name rule needs a pattern');
        }
      }
      if (rule.hormonalAntineoplastic && rule.family !== 'chemo-complex') {
        add(C, `${at}.hormonalAntineoplastic`, 'a hormonal antineoplastic must have family "chemo-complex"');
      }
    });
  }
  for (const [therapy, home] of Object.entries(t.categoryRules.homeByTherapyClass)) {
    if (home.perDiem !== undefined && !perDiemCodes.has(home.perDiem)) {
      add(
        C,
        `$.homeByTherapyClass.${therapy}.perDiem`,
        `${home.perDiem} is not a per diem code in home-infusion.json`,
      );
    }
    if (home.hitCategory !== undefined && !hitCategories.has(home.hitCategory)) {
      add(
        C,
        `$.homeByTherapyClass.${therapy}.hitCategory`,
        `category ${home.hitCategory} has no Medicare HIT codes`,
      );
    }
  }

  return issues;
}
