/**
 * The denial forecast as the scrubber reports it (pure): `denial-risk` (information: the score and
 * its top reasons) or, when the tenant set `denialRisk.holdAbove` and the risk is above it,
 * `denial-risk-hold` (an error a biller may override). Rule entries: rules/scrub-rules.json.
 */
import type { Claim } from '@medplum/fhirtypes';
import { Findings } from '../scrub/findings.ts';
import type { ClaimRules } from '../scrub/rules.ts';
import { loadClaimRules } from '../scrub/rules.ts';
import type { ScrubFinding } from '../types.ts';
import type { DenialRisk, ScoredLine } from './denial-model.ts';

/** The lines a forecast scores: code and modifiers of each claim item. */
export function scoredLinesOf(claim: Claim): ScoredLine[] {
  return (claim.item ?? []).map((item) => ({
    sequence: item.sequence,
    code: item.productOrService.coding?.find((c) => c.code !== undefined)?.code ?? '',
    modifiers: (item.modifier ?? [])
      .flatMap((m) => (m.coding ?? []).map((c) => c.code ?? ''))
      .filter(Boolean),
  }));
}

const percent = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** One line of words: the risk, the history behind it and the top reasons. */
export function describeRisk(risk: DenialRisk): string {
  const reasons =
    risk.reasons.length > 0
      ? `; top reasons: ${risk.reasons
          .map(
            (r) =>
              `CARC ${r.carc} (${percent(r.weight)}, line${r.lines.length > 1 ? 's' : ''} ${r.lines.join(', ')})`,
          )
          .join(', ')}`
      : '';
  return `Denial risk ${percent(risk.risk)} for payer ${risk.payer}, from ${risk.historyLines} adjudicated line(s) of this clinic's history${reasons}.`;
}

export function denialRiskFindings(
  risk: DenialRisk | undefined,
  holdAbove: number | undefined,
  rules: ClaimRules = loadClaimRules(),
): ScrubFinding[] {
  if (!risk) {
    return [];
  }
  const f = new Findings(rules);
  if (holdAbove !== undefined && risk.risk > holdAbove) {
    f.add(
      'denial-risk-hold',
      `${describeRisk(risk)} Held: above this clinic's threshold ${percent(holdAbove)}.`,
    );
  } else {
    f.add('denial-risk', describeRisk(risk));
  }
  return f.list;
}
