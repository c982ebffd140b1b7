/**
 * The range and slice of an analytics question (pure): `from` and `to` are the tenant's local
 * dates (YYYY-MM-DD, both included; default the 30 days up to today), `by` one of payer, location,
 * drug, code. A backwards range, a range longer than MAX_RANGE_DAYS, an impossible date or an
 * unknown slice is an AnalyticsQueryError (a 400 on the API, a usage error on the CLI).
 */
import { isCivilDate } from '../time/calendar.ts';
import { addDays, daysBetween } from '../time/zone.ts';
import type { Dimension, MeasureQuery } from './measures.ts';
import { DIMENSIONS } from './measures.ts';

/** A year, leap years included: analytics answers at most that long a range at once. */
export const MAX_RANGE_DAYS = 366;
export const DEFAULT_RANGE_DAYS = 30;

export class AnalyticsQueryError extends Error {
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(message);
    this.parameter = parameter;
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A real calendar day of the years 0001–9999 (calendar arithmetic: `Date.UTC` reads 0050 as 1950). */
function isDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) {
    return false;
  }
  return isCivilDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

export interface RawQuery {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly by?: string | undefined;
}

export function parseMeasureQuery(raw: RawQuery, today: string): MeasureQuery {
  for (const name of ['from', 'to'] as const) {
    const value = raw[name];
    if (value !== undefined && !isDate(value)) {
      throw new AnalyticsQueryError(name, `"${name}" must be a date (YYYY-MM-DD), got "${value}"`);
    }
  }
  const to = raw.to ?? today;
  const from = raw.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  if (from > to) {
    throw new AnalyticsQueryError('from', `The range is backwards: from ${from} is after to ${to}`);
  }
  if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) {
    throw new AnalyticsQueryError(
      'to',
      `The range ${from}..${to} is ${daysBetween(from, to) + 1} days long: at most ${MAX_RANGE_DAYS} days at once`,
    );
  }
  if (raw.by !== undefined && !(DIMENSIONS as readonly string[]).includes(raw.by)) {
    throw new AnalyticsQueryError('by', `"by" is one of ${DIMENSIONS.join(', ')}, got "${raw.by}"`);
  }
  return { from, to, asOf: today, ...(raw.by !== undefined ? { by: raw.by as Dimension } : {}) };
}
