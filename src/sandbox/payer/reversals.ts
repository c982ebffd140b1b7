/**
 * Replacements and voids at the sandbox payer: which earlier claim a corrected claim names as its
 * original (or why none can be reversed), the record kept of every adjudicated claim, and marking an
 * original reversed. The payer keeps no state here: what it remembers is passed in and returned.
 *
 * Claim frequency (X12 837 CLM05-3, UB-04 type of bill 4th digit; read from the Dripline
 * `claim-frequency` extension, else an institutional claim's type of bill; anything but 7 or 8 is
 * an original). A replacement (7) or void (8) names its original in `Claim.related` (relationship
 * `prior`): by the payer's claim number in `related.reference` (the first identifier of this payer's
 * ClaimResponse to it — the ICN an 837 carries in REF*F8), else by `related.claim.identifier` (any
 * identifier of the original Claim) or `related.claim.reference` (`Claim/{id}` as stored here);
 * the latest adjudication of that claim, at the same payer kind, is the original.
 * - Replacement: adjudicated like an original by every rule (./adjudicate.ts), except that the
 *   original's paid lines no longer count as paid for CARC 18. Unless it is denied as a whole, it
 *   reverses the original: the original is marked replaced, and the ClaimResponse carries
 *   `payment.adjustment` = −(the original's benefit), `payment.adjustmentReason` = "prior payment
 *   reversal" and `payment.amount` = the new benefit − the original's benefit (negative when money
 *   is taken back). The original's benefit is what it has in force: the total benefit of its
 *   lines (for an original that was itself a replacement, not its net payment).
 * - Void: none of the line rules apply (timely filing, prior authorization, MUE, NCCI, medical
 *   necessity, member id — a void only takes money back). Every line is adjudicated at zero with no
 *   CARC, the outcome is `complete`, `payment.amount` = `payment.adjustment` = −(the original's
 *   benefit), and the original is marked voided; its lines no longer count as paid.
 * - An X12 835 reports such a reversal as a claim payment loop of its own (CLP02 claim status 22
 *   "reversal of previous payment", the original's payer claim control number in CLP07, its amounts
 *   negated) beside the replacement's loop; a ClaimResponse has one payment, so the reversal is its
 *   `payment.adjustment` (FHIR example code system payment-adjustment-reason, code a001 "Prior
 *   Payment Reversal") and `payment.amount` is the net. (A negative net on a remittance is carried
 *   as a provider-level PLB adjustment in an 835; the sandbox has no remittances.)
 * - Unknown original (or a void, or another patient's claim, named as one): CARC 129 "prior
 *   processing information appears incorrect", with RARC M47 (missing/incomplete/invalid internal
 *   or document control number) — the claim number the provider gave is the problem.
 * - Choice: an original already replaced or voided is not chained to its latest replacement; a
 *   second replacement or void naming it is denied as a duplicate of the adjustment already made
 *   (CARC 18, group OA). A provider must name the latest claim number (Dripline does: it corrects
 *   the claim that is in force), and a payer that silently chained would hide that mistake.
 */
import type { Claim } from '@medplum/fhirtypes';
import { identifierKeys, patientOf } from './claim-reading.ts';
import type { AdjudicationResult, Denial, PriorClaim } from './results.ts';
import { deny } from './results.ts';
import type { PayerKind } from './tables.ts';

/**
 * The original a replacement or void names (module comment: by payer claim number, else by the
 * original's identifier or reference), or the whole-claim denial when there is none to reverse.
 */
export function findOriginal(
  claim: Claim,
  kind: PayerKind,
  knownClaims: readonly PriorClaim[],
): { readonly original: PriorClaim } | { readonly denial: Denial } {
  const unknown = (text: string): { denial: Denial } => ({ denial: deny('129', text, { rarc: 'M47' }) });
  const related = (claim.related ?? []).find(
    (r) =>
      (r.relationship?.coding ?? []).length === 0 || r.relationship?.coding?.some((c) => c.code === 'prior'),
  );
  const sameKind = knownClaims.filter((k) => k.kind === kind);
  const claimNumber = related?.reference?.value?.trim();
  const ident = related?.claim?.identifier;
  const ref = related?.claim?.reference?.match(/(?:^|\/)Claim\/([^/]+)$/)?.[1];
  let named: string;
  let matches: PriorClaim[];
  if (claimNumber) {
    named = `claim number ${claimNumber}`;
    matches = sameKind.filter((k) => k.controlNumber === claimNumber);
  } else if (ident?.value) {
    named = `claim ${ident.system ? `${ident.system}|` : ''}${ident.value}`;
    matches = sameKind.filter((k) =>
      ident.system
        ? k.identifiers.includes(`${ident.system}|${ident.value ?? ''}`)
        : k.identifiers.some((i) => i.endsWith(`|${ident.value ?? ''}`)),
    );
  } else if (ref) {
    named = `Claim/${ref}`;
    matches = sameKind.filter((k) => k.claimId === ref);
  } else {
    return unknown(
      'A replacement or void must name the prior claim in Claim.related (the payer claim number in related.reference)',
    );
  }
  const original = matches.at(-1);
  if (!original) {
    return unknown(`The prior claim (${named}) is not known to this payer`);
  }
  if (original.frequency === '8') {
    return unknown(`The prior claim (${named}) is a void, which cannot be replaced or voided`);
  }
  if (original.patient !== patientOf(claim)) {
    return unknown(`The prior claim (${named}) is for another patient`);
  }
  if (original.supersededBy) {
    const { controlNumber, frequency } = original.supersededBy;
    return {
      denial: deny(
        '18',
        `The prior claim (${named}) was already ${frequency === '8' ? 'voided' : 'replaced'} by claim ${controlNumber}; name the latest claim number`,
        { group: 'OA' },
      ),
    };
  }
  return { original };
}

/** The record of an adjudicated claim, for `knownClaims` of later adjudications. */
export function priorClaimOf(
  claim: Claim,
  result: AdjudicationResult,
  ids: { readonly controlNumber: string; readonly claimId: string },
): PriorClaim {
  return {
    controlNumber: ids.controlNumber,
    claimId: ids.claimId,
    identifiers: identifierKeys(claim),
    kind: result.kind,
    patient: result.patient,
    frequency: result.frequency,
    benefit: result.frequency === '8' ? 0 : result.totals.benefit,
    paidLines:
      result.frequency === '8'
        ? []
        : result.lines.filter((l) => l.denials.length === 0).map((l) => l.fingerprint),
  };
}

/** A prior claim marked reversed by a replacement or void (with this control number). */
export function supersede(prior: PriorClaim, by: string, frequency: '7' | '8'): PriorClaim {
  return { ...prior, supersededBy: { controlNumber: by, frequency } };
}
