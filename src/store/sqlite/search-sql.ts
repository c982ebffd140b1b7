/**
 * StoreQuery -> parameterized SQL. Values are only ever bound as parameters; the SQL text depends
 * only on the query's shape (filter kinds, prefixes, number of values, sort codes) and its page
 * size, so prepared statements are reused across searches of the same shape. Counts are written
 * into the SQL (./limit.ts: a bound LIMIT is prepared again on every run); offsets are bound.
 *
 * Plan shape. Every filter on a search parameter is a condition on one index table. The most
 * selective one (by kind: reference, token, exact string, string prefix, date) *drives* the search
 * as `r.pk IN (SELECT res FROM idx_* WHERE tenant = ? AND type = ? AND code = ? AND ...)`, which
 * SQLite answers from the index table's primary key and then fetches resources by rowid. All other
 * filters are correlated `EXISTS (SELECT 1 FROM idx_* x WHERE x.res = r.pk AND x.code = ? ...)`
 * (the candidate's rows through the per-resource tree; see whereOf)
 * checks on those few candidates (negated tokens: `NOT EXISTS`). When a driver exists the
 * (tenant, type) index of `resources` is hidden from the planner with unary `+`, because without
 * ANALYZE statistics SQLite would otherwise walk every resource of the type. `_id` filters use the
 * (tenant, type, id) unique index directly and `_lastUpdated` the (tenant, type, last_updated) one.
 */
import { badRequest, OperationOutcomeError } from '@medplum/core';
import type { StoreQuery, StoreSort, TenantId } from '../port.ts';
import { isAppendOnlyType } from '../append-only.ts';
import { indexedFilters, indexedSortCode } from '../search-index.ts';
import type { SqlParam } from './db.ts';
import { limitSql } from './limit.ts';
import { MUTABLE_TYPES_SQL } from './schema.ts';
import { compileFilters } from './search-filters.ts';
import type { Clause, Compiled, IndexCondition } from './search-filters.ts';
import { sortsByTokenRows } from './token-sort.ts';

export interface CompiledSearch {
  /** SELECT r.json ... ORDER BY ... LIMIT <count> OFFSET ? */
  readonly selectSql: string;
  readonly selectParams: SqlParam[];
  /** SELECT count(*) AS n ... */
  readonly countSql: string;
  readonly countParams: SqlParam[];
  /** Another plan for the page when the driver matches many resources (see IdWalk). */
  readonly walk?: IdWalk;
  /** Another plan for a keyset page when the driver matches few resources (see KeysetDriver). */
  readonly keysetDriver?: KeysetDriver;
}

export function compileSearch(tenant: TenantId, query: StoreQuery): CompiledSearch {
  if (!Number.isInteger(query.count) || query.count < 0 || query.count > 1000) {
    throw new OperationOutcomeError(badRequest(`Invalid count: ${String(query.count)}`));
  }
  if (!Number.isInteger(query.offset) || query.offset < 0) {
    throw new OperationOutcomeError(badRequest(`Invalid offset: ${String(query.offset)}`));
  }
  const compiled = compileFilters(indexedFilters(query.resourceType, query.filters));
  const hasIdFilter = compiled.some((c) => c.kind === 'column' && c.byId);
  let best: IndexCondition | undefined;
  if (!hasIdFilter) {
    for (const c of compiled) {
      if (c.kind === 'index' && c.condition.rank !== undefined) {
        if (best?.rank === undefined || c.condition.rank < best.rank) {
          best = c.condition;
        }
      }
    }
  }
  // Keyset paging in id order walks the (tenant, type, id) index from afterId and stops at the
  // page; driving from a search index would sort the rest of the match set for every page, which
  // is cheaper only when that set is small (keysetDriver).
  const keyset = query.afterId !== undefined && query.sort[0]?.code === '_id' && !query.sort[0].descending;
  const driver = keyset ? undefined : best;

  const { whereSql, whereParams } = whereOf(tenant, query, compiled, driver);
  const joins: Clause[] = [];
  const orderBy: string[] = [];
  /** Parameters of the ORDER BY terms, which follow the WHERE clause's. */
  const orderParams: SqlParam[] = [];
  query.sort.forEach((sort: StoreSort, i) => {
    const dir = sort.descending ? 'DESC' : 'ASC';
    if (sort.code === '_id') {
      orderBy.push(`r.id ${dir}`);
    } else if (sort.code === '_lastUpdated') {
      orderBy.push(`r.last_updated ${dir}`);
    } else if (sortsByTokenRows(query.resourceType, indexedSortCode(query.resourceType, sort.code))) {
      // The smallest of the resource's values, through idx_token_res: its partial index's
      // predicate word for word (./schema.ts), so SQLite uses it (./token-sort.ts).
      orderBy.push(
        `(SELECT min(value) FROM idx_token WHERE res = r.pk AND code = ? AND ${MUTABLE_TYPES_SQL}) ${dir}`,
      );
      orderParams.push(indexedSortCode(query.resourceType, sort.code));
    } else {
      // SQLite orders NULL first ascending and last descending, as the port requires.
      joins.push({
        sql: `LEFT JOIN sort_keys s${i} ON s${i}.res = r.pk AND s${i}.code = ?`,
        params: [indexedSortCode(query.resourceType, sort.code)],
      });
      orderBy.push(`s${i}.key ${dir}`);
    }
  });
  orderBy.push('r.id ASC');

  const selectSql =
    `SELECT r.json AS json FROM resources r ${joins.map((j) => j.sql).join(' ')} ` +
    `WHERE ${whereSql} ORDER BY ${orderBy.join(', ')} ${limitSql(query.count)} OFFSET ?`;
  const selectParams = [...joins.flatMap((j) => j.params), ...whereParams, ...orderParams, query.offset];
  const countSql = `SELECT count(*) AS n FROM resources r WHERE ${whereSql}`;
  const idOrder = query.sort.length === 0 || (query.sort.length === 1 && orderBy[0] === 'r.id ASC');
  let keysetDriver: KeysetDriver | undefined;
  if (keyset && best && query.count > 0) {
    const sub = best.driver(tenant, query.resourceType);
    const driven = whereOf(tenant, query, compiled, best);
    const limit = WALK_READS_PER_RESULT * (query.offset + query.count);
    keysetDriver = {
      probeSql: `SELECT count(*) AS n FROM (${sub.sql} ${limitSql(limit)})`,
      probeParams: sub.params,
      limit,
      selectSql:
        `SELECT r.json AS json FROM resources r ${joins.map((j) => j.sql).join(' ')} ` +
        `WHERE ${driven.whereSql} ORDER BY ${orderBy.join(', ')} ${limitSql(query.count)} OFFSET ?`,
      selectParams: [...joins.flatMap((j) => j.params), ...driven.whereParams, ...orderParams, query.offset],
    };
  }
  return {
    selectSql,
    selectParams,
    countSql,
    countParams: whereParams,
    ...(driver && idOrder && query.count > 0 && query.afterId === undefined
      ? { walk: idWalk(tenant, query, compiled, driver) }
      : {}),
    ...(keysetDriver ? { keysetDriver } : {}),
  };
}

/**
 * A keyset page by the search index instead of the id walk: when the whole match set is smaller
 * than the walk would read (WALK_READS_PER_RESULT per result), sorting the matches after afterId
 * costs less than checking every id the walk passes (`claim-state=held`, 5% of the claims: the
 * walk reads 20 claims per result).
 */
export interface KeysetDriver {
  /** Counts the driver's matches up to `limit`. */
  readonly probeSql: string;
  readonly probeParams: SqlParam[];
  readonly limit: number;
  readonly selectSql: string;
  readonly selectParams: SqlParam[];
}

/**
 * The WHERE clause: tenant and type, keyset, column conditions, and the index conditions. With a
 * driver: `r.pk IN (SELECT d.res FROM (driver) AS d WHERE …)`, every other index condition a
 * correlated (NOT) EXISTS on the driver's `d.res`, so a candidate that fails one is dropped from
 * the index rows alone, before its resource row is read (the patient's same-day encounters: the
 * patient's every encounter a candidate, two in it on the day; 60 → 34 µs with 61 candidates).
 * Without one, each is a (NOT) EXISTS on `r.pk`.
 */
function whereOf(
  tenant: TenantId,
  query: StoreQuery,
  compiled: readonly Compiled[],
  driver: IndexCondition | undefined,
): { whereSql: string; whereParams: SqlParam[] } {
  const where: Clause[] = [
    {
      sql: driver ? '+r.tenant = ? AND +r.type = ?' : 'r.tenant = ? AND r.type = ?',
      params: [tenant, query.resourceType],
    },
  ];
  if (query.afterId !== undefined) {
    where.push({ sql: 'r.id > ?', params: [query.afterId] });
  }
  const candidate = driver ? 'd.res' : 'r.pk';
  const checks: Clause[] = [];
  for (const c of compiled) {
    if (c.kind === 'column') {
      where.push(c.clause);
    } else if (c.condition !== driver) {
      // The candidate's own rows: through the per-resource tree (res, code), which leaves out the
      // append-only types (schema.ts, migration 4) — so the check repeats its predicate word for
      // word to be allowed to use it — or, for an append-only type, by the primary key's prefix.
      const own = isAppendOnlyType(query.resourceType)
        ? { sql: `tenant = ? AND type = ? AND res = ${candidate}`, params: [tenant, query.resourceType] }
        : { sql: `res = ${candidate} AND ${MUTABLE_TYPES_SQL}`, params: [] };
      // A date parameter's filters hold on its one entry (dateGroup): one look-up of that entry
      // checks them all (`date=sa…&date=lt…`, a day's window: half the look-ups per candidate).
      const rows =
        c.condition.table === 'idx_date' && c.condition.rows.length > 1
          ? [
              {
                sql: c.condition.rows.map((row) => row.sql).join(' AND '),
                params: c.condition.rows.flatMap((row) => row.params),
                negated: false,
              },
            ]
          : c.condition.rows;
      for (const row of rows) {
        checks.push({
          sql:
            `${row.negated ? 'NOT EXISTS' : 'EXISTS'} (SELECT 1 FROM ${c.condition.table} ` +
            `WHERE ${own.sql} AND code = ? AND ${row.sql})`,
          params: [...own.params, c.condition.code, ...row.params],
        });
      }
    }
  }
  if (driver) {
    const sub = driver.driver(tenant, query.resourceType);
    where.push(
      checks.length === 0
        ? { sql: `r.pk IN (${sub.sql})`, params: sub.params }
        : {
            sql: `r.pk IN (SELECT d.res FROM (${sub.sql}) AS d WHERE ${checks.map((c) => c.sql).join(' AND ')})`,
            params: [...sub.params, ...checks.flatMap((c) => c.params)],
          },
    );
  } else {
    where.push(...checks);
  }
  return {
    whereSql: where.map((c) => `(${c.sql})`).join(' AND '),
    whereParams: where.flatMap((c) => c.params),
  };
}

/** A driver matching at least this many resources is a large set (see IdWalk). */
export const LARGE_MATCH_SET = 2000;
/** Resources an id walk may read per result it has to find (at least 1 in 20 must match). */
const WALK_READS_PER_RESULT = 20;
const WALK_MIN_READS = 2000;

/**
 * The other plan for a page in id order (the default order) whose driver matches many resources:
 * with the driver, SQLite fetches and sorts every match to return the first page (22,500 claims for
 * `claim-state=built,held,ready` at 1,000,000 resources); walking the (tenant, type, id) index
 * and checking each resource's index rows stops after the page. The walk is slow when few
 * resources match, so it is bounded: `probeSql` counts the driver's matches up to
 * LARGE_MATCH_SET (below it the driver plan is cheap); `boundSql` finds the id `reads` resources
 * into the walk; `selectSql` walks up to it. A full page from the walk is the answer; otherwise
 * (fewer matches than that density) the driver plan runs.
 */
export interface IdWalk {
  readonly probeSql: string;
  readonly probeParams: SqlParam[];
  readonly boundSql: string;
  readonly boundParams: SqlParam[];
  /** The walk up to and including the bound id (a parameter appended last before LIMIT/OFFSET). */
  readonly selectSql: string;
  /** The walk to the end of the type (when the bound query finds no row: fewer resources than reads). */
  readonly selectAllSql: string;
  /** Parameters of selectAllSql; selectSql takes the bound id after the WHERE parameters. */
  readonly whereParams: SqlParam[];
  readonly pageParams: SqlParam[];
}

function idWalk(
  tenant: TenantId,
  query: StoreQuery,
  compiled: readonly Compiled[],
  driver: IndexCondition,
): IdWalk {
  const sub = driver.driver(tenant, query.resourceType);
  const reads = Math.max(WALK_MIN_READS, WALK_READS_PER_RESULT * (query.offset + query.count));
  const { whereSql, whereParams } = whereOf(tenant, query, compiled, undefined);
  const select = (bounded: boolean): string =>
    `SELECT r.json AS json FROM resources r WHERE ${whereSql}${bounded ? ' AND r.id <= ?' : ''} ` +
    `ORDER BY r.id ASC ${limitSql(query.count)} OFFSET ?`;
  return {
    probeSql: `SELECT count(*) AS n FROM (${sub.sql} ${limitSql(LARGE_MATCH_SET)})`,
    probeParams: sub.params,
    boundSql: 'SELECT id FROM resources WHERE tenant = ? AND type = ? ORDER BY id ASC LIMIT 1 OFFSET ?',
    boundParams: [tenant, query.resourceType, reads - 1],
    selectSql: select(true),
    selectAllSql: select(false),
    whereParams,
    pageParams: [query.offset],
  };
}
