/**
 * The calendar arithmetic of src/time/calendar.ts against an independent oracle: `Date`'s own
 * proleptic Gregorian calendar, reached through setUTCFullYear (which, unlike Date.UTC, takes a
 * year below 100 as it is) and toISOString.
 */
import { describe, expect, test } from '@jest/globals';
import {
  daysFromCivil,
  daysInMonth,
  formatInstant,
  isCivilDate,
  MAX_INSTANT_MS,
  MIN_INSTANT_MS,
} from '../../src/time/calendar.ts';

const DAY_MS = 86_400_000;

/** Every year 1–2100 (the two-digit years `Date.UTC` misreads, and today's) and the last ten. */
const CHECKED_YEARS = [
  ...Array.from({ length: 2100 }, (_, i) => i + 1),
  ...Array.from({ length: 10 }, (_, i) => 9990 + i),
];

function oracleMs(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

/** A deterministic spread of values (a linear congruential sequence), so a failure reproduces. */
function* spread(count: number, min: number, max: number): Generator<number> {
  let x = 12_345;
  for (let i = 0; i < count; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    yield min + Math.floor((x / 2_147_483_648) * (max - min + 1));
  }
}

describe('instants', () => {
  test('the first day of every month of years 1–2100 and 9990–9999 counts as Date does', () => {
    for (const year of CHECKED_YEARS) {
      for (let month = 1; month <= 12; month++) {
        expect(daysFromCivil(year, month, 1) * DAY_MS).toBe(oracleMs(year, month, 1));
        expect(daysInMonth(year, month)).toBe(
          (oracleMs(year, month + 1, 1) - oracleMs(year, month, 1)) / DAY_MS,
        );
      }
    }
  });

  test('formatInstant prints what toISOString prints, across the years 0001–9999', () => {
    const edges = [
      MIN_INSTANT_MS,
      MAX_INSTANT_MS,
      0,
      -1,
      DAY_MS - 1,
      oracleMs(1900, 3, 1) - 1,
      oracleMs(2000, 2, 29),
    ];
    for (const ms of [...edges, ...spread(20_000, MIN_INSTANT_MS, MAX_INSTANT_MS)]) {
      expect(formatInstant(ms)).toBe(new Date(ms).toISOString());
    }
  });

  test('the bounds are the first and last milliseconds of the years 0001–9999', () => {
    expect(new Date(MIN_INSTANT_MS).toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(new Date(MAX_INSTANT_MS).toISOString()).toBe('9999-12-31T23:59:59.999Z');
  });
});

describe('isCivilDate', () => {
  test('a day is real exactly when Date keeps it as written (years 1–2100 and 9990–9999)', () => {
    for (const year of CHECKED_YEARS) {
      for (let month = 0; month <= 13; month++) {
        for (const day of [0, 1, 28, 29, 30, 31, 32]) {
          const kept = new Date(oracleMs(year, month, day)).toISOString().slice(0, 10);
          const written = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
          expect([written, isCivilDate(year, month, day)]).toEqual([written, kept === written]);
        }
      }
    }
  });

  test('years outside 0001–9999 are not days FHIR can write', () => {
    expect(isCivilDate(0, 1, 1)).toBe(false);
    expect(isCivilDate(10_000, 1, 1)).toBe(false);
    expect(isCivilDate(1, 1, 1)).toBe(true);
    expect(isCivilDate(9999, 12, 31)).toBe(true);
  });
});
