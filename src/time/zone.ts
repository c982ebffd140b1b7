/**
 * Calendar days in an explicit time zone. Every date Dripline derives from an instant (a date of
 * service, "today" for timely filing, the sandbox's "yesterday") goes through here with a zone:
 * an IANA name ("America/New_York", DST from the tz database via Intl) or a fixed offset
 * ("-05:00", which Intl also accepts as a zone). Pure: no clock; instants are passed in.
 */
import { daysFromCivil } from './calendar.ts';
import { DAY_MS } from './clock.ts';

/** Dates are YYYY-MM-DD; an instant is epoch milliseconds, a Date, or an ISO string with an offset. */
export type Instant = number | Date | string;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

function epochMs(instant: Instant): number {
  const ms =
    typeof instant === 'number'
      ? instant
      : typeof instant === 'string'
        ? Date.parse(instant)
        : instant.getTime();
  if (!Number.isFinite(ms)) {
    throw new RangeError(`not an instant: ${String(instant)}`);
  }
  return ms;
}

/**
 * Whether `name` is a time zone Dripline accepts in configuration: an IANA name Intl knows
 * (Area/Location, e.g. "America/Chicago") or "UTC". Abbreviations ("EST") and raw offsets are not
 * names (an offset has no DST; configure it as such where an offset is asked for).
 */
export function isTimeZoneName(name: string): boolean {
  if (name !== 'UTC' && !/^[A-Za-z][A-Za-z_-]*(\/[A-Za-z0-9_+-]+)+$/.test(name)) {
    return false;
  }
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

const FIXED_OFFSET = /^([+-])([01]\d|2[0-3]):([0-5]\d)$/;
/** Offsets of the fixed-offset zones seen (at most 48 × 60 × 2 names: only matches are kept). */
const fixedOffsets = new Map<string, number>();

/**
 * A fixed-offset zone's offset in minutes ("-05:00" → −300), else undefined. Its wall clock is
 * plain arithmetic: asking Intl (formatToParts, several calls per instant) gives the same answer
 * at ~100× the cost, and the sandbox day writes hundreds of instants in such a zone at every
 * start. Offsets Intl would refuse (hours past 23) are left to Intl, to refuse.
 */
function fixedOffsetMinutes(zone: string): number | undefined {
  const known = fixedOffsets.get(zone);
  if (known !== undefined) {
    return known;
  }
  const m = FIXED_OFFSET.exec(zone);
  if (!m) {
    return undefined;
  }
  const abs = Number(m[2]) * 60 + Number(m[3]);
  const minutes = m[1] === '-' && abs ? -abs : abs; // "-00:00" is 0, not -0
  fixedOffsets.set(zone, minutes);
  return minutes;
}

/** The wall-clock fields of an instant in a zone, read from Intl (slow: ~10 µs a call). */
function wallClock(
  ms: number,
  zone: string,
): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(ms)) {
    if (p.type !== 'literal') {
      parts[p.type] = Number(p.value);
    }
  }
  return {
    y: parts['year'] ?? 1970,
    mo: parts['month'] ?? 1,
    d: parts['day'] ?? 1,
    h: parts['hour'] ?? 0,
    mi: parts['minute'] ?? 0,
    s: parts['second'] ?? 0,
  };
}

/** The zone's offset from UTC at an instant, in seconds east, from Intl's wall clock. */
function offsetSecondsFromIntl(ms: number, zone: string): number {
  const w = wallClock(ms, zone);
  const asUtc = daysFromCivil(w.y, w.mo, w.d) * DAY_MS + ((w.h * 60 + w.mi) * 60 + w.s) * 1000;
  return (asUtc - Math.floor(ms / 1000) * 1000) / 1000;
}

/**
 * Offsets already read, by zone and quarter hour. Every date and offset Dripline derives goes
 * through Intl's formatToParts, which dominated the time of dates of service and of instants
 * written in a zone; a zone's offset changes only at its transitions, a few a year, so a quarter
 * hour whose first and last millisecond have the same offset has it throughout (the tz database
 * never puts two transitions within 15 minutes of each other: one would be needed to leave and
 * one to return). A quarter hour with a transition inside is never cached: read for each instant.
 */
const QUARTER_HOUR_MS = 15 * 60_000;
/** Quarter hours kept per zone (~104 days of distinct instants); the map starts over when full. */
const OFFSETS_PER_ZONE = 10_000;
const offsetsByZone = new Map<string, Map<number, number>>();

function offsetSecondsAt(ms: number, zone: string): number {
  const fixed = fixedOffsetMinutes(zone);
  if (fixed !== undefined) {
    return fixed * 60;
  }
  let offsets = offsetsByZone.get(zone);
  if (!offsets) {
    formatter(zone); // throws for a zone Intl does not know, before anything is cached for it
    offsets = new Map();
    offsetsByZone.set(zone, offsets);
  }
  const quarter = Math.floor(ms / QUARTER_HOUR_MS);
  const cached = offsets.get(quarter);
  if (cached !== undefined) {
    return cached;
  }
  const first = offsetSecondsFromIntl(quarter * QUARTER_HOUR_MS, zone);
  const last = offsetSecondsFromIntl((quarter + 1) * QUARTER_HOUR_MS - 1, zone);
  if (first !== last) {
    return offsetSecondsFromIntl(ms, zone);
  }
  if (offsets.size >= OFFSETS_PER_ZONE) {
    offsets.clear();
  }
  offsets.set(quarter, first);
  return first;
}

/** The zone's wall-clock time of an instant as if it were UTC (milliseconds: seconds precision). */
function wallAsUtc(ms: number, zone: string): number {
  return Math.floor(ms / 1000) * 1000 + offsetSecondsAt(ms, zone) * 1000;
}

/** The zone's offset from UTC at an instant, in minutes east (New York in winter: −300). */
export function offsetMinutesAt(instant: Instant, zone: string): number {
  return Math.round(offsetSecondsAt(epochMs(instant), zone) / 60);
}

/** "±HH:MM" for an offset in minutes. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** An instant as ISO 8601 with the zone's offset at that instant ("2026-12-03T19:30:00.000-05:00"). */
export function isoInZone(instant: Instant, zone: string): string {
  const ms = epochMs(instant);
  const offset = offsetMinutesAt(ms, zone);
  return `${new Date(ms + offset * 60_000).toISOString().slice(0, 23)}${formatOffset(offset)}`;
}

/** The calendar date (YYYY-MM-DD) of an instant in a zone. */
export function localDate(instant: Instant, zone: string): string {
  const ms = epochMs(instant);
  const wall = new Date(wallAsUtc(ms, zone));
  const y = wall.getUTCFullYear();
  if (y < 1 || y > 9999) {
    // Intl names years outside 1–9999 by era: keep its reading there.
    const w = wallClock(ms, zone);
    return `${String(w.y).padStart(4, '0')}-${String(w.mo).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
  }
  return `${String(y).padStart(4, '0')}-${String(wall.getUTCMonth() + 1).padStart(2, '0')}-${String(wall.getUTCDate()).padStart(2, '0')}`;
}

/** `date` moved by whole calendar days. */
export function addDays(date: string, days: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) {
    throw new RangeError(`not a date (YYYY-MM-DD): ${date}`);
  }
  return new Date(daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]) + days) * DAY_MS)
    .toISOString()
    .slice(0, 10);
}

/** Whole calendar days from `from` to `to` (dates), negative when `to` is earlier. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/**
 * The instant at which the zone's wall clock reads `date` plus `minutes` (may exceed a day: the
 * following days), as epoch milliseconds. A wall time skipped by a DST change lands just after
 * the gap; one repeated resolves to its first occurrence.
 */
export function zonedEpochMs(date: string, minutes: number, zone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) {
    throw new RangeError(`not a date (YYYY-MM-DD): ${date}`);
  }
  const wall = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])) * DAY_MS + minutes * 60_000;
  // Two passes: guess with the offset at the wall time read as UTC, then with the offset there.
  const first = wall - offsetMinutesAt(wall, zone) * 60_000;
  const second = wall - offsetMinutesAt(first, zone) * 60_000;
  const reads = [first, second].filter((c) => c + offsetMinutesAt(c, zone) * 60_000 === wall);
  // Both read the wall time in a repeated hour (take the first); neither does in a skipped one.
  return reads.length > 0 ? Math.min(...reads) : Math.max(first, second);
}

/** `zonedEpochMs` as an ISO instant written with the zone's offset at that instant ("…T09:30:00-05:00"). */
export function zonedIso(date: string, minutes: number, zone: string): string {
  const ms = zonedEpochMs(date, minutes, zone);
  const offset = offsetMinutesAt(ms, zone);
  return `${new Date(ms + offset * 60_000).toISOString().slice(0, 19)}${formatOffset(offset)}`;
}

/** The instant a calendar day begins in a zone (its local midnight), as epoch milliseconds. */
export function startOfDay(date: string, zone: string): number {
  return zonedEpochMs(date, 0, zone);
}

/**
 * The date of service of an instant the EHR wrote: its calendar date in the facility's zone when
 * one is known; otherwise the date as written (the local date of the offset the EHR wrote on it).
 * A FHIR `date` (no time) is its own date of service.
 */
export function serviceDate(instant: string, zone: string | undefined): string {
  if (!zone || !/T\d{2}:\d{2}/.test(instant) || !Number.isFinite(Date.parse(instant))) {
    return instant.slice(0, 10);
  }
  return localDate(instant, zone);
}
