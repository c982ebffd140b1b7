/**
 * The engine reads a zone's offset once per hour and keeps it (engine/dates.ts): every minute must
 * still get the offset the tz database gives, through DST changes that fall on the hour (New York)
 * and on the half hour (Lord Howe Island moves by 30 minutes at 02:00 local, i.e. 15:00Z), and
 * whatever minute of a transition's hour is asked for first.
 */
import { describe, expect, test } from '@jest/globals';
import { dayZone } from '../../../src/coding/engine/dates.ts';
import { offsetMinutesAt } from '../../../src/time/zone.ts';

const cases: readonly { zone: string; transition: string }[] = [
  { zone: 'America/New_York', transition: '2026-03-08T07:00:00Z' },
  { zone: 'America/New_York', transition: '2026-11-01T06:00:00Z' },
  { zone: 'Australia/Lord_Howe', transition: '2026-04-04T15:00:00Z' },
  { zone: 'Australia/Lord_Howe', transition: '2026-10-03T15:30:00Z' },
  { zone: 'Asia/Kolkata', transition: '2026-06-01T12:00:00Z' },
];

describe.each(cases)('$zone around $transition', ({ zone, transition }) => {
  const center = Date.parse(transition) / 60_000;
  const expected = (minute: number): number => offsetMinutesAt(minute * 60_000, zone);

  test.each([
    ['the hour start first', 0],
    ['the minute after the change first', 1],
    ['the hour end first', 59],
  ])('every minute of the surrounding hours, %s', (_label, firstOffset) => {
    const hourStart = Math.floor(center / 60) * 60;
    const first = hourStart + firstOffset;
    // A fresh zone object each time: the hour cache is the module's, shared by every zone object.
    expect(dayZone({ timeZone: zone }).offsetAt(first)).toBe(expected(first));
    const zoneRead = dayZone({ timeZone: zone });
    const wrong: string[] = [];
    for (let minute = center - 130; minute <= center + 130; minute++) {
      const got = zoneRead.offsetAt(minute);
      if (got !== expected(minute)) {
        wrong.push(`${new Date(minute * 60_000).toISOString()}: ${got} ≠ ${expected(minute)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('the offset changes in the window when the zone has DST', () => {
    const before = expected(center - 60);
    const after = expected(center + 60);
    expect(before !== after).toBe(zone !== 'Asia/Kolkata');
  });
});
