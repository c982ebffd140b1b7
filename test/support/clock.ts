/**
 * The clock of a test run: the system clock moved by CLOCK_OFFSET_MS (read through the config
 * loader, as Dripline reads it). `.ci/run` sets it to run the date-dependent tests at 00:30 and at
 * 23:30 UTC; unset, it is the system clock. Tests that derive a date from the clock use
 * `testClock`, hand it to the parties they run in process, and pass `clockEnv()` to the Dripline
 * processes they start, so every party agrees on the time.
 */
import { loadConfig } from '../../src/config/config.ts';
import { advancingClock, systemClock } from '../../src/time/clock.ts';
import { addDays, localDate } from '../../src/time/zone.ts';
import type { AdvancingClock, Clock } from '../../src/time/clock.ts';

const offset = process.env['CLOCK_OFFSET_MS'];
const { clockOffsetMs } = loadConfig(offset === undefined ? {} : { CLOCK_OFFSET_MS: offset });

export const testClock: Clock = systemClock(clockOffsetMs);

/**
 * The test run's clock that the test may also move forward (src/time/clock.ts `advancingClock`):
 * handed to the parties it runs in process, for a test that lets days pass without waiting them.
 */
export function testAdvancingClock(): AdvancingClock {
  return advancingClock(clockOffsetMs);
}

/** The environment that gives a child Dripline the same clock. */
export function clockEnv(): Record<string, string> {
  return clockOffsetMs === 0 ? {} : { CLOCK_OFFSET_MS: String(clockOffsetMs) };
}

/**
 * The calendar date in `zone` `days` from the test clock's today: the date a tenant's pages and
 * APIs call today (a date input's `max`, a default range), which is not the UTC date in the
 * evening of the Americas.
 */
export function testToday(zone: string, days = 0): string {
  return addDays(localDate(testClock(), zone), days);
}
