/**
 * The embedded store's inbox file (src/store/sqlite/inbox.ts): the inbox queue's jobs are written
 * and acknowledged in a file of their own, so a receiver's enqueue never waits for the main file's
 * write lock; jobs an older version left pending in the main file are moved there at open.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, test } from '@jest/globals';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import { inboxPathFor } from '../../src/store/sqlite/inbox.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-inbox-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function freshPath(): string {
  counter += 1;
  return join(dir, `store-${counter}.sqlite`);
}

const count = (db: DatabaseSync, sql: string, ...params: string[]): number =>
  Number(db.prepare(sql).get(...params)?.['n']);

describe('the inbox file', () => {
  test('is beside the main file, and holds the inbox queue’s jobs (the others stay in the main file)', async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path });
    expect(inboxPathFor(path)).toBe(join(dir, `store-${counter}-inbox.sqlite`));
    expect(existsSync(inboxPathFor(path))).toBe(true);
    await store.jobs.enqueue('t1', { queue: INBOX_QUEUE, key: 'n', payload: 1 });
    await store.jobs.enqueue('t1', { queue: 'charges', key: 'c', payload: 2 });
    const inInbox = (queue: string): number =>
      Number(store.inboxConnection.get('SELECT count(*) AS n FROM jobs WHERE queue = ?', queue)?.['n']);
    const inMain = (queue: string): number =>
      Number(store.connection.get('SELECT count(*) AS n FROM jobs WHERE queue = ?', queue)?.['n']);
    expect([inInbox(INBOX_QUEUE), inMain(INBOX_QUEUE)]).toEqual([1, 0]);
    expect([inInbox('charges'), inMain('charges')]).toEqual([0, 1]);
    expect(store.inboxConnection.get('PRAGMA journal_mode')?.['journal_mode']).toBe('wal');
    expect(store.inboxConnection.get('PRAGMA synchronous')?.['synchronous']).toBe(1); // NORMAL, as the main file
    await store.close();
  });

  test('one ackMany acks jobs of both files, each in its own; stale tokens change nothing', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    for (let n = 0; n < 3; n++) {
      await store.jobs.enqueue('t1', { queue: INBOX_QUEUE, key: `n${n}`, payload: n });
      await store.jobs.enqueue('t1', { queue: 'charges', key: `c${n}`, payload: n });
    }
    // After the enqueues: a job runs at its enqueue time, so a clock read before might miss one.
    const now = new Date();
    const leased = [
      ...(await store.jobs.lease({ queue: INBOX_QUEUE, leaseMs: 60_000, limit: 10, now })),
      ...(await store.jobs.lease({ queue: 'charges', leaseMs: 60_000, limit: 10, now })),
    ];
    const leases = leased.map((j, i) => ({ jobId: j.id, leaseToken: i % 3 === 2 ? 'stale' : j.leaseToken! }));
    expect(await store.jobs.ackMany(leases)).toBe(4);
    const states = async (queue: string) =>
      (
        await Promise.all(['done', 'leased'].map((s) => store.jobs.listJobs('t1', queue, s as 'done', 10)))
      ).map((jobs) => jobs.length);
    expect(await states(INBOX_QUEUE)).toEqual([2, 1]);
    expect(await states('charges')).toEqual([2, 1]);
    await store.close();
  });

  test('an inbox enqueue commits while another connection holds the main file’s write lock', async () => {
    const path = freshPath();
    // A short busy timeout: were the enqueue to need the main file's lock, it would fail at once.
    const store = await openSqliteStore({ path, busyTimeoutMs: 200 });
    const worker = new DatabaseSync(path);
    worker.exec('BEGIN IMMEDIATE');
    try {
      const [result] = await store.resources.writeBatch('t1', [
        { op: 'enqueue', job: { queue: INBOX_QUEUE, key: 'while-locked', payload: { n: 1 } } },
      ]);
      expect(result?.op === 'enqueue' && result.result.created).toBe(true);
      // The main file's other writes do wait for the lock, as they always did.
      await expect(store.jobs.enqueue('t1', { queue: 'charges', key: 'c', payload: 1 })).rejects.toThrow(
        /locked/,
      );
    } finally {
      worker.exec('ROLLBACK');
      worker.close();
    }
    await store.close();
    // Committed: another connection to the inbox file reads it.
    const inbox = new DatabaseSync(inboxPathFor(path));
    expect(
      count(inbox, "SELECT count(*) AS n FROM jobs WHERE key = 'while-locked' AND state = 'ready'"),
    ).toBe(1);
    inbox.close();
  });

  test('an inbox job cannot share a batch with the main file’s writes; nothing is written', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    await expect(
      store.resources.writeBatch('t1', [
        { op: 'enqueue', job: { queue: 'charges', key: 'c', payload: 1 } },
        { op: 'enqueue', job: { queue: INBOX_QUEUE, key: 'n', payload: 1 } },
      ]),
    ).rejects.toThrow(/batched only with each other/);
    expect(await store.jobs.listJobs('t1', 'charges', 'ready', 10)).toEqual([]);
    expect(await store.jobs.listJobs('t1', INBOX_QUEUE, 'ready', 10)).toEqual([]);
    await store.close();
  });
});

describe('inbox jobs an older version left in the main file', () => {
  const legacyRow = (id: string, state: string, extra: Record<string, string | null> = {}) => ({
    id,
    tenant: 't1',
    queue: INBOX_QUEUE,
    key: `key-${id}`,
    payload: JSON.stringify({ id }),
    state,
    attempts: state === 'ready' ? 0 : 1,
    max_attempts: 8,
    run_at: '2026-01-01T00:00:00.000Z',
    lease_token: null,
    lease_expires_at: null,
    last_error: null,
    created_at: `2026-01-01T00:00:0${id.slice(-1)}.000Z`,
    updated_at: '2026-01-01T00:00:00.000Z',
    ...extra,
  });
  const insert = (db: DatabaseSync, row: Record<string, unknown>): void => {
    const columns = Object.keys(row);
    db.prepare(
      `INSERT INTO jobs (${columns.join(', ')}) VALUES (${columns.map((c) => `:${c}`).join(', ')})`,
    ).run(row as Record<string, string | number | null>);
  };

  /** A store as the previous version left it: the inbox queue's jobs in the main file, no inbox file. */
  async function legacyStore(path: string): Promise<void> {
    await (await openSqliteStore({ path })).close();
    rmSync(inboxPathFor(path), { force: true });
    rmSync(`${inboxPathFor(path)}-wal`, { force: true });
    rmSync(`${inboxPathFor(path)}-shm`, { force: true });
    const main = new DatabaseSync(path);
    insert(main, legacyRow('job-1', 'ready'));
    insert(
      main,
      legacyRow('job-2', 'leased', {
        lease_token: 'old-token',
        lease_expires_at: '2026-01-01T00:01:00.000Z',
      }),
    );
    insert(main, legacyRow('job-3', 'done'));
    insert(main, legacyRow('job-4', 'dead', { last_error: 'gone' }));
    insert(main, { ...legacyRow('job-5', 'ready'), queue: 'charges' });
    main.close();
  }

  test('pending ones are moved to the inbox at open and processed; finished ones are still listed', async () => {
    const path = freshPath();
    await legacyStore(path);
    const store = await openSqliteStore({ path });
    const leased = await store.jobs.lease({
      queue: INBOX_QUEUE,
      leaseMs: 60_000,
      limit: 10,
      now: new Date('2026-01-02T00:00:00.000Z'),
    });
    // The ready one, and the one whose lease (held by a process of the older version) expired.
    expect(leased.map((j) => [j.id, j.attempts, j.payload]).sort()).toEqual([
      ['job-1', 1, { id: 'job-1' }],
      ['job-2', 2, { id: 'job-2' }],
    ]);
    expect(await store.jobs.ackMany(leased.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken! })))).toBe(2);
    expect((await store.jobs.listJobs('t1', INBOX_QUEUE, 'done', 10)).map((j) => j.id)).toEqual([
      'job-1',
      'job-2',
      'job-3',
    ]);
    expect((await store.jobs.listJobs('t1', INBOX_QUEUE, 'dead', 10)).map((j) => j.lastError)).toEqual([
      'gone',
    ]);
    expect((await store.jobs.getJob('job-3'))?.state).toBe('done');
    // Redelivered after the move, the same key is the same job.
    expect(
      (await store.jobs.enqueue('t1', { queue: INBOX_QUEUE, key: 'key-job-1', payload: 0 })).created,
    ).toBe(false);
    // The main file keeps only what is finished; other queues are untouched.
    expect(
      count(
        new DatabaseSync(path, { readOnly: true }),
        "SELECT count(*) AS n FROM jobs WHERE queue = ? AND state IN ('ready', 'leased')",
        INBOX_QUEUE,
      ),
    ).toBe(0);
    expect((await store.jobs.listJobs('t1', 'charges', 'ready', 10)).map((j) => j.id)).toEqual(['job-5']);
    await store.close();
  });

  test('a move cut short after the inbox commit is finished by the next open, without a second job', async () => {
    const path = freshPath();
    await legacyStore(path);
    // The state a crash between the two commits leaves: the inbox has the jobs, the main file still too.
    await (await openSqliteStore({ path })).close();
    const main = new DatabaseSync(path);
    insert(main, legacyRow('job-1', 'ready'));
    main.close();
    const store = await openSqliteStore({ path });
    const ready = await store.jobs.listJobs('t1', INBOX_QUEUE, 'ready', 10);
    expect(ready.map((j) => j.id)).toEqual(['job-1']);
    expect(Number(store.connection.get("SELECT count(*) AS n FROM jobs WHERE id = 'job-1'")?.['n'])).toBe(0);
    await store.close();
  });
});
