/**
 * The sandbox payer's adjudication (pure, table-driven): prices each Claim line from the payer's
 * fee schedule (drugs at ASP + 6 % per billing unit, administration codes at a sandbox schedule),
 * applies its own rules, and produces the ClaimResponse a real payer would send back. What it
 * remembers of earlier claims (the claims it adjudicated, their paid lines, what replaced or voided
 * them) is passed in as `knownClaims`; the caller records the result (`priorClaimOf`,
 * ./reversals.ts).
 *
 * Rules, each denying a line with an X12 CARC (group CO unless noted), in this order (a line
 * lists every reason that applies; the first carries the adjustment amount). "Whole claim" rules
 * deny every line and are listed in `ClaimResponse.error`; the claim's outcome is then `error`.
 *
 * | rule | CARC (RARC) |
 * |---|---|
 * | replacement (7) / void (8) whose `related` names no claim this payer adjudicated, a void, or another patient's claim | 129 (M47) (whole claim) |
 * | replacement / void of a claim already replaced or voided | 18 (group OA) (whole claim) |
 * | member id missing / coverage not found (not for voids) | 31 (whole claim) |
 * | date of service older than the timely-filing limit | 29 |
 * | same line already paid on an earlier claim still in force (a replacement's original is not) | 18 (group OA) |
 * | code not on the payer's fee schedule | 96 |
 * | no diagnosis on the claim | 16 (M76) |
 * | Medicaid drug line without an NDC in `item.detail` | 16 (M119) |
 * | Medicare single-dose drug without JZ or a JW line of its discarded amount; JW with JZ; JZ beside a JW line | 4 |
 * | drug needs prior authorization and `insurance.preAuthRef` is absent | 197 |
 * | prior-authorization number malformed | 15 |
 * | NCCI column-2 code with its column-1 code the same day, no allowed modifier | 97 (indicator 1) / 234 (indicator 0) |
 * | units above the MUE | 151 |
 * | no line diagnosis supports the drug | 11 |
 *
 * Paid lines: eligible = allowed; deductible, coinsurance (PR-2), copay, then benefit = the rest;
 * a charge above the allowed amount gets a CO-45 adjustment for the difference.
 *
 * The parts: what is read from the Claim (./claim-reading.ts), the line rules
 * (./line-rules.ts), pricing and cost sharing (./pricing.ts), replacements and voids
 * (./reversals.ts), the result's shapes (./results.ts) and the ClaimResponse
 * (./claim-response.ts); this module applies them, in order, to one claim.
 */
import type { Claim, ClaimItem, Resource } from '@medplum/fhirtypes';
import {
  claimFrequency,
  fingerprintOf,
  lineCharge,
  lineCode,
  lineDate,
  memberIdOf,
  patientOf,
} from './claim-reading.ts';
import { claimFacts, lineDenials } from './line-rules.ts';
import { allowedAmount, round2, shareCost, summarize } from './pricing.ts';
import type { AdjudicationResult, Denial, LineResult, PriorClaim } from './results.ts';
import { deny } from './results.ts';
import { findOriginal } from './reversals.ts';
import type { PayerKind, PayerTables } from './tables.ts';

export interface AdjudicateInput {
  readonly claim: Claim;
  /** Other resources that came with the claim (a PAS-style Bundle's entries), for Coverage lookup. */
  readonly resources?: readonly Resource[];
  readonly kind: PayerKind;
  readonly tables: PayerTables;
  /** Date the payer received the claim (YYYY-MM-DD), for timely filing. */
  readonly receivedDate: string;
  /** Claims the payer adjudicated before, oldest first (originals of replacements and voids; paid lines). */
  readonly knownClaims?: readonly PriorClaim[];
  /** Fingerprints of lines already paid on earlier claims beyond those of `knownClaims`. */
  readonly paidLines?: ReadonlySet<string>;
}

/** Adjudicates one claim: whole-claim checks, then each line's rules and price, then the totals. */
export function adjudicate(input: AdjudicateInput): AdjudicationResult {
  const { claim, kind, tables } = input;
  const items = claim.item ?? [];
  const memberId = memberIdOf(claim, input.resources);
  const patientRef = patientOf(claim);
  const frequency = claimFrequency(claim);
  const knownClaims = input.knownClaims ?? [];
  const claimDenials: Denial[] = [];
  let original: PriorClaim | undefined;
  if (frequency !== '1') {
    const found = findOriginal(claim, kind, knownClaims);
    if ('denial' in found) {
      claimDenials.push(found.denial);
    } else {
      original = found.original;
    }
  }

  if (frequency === '8') {
    // A void only takes the original's money back: no line rule applies, every line is at zero.
    const lines = items.map((item) =>
      unpaidLine(
        item,
        lineCharge(item) ?? 0,
        [...claimDenials],
        fingerprintOf(kind, memberId, patientRef, item),
      ),
    );
    return summarize(
      { kind, frequency, lines, claimDenials, ...(memberId ? { memberId } : {}), patient: patientRef },
      original && claimDenials.length === 0
        ? { controlNumber: original.controlNumber, frequency, amount: original.benefit }
        : undefined,
    );
  }

  if (!memberId) {
    claimDenials.push(
      deny('31', 'Patient cannot be identified as our member: no member id / coverage not found'),
    );
  }
  // A replacement reverses its original unless it is denied as a whole.
  const reversed = claimDenials.length === 0 ? original : undefined;
  const facts = claimFacts({
    claim,
    kind,
    tables,
    receivedDate: input.receivedDate,
    claimDenials,
    reversed,
    knownClaims,
    paidLines: input.paidLines,
  });

  const sharing = tables.costSharing[kind];
  let deductibleLeft = sharing.deductible;
  const lines: LineResult[] = [];
  for (const item of items) {
    const allowed = allowedAmount(lineCode(item), item.quantity?.value ?? 0, tables);
    const submitted = lineCharge(item) ?? allowed ?? 0;
    const fingerprint = fingerprintOf(kind, memberId, patientRef, item);
    const denials = lineDenials(item, { allowed, fingerprint }, facts);
    if (denials.length > 0 || allowed === undefined) {
      lines.push(unpaidLine(item, submitted, denials, fingerprint));
      continue;
    }
    const { deductible, coinsurance, copay, benefit } = shareCost(allowed, sharing, deductibleLeft);
    deductibleLeft = round2(deductibleLeft - deductible);
    lines.push({
      sequence: item.sequence,
      code: lineCode(item),
      units: item.quantity?.value ?? 0,
      dateOfService: lineDate(item),
      submitted,
      eligible: allowed,
      deductible,
      coinsurance,
      copay,
      benefit,
      denials: [],
      fingerprint,
    });
  }

  return summarize(
    { kind, frequency, lines, claimDenials, ...(memberId ? { memberId } : {}), patient: patientRef },
    reversed
      ? { controlNumber: reversed.controlNumber, frequency: '7', amount: reversed.benefit }
      : undefined,
  );
}

/** A line paid nothing: denied, or a void's line (whose denials are the whole claim's, if any). */
function unpaidLine(
  item: ClaimItem,
  submitted: number,
  denials: readonly Denial[],
  fingerprint: string,
): LineResult {
  return {
    sequence: item.sequence,
    code: lineCode(item),
    units: item.quantity?.value ?? 0,
    dateOfService: lineDate(item),
    submitted,
    eligible: 0,
    deductible: 0,
    coinsurance: 0,
    copay: 0,
    benefit: 0,
    denials,
    fingerprint,
  };
}
