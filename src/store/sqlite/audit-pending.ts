/**
 * Pending audit events: the AuditEvents of FHIR writes (create, update), kept in the main file as
 * one row each, in the write's own transaction, for the audit thread (./audit-thread.ts) to file
 * as AuditEvent resources with their search index rows.
 *
 * Why: filed at once, a write's AuditEvent is a resource row, ~11 index rows and 5 sort keys in
 * the write's transaction — about a third of a FHIR create's CPU (a probe of 5 s, 32 connections:
 * 305–410 µs a create with it, 218–234 without), all on the thread that answers requests. The
 * pending row keeps what matters of doing it at once: the event commits with the write or not at
 * all, and is durable when the write is answered. Unlike read audits (./audit-journal.ts) it
 * cannot wait in a file of its own: one transaction cannot span two files.
 *
 * Moving (`movePending`) takes rows, files them and deletes them in one transaction on the main
 * file, so a row is filed once whoever moves it. The table: schema.ts, migration 6.
 */
import type { StoredResource, TenantId } from '../port.ts';
import { fileAuditEventsInTx } from './audit-filing.ts';
import type { SqliteConnection } from './db.ts';
import { limitSql } from './limit.ts';

const SQL = {
  pend: 'INSERT INTO audit_pending (tenant, json) VALUES (?, ?)',
  oldest: (limit: number) => `SELECT seq, tenant, json FROM audit_pending ORDER BY seq ${limitSql(limit)}`,
  removeThrough: 'DELETE FROM audit_pending WHERE seq <= ?',
  any: 'SELECT seq FROM audit_pending LIMIT 1',
  count: 'SELECT count(*) AS n FROM audit_pending',
} as const;

/** Keeps a stamped AuditEvent for filing, inside the caller's transaction on the main file. */
export function pendAuditEventInTx(main: SqliteConnection, tenant: TenantId, event: StoredResource): void {
  main.run(SQL.pend, tenant, JSON.stringify(event));
}

/** Whether any event is pending (one index probe). */
export function pendingHasRows(main: SqliteConnection): boolean {
  return main.get(SQL.any) !== undefined;
}

/** How many events are pending (a few thousand at most: `maxBacklog`, ./audit-log.ts). */
export function pendingRowCount(main: SqliteConnection): number {
  return Number(main.get(SQL.count)?.['n'] ?? 0);
}

/** Files up to `limit` of the oldest pending events and removes them, in one transaction. */
export function movePending(main: SqliteConnection, limit: number): number {
  return main.transaction(() => {
    const rows = main.all(SQL.oldest(limit));
    const last = rows.at(-1);
    if (last === undefined) {
      return 0;
    }
    fileAuditEventsInTx(main, rows);
    main.run(SQL.removeThrough, Number(last['seq']));
    return rows.length;
  });
}
