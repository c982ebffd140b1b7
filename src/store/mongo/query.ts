/**
 * Pure translation of the storage port's search model to MongoDB documents: how an
 * `IndexedResource` is laid out in a current-resource document, and how a `StoreQuery` becomes a
 * filter + sort on that layout. No driver calls here, so it is unit-tested with exact objects
 * (test/store/mongo-query.test.ts).
 *
 * Layout of the search part of a current-resource document (`resources` collection):
 *   tok:   [{ c: code, s: system ('' when none), v: value }]
 *   ref:   [{ c: code, v: "Type/id" }]
 *   date:  [{ c: code, s: start (inclusive ISO), e: end (exclusive ISO) }]
 *   str:   [{ c: code, v: normalized value }]
 *   sort:  { <code>: key }
 *   ident: [{ s: system ('' when none), v: value }]
 * Each array has a multikey compound index led by (tenant, type, <array>.c, ...).
 */
import { badRequest, OperationOutcomeError } from '@medplum/core';
import type { Document } from 'mongodb';
import type { DatePrefix, IndexedResource, StoreFilter, StoreQuery, StoreSort } from '../port.ts';
import { indexedFilters, indexedSortCode } from '../search-index.ts';

export interface TokenDoc {
  c: string;
  s: string;
  v: string;
}
export interface ReferenceDoc {
  c: string;
  v: string;
}
export interface DateDoc {
  c: string;
  s: string;
  e: string;
}
export interface StringDoc {
  c: string;
  v: string;
}
export interface IdentifierDoc {
  s: string;
  v: string;
}

/** The search fields of a current-resource document. */
export interface SearchFields {
  tok: TokenDoc[];
  ref: ReferenceDoc[];
  date: DateDoc[];
  str: StringDoc[];
  sort: Record<string, string>;
  ident: IdentifierDoc[];
}

/** A sort code must be usable as a field name under `sort.` (filter codes are only ever values). */
const CODE_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function assertSafeCode(code: string): void {
  if (!CODE_PATTERN.test(code)) {
    throw new OperationOutcomeError(badRequest(`Invalid search parameter code: ${code}`));
  }
}

/**
 * Lays out `indexResource`'s output as the search fields of a current-resource document.
 * @param normalize - `normalizeString`, re-applied to string entries (idempotent) so both sides
 *   of a string match are normalized the same way whatever the indexer did.
 */
export function toSearchFields(indexed: IndexedResource, normalize: (value: string) => string): SearchFields {
  const fields: SearchFields = { tok: [], ref: [], date: [], str: [], sort: {}, ident: [] };
  for (const entry of indexed.entries) {
    switch (entry.kind) {
      case 'token':
        fields.tok.push({ c: entry.code, s: entry.system ?? '', v: entry.value });
        break;
      case 'reference':
        fields.ref.push({ c: entry.code, v: entry.value });
        break;
      case 'date':
        fields.date.push({ c: entry.code, s: entry.start, e: entry.end });
        break;
      case 'string':
        fields.str.push({ c: entry.code, v: normalize(entry.value) });
        break;
    }
  }
  for (const [code, key] of Object.entries(indexed.sortKeys)) {
    if (CODE_PATTERN.test(code)) {
      fields.sort[code] = key;
    }
  }
  for (const identifier of indexed.identifiers) {
    fields.ident.push({ s: identifier.system ?? '', v: identifier.value });
  }
  return fields;
}

const CANONICAL_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * The canonical form instants are stored and compared in (`YYYY-MM-DDTHH:mm:ss.sssZ`, which sorts
 * like time), or 400 for a value that is not an instant or falls outside years 0000-9999.
 */
export function canonicalInstant(value: string, what: string): string {
  if (CANONICAL_INSTANT.test(value)) {
    return value;
  }
  const ms = Date.parse(value);
  const iso = Number.isNaN(ms) ? '' : new Date(ms).toISOString();
  if (!CANONICAL_INSTANT.test(iso)) {
    throw new OperationOutcomeError(badRequest(`Invalid ${what}: ${value}`));
  }
  return iso;
}

/** A filter that no document satisfies (an OR over no values). */
export const MATCH_NOTHING: Document = { _id: { $in: [] } };

/** Escapes a string for use inside a regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The condition on one date entry ({s, e}) for a prefix, per port.ts:
 *   eq: es >= vs && ee <= ve   ne: !(eq)   lt: es < vs   gt: ee > ve
 *   le: es < ve                ge: ee > vs  sa: es >= ve  eb: ee <= vs
 */
export function dateEntryCondition(prefix: DatePrefix, start: string, end: string): Document {
  switch (prefix) {
    case 'eq':
      return { s: { $gte: start }, e: { $lte: end } };
    case 'ne':
      return { $or: [{ s: { $lt: start } }, { e: { $gt: end } }] };
    case 'lt':
      return { s: { $lt: start } };
    case 'gt':
      return { e: { $gt: end } };
    case 'le':
      return { s: { $lt: end } };
    case 'ge':
      return { e: { $gt: start } };
    case 'sa':
      return { s: { $gte: end } };
    case 'eb':
      return { e: { $lte: start } };
  }
}

/**
 * `_lastUpdated` is a millisecond instant `lu`, i.e. the range [lu, lu + 1 ms). With canonical
 * ISO strings (ms precision, Z) the prefix conditions reduce to comparisons of `lu` alone:
 *   eq: lu >= vs && lu < ve   ne: lu < vs || lu >= ve   lt: lu < vs   gt: lu >= ve
 *   le: lu < ve               ge: lu >= vs              sa: lu >= ve  eb: lu < vs
 */
export function lastUpdatedCondition(prefix: DatePrefix, start: string, end: string): Document {
  switch (prefix) {
    case 'eq':
      return { lastUpdated: { $gte: start, $lt: end } };
    case 'ne':
      return { $or: [{ lastUpdated: { $lt: start } }, { lastUpdated: { $gte: end } }] };
    case 'lt':
    case 'eb':
      return { lastUpdated: { $lt: start } };
    case 'gt':
    case 'sa':
      return { lastUpdated: { $gte: end } };
    case 'le':
      return { lastUpdated: { $lt: end } };
    case 'ge':
      return { lastUpdated: { $gte: start } };
  }
}

function tokenValueCondition(value: { system?: string | null; value: string }): Document {
  if (value.system === undefined) {
    return { v: value.value };
  }
  return { s: value.system ?? '', v: value.value };
}

/** The $elemMatch body for a token filter's values (OR of values), or undefined for no values. */
function tokenElemMatch(
  code: string,
  values: readonly { system?: string | null; value: string }[],
): Document | undefined {
  if (values.length === 0) {
    return undefined;
  }
  if (values.length === 1 && values[0]) {
    return { c: code, ...tokenValueCondition(values[0]) };
  }
  if (values.every((v) => v.system === undefined)) {
    return { c: code, v: { $in: values.map((v) => v.value) } };
  }
  return { c: code, $or: values.map(tokenValueCondition) };
}

/**
 * One filter as a MongoDB condition, or `undefined` when it is always true (e.g. a `not` token
 * filter with no values).
 * @param normalize - `normalizeString` from search-index.ts, applied to string search values.
 */
export function filterCondition(
  filter: StoreFilter,
  normalize: (value: string) => string,
): Document | undefined {
  switch (filter.kind) {
    case 'token': {
      if (filter.code === '_id') {
        const ids = filter.values.map((v) => v.value);
        if (filter.not) {
          return ids.length === 0 ? undefined : { id: { $nin: ids } };
        }
        return ids.length === 1 ? { id: ids[0] } : { id: { $in: ids } };
      }
      const match = tokenElemMatch(filter.code, filter.values);
      if (filter.not) {
        return match ? { tok: { $not: { $elemMatch: match } } } : undefined;
      }
      return match ? { tok: { $elemMatch: match } } : MATCH_NOTHING;
    }
    case 'reference': {
      if (filter.values.length === 0) {
        return MATCH_NOTHING;
      }
      const v = filter.values.length === 1 ? filter.values[0] : { $in: [...filter.values] };
      return { ref: { $elemMatch: { c: filter.code, v } } };
    }
    case 'date': {
      const start = canonicalInstant(filter.start, `${filter.code} start`);
      const end = canonicalInstant(filter.end, `${filter.code} end`);
      if (filter.code === '_lastUpdated') {
        return lastUpdatedCondition(filter.prefix, start, end);
      }
      return { date: { $elemMatch: { c: filter.code, ...dateEntryCondition(filter.prefix, start, end) } } };
    }
    case 'string': {
      const values = filter.values.map(normalize);
      if (values.length === 0) {
        return MATCH_NOTHING;
      }
      if (filter.exact) {
        const v = values.length === 1 ? values[0] : { $in: values };
        return { str: { $elemMatch: { c: filter.code, v } } };
      }
      // An anchored, case-sensitive regular expression is answered from the index bounds.
      const prefixes = values.map((value) => ({ v: { $regex: `^${escapeRegex(value)}` } }));
      const match =
        prefixes.length === 1 ? { c: filter.code, ...prefixes[0] } : { c: filter.code, $or: prefixes };
      return { str: { $elemMatch: match } };
    }
  }
}

/** The whole filter of a search in a tenant: tenant + type, then the AND of the query's filters. */
export function toMongoFilter(
  tenant: string,
  query: StoreQuery,
  normalize: (value: string) => string,
): Document {
  const filter: Document = { tenant, type: query.resourceType };
  const conditions: Document[] = [];
  for (const f of indexedFilters(query.resourceType, query.filters)) {
    const condition = filterCondition(f, normalize);
    if (condition) {
      conditions.push(condition);
    }
  }
  if (query.afterId !== undefined) {
    conditions.push({ id: { $gt: query.afterId } });
  }
  if (conditions.length > 0) {
    filter['$and'] = conditions;
  }
  return filter;
}

function sortField(resourceType: string, sort: StoreSort): string {
  if (sort.code === '_id') {
    return 'id';
  }
  if (sort.code === '_lastUpdated') {
    return 'lastUpdated';
  }
  assertSafeCode(sort.code);
  return `sort.${indexedSortCode(resourceType, sort.code)}`;
}

/**
 * The sort document: each requested key, then `id` ascending as the tie-breaker (unless `_id`
 * was already sorted on). MongoDB orders a missing key first ascending and last descending,
 * as the port requires.
 */
export function toMongoSort(resourceType: string, sort: readonly StoreSort[]): Record<string, 1 | -1> {
  const result: Record<string, 1 | -1> = {};
  for (const s of sort) {
    const field = sortField(resourceType, s);
    if (!(field in result)) {
      result[field] = s.descending ? -1 : 1;
    }
  }
  if (!('id' in result)) {
    result['id'] = 1;
  }
  return result;
}

/** Validates paging: count 0..1000, offset >= 0 (integers). */
export function assertPaging(query: StoreQuery): void {
  if (!Number.isInteger(query.count) || query.count < 0 || query.count > 1000) {
    throw new OperationOutcomeError(badRequest(`Invalid count: ${query.count}`));
  }
  if (!Number.isInteger(query.offset) || query.offset < 0) {
    throw new OperationOutcomeError(badRequest(`Invalid offset: ${query.offset}`));
  }
}
