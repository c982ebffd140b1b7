/**
 * A posted claim payment: what the payer decided on one claim, in the plain terms both channels
 * share — an X12 835 claim payment loop (CLP with its CAS, SVC lines, REF*6R, LQ) and a FHIR
 * payer's ClaimResponse / ExplanationOfBenefit. The underpayment check (./contracts/) and denial
 * triage (./triage/) read only this, so they work the same whichever way the answer came.
 *
 * Amounts are USD. Adjustments follow the 835: a group (CO contractual obligation, PR patient
 * responsibility, OA other, PI payer initiated, CR correction), a CARC and an amount (positive
 * reduces the payment); remarks are RARCs (LQ*HE, MOA/MIA).
 */

export type AdjustmentGroup = 'CO' | 'PR' | 'OA' | 'PI' | 'CR';

export interface Adjustment {
  readonly group: AdjustmentGroup;
  readonly carc: string;
  readonly amount: number;
  /** Units adjusted (CAS quantity), when given. */
  readonly quantity?: number;
}

export interface PostedLine {
  /** The Claim.item.sequence this line answers (835 REF*6R, FHIR itemSequence), when matched. */
  readonly sequence?: number;
  /** CPT/HCPCS code billed (835 SVC01-2, or SVC06 when the payer recoded). */
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly units: number;
  /** YYYY-MM-DD (835 DTM*472, or the claim line's date). */
  readonly serviceDate?: string;
  /** Line charge (SVC02). */
  readonly submitted: number;
  /** Allowed amount as the payer states it (835 AMT*B6, FHIR `eligible`), when it does. */
  readonly allowed?: number;
  /** Paid on the line (SVC03, FHIR `benefit`). */
  readonly paid: number;
  readonly adjustments: readonly Adjustment[];
  readonly remarks: readonly string[];
}

/**
 * X12 835 CLP02 claim status codes that matter here: 1/2/3 processed as primary/secondary/tertiary,
 * 4 denied, 19/20/21 processed and forwarded to another payer, 22 reversal of a previous payment,
 * 23 not our claim.
 */
export const CLAIM_STATUS = {
  primary: ['1', '19'],
  secondary: ['2', '3', '20', '21'],
  denied: '4',
  reversal: '22',
  notOurs: '23',
} as const;

export interface PostedClaimPayment {
  /** What was posted, e.g. `ClaimResponse/abc` or `ExplanationOfBenefit/xyz`: the evidence. */
  readonly source: string;
  /** Our claim (the 837 CLM01 / Claim id). */
  readonly claim: string;
  /** "Patient/id", when known. */
  readonly patient?: string;
  /** The tenant payer id (config `payers[].id`). */
  readonly payer: string;
  /** The payer's claim control number (835 CLP07, FHIR ClaimResponse.identifier). */
  readonly payerClaimNumber?: string;
  /** X12 CLP02 (CLAIM_STATUS); a FHIR answer with outcome `error` is 4, otherwise 1. */
  readonly claimStatus: string;
  /** Date of the payer's decision (YYYY-MM-DD in the tenant's zone): remittance or response date. */
  readonly decided: string;
  readonly submitted: number;
  readonly paid: number;
  readonly patientResponsibility: number;
  /** Claim-level adjustments (835 CAS after CLP); whole-claim denial reasons. */
  readonly adjustments: readonly Adjustment[];
  /** Claim-level remarks (MOA / MIA RARCs). */
  readonly remarks: readonly string[];
  readonly lines: readonly PostedLine[];
}

/** Cents, half up on the decimal value (the way remittances show amounts). */
export function round2(x: number): number {
  return Math.round(Number(`${x.toFixed(10)}e2`)) / 100 + 0;
}

export const sumOf = (values: readonly number[]): number => round2(values.reduce((a, b) => a + b, 0));

/** What the patient owes on a line: its PR adjustments. */
export function patientShare(line: Pick<PostedLine, 'adjustments'>): number {
  return sumOf(line.adjustments.filter((a) => a.group === 'PR').map((a) => a.amount));
}
