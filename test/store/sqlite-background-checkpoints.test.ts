/**
 * WAL checkpoints in a thread (src/store/sqlite/background-checkpoints.ts): once a store's WAL has
 * grown past a threshold, a thread with its own connections copies the WAL into the database
 * files, and the writers' commits no longer run checkpoints themselves (their auto-checkpoint is a
 * backstop). Seen from the files: in WAL mode the database file only takes the committed pages when
 * a checkpoint copies them there.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { Patient } from '@medplum/fhirtypes';
import { BACKSTOP_PAGES } from '../../src/store/sqlite/background-checkpoints.ts';
import { WAL_AUTOCHECKPOINT_PAGES } from '../../src/store/sqlite/db.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { waitFor } from '../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-background-checkpoints-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const TENANT = 't1';
/** Above what a new store's schema writes (~0.5 MB), far below the connections' own auto-checkpoint. */
const START_AT = 1024 * 1024;

let opened = 0;
async function open(): Promise<{ store: SqliteStore; path: string }> {
  const path = join(dir, `store-${String(++opened)}.sqlite`);
  const store = await openSqliteStore({
    path,
    backgroundCheckpoints: { startAtWalBytes: START_AT, intervalMs: 20 },
  });
  return { store, path };
}

async function writePatients(store: SqliteStore, count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    const patient: Patient = {
      resourceType: 'Patient',
      name: [{ family: `Family-${String(n)}`, given: ['A', 'B'] }],
      birthDate: '1970-01-01',
      address: [
        { line: [`${String(n)} ${'Long Street Name '.repeat(8)}`], city: 'Springfield', postalCode: '01101' },
      ],
    };
    await store.resources.create(TENANT, patient);
  }
}

const autocheckpoint = (store: SqliteStore, which: 'connection' | 'inboxConnection'): unknown =>
  store[which].get('PRAGMA wal_autocheckpoint')?.['wal_autocheckpoint'];

describe('background checkpoints', () => {
  test('a store written hard is checkpointed by a thread, and its commits only keep a backstop', async () => {
    const { store, path } = await open();
    const fileAtStart = statSync(path).size;
    await writePatients(store, 1000);
    await store.jobs.enqueueInbox(TENANT, [{ queue: INBOX_QUEUE, key: 'k1', payload: { n: 1 } }]);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(START_AT);

    await waitFor(
      'the thread running and a round done',
      () => store.backgroundCheckpoints.rounds >= 1,
      10_000,
      10,
    );
    // The pages reached the database file without any commit running a checkpoint: the WAL is far
    // below the connections' own threshold.
    await waitFor(
      'the database file filled',
      () => statSync(path).size > fileAtStart + START_AT / 2,
      10_000,
      10,
    );
    expect(store.backgroundCheckpoints.running).toBe(true);
    expect(autocheckpoint(store, 'connection')).toBe(BACKSTOP_PAGES);
    expect(autocheckpoint(store, 'inboxConnection')).toBe(BACKSTOP_PAGES);
    expect(store.inboxConnection.checkpointedInBackground).toBe(true);

    // Still a working store, and what the thread copied is what was committed.
    await writePatients(store, 5);
    expect(await searchAll(store, TENANT, 'Patient')).toHaveLength(1005);
    await store.close();
    expect(store.backgroundCheckpoints.running).toBe(false);

    const reopened = await openSqliteStore({ path });
    expect(await searchAll(reopened, TENANT, 'Patient')).toHaveLength(1005);
    await reopened.close();
  });

  test('a store written lightly starts no thread and checkpoints as SQLite does', async () => {
    const { store, path } = await open();
    await writePatients(store, 10);
    expect(statSync(`${path}-wal`).size).toBeLessThan(START_AT);
    expect(store.backgroundCheckpoints.running).toBe(false);
    expect(autocheckpoint(store, 'connection')).toBe(WAL_AUTOCHECKPOINT_PAGES);
    expect(store.inboxConnection.checkpointedInBackground).toBe(false);
    await store.close();
  });

  test('a thread that fails leaves the connections checkpointing as before', async () => {
    const path = join(dir, `store-${String(++opened)}.sqlite`);
    const errors: Error[] = [];
    const store = await openSqliteStore({
      path,
      backgroundCheckpoints: {
        startAtWalBytes: START_AT,
        intervalMs: 20,
        onError: (err) => errors.push(err),
        threadModule: new URL('./no-such-checkpoint-thread.ts', import.meta.url),
      },
    });
    try {
      await writePatients(store, 1000);
      await waitFor(
        'the failed thread noticed',
        () => errors.length > 0 && !store.backgroundCheckpoints.running,
        10_000,
        10,
      );
      expect(autocheckpoint(store, 'connection')).toBe(WAL_AUTOCHECKPOINT_PAGES);
      expect(autocheckpoint(store, 'inboxConnection')).toBe(WAL_AUTOCHECKPOINT_PAGES);
      expect(store.inboxConnection.checkpointedInBackground).toBe(false);
      // Not started again and again as the WAL stays large: the commits do it from now on.
      await writePatients(store, 500);
      await new Promise((resolve) => setImmediate(resolve));
      expect(store.backgroundCheckpoints.running).toBe(false);
      expect(errors).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
