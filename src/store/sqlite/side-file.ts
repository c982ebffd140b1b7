/**
 * The store's side files: SQLite files of their own beside the main one, each for writes that
 * must not wait for the main file's write lock (the inbox: ./inbox.ts; the audit journal:
 * ./audit-journal.ts). A side file has its own migrations and a page cache sized to what it holds.
 */
import path from 'node:path';
import { SqliteConnection } from './db.ts';
import type { SqliteConnectionOptions } from './db.ts';
import { migrate } from './schema.ts';

/** The side file `<name>-<suffix><ext>` beside the main file `<name><ext>`. */
export function sideFilePathFor(mainPath: string, suffix: string): string {
  const ext = path.extname(mainPath);
  return `${mainPath.slice(0, mainPath.length - ext.length)}-${suffix}${ext}`;
}

/** Opens (creating or migrating with its own list) a side file. */
export function openSideFile(
  options: Omit<SqliteConnectionOptions, 'pageCacheKib'>,
  pageCacheKib: number,
  migrations: readonly string[],
): SqliteConnection {
  const conn = new SqliteConnection({ ...options, pageCacheKib });
  try {
    migrate(conn, migrations);
  } catch (err) {
    conn.close();
    throw err;
  }
  return conn;
}
