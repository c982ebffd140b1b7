/**
 * The embedded store's connections keep a 64 MB page cache (src/store/sqlite/db.ts), not SQLite's
 * 2 MB default: with the default, the write rate fell ~5× between 10,000 and 400,000 resources as
 * the index B-trees outgrew the cache (bench:scale); with it, the rate at 300,000 matched the rate
 * at 10,000.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-page-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('an opened store reads through a 64 MB page cache', async () => {
  const store = await openSqliteStore({ path: join(dir, 'store.sqlite') });
  try {
    const row = store.connection.get('PRAGMA cache_size');
    // A negative cache_size is a size in KiB.
    expect(row?.['cache_size']).toBe(-64 * 1024);
  } finally {
    await store.close();
  }
});
