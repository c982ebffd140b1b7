/**
 * What the sandbox payer's adjudication produces: a line's denials (X12 CARC/RARC and group), each
 * line's amounts, the claim's result and totals, the reversal a replacement or void makes, and the
 * record of an adjudicated claim kept for later ones (`PriorClaim`). Types and the one denial
 * constructor, shared by the rules, pricing, reversals and the ClaimResponse.
 */
import type { PayerKind } from './tables.ts';

/** X12 837 CLM05-3: 1 original, 7 replacement of a prior claim, 8 void of a prior claim. */
export type ClaimFrequency = '1' | '7' | '8';

export interface Denial {
  readonly carc: string;
  readonly rarc?: string;
  readonly group: 'CO' | 'OA' | 'PR';
  readonly text: string;
}

export interface LineResult {
  readonly sequence: number;
  readonly code: string;
  readonly units: number;
  readonly dateOfService: string;
  readonly submitted: number;
  /** Allowed amount from the fee schedule (0 for denied lines). */
  readonly eligible: number;
  readonly deductible: number;
  readonly coinsurance: number;
  readonly copay: number;
  readonly benefit: number;
  /** Empty when the line is paid. */
  readonly denials: readonly Denial[];
  /** Duplicate-detection key of the line (member, patient, code, modifiers, date, units). */
  readonly fingerprint: string;
}

/** A prior claim's payment that a replacement or void reverses. */
export interface Reversal {
  /** The payer claim number (control number) of the reversed claim. */
  readonly controlNumber: string;
  /** Whether the reversing claim replaces (7) or voids (8) it. */
  readonly frequency: '7' | '8';
  /** The benefit taken back (the reversed claim's benefit; ≥ 0). */
  readonly amount: number;
}

/**
 * What the payer remembers of a claim it adjudicated (see `priorClaimOf`): enough to find it as
 * the original of a replacement or void, to reverse its payment and to release its paid lines.
 */
export interface PriorClaim {
  /** The payer claim number: the first identifier of the ClaimResponse to it. */
  readonly controlNumber: string;
  /** The Claim's id as the payer stored it (`Claim/{id}`). */
  readonly claimId: string;
  /** The Claim's identifiers, `system|value`. */
  readonly identifiers: readonly string[];
  readonly kind: PayerKind;
  /** The Claim's patient (reference, else identifier value). */
  readonly patient: string;
  readonly frequency: ClaimFrequency;
  /** The benefit it has in force: the total benefit of its lines (0 for a void). */
  readonly benefit: number;
  /** Fingerprints of its paid lines (none for a void). */
  readonly paidLines: readonly string[];
  /** The later replacement (7) or void (8) that reversed it, by its control number. */
  readonly supersededBy?: { readonly controlNumber: string; readonly frequency: '7' | '8' };
}

export interface AdjudicationResult {
  readonly kind: PayerKind;
  readonly frequency: ClaimFrequency;
  readonly outcome: 'complete' | 'partial' | 'error';
  readonly lines: readonly LineResult[];
  /** Problems with the whole claim (also applied to every line). */
  readonly claimDenials: readonly Denial[];
  readonly memberId?: string;
  /** The Claim's patient (reference, else identifier value). */
  readonly patient: string;
  /** Set when this replacement or void reversed a prior claim's payment. */
  readonly reversal?: Reversal;
  readonly totals: {
    readonly submitted: number;
    readonly eligible: number;
    readonly benefit: number;
    readonly memberLiability: number;
    /** What is paid for this claim: benefit − the reversed amount (negative when money goes back). */
    readonly payment: number;
  };
}

/** A denial with its CARC; group CO (contractual obligation) unless said otherwise. */
export const deny = (
  carc: string,
  text: string,
  extra: { rarc?: string; group?: 'CO' | 'OA' } = {},
): Denial => ({
  carc,
  group: extra.group ?? 'CO',
  text,
  ...(extra.rarc ? { rarc: extra.rarc } : {}),
});
