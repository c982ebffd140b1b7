/**
 * The embedded default store: a SQLite file through Node's built-in `node:sqlite`, plus the inbox
 * file beside it for the jobs receivers write (./inbox.ts).
 *
 * Durability: WAL journal; every write is one transaction and a method resolves only after
 * COMMIT, so an acknowledged write is committed. See SqliteConnectionOptions.synchronous for
 * what NORMAL (default) vs FULL protects against.
 */
/* eslint-disable @typescript-eslint/require-await -- node:sqlite is synchronous: these async methods exist to
   satisfy the port and turn throws into rejections; no transaction ever spans an await. */
import { randomUUID } from 'node:crypto';
import type { Store } from '../port.ts';
import { auditJournalPathFor, openAuditJournal } from './audit-journal.ts';
import { SqliteAuditLog } from './audit-log.ts';
import type { AuditLogOptions } from './audit-log.ts';
import { SqliteAuthStore } from './auth.ts';
import { BackgroundCheckpoints } from './background-checkpoints.ts';
import { CommitSignal } from './commit-signal.ts';
import type { BackgroundCheckpointOptions } from './background-checkpoints.ts';
import { SqliteConnection } from './db.ts';
import type { SynchronousMode } from './db.ts';
import { inboxPathFor, moveLegacyInboxJobs, openInbox } from './inbox.ts';
import { SqliteJobQueue } from './job-queue.ts';
import { SqliteJobTable } from './jobs.ts';
import { SqliteResourceStore } from './resources.ts';
import { SqliteSequenceStore } from './sequences.ts';
import { migrate } from './schema.ts';

export interface SqliteStoreOptions {
  /** Database file path (created if missing); the inbox is beside it (`inboxPathFor`). */
  readonly path: string;
  /** Clock for meta.lastUpdated and job timestamps. Default: the system clock. */
  readonly now?: () => Date;
  /** Resource id generator. Default: crypto.randomUUID (uuid v4). */
  readonly generateId?: () => string;
  /** Default 'NORMAL' (survives process crash / kill -9); 'FULL' also survives power loss. */
  readonly synchronous?: SynchronousMode;
  /** Busy timeout in ms when another connection holds the write lock. Default 10 s. */
  readonly busyTimeoutMs?: number;
  /** Progress of a reindex at open (search parameters changed since the data was indexed). */
  readonly onReindexProgress?: (done: number, total: number) => void;
  /** When and how often a thread checkpoints the files (./background-checkpoints.ts). */
  readonly backgroundCheckpoints?: BackgroundCheckpointOptions;
  /** When a thread files the read audits, and how far it may lag (./audit-log.ts). */
  readonly auditLog?: AuditLogOptions;
}

export interface SqliteStore extends Store {
  readonly kind: 'sqlite';
  readonly resources: SqliteResourceStore;
  readonly jobs: SqliteJobQueue;
  readonly auth: SqliteAuthStore;
  readonly sequences: SqliteSequenceStore;
  readonly auditLog: SqliteAuditLog;
  /** The underlying connection (for diagnostics such as PRAGMA integrity_check). */
  readonly connection: SqliteConnection;
  /** The inbox file's connection (./inbox.ts). */
  readonly inboxConnection: SqliteConnection;
  /** The audit journal file's connection (./audit-journal.ts). */
  readonly auditJournalConnection: SqliteConnection;
  /** The checkpoints of the files, off the writers' threads once the store is written hard. */
  readonly backgroundCheckpoints: BackgroundCheckpoints;
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const connectionOptions = {
    ...(options.synchronous ? { synchronous: options.synchronous } : {}),
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
  };
  const conn = new SqliteConnection({ path: options.path, ...connectionOptions });
  let inbox: SqliteConnection | undefined;
  let journal: SqliteConnection | undefined;
  try {
    migrate(conn);
    // Index rows (idx_*, sort_keys) are derived data that only the resource store
    // writes, in the transaction that writes the row they name (./index-rows.ts), and resource rows
    // are never deleted; the foreign-key check on each index row (a look-up of its parent) can never
    // fail there, and cost ~9 % of an ingest copy's CPU and ~6 % of charge capture's (bench:ingest,
    // alternated). The audit thread's connection already files without it. What the checks
    // guarded is verified instead: `PRAGMA foreign_key_check` in test/store/sqlite.test.ts and the
    // kill -9 durability test.
    conn.db.exec('PRAGMA foreign_keys = OFF');
    inbox = openInbox({ path: inboxPathFor(options.path), ...connectionOptions });
    moveLegacyInboxJobs(conn, inbox);
    journal = openAuditJournal({ path: auditJournalPathFor(options.path), ...connectionOptions });
  } catch (err) {
    journal?.close();
    inbox?.close();
    conn.close();
    throw err;
  }
  const inboxConnection = inbox;
  const journalConnection = journal;
  const now = options.now ?? ((): Date => new Date());
  const jobs = new SqliteJobQueue(new SqliteJobTable(conn, now), new SqliteJobTable(inboxConnection, now));
  let auditLog: SqliteAuditLog | undefined = undefined;
  const resources = new SqliteResourceStore({
    conn,
    jobs,
    now,
    generateId: options.generateId ?? ((): string => randomUUID()),
    // The audit log needs the resource store (it writes direct through it): made just below.
    auditLog: {
      settle: () => auditLog?.settle(),
      get pending(): boolean {
        return auditLog?.pending ?? false;
      },
      written: (filed, pended) => auditLog?.written(filed, pended),
    },
  });
  auditLog = new SqliteAuditLog(
    {
      main: conn,
      journal: journalConnection,
      resources,
      now,
      busyTimeoutMs: options.busyTimeoutMs ?? 10_000,
    },
    options.auditLog,
  );
  // Events a process left journaled when it stopped are filed before anything reads the store.
  auditLog.settle();
  resources.reindexIfNeeded(options.onReindexProgress);
  const journaled = auditLog;
  const auth = new SqliteAuthStore(conn);
  const backgroundCheckpoints = new BackgroundCheckpoints(
    [conn, inboxConnection, journalConnection],
    options.backgroundCheckpoints,
  );
  // Jobs live in the main file (workers' follow-ups) and the inbox (receivers'): a commit to either
  // from another process may be work for a worker here.
  const commits = new CommitSignal([conn, inboxConnection]);
  let closing: Promise<void> | undefined;
  return {
    kind: 'sqlite',
    resources,
    jobs,
    auth,
    sequences: new SqliteSequenceStore(conn),
    auditLog,
    connection: conn,
    inboxConnection,
    auditJournalConnection: journalConnection,
    backgroundCheckpoints,
    async ping(): Promise<void> {
      conn.get('SELECT 1 AS ok');
      inboxConnection.get('SELECT 1 AS ok');
      journalConnection.get('SELECT 1 AS ok');
    },
    watchCommits: (listener) => commits.subscribe(listener),
    // Once: a second call (a test's cleanup after the test closed it, a stop racing a signal)
    // waits for the first instead of reading through closed connections.
    close(): Promise<void> {
      closing ??= (async () => {
        commits.close();
        await journaled.stop();
        await backgroundCheckpoints.stop();
        journalConnection.close();
        inboxConnection.close();
        conn.close();
      })();
      return closing;
    },
  };
}

export type { SynchronousMode } from './db.ts';
