/**
 * Calendar days in an explicit time zone. Every date Dripline derives from an instant (a date of
 * service, "today" for timely filing, the sandbox's "yesterday") goes through here with a zone:
 * an IANA name ("America/New_York", DST from the tz database via Intl) or a fixed offset
 * ("-05:00", which Intl also accepts as a zone). Pure: no clock; instants are passed in.
 */

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
const fixedOffsets = new Map<string, number | undefined>();

/**
 * A fixed-offset zone's offset in minutes ("-05:00" → −300), else undefined. Its wall clock is
 * plain arithmetic: asking Intl (formatToParts, several calls per instant) gives the same answer
 * at ~100× the cost, and the sandbox day writes hundreds of instants in such a zone at every
 * start. Offsets Intl would refuse (hours past 23) are left to Intl, to refuse.
 */
function fixedOffsetMinutes(zone: string): number | undefined {
  if (fixedOffsets.has(zone)) {
    return fixedOffsets.get(zone);
  }
  const m = FIXED_OFFSET.exec(zone);
  const abs = m ? Number(m[2]) * 60 + Number(m[3]) : undefined;
  const minutes = m?.[1] === '-' && abs ? -abs : abs; // "-00:00" is 0, not -0
  fixedOffsets.set(zone, minutes);
  return minutes;
}

/** The wall-clock fields of an instant in a zone. */
function wallClock(
  ms: number,
  zone: string,
): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const fixed = fixedOffsetMinutes(zone);
  if (fixed !== undefined) {
    const wall = new Date(ms + fixed * 60_000);
    return {
      y: wall.getUTCFullYear(),
      mo: wall.getUTCMonth() + 1,
      d: wall.getUTCDate(),
      h: wall.getUTCHours(),
      mi: wall.getUTCMinutes(),
      s: wall.getUTCSeconds(),
    };
  }
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

/** The zone's offset from UTC at an instant, in minutes east (New York in winter: −300). */
export function offsetMinutesAt(instant: Instant, zone: string): number {
  const ms = epochMs(instant);
  const fixed = fixedOffsetMinutes(zone);
  if (fixed !== undefined) {
    return fixed;
  }
  const w = wallClock(ms, zone);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
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
  const w = wallClock(epochMs(instant), zone);
  return `${String(w.y).padStart(4, '0')}-${String(w.mo).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
}

/** `date` moved by whole calendar days. */
export function addDays(date: string, days: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) {
    throw new RangeError(`not a date (YYYY-MM-DD): ${date}`);
  }
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days)).toISOString().slice(0, 10);
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
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + minutes * 60_000;
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
