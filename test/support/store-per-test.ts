/**
 * A fresh embedded store for each test of a file, in a temporary folder removed after the file:
 * a job one test left behind is never leased by the next test's worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach } from '@jest/globals';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

/**
 * Registers the hooks: before each test `use` gets the test's own store, closed after it.
 * Resolves to the folder (for a test's other files).
 */
export function storePerTest(prefix: string, use: (store: SqliteStore) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let opened: SqliteStore | undefined;
  let count = 0;
  beforeEach(async () => {
    count += 1;
    opened = await openSqliteStore({ path: path.join(dir, `store-${count}.db`) });
    use(opened);
  });
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
