/**
 * A posted claim payment as plain data: what a payer said it paid on one claim, whichever channel
 * it came through (an X12 835 CLP loop, or a FHIR payer's ClaimResponse / ExplanationOfBenefit),
 * once Dripline has matched it to its claim and written it as an ExplanationOfBenefit. The
 * engines that read posted payments (underpayments against contracts, denial triage, patient
 * statements) take this value, never the 835 or the FHIR resource, so both channels feed them
 * alike.
 *
 * Amounts are US dollars with cents, as the payer sent them. Adjustments keep the X12 claim
 * adjustment group code (CO, PR, OA, PI; 005010X221A1 §1.10.2.1 and the CAS segment) and the CARC;
 * remarks are RARCs (LQ*HE at line level, MOA/MIA at claim level). A FHIR payer's adjudications
 * are mapped to the same codes (./sources/claim-response.ts).
 */
import type { Claim, ExplanationOfBenefit } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../config/billing.ts';
import type { BatchOperation, Store, TenantId } from '../store/port.ts';

/** One CAS triplet: group code, reason code (CARC), amount, and the quantity when the payer gave one. */
export interface PostedAdjustment {
  /** CO contractual obligation, PR patient responsibility, OA other, PI payer initiated (CR in 4010 files). */
  readonly group: string;
  /** Claim adjustment reason code (CARC). */
  readonly carc: string;
  /** Positive reduces the payment; negative increases it (the 835's sign). */
  readonly amount: number;
  readonly quantity?: number;
}

/** What the patient owes on a line or claim, split as the payer split it (PR-1, PR-2, PR-3, other PR). */
export interface PatientShare {
  readonly deductible: number;
  readonly coinsurance: number;
  readonly copay: number;
  /** PR adjustments with another CARC (non-covered charged to the patient, ...). */
  readonly other: number;
  /** The sum of the above: Σ PR adjustments. */
  readonly total: number;
}

/** One adjudicated service line (835 loop 2110, or a ClaimResponse item). */
export interface PostedLine {
  /** 1-based position of the line in the claim payment. */
  readonly position: number;
  /** The Claim.item.sequence it was matched to (REF*6R, else code and charge); undefined when none matched. */
  readonly itemSequence?: number;
  /** How it was matched: the line item control number, the code and charge, the code alone, the FHIR itemSequence. */
  readonly matchedBy?: 'line-item-control-number' | 'code-and-charge' | 'code' | 'item-sequence';
  /** The procedure as adjudicated (SVC01): qualifier (HC, NU, N4...), code, modifiers. */
  readonly procedure: {
    readonly qualifier: string;
    readonly code: string;
    readonly modifiers: readonly string[];
  };
  /** The procedure as billed (SVC06) when the payer adjudicated another code. */
  readonly billedProcedure?: {
    readonly qualifier: string;
    readonly code: string;
    readonly modifiers: readonly string[];
  };
  /** Units paid (SVC05, default 1 in the guide) and units billed (SVC07, when they differ). */
  readonly units?: number;
  readonly billedUnits?: number;
  /** Date(s) of service (DTM*472, or DTM*150/151), YYYY-MM-DD. */
  readonly serviceDate?: string;
  readonly serviceDateEnd?: string;
  /** Line item control number (REF*6R) as echoed by the payer. */
  readonly lineItemControlNumber?: string;
  /** SVC02: the charge billed. */
  readonly submitted: number;
  /** AMT*B6 when the payer sent it; else paid + patient responsibility (what the payer recognised). */
  readonly allowed: number;
  /** Whether `allowed` is the payer's own figure (AMT*B6 / eligible) or derived. */
  readonly allowedReported: boolean;
  /** SVC03: paid on the line. */
  readonly paid: number;
  readonly patientResponsibility: PatientShare;
  readonly adjustments: readonly PostedAdjustment[];
  /** RARCs (LQ*HE). */
  readonly remarks: readonly string[];
}

/**
 * What the payment did to the claim: paid in full (nothing denied), partially paid (some lines
 * or amounts denied), denied (nothing paid and not patient responsibility), a reversal of an
 * earlier payment (CLP02 = 22), or forwarded to another payer (CLP02 19-21 with nothing paid).
 */
export type PaymentOutcome = 'paid' | 'partially-paid' | 'denied' | 'reversed';

/**
 * A claim payment's figures as the payer sent them: what a payment carries before it is matched
 * (./claim-payment.ts `ClaimPaymentDraft`) and keeps once posted (`PostedClaimPayment`).
 */
export interface ClaimPaymentAsSent {
  readonly channel: 'x12-835' | 'fhir';
  /** CLP01 as sent (our patient control number). */
  readonly patientControlNumber: string;
  /** CLP07: the payer's claim number (needed on corrected and void claims, REF*F8). */
  readonly payerClaimNumber?: string;
  /** CLP02 claim status code (1, 2, 3 processed as primary/secondary/tertiary, 4 denied, 19-22...). */
  readonly status: string;
  readonly outcome: PaymentOutcome;
  /** CLP03, CLP04, CLP05. */
  readonly submitted: number;
  readonly paid: number;
  readonly patientResponsibility: PatientShare;
  /** Claim-level CAS (loop 2100). */
  readonly adjustments: readonly PostedAdjustment[];
  /** Claim-level RARCs (MOA / MIA). */
  readonly remarks: readonly string[];
  /** The payment's date (BPR16, or the FHIR answer's payment date), YYYY-MM-DD. */
  readonly paymentDate?: string;
  /** The payer forwarded the claim to another payer (NM1*TT, or CLP02 19-21). */
  readonly crossover?: { readonly name?: string; readonly id?: string };
}

export interface PostedClaimPayment extends ClaimPaymentAsSent {
  /** The ExplanationOfBenefit id it was posted as (stable: a re-post finds it). */
  readonly id: string;
  /** The Claim it was matched to. */
  readonly claim: string;
  /** The tenant payer (config `payers[].id`) that paid. */
  readonly payer: string;
  readonly lines: readonly PostedLine[];
  /** The remittance it came in: the PaymentReconciliation id and the trace (check / EFT) number. */
  readonly remittance?: { readonly id: string; readonly trace: string };
  /** For a reversal (CLP02 = 22): the EOB it reverses, when Dripline had posted it. */
  readonly reverses?: string;
}

/** What a hook is given, once per claim payment, while the payment is being posted. */
export interface ClaimPaymentPostedContext {
  readonly tenant: TenantId;
  readonly payment: PostedClaimPayment;
  /** The ExplanationOfBenefit being written. */
  readonly eob: ExplanationOfBenefit & { id: string };
  /** The claim as it will be after the posting (its new state), and the payer it was billed to. */
  readonly claim: Claim & { id: string };
  readonly payerEndpoint?: PayerEndpoint;
  /** Reads only: whatever a hook writes, it returns as operations. */
  readonly store: Pick<Store, 'resources'>;
  readonly now: Date;
}

/**
 * A hook on posting. Called once for each claim payment matched to a claim, before the posting
 * transaction commits: the operations it returns (work items, Tasks, jobs to enqueue for slower
 * work) are written in the same transaction as the ExplanationOfBenefit and the claim's new
 * state, so a payment is never posted without them nor they without it. If the transaction does
 * not commit (a crash, a concurrent change) the hook is called again on the retry; once it has
 * committed, re-posting the same remittance finds the payment posted and calls no hook. Reversals
 * (outcome `reversed`) are claim payments too. Unmatched payments go to the unmatched queue and
 * call no hook until a person matches them.
 */
export type ClaimPaymentPostedHook = (
  ctx: ClaimPaymentPostedContext,
) => Promise<readonly BatchOperation[]> | readonly BatchOperation[];

/** Σ of the PR adjustments by kind: PR-1 deductible, PR-2 coinsurance, PR-3 copay, the rest other. */
export function patientShareOf(adjustments: readonly PostedAdjustment[]): PatientShare {
  let deductible = 0;
  let coinsurance = 0;
  let copay = 0;
  let other = 0;
  for (const a of adjustments) {
    if (a.group !== 'PR') {
      continue;
    }
    const cents = Math.round(a.amount * 100);
    if (a.carc === '1') {
      deductible += cents;
    } else if (a.carc === '2') {
      coinsurance += cents;
    } else if (a.carc === '3') {
      copay += cents;
    } else {
      other += cents;
    }
  }
  return {
    deductible: deductible / 100,
    coinsurance: coinsurance / 100,
    copay: copay / 100,
    other: other / 100,
    total: (deductible + coinsurance + copay + other) / 100,
  };
}
