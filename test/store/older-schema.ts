/**
 * What a closed SQLite file written under an older schema held that today's does not, put back,
 * so that a test can open the file as that schema's and watch it migrate.
 */
import { DatabaseSync } from 'node:sqlite';

/**
 * As a closed file from before schema 7 would look: conditional create's own identifiers table,
 * with its per-resource tree (as schemas 1–3 made it; migration 4 rebuilt it), holding `rows`.
 */
export function withIdentifiersTable(
  path: string,
  rows: readonly { tenant: string; type: string; system: string; value: string; res: number }[] = [],
): void {
  const db = new DatabaseSync(path);
  db.exec(`
    CREATE TABLE identifiers (
      tenant TEXT NOT NULL, type TEXT NOT NULL, system TEXT NOT NULL, value TEXT NOT NULL,
      res INTEGER NOT NULL REFERENCES resources (pk),
      PRIMARY KEY (tenant, type, value, system, res)
    ) WITHOUT ROWID;
    CREATE INDEX identifiers_res ON identifiers (res);
  `);
  const insert = db.prepare(
    'INSERT INTO identifiers (tenant, type, system, value, res) VALUES (?, ?, ?, ?, ?)',
  );
  for (const r of rows) {
    insert.run(r.tenant, r.type, r.system, r.value, r.res);
  }
  db.close();
}

/**
 * As a closed file from before schema 6 would look: no pending audit table (dropped once the store
 * is closed: closing files what the table holds), and the identifiers table of before schema 7.
 */
export function asBeforeSchema6(path: string): void {
  const db = new DatabaseSync(path);
  db.exec('DROP TABLE audit_pending');
  db.close();
  withIdentifiersTable(path);
}
