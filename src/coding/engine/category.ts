/**
 * The administration family of a drug (coding-rules R1.1–R1.2: chemo/complex, therapeutic
 * (TPD) or hydration), decided by one pure function in a fixed order, each step naming its source:
 *
 * 1. documented on the order (MedicationRequest), else on the Medication — extension
 *    `EXT_ADMINISTRATION_CATEGORY` (src/contract/canonical.ts), part of the FHIR
 *    contract (R1.2: "the category belongs on the drug master or the order");
 * 2. the tenant's overrides (configuration `coding.familyOverrides`, for this payer kind, then for
 *    all payers), then the payer rule set's `familyOverrides` (R1.2: payers differ on monoclonal
 *    antibodies and some biologics, AMERIHEALTH-CX, JANSSEN-REMI);
 * 3. the hand-curated drug table (drugs.json);
 * 4. the HCPCS code and the drug's name (category-rules.json: J9000–J9999 antineoplastics,
 *    infusion solutions, hormonal antineoplastics, complex-biologic classes — some of which ask a
 *    coder to confirm);
 * 5. only then TPD, with a finding asking a coder to confirm (the administration is still billed).
 */
import type { CategoryRuleTable, DrugEntry, PayerRuleSet } from '../tables/types.ts';
import { matchCategoryRules } from '../tables/universe.ts';
import type { AdministrationFamily, FamilyOverrides, PayerKind } from '../types.ts';
import { RULE_SOURCES } from './sources.ts';

export type CategoryStep =
  'order' | 'medication' | 'tenant' | 'payer' | 'drug-table' | 'hcpcs-rule' | 'name-rule' | 'default';

export interface CategoryDecision {
  readonly family: AdministrationFamily;
  /** SC/IM chemo injection of a hormonal antineoplastic → 96402 (R6.1). */
  readonly hormonalAntineoplastic: boolean;
  readonly step: CategoryStep;
  /** For the line's rationale: "family chemo-complex (HCPCS J9000–J9999 antineoplastic; R1.2)". */
  readonly note: string;
  readonly sources: readonly string[];
  /** Set when a coder should confirm the family: why. */
  readonly confirm?: string;
}

export interface CategoryInput {
  readonly documented?: { readonly family: AdministrationFamily; readonly on: 'order' | 'medication' };
  /** The HCPCS code billed, when known. */
  readonly hcpcs?: string;
  readonly drug: DrugEntry;
  /** True when `drug` is the hand-curated catalog's entry (not derived from CMS data). */
  readonly listed: boolean;
  /** Name keys of the drug (CMS names, else the documented text's). */
  readonly names: readonly string[];
  readonly payer: PayerKind;
  readonly payerRules: PayerRuleSet;
  readonly tenant?: FamilyOverrides;
  readonly rules: CategoryRuleTable;
}

const R12 = RULE_SOURCES['R1.2'] ?? [];

/**
 * Decisions without a documented category or tenant override depend only on the payer rule set,
 * the code and the drug: cached per rule tables (the same drugs recur all day).
 */
const decisions = new WeakMap<CategoryRuleTable, WeakMap<PayerRuleSet, Map<string, CategoryDecision>>>();

export function decideCategory(input: CategoryInput): CategoryDecision {
  const tenantDecides =
    input.hcpcs !== undefined &&
    (input.tenant?.[input.payer]?.[input.hcpcs] !== undefined ||
      input.tenant?.all?.[input.hcpcs] !== undefined);
  if (input.documented || tenantDecides) {
    return decide(input);
  }
  let byPayer = decisions.get(input.rules);
  if (!byPayer) {
    byPayer = new WeakMap();
    decisions.set(input.rules, byPayer);
  }
  let cache = byPayer.get(input.payerRules);
  if (!cache) {
    cache = new Map();
    byPayer.set(input.payerRules, cache);
  }
  // With a code, the drug and its names follow from it; without one, the documented names decide.
  const key =
    input.hcpcs !== undefined
      ? `${input.payer}|${input.hcpcs}|${input.drug.key}`
      : `${input.payer}||${input.drug.key}|${input.names.join('|')}`;
  let decision = cache.get(key);
  if (!decision) {
    decision = decide(input);
    if (cache.size < 50_000) {
      cache.set(key, decision);
    }
  }
  return decision;
}

function decide(input: CategoryInput): CategoryDecision {
  const { drug, hcpcs, payer } = input;
  const rules = (): ReturnType<typeof matchCategoryRules> =>
    matchCategoryRules(input.rules, hcpcs, input.names);
  const hormonal = (family: AdministrationFamily): boolean =>
    family === 'chemo-complex' && (drug.hormonalAntineoplastic ?? rules().hormonalAntineoplastic ?? false);
  const decided = (
    family: AdministrationFamily,
    step: CategoryStep,
    why: string,
    sources: readonly string[],
    confirm?: string,
  ): CategoryDecision => ({
    family,
    hormonalAntineoplastic: hormonal(family),
    step,
    note: `family ${family} (${why}, R1.2)`,
    sources: [...new Set([...R12, ...sources])],
    ...(confirm ? { confirm } : {}),
  });

  if (input.documented) {
    return decided(
      input.documented.family,
      input.documented.on,
      `documented on the ${input.documented.on === 'order' ? 'order' : 'Medication'} (administration-category)`,
      ['FHIR: extension administration-category'],
    );
  }
  if (hcpcs) {
    const tenant = input.tenant?.[payer]?.[hcpcs] ?? input.tenant?.all?.[hcpcs];
    if (tenant) {
      return decided(
        tenant,
        'tenant',
        `tenant override for ${hcpcs}${input.tenant?.[payer]?.[hcpcs] ? ` (${payer})` : ''}`,
        ['tenant configuration coding.familyOverrides'],
      );
    }
    const byPayer = input.payerRules.familyOverrides[hcpcs];
    if (byPayer) {
      return decided(byPayer, 'payer', `${payer} rule set override for ${hcpcs}`, [
        `payer-${payer}.json`,
        ...input.payerRules.sources.filter((s) => !s.includes('/')),
      ]);
    }
  }
  if (input.listed) {
    return decided(drug.family, 'drug-table', 'drug master', ['drugs.json']);
  }
  const matched = rules().family;
  if (matched) {
    const rule = matched.rule;
    const step: CategoryStep = rule.pattern !== undefined ? 'name-rule' : 'hcpcs-rule';
    return decided(
      matched.value,
      step,
      step === 'hcpcs-rule' ? `${hcpcs ?? ''}: ${rule.class}` : rule.class,
      rule.sources,
      rule.confirm
        ? `the ${rule.family ?? ''} family of ${hcpcs ?? drug.name} comes from its class (${rule.class}), not from a documented category or a curated table: confirm it, or document the category on the order (R1.2)`
        : undefined,
    );
  }
  return decided(
    'therapeutic',
    'default',
    'no documented category, override, table entry or class rule: TPD default',
    [],
    `the administration family of ${hcpcs ?? drug.name} is not known to Dripline: coded as therapeutic/prophylactic/diagnostic (TPD) — confirm it, or document the category on the order or Medication (R1.2)`,
  );
}
