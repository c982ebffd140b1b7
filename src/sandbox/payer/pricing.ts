/**
 * The sandbox payer's money: a line's allowed amount from the fee schedule (drugs at ASP + 6 % per
 * billing unit, administration codes at the sandbox schedule), the member's share of a paid line
 * (deductible first, then coinsurance, then a copay) and the benefit, and the claim's totals and
 * outcome. Amounts are rounded to cents at each step, as a remittance shows them.
 */
import type { AdjudicationResult, LineResult, Reversal } from './results.ts';
import type { CostSharing, PayerTables } from './tables.ts';
import { drugAllowedPerUnit } from './tables.ts';

/** Cents, half up on the decimal value (1101.765 → 1101.77, which `Math.round(x * 100)` gets wrong). */
export function round2(x: number): number {
  return Math.round(Number(`${x.toFixed(10)}e2`)) / 100;
}

/** The allowed amount of `units` of `code` on the fee schedule; undefined when the code is not on it. */
export function allowedAmount(code: string, units: number, tables: PayerTables): number | undefined {
  const drugRate = tables.drugRates.get(code);
  const adminRate = tables.administrationRates[code];
  return drugRate !== undefined
    ? round2(units * drugAllowedPerUnit(drugRate))
    : adminRate !== undefined
      ? round2(units * adminRate)
      : undefined;
}

/** How a paid line's allowed amount is split between the member and the payer. */
export interface CostShare {
  readonly deductible: number;
  readonly coinsurance: number;
  readonly copay: number;
  readonly benefit: number;
}

/** The split of a paid line, taking the deductible from what is left of it on this claim. */
export function shareCost(allowed: number, sharing: CostSharing, deductibleLeft: number): CostShare {
  const deductible = round2(Math.min(deductibleLeft, allowed));
  const coinsurance = round2((allowed - deductible) * sharing.coinsurance);
  const copay = round2(Math.min(sharing.copayPerLine, allowed - deductible - coinsurance));
  const benefit = round2(allowed - deductible - coinsurance - copay);
  return { deductible, coinsurance, copay, benefit };
}

/**
 * The claim's result from its lines: outcome (complete, partial, error: all lines denied), totals,
 * and the payment net of the reversed amount when a replacement or void reversed a prior claim.
 */
export function summarize(
  base: Omit<AdjudicationResult, 'outcome' | 'totals' | 'reversal'>,
  reversal: Reversal | undefined,
): AdjudicationResult {
  const { lines } = base;
  const denied = lines.filter((l) => l.denials.length > 0).length;
  const sum = (f: (l: LineResult) => number): number => round2(lines.reduce((acc, l) => acc + f(l), 0));
  const benefit = sum((l) => l.benefit);
  return {
    ...base,
    outcome: denied === 0 ? 'complete' : denied === lines.length ? 'error' : 'partial',
    ...(reversal ? { reversal } : {}),
    totals: {
      submitted: sum((l) => l.submitted),
      eligible: sum((l) => l.eligible),
      benefit,
      memberLiability: sum((l) => l.deductible + l.coinsurance + l.copay),
      payment: round2(benefit - (reversal?.amount ?? 0)),
    },
  };
}
