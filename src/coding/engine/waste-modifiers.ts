/**
 * The discarded-drug modifiers JW and JZ, read once: the coding engine plans a drug's lines with
 * `planWasteModifiers`, and the claim scrubber checks a claim's lines with `checkWasteModifiers`.
 * Both take the payer's rule from its rule set (src/coding/tables/payer-*.json `wasteModifiers`).
 * Pure.
 *
 * The rule (CMS Medicare Claims Processing Manual ch. 17 §40 and the CMS JW/JZ policy FAQ, as
 * restated in ../shared/research/coding-rules.md R10.1–R10.5):
 * - a single-dose container whose discarded amount is billable: the administered amount on its own
 *   line **without** JW or JZ, the discarded amount on a separate line **with** JW (R10.1);
 * - nothing billable was discarded — nothing left in the container, or the discarded amount fits
 *   inside the units already billed for the dose (R10.4) — one line **with** JZ, for dates of
 *   service from the payer's `jzRequiredFrom` (R10.2). That the R10.4 line takes JZ is the CMS
 *   FAQ's own example (70 mg given from a 100 mg vial under a 100 mg code: one unit, JZ), as
 *   restated by Noridian JD DME, "Modifier JZ" (WASTE_INSIDE_UNIT_SOURCE);
 * - never JW and JZ on one line (R10.2); neither on a multi-dose container, nor on a drug that is
 *   not separately payable — OPPS packaged (status N) on an institutional claim (R10.3);
 * - a payer that uses neither (`jw` false, `jzRequiredFrom` null) gets neither (R10.5).
 */
import { ceilUnits } from './units.ts';

/** A payer's use of the modifiers (PayerRuleSet.wasteModifiers). */
export interface WasteModifierRule {
  readonly jw: boolean;
  /** JZ required for dates of service on/after this date (YYYY-MM-DD), or null when never. */
  readonly jzRequiredFrom: string | null;
}

export type Container = 'single-dose' | 'multi-dose';

/** Where R10.4's "one line with JZ" is stated (the CMS FAQ example, restated by a MAC). */
export const WASTE_INSIDE_UNIT_SOURCE = 'https://med.noridianmedicare.com/web/jddme/topics/modifiers/jz';

const EPSILON = 1e-9;

function jzRequired(rule: WasteModifierRule, dateOfService: string): boolean {
  return rule.jzRequiredFrom !== null && dateOfService.slice(0, 10) >= rule.jzRequiredFrom;
}

/** True when the payer uses JW or JZ at all (R10.5). */
export function usesWasteModifiers(rule: WasteModifierRule): boolean {
  return rule.jw || rule.jzRequiredFrom !== null;
}

export interface WastePlanInput {
  readonly rule: WasteModifierRule;
  readonly container: Container;
  /** YYYY-MM-DD. */
  readonly dateOfService: string;
  /** Administered amount in billing units (not rounded). */
  readonly doseUnits: number;
  /** Discarded amount in billing units (not rounded); undefined when unknown. */
  readonly wasteUnits: number | undefined;
  /** Not separately payable: OPPS packaged (status N) on an institutional claim (R10.3). */
  readonly packaged?: boolean;
}

/** What the lines of one drug carry. */
export type WastePlan =
  /** Administered line without JW/JZ, and a JW line of `jwUnits` (R10.1). */
  | { readonly kind: 'jw-line'; readonly jwUnits: number; readonly rule: 'R10.1' }
  /** One line with JZ: nothing discarded, or the discarded amount inside the billed units (R10.4). */
  | { readonly kind: 'jz'; readonly wasteInsideUnit: boolean; readonly rule: 'R10.2' | 'R10.4' }
  /** Neither modifier: payer does not use them (R10.5), or JZ not yet required (R10.2 / R10.4). */
  | {
      readonly kind: 'none';
      readonly wasteInsideUnit: boolean;
      readonly rule: 'R10.2' | 'R10.4' | 'R10.5';
    }
  /** Neither modifier applies to this drug: a multi-dose container or packaged under OPPS (R10.3). */
  | { readonly kind: 'exempt'; readonly reason: 'multi-dose' | 'packaged'; readonly rule: 'R10.3' }
  /** Single-dose, the payer uses the modifiers, and the discarded amount is unknown: neither can be attested. */
  | { readonly kind: 'unknown-waste'; readonly rule: 'R10.1' };

/** The modifiers of one drug's lines. */
export function planWasteModifiers(input: WastePlanInput): WastePlan {
  const { rule, container, dateOfService, doseUnits, wasteUnits } = input;
  if (!usesWasteModifiers(rule)) {
    return { kind: 'none', wasteInsideUnit: false, rule: 'R10.5' };
  }
  if (container !== 'single-dose') {
    return { kind: 'exempt', reason: 'multi-dose', rule: 'R10.3' };
  }
  if (input.packaged === true) {
    return { kind: 'exempt', reason: 'packaged', rule: 'R10.3' };
  }
  if (wasteUnits === undefined) {
    return { kind: 'unknown-waste', rule: 'R10.1' };
  }
  const wasted = wasteUnits > EPSILON;
  const jwUnits = rule.jw && wasted ? ceilUnits(doseUnits + wasteUnits) - ceilUnits(doseUnits) : 0;
  if (jwUnits > 0) {
    return { kind: 'jw-line', jwUnits, rule: 'R10.1' };
  }
  const wasteInsideUnit = wasted;
  if (jzRequired(rule, dateOfService)) {
    return { kind: 'jz', wasteInsideUnit, rule: wasteInsideUnit ? 'R10.4' : 'R10.2' };
  }
  return { kind: 'none', wasteInsideUnit, rule: wasteInsideUnit ? 'R10.4' : 'R10.2' };
}

/** One claim line as the check reads it. */
export interface WasteLine {
  readonly sequence: number;
  /** HCPCS code. */
  readonly code: string;
  /** Date of service, YYYY-MM-DD. */
  readonly date: string;
  readonly modifiers: readonly string[];
  /** The drug's container; undefined when the line is not a drug of the catalog. */
  readonly container: Container | undefined;
  /** The NDC of the package, when the line carries one. */
  readonly ndc?: string;
  /** Not separately payable: OPPS packaged (status N) on an institutional claim (R10.3). */
  readonly packaged?: boolean;
}

export type WasteProblem =
  'missing' | 'jw-and-jz' | 'jz-with-waste-line' | 'waste-line-alone' | 'not-single-dose';

export interface WasteFinding {
  readonly sequence: number;
  readonly problem: WasteProblem;
  /** The coding rule the line breaks. */
  readonly rule: 'R10.1' | 'R10.2' | 'R10.3';
  readonly message: string;
}

/** A JW line reports the waste of an administered line of the same drug, date and package. */
function sameDrug(waste: WasteLine, line: WasteLine): boolean {
  return (
    waste.code === line.code &&
    waste.date === line.date &&
    (waste.ndc === undefined || line.ndc === undefined || waste.ndc === line.ndc)
  );
}

/** The lines of a claim that break the payer's JW/JZ rule, in line order. */
export function checkWasteModifiers(rule: WasteModifierRule, lines: readonly WasteLine[]): WasteFinding[] {
  if (!usesWasteModifiers(rule)) {
    return [];
  }
  const findings: WasteFinding[] = [];
  const hasJw = (l: WasteLine): boolean => l.modifiers.includes('JW');
  const hasJz = (l: WasteLine): boolean => l.modifiers.includes('JZ');
  const drugLines = lines.filter((l) => l.container !== undefined);
  const wasteLines = drugLines.filter(hasJw);
  const administered = drugLines.filter((l) => !hasJw(l));
  for (const line of [...drugLines].sort((a, b) => a.sequence - b.sequence)) {
    const what = `Drug line ${line.sequence} (${line.code}) on ${line.date}`;
    if (line.container === 'multi-dose' || line.packaged === true) {
      if (hasJw(line) || hasJz(line)) {
        const why =
          line.container === 'multi-dose'
            ? 'the drug comes in a multi-dose container'
            : 'the drug is packaged under OPPS (status N), not separately payable';
        findings.push({
          sequence: line.sequence,
          problem: 'not-single-dose',
          rule: 'R10.3',
          message: `${what} carries ${hasJw(line) ? 'JW' : 'JZ'}, but ${why}: neither applies.`,
        });
      }
      continue;
    }
    if (hasJw(line) && hasJz(line)) {
      findings.push({
        sequence: line.sequence,
        problem: 'jw-and-jz',
        rule: 'R10.2',
        message: `${what} carries both JW and JZ; a line is either the discarded amount (JW) or attests that nothing was discarded (JZ).`,
      });
      continue;
    }
    if (hasJw(line)) {
      if (!administered.some((a) => sameDrug(line, a))) {
        findings.push({
          sequence: line.sequence,
          problem: 'waste-line-alone',
          rule: 'R10.1',
          message: `${what} reports a discarded amount (JW) with no line for the administered amount of the same drug.`,
        });
      }
      continue;
    }
    const wasteLine = wasteLines.find((w) => sameDrug(w, line));
    if (wasteLine && hasJz(line)) {
      findings.push({
        sequence: line.sequence,
        problem: 'jz-with-waste-line',
        rule: 'R10.2',
        message: `${what} attests that nothing was discarded (JZ), yet line ${wasteLine.sequence} bills a discarded amount (JW) of the same drug.`,
      });
    } else if (!wasteLine && !hasJz(line) && jzRequired(rule, line.date)) {
      findings.push({
        sequence: line.sequence,
        problem: 'missing',
        rule: 'R10.2',
        message: `Single-dose ${what} has neither JZ (nothing discarded) nor a separate JW line for the discarded amount (required from ${rule.jzRequiredFrom ?? ''}).`,
      });
    }
  }
  return findings;
}
