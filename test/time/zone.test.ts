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
  zonedEpochMs,
  zonedIso,
} from '../../src/time/zone.ts';

const NY = 'America/New_York';

/**
 * What Intl reads for an instant in a zone: the oracle that src/time/zone.ts's remembered offsets
 * and its fixed-offset arithmetic must agree with.
 */
const formats = new Map<string, Intl.DateTimeFormat>();
function intlWall(ms: number, zone: string): { date: string; offset: number } {
  const format =
    formats.get(zone) ??
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  formats.set(zone, format);
  const parts = Object.fromEntries(format.formatToParts(ms).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(
    +parts.year!,
    +parts.month! - 1,
    +parts.day!,
    +parts.hour!,
    +parts.minute!,
    +parts.second!,
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    offset: Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000),
  };
}

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

/**
 * Offsets are remembered per zone and quarter hour (src/time/zone.ts): every answer must still be
 * Intl's, at each minute around every transition of 2026 (a quarter hour holding a transition is
 * never remembered), in zones whose transitions fall on the half hour (Lord Howe: 30-minute DST),
 * whose offsets are not whole hours (Kathmandu, Chatham) and whose DST is negative (Dublin). Asked
 * twice: the second answer comes from what the first remembered.
 */
describe('offsets and dates as Intl reads them, around every transition', () => {
  /** The instants of a year where the zone's offset changes, to the minute (days apart, then halved). */
  function transitions(zone: string, year: number): number[] {
    const found: number[] = [];
    for (let at = Date.UTC(year, 0, 1); at < Date.UTC(year + 1, 0, 1); at += 86_400_000) {
      let [before, after] = [at, at + 86_400_000];
      if (intlWall(before, zone).offset !== intlWall(after, zone).offset) {
        while (after - before > 60_000) {
          const middle = before + Math.floor((after - before) / 120_000) * 60_000;
          if (intlWall(middle, zone).offset === intlWall(before, zone).offset) {
            before = middle;
          } else {
            after = middle;
          }
        }
        found.push(after);
      }
    }
    return found;
  }

  test.each([
    ['America/New_York', 2026, 2],
    ['Australia/Lord_Howe', 2026, 2],
    ['Asia/Kathmandu', 2026, 0],
    ['Pacific/Chatham', 2026, 2],
    ['Europe/Dublin', 2026, 2],
    // Liberia left Monrovia Mean Time (−0:44:30) for UTC in 1972: a transition inside a quarter hour.
    ['Africa/Monrovia', 1972, 1],
  ])('%s in %d (%d transitions)', (zone, year, count) => {
    const changes = transitions(zone, year);
    expect(changes).toHaveLength(count);
    // Two hours each side of each transition minute by minute (odd seconds), 20 minutes each side
    // every 5 seconds, and two ordinary instants; all asked twice.
    const instants = changes.flatMap((t) => [
      ...Array.from({ length: 241 }, (_, i) => t - 7_200_000 + i * 60_000 + (i % 7) * 1_000 + (i % 3)),
      ...Array.from({ length: 481 }, (_, i) => t - 1_200_000 + i * 5_000),
    ]);
    instants.push(Date.UTC(year, 5, 1, 23, 59, 59, 999), Date.UTC(year, 11, 31, 12));
    for (const round of [1, 2]) {
      const wrong = instants.filter((ms) => {
        const intl = intlWall(ms, zone);
        return offsetMinutesAt(ms, zone) !== intl.offset || localDate(ms, zone) !== intl.date;
      });
      expect({ round, wrong: wrong.map((ms) => new Date(ms).toISOString()) }).toEqual({ round, wrong: [] });
    }
  });
});

describe('a fixed-offset zone (±HH:MM)', () => {
  const zones = ['-05:00', '+05:45', '-09:30', '+14:00', '+00:00', '-00:00', '+23:59'];
  const instants = [
    '2026-12-04T04:59:59.999Z',
    '2026-12-04T05:00:00Z',
    '2026-03-08T07:30:00Z',
    '2026-12-31T23:59:30Z',
    '2027-01-01T00:00:00.500Z',
    '1969-12-31T23:59:59.250Z',
  ];
  test.each(zones)('%s: offsets, dates and instants read as Intl reads them', (zone) => {
    for (const instant of instants) {
      const ms = Date.parse(instant);
      const intl = intlWall(ms, zone);
      expect([instant, offsetMinutesAt(instant, zone)]).toEqual([instant, intl.offset]);
      expect([instant, localDate(instant, zone)]).toEqual([instant, intl.date]);
      const iso = isoInZone(instant, zone);
      expect(Date.parse(iso)).toBe(ms);
      expect(iso.slice(0, 10)).toBe(intl.date);
    }
    for (const minutes of [0, 59, 600, 1439, 1440, 2000]) {
      const iso = zonedIso('2026-11-26', minutes, zone);
      const ms = Date.parse(iso);
      expect([minutes, iso.slice(11, 16)]).toEqual([
        minutes,
        `${String(Math.floor(minutes / 60) % 24).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`,
      ]);
      expect([minutes, intlWall(ms, zone).offset]).toEqual([minutes, offsetMinutesAt(ms, zone)]);
    }
  });

  test('an offset Intl does not take is refused, as before; a bad instant is still not an instant', () => {
    expect(() => localDate('2026-12-04T05:00:00Z', '+24:00')).toThrow(RangeError);
    expect(() => offsetMinutesAt('2026-12-04T05:00:00Z', '+24:00')).toThrow(RangeError);
    expect(() => offsetMinutesAt('not a time', '-05:00')).toThrow(RangeError);
  });
});

describe('years below 100', () => {
  // Fix: Date.UTC reads a year below 100 as 1900 + year, so these moved to the 1900s.
  test('addDays and zonedEpochMs keep the year as written', () => {
    expect(addDays('0050-12-31', 1)).toBe('0051-01-01');
    expect(addDays('0004-02-28', 1)).toBe('0004-02-29');
    expect(new Date(zonedEpochMs('0050-06-01', 90, 'UTC')).toISOString()).toBe('0050-06-01T01:30:00.000Z');
  });
});
