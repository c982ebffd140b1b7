/**
 * StoreQuery -> parameterized SQL. Values are only ever bound as parameters; the SQL text depends
 * only on the query's shape (filter kinds, prefixes, number of values, sort codes), so prepared
 * statements are reused across searches of the same shape.
 *
 * Plan shape. Every filter on a search parameter is a condition on one index table. The most
 * selective one (by kind: reference, token, exact string, string prefix, date) *drives* the search
 * as `r.pk IN (SELECT res FROM idx_* WHERE tenant = ? AND type = ? AND code = ? AND ...)`, which
 * SQLite answers from the index table's primary key and then fetches resources by rowid. All other
 * filters are correlated `EXISTS (SELECT 1 FROM idx_* x WHERE x.res = r.pk AND x.code = ? ...)`
 * checks on those few candidates (negated tokens: `NOT EXISTS`). When a driver exists the
 * (tenant, type) index of `resources` is hidden from the planner with unary `+`, because without
 * ANALYZE statistics SQLite would otherwise walk every resource of the type. `_id` filters use the
 * (tenant, type, id) unique index directly and `_lastUpdated` the (tenant, type, last_updated) one.
 */
import { badRequest, OperationOutcomeError } from '@medplum/core';
import type { DatePrefix, StoreFilter, StoreQuery, StoreSort, TenantId } from '../port.ts';
import { normalizeString } from '../search-index.ts';
import type { SqlParam } from './db.ts';
import { prefixUpperBound, requireInstant } from './values.ts';

export interface CompiledSearch {
  /** SELECT r.json ... ORDER BY ... LIMIT ? OFFSET ? */
  readonly selectSql: string;
  readonly selectParams: SqlParam[];
  /** SELECT count(*) AS n ... */
  readonly countSql: string;
  readonly countParams: SqlParam[];
}

interface Clause {
  readonly sql: string;
  readonly params: SqlParam[];
}

/** A filter on an index table: `table`, and the condition on its columns besides tenant/type/code. */
interface IndexCondition {
  readonly table: 'idx_token' | 'idx_reference' | 'idx_date' | 'idx_string';
  readonly code: string;
  readonly sql: string;
  readonly params: SqlParam[];
  readonly negated: boolean;
  /** Lower is more selective; undefined: never drives (negations, `ne`). */
  readonly rank: number | undefined;
}

type Compiled =
  { readonly kind: 'column'; readonly clause: Clause; readonly byId: boolean } | IndexConditionBox;
interface IndexConditionBox {
  readonly kind: 'index';
  readonly condition: IndexCondition;
}

export function compileSearch(tenant: TenantId, query: StoreQuery): CompiledSearch {
  if (!Number.isInteger(query.count) || query.count < 0 || query.count > 1000) {
    throw new OperationOutcomeError(badRequest(`Invalid count: ${String(query.count)}`));
  }
  if (!Number.isInteger(query.offset) || query.offset < 0) {
    throw new OperationOutcomeError(badRequest(`Invalid offset: ${String(query.offset)}`));
  }
  const compiled = query.filters.map(compileFilter);
  const hasIdFilter = compiled.some((c) => c.kind === 'column' && c.byId);
  let driver: IndexCondition | undefined;
  // Keyset paging in id order walks the (tenant, type, id) index from afterId and stops at the
  // page; driving from a search index would rebuild the whole match set for every page.
  const keyset = query.afterId !== undefined && query.sort[0]?.code === '_id' && !query.sort[0].descending;
  if (!hasIdFilter && !keyset) {
    for (const c of compiled) {
      if (c.kind === 'index' && c.condition.rank !== undefined) {
        if (driver?.rank === undefined || c.condition.rank < driver.rank) {
          driver = c.condition;
        }
      }
    }
  }

  const where: Clause[] = [
    {
      sql: driver ? '+r.tenant = ? AND +r.type = ?' : 'r.tenant = ? AND r.type = ?',
      params: [tenant, query.resourceType],
    },
  ];
  if (query.afterId !== undefined) {
    where.push({ sql: 'r.id > ?', params: [query.afterId] });
  }
  for (const c of compiled) {
    if (c.kind === 'column') {
      where.push(c.clause);
    } else if (c.condition === driver) {
      where.push({
        sql: `r.pk IN (SELECT res FROM ${c.condition.table} WHERE tenant = ? AND type = ? AND code = ? AND ${c.condition.sql})`,
        params: [tenant, query.resourceType, c.condition.code, ...c.condition.params],
      });
    } else {
      where.push({
        sql:
          `${c.condition.negated ? 'NOT EXISTS' : 'EXISTS'} (SELECT 1 FROM ${c.condition.table} ` +
          `WHERE res = r.pk AND code = ? AND ${c.condition.sql})`,
        params: [c.condition.code, ...c.condition.params],
      });
    }
  }
  const whereSql = where.map((c) => `(${c.sql})`).join(' AND ');
  const whereParams = where.flatMap((c) => c.params);

  const joins: Clause[] = [];
  const orderBy: string[] = [];
  query.sort.forEach((sort: StoreSort, i) => {
    const dir = sort.descending ? 'DESC' : 'ASC';
    if (sort.code === '_id') {
      orderBy.push(`r.id ${dir}`);
    } else if (sort.code === '_lastUpdated') {
      orderBy.push(`r.last_updated ${dir}`);
    } else {
      // SQLite orders NULL first ascending and last descending, as the port requires.
      joins.push({
        sql: `LEFT JOIN sort_keys s${i} ON s${i}.res = r.pk AND s${i}.code = ?`,
        params: [sort.code],
      });
      orderBy.push(`s${i}.key ${dir}`);
    }
  });
  orderBy.push('r.id ASC');

  const selectSql =
    `SELECT r.json AS json FROM resources r ${joins.map((j) => j.sql).join(' ')} ` +
    `WHERE ${whereSql} ORDER BY ${orderBy.join(', ')} LIMIT ? OFFSET ?`;
  const selectParams = [...joins.flatMap((j) => j.params), ...whereParams, query.count, query.offset];
  const countSql = `SELECT count(*) AS n FROM resources r WHERE ${whereSql}`;
  return { selectSql, selectParams, countSql, countParams: whereParams };
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

const NEVER: Clause = { sql: '0', params: [] };
const ALWAYS: Clause = { sql: '1', params: [] };

function column(clause: Clause, byId = false): Compiled {
  return { kind: 'column', clause, byId };
}

function index(condition: IndexCondition): Compiled {
  return { kind: 'index', condition };
}

function compileFilter(filter: StoreFilter): Compiled {
  switch (filter.kind) {
    case 'token':
      return compileToken(filter);
    case 'reference':
      if (filter.values.length === 0) {
        return column(NEVER);
      }
      return index({
        table: 'idx_reference',
        code: filter.code,
        sql: `value IN (${placeholders(filter.values.length)})`,
        params: [...filter.values],
        negated: false,
        rank: 0,
      });
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
  return index({
    table: 'idx_token',
    code: filter.code,
    sql: `(${alternatives.join(' OR ')})`,
    params,
    negated: not,
    rank: not ? undefined : 1,
  });
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
  const cond = dateCondition(filter.prefix, 'start_at', 'end_at');
  return index({
    table: 'idx_date',
    code: filter.code,
    sql: cond.sql,
    params: cond.uses.map((u) => bounds[u]),
    negated: false,
    rank: filter.prefix === 'ne' ? undefined : 4,
  });
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
  return index({
    table: 'idx_string',
    code: filter.code,
    sql: `(${alternatives.join(' OR ')})`,
    params,
    negated: false,
    rank: filter.exact === true ? 2 : 3,
  });
}
