/**
 * The history the denial forecast counts (pure): every line of each claim's first adjudication —
 * its first posted payment that is not a reversal; a later payment (a corrected claim, an appeal's
 * answer) is not what the claim looked like when it left — as payer × code × modifiers → denied
 * or not. A line is denied when the payer paid nothing on it and adjusted it for a reason other
 * than the patient's share (CAS group CO, OA or PI; PR is deductible, co-insurance, co-pay); its
 * CARCs are those reasons. Voids (frequency 8) are not counted: they bill nothing.
 */
import type { LineOutcome } from '../claims/risk/denial-model.ts';
import type { AnalyticsData } from './measures.ts';
import { firstDecision } from './measures.ts';

export function lineOutcomes(data: Pick<AnalyticsData, 'claims' | 'payments'>): LineOutcome[] {
  const out: LineOutcome[] = [];
  for (const [claimId, payments] of data.payments) {
    const claim = data.claims.get(claimId);
    if (!claim || claim.frequency === '8') {
      continue;
    }
    const first = firstDecision(payments);
    if (!first) {
      continue;
    }
    for (const line of first.lines) {
      const carcs = [
        ...new Set(line.adjustments.filter((a) => a.group !== 'PR' && a.carc !== '').map((a) => a.carc)),
      ];
      const denied = line.paid === 0 && carcs.length > 0;
      out.push({
        payer: claim.payer,
        code: line.code,
        modifiers: line.modifiers,
        denied,
        carcs: denied ? carcs : [],
      });
    }
  }
  return out;
}
