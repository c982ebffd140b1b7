/**
 * Embedded stores for a test file, in a temporary folder removed after the file: one for the whole
 * file (`storePerFile`), or a fresh one for each test (`storePerTest`: a job one test left behind
 * is never leased by the next test's worker; `storeForEachConcurrentTest` for tests run at once).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, test } from '@jest/globals';
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

/**
 * Registers the hooks: before the file's first test `use` gets the file's store on the clock `now`
 * (the tests move it), closed and removed after the last.
 */
export function storePerFile(prefix: string, now: () => Date, use: (store: SqliteStore) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let opened: SqliteStore | undefined;
  beforeAll(async () => {
    opened = await openSqliteStore({ path: path.join(dir, 'store.db'), now });
    use(opened);
  });
  afterAll(async () => {
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * Embedded stores for tests that run at once (`test.concurrent`: jest runs no beforeEach or
 * afterEach for them): `test(name, body)` is a concurrent test whose `body` gets a store of its
 * own, closed after it whatever happened. The folder (`dir`, for a test's other files) is removed
 * after the file.
 */
export function storeForEachConcurrentTest(prefix: string): {
  readonly dir: string;
  readonly test: (name: string, body: (store: SqliteStore) => Promise<void>, timeoutMs?: number) => void;
} {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let count = 0;
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const using = async (body: (store: SqliteStore) => Promise<void>): Promise<void> => {
    count += 1;
    const store = await openSqliteStore({ path: path.join(dir, `store-${count}.db`) });
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };
  return {
    dir,
    test: (name, body, timeoutMs) => test.concurrent(name, () => using(body), timeoutMs),
  };
}
