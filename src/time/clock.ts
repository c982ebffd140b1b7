/**
 * The clock, injected: everything that asks what time it is takes a `Clock` (tests pass their own).
 * Production runs on the system clock. `CLOCK_OFFSET_MS` (config `clockOffsetMs`) moves it by a
 * fixed amount, the same in every process that gets the setting, so a test run can be made to
 * happen at 00:30 or 23:30 UTC with every party (Dripline, the sandbox EHR and payer, the test
 * itself) agreeing on the time and time still passing.
 */
export type Clock = () => Date;

/** The system clock, moved by `offsetMs` (0: the system clock itself). */
export function systemClock(offsetMs = 0): Clock {
  return offsetMs === 0 ? () => new Date() : () => new Date(Date.now() + offsetMs);
}
