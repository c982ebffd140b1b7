/**
 * The inbox: the jobs of the queue receivers write while an EHR waits for its acknowledgement
 * (INBOX_QUEUE, ingest's notification jobs) live in a SQLite file of their own beside the main one
 * (`dripline.sqlite` → `dripline-inbox.sqlite`).
 *
 * Why: SQLite has one write lock per file. With the inbox in the main file, a receiver's enqueue
 * waited for whatever a worker was writing (copies, charges, claims: transactions of tens of ms,
 * plus the WAL checkpoints their commits run), and SQLite's busy handler sleeps inside the call,
 * stopping the receiver's event loop meanwhile (bench:ingest: ~40% of the receiver's commits waited,
 * p99 110–335 ms). In a file of its own, an enqueue only ever waits for another inbox transaction
 * (a lease or an ack: a few rows).
 *
 * Cross-file order (nothing acknowledged is lost; a crash only re-runs idempotent work): the
 * receiver commits the job in the inbox before answering; a worker leases it there, commits what it
 * produces in the main file, then acks in the inbox. A crash between the two commits leaves the job
 * leased, so it runs again after its lease, and a re-run compares equal (ingest's copies and the
 * domain events keyed by the copy's version).
 *
 * Checkpoints: a thread runs them once the store is written hard (./background-checkpoints.ts);
 * until then the workers do (`checkpointIfDue`, from their leases), so a receiver's commit does not
 * pay for one; the connection's own auto-checkpoint stays on as a backstop for a receiver left
 * without workers.
 */
import { performance } from 'node:perf_hooks';
import { INBOX_QUEUE } from '../port.ts';
import type { SqliteConnection } from './db.ts';
import type { SqliteConnectionOptions } from './db.ts';
import { JOBS_PARTIAL_INDEXES_SCHEMA, JOBS_SCHEMA, JOBS_WAIT_SCHEMA } from './jobs.ts';
import { openSideFile, sideFilePathFor } from './side-file.ts';

/** The inbox file's own migrations (its `meta.schema_version` counts these). */
const INBOX_MIGRATIONS: readonly string[] = [JOBS_SCHEMA, JOBS_WAIT_SCHEMA, JOBS_PARTIAL_INDEXES_SCHEMA];

/** The inbox is small and hot: a modest page cache is plenty (the main file's is 64 MB). */
const INBOX_PAGE_CACHE_KIB = 8 * 1024;

/**
 * How often a worker checkpoints the inbox at most (its WAL grows by a few MB a second at load).
 * 500 ms: a checkpoint copies the pages written since the last one, and the inbox rewrites the same
 * few pages (the jobs table's tail and indexes) all the time, so fewer checkpoints copy less.
 * bench:ingest (id-only, 6,000 notifications) spent 523 → 133 ms of the worker's CPU in them at
 * 250 → 500 ms in session 11, 409–612 → 304–435 ms in session 12 (shared machine), with the same
 * WAL high-water (16.5 MB, under the 8,000-page backstop that checkpoints on a receiver's commit).
 */
const CHECKPOINT_INTERVAL_MS = 500;

/** The inbox file beside the main one: `<name>-inbox<ext>`. */
export function inboxPathFor(mainPath: string): string {
  return sideFilePathFor(mainPath, 'inbox');
}

/** Opens (creating or migrating) the inbox file. */
export function openInbox(options: Omit<SqliteConnectionOptions, 'pageCacheKib'>): SqliteConnection {
  return openSideFile(options, INBOX_PAGE_CACHE_KIB, INBOX_MIGRATIONS);
}

// One literal state each, so each part seeks its partial index (./jobs.ts): an IN list would scan.
const LEGACY_PENDING =
  "SELECT * FROM jobs WHERE queue = ? AND state = 'ready' UNION ALL SELECT * FROM jobs WHERE queue = ? AND state = 'leased'";
const INSERT_MOVED =
  'INSERT OR IGNORE INTO jobs (id, tenant, queue, key, payload, state, attempts, max_attempts, run_at, ' +
  'lease_token, lease_expires_at, last_error, created_at, updated_at, wait_key) ' +
  'VALUES (:id, :tenant, :queue, :key, :payload, :state, :attempts, :max_attempts, :run_at, ' +
  ':lease_token, :lease_expires_at, :last_error, :created_at, :updated_at, :wait_key)';
const DELETE_MOVED = `DELETE FROM jobs WHERE id = ? AND state IN ('ready', 'leased')`;

/**
 * Moves inbox jobs still pending in the main file (written before the inbox had a file of its own)
 * into the inbox, as they are (ids, attempts, leases): copied and committed in the inbox first,
 * then deleted from the main file. A crash in between leaves both; the next open copies nothing
 * new (same id and key) and deletes. Finished and dead ones stay where they are: `listJobs` reads
 * both files for them. Safe with several processes opening at once. Returns how many were moved.
 */
export function moveLegacyInboxJobs(main: SqliteConnection, inbox: SqliteConnection): number {
  const rows = main.all(LEGACY_PENDING, INBOX_QUEUE, INBOX_QUEUE);
  if (rows.length === 0) {
    return 0;
  }
  inbox.transaction(() => {
    for (const row of rows) {
      inbox.statement(INSERT_MOVED).run(row as Record<string, string | number | null>);
    }
  });
  main.transaction(() => {
    for (const row of rows) {
      main.run(DELETE_MOVED, String(row['id']));
    }
  });
  return rows.length;
}

/** Runs a passive checkpoint of the inbox when the last one this process ran is old enough. */
export class InboxCheckpoints {
  readonly #inbox: SqliteConnection;
  /** Monotonic milliseconds (an interval between checkpoints, not a time of day: no clock). */
  readonly #elapsedMs: () => number;
  #last: number;

  constructor(inbox: SqliteConnection, elapsedMs: () => number = () => performance.now()) {
    this.#inbox = inbox;
    this.#elapsedMs = elapsedMs;
    this.#last = elapsedMs();
  }

  /** Called from a worker's lease: never on a receiver's path. */
  checkpointIfDue(): void {
    if (this.#inbox.checkpointedInBackground) {
      return; // ./background-checkpoints.ts: a thread of this process does it
    }
    const at = this.#elapsedMs();
    if (at - this.#last < CHECKPOINT_INTERVAL_MS) {
      return;
    }
    this.#last = at;
    // PASSIVE: copies what no reader still needs, never waits for a lock, never blocks a writer.
    this.#inbox.db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  }
}
