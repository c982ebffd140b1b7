/**
 * StoreFilter -> conditions on the index tables (./search-sql.ts plans the query from them): one
 * condition per filter, a search parameter's date filters merged into one bounded range
 * (dateGroup), each with the SQL that checks it on a candidate's rows and the subquery that drives
 * the search from it, and a rank (lower: more selective by kind). Values are only ever bound as
 * parameters; the SQL text depends on the filters' shape alone.
 */
import type { DatePrefix, StoreFilter, TenantId } from '../port.ts';
import { normalizeString } from '../search-index.ts';
import type { SqlParam } from './db.ts';
import { earliestStartEndingAfter, SPAN_CLASSES } from './date-spans.ts';
import { prefixUpperBound, requireInstant } from './values.ts';

export interface Clause {
  readonly sql: string;
  readonly params: SqlParam[];
}

/** A condition on one row of an index table, besides res and code. */
export interface RowCondition {
  readonly sql: string;
  readonly params: SqlParam[];
  readonly negated: boolean;
}

/**
 * Filters on one index table and code: each of `rows` must hold on some index row of the resource
 * (EXISTS each; `NOT EXISTS` when negated); `driver` is the same match set as one subquery
 * (SELECT res ...) when the condition drives the search.
 */
export interface IndexCondition {
  readonly table: 'idx_token' | 'idx_reference' | 'idx_date' | 'idx_string';
  readonly code: string;
  readonly rows: readonly RowCondition[];
  /** Lower is more selective; undefined: never drives (negations, `ne`). */
  readonly rank: number | undefined;
  readonly driver: (tenant: TenantId, resourceType: string) => Clause;
}

export type Compiled =
  { readonly kind: 'column'; readonly clause: Clause; readonly byId: boolean } | IndexConditionBox;
export interface IndexConditionBox {
  readonly kind: 'index';
  readonly condition: IndexCondition;
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

const NEVER: Clause = { sql: '0', params: [] };
const ALWAYS: Clause = { sql: '1', params: [] };

function column(clause: Clause, byId = false): Compiled {
  return { kind: 'column', clause, byId };
}

/** An index condition on one row: drives as `SELECT res FROM table WHERE tenant, type, code AND sql`. */
function index(
  table: IndexCondition['table'],
  code: string,
  row: RowCondition,
  rank: number | undefined,
): Compiled {
  return {
    kind: 'index',
    condition: {
      table,
      code,
      rows: [row],
      rank,
      driver: (tenant, resourceType) => ({
        sql: `SELECT res FROM ${table} WHERE tenant = ? AND type = ? AND code = ? AND ${row.sql}`,
        params: [tenant, resourceType, code, ...row.params],
      }),
    },
  };
}

/**
 * Every filter compiled; the date filters on one search parameter become one condition (a range
 * `date=ge…&date=lt…` drives as one bounded read, see dateGroup).
 */
export function compileFilters(filters: readonly StoreFilter[]): Compiled[] {
  const out: Compiled[] = [];
  const dates = new Map<string, Extract<StoreFilter, { kind: 'date' }>[]>();
  for (const filter of filters) {
    if (filter.kind === 'date' && filter.code !== '_lastUpdated' && filter.prefix !== 'ne') {
      const group = dates.get(filter.code);
      if (group) {
        group.push(filter);
      } else {
        dates.set(filter.code, [filter]);
      }
    } else {
      out.push(compileFilter(filter));
    }
  }
  for (const [code, group] of dates) {
    out.push(dateGroup(code, group));
  }
  return out;
}

function compileFilter(filter: StoreFilter): Compiled {
  switch (filter.kind) {
    case 'token':
      return compileToken(filter);
    case 'reference':
      if (filter.values.length === 0) {
        return column(NEVER);
      }
      return index(
        'idx_reference',
        filter.code,
        {
          sql: `value IN (${placeholders(filter.values.length)})`,
          params: [...filter.values],
          negated: false,
        },
        0,
      );
    case 'date':
      return compileDate(filter);
    case 'string':
      return compileString(filter);
  }
}

function compileToken(filter: Extract<StoreFilter, { kind: 'token' }>): Compiled {
  const not = filter.not === true;
  if (filter.values.length === 0) {
    return column(not ? ALWAYS : NEVER);
  }
  if (filter.code === '_id') {
    return column(
      {
        sql: `r.id ${not ? 'NOT IN' : 'IN'} (${placeholders(filter.values.length)})`,
        params: filter.values.map((v) => v.value),
      },
      !not,
    );
  }
  const alternatives: string[] = [];
  const params: SqlParam[] = [];
  for (const v of filter.values) {
    if (v.system === undefined) {
      alternatives.push('value = ?');
      params.push(v.value);
    } else {
      // '' is how the index stores "no system", so `system: null` ("|code") matches it.
      alternatives.push('(value = ? AND system = ?)');
      params.push(v.value, v.system ?? '');
    }
  }
  return index(
    'idx_token',
    filter.code,
    { sql: `(${alternatives.join(' OR ')})`, params, negated: not },
    not ? undefined : 1,
  );
}

/** Entry [es, ee) against value [vs, ve), per port.ts. */
function dateCondition(prefix: DatePrefix, es: string, ee: string): { sql: string; uses: ('vs' | 've')[] } {
  switch (prefix) {
    case 'eq':
      return { sql: `(${es} >= ? AND ${ee} <= ?)`, uses: ['vs', 've'] };
    case 'ne':
      return { sql: `NOT (${es} >= ? AND ${ee} <= ?)`, uses: ['vs', 've'] };
    case 'lt':
      return { sql: `${es} < ?`, uses: ['vs'] };
    case 'gt':
      return { sql: `${ee} > ?`, uses: ['ve'] };
    case 'le':
      return { sql: `${es} < ?`, uses: ['ve'] };
    case 'ge':
      return { sql: `${ee} > ?`, uses: ['vs'] };
    case 'sa':
      return { sql: `${es} >= ?`, uses: ['ve'] };
    case 'eb':
      return { sql: `${ee} <= ?`, uses: ['vs'] };
  }
}

/**
 * `_lastUpdated` is an instant with millisecond precision: its range is [lu, lu + 1 ms). With all
 * instants canonical at ms precision, `lu + 1ms > x` is `lu >= x` and `lu + 1ms <= x` is `lu < x`.
 */
function lastUpdatedCondition(prefix: DatePrefix): { sql: string; uses: ('vs' | 've')[] } {
  const lu = 'r.last_updated';
  switch (prefix) {
    case 'eq':
      return { sql: `(${lu} >= ? AND ${lu} < ?)`, uses: ['vs', 've'] };
    case 'ne':
      return { sql: `NOT (${lu} >= ? AND ${lu} < ?)`, uses: ['vs', 've'] };
    case 'lt':
    case 'eb':
      return { sql: `${lu} < ?`, uses: ['vs'] };
    case 'gt':
    case 'sa':
      return { sql: `${lu} >= ?`, uses: ['ve'] };
    case 'le':
      return { sql: `${lu} < ?`, uses: ['ve'] };
    case 'ge':
      return { sql: `${lu} >= ?`, uses: ['vs'] };
  }
}

function compileDate(filter: Extract<StoreFilter, { kind: 'date' }>): Compiled {
  const bounds = {
    vs: requireInstant(filter.start, `${filter.code} start`),
    ve: requireInstant(filter.end, `${filter.code} end`),
  };
  if (filter.code === '_lastUpdated') {
    const cond = lastUpdatedCondition(filter.prefix);
    return column({ sql: cond.sql, params: cond.uses.map((u) => bounds[u]) });
  }
  // `ne` (the others are grouped by compileFilters): never drives.
  const cond = dateCondition(filter.prefix, 'start_at', 'end_at');
  return index(
    'idx_date',
    filter.code,
    { sql: cond.sql, params: cond.uses.map((u) => bounds[u]), negated: false },
    undefined,
  );
}

/**
 * The date filters (not `ne`) on one search parameter. Each must hold on the resource's entry for
 * the parameter; Dripline's date parameters are all single-valued (R4 0..1 elements: see
 * search-parameters.ts), so "each on some entry" is "all on its one entry", and the driver reads
 * that entry once, per span class (./date-spans.ts), from the start bounds the filters imply:
 * `start_at >= x` (eq, sa) and `end_at > x` (ge, gt: start_at > x - the class's longest span) from
 * below, `start_at < x` (lt, le) and `end_at <= x` (eq, eb: start_at <= x) from above. The exact
 * conditions are then checked on the same row.
 */
function dateGroup(code: string, filters: readonly Extract<StoreFilter, { kind: 'date' }>[]): Compiled {
  const rows: RowCondition[] = [];
  let startFrom: string | undefined; // start_at >= startFrom
  let endAfter: string | undefined; // end_at > endAfter
  let startUpTo: string | undefined; // start_at <= startUpTo
  for (const filter of filters) {
    const bounds = {
      vs: requireInstant(filter.start, `${filter.code} start`),
      ve: requireInstant(filter.end, `${filter.code} end`),
    };
    const cond = dateCondition(filter.prefix, 'start_at', 'end_at');
    rows.push({ sql: cond.sql, params: cond.uses.map((u) => bounds[u]), negated: false });
    const atLeast = (a: string | undefined, b: string): string => (a === undefined || b > a ? b : a);
    const atMost = (a: string | undefined, b: string): string => (a === undefined || b < a ? b : a);
    switch (filter.prefix) {
      case 'eq':
        startFrom = atLeast(startFrom, bounds.vs);
        startUpTo = atMost(startUpTo, bounds.ve);
        break;
      case 'sa':
        startFrom = atLeast(startFrom, bounds.ve);
        break;
      case 'ge':
        endAfter = atLeast(endAfter, bounds.vs);
        break;
      case 'gt':
        endAfter = atLeast(endAfter, bounds.ve);
        break;
      case 'lt':
        startUpTo = atMost(startUpTo, bounds.vs);
        break;
      case 'le':
        startUpTo = atMost(startUpTo, bounds.ve);
        break;
      case 'eb':
        startUpTo = atMost(startUpTo, bounds.vs);
        break;
      case 'ne':
        break;
    }
  }
  const exact = rows.map((r) => r.sql).join(' AND ');
  const exactParams = rows.flatMap((r) => r.params);
  return {
    kind: 'index',
    condition: {
      table: 'idx_date',
      code,
      rows,
      rank: 4,
      driver: (tenant, resourceType) => {
        const branches: Clause[] = [];
        for (let c = 0; c < SPAN_CLASSES; c++) {
          const fromEnd = endAfter === undefined ? undefined : earliestStartEndingAfter(endAfter, c);
          const from =
            fromEnd === undefined
              ? startFrom
              : startFrom === undefined || fromEnd > startFrom
                ? fromEnd
                : startFrom;
          if (from !== undefined && startUpTo !== undefined && from > startUpTo) {
            continue; // no entry of this class can match
          }
          const range = [
            ...(from === undefined ? [] : [{ sql: 'start_at >= ?', param: from }]),
            ...(startUpTo === undefined ? [] : [{ sql: 'start_at <= ?', param: startUpTo }]),
          ];
          branches.push({
            sql:
              'SELECT res FROM idx_date WHERE tenant = ? AND type = ? AND code = ? AND span = ?' +
              `${range.map((b) => ` AND ${b.sql}`).join('')} AND ${exact}`,
            params: [tenant, resourceType, code, c, ...range.map((b) => b.param), ...exactParams],
          });
        }
        if (branches.length === 0) {
          return { sql: 'SELECT NULL AS res WHERE 0', params: [] };
        }
        return {
          sql: branches.map((b) => b.sql).join(' UNION ALL '),
          params: branches.flatMap((b) => b.params),
        };
      },
    },
  };
}

function compileString(filter: Extract<StoreFilter, { kind: 'string' }>): Compiled {
  if (filter.values.length === 0) {
    return column(NEVER);
  }
  const alternatives: string[] = [];
  const params: SqlParam[] = [];
  for (const raw of filter.values) {
    const value = normalizeString(raw);
    if (filter.exact === true) {
      alternatives.push('value = ?');
      params.push(value);
      continue;
    }
    const upper = prefixUpperBound(value);
    if (value === '') {
      alternatives.push('1');
    } else if (upper !== undefined) {
      // A range on the primary key instead of LIKE (case-insensitive and not indexable here).
      alternatives.push('(value >= ? AND value < ?)');
      params.push(value, upper);
    } else {
      alternatives.push('(value >= ? AND substr(value, 1, ?) = ?)');
      params.push(value, Array.from(value).length, value);
    }
  }
  return index(
    'idx_string',
    filter.code,
    { sql: `(${alternatives.join(' OR ')})`, params, negated: false },
    filter.exact === true ? 2 : 3,
  );
}
