/**
 * The 835's balancing rules, pure, in whole cents (005010X221A1 §1.10.2.1 "Balancing"; AMT
 * segments carry information only and take no part in it, X12 RFI 1705):
 *
 * - service line: SVC02 (charge) − Σ line CAS = SVC03 (paid);
 * - claim: CLP03 (charge) − Σ claim CAS − Σ line CAS = CLP04 (paid);
 * - transaction: BPR02 (the payment; negative when BPR03 = D, a debit) = Σ CLP04 − Σ PLB (PLB
 *   amounts are positive when they reduce the payment).
 *
 * A rule that fails is an error naming the rule, the segment and the amounts compared.
 */
import { toCents } from './values.ts';
import type { Adjustment835, ClaimPayment835, Finding835, ServicePayment835 } from './types.ts';

const dollars = (cents: number): number => cents / 100;

/** Σ of the adjustments (of one group when `group` is given), in cents. */
export function adjustmentCents(adjustments: readonly Adjustment835[], group?: string): number {
  let sum = 0;
  for (const a of adjustments) {
    if (group === undefined || a.group === group) {
      sum += toCents(a.amount);
    }
  }
  return sum;
}

/** SVC02 − Σ line CAS = SVC03. */
export function balanceLine(line: ServicePayment835, claim: ClaimPayment835): Finding835 | undefined {
  const adjusted = adjustmentCents(line.adjustments);
  const expected = toCents(line.charge) - adjusted;
  if (expected === toCents(line.paid)) {
    return undefined;
  }
  return {
    severity: 'error',
    rule: 'balance-line',
    message: `service line ${line.position} of claim ${claim.patientControlNumber} (CLP ${claim.position}): SVC02 ${line.charge.toFixed(2)} − Σ line CAS ${dollars(adjusted).toFixed(2)} = ${dollars(expected).toFixed(2)}, but SVC03 is ${line.paid.toFixed(2)}`,
    segment: line.segment,
    segmentId: 'SVC',
    element: 'SVC03',
    amounts: { charge: line.charge, adjustments: dollars(adjusted), paid: line.paid },
  };
}

/** CLP03 − Σ claim CAS − Σ line CAS = CLP04, and each line's own rule. */
export function balanceClaim(claim: ClaimPayment835): Finding835[] {
  const out: Finding835[] = [];
  let lineAdjusted = 0;
  for (const line of claim.services) {
    lineAdjusted += adjustmentCents(line.adjustments);
    const fault = balanceLine(line, claim);
    if (fault) {
      out.push(fault);
    }
  }
  const claimAdjusted = adjustmentCents(claim.adjustments);
  const expected = toCents(claim.charge) - claimAdjusted - lineAdjusted;
  if (expected !== toCents(claim.paid)) {
    out.push({
      severity: 'error',
      rule: 'balance-claim',
      message: `claim ${claim.patientControlNumber} (CLP ${claim.position}): CLP03 ${claim.charge.toFixed(2)} − Σ claim CAS ${dollars(claimAdjusted).toFixed(2)} − Σ line CAS ${dollars(lineAdjusted).toFixed(2)} = ${dollars(expected).toFixed(2)}, but CLP04 is ${claim.paid.toFixed(2)}`,
      segment: claim.segment,
      segmentId: 'CLP',
      element: 'CLP04',
      amounts: {
        charge: claim.charge,
        claimAdjustments: dollars(claimAdjusted),
        lineAdjustments: dollars(lineAdjusted),
        paid: claim.paid,
      },
    });
  }
  return out;
}

/** BPR02 (signed by BPR03) = Σ CLP04 − Σ PLB. */
export function balanceTransaction(input: {
  readonly payment: { readonly amount: number; readonly creditDebit: string };
  readonly paidCents: number;
  readonly providerAdjustmentCents: number;
  readonly segment: number;
}): Finding835 | undefined {
  const signed = toCents(input.payment.amount) * (input.payment.creditDebit === 'D' ? -1 : 1);
  const expected = input.paidCents - input.providerAdjustmentCents;
  if (signed === expected) {
    return undefined;
  }
  return {
    severity: 'error',
    rule: 'balance-transaction',
    message: `BPR02 ${dollars(signed).toFixed(2)}${input.payment.creditDebit === 'D' ? ' (a debit)' : ''} ≠ Σ CLP04 ${dollars(input.paidCents).toFixed(2)} − Σ PLB ${dollars(input.providerAdjustmentCents).toFixed(2)} = ${dollars(expected).toFixed(2)}`,
    segment: input.segment,
    segmentId: 'BPR',
    element: 'BPR02',
    amounts: {
      payment: dollars(signed),
      claimsPaid: dollars(input.paidCents),
      providerAdjustments: dollars(input.providerAdjustmentCents),
    },
  };
}
