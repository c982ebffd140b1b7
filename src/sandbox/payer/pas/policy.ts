/**
 * The sandbox payer's medical policy for prior authorization, as data: what it decides for each
 * requested drug or service code. Illustrative (a sandbox plan, not any real payer's), UNVERIFIED;
 * every decision form PAS 2.2.1 has is exercised (../shared/research/pas.md §2, §3):
 * - `approve`: certified in total (X12 306 A1) with a certification number and the requested period;
 * - `approve-fewer`: modified (A6) — the request item answered A6 and an addItem certifying at most
 *   `maxUnits` (and, with `months`, a shorter period);
 * - `deny`: not certified (A3) with the specific reason as a processNote (CMS-0057-F: a specific
 *   reason for every denial);
 * - `pend`: pended (A4) with a reference number, decided `then` after the payer's review delay, and
 *   the subscribers notified;
 * - `more-info`: pended (A4) with a CommunicationRequest for the documentation it needs, decided
 *   `then` after the delay.
 * Codes the table does not name are approved. Pure.
 */
export type PolicyAction =
  | { readonly action: 'approve' }
  | { readonly action: 'approve-fewer'; readonly maxUnits: number; readonly months?: number }
  | { readonly action: 'deny'; readonly reason: string }
  | { readonly action: 'pend'; readonly then: FinalAction }
  | { readonly action: 'more-info'; readonly needs: string; readonly then: FinalAction };

export type FinalAction = Extract<PolicyAction, { action: 'approve' | 'approve-fewer' | 'deny' }>;

export type PasPolicy = Readonly<Record<string, PolicyAction>>;

/** The sandbox plan's rules for the seeded day's drugs (HCPCS). */
export const DEFAULT_PAS_POLICY: PasPolicy = {
  // Infliximab: reviewed by a nurse, approved after the review delay.
  J1745: { action: 'pend', then: { action: 'approve' } },
  // Vedolizumab: approved as asked.
  J3380: { action: 'approve' },
  // Ferric carboxymaltose: at most two 750 mg doses per authorization.
  J1439: { action: 'approve-fewer', maxUnits: 1500 },
  // Ocrelizumab: approved as asked.
  J2350: { action: 'approve' },
  // Rituximab: not certified without a documented failure of a conventional agent.
  J9312: { action: 'deny', reason: 'Not medically necessary: no documented trial of a conventional DMARD' },
  // Immune globulin: the plan wants the IgG level and infection history before it decides.
  J1459: {
    action: 'more-info',
    needs: 'Serum IgG level and infection history of the last 12 months',
    then: { action: 'approve' },
  },
};

export function policyFor(policy: PasPolicy, code: string): PolicyAction {
  return policy[code.toUpperCase()] ?? { action: 'approve' };
}
