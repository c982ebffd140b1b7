/**
 * Underpayment totals per payer over time: evaluated payments (./variance.ts) summed by payer and
 * calendar month of the payer's decision. Pure.
 */
import { round2 } from '../amounts.ts';
import type { PaymentEvaluation } from './variance.ts';

export interface PayerPeriodTotals {
  readonly payer: string;
  /** YYYY-MM of the decisions. */
  readonly period: string;
  readonly claims: number;
  readonly lines: number;
  /** Lines a contract term priced (the rest: not priced, denied, not evaluated). */
  readonly priced: number;
  readonly expectedAllowed: number;
  readonly allowed: number;
  readonly expectedPayment: number;
  readonly paid: number;
  readonly underpaidLines: number;
  /** Σ (expected payment − paid) of the underpaid lines. */
  readonly underpaid: number;
  readonly overpaidLines: number;
  readonly overpaid: number;
  readonly notPricedLines: number;
}

export function totalsByPayerAndMonth(evaluations: readonly PaymentEvaluation[]): PayerPeriodTotals[] {
  type Mutable = { -readonly [K in keyof PayerPeriodTotals]: PayerPeriodTotals[K] };
  const totals = new Map<string, { claims: Set<string> } & Omit<Mutable, 'claims'>>();
  for (const evaluation of evaluations) {
    const period = evaluation.decided.slice(0, 7);
    const key = `${evaluation.payer}|${period}`;
    let t = totals.get(key);
    if (!t) {
      t = {
        payer: evaluation.payer,
        period,
        claims: new Set(),
        lines: 0,
        priced: 0,
        expectedAllowed: 0,
        allowed: 0,
        expectedPayment: 0,
        paid: 0,
        underpaidLines: 0,
        underpaid: 0,
        overpaidLines: 0,
        overpaid: 0,
        notPricedLines: 0,
      };
      totals.set(key, t);
    }
    t.claims.add(evaluation.claim);
    for (const line of evaluation.lines) {
      t.lines += 1;
      if (line.status === 'not-priced') {
        t.notPricedLines += 1;
      }
      if (!line.expected || line.expectedPayment === undefined) {
        continue;
      }
      t.priced += 1;
      t.expectedAllowed = round2(t.expectedAllowed + line.expected.amount);
      t.allowed = round2(t.allowed + line.actualAllowed);
      t.expectedPayment = round2(t.expectedPayment + line.expectedPayment);
      t.paid = round2(t.paid + line.paid);
      if (line.status === 'underpaid') {
        t.underpaidLines += 1;
        t.underpaid = round2(t.underpaid + (line.variance ?? 0));
      } else if (line.status === 'overpaid') {
        t.overpaidLines += 1;
        t.overpaid = round2(t.overpaid - (line.variance ?? 0));
      }
    }
  }
  return [...totals.values()]
    .map(({ claims, ...rest }) => ({ ...rest, claims: claims.size }))
    .sort((a, b) => (a.payer < b.payer ? -1 : a.payer > b.payer ? 1 : a.period < b.period ? -1 : 1));
}
