/**
 * ResourceStore over SQLite: current rows, append-only history, search index rows.
 *
 * The current version of a resource lives only in `resources`; `history` receives a version when
 * an update supersedes it (copied inside the update's transaction), so a create — most writes, and
 * every AuditEvent — writes its JSON once. Databases written before schema 4 also hold the current
 * version in `history`; readers take the current version from `resources` and skip that copy.
 *
 * Append-only types (../append-only.ts: AuditEvent, Provenance) are never updated, so their index
 * rows are never looked up by resource: the per-resource index trees leave them out (schema 4), and
 * an update of one that exists is refused.
 */
/* eslint-disable @typescript-eslint/require-await -- node:sqlite is synchronous: these async methods exist to
   satisfy the port and turn throws into rejections; no transaction ever spans an await. */
import { badRequest, conflict, notFound, OperationOutcomeError, preconditionFailed } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type {
  BatchOperation,
  BatchResult,
  CreateOptions,
  IndexedResource,
  ResourceStore,
  StoredJson,
  StoredResource,
  StoreQuery,
  StoreSearchResult,
  TenantId,
  UpdateOptions,
  VersionCheck,
  WriteMark,
  WriteResult,
  WrittenResource,
} from '../port.ts';
import { appendOnlyConflict, isAppendOnlyType } from '../append-only.ts';
import { INBOX_QUEUE } from '../port.ts';
import { indexResource, SEARCH_INDEX_VERSION } from '../search-index.ts';
import { pendAuditEventInTx } from './audit-pending.ts';
import type { Row, SqliteConnection } from './db.ts';
import { IndexRows, insertIndexRows } from './index-rows.ts';
import type { SqliteJobQueue } from './job-queue.ts';
import { limitSql } from './limit.ts';
import { INSERT_CURRENT, MUTABLE_TYPES_SQL } from './schema.ts';
import { compileSearch, LARGE_MATCH_SET } from './search-sql.ts';
import type { IdWalk, KeysetDriver } from './search-sql.ts';
import { assertValidId, assertValidResourceType, canonicalInstant } from './values.ts';
import { writeMarkOf, writtenSinceIn } from './written-since.ts';

export interface ResourceStoreDeps {
  readonly conn: SqliteConnection;
  readonly jobs: SqliteJobQueue;
  readonly now: () => Date;
  readonly generateId: () => string;
  /** The audit log (./audit-log.ts): where AuditEvents wait to be filed. */
  readonly auditLog?: AuditLogHooks;
}

/**
 * What the resource store asks of the audit log: to file the events waiting in the audit journal
 * and the pending table before any read or search of AuditEvents, whether a FHIR write's AuditEvent
 * (`CreateOptions.indexLater`) is kept pending now (./audit-pending.ts), and to be told after each
 * commit.
 */
export interface AuditLogHooks {
  /** Files every waiting event, so a read or search of AuditEvents sees all written before it. */
  settle(): void;
  /** Whether such events are kept pending now (the filing thread runs) rather than filed at once. */
  readonly pending: boolean;
  /**
   * After a commit that filed `filed` such events at once and kept `pended` pending. The writer
   * waits for what it returns: the thread's lag is bounded, so writes go at the rate it files.
   */
  written(filed: number, pended: number): Promise<void> | undefined;
}

interface CurrentRow {
  readonly pk: number;
  readonly version: number;
}

const VERSIONS =
  'WITH versions AS (' +
  'SELECT version, last_updated, json FROM resources WHERE tenant = ?1 AND type = ?2 AND id = ?3 ' +
  'UNION ALL ' +
  'SELECT version, last_updated, json FROM history WHERE tenant = ?1 AND type = ?2 AND id = ?3 AND version < ?4)';

const AUDIT_EVENT = 'AuditEvent';

const SQL = {
  current: 'SELECT pk, version FROM resources WHERE tenant = ? AND type = ? AND id = ?',
  read: 'SELECT json FROM resources WHERE tenant = ? AND type = ? AND id = ?',
  vread: 'SELECT json FROM history WHERE tenant = ? AND type = ? AND id = ? AND version = ?',
  currentWithJson:
    'SELECT version, last_updated, json FROM resources WHERE tenant = ? AND type = ? AND id = ?',
  insertCurrent: INSERT_CURRENT,
  updateCurrent: 'UPDATE resources SET version = ?, last_updated = ?, json = ? WHERE pk = ?',
  /** The superseded version into history; a database from before schema 4 may already hold it. */
  supersede:
    'INSERT OR IGNORE INTO history (tenant, type, id, version, last_updated, json) ' +
    'SELECT tenant, type, id, version, last_updated, json FROM resources WHERE pk = ?',
  // Conditional create: the identifier search parameter's token rows (schema.ts, migration 7).
  findByIdentifierWithSystem:
    'SELECT r.json AS json FROM idx_token i JOIN resources r ON r.pk = i.res ' +
    "WHERE i.tenant = ? AND i.type = ? AND i.code = 'identifier' AND i.value = ? AND i.system = ? " +
    'ORDER BY r.id LIMIT 1',
  findByIdentifierAnySystem:
    'SELECT r.json AS json FROM idx_token i JOIN resources r ON r.pk = i.res ' +
    "WHERE i.tenant = ? AND i.type = ? AND i.code = 'identifier' AND i.value = ? ORDER BY r.id LIMIT 1",
  // A mutable resource's index rows, found through the per-resource index trees; the predicate is
  // theirs, word for word, so SQLite can use those partial indexes (schema.ts, migration 4).
  deleteIndex: [
    `DELETE FROM idx_token WHERE res = ? AND ${MUTABLE_TYPES_SQL}`,
    `DELETE FROM idx_reference WHERE res = ? AND ${MUTABLE_TYPES_SQL}`,
    `DELETE FROM idx_date WHERE res = ? AND ${MUTABLE_TYPES_SQL}`,
    `DELETE FROM idx_string WHERE res = ? AND ${MUTABLE_TYPES_SQL}`,
    'DELETE FROM sort_keys WHERE res = ?',
  ],
  /** Every index row of the append-only types (re-derivation only: a full pass over the tables). */
  deleteAppendOnlyIndex: [
    `DELETE FROM idx_token WHERE NOT ${MUTABLE_TYPES_SQL}`,
    `DELETE FROM idx_reference WHERE NOT ${MUTABLE_TYPES_SQL}`,
    `DELETE FROM idx_date WHERE NOT ${MUTABLE_TYPES_SQL}`,
    `DELETE FROM idx_string WHERE NOT ${MUTABLE_TYPES_SQL}`,
    `DELETE FROM sort_keys WHERE res IN (SELECT pk FROM resources WHERE NOT ${MUTABLE_TYPES_SQL})`,
  ],
  // Every version of one resource, newest first: the current one from `resources`, the superseded
  // ones from history (below the current version: schema-3 files also hold the current one there).
  // Parameters: ?1 tenant, ?2 type, ?3 id, ?4 current version, ?5 _since; the page adds ?6 (offset).
  historyCount: `${VERSIONS} SELECT count(*) AS n FROM versions WHERE last_updated >= ?5`,
  historyPage: (count: number | 'all') =>
    `${VERSIONS} SELECT json FROM versions WHERE last_updated >= ?5 ORDER BY version DESC ${limitSql(count)} OFFSET ?6`,
} as const;

/** A FHIR write's own AuditEvent (`CreateOptions.indexLater`): filed with the write, or kept pending. */
function isWriteAudit<T extends { readonly resource: Resource; readonly options?: CreateOptions }>(
  operation: T,
): operation is T & { readonly options: CreateOptions } {
  return operation.options?.indexLater === true && operation.resource.resourceType === AUDIT_EVENT;
}

export class SqliteResourceStore implements ResourceStore {
  readonly #conn: SqliteConnection;
  readonly #jobs: SqliteJobQueue;
  readonly #now: () => Date;
  readonly #generateId: () => string;
  readonly #auditLog: AuditLogHooks | undefined;

  constructor(deps: ResourceStoreDeps) {
    this.#conn = deps.conn;
    this.#jobs = deps.jobs;
    this.#now = deps.now;
    this.#generateId = deps.generateId;
    this.#auditLog = deps.auditLog;
  }

  /** Before reading `type`: the AuditEvents waiting so far are filed (AuditLogHooks). */
  #settle(type: string): void {
    if (type === AUDIT_EVENT) {
      this.#auditLog?.settle();
    }
  }

  async create(tenant: TenantId, resource: Resource, options?: CreateOptions): Promise<WriteResult> {
    const indexed = indexResource(resource); // before the lock: see `writeBatch`
    return this.#conn.transaction(() => this.createInTx(tenant, resource, options, undefined, indexed));
  }

  async read(tenant: TenantId, resourceType: string, id: string): Promise<StoredResource> {
    this.#settle(resourceType);
    const row = this.#conn.get(SQL.read, tenant, resourceType, id);
    if (!row) {
      throw new OperationOutcomeError(notFound);
    }
    return parse(row['json']);
  }

  async readJson(tenant: TenantId, resourceType: string, id: string): Promise<StoredJson> {
    this.#settle(resourceType);
    const row = this.#conn.get(SQL.currentWithJson, tenant, resourceType, id);
    if (!row) {
      throw new OperationOutcomeError(notFound);
    }
    return {
      json: String(row['json']),
      versionId: String(row['version']),
      lastUpdated: String(row['last_updated']),
    };
  }

  async vread(
    tenant: TenantId,
    resourceType: string,
    id: string,
    versionId: string,
  ): Promise<StoredResource> {
    this.#settle(resourceType);
    const version = /^[1-9][0-9]{0,15}$/.test(versionId) ? Number(versionId) : undefined;
    if (version === undefined) {
      throw new OperationOutcomeError(notFound);
    }
    // One snapshot: an update between the two reads would move this version into history.
    const json = this.#conn.transaction(() => {
      const current = this.#conn.get(SQL.currentWithJson, tenant, resourceType, id);
      if (current && Number(current['version']) === version) {
        return current['json'];
      }
      return this.#conn.get(SQL.vread, tenant, resourceType, id, version)?.['json'];
    }, 'DEFERRED');
    if (json === undefined) {
      throw new OperationOutcomeError(notFound);
    }
    return parse(json);
  }

  async update(
    tenant: TenantId,
    resource: Resource & { id: string },
    options?: UpdateOptions,
  ): Promise<WriteResult> {
    const indexed = indexResource(resource); // before the lock: see `writeBatch`
    return this.#conn.transaction(() => this.updateInTx(tenant, resource, options, indexed));
  }

  async history(
    tenant: TenantId,
    resourceType: string,
    id: string,
    options?: { count?: number; offset?: number; since?: string },
  ): Promise<{ resources: StoredResource[]; total: number }> {
    this.#settle(resourceType);
    const since = options?.since === undefined ? '' : canonicalInstant(options.since);
    if (since === undefined) {
      throw new OperationOutcomeError(badRequest(`Invalid _since: ${String(options?.since)}`));
    }
    const count = options?.count ?? 'all';
    const offset = options?.offset ?? 0;
    if (
      (count !== 'all' && (!Number.isSafeInteger(count) || count < 0)) ||
      !Number.isSafeInteger(offset) ||
      offset < 0
    ) {
      throw new OperationOutcomeError(badRequest('Invalid history paging'));
    }
    return this.#conn.transaction(() => {
      const current = this.#conn.get(SQL.current, tenant, resourceType, id) as CurrentRow | undefined;
      if (!current) {
        throw new OperationOutcomeError(notFound);
      }
      const key = [tenant, resourceType, id, current.version, since] as const;
      const total = Number(this.#conn.get(SQL.historyCount, ...key)?.['n'] ?? 0);
      const rows = this.#conn.all(SQL.historyPage(count), ...key, offset);
      return { resources: rows.map((r) => parse(r['json'])), total };
    }, 'DEFERRED');
  }

  async search(tenant: TenantId, query: StoreQuery): Promise<StoreSearchResult> {
    this.#settle(query.resourceType);
    const compiled = compileSearch(tenant, query);
    const run = (): StoreSearchResult => {
      const rows =
        query.count === 0
          ? []
          : (this.#walkPage(compiled.walk, query.count) ??
            this.#keysetDriverPage(compiled.keysetDriver) ??
            this.#conn.all(compiled.selectSql, ...compiled.selectParams));
      const resources = rows.map((r) => parse(r['json']));
      if (!query.total) {
        return { resources };
      }
      const total = Number(this.#conn.get(compiled.countSql, ...compiled.countParams)?.['n'] ?? 0);
      return { resources, total };
    };
    // Page and total (or the probes and the page) from one snapshot.
    return (query.total || compiled.walk || compiled.keysetDriver) && query.count > 0
      ? this.#conn.transaction(run, 'DEFERRED')
      : run();
  }

  async writeMark(_tenant: TenantId): Promise<WriteMark | undefined> {
    return writeMarkOf(this.#conn);
  }

  async writtenSince(
    tenant: TenantId,
    mark: WriteMark,
    options: { readonly exceptTypes: readonly string[]; readonly limit: number },
  ): Promise<WrittenResource[] | undefined> {
    return writtenSinceIn(this.#conn, tenant, mark, options);
  }

  /** A keyset page from the search index when its match set is small (see KeysetDriver). */
  #keysetDriverPage(plan: KeysetDriver | undefined): Row[] | undefined {
    if (!plan || Number(this.#conn.get(plan.probeSql, ...plan.probeParams)?.['n'] ?? 0) >= plan.limit) {
      return undefined;
    }
    return this.#conn.all(plan.selectSql, ...plan.selectParams);
  }

  /** The page by an id walk when the driver matches many resources and the walk fills it (see IdWalk). */
  #walkPage(walk: IdWalk | undefined, count: number): Row[] | undefined {
    if (!walk) {
      return undefined;
    }
    const conn = this.#conn;
    if (Number(conn.get(walk.probeSql, ...walk.probeParams)?.['n'] ?? 0) < LARGE_MATCH_SET) {
      return undefined;
    }
    const bound = conn.get(walk.boundSql, ...walk.boundParams)?.['id'];
    if (typeof bound !== 'string') {
      return conn.all(walk.selectAllSql, ...walk.whereParams, ...walk.pageParams);
    }
    const rows = conn.all(walk.selectSql, ...walk.whereParams, bound, ...walk.pageParams);
    return rows.length === count ? rows : undefined;
  }

  async writeBatch(tenant: TenantId, operations: readonly BatchOperation[]): Promise<BatchResult[]> {
    const inbox = operations.flatMap((operation) =>
      operation.op === 'enqueue' && this.#jobs.inInbox(operation.job.queue) ? [operation.job] : [],
    );
    if (inbox.length > 0) {
      // The inbox is a file of its own (./inbox.ts): one transaction cannot span both files.
      if (inbox.length < operations.length) {
        throw new Error(`Jobs of the "${INBOX_QUEUE}" queue can be batched only with each other`);
      }
      const results = await this.#jobs.enqueueInbox(tenant, inbox);
      return results.map((result) => ({ op: 'enqueue', result }));
    }
    const pending = this.#auditLog?.pending ?? false;
    let filedAudits = 0;
    let pendedAudits = 0;
    // A resource's index entries follow from its content alone, not from the id and meta the
    // write stamps (no indexed parameter reads them: test/store/search-index.test.ts), so they are
    // derived here, before the write lock is taken: the lock is held for the SQL alone, and the
    // other writers of the file (a worker's copies, charge capture) wait that much less for it.
    const indexed = operations.map((operation) =>
      operation.op === 'enqueue' ||
      operation.op === 'check' ||
      (pending && operation.op === 'create' && isWriteAudit(operation))
        ? undefined
        : indexResource(operation.resource),
    );
    // Off the event loop: the batches of the receiver's and the API's group commits, and the
    // workers' copies, wait for the lock without stopping the process (db.ts transactionOffLoop).
    const written = await this.#conn.transactionOffLoop(() => {
      // The batch's index rows go in together at the end (see IndexRows); an operation that reads
      // or deletes index rows (a conditional create, an update) sees those of the ones before it.
      const rows = new IndexRows();
      const results = operations.map((operation, i): BatchResult => {
        switch (operation.op) {
          case 'create':
            if (isWriteAudit(operation)) {
              if (pending) {
                pendedAudits++;
                return {
                  op: 'create',
                  result: this.#pendAuditInTx(tenant, operation.resource, operation.options),
                };
              }
              filedAudits++;
            }
            if (operation.options?.ifNoneExistIdentifier) {
              insertIndexRows(this.#conn, rows);
            }
            return {
              op: 'create',
              result: this.createInTx(tenant, operation.resource, operation.options, rows, indexed[i]),
            };
          case 'update':
            insertIndexRows(this.#conn, rows);
            return {
              op: 'update',
              result: this.updateInTx(tenant, operation.resource, operation.options, indexed[i]),
            };
          case 'enqueue':
            return { op: 'enqueue', result: this.#jobs.main.enqueueInTx(tenant, operation.job) };
          case 'check':
            // The write lock is held for the whole transaction: no other write of the resource
            // can commit between this look and the batch's commit.
            this.#checkVersionInTx(tenant, operation);
            return { op: 'check' };
        }
      });
      insertIndexRows(this.#conn, rows);
      return results;
    });
    await this.#auditLog?.written(filedAudits, pendedAudits);
    return written;
  }

  #checkVersionInTx(tenant: TenantId, check: VersionCheck): void {
    const current = this.#conn.get(SQL.current, tenant, check.resourceType, check.id) as
      CurrentRow | undefined;
    if (!current || String(current.version) !== check.versionId) {
      throw new OperationOutcomeError(preconditionFailed);
    }
  }

  /** A FHIR write's AuditEvent kept in the pending table, filed later (./audit-pending.ts). */
  #pendAuditInTx(tenant: TenantId, resource: Resource, options: CreateOptions): WriteResult {
    const id = options.id ?? this.#generateId();
    assertValidId(id);
    const stored = this.#stamp(resource, id, 1);
    pendAuditEventInTx(this.#conn, tenant, stored);
    return { resource: stored, created: true };
  }

  // -------------------------------------------------------------------------------------------
  // Inside a transaction
  // -------------------------------------------------------------------------------------------

  /**
   * Creates inside the caller's transaction. With `rows`, the index rows are added to it for the
   * caller to insert before the transaction ends; without, they are inserted here. `indexed`: the
   * resource's index entries when the caller derived them already (`indexResource(resource)`).
   */
  createInTx(
    tenant: TenantId,
    resource: Resource,
    options?: CreateOptions,
    rows?: IndexRows,
    indexed?: IndexedResource,
  ): WriteResult {
    assertValidResourceType(resource.resourceType);
    const type = resource.resourceType;
    const wanted = options?.ifNoneExistIdentifier;
    if (wanted) {
      const hit =
        wanted.system === undefined
          ? this.#conn.get(SQL.findByIdentifierAnySystem, tenant, type, wanted.value)
          : this.#conn.get(SQL.findByIdentifierWithSystem, tenant, type, wanted.value, wanted.system);
      if (hit) {
        return { resource: parse(hit['json']), created: false };
      }
    }
    const id = options?.id ?? this.#generateId();
    assertValidId(id);
    const stored = this.#stamp(resource, id, 1);
    const json = JSON.stringify(stored);
    const inserted = this.#conn.run(SQL.insertCurrent, tenant, type, id, 1, stored.meta.lastUpdated, json);
    if (inserted.changes === 0) {
      throw new OperationOutcomeError(conflict(`${type}/${id} already exists`));
    }
    const pk = inserted.lastInsertRowid;
    if (rows) {
      rows.add(tenant, type, pk, indexed ?? indexResource(stored));
    } else {
      this.#writeIndex(tenant, type, pk, indexed ?? indexResource(stored));
    }
    return { resource: stored, created: true };
  }

  updateInTx(
    tenant: TenantId,
    resource: Resource & { id: string },
    options?: UpdateOptions,
    indexed?: IndexedResource,
  ): WriteResult {
    assertValidResourceType(resource.resourceType);
    assertValidId(resource.id);
    const type = resource.resourceType;
    const current = this.#conn.get(SQL.current, tenant, type, resource.id) as CurrentRow | undefined;
    if (!current) {
      if (options?.upsert === false) {
        throw new OperationOutcomeError(notFound);
      }
      if (options?.ifMatchVersion !== undefined) {
        throw new OperationOutcomeError(preconditionFailed);
      }
      return this.createInTx(tenant, resource, { id: resource.id }, undefined, indexed);
    }
    if (options?.ifMatchVersion !== undefined && options.ifMatchVersion !== String(current.version)) {
      throw new OperationOutcomeError(preconditionFailed);
    }
    if (isAppendOnlyType(type)) {
      throw appendOnlyConflict(type, resource.id);
    }
    const version = current.version + 1;
    const stored = this.#stamp(resource, resource.id, version);
    const json = JSON.stringify(stored);
    const pk = current.pk;
    this.#conn.run(SQL.supersede, pk);
    this.#conn.run(SQL.updateCurrent, version, stored.meta.lastUpdated, json, pk);
    for (const sql of SQL.deleteIndex) {
      this.#conn.run(sql, pk);
    }
    this.#writeIndex(tenant, type, pk, indexed ?? indexResource(stored));
    return { resource: stored, created: true };
  }

  #stamp(resource: Resource, id: string, version: number): StoredResource {
    const meta = { ...resource.meta, versionId: String(version), lastUpdated: this.#now().toISOString() };
    return { ...resource, id, meta };
  }

  /**
   * Re-derives the index rows of every current resource when they were written under another
   * SEARCH_INDEX_VERSION (meta `search_index`), in transactions of 500 resources, reporting
   * progress. Idempotent: a crash part-way redoes it at the next open.
   */
  reindexIfNeeded(onProgress?: (done: number, total: number) => void): number {
    const conn = this.#conn;
    const recorded = conn.get("SELECT value FROM meta WHERE key = 'search_index'")?.['value'];
    if (recorded === SEARCH_INDEX_VERSION) {
      return 0;
    }
    const total = Number(conn.get('SELECT count(*) AS n FROM resources')?.['n'] ?? 0);
    // The append-only types' rows cannot be found by resource (no per-resource trees): clear them
    // all first. A crash part-way leaves 'search_index' as it was, so the next open starts over.
    conn.transaction(() => {
      for (const sql of SQL.deleteAppendOnlyIndex) {
        conn.run(sql);
      }
    });
    let done = 0;
    for (let after = 0; ;) {
      const rows = conn.all(
        'SELECT pk, tenant, type, json FROM resources WHERE pk > ? ORDER BY pk LIMIT 500',
        after,
      );
      if (rows.length === 0) {
        break;
      }
      conn.transaction(() => {
        for (const row of rows) {
          const pk = Number(row['pk']);
          for (const sql of SQL.deleteIndex) {
            conn.run(sql, pk);
          }
          this.#writeIndex(String(row['tenant']), String(row['type']), pk, indexResource(parse(row['json'])));
        }
      });
      after = Number(rows.at(-1)?.['pk']);
      done += rows.length;
      onProgress?.(done, total);
    }
    conn.run(
      "INSERT INTO meta (key, value) VALUES ('search_index', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      SEARCH_INDEX_VERSION,
    );
    return done;
  }

  /** A resource's index rows, inserted at once. */
  #writeIndex(tenant: TenantId, type: string, pk: number, indexed: IndexedResource): void {
    const rows = new IndexRows();
    rows.add(tenant, type, pk, indexed);
    insertIndexRows(this.#conn, rows);
  }
}

function parse(json: unknown): StoredResource {
  return JSON.parse(json as string) as StoredResource;
}
