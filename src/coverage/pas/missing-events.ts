/**
 * Which of a PAS subscription's events Dripline never received, from what its notifications say
 * (pure). Subscriptions R5 Backport IG 1.1, errors.html "Missing Event": the client tracks each
 * notification's `eventsSinceSubscriptionStart` and event numbers per subscription; a notification
 * numbered past the next one expected (an event skipped), or counting more events than were
 * delivered (a heartbeat's count), means events were missed. The IG's client then waits a while, so
 * that an event still on its way (delivered out of order, or retried by the server) is not taken
 * for lost, and only then recovers.
 *
 * Kept on the subscription's contact record (./subscription-contact.ts) by the notify route (every
 * handshake, heartbeat and event) and by what recovers (./subscription-recovery.ts with the
 * payer's `$events`, ./subscription-events.ts, and the silence check's `$status`:
 * ./subscription-check.ts). Not the EHR side's tracker
 * (../../ingest/event-tracker.ts), whose event number 1 arriving again after others counts as a
 * reset of the sender's counter: a payer redelivering its first event would look like one here, and
 * a PAS subscription is never reset — a replaced one has a new id, and its ledger starts again.
 * Only the walk of numbers past the contiguous mark is shared (advanceContiguous).
 */
import { advanceContiguous } from '../../ingest/event-tracker.ts';

export interface EventLedger {
  /** Every event numbered up to this one was received, or recovered (0: none yet). */
  readonly through: number;
  /** Numbers received above `through` (ahead of one missing), ascending, bounded. */
  readonly ahead: readonly number[];
  /** The highest events-since-subscription-start a notification (or `$status`) reported. */
  readonly reported: number;
  /** When events were first seen missing (an instant, UTC), while any are. */
  readonly missingSince?: string;
}

export const EMPTY_LEDGER: EventLedger = { through: 0, ahead: [], reported: 0 };

/**
 * How long events may be missing before Dripline recovers them: the IG's wait for an event still
 * on its way. The EHR side's default gap grace (../../ingest/recovery.ts), for the same reason; the
 * sandbox payer retries a failed delivery within 3.5 s. A notification later than this costs a
 * `$events` call the recovery need not have made (or, at a payer without it, one `$inquire` round
 * per pended request).
 */
export const MISSING_EVENT_GRACE_MS = 10_000;

/** What a notification says of its subscription's events: their numbers, and the count it reports. */
export interface HeardEvents {
  readonly numbers: readonly number[];
  /** Its events-since-subscription-start; absent when it reports none. */
  readonly reported?: number;
}

/** The ledger once a notification is taken at `now` (idempotent: the same one again changes nothing). */
export function takeNotification(ledger: EventLedger, heard: HeardEvents, now: Date): EventLedger {
  const numbers = heard.numbers.filter((n) => Number.isInteger(n) && n > 0);
  const reported = Math.max(ledger.reported, heard.reported ?? 0, ...numbers);
  return settle(ledger.through, [...ledger.ahead, ...numbers], reported, ledger.missingSince, now);
}

/**
 * The ledger once every event up to `through` is recovered (its notification need no longer come):
 * a recovery that asked the payer how its requests stand, as of then.
 */
export function recovered(ledger: EventLedger, through: number, now: Date): EventLedger {
  return settle(
    Math.max(ledger.through, through),
    [...ledger.ahead],
    Math.max(ledger.reported, through),
    undefined,
    now,
  );
}

/** The events missing (never received nor recovered), as inclusive ranges of their numbers. */
export function missingRanges(ledger: EventLedger): { from: number; to: number }[] {
  const ranges: { from: number; to: number }[] = [];
  let next = ledger.through + 1;
  for (const n of [...ledger.ahead, ledger.reported + 1]) {
    if (n > next) {
      ranges.push({ from: next, to: n - 1 });
    }
    next = Math.max(next, n + 1);
  }
  return ranges;
}

/** When the missing events are due to be recovered (the grace after they were first missed); undefined when none are. */
export function recoveryDueAt(ledger: EventLedger, graceMs = MISSING_EVENT_GRACE_MS): Date | undefined {
  return ledger.missingSince === undefined ? undefined : new Date(Date.parse(ledger.missingSince) + graceMs);
}

/** The highest event number received or recovered: what the silence check's `$status` count is compared with. */
export function eventsAccounted(ledger: EventLedger): number {
  return Math.max(ledger.through, ledger.ahead.at(-1) ?? 0);
}

function settle(
  through: number,
  ahead: number[],
  reported: number,
  missingSince: string | undefined,
  now: Date,
): EventLedger {
  // The EHR side's walk of event numbers (bounded: beyond its bound the oldest numbers ahead are
  // dropped, and their gap is recovered); only what counts as a reset differs (above).
  const { contiguous: mark, ahead: kept } = advanceContiguous(through, ahead);
  const missing = kept.length > 0 || reported > mark;
  return {
    through: mark,
    ahead: kept,
    reported,
    // Since first missed: a later notification revealing more does not put the recovery off.
    ...(missing ? { missingSince: missingSince ?? now.toISOString() } : {}),
  };
}
