/**
 * No statement the SQLite store prepares binds its LIMIT (src/store/sqlite/limit.ts): a bound LIMIT
 * made SQLite prepare the statement again on every run, 5–12 µs each, on every search page, probe,
 * lease and history read. Every statement prepared while the store's read and write paths run is
 * recorded and checked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, expect, jest, test } from '@jest/globals';
import type { Patient } from '@medplum/fhirtypes';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { limitSql } from '../../src/store/sqlite/limit.ts';
import { encounter, patient } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('limitSql writes a count and refuses anything else', () => {
  expect(limitSql(0)).toBe('LIMIT 0');
  expect(limitSql(1000)).toBe('LIMIT 1000');
  expect(limitSql('all')).toBe('LIMIT -1');
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    expect(() => limitSql(bad)).toThrow(RangeError);
  }
});

test("the store's searches, history, leases and listings prepare no statement with a bound LIMIT", async () => {
  // Records every statement this thread prepares, on every connection (main file and side files).
  const prepare = jest.spyOn(DatabaseSync.prototype, 'prepare');
  let prepared: string[] = [];
  const store = await openSqliteStore({ path: join(dir, 'limits.sqlite') });
  try {
    const tenant = 'limits';
    const { resource: pat } = await store.resources.create(tenant, patient({ mrn: 'L-1', family: 'Limit' }));
    const mark = await store.resources.writeMark(tenant);
    for (let i = 0; i < 3; i++) {
      await store.resources.create(
        tenant,
        encounter({
          patientId: pat.id,
          period: { start: `2026-11-2${String(i)}T09:00:00Z`, end: `2026-11-2${String(i)}T11:00:00Z` },
        }),
      );
    }
    const updated = await store.resources.update(tenant, {
      ...(pat as Patient & StoredResource),
      name: [{ family: 'Limited' }],
    });
    const byPatient = [{ code: 'patient', kind: 'reference' as const, values: [`Patient/${pat.id}`] }];
    expect(await searchAll(store, tenant, 'Encounter', byPatient)).toHaveLength(3);
    const page = await store.resources.search(tenant, {
      resourceType: 'Encounter',
      filters: byPatient,
      sort: [{ code: '_id', descending: false }],
      count: 2,
      offset: 1,
      total: true,
    });
    expect(page).toMatchObject({ total: 3 });
    expect(page.resources).toHaveLength(2);
    expect((await store.resources.history(tenant, 'Patient', pat.id, { count: 1 })).resources).toEqual([
      updated.resource,
    ]);
    expect((await store.resources.history(tenant, 'Patient', pat.id)).total).toBe(2);
    expect(await store.resources.writtenSince(tenant, mark!, { exceptTypes: [], limit: 10 })).toHaveLength(4);

    const queue = 'limits-queue';
    const now = new Date(Date.now() + 1000);
    await store.jobs.enqueue(tenant, { queue, key: 'enc-1|a', payload: {} });
    await store.jobs.enqueue(tenant, { queue, key: 'enc-1|b', payload: {} });
    // Due after the lease's instant: the lease of one takes enc-1|a and its sibling only.
    const later = new Date(now.getTime() + 60_000).toISOString();
    await store.jobs.enqueue(tenant, { queue, key: 'enc-2|a', payload: {}, runAt: later });
    const leased = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now, siblingsBy: '|' });
    expect(leased.map((j) => j.key).sort()).toEqual(['enc-1|a', 'enc-1|b']);
    expect(await store.jobs.listJobs(tenant, queue, 'ready', 10)).toHaveLength(1);
    expect(
      await store.jobs.listJobs(tenant, queue, 'leased', 10, { createdSince: '2000-01-01T00:00:00Z' }),
    ).toHaveLength(2);
    await store.jobs.purgeDone(tenant, queue, now.toISOString(), 10);
    await store.jobs.purgeDone(tenant, queue, now.toISOString(), 10, { keyPrefix: 'enc-1|' });
  } finally {
    await store.close();
    prepared = prepare.mock.calls.map(([sql]) => sql);
    prepare.mockRestore();
  }
  const limited = prepared.filter((sql) => /\bLIMIT\b/i.test(sql));
  expect(limited.length).toBeGreaterThan(5); // the check saw the paged statements
  expect(limited.filter((sql) => /\bLIMIT\s+\?/i.test(sql))).toEqual([]);
});

test('the statement cache keeps a statement in use however many others come and go', async () => {
  const store = await openSqliteStore({ path: join(dir, 'cache.sqlite') });
  try {
    const hot = 'SELECT count(*) AS n FROM resources';
    const first = store.connection.statement(hot);
    // Pages of many sizes: each count is its own SQL text (limitSql), more of them than the cache holds.
    for (let count = 1; count <= 1500; count++) {
      store.connection.all(`SELECT id FROM resources ${limitSql(count)}`);
      if (count % 100 === 0) {
        expect(store.connection.statement(hot)).toBe(first);
      }
    }
    expect(store.connection.statement(hot)).toBe(first);
  } finally {
    await store.close();
  }
});
