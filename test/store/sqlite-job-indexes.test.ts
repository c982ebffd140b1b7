/**
 * The embedded store's job lease reads two partial indexes (src/store/sqlite/jobs.ts
 * JOBS_PARTIAL_INDEXES_SCHEMA): ready jobs by run time, leased ones by lease expiry. Finished jobs,
 * which stay for their keys' deduplication, are in neither. A file written with the whole indexes
 * is migrated, in both files (main and inbox), and what was pending there is leased after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, test } from '@jest/globals';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import type { SqliteConnection } from '../../src/store/sqlite/db.ts';
import { inboxPathFor } from '../../src/store/sqlite/inbox.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { anyDueSql, leaseSql } from '../../src/store/sqlite/jobs.ts';
import { SCHEMA_VERSION } from '../../src/store/sqlite/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-job-indexes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plan(conn: SqliteConnection, sql: string, ...params: (string | number)[]): string {
  return conn
    .all(`EXPLAIN QUERY PLAN ${sql}`, ...params)
    .map((row) => String(row['detail']))
    .join('\n');
}

function indexSql(conn: SqliteConnection, name: string): string {
  return String(conn.get("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", name)?.['sql']);
}

describe('job lease indexes', () => {
  test('the lease and the due check seek the partial indexes, in the main file and the inbox', async () => {
    const store = await openSqliteStore({ path: join(dir, 'plan.sqlite') });
    try {
      const now = new Date().toISOString();
      for (const conn of [store.connection, store.inboxConnection]) {
        expect(indexSql(conn, 'jobs_ready')).toMatch(/WHERE state = 'ready'/);
        expect(indexSql(conn, 'jobs_leased')).toMatch(/WHERE state = 'leased'/);
        const lease = plan(conn, leaseSql(64), now, now, 'q', now, 'q', now);
        const due = plan(conn, anyDueSql, 'q', now, 'q', now);
        for (const text of [lease, due]) {
          expect(text).toContain('INDEX jobs_ready (queue=? AND run_at<?)');
          expect(text).toContain('INDEX jobs_leased (queue=? AND lease_expires_at<?)');
          expect(text).not.toMatch(/SCAN jobs/);
        }
      }
    } finally {
      await store.close();
    }
  });

  test('a job is leased when due, again when its lease expires, and never once done', async () => {
    const store = await openSqliteStore({ path: join(dir, 'lifecycle.sqlite') });
    try {
      const t0 = new Date('2026-12-07T10:00:00Z');
      const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000);
      // Both run times explicit: a default (the store's clock, now) would be after t0 some days.
      await store.jobs.enqueue('t', { queue: 'q', key: 'a', payload: 1, runAt: at(0).toISOString() });
      await store.jobs.enqueue('t', { queue: 'q', key: 'b', payload: 2, runAt: at(60).toISOString() });
      const first = await store.jobs.lease({ queue: 'q', leaseMs: 10_000, limit: 10, now: at(1) });
      expect(first.map((j) => j.key)).toEqual(['a']);
      expect(await store.jobs.lease({ queue: 'q', leaseMs: 10_000, limit: 10, now: at(5) })).toEqual([]);
      // Expired: leased again, with the other now due too.
      const second = await store.jobs.lease({ queue: 'q', leaseMs: 10_000, limit: 10, now: at(61) });
      expect(second.map((j) => j.key).sort()).toEqual(['a', 'b']);
      expect(await store.jobs.ackMany(second.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken! })))).toBe(
        2,
      );
      expect(await store.jobs.lease({ queue: 'q', leaseMs: 10_000, limit: 10, now: at(3600) })).toEqual([]);
      // Finished, they still deduplicate their keys.
      expect((await store.jobs.enqueue('t', { queue: 'q', key: 'a', payload: 3 })).created).toBe(false);
    } finally {
      await store.close();
    }
  });

  test('a file written with the whole indexes is migrated, and its pending jobs are leased after', async () => {
    const path = join(dir, 'older.sqlite');
    const store = await openSqliteStore({ path });
    await store.jobs.enqueue('t', { queue: 'q', key: 'main-1', payload: 1 });
    await store.jobs.enqueue('t', { queue: INBOX_QUEUE, key: 'inbox-1', payload: 2 });
    await store.close();
    // As the files were before: the whole indexes, and the schema versions before this migration.
    for (const [file, version] of [
      [path, SCHEMA_VERSION - 1],
      [inboxPathFor(path), 2],
    ] as const) {
      const db = new DatabaseSync(file);
      db.exec(`
        DROP INDEX jobs_ready;
        CREATE INDEX jobs_ready ON jobs (queue, state, run_at);
        DROP INDEX jobs_leased;
        CREATE INDEX jobs_leased ON jobs (queue, state, lease_expires_at);
      `);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(version));
      db.close();
    }
    const reopened = await openSqliteStore({ path });
    try {
      for (const conn of [reopened.connection, reopened.inboxConnection]) {
        expect(indexSql(conn, 'jobs_ready')).toMatch(/WHERE state = 'ready'/);
        expect(indexSql(conn, 'jobs_leased')).toMatch(/WHERE state = 'leased'/);
      }
      const now = new Date(Date.now() + 1000);
      const main = await reopened.jobs.lease({ queue: 'q', leaseMs: 10_000, limit: 10, now });
      const inbox = await reopened.jobs.lease({ queue: INBOX_QUEUE, leaseMs: 10_000, limit: 10, now });
      expect(main.map((j) => j.key)).toEqual(['main-1']);
      expect(inbox.map((j) => j.key)).toEqual(['inbox-1']);
    } finally {
      await reopened.close();
    }
  });
});
