/**
 * The clock, injected: everything that asks what time it is takes a `Clock` (tests pass their own).
 * Production runs on the system clock. `CLOCK_OFFSET_MS` (config `clockOffsetMs`) moves it by a
 * fixed amount, the same in every process that gets the setting, so a test run can be made to
 * happen at 00:30 or 23:30 UTC with every party (Dripline, the sandbox EHR and payer, the test
 * itself) agreeing on the time and time still passing.
 */
export type Clock = () => Date;

/** 24 hours in milliseconds: a span of time (a calendar day in a zone is ./zone.ts's). */
export const DAY_MS = 86_400_000;

/** The system clock, moved by `offsetMs` (0: the system clock itself). */
export function systemClock(offsetMs = 0): Clock {
  return offsetMs === 0 ? () => new Date() : () => new Date(Date.now() + offsetMs);
}

/** A clock its owner can move forward (`advancingClock`). */
export interface AdvancingClock {
  readonly now: Clock;
  /** Moves the clock forward by `ms` from then on (negative or non-finite amounts are refused). */
  advance(ms: number): void;
  /** How far the clock has been moved forward in all, ms. */
  advancedMs(): number;
}

/**
 * The system clock (moved by `offsetMs`) that its owner can also move forward, never back: the
 * sandbox day (`npm run sandbox:day`) skips an interval in which nothing is happening — the held
 * claim recheck's 30 s, the claim sweep's 5 s, a payer's processing time — instead of sleeping
 * through it, so the day runs faster than real time and does the same things (issue 17). Time
 * keeps passing between advances; everything that reads the clock sees the jump at once. Not for
 * production: there the only clock is the system one.
 */
export function advancingClock(offsetMs = 0): AdvancingClock {
  let advanced = 0;
  return {
    now: () => new Date(Date.now() + offsetMs + advanced),
    advance(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`a clock moves forward only (asked ${ms} ms)`);
      }
      advanced += ms;
    },
    advancedMs: () => advanced,
  };
}
