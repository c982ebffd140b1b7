/**
 * A thin wrapper over one `node:sqlite` connection: pragmas, a prepared-statement cache keyed by
 * SQL text, and synchronous transactions.
 *
 * `DatabaseSync` is synchronous, so every transaction here runs to completion (COMMIT or
 * ROLLBACK) inside one synchronous call: no transaction can ever span an `await`, and the async
 * port methods are thin wrappers around these calls.
 */
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { setTimeout as delay } from 'node:timers/promises';

export type SqlParam = SQLInputValue;
export type Row = Record<string, unknown>;

export type SynchronousMode = 'NORMAL' | 'FULL';

export interface SqliteConnectionOptions {
  readonly path: string;
  /**
   * `NORMAL` (default): in WAL mode a commit is durable against a process crash (including
   * kill -9) because the WAL frames are already written to the OS when COMMIT returns; only the
   * fsync is deferred to checkpoints. An OS crash or power loss can lose the last transactions
   * (never corrupt the database). `FULL` fsyncs the WAL on every commit: needed only when
   * acknowledged writes must survive power loss, at a large cost in write throughput.
   */
  readonly synchronous?: SynchronousMode;
  /** How long a writer waits for another connection's lock before SQLITE_BUSY (ms). */
  readonly busyTimeoutMs?: number;
  /** SQLite's page cache of this connection, in KiB. Default 64 MB (see PAGE_CACHE_KIB). */
  readonly pageCacheKib?: number;
}

const STATEMENT_CACHE_SIZE = 512;
/** SQLite's result code for a lock another connection holds (https://sqlite.org/rescode.html#busy). */
const SQLITE_BUSY = 5;
/** How long `transactionOffLoop` waits between two tries for the write lock (ms). */
const LOCK_POLL_MS = 1;
/** SQLite's page cache per connection, in KiB (negative cache_size = KiB). */
const PAGE_CACHE_KIB = 64 * 1024;
/**
 * WAL pages after which a commit runs a checkpoint itself (~32 MB instead of SQLite's ~4 MB: each
 * checkpoint syncs the database file, and with many small index rows per write the default made
 * checkpoints the p99 of every write). Once the background thread checkpoints the file
 * (./background-checkpoints.ts), only a backstop.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 8000;

export class SqliteConnection {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #busyTimeoutMs: number;
  #closed = false;
  /** Inside `readSnapshot`: a read transaction is open, and reads nest in it. */
  #inSnapshot = false;
  /** The file (the background checkpoints open their own connection to it). */
  readonly path: string;
  readonly synchronous: SynchronousMode;
  /** Called after every COMMIT on this connection (./background-checkpoints.ts counts them). */
  afterCommit: (() => void) | undefined;
  /** Whether a background thread checkpoints this file, so a worker need not (./inbox.ts). */
  checkpointedInBackground = false;

  constructor(options: SqliteConnectionOptions) {
    const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.path = options.path;
    this.synchronous = options.synchronous === 'FULL' ? 'FULL' : 'NORMAL';
    this.db = new DatabaseSync(options.path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec(`PRAGMA synchronous = ${this.synchronous}`);
    this.db.exec(`PRAGMA busy_timeout = ${String(Math.trunc(busyTimeoutMs))}`);
    this.db.exec('PRAGMA foreign_keys = ON');
    this.db.exec('PRAGMA temp_store = MEMORY');
    this.db.exec(`PRAGMA wal_autocheckpoint = ${String(WAL_AUTOCHECKPOINT_PAGES)}`);
    // Page cache of 64 MB instead of SQLite's 2 MB: every write inserts rows at scattered places of
    // a dozen B-trees (ids, index values); once those outgrow the cache each insert rereads pages
    // from the OS, and the write rate fell ~5× between 10,000 and 400,000 resources (bench:scale).
    this.db.exec(`PRAGMA cache_size = -${String(Math.trunc(options.pageCacheKib ?? PAGE_CACHE_KIB))}`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A prepared statement for this SQL text, cached (bounded, the least recently used evicted
   * first: counts are written into SQL text (./limit.ts), so pages of many sizes make many texts,
   * and evicting the oldest inserted would evict the hottest statements, prepared first).
   */
  statement(sql: string): StatementSync {
    const cached = this.#statements.get(sql);
    if (cached) {
      // Most recently used last (a Map keeps insertion order).
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const prepared = this.db.prepare(sql);
    if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
      const oldest = this.#statements.keys().next();
      if (!oldest.done) {
        this.#statements.delete(oldest.value);
      }
    }
    this.#statements.set(sql, prepared);
    return prepared;
  }

  get(sql: string, ...params: SqlParam[]): Row | undefined {
    return this.statement(sql).get(...params);
  }

  all(sql: string, ...params: SqlParam[]): Row[] {
    return this.statement(sql).all(...params);
  }

  run(sql: string, ...params: SqlParam[]): { changes: number; lastInsertRowid: number } {
    const result = this.statement(sql).run(...params);
    return { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
  }

  /**
   * Runs `fn` in one transaction. `IMMEDIATE` takes the write lock up front (waiting up to the
   * busy timeout), so a read-then-write sequence can never hit SQLITE_BUSY_SNAPSHOT half-way and
   * two connections never interleave their check-and-insert. Any throw rolls back and rethrows;
   * returning means committed.
   */
  transaction<T>(fn: () => T, mode: 'IMMEDIATE' | 'DEFERRED' = 'IMMEDIATE'): T {
    if (this.#inSnapshot) {
      if (mode !== 'DEFERRED') {
        throw new Error('SQLite write begun inside a read snapshot');
      }
      return fn(); // already one snapshot
    }
    if (this.db.isTransaction) {
      // Defensive: callers never nest; an open transaction here would be a bug.
      throw new Error('SQLite transaction already open on this connection');
    }
    this.db.exec(mode === 'IMMEDIATE' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED');
    return this.#commitAfter(fn);
  }

  /**
   * Runs `fn`, which only reads, in one read transaction: every read sees the same snapshot, and
   * the connection's page cache is kept across them. Why: in WAL mode a connection drops its whole
   * page cache when it starts a read after another connection committed; on a connection that
   * only reads beside a busy writer (charge capture's planning thread), every statement began by
   * re-reading each page it touched, and planning cost about three times what it did on the
   * writer's own connection. The snapshot holds the WAL from being reset while it lasts: keep it
   * short (a batch of reads, not a loop). Unlike `transaction`, it spans awaits: `fn` must not
   * write, and nothing else may use the connection meanwhile but reads (a write throws).
   */
  async readSnapshot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.db.isTransaction || this.#inSnapshot) {
      throw new Error('SQLite transaction already open on this connection');
    }
    this.db.exec('BEGIN DEFERRED');
    this.#inSnapshot = true;
    try {
      return await fn();
    } finally {
      this.#inSnapshot = false;
      if (this.db.isTransaction) {
        this.db.exec('COMMIT');
      }
    }
  }

  /**
   * `transaction(fn)` (IMMEDIATE) for a caller whose event loop answers requests (the receiver's
   * and the FHIR API's group commits): while another connection holds the write lock, it waits on a
   * timer, so the loop goes on reading requests (they join the next group), instead of inside
   * SQLite's busy handler, which sleeps the whole thread in steps of 1, 2, 5, 10, … ms and so also
   * over-waits a lock held 3.1 ms by 5 ms. Gives up like `transaction` after the busy timeout.
   * `fn` still runs synchronously once the lock is taken: no transaction spans an `await`.
   */
  async transactionOffLoop<T>(fn: () => T): Promise<T> {
    const deadline = performance.now() + this.#busyTimeoutMs;
    for (;;) {
      const busy = this.#tryBeginImmediate();
      if (busy === undefined) {
        return this.#commitAfter(fn);
      }
      if (performance.now() >= deadline) {
        throw busy;
      }
      await delay(LOCK_POLL_MS);
    }
  }

  /**
   * BEGIN IMMEDIATE without waiting: undefined once begun, SQLite's "database is locked" error
   * when another connection holds the write lock.
   */
  #tryBeginImmediate(): Error | undefined {
    if (this.db.isTransaction) {
      throw new Error('SQLite transaction already open on this connection');
    }
    this.db.exec('PRAGMA busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      return undefined;
    } catch (err) {
      if ((err as { errcode?: unknown }).errcode === SQLITE_BUSY) {
        return err as Error;
      }
      throw err;
    } finally {
      this.db.exec(`PRAGMA busy_timeout = ${String(Math.trunc(this.#busyTimeoutMs))}`);
    }
  }

  /** Runs `fn` in the transaction just begun: COMMIT when it returns, ROLLBACK when it throws. */
  #commitAfter<T>(fn: () => T): T {
    try {
      const result = fn();
      this.db.exec('COMMIT');
      this.afterCommit?.();
      return result;
    } catch (err) {
      if (this.db.isTransaction) {
        this.db.exec('ROLLBACK');
      }
      throw err;
    }
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#statements.clear();
    this.db.close();
  }
}
