/**
 * The scrub step's denial forecast: the tenant's model through the `denialModel` port (analytics
 * builds it from posted payments and sits above claims, so it is passed in; src/server.ts wires
 * it), the claim scored by the pure model, reported as a finding (./../risk/findings.ts). Without
 * the port, or without history, nothing is reported.
 */
import type { Claim } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { scoreClaim } from '../risk/denial-model.ts';
import { denialRiskFindings, scoredLinesOf } from '../risk/findings.ts';
import type { ScrubFinding } from '../types.ts';
import type { WorkflowContext } from './context.ts';

export async function denialRiskOf(
  ctx: WorkflowContext,
  config: TenantConfig,
  claim: Claim,
  payer: string,
): Promise<ScrubFinding[]> {
  const model = await ctx.deps.denialModel?.(config);
  if (!model) {
    return [];
  }
  const risk = scoreClaim(model, { payer, lines: scoredLinesOf(claim) });
  return denialRiskFindings(risk, config.denialRisk?.holdAbove);
}
