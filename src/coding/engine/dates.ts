/**
 * Time arithmetic in whole minutes and dates of service in the clinic's time zone (R3.7).
 * Instants become epoch minutes (floored), so every duration the engine compares is an integer.
 * The zone is the tenant's IANA time zone (DST from the tz database) or, in its older form, a
 * fixed offset.
 */
import { offsetMinutesAt } from '../../time/zone.ts';

/** A half-open interval [start, end) in epoch minutes. */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

const OFFSET = /^([+-])(\d{2}):?(\d{2})$/;

/** "+05:30" → 330, "-05:00" → −300; "Z", absent or malformed → 0. */
export function offsetMinutes(offset: string | undefined): number {
  if (!offset) {
    return 0;
  }
  const m = OFFSET.exec(offset.trim());
  if (!m) {
    return 0;
  }
  const value = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -value : value;
}

/** Parsed instants: the same instant is read by several steps of an encounter (classify, codes, drugs). */
const parsedMinutes = new Map<string, number | undefined>();
const MAX_PARSED = 50_000;

/** ISO instant → epoch minutes, or undefined when absent / unparseable. */
export function epochMinutes(iso: string | undefined): number | undefined {
  if (!iso) {
    return undefined;
  }
  const parsed = parsedMinutes.get(iso);
  if (parsed !== undefined || parsedMinutes.has(iso)) {
    return parsed;
  }
  const ms = Date.parse(iso);
  const minutes = Number.isFinite(ms) ? Math.floor(ms / 60_000) : undefined;
  if (parsedMinutes.size >= MAX_PARSED) {
    parsedMinutes.clear();
  }
  parsedMinutes.set(iso, minutes);
  return minutes;
}

/** The clinic's zone as the engine uses it: the offset (minutes east of UTC) in force at an epoch minute. */
export interface DayZone {
  offsetAt(minute: number): number;
}

/** The zone of the coding options: `timeZone` (IANA), else the fixed `utcOffset`, else UTC. */
export function dayZone(
  options: { readonly timeZone?: string; readonly utcOffset?: string } | undefined,
): DayZone {
  const timeZone = options?.timeZone;
  if (timeZone) {
    return { offsetAt: (minute) => zoneOffsetAt(minute, timeZone) };
  }
  const fixed = offsetMinutes(options?.utcOffset);
  return { offsetAt: () => fixed };
}

/**
 * Offsets by zone and UTC hour (epoch minute / 60): an offset read through Intl costs more than
 * coding the rest of an administration, and a process codes few distinct hours. An hour whose first
 * and last minute have the same offset has it throughout (the tz database never puts two
 * transitions within an hour of each other); an hour holding a transition is stored as null and
 * read minute by minute.
 */
const hourOffsets = new Map<string, Map<number, number | null>>();
const MAX_CACHED_HOURS = 200_000;

function zoneOffsetAt(minute: number, timeZone: string): number {
  let hours = hourOffsets.get(timeZone);
  if (!hours) {
    hours = new Map();
    hourOffsets.set(timeZone, hours);
  }
  const hour = Math.floor(minute / 60);
  let offset = hours.get(hour);
  if (offset === undefined) {
    const first = offsetMinutesAt(hour * 3_600_000, timeZone);
    const last = offsetMinutesAt((hour * 60 + 59) * 60_000, timeZone);
    offset = first === last ? first : null;
    if (hours.size < MAX_CACHED_HOURS) {
      hours.set(hour, offset);
    }
  }
  return offset ?? offsetMinutesAt(minute * 60_000, timeZone);
}

/** The local calendar day index (days since epoch in the clinic's zone) of an epoch minute. */
export function dayIndex(minute: number, zone: DayZone): number {
  return Math.floor((minute + zone.offsetAt(minute)) / 1440);
}

/** Minutes since local midnight (wall clock) of an epoch minute. */
export function minuteOfDay(minute: number, zone: DayZone): number {
  return (((minute + zone.offsetAt(minute)) % 1440) + 1440) % 1440;
}

/** The epoch minute at which local day `day` begins (its midnight in the clinic's zone). */
export function dayStart(day: number, zone: DayZone): number {
  const guess = day * 1440 - zone.offsetAt(day * 1440);
  return day * 1440 - zone.offsetAt(guess);
}

/** Day strings by day index: every line asks for one, and a process sees few distinct days. */
const days = new Map<number, string>();

/** YYYY-MM-DD of a local day index. */
export function dayString(day: number): string {
  let s = days.get(day);
  if (s === undefined) {
    s = new Date(day * 86_400_000).toISOString().slice(0, 10);
    if (days.size < 100_000) {
      days.set(day, s);
    }
  }
  return s;
}

/** YYYY-MM-DD, in the clinic's zone, of an epoch minute. */
export function localDate(minute: number, zone: DayZone): string {
  return dayString(dayIndex(minute, zone));
}

/** Sorted, merged union of intervals (empty ones dropped). */
export function union(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out.at(-1);
    if (last && i.start <= last.end) {
      out[out.length - 1] = { start: last.start, end: Math.max(last.end, i.end) };
    } else {
      out.push(i);
    }
  }
  return out;
}

/** `from` minus every interval of `remove` (R4.4: only hydration time that does not overlap counts). */
export function subtract(from: readonly Interval[], remove: readonly Interval[]): Interval[] {
  const cut = union(remove);
  const out: Interval[] = [];
  for (const i of union(from)) {
    let pieces: Interval[] = [i];
    for (const c of cut) {
      pieces = pieces.flatMap((p) => {
        if (c.end <= p.start || c.start >= p.end) {
          return [p];
        }
        const parts: Interval[] = [];
        if (c.start > p.start) {
          parts.push({ start: p.start, end: c.start });
        }
        if (c.end < p.end) {
          parts.push({ start: c.end, end: p.end });
        }
        return parts;
      });
    }
    out.push(...pieces);
  }
  return out;
}

export function totalMinutes(intervals: readonly Interval[]): number {
  return intervals.reduce((sum, i) => sum + (i.end - i.start), 0);
}

export function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && b.start < a.end;
}

/**
 * Splits a service's time for facility dating (R3.7, CH4-230.2): the first `firstMinutes` minutes
 * (the initial/sequential code's "first hour") belong to the day the service began; the remaining
 * minutes are counted per local day on which they were provided.
 */
export function splitAfterFirst(
  intervals: readonly Interval[],
  firstMinutes: number,
  zone: DayZone,
): { readonly firstDay: number; readonly restByDay: ReadonlyMap<number, number> } {
  const sorted = union(intervals);
  const firstDay = dayIndex(sorted[0]?.start ?? 0, zone);
  const restByDay = new Map<number, number>();
  let toSkip = firstMinutes;
  for (const i of sorted) {
    let start = i.start;
    if (toSkip > 0) {
      const used = Math.min(toSkip, i.end - i.start);
      toSkip -= used;
      start += used;
    }
    while (start < i.end) {
      const day = dayIndex(start, zone);
      const dayEnd = dayStart(day + 1, zone);
      const end = Math.min(i.end, dayEnd);
      restByDay.set(day, (restByDay.get(day) ?? 0) + (end - start));
      start = end;
    }
  }
  return { firstDay, restByDay };
}
