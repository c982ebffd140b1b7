/**
 * Instants of the years 0001–9999 as epoch milliseconds and back, in the proleptic Gregorian
 * calendar that FHIR dates use (R4 datatypes: date, dateTime, instant; ISO 8601): pure arithmetic,
 * no `Date` object.
 *
 * Why not `Date.UTC`: it reads a year below 100 as 1900 + year, so "0050-06-01" became 1950 and the
 * bound meant as 0001-01-01 (`Date.UTC(1, 0, 1)`) was 1901-01-01 — every date before 1901 was
 * indexed as the empty range at 0001-01-01. And every write indexes its dates: two `Date` objects
 * and a `toISOString` (a formatted print) per bound cost more than the arithmetic.
 * The day count is the days-from-civil algorithm (H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms", https://howardhinnant.github.io/date_algorithms.html), which is exact for these years.
 */
import { DAY_MS } from './clock.ts';

/** Whether `year` has a 29 February (proleptic Gregorian). */
function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Days in `month` (1–12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/** Whether `year`-`month`-`day` is a real day of the years 0001–9999 (no 2026-02-30, no year 0). */
export function isCivilDate(year: number, month: number, day: number): boolean {
  return (
    year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)
  );
}

/** Days from 1970-01-01 to `year`-`month`-`day` (month 1–12; a day past the month's end rolls on). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The civil date of a day count from 1970-01-01 (inverse of daysFromCivil). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: era * 400 + yearOfEra + (month <= 2 ? 1 : 0), month, day };
}

/** The first and last instants of the years 0001–9999, as epoch milliseconds. */
export const MIN_INSTANT_MS = daysFromCivil(1, 1, 1) * DAY_MS;
export const MAX_INSTANT_MS = daysFromCivil(10_000, 1, 1) * DAY_MS - 1;

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/**
 * `ms` in the canonical form instants are stored and compared in, `YYYY-MM-DDTHH:mm:ss.sssZ`
 * (what `Date.prototype.toISOString` prints for these years); `ms` must be an integer within
 * MIN_INSTANT_MS..MAX_INSTANT_MS.
 */
export function formatInstant(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  const { year, month, day } = civilFromDays(days);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return (
    `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T` +
    `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(millis, 3)}Z`
  );
}
