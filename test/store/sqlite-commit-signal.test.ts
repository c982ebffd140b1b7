/**
 * The embedded store's signal of other connections' commits (`watchCommits`,
 * src/store/sqlite/commit-signal.ts): another store on the same files — what another process is to
 * SQLite — committing a resource or an inbox job calls the listener; this store's own commits do
 * not (their jobs wake their workers in-process); after unsubscribing, or once the store is closed,
 * nothing is called.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import { INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { waitFor } from '../support/wait.ts';

const TENANT = 't';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-commit-signal-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Long enough for the kernel's report of a commit to have reached this process's event loop. */
const SETTLE_MS = 300;
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

async function pair(name: string): Promise<{ here: SqliteStore; elsewhere: SqliteStore }> {
  const file = path.join(dir, `${name}.db`);
  const here = await openSqliteStore({ path: file });
  const elsewhere = await openSqliteStore({ path: file });
  return { here, elsewhere };
}

test('another connection committing a resource or an inbox job calls the listener', async () => {
  const { here, elsewhere } = await pair('others');
  let calls = 0;
  const unsubscribe = here.watchCommits?.(() => {
    calls++;
  });
  try {
    expect(unsubscribe).toBeDefined();
    await elsewhere.resources.create(TENANT, { resourceType: 'Patient', name: [{ family: 'Elsewhere' }] });
    await waitFor('a call after the resource', () => calls >= 1);
    const before = calls;
    // A receiver's job: in the inbox file, beside the main one.
    await elsewhere.jobs.enqueue(TENANT, { queue: INGEST_QUEUE, key: 'from-elsewhere', payload: {} });
    await waitFor('a call after the inbox job', () => calls > before);
  } finally {
    unsubscribe?.();
    await elsewhere.close();
    await here.close();
  }
});

test("the store's own commits call no listener", async () => {
  const { here, elsewhere } = await pair('own');
  let calls = 0;
  const unsubscribe = here.watchCommits?.(() => {
    calls++;
  });
  try {
    await here.resources.create(TENANT, { resourceType: 'Patient', name: [{ family: 'Here' }] });
    await here.jobs.enqueue(TENANT, { queue: INGEST_QUEUE, key: 'from-here', payload: {} });
    await settle();
    expect(calls).toBe(0);
    // The watch is live all the same: the other connection's commit is seen.
    await elsewhere.resources.create(TENANT, { resourceType: 'Patient', name: [{ family: 'Elsewhere' }] });
    await waitFor('a call after the other connection', () => calls >= 1);
  } finally {
    unsubscribe?.();
    await elsewhere.close();
    await here.close();
  }
});

test('after unsubscribing, and after the store closes, nothing is called', async () => {
  const { here, elsewhere } = await pair('unsubscribed');
  let unsubscribed = 0;
  let closed = 0;
  const unsubscribe = here.watchCommits?.(() => {
    unsubscribed++;
  });
  here.watchCommits?.(() => {
    closed++;
  });
  let open = true;
  try {
    unsubscribe?.();
    await elsewhere.resources.create(TENANT, { resourceType: 'Patient', name: [{ family: 'One' }] });
    await waitFor('the listener still subscribed called', () => closed >= 1);
    expect(unsubscribed).toBe(0);
    open = false;
    await here.close();
    const afterClose = closed;
    await elsewhere.resources.create(TENANT, { resourceType: 'Patient', name: [{ family: 'Two' }] });
    await settle();
    expect(closed).toBe(afterClose);
  } finally {
    await elsewhere.close();
    if (open) {
      await here.close();
    }
  }
});
