/**
 * Patient statement rules as data and pure functions: the statement cycle, aging buckets, and the
 * dunning schedule (collections status). Dates are calendar dates (YYYY-MM-DD) in the tenant's zone.
 *
 * - Cycle: every `cycleDays` (default 30) from `anchor` (default 2026-01-01); the cycle of a day is
 *   the last cycle start on or before it, so a run twice in a cycle finds the first statement.
 * - Due date: `dueDays` (default 21) after the statement date.
 * - Aging buckets 0–30, 31–60, 61–90, 91–120, 120+ days since the amount became the patient's
 *   (the payer's adjudication); payments and adjustments pay the oldest amounts first (FIFO), the
 *   usual convention of A/R aging (HFMA, "Key Hospital Statistics and Ratios").
 * - Dunning by the age of the oldest unpaid amount: reminder at 60 days, final notice at 90, hold
 *   (no more statements; referred for review before any collection action) at 120 — a hospital
 *   under IRC 501(r) waits at least 120 days from the first post-discharge statement before
 *   extraordinary collection actions (26 CFR 1.501(r)-6(a)); per tenant `statements.dunning`.
 * - A negative balance (the patient paid more than owed) is a credit: `refund-due`, never kept.
 */
import type { TenantStatementsConfig } from '../../config/config.ts';
import { addDays, daysBetween } from '../../time/zone.ts';

export type CollectionsStatus = 'current' | 'reminder' | 'final-notice' | 'hold' | 'refund-due';

export const STATEMENT_DEFAULTS = {
  cycleDays: 30,
  anchor: '2026-01-01',
  dueDays: 21,
  dunning: { reminder: 60, finalNotice: 90, hold: 120 },
} as const;

export const AGING_BUCKETS = [
  { id: '0-30', from: 0, to: 30 },
  { id: '31-60', from: 31, to: 60 },
  { id: '61-90', from: 61, to: 90 },
  { id: '91-120', from: 91, to: 120 },
  { id: '120+', from: 121, to: Number.POSITIVE_INFINITY },
] as const;
export type AgingBucket = (typeof AGING_BUCKETS)[number]['id'];

/** The statement cycle `today` falls in: its first day, and the statement's due date. */
export function cycleOf(today: string, config: TenantStatementsConfig = {}): { start: string; due: string } {
  const days = config.cycleDays ?? STATEMENT_DEFAULTS.cycleDays;
  const anchor = config.anchor ?? STATEMENT_DEFAULTS.anchor;
  const since = daysBetween(anchor, today);
  const start = addDays(anchor, Math.floor(since / days) * days);
  return { start, due: addDays(today, config.dueDays ?? STATEMENT_DEFAULTS.dueDays) };
}

export interface Charge {
  /** When the amount became the patient's (YYYY-MM-DD). */
  readonly date: string;
  readonly amount: number;
}

/** What is left of each charge after `credits` (dollars) paid the oldest first. */
export function unpaidCharges(charges: readonly Charge[], credits: number): Charge[] {
  let left = Math.round(credits * 100);
  const out: Charge[] = [];
  for (const c of [...charges].sort((a, b) => a.date.localeCompare(b.date))) {
    const cents = Math.round(c.amount * 100);
    const paid = Math.max(0, Math.min(left, cents));
    left -= paid;
    if (cents - paid > 0) {
      out.push({ date: c.date, amount: (cents - paid) / 100 });
    }
  }
  return out;
}

export function agingOf(unpaid: readonly Charge[], today: string): Record<AgingBucket, number> {
  const cents: Record<string, number> = Object.fromEntries(AGING_BUCKETS.map((b) => [b.id, 0]));
  for (const c of unpaid) {
    const age = Math.max(0, daysBetween(c.date, today));
    const bucket = AGING_BUCKETS.find((b) => age >= b.from && age <= b.to) ?? AGING_BUCKETS[4];
    cents[bucket.id] = (cents[bucket.id] ?? 0) + Math.round(c.amount * 100);
  }
  return Object.fromEntries(AGING_BUCKETS.map((b) => [b.id, (cents[b.id] ?? 0) / 100])) as Record<
    AgingBucket,
    number
  >;
}

export function collectionsStatus(
  balance: number,
  unpaid: readonly Charge[],
  today: string,
  config: TenantStatementsConfig = {},
): CollectionsStatus {
  if (balance < -0.004) {
    return 'refund-due';
  }
  const oldest = [...unpaid].sort((a, b) => a.date.localeCompare(b.date))[0];
  if (balance < 0.005 || !oldest) {
    return 'current';
  }
  const age = daysBetween(oldest.date, today);
  const d = { ...STATEMENT_DEFAULTS.dunning, ...config.dunning };
  return age >= d.hold
    ? 'hold'
    : age >= d.finalNotice
      ? 'final-notice'
      : age >= d.reminder
        ? 'reminder'
        : 'current';
}
