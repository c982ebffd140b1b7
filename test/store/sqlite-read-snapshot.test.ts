/**
 * `SqliteConnection.readSnapshot`: a batch of reads in one read transaction (charge capture's
 * planning thread plans a whole batch in one, so its connection's page cache is not dropped before
 * every read while the worker commits beside it). Every read inside sees the same snapshot, the
 * store's own read transactions nest in it, and a write inside is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Patient } from '@medplum/fhirtypes';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { StoreQuery } from '../../src/store/port.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 't';
const dir = mkdtempSync(join(tmpdir(), 'dripline-read-snapshot-'));
/** Every patient, one page; with the total, the store reads page and count in a transaction of its own. */
const patients = (total: boolean): StoreQuery => ({
  resourceType: 'Patient',
  filters: [],
  sort: [],
  count: 10,
  offset: 0,
  total,
});
let writer: SqliteStore;
let reader: SqliteStore;

beforeAll(async () => {
  writer = await openSqliteStore({ path: join(dir, 'store.sqlite') });
  reader = await openSqliteStore({ path: join(dir, 'store.sqlite') });
  await writer.resources.create(TENANT, { resourceType: 'Patient', gender: 'female' }, { id: 'p1' });
});
afterAll(async () => {
  await reader.close();
  await writer.close();
  rmSync(dir, { recursive: true, force: true });
});

test("reads inside a snapshot see none of another connection's commits made meanwhile; after it, they do", async () => {
  const seen = await reader.connection.readSnapshot(async () => {
    const before = await reader.resources.search(TENANT, patients(false));
    // Committed by the other connection while the snapshot is open.
    await writer.resources.create(TENANT, { resourceType: 'Patient', gender: 'male' }, { id: 'p2' });
    await writer.resources.update(TENANT, { resourceType: 'Patient', id: 'p1', gender: 'other' });
    const p1 = (await reader.resources.read(TENANT, 'Patient', 'p1')) as Patient;
    // A search with a total runs its own (DEFERRED) transaction: inside the snapshot, it nests.
    const after = await reader.resources.search(TENANT, patients(true));
    return {
      before: before.resources.length,
      p1: p1.gender,
      after: after.resources.length,
      total: after.total,
    };
  });
  expect(seen).toEqual({ before: 1, p1: 'female', after: 1, total: 1 });

  const now = await reader.resources.search(TENANT, patients(false));
  expect(now.resources.map((p) => p.id).sort()).toEqual(['p1', 'p2']);
  expect(((await reader.resources.read(TENANT, 'Patient', 'p1')) as Patient).gender).toBe('other');
});

test('a write inside a snapshot is refused, and the snapshot still ends', async () => {
  await expect(
    reader.connection.readSnapshot(() =>
      reader.resources.create(TENANT, { resourceType: 'Patient' }, { id: 'p3' }),
    ),
  ).rejects.toThrow('inside a read snapshot');
  expect(reader.connection.db.isTransaction).toBe(false);
  // The connection writes again once the snapshot is over.
  await reader.resources.create(TENANT, { resourceType: 'Patient' }, { id: 'p3' });
  expect((await writer.resources.read(TENANT, 'Patient', 'p3')).id).toBe('p3');
});

test('a snapshot does not open inside another', async () => {
  await expect(
    reader.connection.readSnapshot(() => reader.connection.readSnapshot(() => Promise.resolve(1))),
  ).rejects.toThrow('already open');
  expect(reader.connection.db.isTransaction).toBe(false);
});
