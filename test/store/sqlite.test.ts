import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { Encounter, Patient } from '@medplum/fhirtypes';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteConnection } from '../../src/store/sqlite/db.ts';
import { MUTABLE_TYPES_SQL, SCHEMA_VERSION } from '../../src/store/sqlite/schema.ts';
import { compileSearch } from '../../src/store/sqlite/search-sql.ts';
import type { StoreQuery } from '../../src/store/port.ts';
import { spawnChild, stopChild } from '../support/child.ts';
import { describeStoreContract } from './contract.ts';
import { auditEvent, encounter, MRN_SYSTEM, patient } from './fixtures.ts';
import { asBeforeSchema6, withIdentifiersTable } from './older-schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-sqlite-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function freshPath(): string {
  counter += 1;
  return join(dir, `store-${counter}.db`);
}

describeStoreContract('SQLite', () => openSqliteStore({ path: freshPath() }));

describe('SQLite store specifics', () => {
  test('data persists across close and reopen; schema_version is recorded', async () => {
    const path = freshPath();
    const first = await openSqliteStore({ path });
    const { resource } = await first.resources.create('t1', patient({ mrn: 'P-1', family: 'Durable' }));
    const { jobId } = await first.jobs.enqueue('t1', { queue: 'q', key: 'k', payload: { a: 1 } });
    await first.auth.getOrInitSetting('signing-key', () => 'secret-1');
    await first.close();

    const second = await openSqliteStore({ path });
    const read = (await second.resources.read('t1', 'Patient', resource.id)) as Patient;
    expect(read.name?.[0]?.family).toBe('Durable');
    expect((await second.jobs.getJob(jobId))?.payload).toEqual({ a: 1 });
    expect(await second.auth.getOrInitSetting('signing-key', () => 'secret-2')).toBe('secret-1');
    expect(second.connection.get("SELECT value FROM meta WHERE key = 'schema_version'")?.['value']).toBe(
      String(SCHEMA_VERSION),
    );
    expect(second.connection.get('PRAGMA journal_mode')?.['journal_mode']).toBe('wal');
    // Off on purpose (src/store/sqlite/index.ts): the index rows' parents are checked by the test below.
    expect(second.connection.get('PRAGMA foreign_keys')?.['foreign_keys']).toBe(0);
    expect(second.connection.get('PRAGMA synchronous')?.['synchronous']).toBe(1); // NORMAL
    await second.close();

    const full = await openSqliteStore({ path, synchronous: 'FULL' });
    expect(full.connection.get('PRAGMA synchronous')?.['synchronous']).toBe(2);
    await full.close();
  });

  test('every index row names a stored resource after every kind of write (foreign_key_check)', async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path });
    const created = await store.resources.create('t1', patient({ mrn: 'FK-1', family: 'Keyed' }));
    const patientId = created.resource.id;
    const visit = await store.resources.create('t1', encounter({ patientId, visitNumber: 'V-FK-1' }));
    await store.resources.update('t1', { ...visit.resource, status: 'cancelled' } as Encounter & {
      id: string;
    });
    await store.resources.update('t1', { ...(created.resource as Patient), gender: 'male' } as Patient & {
      id: string;
    });
    await store.resources.create('t2', patient({ mrn: 'FK-1' }), { id: patientId });
    await store.resources.writeBatch('t1', [
      { op: 'create', resource: patient({ mrn: 'FK-2' }) },
      {
        op: 'create',
        resource: patient({ mrn: 'FK-2' }),
        options: { ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'FK-2' } },
      },
      { op: 'update', resource: { ...visit.resource, status: 'finished' } as Encounter & { id: string } },
      {
        op: 'create',
        resource: auditEvent('ae-fk-1', [`Patient/${patientId}`]),
        options: { id: 'ae-fk-1', indexLater: true },
      },
      { op: 'enqueue', job: { queue: 'q', key: 'fk', payload: {} } },
    ]);
    await store.resources.create('t1', auditEvent('ae-fk-2', [`Encounter/${visit.resource.id}`]), {
      id: 'ae-fk-2',
    });
    // A reindex (another index fingerprint) rewrites every index row.
    store.connection.run("UPDATE meta SET value = 'an-older-index' WHERE key = 'search_index'");
    await store.close();
    const reopened = await openSqliteStore({ path });
    const rows = (table: string): number =>
      Number(reopened.connection.get(`SELECT count(*) AS n FROM ${table}`)?.['n'] ?? 0);
    for (const table of ['idx_token', 'idx_reference', 'idx_date', 'idx_string', 'sort_keys']) {
      expect(rows(table)).toBeGreaterThan(0);
    }
    expect(reopened.connection.all('PRAGMA foreign_key_check')).toEqual([]);
    // The check sees an orphan (and the store does not refuse one: enforcement is off on purpose).
    reopened.connection.run(
      "INSERT INTO idx_token (tenant, type, code, system, value, res) VALUES ('t1', 'Patient', 'gender', '', 'x', 999999)",
    );
    expect(reopened.connection.all('PRAGMA foreign_key_check')).toEqual([
      expect.objectContaining({ table: 'idx_token', parent: 'resources' }),
    ]);
    await reopened.close();
  });

  test('tells what was written since a mark, across connections to the file (the contract runs it fully here)', async () => {
    const path = freshPath();
    const reader = await openSqliteStore({ path });
    const writer = await openSqliteStore({ path });
    const mark = await reader.resources.writeMark('t1');
    expect(mark).toBeDefined();
    const { resource } = await writer.resources.create('t1', patient({ mrn: 'P-9', family: 'Elsewhere' }));
    expect(await reader.resources.writtenSince('t1', mark!, { exceptTypes: [], limit: 10 })).toEqual([
      { reference: `Patient/${resource.id}`, references: [] },
    ]);
    await writer.close();
    await reader.close();
  });

  test('uses the injected clock and id generator', async () => {
    let n = 0;
    const store = await openSqliteStore({
      path: freshPath(),
      now: () => new Date('2025-01-02T03:04:05.678Z'),
      generateId: () => `fixed-${++n}`,
    });
    const { resource } = await store.resources.create('t', patient({ mrn: 'X' }));
    expect(resource.id).toBe('fixed-1');
    expect(resource.meta.lastUpdated).toBe('2025-01-02T03:04:05.678Z');
    const { jobId } = await store.jobs.enqueue('t', { queue: 'q', key: 'k', payload: null });
    expect((await store.jobs.getJob(jobId))?.runAt).toBe('2025-01-02T03:04:05.678Z');
    await store.close();
  });

  test('history rows cannot be updated or deleted', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    const { resource } = await store.resources.create('t', patient({ mrn: 'H' }));
    await store.resources.update('t', { ...(resource as Patient & { id: string }), active: false });
    expect(Number(store.connection.get('SELECT count(*) AS n FROM history')?.['n'])).toBe(1);
    expect(() => store.connection.run("UPDATE history SET json = '{}'")).toThrow(/append-only/);
    expect(() => store.connection.run('DELETE FROM history')).toThrow(/append-only/);
    await store.close();
  });

  test('a database from a newer schema is refused', async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path });
    store.connection.run("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    await store.close();
    await expect(openSqliteStore({ path })).rejects.toThrow(/newer/);
  });

  test('two Store instances on the same file see each other and never lease the same job', async () => {
    const path = freshPath();
    const a = await openSqliteStore({ path });
    const b = await openSqliteStore({ path });
    const created = await a.resources.create('t', patient({ mrn: 'SHARED' }));
    expect((await b.resources.read('t', 'Patient', created.resource.id)).id).toBe(created.resource.id);
    const total = 200;
    for (let i = 0; i < total; i++) {
      await (i % 2 === 0 ? a : b).jobs.enqueue('t', {
        queue: 'shared',
        key: `k${i}`,
        payload: i,
        runAt: '2020-01-01T00:00:00.000Z',
      });
    }
    const seen: string[] = [];
    const now = new Date();
    // Interleave lease calls from both instances until the queue is drained.
    for (;;) {
      const [fromA, fromB] = await Promise.all([
        a.jobs.lease({ queue: 'shared', leaseMs: 60_000, limit: 7, now }),
        b.jobs.lease({ queue: 'shared', leaseMs: 60_000, limit: 7, now }),
      ]);
      if (fromA.length + fromB.length === 0) {
        break;
      }
      seen.push(...fromA.map((j) => j.id), ...fromB.map((j) => j.id));
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    await a.close();
    await b.close();
  });

  test('a poll of a queue with nothing due does not wait for another writer', async () => {
    const path = freshPath();
    const now = new Date('2026-03-02T15:00:00Z');
    // A short busy timeout: a poll that asked for the write lock would fail "database is locked".
    const poller = await openSqliteStore({ path, busyTimeoutMs: 200 });
    const writer = await openSqliteStore({ path });
    await poller.jobs.enqueue('t', {
      queue: 'later',
      key: 'k',
      payload: null,
      runAt: '2026-03-02T16:00:00Z',
    });
    writer.connection.db.exec('BEGIN IMMEDIATE');
    try {
      await expect(poller.jobs.lease({ queue: 'empty', leaseMs: 60_000, limit: 5, now })).resolves.toEqual(
        [],
      );
      await expect(poller.jobs.lease({ queue: 'later', leaseMs: 60_000, limit: 5, now })).resolves.toEqual(
        [],
      );
    } finally {
      writer.connection.db.exec('ROLLBACK');
    }
    // Once due, the same job is leased, and a lease that expired is taken again.
    const due = new Date('2026-03-02T16:00:00Z');
    const [job] = await poller.jobs.lease({ queue: 'later', leaseMs: 1_000, limit: 5, now: due });
    expect(job?.key).toBe('k');
    const again = await poller.jobs.lease({
      queue: 'later',
      leaseMs: 1_000,
      limit: 5,
      now: new Date(due.getTime() + 1_000),
    });
    expect(again.map((j) => j.key)).toEqual(['k']);
    await writer.close();
    await poller.close();
  });

  test('three processes leasing from one file never lease the same job', async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path });
    const total = 600;
    await store.resources.writeBatch(
      't',
      Array.from({ length: total }, (_, i) => ({
        op: 'enqueue' as const,
        job: { queue: 'mp', key: `k${i}`, payload: i, runAt: '2020-01-01T00:00:00.000Z' },
      })),
    );
    const worker = fileURLToPath(new URL('./lease-worker.ts', import.meta.url));
    const ready: Promise<void>[] = [];
    const children: ChildProcess[] = [];
    const runs = Array.from(
      { length: 3 },
      () =>
        new Promise<string[]>((resolve, reject) => {
          const child = spawnChild(worker, [path, 'mp'], { stdin: true });
          children.push(child);
          let out = '';
          let err = '';
          ready.push(
            new Promise<void>((resolveReady) => {
              child.stdout?.on('data', (c: Buffer) => {
                out += c.toString();
                if (out.includes('READY\n')) {
                  resolveReady();
                }
              });
            }),
          );
          child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
          // 'close', not 'exit': every line the worker printed has been read by then.
          child.on('close', (code) => {
            if (code === 0) {
              resolve(
                out
                  .split('\n')
                  .filter((l) => l.startsWith('L '))
                  .map((l) => l.slice(2)),
              );
            } else {
              reject(new Error(`lease-worker exited ${String(code)}: ${err}`));
            }
          });
        }),
    );
    let perWorker: string[][];
    try {
      // All three have opened the file before any leases: the race is real even on a busy machine.
      // (A worker that dies before it is ready rejects its run, and the race with it.)
      await Promise.race([Promise.all(ready), Promise.all(runs)]);
      for (const child of children) {
        child.stdin?.write('go\n');
        child.stdin?.end();
      }
      perWorker = await Promise.all(runs);
    } finally {
      await Promise.all(children.map((child) => stopChild(child)));
    }
    const all = perWorker.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    expect(await store.jobs.listJobs('t', 'mp', 'done', 1000)).toHaveLength(total);
    // Sanity: the work was actually shared.
    expect(perWorker.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
    await store.close();
  }, 60_000);
});

/** Takes migration 5 (jobs' wait keys) back out, as a file written before it would look. */
function withoutWaitKeys(conn: SqliteConnection): void {
  conn.run('DROP INDEX jobs_waiting');
  conn.run('ALTER TABLE jobs DROP COLUMN wait_key');
}

describe('client registry version across connections', () => {
  test('read once per turn of the event loop: another connection’s client change is seen from the next turn on', async () => {
    const path = freshPath();
    const server = await openSqliteStore({ path });
    const cli = await openSqliteStore({ path });
    try {
      await cli.auth.createClient({
        clientId: 'other-process-client',
        tenant: 't1',
        scope: 'system/Patient.rs',
        jwks: { keys: [] },
        createdAt: '2026-12-06T15:00:00.000Z',
      });
      const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
      await nextTurn();
      const before = await server.auth.clientRegistryVersion();
      // As `dripline client disable` in another process, committed while this turn goes on.
      await cli.auth.updateClient('other-process-client', { disabled: true });
      expect(await server.auth.clientRegistryVersion()).toBe(before);
      await nextTurn();
      const after = await server.auth.clientRegistryVersion();
      expect(after).not.toBe(before);
      expect((await server.auth.getClient('other-process-client'))?.disabled).toBe(true);
      await nextTurn();
      expect(await server.auth.clientRegistryVersion()).toBe(after);
    } finally {
      await cli.close();
      await server.close();
    }
  });
});

describe('wait keys on one file (schema 5)', () => {
  test('a file written before them migrates: a job pending there is deferred on a key and woken', async () => {
    const path = freshPath();
    const first = await openSqliteStore({ path });
    const { jobId } = await first.jobs.enqueue('t', { queue: 'q', key: 'k', payload: null });
    withoutWaitKeys(first.connection);
    first.connection.run("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
    await first.close();
    asBeforeSchema6(path);
    const migrated = await openSqliteStore({ path });
    expect(migrated.connection.get("SELECT value FROM meta WHERE key = 'schema_version'")?.['value']).toBe(
      String(SCHEMA_VERSION),
    );
    const now = new Date();
    const [job] = await migrated.jobs.lease({ queue: 'q', leaseMs: 60_000, limit: 1, now });
    expect(job?.id).toBe(jobId);
    const runAt = new Date(now.getTime() + 60_000).toISOString();
    expect(
      await migrated.jobs.defer(jobId, job!.leaseToken!, { runAt, reason: 'waits', now, waitKey: 'w' }),
    ).toBe(true);
    expect(await migrated.jobs.wake('t', 'q', 'w', now)).toBe(1);
    expect((await migrated.jobs.getJob(jobId))?.runAt).toBe(now.toISOString());
    // The wake finds the waiting jobs through their own index, not by reading the queue.
    const plan = migrated.connection
      .all(
        "EXPLAIN QUERY PLAN UPDATE jobs SET run_at = ? WHERE tenant = ? AND queue = ? AND wait_key = ? AND state = 'ready' AND run_at > ?",
        'x',
        't',
        'q',
        'w',
        'x',
      )
      .map((row) => String(row['detail']));
    expect(plan.join('\n')).toContain('jobs_waiting');
    await migrated.close();
  });
});

describe('sequences on one file', () => {
  test('a sequence continues after close and reopen, and a store written before sequences existed gets them', async () => {
    const path = freshPath();
    const first = await openSqliteStore({ path });
    expect(await first.sequences.next('t', 'isa|S|R')).toBe(1);
    expect(await first.sequences.next('t', 'isa|S|R')).toBe(2);
    // As a file written before migration 2 would look.
    withoutWaitKeys(first.connection);
    first.connection.run('DROP TABLE sequences');
    first.connection.run("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
    await first.close();
    asBeforeSchema6(path);
    const migrated = await openSqliteStore({ path });
    expect(await migrated.sequences.next('t', 'isa|S|R')).toBe(1);
    expect(await migrated.sequences.next('t', 'isa|S|R')).toBe(2);
    await migrated.close();
    const reopened = await openSqliteStore({ path });
    expect(await reopened.sequences.next('t', 'isa|S|R')).toBe(3);
    await reopened.close();
  });

  test('three processes drawing from one sequence at once never get the same number', async () => {
    const path = freshPath();
    await (await openSqliteStore({ path })).close();
    const worker = fileURLToPath(new URL('./sequence-worker.ts', import.meta.url));
    const perWorker = 150;
    const children: ChildProcess[] = [];
    try {
      const ready: Promise<void>[] = [];
      const runs = Array.from({ length: 3 }, () => {
        const child = spawnChild(worker, [path, 'isa|S|R', String(perWorker)], { stdin: true });
        children.push(child);
        let out = '';
        let err = '';
        ready.push(
          new Promise<void>((resolve) => {
            child.stdout?.on('data', (c: Buffer) => {
              out += c.toString();
              if (out.includes('READY\n')) {
                resolve();
              }
            });
            // A child that dies before it is ready fails the run below instead of hanging here.
            child.on('exit', () => resolve());
          }),
        );
        child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
        return new Promise<number[]>((resolve, reject) => {
          // 'close', not 'exit': every line the worker printed has been read by then.
          child.on('close', (code: number | null) =>
            code === 0
              ? resolve(
                  out
                    .split('\n')
                    .filter((l) => l.startsWith('N '))
                    .map((l) => Number(l.slice(2))),
                )
              : reject(new Error(`sequence-worker exited ${String(code)}: ${err}`)),
          );
        });
      });
      await Promise.all(ready);
      for (const child of children) {
        child.stdin?.write('go\n');
        child.stdin?.end();
      }
      const drawn = (await Promise.all(runs)).flat();
      expect(drawn).toHaveLength(3 * perWorker);
      expect([...drawn].sort((a, b) => a - b)).toEqual(
        Array.from({ length: 3 * perWorker }, (_, i) => i + 1),
      );
    } finally {
      await Promise.all(children.map((child) => stopChild(child)));
    }
  }, 60_000);
});

describe('index rows', () => {
  test('a resource with more rows of one table than one INSERT takes has every row written', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    const identifier = Array.from({ length: 41 }, (_, i) => ({ system: 'urn:many', value: `ID-${i}` }));
    const { resource } = await store.resources.create('t', { ...patient({ mrn: 'MANY' }), identifier });
    const rows = (sql: string): number => Number(store.connection.get(sql)?.['n']);
    expect(rows("SELECT count(*) AS n FROM idx_token WHERE code = 'identifier'")).toBe(41);
    for (const value of ['ID-0', 'ID-15', 'ID-16', 'ID-40']) {
      const found = await store.resources.search('t', {
        resourceType: 'Patient',
        filters: [{ code: 'identifier', kind: 'token', values: [{ system: 'urn:many', value }] }],
        sort: [],
        count: 10,
        offset: 0,
        total: false,
      });
      expect(found.resources.map((r) => r.id)).toEqual([resource.id]);
    }
    await store.close();
  });
});

describe('search index version', () => {
  test('data indexed under other search parameters is re-indexed at open, once, with progress', async () => {
    const path = freshPath();
    const first = await openSqliteStore({ path });
    for (const [i, family] of ['Okafor', 'Lindqvist', 'Tanaka'].entries()) {
      await first.resources.create('t', patient({ mrn: `RX${i}`, family }));
    }
    const byName = async (store: Awaited<ReturnType<typeof openSqliteStore>>): Promise<number> =>
      (
        await store.resources.search('t', {
          resourceType: 'Patient',
          filters: [{ code: 'family', kind: 'string', values: ['tanaka'] }],
          sort: [],
          count: 10,
          offset: 0,
          total: false,
        })
      ).resources.length;
    expect(await byName(first)).toBe(1);
    // As a store written by a version with other search parameters would look: no index rows for
    // today's parameters, and another fingerprint.
    for (const table of ['idx_token', 'idx_reference', 'idx_date', 'idx_string', 'sort_keys']) {
      first.connection.run(`DELETE FROM ${table}`);
    }
    first.connection.run("UPDATE meta SET value = 'an-older-index' WHERE key = 'search_index'");
    expect(await byName(first)).toBe(0);
    await first.close();

    const progress: [number, number][] = [];
    const reopened = await openSqliteStore({
      path,
      onReindexProgress: (done, total) => progress.push([done, total]),
    });
    expect(progress).toEqual([[3, 3]]);
    expect(await byName(reopened)).toBe(1);
    await reopened.close();

    const again: [number, number][] = [];
    const third = await openSqliteStore({
      path,
      onReindexProgress: (done, total) => again.push([done, total]),
    });
    expect(again).toEqual([]);
    expect(await byName(third)).toBe(1);
    await third.close();
  });
});

describe('conditional create through the identifier token rows (schema 7)', () => {
  test('a file written before schema 7 migrates: its identifiers table goes, and conditional create still finds what was written', async () => {
    const path = freshPath();
    const first = await openSqliteStore({ path });
    const { resource } = await first.resources.create('t', patient({ mrn: 'BEFORE-7' }));
    const pk = Number(first.connection.get('SELECT pk FROM resources WHERE id = ?', resource.id)?.['pk']);
    first.connection.run("UPDATE meta SET value = '6' WHERE key = 'schema_version'");
    await first.close();
    withIdentifiersTable(path, [
      { tenant: 't', type: 'Patient', system: MRN_SYSTEM, value: 'BEFORE-7', res: pk },
    ]);

    const migrated = await openSqliteStore({ path });
    try {
      expect(migrated.connection.get("SELECT value FROM meta WHERE key = 'schema_version'")?.['value']).toBe(
        String(SCHEMA_VERSION),
      );
      expect(migrated.connection.get("SELECT name FROM sqlite_schema WHERE name LIKE 'identifiers%'")).toBe(
        undefined,
      );
      for (const wanted of [{ system: MRN_SYSTEM, value: 'BEFORE-7' }, { value: 'BEFORE-7' }]) {
        const again = await migrated.resources.create('t', patient({ mrn: 'BEFORE-7' }), {
          ifNoneExistIdentifier: wanted,
        });
        expect(again).toMatchObject({ created: false, resource: { id: resource.id } });
      }
      const other = await migrated.resources.create('t', patient({ mrn: 'AFTER-7' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'AFTER-7' },
      });
      expect(other.created).toBe(true);
      expect(Number(migrated.connection.get('SELECT count(*) AS n FROM resources')?.['n'])).toBe(2);
    } finally {
      await migrated.close();
    }
  });
});

describe('lean writes (schema 4)', () => {
  const event = (id: string, patientId: string) => auditEvent(id, [`Patient/${patientId}`]);
  const count = (
    store: { connection: { get: (sql: string) => Record<string, unknown> | undefined } },
    sql: string,
  ): number => Number(store.connection.get(sql)?.['n']);

  test('a create writes no history row and an AuditEvent no per-resource index rows; an update moves the old version to history', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    const { resource } = await store.resources.create('t', patient({ mrn: 'LEAN' }));
    await store.resources.create('t', event('ae-lean', resource.id), { id: 'ae-lean' });
    expect(count(store, 'SELECT count(*) AS n FROM history')).toBe(0);
    const tokenRows = count(store, "SELECT count(*) AS n FROM idx_token WHERE type = 'AuditEvent'");
    expect(tokenRows).toBeGreaterThan(0);
    // The partial per-resource tree holds the Patient's rows only.
    expect(
      count(
        store,
        'SELECT count(*) AS n FROM idx_token INDEXED BY idx_token_res WHERE res > 0 AND ' + MUTABLE_TYPES_SQL,
      ),
    ).toBe(count(store, "SELECT count(*) AS n FROM idx_token WHERE type = 'Patient'"));
    await store.resources.update('t', { ...(resource as Patient & { id: string }), active: false });
    const history = store.connection.all('SELECT version, json FROM history');
    expect(history.map((r) => r['version'])).toEqual([1]);
    expect(JSON.parse(String(history[0]?.['json']))).toEqual(resource);
    // The update replaced the Patient's index rows through the per-resource trees.
    for (const table of ['idx_token', 'idx_reference', 'idx_date', 'idx_string']) {
      const plan = store.connection
        .all(`EXPLAIN QUERY PLAN DELETE FROM ${table} WHERE res = 1 AND ${MUTABLE_TYPES_SQL}`)
        .map((r) => String(r['detail']));
      expect(plan.join(' ')).toMatch(new RegExp(`USING COVERING INDEX ${table}_res`));
    }
    await store.close();
  });

  test('a file written before schema 4 (current versions also in history) migrates: history and vread list each version once', async () => {
    const path = freshPath();
    const first = await openSqliteStore({ path });
    const { resource } = await first.resources.create('t', patient({ mrn: 'OLD' }));
    const v2 = (
      await first.resources.update('t', { ...(resource as Patient & { id: string }), active: false })
    ).resource;
    await first.resources.create('t', event('ae-old', resource.id), { id: 'ae-old' });
    // As schema 3 wrote it: every version in history, the current one included, and full trees.
    first.connection.run(
      'INSERT INTO history (tenant, type, id, version, last_updated, json) SELECT tenant, type, id, version, last_updated, json FROM resources',
    );
    for (const [table, columns] of [
      ['idx_token', 'res, code'],
      ['idx_reference', 'res, code'],
      ['idx_date', 'res, code'],
      ['idx_string', 'res, code'],
    ] as const) {
      first.connection.run(`DROP INDEX ${table}_res`);
      first.connection.run(`CREATE INDEX ${table}_res ON ${table} (${columns})`);
    }
    withoutWaitKeys(first.connection);
    first.connection.run("UPDATE meta SET value = '3' WHERE key = 'schema_version'");
    await first.close();
    asBeforeSchema6(path);

    const migrated = await openSqliteStore({ path });
    expect(migrated.connection.get("SELECT value FROM meta WHERE key = 'schema_version'")?.['value']).toBe(
      String(SCHEMA_VERSION),
    );
    const partial = migrated.connection.get("SELECT sql FROM sqlite_schema WHERE name = 'idx_token_res'")?.[
      'sql'
    ];
    expect(String(partial)).toContain(MUTABLE_TYPES_SQL);
    const listed = await migrated.resources.history('t', 'Patient', resource.id);
    expect(listed.total).toBe(2);
    expect(listed.resources.map((r) => r.meta.versionId)).toEqual(['2', '1']);
    expect(await migrated.resources.vread('t', 'Patient', resource.id, '2')).toEqual(v2);
    const v3 = (await migrated.resources.update('t', { ...(v2 as Patient & { id: string }), active: true }))
      .resource;
    const after = await migrated.resources.history('t', 'Patient', resource.id);
    expect(after.resources.map((r) => r.meta.versionId)).toEqual(['3', '2', '1']);
    expect(after.resources[0]).toEqual(v3);
    expect((await migrated.resources.history('t', 'AuditEvent', 'ae-old')).total).toBe(1);
    await migrated.close();
  });

  test("re-deriving the index at open replaces the append-only types' rows too (none stale, none lost)", async () => {
    const path = freshPath();
    const first = await openSqliteStore({ path });
    await first.resources.create('t', event('ae-re', 'p-re'), { id: 'ae-re' });
    // A row an older derivation wrote that today's does not, and one today's writes but was lost.
    first.connection.run(
      "INSERT INTO idx_reference (tenant, type, code, value, res) SELECT tenant, type, 'patient', 'Patient/stale', pk FROM resources WHERE id = 'ae-re'",
    );
    first.connection.run("DELETE FROM idx_reference WHERE type = 'AuditEvent' AND value = 'Patient/p-re'");
    first.connection.run("UPDATE meta SET value = 'an-older-index' WHERE key = 'search_index'");
    await first.close();
    const reopened = await openSqliteStore({ path });
    const values = reopened.connection
      .all("SELECT code, value FROM idx_reference WHERE type = 'AuditEvent' ORDER BY code, value")
      .map((r) => `${String(r['code'])}=${String(r['value'])}`);
    // `patient` is answered from `entity`'s rows (ANSWERED_FROM): it has none of its own.
    expect(values).toEqual(['agent=Device/d1', 'entity=Patient/p-re']);
    await reopened.close();
  });

  test('a file indexed when narrowed parameters had rows of their own answers the same; an update drops them', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    const { resource } = await store.resources.create('t', patient({ mrn: 'NARROW' }));
    await store.resources.create('t', event('ae-narrow', resource.id), { id: 'ae-narrow' });
    const visit = (
      await store.resources.create('t', {
        resourceType: 'Encounter',
        status: 'in-progress',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: `Patient/${resource.id}` },
      })
    ).resource as Encounter & { id: string };
    // What the previous derivation also wrote: each patient reference again under `patient`.
    store.connection.run(
      "INSERT INTO idx_reference (tenant, type, code, value, res) SELECT tenant, type, 'patient', value, res FROM idx_reference WHERE code IN ('entity', 'subject')",
    );
    const byPatient = async (type: string): Promise<string[]> =>
      (
        await store.resources.search('t', {
          resourceType: type,
          filters: [{ code: 'patient', kind: 'reference', values: [`Patient/${resource.id}`] }],
          sort: [],
          count: 10,
          offset: 0,
          total: true,
        })
      ).resources.map((r) => r.id);
    expect(await byPatient('AuditEvent')).toEqual(['ae-narrow']);
    expect(await byPatient('Encounter')).toEqual([visit.id]);
    await store.resources.update('t', { ...visit, status: 'finished' });
    expect(await byPatient('Encounter')).toEqual([visit.id]);
    const narrowedRows = (type: string): number =>
      count(store, `SELECT count(*) AS n FROM idx_reference WHERE type = '${type}' AND code = 'patient'`);
    expect(narrowedRows('Encounter')).toBe(0);
    expect(narrowedRows('AuditEvent')).toBe(1);
    await store.close();
  });

  test("a search's second filter checks each candidate through an index: the partial per-resource tree, or for an append-only type the primary key", async () => {
    const store = await openSqliteStore({ path: freshPath() });
    const { resource } = await store.resources.create('t', patient({ mrn: 'PLAN' }));
    await store.resources.create('t', { ...event('ae-plan', resource.id), action: 'R' }, { id: 'ae-plan' });
    await store.resources.create(
      't',
      { ...event('ae-other', resource.id), action: 'C' },
      {
        id: 'ae-other',
      },
    );
    const twoFilters = (
      type: string,
      token: string,
      value: string,
      reference: string,
      target: string,
    ): StoreQuery => ({
      resourceType: type,
      filters: [
        { code: token, kind: 'token', values: [{ value }] },
        { code: reference, kind: 'reference', values: [target] },
      ],
      sort: [],
      count: 10,
      offset: 0,
      total: false,
    });
    const planOf = (query: StoreQuery): string => {
      const compiled = compileSearch('t', query);
      return store.connection
        .all(`EXPLAIN QUERY PLAN ${compiled.selectSql}`, ...compiled.selectParams)
        .map((r) => String(r['detail']))
        .join(' | ');
    };
    const encounters = twoFilters('Encounter', 'status', 'finished', 'patient', `Patient/${resource.id}`);
    expect(planOf(encounters)).toMatch(
      /SEARCH idx_token EXISTS USING COVERING INDEX idx_token_res \(res=\? AND code=\?\)/,
    );
    // Checked on the driver's index rows, inside its subquery: not once per resource row read.
    expect(planOf(encounters)).not.toMatch(/CORRELATED/);
    const audits = twoFilters('AuditEvent', 'action', 'R', 'agent', 'Device/d1');
    expect(planOf(audits)).toMatch(
      /SEARCH idx_token EXISTS USING PRIMARY KEY \(tenant=\? AND type=\? AND code=\? AND value=\?\)/,
    );
    expect(planOf(audits)).not.toMatch(/CORRELATED/);
    expect((await store.resources.search('t', audits)).resources.map((r) => r.id)).toEqual(['ae-plan']);
    await store.close();
  });

  test("a patient's encounters starting in a day: the day's two bounds are checked on the one date entry, with one look-up", async () => {
    const store = await openSqliteStore({ path: freshPath() });
    const day = (d: string): { start: string; end: string } => ({
      start: `${d}T09:00:00Z`,
      end: `${d}T11:00:00Z`,
    });
    for (const [visit, d] of [
      ['V-1', '2026-12-06'],
      ['V-2', '2026-12-07'],
      ['V-3', '2026-12-08'],
    ] as const) {
      await store.resources.create('t', encounter({ patientId: 'p1', visitNumber: visit, period: day(d) }));
    }
    const query: StoreQuery = {
      resourceType: 'Encounter',
      filters: [
        { code: 'patient', kind: 'reference', values: ['Patient/p1'] },
        {
          code: 'date',
          kind: 'date',
          prefix: 'sa',
          start: '2026-12-06T00:00:00.000Z',
          end: '2026-12-07T00:00:00.000Z',
        },
        {
          code: 'date',
          kind: 'date',
          prefix: 'lt',
          start: '2026-12-08T00:00:00.000Z',
          end: '2026-12-09T00:00:00.000Z',
        },
      ],
      sort: [],
      count: 10,
      offset: 0,
      total: false,
    };
    const { selectSql } = compileSearch('t', query);
    expect(selectSql.match(/EXISTS \(SELECT 1 FROM idx_date/g)).toHaveLength(1);
    expect(selectSql).toMatch(/start_at >= \? AND start_at < \?/);
    const found = await store.resources.search('t', query);
    expect(found.resources.map((r) => (r as Encounter).identifier?.[0]?.value)).toEqual(['V-2']);
    await store.close();
  });
});
