/**
 * The payer's appeal deadline for a denial or an underpayment: days after the payer's decision
 * (the remittance date, in the tenant's zone), per payer (config `payers[].appealDays`), else by
 * the payer's kind:
 * - Medicare: 120 days to ask for a redetermination (42 CFR 405.942(a); counted here from the
 *   remittance date, a day or five earlier than the receipt the rule counts from: conservative);
 * - commercial: 180 days (ERISA group health plans must allow at least 180 days to appeal, 29 CFR
 *   2560.503-1(h)(3)(i); provider contracts often say less: set `appealDays`);
 * - Medicaid: 90 days, UNVERIFIED (each state sets its own: set `appealDays`).
 * Pure; dates are calendar dates (YYYY-MM-DD).
 */
import { addDays, daysBetween } from '../../time/zone.ts';

export const DEFAULT_APPEAL_DAYS: Readonly<Record<'medicare' | 'medicaid' | 'commercial', number>> = {
  medicare: 120,
  commercial: 180,
  medicaid: 90,
};

export function appealDeadline(
  decided: string,
  payer: { readonly kind: 'medicare' | 'medicaid' | 'commercial'; readonly appealDays?: number },
): { readonly date: string; readonly days: number } {
  const days = payer.appealDays ?? DEFAULT_APPEAL_DAYS[payer.kind];
  return { date: addDays(decided, days), days };
}

/** Days from `today` to the deadline (negative: passed). */
export function daysLeft(deadline: string, today: string): number {
  return daysBetween(today, deadline);
}
