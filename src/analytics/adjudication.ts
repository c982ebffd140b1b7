/**
 * Reading payer decisions (pure): which adjustments are denials or contractual (the CARC table of
 * src/remittance/codes), a claim's first decision, its open insurance balance on a day, whether it
 * is in A/R and its aging bucket.
 */
import { carcInfo } from '../remittance/codes.ts';
import type { AdjustmentFact, ClaimFact, PaymentFact } from './facts.ts';
import type { MeasureQuery } from './measure-model.ts';
import { cents } from './measure-kit.ts';

/** Each CARC's category and whether it is routine, read once from the table (a hot path). */
const CARC_CLASS = new Map<string, { routine: boolean; category: string }>();
function carcClass(carc: string): { routine: boolean; category: string } {
  let known = CARC_CLASS.get(carc);
  if (!known) {
    const info = carcInfo(carc);
    known = { routine: info.routine, category: info.category };
    CARC_CLASS.set(carc, known);
  }
  return known;
}
export function carcCategory(carc: string): string {
  return carcClass(carc).category;
}
export function isDenialAdjustment(a: AdjustmentFact): boolean {
  return a.group !== 'PR' && a.carc !== '' && !carcClass(a.carc).routine;
}
export function isContractualAdjustment(a: AdjustmentFact): boolean {
  const c = carcClass(a.carc);
  return a.group === 'CO' && c.routine && c.category !== 'patient-responsibility';
}
export function isDenial(payment: PaymentFact): boolean {
  return payment.outcome === 'denied' || payment.adjustments.some(isDenialAdjustment);
}
export function firstDecision(payments: readonly PaymentFact[] | undefined): PaymentFact | undefined {
  return payments?.find((p) => p.outcome !== 'reversed');
}

/** The insurance balance of a claim on a day: billed less paid, contractual and patient's share. */
export function balanceOn(
  claim: ClaimFact,
  payments: readonly PaymentFact[] | undefined,
  day: string,
): number {
  let balance = claim.billed;
  for (const p of payments ?? []) {
    if (p.date > day) {
      continue;
    }
    const contractual = p.adjustments.filter(isContractualAdjustment).reduce((s, a) => s + a.amount, 0);
    const sign = p.outcome === 'reversed' ? -1 : 1;
    // A reversal carries negative amounts (835 CLP02 22): adding it takes the payment back.
    balance -= p.paid + sign * Math.abs(contractual) + p.patientResponsibility;
  }
  return cents(Math.max(0, balance));
}

/** Billed to a payer (in A/R): sent, answered or paid; not replaced, not a void. */
const BILLED_STATES = new Set(['submitting', 'submitted', 'adjudicated', 'rejected']);
export function inAr(claim: ClaimFact, payments: readonly PaymentFact[] | undefined): boolean {
  return (
    claim.frequency !== '8' &&
    !claim.replaced &&
    (BILLED_STATES.has(claim.state ?? '') || (payments?.length ?? 0) > 0)
  );
}

export const BUCKETS = ['0-30', '31-60', '61-90', '91-120', '120+'] as const;
export function bucketOf(days: number): (typeof BUCKETS)[number] {
  return days <= 30 ? '0-30' : days <= 60 ? '31-60' : days <= 90 ? '61-90' : days <= 120 ? '91-120' : '120+';
}

export const asOfDay = (q: MeasureQuery): string => (q.to < q.asOf ? q.to : q.asOf);
