/**
 * Claim scrubber: every check a claim passes before it leaves, each finding with its severity, rule
 * id, source and fix. Pure: the clock is `ctx.today`, the rule data is loaded once (rules/*.json) and
 * may be passed in.
 *
 * Rules (ids and defaults in rules/scrub-rules.json): the claim valid FHIR for its profile; coverage present, active, covering the dates,
 * with a member id and a subscriber the claim can name (./subscriber.ts), the patient's name, birth
 * date and address; an institutional claim's attending (./attending.ts); NCCI PTP pairs and MUE units (src/coding/tables; UNVERIFIED entries only warn);
 * documentation completeness of the administrations behind each charge (status, start, stop for
 * timed codes, dose, site, order, performer); medical necessity (rules/medical-necessity.json);
 * prior authorization (coverage's rules/prior-auth.json); timely filing (payer.timelyFilingDays); payer rules
 * (NDC required, refused codes, JW/JZ as src/coding/engine/waste-modifiers.ts reads them); duplicate claims; place of
 * service; diagnosis pointers; units.
 *
 * This module runs the checks in order. They live in ./scrub/ by what they look at: the claim as a
 * document (claim-checks), what the lines bill (coding-checks), the documentation behind them
 * (documentation-checks), what the payer needs on file (coverage-checks); the rule table is
 * ./scrub/rules.ts and the findings machinery ./scrub/findings.ts.
 */
import type { CodingTables } from '../coding/tables/types.ts';
import {
  checkAttending,
  checkDiagnoses,
  checkDuplicates,
  checkLines,
  checkValidity,
} from './scrub/claim-checks.ts';
import {
  checkHeldCharges,
  checkMedicalNecessity,
  checkMue,
  checkNcci,
  checkPayerRules,
} from './scrub/coding-checks.ts';
import { checkCoverage, checkPriorAuth, checkTimelyFiling } from './scrub/coverage-checks.ts';
import { checkDocumentation } from './scrub/documentation-checks.ts';
import { Findings, lineOf } from './scrub/findings.ts';
import type { ClaimRules } from './scrub/rules.ts';
import { loadClaimRules } from './scrub/rules.ts';
import type { ClaimContext, ScrubFinding } from './types.ts';

/** Scrubs a claim: every finding, in the order of the checks (deterministic). Pure. */
export function scrubClaim(
  ctx: ClaimContext,
  tables: CodingTables,
  rules: ClaimRules = loadClaimRules(),
): ScrubFinding[] {
  const f = new Findings(rules);
  checkValidity(ctx, f);
  const lines = (ctx.claim.item ?? []).map((item) => lineOf(item, tables));
  if (lines.length === 0) {
    f.add('units-invalid', 'The claim has no lines.');
  }
  checkCoverage(ctx, lines, f);
  checkAttending(ctx, f);
  checkTimelyFiling(ctx, lines, f);
  checkDiagnoses(ctx, lines, f);
  checkLines(ctx, lines, f);
  checkNcci(tables, lines, f);
  checkMue(ctx, tables, lines, f);
  checkDocumentation(ctx, tables, lines, f);
  checkMedicalNecessity(ctx, rules, lines, f);
  checkPriorAuth(ctx, rules, lines, f);
  checkPayerRules(ctx, tables, lines, f);
  checkDuplicates(ctx, lines, f);
  checkHeldCharges(ctx, f);
  return f.list;
}

/** True when the findings hold an error (the claim must wait for a fix or an override). */
export function hasBlockingErrors(findings: readonly ScrubFinding[]): boolean {
  return findings.some((x) => x.severity === 'error');
}
