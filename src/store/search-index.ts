import { createHash } from 'node:crypto';
/**
 * The pure function that derives index entries from a resource, by the parameters of
 * ./search-parameters.ts, and the value normalisation search shares with it (strings, dates,
 * references). Both store adapters persist the output of `indexResource` beside the current
 * version, so search semantics are defined once, here, and in port.ts.
 */
import { evalFhirPathTyped, parseFhirPath, toTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { DAY_MS } from '../time/clock.ts';
import {
  daysFromCivil,
  isCivilDate,
  formatInstant,
  MAX_INSTANT_MS,
  MIN_INSTANT_MS,
} from '../time/calendar.ts';
import type { IndexEntry, IndexedResource, StoreFilter } from './port.ts';
import { ANSWERED_FROM, SEARCH_PARAMETERS } from './search-parameters.ts';
import type { SearchParamDefinition } from './search-parameters.ts';

/** FHIR string search is case- and accent-insensitive (R4 search 3.1.1.4.7). */
export function normalizeString(value: string): string {
  return value
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .trim();
}

// ---------------------------------------------------------------------------------------------
// Dates: every FHIR date/dateTime/instant/Period becomes a half-open [start, end) of instants.
// ---------------------------------------------------------------------------------------------

const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The [start, end) instants covered by a FHIR date value at its precision: "2026-11" covers the
 * whole month. Values without a zone are read as UTC (the EHR's zone is unknown here). Returns
 * undefined for values that are not FHIR dates.
 */
export function dateRange(value: string): { start: string; end: string } | undefined {
  const range = dateRangeMs(value);
  return range && { start: toInstant(range.startMs), end: toInstant(range.endMs) };
}

/** dateRange as epoch milliseconds (src/time/calendar.ts), before they are clamped and printed. */
function dateRangeMs(value: string): { startMs: number; endMs: number } | undefined {
  const m = DATE_PATTERN.exec(value);
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo ? Number(mo) : 1;
  const day = d ? Number(d) : 1;
  // Reject impossible calendar dates (2026-02-30) instead of letting them roll over.
  if (!isCivilDate(year, month, day)) {
    return undefined;
  }
  if (
    (h !== undefined && Number(h) > 23) ||
    (mi !== undefined && Number(mi) > 59) ||
    (s !== undefined && Number(s) > 59)
  ) {
    return undefined;
  }
  const dayMs = daysFromCivil(year, month, day) * DAY_MS;
  if (h === undefined) {
    const endMs = d
      ? dayMs + DAY_MS
      : mo
        ? daysFromCivil(year, month + 1, 1) * DAY_MS
        : daysFromCivil(year + 1, 1, 1) * DAY_MS;
    return { startMs: dayMs, endMs };
  }
  const seconds = s ? Number(s) : 0;
  const millis = frac ? Math.floor(Number(frac) * 1000) : 0;
  const startMs =
    dayMs +
    Number(h) * 3_600_000 +
    Number(mi) * 60_000 +
    seconds * 1000 +
    millis -
    zoneOffsetMinutes(zone) * 60_000;
  // Precision: minutes → +1 min, seconds → +1 s, fractional → +1 ms.
  return { startMs, endMs: startMs + (s === undefined ? 60_000 : frac === undefined ? 1000 : 1) };
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (!zone || zone === 'Z') {
    return 0;
  }
  const sign = zone.startsWith('-') ? -1 : 1;
  const [hours, minutes] = zone.slice(1).split(':').map(Number);
  return sign * ((hours ?? 0) * 60 + (minutes ?? 0));
}

/** An instant, clamped to the years 0001–9999 (a zone offset can push a bound past either end). */
function toInstant(ms: number): string {
  return formatInstant(Math.min(Math.max(ms, MIN_INSTANT_MS), MAX_INSTANT_MS));
}

// ---------------------------------------------------------------------------------------------
// Index extraction
// ---------------------------------------------------------------------------------------------

/** "Patient/123", "https://ehr/fhir/Patient/123/_history/2" → "Patient/123". */
export function normalizeReference(reference: string): string | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

type FhirValue = unknown;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tokenValues(value: FhirValue): { system?: string; value: string }[] {
  if (typeof value === 'string') {
    return [{ value }];
  }
  if (typeof value === 'boolean' || typeof value === 'number') {
    return [{ value: String(value) }];
  }
  if (!isRecord(value)) {
    return [];
  }
  // CodeableConcept
  if (Array.isArray(value.coding) || typeof value.text === 'string') {
    return (Array.isArray(value.coding) ? value.coding : []).flatMap(tokenValues);
  }
  // Coding or Identifier
  const code =
    typeof value.code === 'string' ? value.code : typeof value.value === 'string' ? value.value : undefined;
  if (code === undefined) {
    return [];
  }
  return typeof value.system === 'string' ? [{ system: value.system, value: code }] : [{ value: code }];
}

function dateValues(value: FhirValue): { start: string; end: string }[] {
  if (typeof value === 'string') {
    const range = dateRange(value);
    return range ? [range] : [];
  }
  if (isRecord(value) && (typeof value.start === 'string' || typeof value.end === 'string')) {
    // Period: an open end means "still going". Only the bound each end gives is printed.
    const startMs = typeof value.start === 'string' ? dateRangeMs(value.start)?.startMs : MIN_INSTANT_MS;
    const endMs = typeof value.end === 'string' ? dateRangeMs(value.end)?.endMs : MAX_INSTANT_MS;
    return startMs !== undefined && endMs !== undefined
      ? [{ start: toInstant(startMs), end: toInstant(endMs) }]
      : [];
  }
  return [];
}

function referenceValues(value: FhirValue, targets: readonly string[] | undefined): string[] {
  if (!isRecord(value) || typeof value.reference !== 'string') {
    return [];
  }
  const normalized = normalizeReference(value.reference);
  if (!normalized) {
    return [];
  }
  const type = normalized.slice(0, normalized.indexOf('/'));
  return !targets || targets.includes(type) ? [normalized] : [];
}

function stringValues(value: FhirValue): string[] {
  return typeof value === 'string' && value.trim() !== '' ? [normalizeString(value)] : [];
}

/**
 * Search parameter expressions here are simple FHIRPath: `Type.a.b` paths joined by `|`, where a
 * step may name a choice element (`effective` → effectiveDateTime / effectivePeriod) or narrow one
 * with `.as(Type)`. Those compile to a direct property walk — about 20× faster than the general
 * evaluator, which matters because every write indexes its resource. So does a Dripline extension's
 * value (`Type.extension.where(url = '…').value`). Anything else falls back to
 * @medplum/core's FHIRPath; a test checks both agree on every definition.
 */
type Step = { readonly name: string; readonly as?: string };
type CompiledExpression = ((resource: Resource) => unknown[]) & { readonly fastPath: boolean };

const SIMPLE_PATH = /^[A-Z][A-Za-z]+(\.[a-z][A-Za-z]*(\.as\([A-Z][A-Za-z]*\))?)+$/;
/** `Type.extension.where(url = '…').value`: the value[x] of the resource's top-level extensions with that url. */
const EXTENSION_VALUE = /^[A-Z][A-Za-z]+\.extension\.where\(url = '([^']+)'\)\.value$/;
const compiledExpressions = new Map<string, CompiledExpression>();

export function compileExpression(expression: string): CompiledExpression {
  let fn = compiledExpressions.get(expression);
  if (fn) {
    return fn;
  }
  const extensionUrl = EXTENSION_VALUE.exec(expression)?.[1];
  if (extensionUrl !== undefined) {
    fn = Object.assign(
      (resource: Resource) =>
        ((resource as { extension?: Record<string, unknown>[] }).extension ?? [])
          .filter((e) => e['url'] === extensionUrl)
          .flatMap((e) =>
            Object.entries(e)
              .filter(([key, value]) => key.startsWith('value') && value !== undefined)
              .map(([, value]) => value),
          ),
      { fastPath: true },
    );
    compiledExpressions.set(expression, fn);
    return fn;
  }
  const alternatives = expression.split('|').map((p) => p.trim());
  if (alternatives.every((p) => SIMPLE_PATH.test(p))) {
    const paths = alternatives.map((p) => {
      const steps: Step[] = [];
      for (const part of p.split('.').slice(1)) {
        const as = /^as\(([A-Za-z]+)\)$/.exec(part);
        const last = steps[steps.length - 1];
        if (as && last) {
          steps[steps.length - 1] = { name: last.name, as: as[1] };
        } else {
          steps.push({ name: part });
        }
      }
      return steps;
    });
    const [only] = paths;
    fn = Object.assign(
      paths.length === 1 && only
        ? (resource: Resource) => walk([resource], only)
        : (resource: Resource) => paths.flatMap((steps) => walk([resource], steps)),
      { fastPath: true },
    );
  } else {
    const atom = parseFhirPath(expression);
    fn = Object.assign(
      (resource: Resource) =>
        evalFhirPathTyped(atom, [toTypedValue(resource)]).map((v) => v.value as unknown),
      { fastPath: false },
    );
  }
  compiledExpressions.set(expression, fn);
  return fn;
}

function walk(nodes: unknown[], steps: readonly Step[]): unknown[] {
  let current = nodes;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const node of current) {
      if (!isRecord(node)) {
        continue;
      }
      if (step.as === undefined && step.name in node) {
        pushFlat(next, node[step.name]);
        continue;
      }
      // A choice element: `effective` is stored as effectiveDateTime, effectivePeriod, ...
      for (const key of Object.keys(node)) {
        if (
          key.length > step.name.length &&
          key.startsWith(step.name) &&
          isUpper(key.charCodeAt(step.name.length))
        ) {
          if (step.as === undefined || key === step.name + step.as) {
            pushFlat(next, node[key]);
          }
        }
      }
    }
    current = next;
  }
  return current;
}

function pushFlat(target: unknown[], value: unknown): void {
  if (Array.isArray(value)) {
    target.push(...(value as unknown[]));
  } else if (value !== undefined && value !== null) {
    target.push(value);
  }
}

function isUpper(code: number): boolean {
  return code >= 65 && code <= 90;
}

/**
 * Fingerprint of what the index holds (the search parameter definitions and this module's
 * derivation version). A store opened on data indexed under another fingerprint re-derives every
 * resource's index entries, so a search parameter added or changed applies to old data too.
 * Bump INDEX_DERIVATION when indexResource or normalizeString change what they produce.
 */
const INDEX_DERIVATION = 2;
export const SEARCH_INDEX_VERSION = createHash('sha256')
  .update(JSON.stringify({ derivation: INDEX_DERIVATION, parameters: SEARCH_PARAMETERS }))
  .digest('hex')
  .slice(0, 16);

/**
 * The filters as the index answers them: a parameter indexed under another's rows (ANSWERED_FROM)
 * becomes a filter on that parameter — a narrowing reference parameter (`patient` on AuditEvent is
 * `entity` narrowed to Patient) with its values of the narrowed target types (other values cannot
 * match it), an alias (`date` on ChargeItem is `occurrence`) as it is.
 * Both store adapters search through this, so the two parameters match the same resources as when
 * each had rows of its own; a file indexed before still holds the answered parameters' rows, unread.
 */
export function indexedFilters(
  resourceType: string,
  filters: readonly StoreFilter[],
): readonly StoreFilter[] {
  const answeredFrom = ANSWERED_FROM[resourceType];
  if (!answeredFrom || !filters.some((f) => answeredFrom[f.code] !== undefined)) {
    return filters;
  }
  return filters.map((filter) => {
    const from = answeredFrom[filter.code];
    if (from === undefined) {
      return filter;
    }
    const targets = getTargets(resourceType, filter.code);
    if (filter.kind !== 'reference' || targets === undefined) {
      return { ...filter, code: from };
    }
    return {
      code: from,
      kind: 'reference',
      values: filter.values.filter((value) => targets.includes(value.slice(0, value.indexOf('/')))),
    };
  });
}

/** The sort key a sort by `code` reads: an alias's is the parameter it is answered from (ANSWERED_FROM). */
export function indexedSortCode(resourceType: string, code: string): string {
  return ANSWERED_FROM[resourceType]?.[code] ?? code;
}

function getTargets(resourceType: string, code: string): readonly string[] | undefined {
  return SEARCH_PARAMETERS[resourceType]?.find((d) => d.code === code)?.targets;
}

/** The parameters with index rows of their own, by type: all but those ANSWERED_FROM another's. */
const INDEXED_PARAMETERS: Readonly<Record<string, readonly SearchParamDefinition[]>> = Object.fromEntries(
  Object.entries(SEARCH_PARAMETERS).map(([type, definitions]) => [
    type,
    definitions.filter((d) => ANSWERED_FROM[type]?.[d.code] === undefined),
  ]),
);

/**
 * Whether two entries are the same row. Repeats are dropped by comparing fields: a resource has
 * a few dozen entries at most, and a key string per entry in a Set cost more (building and hashing
 * each string: ~20 % of indexing an administration) than these comparisons.
 */
function sameEntry(a: IndexEntry, b: IndexEntry): boolean {
  if (a.code !== b.code || a.kind !== b.kind) {
    return false;
  }
  switch (a.kind) {
    case 'token':
      return b.kind === 'token' && a.value === b.value && a.system === b.system;
    case 'date':
      return b.kind === 'date' && a.start === b.start && a.end === b.end;
    case 'reference':
    case 'string':
      return (b.kind === 'reference' || b.kind === 'string') && a.value === b.value;
  }
}

/** Derives the index entries, sort keys and identifiers of one resource (pure). */
export function indexResource(resource: Resource): IndexedResource {
  const definitions = INDEXED_PARAMETERS[resource.resourceType] ?? [];
  const entries: IndexEntry[] = [];
  const sortKeys: Record<string, string> = {};
  const push = (entry: IndexEntry): void => {
    if (!entries.some((e) => sameEntry(e, entry))) {
      entries.push(entry);
    }
  };
  const keepSmallest = (code: string, candidate: string): void => {
    const current = sortKeys[code];
    if (current === undefined || candidate < current) {
      sortKeys[code] = candidate;
    }
  };

  for (const definition of definitions) {
    const values = compileExpression(definition.expression)(resource);
    for (const value of values) {
      switch (definition.kind) {
        case 'token':
          for (const t of tokenValues(value)) {
            push({
              code: definition.code,
              kind: 'token',
              value: t.value,
              ...(t.system ? { system: t.system } : {}),
            });
            keepSmallest(definition.code, t.value);
          }
          break;
        case 'reference':
          for (const r of referenceValues(value, definition.targets)) {
            push({ code: definition.code, kind: 'reference', value: r });
          }
          break;
        case 'date':
          for (const d of dateValues(value)) {
            push({ code: definition.code, kind: 'date', start: d.start, end: d.end });
            keepSmallest(definition.code, d.start);
          }
          break;
        case 'string':
          for (const s of stringValues(value)) {
            push({ code: definition.code, kind: 'string', value: s });
            keepSmallest(definition.code, s);
          }
          break;
        default:
          definition.kind satisfies never;
      }
    }
  }

  // The identifier search parameter's own values: conditional create asks what a search by
  // `identifier` would find (the SQLite adapter reads them from the token rows themselves).
  const identifiers = entries.flatMap((e) =>
    e.kind === 'token' && e.code === 'identifier'
      ? [e.system === undefined ? { value: e.value } : { system: e.system, value: e.value }]
      : [],
  );

  return { entries, sortKeys, identifiers };
}
