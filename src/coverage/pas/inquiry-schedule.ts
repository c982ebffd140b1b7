/**
 * When a pended PAS request's next `$inquire` round runs (./follow-up.ts queues it).
 *
 * Da Vinci PAS 2.2.1 (../shared/research/pas.md §3): a client SHALL learn of updates to a pended
 * request by subscription (spec-8) and SHOULD NOT poll `$inquire` while it waits (spec-9; avoid
 * repeated inquiries, spec-42). So:
 * - where Dripline has no subscription in place (the payer offers none, `subscription: "off"`, or
 *   subscribing failed), `$inquire` is the only way to learn the decision: a round every
 *   `inquireMinutes`, the payer's slow schedule as configured (the research names no interval);
 * - where its subscription is in place, the notification is the primary channel and a round is only
 *   the fallback for one that was lost: the first `inquireMinutes` after the pend, then each wait
 *   the time pended so far plus `inquireMinutes` — the waits double (rounds m, 3m, 7m, 15m … after
 *   the pend) — up to a day (or `inquireMinutes`, when longer). A request pended for weeks costs a
 *   handful of inquiries, and a decision whose notification was lost is still learnt within a day.
 *   The day is Dripline's choice, not the IG's: where CMS-0057-F's timeframes apply (72 h expedited,
 *   7 calendar days standard, pas.md §8) a decision learnt more than a day late is a delay people
 *   notice.
 */

const MINUTE = 60_000;

/** The longest wait between two fallback rounds at a payer whose notifications Dripline receives. */
export const FALLBACK_CAP_MINUTES = 24 * 60;

export interface InquiryRound {
  /** Dripline's subscription at the payer is in place: the payer's notification is the primary channel. */
  readonly notified: boolean;
  /** The payer's `pas.inquireMinutes`. */
  readonly inquireMinutes: number;
  /** When the request was pended (the pended version of its Claim). */
  readonly pendedAt: Date;
  readonly now: Date;
  /** A round has asked about this pend already (the one just answered); false: the pend's first round. */
  readonly afterRound: boolean;
}

/** When the next inquiry round about a pended request is due. */
export function nextInquiryAt(round: InquiryRound): Date {
  const every = round.inquireMinutes * MINUTE;
  const now = round.now.getTime();
  if (!round.afterRound) {
    // The pend's first round; now when that time has passed (a request pended before anything
    // followed it by inquiry).
    return new Date(Math.max(now, round.pendedAt.getTime() + every));
  }
  if (!round.notified) {
    return new Date(now + every);
  }
  const pended = Math.max(0, now - round.pendedAt.getTime());
  return new Date(now + Math.min(Math.max(every, FALLBACK_CAP_MINUTES * MINUTE), pended + every));
}
