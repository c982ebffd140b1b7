/**
 * Span classes of the date index (idx_date.span). An entry is a half-open range [start, end) of
 * instants; a range search ("overlaps [lo, hi)": `end > lo AND start < hi`) cannot be answered by
 * one ordered index, because neither bound alone is selective (every entry starting before `hi`,
 * or ending after `lo`). Entries are therefore filed by how long they are: within class c every
 * entry lasts at most SPAN_CLASS_MAX_MS[c], so `end > lo` implies `start > lo - max` and the search
 * reads, per class, only the entries starting in [lo - max, hi) from the primary key
 * (tenant, type, code, span, start_at, ...). The last class (longer than a year, open-ended periods)
 * has no such bound and is read up to `hi`; few entries live there.
 */

import { DAY_MS } from '../../time/clock.ts';

const HOUR_MS = 3_600_000;

/**
 * Upper bounds (ms, inclusive) of the bounded classes: a visit or an administration (4 h), a day
 * precision date or an overnight stay (2 days: a local day lasts up to 25 h), a month precision
 * date (32 days), a year precision date (367 days). Class SPAN_CLASS_MAX_MS.length is unbounded.
 */
export const SPAN_CLASS_MAX_MS: readonly number[] = [4 * HOUR_MS, 2 * DAY_MS, 32 * DAY_MS, 367 * DAY_MS];

/** Number of classes, the unbounded one included. */
export const SPAN_CLASSES = SPAN_CLASS_MAX_MS.length + 1;

/** The class of an entry [start, end) given as canonical instants. */
export function spanClass(start: string, end: string): number {
  const span = Date.parse(end) - Date.parse(start);
  const c = SPAN_CLASS_MAX_MS.findIndex((max) => span <= max);
  return c === -1 ? SPAN_CLASS_MAX_MS.length : c;
}

/**
 * The same classification in SQL over two columns holding canonical instants (the migration that
 * filed existing rows uses it). julianday keeps well under a millisecond of error over years 1 to
 * 9999, so rounding to whole milliseconds gives the exact span of millisecond instants.
 */
export function spanClassSql(startColumn: string, endColumn: string): string {
  const spanMs = `CAST(round((julianday(${endColumn}) - julianday(${startColumn})) * ${String(DAY_MS)}.0) AS INTEGER)`;
  const whens = SPAN_CLASS_MAX_MS.map((max, c) => `WHEN ${spanMs} <= ${String(max)} THEN ${String(c)}`);
  return `CASE ${whens.join(' ')} ELSE ${String(SPAN_CLASS_MAX_MS.length)} END`;
}

const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');

/**
 * The earliest start an entry of class `c` can have and still end after `instant` (exclusive end
 * > instant): `instant - max`, or undefined for the unbounded class or before year 1.
 */
export function earliestStartEndingAfter(instant: string, c: number): string | undefined {
  const max = SPAN_CLASS_MAX_MS[c];
  if (max === undefined) {
    return undefined;
  }
  const ms = Date.parse(instant) - max;
  return ms <= MIN_INSTANT_MS ? undefined : new Date(ms).toISOString();
}
