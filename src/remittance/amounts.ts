/**
 * Money and claim-status helpers shared by the underpayment and triage engines. Amounts are USD
 * with cents, rounded the way remittances show them.
 */
import type { PostedAdjustment, PostedLine } from './posted.ts';

/** Cents, half up on the decimal value (1101.765 → 1101.77, which `Math.round(x * 100)` gets wrong). */
export function round2(x: number): number {
  return Math.round(Number(`${x.toFixed(10)}e2`)) / 100 + 0;
}

export const sumOf = (values: readonly number[]): number => round2(values.reduce((a, b) => a + b, 0));

/**
 * X12 835 CLP02 claim status codes that matter here (005010X221A1, CLP02): 1/2/3 processed as
 * primary/secondary/tertiary, 4 denied, 19/20/21 processed as primary/secondary/tertiary and
 * forwarded to another payer, 22 reversal of a previous payment, 23 not our claim.
 */
export const CLAIM_STATUS = {
  primary: ['1', '19'],
  secondary: ['2', '3', '20', '21'],
  denied: '4',
  reversal: '22',
  notOurs: '23',
} as const;

/** Units billed on a line: SVC07 when the payer paid another number (SVC05), else SVC05, else 1. */
export function billedUnits(line: Pick<PostedLine, 'units' | 'billedUnits'>): number {
  return line.billedUnits ?? line.units ?? 1;
}

/** The code and modifiers billed: SVC06 when the payer adjudicated another code, else SVC01. */
export function billedProcedure(line: Pick<PostedLine, 'procedure' | 'billedProcedure'>): {
  code: string;
  modifiers: readonly string[];
} {
  const p = line.billedProcedure ?? line.procedure;
  return { code: p.code.toUpperCase(), modifiers: p.modifiers };
}

export function amountOfCarc(adjustments: readonly PostedAdjustment[], carc: string): number {
  return sumOf(adjustments.filter((a) => a.carc === carc).map((a) => a.amount));
}
