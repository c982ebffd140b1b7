/**
 * Analytics reads each tenant's history once at start (src/server.ts) only in a process that will
 * be asked for it: one that builds claims (the denial forecast) or runs no worker (a receiver,
 * which serves the app). A worker process without the claim workflow does not read it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import type { Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { StartOptions } from '../../src/server.ts';
import { NO_WORKERS, startTestServer } from '../support/harness.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-warm-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a server on a store that counts Claim searches, stops it (which awaits the warm-up), returns the count. */
async function claimSearchesAtStart(name: string, options: StartOptions): Promise<number> {
  const store = await openSqliteStore({ path: path.join(dir, `${name}.sqlite`) });
  let claimSearches = 0;
  const resources = store.resources;
  const counting: Store = {
    ...store,
    resources: Object.assign(Object.create(resources) as typeof resources, {
      search: (...args: Parameters<typeof resources.search>) => {
        if (args[1].resourceType === 'Claim') {
          claimSearches += 1;
        }
        return resources.search(...args);
      },
    }),
  };
  const server = await startTestServer({}, { ...options, store: counting });
  await server.stop();
  await store.close();
  return claimSearches;
}

test('a receiver (no worker) and a process building claims read the history at start', async () => {
  expect(await claimSearchesAtStart('receiver', NO_WORKERS)).toBeGreaterThan(0);
  expect(await claimSearchesAtStart('claims', { ...NO_WORKERS, claims: true })).toBeGreaterThan(0);
});

test('a worker process without the claim workflow does not', async () => {
  expect(await claimSearchesAtStart('capture', { ...NO_WORKERS, chargeCapture: true })).toBe(0);
  expect(await claimSearchesAtStart('ingest', { ...NO_WORKERS, ingest: true })).toBe(0);
});
