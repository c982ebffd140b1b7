/**
 * Per-subscription event bookkeeping (pure). The Backport IG leaves detection and recovery of
 * missed notifications to the subscriber ("Handling Errors" page): track event numbers, treat a
 * jump as a possible gap (events can arrive out of order, so wait a little), recover the missing
 * range with $events or a catch-up query, and resync when the counter goes backwards (the sender
 * restarted or recreated the subscription).
 */

export interface EventTrackerState {
  /** Every event number up to and including this one has been processed (0 = none yet). */
  readonly contiguous: number;
  /** Processed numbers above `contiguous` (out-of-order arrivals), ascending, bounded. */
  readonly ahead: readonly number[];
  /** The highest events-since-subscription-start the sender has reported. */
  readonly reported: number;
  /** When a gap was first seen (ISO), or undefined when there is none. */
  readonly gapSince?: string;
  /** Last time anything (handshake, heartbeat, event) arrived for the subscription (ISO). */
  readonly lastHeard?: string;
  /** Start of the last successful catch-up query (ISO): the next one asks for changes since then. */
  readonly lastSync?: string;
  /**
   * Bumped whenever event numbers start again (the sender's counter was reset, or the subscription
   * was recreated): the same number in another epoch is another event. Absent = 0.
   */
  readonly epoch?: number;
}

export const INITIAL_TRACKER: EventTrackerState = { contiguous: 0, ahead: [], reported: 0 };

/** Out-of-order numbers kept above the contiguous mark; beyond this, the gap is recovered anyway. */
const MAX_AHEAD = 1000;

export type TrackOutcome =
  | { readonly kind: 'new'; readonly state: EventTrackerState }
  | { readonly kind: 'duplicate'; readonly state: EventTrackerState }
  /** The number is far below what was seen: the sender's counter was reset. */
  | { readonly kind: 'reset'; readonly state: EventTrackerState };

/**
 * The contiguous mark moved past every number in `ahead` that continues it; the numbers still
 * ahead (above a missing one), ascending, deduplicated, the newest MAX_AHEAD kept. Shared with the
 * PAS side's ledger (../coverage/pas/missing-events.ts): the same bookkeeping of event numbers.
 */
export function advanceContiguous(
  contiguous: number,
  ahead: readonly number[],
): { contiguous: number; ahead: number[] } {
  let c = contiguous;
  const sorted = [...new Set(ahead)].filter((n) => n > c).sort((a, b) => a - b);
  while (sorted.length > 0 && sorted[0] === c + 1) {
    c = sorted.shift() as number;
  }
  return { contiguous: c, ahead: sorted.slice(-MAX_AHEAD) };
}

/**
 * advanceContiguous(contiguous, [...ahead, n]) for an `ahead` as it leaves it (ascending, distinct,
 * all above `contiguous`) and an `n` above `contiguous` not in it, without sorting it again: the
 * worker records each event of a batch in turn (bench:ingest's closed loop keeps dozens of numbers
 * ahead, re-sorted per event). Any other `ahead` (a record written otherwise) goes the general way.
 */
function advanceWith(
  contiguous: number,
  ahead: readonly number[],
  n: number,
): { contiguous: number; ahead: number[] } {
  let previous = contiguous;
  for (const number of ahead) {
    if (!(number > previous)) {
      return advanceContiguous(contiguous, [...ahead, n]);
    }
    previous = number;
  }
  if (n === contiguous + 1) {
    let c = n;
    let i = 0;
    while (i < ahead.length && ahead[i] === c + 1) {
      c++;
      i++;
    }
    const rest = ahead.slice(i);
    return { contiguous: c, ahead: rest.length > MAX_AHEAD ? rest.slice(-MAX_AHEAD) : rest };
  }
  let low = 0;
  let high = ahead.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((ahead[middle] ?? 0) < n) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  const next = [...ahead.slice(0, low), n, ...ahead.slice(low)];
  return { contiguous, ahead: next.length > MAX_AHEAD ? next.slice(-MAX_AHEAD) : next };
}

/**
 * Records that event `n` was processed. `senderCount`: the notification's own
 * events-since-subscription-start, when it carries one (recorded first, by recordReported).
 */
export function recordEvent(
  state: EventTrackerState,
  n: number,
  now: string,
  senderCount?: number,
): TrackOutcome {
  if (n <= state.contiguous || state.ahead.includes(n)) {
    // A counter that restarts from 1 after we saw much more is a reset, not a duplicate, when
    // nothing else tells: a notification that counts its events says itself whether its counter
    // went down (recordReported), so its event 1 under a count that did not is a redelivery.
    if (n === 1 && state.contiguous > 1 && state.reported > 1 && senderCount === undefined) {
      return {
        kind: 'reset',
        state: {
          ...keepSync(state),
          ...nextEpoch(state),
          contiguous: 1,
          ahead: [],
          reported: 1,
          lastHeard: now,
        },
      };
    }
    return { kind: 'duplicate', state: { ...state, lastHeard: now } };
  }
  const { contiguous, ahead } = advanceWith(state.contiguous, state.ahead, n);
  const reported = Math.max(state.reported, n);
  return {
    kind: 'new',
    state: withGap({ ...keepSync(state), contiguous, ahead, reported, lastHeard: now }, state.gapSince, now),
  };
}

/**
 * Records the sender's events-since-subscription-start (from any notification or $status).
 * A value lower than what we already processed means the counter went down: a reset.
 */
export function recordReported(
  state: EventTrackerState,
  reported: number,
  now: string,
): { readonly reset: boolean; readonly state: EventTrackerState } {
  if (reported < state.contiguous) {
    return {
      reset: true,
      state: {
        ...keepSync(state),
        ...nextEpoch(state),
        contiguous: reported,
        ahead: [],
        reported,
        lastHeard: now,
      },
    };
  }
  const next = { ...state, reported: Math.max(state.reported, reported), lastHeard: now };
  return { reset: false, state: withGap(next, state.gapSince, now) };
}

/** Marks the range up to `upTo` as recovered (by $events or a catch-up query). */
export function recordRecovered(state: EventTrackerState, upTo: number, now: string): EventTrackerState {
  const { contiguous, ahead } = advanceContiguous(Math.max(state.contiguous, upTo), [...state.ahead]);
  return withGap(
    {
      ...keepSync(state),
      contiguous,
      ahead,
      reported: Math.max(state.reported, upTo),
      ...(state.lastHeard ? { lastHeard: state.lastHeard } : {}),
    },
    undefined,
    now,
  );
}

/** Records a completed catch-up that started at `startedAt`. */
export function recordSynced(state: EventTrackerState, startedAt: string): EventTrackerState {
  return { ...state, lastSync: startedAt };
}

/** What survives a reset: the last sync (catch-ups still start from it) and the epoch. */
function keepSync(state: EventTrackerState): { lastSync?: string; epoch?: number } {
  return {
    ...(state.lastSync ? { lastSync: state.lastSync } : {}),
    ...(state.epoch !== undefined ? { epoch: state.epoch } : {}),
  };
}

function nextEpoch(state: EventTrackerState): { epoch: number } {
  return { epoch: (state.epoch ?? 0) + 1 };
}

/**
 * Tracking for a subscription that was just (re)created on the EHR: its events count from 1 again.
 * Keeps `lastSync` (set to `syncedAt` when there is none: the new subscription notifies what
 * happens from now on, so a later catch-up need not reach further back) and starts a new epoch.
 */
export function restartTracking(state: EventTrackerState, syncedAt: string): EventTrackerState {
  return {
    ...INITIAL_TRACKER,
    lastSync: state.lastSync ?? syncedAt,
    ...nextEpoch(state),
    ...(state.lastHeard ? { lastHeard: state.lastHeard } : {}),
  };
}

export function heard(state: EventTrackerState, now: string): EventTrackerState {
  return { ...state, lastHeard: now };
}

/** Event numbers the sender reported that have not been processed, as inclusive ranges. */
export function missingRanges(state: EventTrackerState): { from: number; to: number }[] {
  const ranges: { from: number; to: number }[] = [];
  let next = state.contiguous + 1;
  for (const n of [...state.ahead, state.reported + 1]) {
    if (n > next) {
      ranges.push({ from: next, to: n - 1 });
    }
    next = Math.max(next, n + 1);
  }
  return ranges;
}

/**
 * True when a gap has lasted longer than `graceMs`: time to recover. A gap that closes on its own
 * (the late event arrives) never triggers recovery.
 */
export function gapNeedsRecovery(state: EventTrackerState, now: Date, graceMs: number): boolean {
  return state.gapSince !== undefined && now.getTime() - Date.parse(state.gapSince) >= graceMs;
}

/** True when nothing was heard for longer than the heartbeat period plus grace: ask $status. */
export function heartbeatOverdue(state: EventTrackerState, now: Date, heartbeatSeconds: number): boolean {
  if (!state.lastHeard) {
    return false;
  }
  return now.getTime() - Date.parse(state.lastHeard) > heartbeatSeconds * 1000 * 1.5;
}

function withGap(
  state: Omit<EventTrackerState, 'gapSince'>,
  previousGapSince: string | undefined,
  now: string,
): EventTrackerState {
  const hasGap = state.ahead.length > 0 || state.reported > state.contiguous;
  if (!hasGap) {
    return { ...state };
  }
  return { ...state, gapSince: previousGapSince ?? now };
}
