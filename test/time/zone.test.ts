/** Calendar days in an explicit zone (src/time/zone.ts), at the hours where UTC and local days differ. */
import { describe, expect, test } from '@jest/globals';
import {
  addDays,
  daysBetween,
  isoInZone,
  isTimeZoneName,
  localDate,
  offsetMinutesAt,
  serviceDate,
  startOfDay,
  zonedIso,
} from '../../src/time/zone.ts';

const NY = 'America/New_York';

describe('localDate', () => {
  test.each([
    ['2026-12-04T00:30:00Z', NY, '2026-12-03'],
    ['2026-12-04T04:59:59Z', NY, '2026-12-03'],
    ['2026-12-04T05:00:00Z', NY, '2026-12-04'],
    ['2026-12-04T23:30:00Z', NY, '2026-12-04'],
    ['2026-07-04T03:30:00Z', NY, '2026-07-03'],
    ['2026-07-04T04:00:00Z', NY, '2026-07-04'],
    ['2026-12-04T00:30:00Z', 'UTC', '2026-12-04'],
    ['2026-12-03T19:00:00Z', 'Asia/Kolkata', '2026-12-04'],
    ['2026-12-04T04:30:00Z', '-05:00', '2026-12-03'],
  ])('%s in %s is %s', (instant, zone, date) => {
    expect(localDate(instant, zone)).toBe(date);
  });
});

test('offsets follow DST', () => {
  expect(offsetMinutesAt('2026-01-15T12:00:00Z', NY)).toBe(-300);
  expect(offsetMinutesAt('2026-07-15T12:00:00Z', NY)).toBe(-240);
  expect(offsetMinutesAt('2026-07-15T12:00:00Z', 'UTC')).toBe(0);
  expect(offsetMinutesAt('2026-07-15T12:00:00Z', 'Asia/Kolkata')).toBe(330);
});

test('wall clock to instant, with the offset in force', () => {
  expect(zonedIso('2026-12-03', 9 * 60 + 30, NY)).toBe('2026-12-03T09:30:00-05:00');
  expect(zonedIso('2026-07-03', 9 * 60 + 30, NY)).toBe('2026-07-03T09:30:00-04:00');
  // Past midnight: the next day.
  expect(zonedIso('2026-12-03', 24 * 60 + 30, NY)).toBe('2026-12-04T00:30:00-05:00');
  // 02:30 does not exist on 8 March 2026 in New York: just after the gap.
  expect(zonedIso('2026-03-08', 2 * 60 + 30, NY)).toBe('2026-03-08T03:30:00-04:00');
  // 01:30 happens twice on 1 November 2026: the first one.
  expect(zonedIso('2026-11-01', 60 + 30, NY)).toBe('2026-11-01T01:30:00-04:00');
  expect(zonedIso('2026-12-31', 600, '-08:00')).toBe('2026-12-31T10:00:00-08:00');
});

test('days begin at local midnight, 23 or 25 hours apart across DST', () => {
  expect(new Date(startOfDay('2026-12-04', NY)).toISOString()).toBe('2026-12-04T05:00:00.000Z');
  expect(startOfDay('2026-03-09', NY) - startOfDay('2026-03-08', NY)).toBe(23 * 3_600_000);
  expect(startOfDay('2026-11-02', NY) - startOfDay('2026-11-01', NY)).toBe(25 * 3_600_000);
});

test('instants written in a zone', () => {
  expect(isoInZone('2026-12-04T00:30:00Z', NY)).toBe('2026-12-03T19:30:00.000-05:00');
  expect(isoInZone('2026-12-04T00:30:00Z', 'UTC')).toBe('2026-12-04T00:30:00.000+00:00');
});

test('date arithmetic', () => {
  expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  expect(daysBetween('2026-12-03', '2027-12-03')).toBe(365);
  expect(daysBetween('2026-12-04', '2026-12-03')).toBe(-1);
});

test('dates of service: in the facility zone when known, else as the EHR wrote them', () => {
  // 21:00 in New York, written by an EHR in UTC.
  expect(serviceDate('2026-12-04T02:00:00Z', NY)).toBe('2026-12-03');
  expect(serviceDate('2026-12-04T02:00:00Z', undefined)).toBe('2026-12-04');
  expect(serviceDate('2026-12-03T21:00:00-05:00', undefined)).toBe('2026-12-03');
  expect(serviceDate('2026-12-03', NY)).toBe('2026-12-03');
  expect(serviceDate('', NY)).toBe('');
});

test('time zone names', () => {
  for (const ok of [NY, 'UTC', 'Europe/Paris', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) {
    expect([ok, isTimeZoneName(ok)]).toEqual([ok, true]);
  }
  for (const bad of ['EST', '-05:00', 'Mars/Olympus', '', 'America/New York', 'utc']) {
    expect([bad, isTimeZoneName(bad)]).toEqual([bad, false]);
  }
});
