/**
 * One SQLite file's `jobs` table: the durable job queue's rows and every operation on them. The
 * embedded store has two (./job-queue.ts routes between them): the main file's, and the inbox
 * file's for the queue receivers write while acknowledging (./inbox.ts).
 */
/* eslint-disable @typescript-eslint/require-await -- node:sqlite is synchronous: these async methods exist to
   satisfy the port and turn throws into rejections; no transaction ever spans an await. */
import { randomUUIDv7 } from 'node:crypto';
import { badRequest, OperationOutcomeError } from '@medplum/core';
import type {
  EnqueueRequest,
  EnqueueResult,
  Job,
  JobLease,
  JobQueue,
  JobState,
  JobWait,
  LeaseOptions,
  LeaseRenewal,
  ListJobsOptions,
  PurgeDoneOptions,
  TenantId,
} from '../port.ts';
import { SIBLINGS_PER_PREFIX } from '../port.ts';
import { prefixEnd, siblingRanges } from '../key-prefix.ts';
import type { Row, SqliteConnection } from './db.ts';
import { limitSql } from './limit.ts';
import { requireInstant } from './values.ts';
import { DEFAULT_MAX_ATTEMPTS, retryDelayMs } from '../job-policy.ts';

/** The jobs table and its indexes, the same in the main file (migration 1) and the inbox file. */
export const JOBS_SCHEMA = `
  CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    tenant           TEXT NOT NULL,
    queue            TEXT NOT NULL,
    key              TEXT NOT NULL,
    payload          TEXT NOT NULL,  -- JSON
    state            TEXT NOT NULL CHECK (state IN ('ready', 'leased', 'done', 'dead')),
    attempts         INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL,
    run_at           TEXT NOT NULL,
    lease_token      TEXT,
    lease_expires_at TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (tenant, queue, key)
  );
  CREATE INDEX jobs_ready ON jobs (queue, state, run_at);
  CREATE INDEX jobs_leased ON jobs (queue, state, lease_expires_at);
  CREATE INDEX jobs_list ON jobs (tenant, queue, state, created_at);
`;

/**
 * What a deferred job waits on (`JobWait.waitKey`), added to both files' jobs tables (main
 * migration 5, inbox migration 2). Only deferred jobs carry one, so the index is partial: a wake
 * seeks the few waiting jobs and costs other writes nothing.
 */
export const JOBS_WAIT_SCHEMA = `
  ALTER TABLE jobs ADD COLUMN wait_key TEXT;
  CREATE INDEX jobs_waiting ON jobs (tenant, queue, wait_key, state, run_at) WHERE wait_key IS NOT NULL;
`;

/**
 * The lease's two indexes hold only the jobs they find (main migration 8, inbox migration 3): ready
 * ones, and leased ones. Whole, they also held every finished job, which stays for its key's
 * deduplication until purged, and each change of state rewrote an entry in both; partial, an
 * enqueue adds one entry, a lease moves it from one to the other, an ack drops it. A job's
 * enqueue-lease-ack costs ~17 % less CPU (a micro-benchmark of 64-job batches: ~30 → ~25 µs),
 * and the trees stay the size of the backlog. The queries name the state as a literal
 * (`DUE_READY`, `DUE_EXPIRED`), which is what lets SQLite use a partial index.
 */
export const JOBS_PARTIAL_INDEXES_SCHEMA = `
  DROP INDEX jobs_ready;
  CREATE INDEX jobs_ready ON jobs (queue, run_at) WHERE state = 'ready';
  DROP INDEX jobs_leased;
  CREATE INDEX jobs_leased ON jobs (queue, lease_expires_at) WHERE state = 'leased';
`;

// A queue's due jobs, as two sets (each on its own index; bound: queue, now): ready ones whose
// time has come, and leased ones whose lease expired. The lease takes from them; an idle poll
// only asks whether either holds anything, so the two can never disagree.
const DUE_READY = "FROM jobs WHERE queue = ? AND state = 'ready' AND run_at <= ?";
const DUE_EXPIRED = "FROM jobs WHERE queue = ? AND state = 'leased' AND lease_expires_at <= ?";

const SQL = {
  insert:
    'INSERT INTO jobs (id, tenant, queue, key, payload, state, attempts, max_attempts, run_at, created_at, updated_at, wait_key) ' +
    "VALUES (?, ?, ?, ?, ?, 'ready', 0, ?, ?, ?, ?, ?) ON CONFLICT (tenant, queue, key) DO NOTHING",
  byKey: 'SELECT id FROM jobs WHERE tenant = ? AND queue = ? AND key = ?',
  // A lease that expired on the job's last allowed attempt dead-letters it instead of re-leasing.
  deadExpired:
    "UPDATE jobs SET state = 'dead', lease_token = NULL, lease_expires_at = NULL, updated_at = ?, " +
    "last_error = coalesce(last_error, 'lease expired on the final attempt') " +
    "WHERE queue = ? AND state = 'leased' AND lease_expires_at <= ? AND attempts >= max_attempts",
  // A leased job waits on nothing (JobQueue.wake): its key goes, so no wake cuts a later backoff.
  lease: (limit: number) =>
    "UPDATE jobs SET state = 'leased', attempts = attempts + 1, lease_token = lower(hex(randomblob(16))), " +
    'lease_expires_at = ?, updated_at = ?, wait_key = NULL ' +
    'WHERE id IN (SELECT id FROM (' +
    `  SELECT id, run_at ${DUE_READY} ` +
    '  UNION ALL ' +
    `  SELECT id, lease_expires_at AS run_at ${DUE_EXPIRED} ` +
    `  ORDER BY run_at, id ${limitSql(limit)})) ` +
    'RETURNING *',
  // A leased job's due siblings (LeaseOptions.siblingsBy): a range of the unique key index.
  leaseSiblings: (limit: number) =>
    "UPDATE jobs SET state = 'leased', attempts = attempts + 1, lease_token = lower(hex(randomblob(16))), " +
    'lease_expires_at = ?, updated_at = ?, wait_key = NULL ' +
    'WHERE id IN (SELECT id FROM jobs WHERE tenant = ? AND queue = ? AND key >= ? AND key < ? ' +
    `AND state = 'ready' AND run_at <= ? ${limitSql(limit)}) ` +
    'RETURNING *',
  // Which of the ranges (a JSON array of [tenant, from, to]) hold a due sibling: in one statement,
  // since most hold none (a visit's change is usually the only job of its encounter in the queue).
  rangesWithSiblings:
    'SELECT r.key AS i FROM json_each(?) AS r WHERE EXISTS (SELECT 1 FROM jobs ' +
    'WHERE tenant = r.value ->> 0 AND queue = ? AND key >= r.value ->> 1 AND key < r.value ->> 2 ' +
    "AND state = 'ready' AND run_at <= ?)",
  // The lease's own two candidate sets, read without a lock: does this queue have anything due?
  anyDue: `SELECT 1 AS due ${DUE_READY} UNION ALL SELECT 1 AS due ${DUE_EXPIRED} LIMIT 1`,
  get: 'SELECT * FROM jobs WHERE id = ?',
  // Seeks the unique (tenant, queue, key) index: keys from `{prefix}1` up to before `{prefix}:` are
  // the prefix and a digit 1-9 (BINARY order); of those, digits only after the prefix. A longer
  // number is a greater one, and among numbers as long, the greater key.
  highestNumbered:
    'SELECT * FROM jobs WHERE tenant = ? AND queue = ? AND key >= ? AND key < ? ' +
    "AND substr(key, length(?) + 1) NOT GLOB '*[^0-9]*' ORDER BY length(key) DESC, key DESC LIMIT 1",
  ack:
    "UPDATE jobs SET state = 'done', lease_token = NULL, lease_expires_at = NULL, updated_at = ? " +
    "WHERE id = ? AND lease_token = ? AND state = 'leased'",
  // A batch's acks in one statement: the (id, lease token) pairs as a JSON array of pairs.
  ackMany:
    "UPDATE jobs SET state = 'done', lease_token = NULL, lease_expires_at = NULL, updated_at = ? " +
    'FROM (SELECT value ->> 0 AS id, value ->> 1 AS token FROM json_each(?)) AS acked ' +
    "WHERE jobs.id = acked.id AND jobs.lease_token = acked.token AND jobs.state = 'leased'",
  leased: "SELECT attempts, max_attempts FROM jobs WHERE id = ? AND lease_token = ? AND state = 'leased'",
  retry:
    "UPDATE jobs SET state = 'ready', run_at = ?, lease_token = NULL, lease_expires_at = NULL, last_error = ?, " +
    'updated_at = ? WHERE id = ?',
  // The lease's attempt is handed back: a job that waits has not failed (JobQueue.defer).
  defer:
    "UPDATE jobs SET state = 'ready', run_at = ?, attempts = max(attempts - 1, 0), lease_token = NULL, " +
    'lease_expires_at = NULL, last_error = ?, updated_at = ?, wait_key = ? ' +
    "WHERE id = ? AND lease_token = ? AND state = 'leased'",
  // ISO instants of one format compare as text: max() keeps the later expiry.
  extendLease:
    'UPDATE jobs SET lease_expires_at = max(lease_expires_at, ?), updated_at = ? ' +
    "WHERE id = ? AND lease_token = ? AND state = 'leased'",
  // Seeks jobs_waiting (wait_key = ? implies the index's wait_key IS NOT NULL).
  anyWaiting:
    "SELECT 1 AS waiting FROM jobs WHERE tenant = ? AND queue = ? AND wait_key = ? AND state = 'ready' " +
    'AND run_at > ? LIMIT 1',
  wake:
    'UPDATE jobs SET run_at = ?, updated_at = ? ' +
    "WHERE tenant = ? AND queue = ? AND wait_key = ? AND state = 'ready' AND run_at > ?",
  dead:
    "UPDATE jobs SET state = 'dead', lease_token = NULL, lease_expires_at = NULL, last_error = ?, updated_at = ? " +
    'WHERE id = ?',
  // Both seek jobs_list (tenant, queue, state, created_at).
  list: (limit: number) =>
    `SELECT * FROM jobs WHERE tenant = ? AND queue = ? AND state = ? ORDER BY created_at, rowid ${limitSql(limit)}`,
  listSince: (limit: number) =>
    'SELECT * FROM jobs WHERE tenant = ? AND queue = ? AND state = ? AND created_at >= ? ' +
    `ORDER BY created_at, rowid ${limitSql(limit)}`,
  has: 'SELECT 1 AS found FROM jobs WHERE id = ?',
  holding: 'SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?))',
  // Seeks jobs_list (tenant, queue, state, created_at): a job finishes after it is created.
  purgeDone: (limit: number) =>
    'DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs ' +
    "WHERE tenant = ? AND queue = ? AND state = 'done' AND created_at < ? AND updated_at < ? " +
    `ORDER BY created_at ${limitSql(limit)})`,
  // Seeks the unique (tenant, queue, key) index over the prefix's keys only, in key order (no sort):
  // a batch reads the prefix's rows, never the queue's other finished jobs. `+` keeps the planner
  // off jobs_list (state, created_at) whatever statistics say: that would read every finished job
  // of the queue older than the instant, the ones it keeps for good included.
  purgeDoneByKey: (limit: number) =>
    'DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs ' +
    "WHERE tenant = ? AND queue = ? AND key >= ? AND key < ? AND +state = 'done' AND +updated_at < ? " +
    `ORDER BY key ${limitSql(limit)})`,
} as const;

/** The statement purging a key prefix's finished jobs (tests read its plan). */
export const purgeDoneByKeySql = SQL.purgeDoneByKey;
/** The lease's statements (tests read their plans). */
export const leaseSql = SQL.lease;
export const anyDueSql = SQL.anyDue;

export class SqliteJobTable implements JobQueue {
  readonly #conn: SqliteConnection;
  readonly #now: () => Date;

  constructor(conn: SqliteConnection, now: () => Date) {
    this.#conn = conn;
    this.#now = now;
  }

  /** The connection to the file this table is in. */
  get connection(): SqliteConnection {
    return this.#conn;
  }

  /** Whether this table holds the job (a primary-key read: no lock taken). */
  has(jobId: string): boolean {
    return this.#conn.get(SQL.has, jobId) !== undefined;
  }

  /** Which of the jobs this table holds: one query (the ids as a JSON array), not one per id. */
  holding(jobIds: readonly string[]): Set<string> {
    if (jobIds.length === 0) {
      return new Set();
    }
    const rows = this.#conn.all(SQL.holding, JSON.stringify(jobIds));
    return new Set(rows.map((row) => String(row['id'])));
  }

  async enqueue(tenant: TenantId, request: EnqueueRequest): Promise<EnqueueResult> {
    return this.#conn.transaction(() => this.enqueueInTx(tenant, request));
  }

  enqueueInTx(tenant: TenantId, request: EnqueueRequest): EnqueueResult {
    const maxAttempts = request.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new OperationOutcomeError(badRequest(`Invalid maxAttempts: ${String(maxAttempts)}`));
    }
    const now = this.#now().toISOString();
    const runAt = request.runAt === undefined ? now : requireInstant(request.runAt, 'runAt');
    const payload = JSON.stringify(request.payload ?? null);
    // Time-ordered (UUID v7): a group of enqueues appends to the id index instead of rewriting a
    // random page of it per job (a batch of 64 ingest copies: 185 → 119 WAL pages for its jobs).
    const id = randomUUIDv7();
    const { changes } = this.#conn.run(
      SQL.insert,
      id,
      tenant,
      request.queue,
      request.key,
      payload,
      maxAttempts,
      runAt,
      now,
      now,
      request.waitKey ?? null,
    );
    if (changes === 1) {
      return { jobId: id, created: true };
    }
    const existing = this.#conn.get(SQL.byKey, tenant, request.queue, request.key);
    return { jobId: String(existing?.['id']), created: false };
  }

  async lease(options: LeaseOptions): Promise<Job[]> {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      return [];
    }
    const now = options.now.toISOString();
    const expires = new Date(options.now.getTime() + options.leaseMs).toISOString();
    // An idle worker polls several times a second: a poll of a queue with nothing due answers from
    // a plain read, without taking the file's write lock (and waiting on other writers for it). A
    // job made due after this read is the next poll's, as it would be one made due after the lease.
    if (this.#conn.get(SQL.anyDue, options.queue, now, options.queue, now) === undefined) {
      return [];
    }
    // IMMEDIATE: the write lock is held from the first read, so another connection (or process)
    // sharing the file cannot select the same rows in between; UPDATE ... RETURNING is one statement.
    // Waited for on a timer (transactionOffLoop), not in SQLite's busy handler, which sleeps the
    // thread in steps of 1, 2, 5, 10 ms while another process's group commit holds the lock.
    const rows = await this.#conn.transactionOffLoop(() => {
      this.#conn.run(SQL.deadExpired, now, options.queue, now);
      const leased = this.#conn.all(
        SQL.lease(options.limit),
        expires,
        now,
        options.queue,
        now,
        options.queue,
        now,
      );
      const separator = options.siblingsBy;
      if (separator === undefined) {
        return leased;
      }
      const keys = leased.map((row) => ({ tenant: String(row['tenant']), key: String(row['key']) }));
      const ranges = siblingRanges(keys, separator);
      if (ranges.length === 0) {
        return leased;
      }
      const holding = this.#conn
        .all(
          SQL.rangesWithSiblings,
          JSON.stringify(ranges.map((r) => [r.tenant, r.from, r.to])),
          options.queue,
          now,
        )
        .map((row) => ranges[Number(row['i'])]);
      for (const { tenant, from, to } of holding.filter((r) => r !== undefined)) {
        leased.push(
          ...this.#conn.all(
            SQL.leaseSiblings(SIBLINGS_PER_PREFIX),
            expires,
            now,
            tenant,
            options.queue,
            from,
            to,
            now,
          ),
        );
      }
      return leased;
    });
    return rows.map(toJob).sort((a, b) => (a.runAt < b.runAt ? -1 : a.runAt > b.runAt ? 1 : 0));
  }

  async ack(jobId: string, leaseToken: string): Promise<boolean> {
    const { changes } = this.#conn.transaction(() =>
      this.#conn.run(SQL.ack, this.#now().toISOString(), jobId, leaseToken),
    );
    return changes === 1;
  }

  async ackMany(leases: readonly JobLease[]): Promise<number> {
    if (leases.length === 0) {
      return 0;
    }
    const now = this.#now().toISOString();
    // On a timer while another process holds the write lock (see lease): charge capture's acks
    // waited in the busy handler for the ingest worker's commits, ~8 % of its time.
    const pairs = JSON.stringify(leases.map((lease) => [lease.jobId, lease.leaseToken]));
    return this.#conn.transactionOffLoop(() => this.#conn.run(SQL.ackMany, now, pairs).changes);
  }

  async fail(
    jobId: string,
    leaseToken: string,
    failure: { error: string; retryable: boolean; now: Date; retryAt?: string },
  ): Promise<boolean> {
    const retryAt = failure.retryAt === undefined ? undefined : requireInstant(failure.retryAt, 'retryAt');
    const now = failure.now.toISOString();
    return this.#conn.transaction(() => {
      const job = this.#conn.get(SQL.leased, jobId, leaseToken);
      if (!job) {
        return false;
      }
      const attempts = Number(job['attempts']);
      if (failure.retryable && attempts < Number(job['max_attempts'])) {
        const runAt = retryAt ?? new Date(failure.now.getTime() + retryDelayMs(attempts)).toISOString();
        this.#conn.run(SQL.retry, runAt, failure.error, now, jobId);
      } else {
        this.#conn.run(SQL.dead, failure.error, now, jobId);
      }
      return true;
    });
  }

  async defer(jobId: string, leaseToken: string, wait: JobWait): Promise<boolean> {
    const runAt = requireInstant(wait.runAt, 'runAt');
    const { changes } = this.#conn.transaction(() =>
      this.#conn.run(
        SQL.defer,
        runAt,
        wait.reason,
        wait.now.toISOString(),
        wait.waitKey ?? null,
        jobId,
        leaseToken,
      ),
    );
    return changes === 1;
  }

  async extendLease(jobId: string, leaseToken: string, renewal: LeaseRenewal): Promise<boolean> {
    const expires = new Date(renewal.now.getTime() + validLeaseMs(renewal.leaseMs)).toISOString();
    const { changes } = this.#conn.transaction(() =>
      this.#conn.run(SQL.extendLease, expires, renewal.now.toISOString(), jobId, leaseToken),
    );
    return changes === 1;
  }

  async wake(tenant: TenantId, queue: string, waitKey: string, now: Date): Promise<number> {
    const at = now.toISOString();
    // Most ends of the awaited work find nobody waiting: a plain read answers that without taking
    // the file's write lock. A job deferred after this read comes back at its own runAt (a late
    // wake is no worse than a lost one).
    if (this.#conn.get(SQL.anyWaiting, tenant, queue, waitKey, at) === undefined) {
      return 0;
    }
    return this.#conn.transaction(() => this.#conn.run(SQL.wake, at, at, tenant, queue, waitKey, at).changes);
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    const row = this.#conn.get(SQL.get, jobId);
    return row ? toJob(row) : undefined;
  }

  async highestNumbered(tenant: TenantId, queue: string, keyPrefix: string): Promise<Job | undefined> {
    const row = this.#conn.get(
      SQL.highestNumbered,
      tenant,
      queue,
      `${keyPrefix}1`,
      `${keyPrefix}:`,
      keyPrefix,
    );
    return row ? toJob(row) : undefined;
  }

  async listJobs(
    tenant: TenantId,
    queue: string,
    state: JobState,
    limit: number,
    options: ListJobsOptions = {},
  ): Promise<Job[]> {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new OperationOutcomeError(badRequest(`Invalid limit: ${String(limit)}`));
    }
    if (options.createdSince === undefined) {
      return this.#conn.all(SQL.list(limit), tenant, queue, state).map(toJob);
    }
    const since = requireInstant(options.createdSince, 'createdSince');
    return this.#conn.all(SQL.listSince(limit), tenant, queue, state, since).map(toJob);
  }

  async purgeDone(
    tenant: TenantId,
    queue: string,
    finishedBefore: string,
    limit: number,
    options: PurgeDoneOptions = {},
  ): Promise<number> {
    const before = requireInstant(finishedBefore, 'finishedBefore');
    if (!Number.isInteger(limit) || limit < 1) {
      return 0;
    }
    const prefix = options.keyPrefix ?? '';
    const end = prefixEnd(prefix);
    if (end === undefined) {
      return this.#conn.transaction(
        () => this.#conn.run(SQL.purgeDone(limit), tenant, queue, before, before).changes,
      );
    }
    return this.#conn.transaction(
      () => this.#conn.run(SQL.purgeDoneByKey(limit), tenant, queue, prefix, end, before).changes,
    );
  }
}

function validLeaseMs(leaseMs: number): number {
  if (!Number.isFinite(leaseMs) || leaseMs < 0) {
    throw new OperationOutcomeError(badRequest(`Invalid leaseMs: ${String(leaseMs)}`));
  }
  return leaseMs;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function toJob(row: Row): Job {
  const leaseToken = optionalString(row['lease_token']);
  const leaseExpiresAt = optionalString(row['lease_expires_at']);
  const lastError = optionalString(row['last_error']);
  const waitKey = optionalString(row['wait_key']);
  return {
    id: String(row['id']),
    tenant: String(row['tenant']),
    queue: String(row['queue']),
    key: String(row['key']),
    payload: JSON.parse(String(row['payload'])) as unknown,
    state: String(row['state']) as JobState,
    attempts: Number(row['attempts']),
    maxAttempts: Number(row['max_attempts']),
    runAt: String(row['run_at']),
    ...(leaseToken === undefined ? {} : { leaseToken }),
    ...(leaseExpiresAt === undefined ? {} : { leaseExpiresAt }),
    ...(lastError === undefined ? {} : { lastError }),
    ...(waitKey === undefined ? {} : { waitKey }),
    createdAt: String(row['created_at']),
    updatedAt: String(row['updated_at']),
  };
}
