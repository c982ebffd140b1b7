/**
 * Filing waiting audit events as AuditEvent resources: the resource row and its search index rows,
 * inside the caller's transaction on the main file. Shared by the two places events wait — the
 * audit journal beside the main file (reads' events, ./audit-journal.ts) and the pending table in
 * it (writes' events, ./audit-pending.ts) — so an event is filed the same way whichever it came by.
 *
 * Idempotent: the main file keeps the first copy of an id (INSERT OR IGNORE on (tenant, type, id))
 * and only a row it kept gets index rows, so an event filed twice (a journal row moved again after
 * a crash between the two files' commits) is one AuditEvent.
 */
import type { StoredResource } from '../port.ts';
import { indexResource } from '../search-index.ts';
import type { Row, SqliteConnection } from './db.ts';
import { IndexRows, insertIndexRows } from './index-rows.ts';
import { INSERT_CURRENT } from './schema.ts';

/** Files each row's event (`tenant`, `json`: the AuditEvent as stored, id and meta stamped). */
export function fileAuditEventsInTx(main: SqliteConnection, rows: readonly Row[]): void {
  const index = new IndexRows();
  const insert = main.statement(INSERT_CURRENT);
  for (const row of rows) {
    const tenant = String(row['tenant']);
    const json = String(row['json']);
    const event = JSON.parse(json) as StoredResource;
    const inserted = insert.run(tenant, event.resourceType, event.id, 1, event.meta.lastUpdated, json);
    if (Number(inserted.changes) === 1) {
      index.add(tenant, event.resourceType, Number(inserted.lastInsertRowid), indexResource(event));
    }
  }
  insertIndexRows(main, index);
}
