/**
 * Which claim holds its encounters' charges: the one thing charge capture must know about claims.
 * A claim the payer has (sent, not rejected, not a void, not taken over for a corrected claim)
 * freezes its charges; charge capture then opens a "corrected claim needed" Task instead of
 * changing them.
 *
 * The claim workflow writes the three extensions this reads; they are declared here, below claims,
 * so that charges never import claims (claims sit above charges and import these).
 */
import type { Claim } from '@medplum/fhirtypes';
import { EXT_CLAIM_FREQUENCY, EXT_CLAIM_REPLACED_BY, EXT_CLAIM_STATE } from '../contract/canonical.ts';

/**
 * On a submitted Claim the claim workflow is replacing with a corrected (frequency 7) claim:
 * valueReference = the replacement. Charge capture no longer holds that claim's charges.
 */

/** Whether the claim workflow has taken this claim over for a corrected (replacement) claim. */
export function isBeingReplaced(claim: Claim): boolean {
  return (claim.extension ?? []).some((e) => e.url === EXT_CLAIM_REPLACED_BY);
}

/**
 * Whether a claim holds its encounters' charges (changes wait for a corrected claim): it was sent
 * (status active) and the payer has it — not rejected (a rejected claim was never accepted for
 * adjudication: the workflow rebuilds it from the changed charges and sends it again), and not
 * already taken over for a corrected claim.
 */
export function holdsCharges(claim: Claim): boolean {
  const state = claim.extension?.find((e) => e.url === EXT_CLAIM_STATE)?.valueCode;
  const frequency = claim.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode;
  // A void (frequency 8) takes a claim back: it bills nothing, so it holds nothing.
  return claim.status === 'active' && state !== 'rejected' && frequency !== '8' && !isBeingReplaced(claim);
}
