/**
 * Turns a parsed FHIR search (@medplum/core SearchRequest) into the store's normalized StoreQuery,
 * rejecting with 400 whatever Dripline does not support — a strict server: a client that asks for
 * a filter we would silently ignore could bill from the wrong data.
 * See FHIR R4 search: https://hl7.org/fhir/R4/search.html
 */
import { badRequest, OperationOutcomeError, splitSearchOnComma } from '@medplum/core';
import type { Filter, IncludeTarget, SearchRequest } from '@medplum/core';
import type { DatePrefix, StoreFilter, StoreQuery, StoreSort } from '../store/port.ts';
import { dateRange, normalizeReference, normalizeString } from '../store/search-index.ts';
import { getSearchParameter } from '../store/search-parameters.ts';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 1000;
export const MAX_OFFSET = 100_000;

const DATE_PREFIXES: ReadonlySet<string> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'sa', 'eb']);
/** Operators @medplum/core derives from a two-letter value prefix when it does not know the parameter's type. */
const VALUE_PREFIX_OPERATORS: ReadonlySet<string> = new Set(['ne', 'lt', 'le', 'gt', 'ge', 'sa', 'eb', 'ap']);

export interface ParsedSearch {
  readonly query: StoreQuery;
  readonly include: readonly IncludeTarget[];
  readonly revInclude: readonly IncludeTarget[];
}

function invalid(message: string, expression?: string): OperationOutcomeError {
  return new OperationOutcomeError(badRequest(message, expression));
}

export function toStoreQuery(request: SearchRequest): ParsedSearch {
  const { resourceType } = request;
  if (request.fields || request.summary || request.cursor || request.types) {
    throw invalid('_elements, _summary, _cursor and _type are not supported by this server');
  }
  const filters = (request.filters ?? []).map((f) => toStoreFilter(resourceType, f));
  const sort = (request.sortRules ?? []).map((rule): StoreSort => {
    const definition = getSearchParameter(resourceType, rule.code);
    if (!definition || definition.kind === 'reference') {
      throw invalid(`Cannot sort ${resourceType} by "${rule.code}"`, '_sort');
    }
    return { code: rule.code, descending: rule.descending ?? false };
  });
  const count = request.count ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(count) || count < 0 || count > MAX_PAGE_SIZE) {
    throw invalid(`_count must be an integer from 0 to ${MAX_PAGE_SIZE}`, '_count');
  }
  const offset = request.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
    throw invalid(`_offset must be an integer from 0 to ${MAX_OFFSET}`, '_offset');
  }
  if (request.total !== undefined && !['none', 'estimate', 'accurate'].includes(request.total)) {
    throw invalid('_total must be none, estimate or accurate', '_total');
  }
  const include = (request.include ?? []).map((target) => checkInclude(target, resourceType, '_include'));
  const revInclude = (request.revInclude ?? []).map((target) =>
    checkInclude(target, undefined, '_revinclude'),
  );
  return {
    query: { resourceType, filters, sort, count, offset, total: request.total !== 'none' },
    include,
    revInclude,
  };
}

function checkInclude(target: IncludeTarget, sourceType: string | undefined, name: string): IncludeTarget {
  if (target.modifier) {
    throw invalid(`${name}:iterate is not supported`, name);
  }
  if (sourceType && target.resourceType !== sourceType) {
    throw invalid(`${name} must start with ${sourceType}`, name);
  }
  const definition = getSearchParameter(target.resourceType, target.searchParam);
  if (!definition || definition.kind !== 'reference') {
    throw invalid(
      `${name}=${target.resourceType}:${target.searchParam} is not a reference search parameter`,
      name,
    );
  }
  return target;
}

function toStoreFilter(resourceType: string, filter: Filter): StoreFilter {
  const definition = getSearchParameter(resourceType, filter.code);
  if (!definition) {
    throw invalid(`Unknown search parameter "${filter.code}" for ${resourceType}`, filter.code);
  }
  let operator: string = filter.operator;
  let value = filter.value;
  if (definition.kind !== 'date' && VALUE_PREFIX_OPERATORS.has(operator)) {
    // Not a date: the two letters were part of the value, not a comparison prefix.
    value = operator + value;
    operator = 'eq';
  }
  const values = splitSearchOnComma(value).filter((v) => v !== '');
  if (values.length === 0) {
    throw invalid(`Search parameter "${filter.code}" needs a value`, filter.code);
  }
  const unsupported = (): OperationOutcomeError =>
    invalid(`Modifier or prefix "${operator}" is not supported for "${filter.code}"`, filter.code);

  switch (definition.kind) {
    case 'token': {
      if (operator !== 'eq' && operator !== 'not') {
        throw unsupported();
      }
      return {
        code: definition.code,
        kind: 'token',
        values: values.map(parseToken),
        ...(operator === 'not' ? { not: true } : {}),
      };
    }
    case 'reference': {
      if (operator !== 'eq') {
        throw unsupported();
      }
      return {
        code: definition.code,
        kind: 'reference',
        values: values.map((v) => parseReference(v, definition.targets, filter.code)),
      };
    }
    case 'string': {
      if (operator !== 'eq' && operator !== 'exact') {
        throw unsupported();
      }
      return {
        code: definition.code,
        kind: 'string',
        values: values.map(normalizeString),
        ...(operator === 'exact' ? { exact: true } : {}),
      };
    }
    case 'date': {
      if (!DATE_PREFIXES.has(operator) || values.length !== 1) {
        throw values.length !== 1
          ? invalid(`Date parameter "${filter.code}" takes one value`, filter.code)
          : unsupported();
      }
      const range = dateRange(values[0] as string);
      if (!range) {
        throw invalid(`Invalid date "${values[0]}" for "${filter.code}"`, filter.code);
      }
      return { code: definition.code, kind: 'date', prefix: operator as DatePrefix, ...range };
    }
    default:
      definition.kind satisfies never;
      throw unsupported();
  }
}

function parseToken(value: string): { system?: string | null; value: string } {
  const bar = value.indexOf('|');
  if (bar < 0) {
    return { value };
  }
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  if (code === '') {
    throw invalid('Token search by system only ("system|") is not supported');
  }
  return { system: system === '' ? null : system, value: code };
}

function parseReference(value: string, targets: readonly string[] | undefined, code: string): string {
  if (!value.includes('/')) {
    if (targets?.length === 1) {
      return `${targets[0]}/${value}`;
    }
    throw invalid(`Reference parameter "${code}" needs Type/id`, code);
  }
  const normalized = normalizeReference(value);
  if (!normalized) {
    throw invalid(`Invalid reference "${value}" for "${code}"`, code);
  }
  return normalized;
}
