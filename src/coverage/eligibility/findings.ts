/**
 * What a person must act on in an eligibility answer, as findings of the rules in ./rules.json (the
 * one table the eligibility Task before a visit and the claim scrubber both read): the coverage
 * is not in force on the date of service, another payer answered or is named, the payer could not
 * find the member. Pure.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkFinding } from '../../fhir/work-items.ts';
import type { EligibilitySummary } from './summary.ts';

export const ELIGIBILITY_RULE_IDS = [
  'eligibility-inactive',
  'eligibility-payer-differs',
  'eligibility-rejected',
  'eligibility-no-coverage',
  'eligibility-not-asked',
  'eligibility-answer-invalid',
] as const;

export type EligibilityRuleId = (typeof ELIGIBILITY_RULE_IDS)[number];

export interface EligibilityRule {
  readonly severity: WorkFinding['severity'];
  readonly overridable: boolean;
  /** The claim adjustment reason code a payer would deny with. */
  readonly carc?: string;
  readonly source: string;
  readonly fix: string;
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), 'rules.json');
let cached: Readonly<Record<EligibilityRuleId, EligibilityRule>> | undefined;

export function loadEligibilityRules(): Readonly<Record<EligibilityRuleId, EligibilityRule>> {
  if (cached) {
    return cached;
  }
  const rules = (JSON.parse(readFileSync(FILE, 'utf8')) as { rules?: Record<string, EligibilityRule> }).rules;
  for (const id of ELIGIBILITY_RULE_IDS) {
    const rule = rules?.[id];
    if (
      !rule ||
      !['error', 'warning', 'information'].includes(rule.severity) ||
      typeof rule.overridable !== 'boolean' ||
      !rule.source ||
      !rule.fix
    ) {
      throw new Error(`${FILE}: rule ${id} is missing or incomplete`);
    }
  }
  cached = rules as Record<EligibilityRuleId, EligibilityRule>;
  return cached;
}

/** A finding of one of the eligibility rules, with its severity, source and fix from the table. */
export function eligibilityFinding(
  ruleId: EligibilityRuleId,
  message: string,
  extraSource?: string,
): WorkFinding {
  const rule = loadEligibilityRules()[ruleId];
  return {
    severity: rule.severity,
    ruleId,
    source: [rule.source, extraSource, rule.carc ? `CARC ${rule.carc}` : undefined]
      .filter((s): s is string => s !== undefined)
      .join('; '),
    message,
    fix: rule.fix,
    overridable: rule.overridable,
  };
}

export interface FindingsInput {
  /** The latest answer about the coverage; none: nothing to say. */
  readonly summary: EligibilitySummary | undefined;
  /** How to name the coverage ("Coverage cov-001-1 (Medicare)"). */
  readonly coverageLabel: string;
  /** The payer the Coverage on file names. */
  readonly expectedPayer?: { readonly payerId: string; readonly name: string };
  /** Payer ids of every coverage on file for the patient (other payers named there are expected). */
  readonly payersOnFile: readonly string[];
  /** The dates of service (or the visit's date) the coverage must be in force on. */
  readonly dates: readonly string[];
}

/** Whether the answer says the coverage is in force on `date` (YYYY-MM-DD). */
export function inForceOn(summary: EligibilitySummary, date: string): boolean {
  const within =
    (!summary.planStart || date >= summary.planStart) && (!summary.planEnd || date <= summary.planEnd);
  // Not in force, with no end date given: not in force on any date asked.
  return within && !(summary.inforce === false && !summary.planEnd);
}

export function eligibilityFindings(input: FindingsInput): WorkFinding[] {
  const { summary, coverageLabel } = input;
  if (!summary) {
    return [];
  }
  const source = summary.response;
  if (summary.outcome === 'error' || summary.errors.length > 0) {
    const why = summary.errors.map((e) => `${e.text}${e.code ? ` (${e.code})` : ''}`).join('; ');
    return [
      eligibilityFinding(
        'eligibility-rejected',
        `${coverageLabel}: the payer did not answer the eligibility inquiry${why ? `: ${why}` : ''}.`,
        source,
      ),
    ];
  }
  const findings: WorkFinding[] = [];
  const dates = [...new Set(input.dates.filter((d) => d !== ''))].sort();
  const notInForce = dates.filter((d) => !inForceOn(summary, d));
  if (notInForce.length > 0) {
    const plan =
      summary.planStart || summary.planEnd
        ? ` (plan ${summary.planStart ?? '…'} to ${summary.planEnd ?? '…'})`
        : '';
    findings.push(
      eligibilityFinding(
        'eligibility-inactive',
        `${coverageLabel}: the payer says the coverage is not in force on ${notInForce.join(', ')}${plan}.`,
        source,
      ),
    );
  }
  const expected = input.expectedPayer;
  const answeredBy =
    expected && summary.payerId !== undefined && summary.payerId !== expected.payerId
      ? `${summary.payerName ?? 'another payer'} (${summary.payerId}) answered for ${expected.name} (${expected.payerId})`
      : undefined;
  const named = summary.otherPayers.filter(
    (p) => p.payerId === undefined || !input.payersOnFile.includes(p.payerId),
  );
  if (answeredBy || named.length > 0) {
    const others = named.map((p) => `${p.name ?? 'a payer'}${p.payerId ? ` (${p.payerId})` : ''}`).join(', ');
    findings.push(
      eligibilityFinding(
        'eligibility-payer-differs',
        `${coverageLabel}: ${[
          answeredBy,
          others ? `the payer names another payer not on file: ${others}` : undefined,
        ]
          .filter((s) => s !== undefined)
          .join('; ')}.`,
        source,
      ),
    );
  }
  return findings;
}
