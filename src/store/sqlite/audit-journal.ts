/**
 * The audit journal: a SQLite file of its own beside the main one (`dripline.sqlite` →
 * `dripline-audit.sqlite`) where the read audits wait, durable, to be filed as AuditEvents.
 *
 * Why: every FHIR read writes an AuditEvent before it is answered. Filed in the main file, an
 * event is a resource row and ~11 search-index rows, and its `entity` row lands on a random page
 * of the reference index: about half of a read's CPU, on the thread that answers requests. The
 * journal takes the event as one appended row (durable when the read is answered, as before), and
 * a thread (./audit-thread.ts) files the rows in the main file in batches, on another core.
 *
 * Moving (`moveJournaled`) is idempotent, so the thread, another process, and a reader that
 * needs the events now may all move the same rows: filing keeps the first copy of an id
 * (./audit-filing.ts); rows leave the journal after the main file's commit. A crash between the two commits leaves rows that are
 * moved again, as no-ops. `seq` is AUTOINCREMENT so a number is never reused: a mover deletes
 * "through seq n" after its commit, and a reused number could name a row it never moved.
 */
import type { StoredResource, TenantId } from '../port.ts';
import { fileAuditEventsInTx } from './audit-filing.ts';
import type { SqliteConnection } from './db.ts';
import type { SqliteConnectionOptions } from './db.ts';
import { limitSql } from './limit.ts';
import { openSideFile, sideFilePathFor } from './side-file.ts';

const AUDIT_JOURNAL_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE audit_journal (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    json   TEXT NOT NULL          -- the AuditEvent as it will be stored (id and meta stamped)
  );
  `,
];

/** The journal holds seconds of events at most: a small page cache is plenty. */
const JOURNAL_PAGE_CACHE_KIB = 4 * 1024;

const SQL = {
  append: 'INSERT INTO audit_journal (tenant, json) VALUES (?, ?)',
  oldest: (limit: number) => `SELECT seq, tenant, json FROM audit_journal ORDER BY seq ${limitSql(limit)}`,
  removeThrough: 'DELETE FROM audit_journal WHERE seq <= ?',
  any: 'SELECT seq FROM audit_journal LIMIT 1',
  count: 'SELECT count(*) AS n FROM audit_journal',
} as const;

/** The journal file beside the main one: `<name>-audit<ext>`. */
export function auditJournalPathFor(mainPath: string): string {
  return sideFilePathFor(mainPath, 'audit');
}

/** Opens (creating or migrating) the journal file. */
export function openAuditJournal(options: Omit<SqliteConnectionOptions, 'pageCacheKib'>): SqliteConnection {
  return openSideFile(options, JOURNAL_PAGE_CACHE_KIB, AUDIT_JOURNAL_MIGRATIONS);
}

/** Appends stamped AuditEvents inside the caller's transaction on the journal. */
export function appendJournaledInTx(
  journal: SqliteConnection,
  tenant: TenantId,
  events: readonly StoredResource[],
): void {
  const append = journal.statement(SQL.append);
  for (const event of events) {
    append.run(tenant, JSON.stringify(event));
  }
}

/** Whether the journal holds any row (one index probe). */
export function journalHasRows(journal: SqliteConnection): boolean {
  return journal.get(SQL.any) !== undefined;
}

/** How many rows the journal holds (a few thousand at most: `maxBacklog`, ./audit-log.ts). */
export function journalRowCount(journal: SqliteConnection): number {
  return Number(journal.get(SQL.count)?.['n'] ?? 0);
}

/**
 * Files up to `limit` of the oldest journaled events in the main file (the row and its index rows,
 * in one transaction), then removes them from the journal. Returns how many rows it took.
 */
export function moveJournaled(main: SqliteConnection, journal: SqliteConnection, limit: number): number {
  const rows = journal.all(SQL.oldest(limit));
  const last = rows.at(-1);
  if (last === undefined) {
    return 0;
  }
  main.transaction(() => fileAuditEventsInTx(main, rows));
  journal.run(SQL.removeThrough, Number(last['seq']));
  return rows.length;
}
