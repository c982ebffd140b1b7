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

/** A listener on `store` that counts its calls. */
function listen(store: SqliteStore): { readonly calls: () => number; readonly unsubscribe: () => void } {
  let calls = 0;
  const unsubscribe = store.watchCommits?.(() => {
    calls++;
  });
  if (!unsubscribe) {
    throw new Error('the embedded store offers no commit signal');
  }
  return { calls: () => calls, unsubscribe };
}

/** Two stores on one file — this process's and "another process's" — for `body`; both closed after it. */
async function withPair(
  name: string,
  body: (here: SqliteStore, elsewhere: SqliteStore) => Promise<void>,
): Promise<void> {
  const file = path.join(dir, `${name}.db`);
  const here = await openSqliteStore({ path: file });
  const elsewhere = await openSqliteStore({ path: file });
  try {
    await body(here, elsewhere);
  } finally {
    // `here` may be closed already (the last test closes it): closing again is a no-op.
    await Promise.all([elsewhere.close(), here.close()]);
  }
}

const patient = (family: string) => ({ resourceType: 'Patient' as const, name: [{ family }] });

test('another connection committing a resource or an inbox job calls the listener', () =>
  withPair('others', async (here, elsewhere) => {
    const listener = listen(here);
    await elsewhere.resources.create(TENANT, patient('Elsewhere'));
    await waitFor('a call after the resource', () => listener.calls() >= 1);
    const before = listener.calls();
    // A receiver's job: in the inbox file, beside the main one.
    await elsewhere.jobs.enqueue(TENANT, { queue: INGEST_QUEUE, key: 'from-elsewhere', payload: {} });
    await waitFor('a call after the inbox job', () => listener.calls() > before);
    listener.unsubscribe();
  }));

test("the store's own commits call no listener", () =>
  withPair('own', async (here, elsewhere) => {
    const listener = listen(here);
    await here.resources.create(TENANT, patient('Here'));
    await here.jobs.enqueue(TENANT, { queue: INGEST_QUEUE, key: 'from-here', payload: {} });
    await settle();
    expect(listener.calls()).toBe(0);
    // The watch is live all the same: the other connection's commit is seen.
    await elsewhere.resources.create(TENANT, patient('Elsewhere'));
    await waitFor('a call after the other connection', () => listener.calls() >= 1);
    listener.unsubscribe();
  }));

test('after unsubscribing, and after the store closes, nothing is called', () =>
  withPair('unsubscribed', async (here, elsewhere) => {
    const unsubscribed = listen(here);
    const kept = listen(here);
    unsubscribed.unsubscribe();
    await elsewhere.resources.create(TENANT, patient('One'));
    await waitFor('the listener still subscribed called', () => kept.calls() >= 1);
    expect(unsubscribed.calls()).toBe(0);
    await here.close();
    const afterClose = kept.calls();
    await elsewhere.resources.create(TENANT, patient('Two'));
    await settle();
    expect(kept.calls()).toBe(afterClose);
  }));
