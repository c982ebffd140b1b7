/** Durable counters over SQLite: one row per (tenant, name), incremented in one statement. */
/* eslint-disable @typescript-eslint/require-await -- node:sqlite is synchronous: the async method exists to
   satisfy the port and turn throws into rejections; no transaction ever spans an await. */
import type { SequenceStore, TenantId } from '../port.ts';
import type { SqliteConnection } from './db.ts';

const NEXT =
  'INSERT INTO sequences (tenant, name, value) VALUES (?, ?, 1) ' +
  'ON CONFLICT (tenant, name) DO UPDATE SET value = value + 1 RETURNING value';

export class SqliteSequenceStore implements SequenceStore {
  readonly #conn: SqliteConnection;

  constructor(conn: SqliteConnection) {
    this.#conn = conn;
  }

  async next(tenant: TenantId, name: string): Promise<number> {
    // IMMEDIATE: the write lock is taken first, so two processes on one file queue up here.
    const row = this.#conn.transaction(() => this.#conn.get(NEXT, tenant, name));
    const value = Number(row?.['value']);
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`sequence ${name} returned ${String(row?.['value'])}`);
    }
    return value;
  }
}
