/**
 * The scrubber's rule table: every rule id it can report, with its default severity, whether a
 * person may override it, its source and its fix (rules/scrub-rules.json), and the data the medical
 * necessity and prior authorization checks read (rules/medical-necessity.json; prior authorization:
 * coverage's table, src/coverage/rules/prior-auth.json, through src/coverage/pas/auth-rules.ts).
 * Loaded once per process; a structural check throws on a bad file.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Verification } from '../../coding/tables/types.ts';
import { loadPriorAuthTable } from '../../coverage/pas/auth-rules.ts';
import type { PriorAuthTable } from '../../coverage/pas/auth-rules.ts';
import type { ScrubFinding } from '../types.ts';

export const RULES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'rules');

export interface RuleDefault {
  readonly severity: ScrubFinding['severity'];
  readonly overridable: boolean;
  readonly carc?: string;
  readonly source: string;
  readonly fix: string;
}

export interface MedicalNecessityEntry {
  readonly name: string;
  readonly hcpcs: readonly string[];
  /** ICD-10-CM prefixes (category or subcategory, with the dot). */
  readonly covered: readonly string[];
  readonly verification: Verification;
  readonly source: string;
  readonly notes?: string;
}

export interface ClaimRules {
  readonly rules: Readonly<Record<string, RuleDefault>>;
  readonly medicalNecessity: readonly MedicalNecessityEntry[];
  /** Which drugs need prior authorization, per payer and date (read with authorizationRuleFor). */
  readonly priorAuth: PriorAuthTable;
}

let cached: ClaimRules | undefined;

function readRuleFile(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(RULES_DIR, file), 'utf8')) as Record<string, unknown>;
}

/** Loads rules/*.json once per process (a structural check throws on a bad file). */
export function loadClaimRules(): ClaimRules {
  if (!cached) {
    const rules = readRuleFile('scrub-rules.json')['rules'] as ClaimRules['rules'] | undefined;
    const medicalNecessity = readRuleFile('medical-necessity.json')['drugs'] as
      ClaimRules['medicalNecessity'] | undefined;
    const priorAuth = loadPriorAuthTable();
    if (!rules || !Array.isArray(medicalNecessity)) {
      throw new Error(`claim rules in ${RULES_DIR} are incomplete`);
    }
    for (const id of [...RULE_IDS, ...RISK_RULE_IDS]) {
      if (!rules[id]) {
        throw new Error(`scrub-rules.json: rule ${id} is missing`);
      }
    }
    cached = { rules, medicalNecessity, priorAuth };
  }
  return cached;
}

/** Every rule id the scrubber can report. */
export const RULE_IDS = [
  'claim-invalid',
  'coverage-missing',
  'coverage-inactive',
  'coverage-period',
  'member-id-missing',
  'subscriber-missing',
  'patient-data-missing',
  'attending-missing',
  'ncci-ptp',
  'mue',
  'doc-administration-missing',
  'doc-status',
  'doc-start-time',
  'doc-stop-time',
  'doc-dose',
  'doc-site',
  'doc-order',
  'doc-signature',
  'med-necessity',
  'prior-auth',
  'prior-auth-service',
  'prior-auth-dates',
  'prior-auth-units',
  'timely-filing',
  'timely-filing-near',
  'payer-ndc-required',
  'payer-refused-code',
  'payer-jw-jz',
  'duplicate-claim',
  'place-of-service',
  'diagnosis-missing',
  'units-invalid',
  'charge-held',
] as const;

/**
 * The denial forecast's rules (src/claims/risk/): reported beside the checks above from the
 * tenant's history, not from the claim alone, so no seeded claim shows them.
 */
export const RISK_RULE_IDS = ['denial-risk', 'denial-risk-hold'] as const;

export type RuleId = (typeof RULE_IDS)[number] | (typeof RISK_RULE_IDS)[number];
