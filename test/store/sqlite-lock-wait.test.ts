/**
 * The embedded store's batches (`resources.writeBatch`: the receiver's and the FHIR API's group
 * commits, the workers' copies) wait for another connection's write lock on a timer
 * (src/store/sqlite/db.ts `transactionOffLoop`), so the process goes on answering requests
 * meanwhile. The other connection here is another process's, as a worker's would be; it releases
 * its lock from a timer of this process, which can only fire while the event loop is free.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { MedicationAdministration } from '@medplum/fhirtypes';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import { inboxPathFor } from '../../src/store/sqlite/inbox.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-lock-wait-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function freshPath(): string {
  counter += 1;
  return join(dir, `store-${counter}.sqlite`);
}

const administration: MedicationAdministration = {
  resourceType: 'MedicationAdministration',
  status: 'completed',
  subject: { reference: 'Patient/p1' },
  medicationCodeableConcept: { text: 'a drug' },
  effectiveDateTime: '2026-12-01T10:00:00Z',
};

/** Holds `file`'s write lock from another connection until `releaseAfterMs` on this process's timers. */
function holdWriteLock(
  file: string,
  releaseAfterMs: number,
): { released: Promise<void>; ticks: () => number } {
  const other = new DatabaseSync(file);
  other.exec('BEGIN IMMEDIATE');
  let ticks = 0;
  const ticker = setInterval(() => {
    ticks += 1;
  }, 2);
  const released = new Promise<void>((resolve) => {
    setTimeout(() => {
      clearInterval(ticker);
      other.exec('ROLLBACK');
      other.close();
      resolve();
    }, releaseAfterMs);
  });
  return { released, ticks: () => ticks };
}

describe('a batch waiting for another connection’s write lock', () => {
  test('a resource batch commits once the lock is free, the event loop running meanwhile', async () => {
    const path = freshPath();
    // Longer than the test's own timeout: a wait inside SQLite's busy handler would stop this
    // thread, so the timer releasing the lock could never fire.
    const store = await openSqliteStore({ path, busyTimeoutMs: 60_000 });
    const lock = holdWriteLock(path, 100);
    const written = store.resources.writeBatch('t1', [{ op: 'create', resource: administration }]);
    written.catch(() => undefined); // observed below; not unhandled if the next line fails first
    const [result] = await written;
    await lock.released;
    expect(result?.op).toBe('create');
    // The ticker falls due before the releasing timer: it ran, however busy the machine.
    expect(lock.ticks()).toBeGreaterThan(0);
    const id = result?.op === 'create' ? result.result.resource.id : undefined;
    expect(id).toBeDefined();
    const stored = await store.resources.read('t1', 'MedicationAdministration', id ?? '');
    expect(stored?.resourceType === 'MedicationAdministration' && stored.status).toBe('completed');
    await store.close();
  });

  test('a receiver’s inbox batch commits once a worker’s inbox lock is free, the loop running meanwhile', async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path, busyTimeoutMs: 60_000 });
    const lock = holdWriteLock(inboxPathFor(path), 100);
    const [result] = await store.resources.writeBatch('t1', [
      { op: 'enqueue', job: { queue: INBOX_QUEUE, key: 'while-locked', payload: { n: 1 } } },
    ]);
    await lock.released;
    expect(result?.op === 'enqueue' && result.result.created).toBe(true);
    expect(lock.ticks()).toBeGreaterThan(0);
    expect((await store.jobs.listJobs('t1', INBOX_QUEUE, 'ready', 10)).map((job) => job.key)).toEqual([
      'while-locked',
    ]);
    await store.close();
  });

  test('a worker’s lease and its acks wait for another process’s lock, the loop running meanwhile', async () => {
    // Charge capture's leases and acks waited in SQLite's busy handler for the ingest worker's
    // group commits: its one thread asleep, in steps of 1, 2, 5, 10 ms.
    const path = freshPath();
    // A wait in the busy handler would hold this thread (and the releasing timer) for all of it.
    const store = await openSqliteStore({ path, busyTimeoutMs: 5_000 });
    await store.jobs.enqueue('t1', { queue: 'capture-like', key: 'enc-1|a', payload: {} });
    const leaseLock = holdWriteLock(path, 100);
    const leased = await store.jobs.lease({
      queue: 'capture-like',
      leaseMs: 60_000,
      limit: 10,
      now: new Date(Date.now() + 1000),
    });
    await leaseLock.released;
    expect(leased.map((job) => job.key)).toEqual(['enc-1|a']);
    expect(leaseLock.ticks()).toBeGreaterThan(0);

    const ackLock = holdWriteLock(path, 100);
    const acked = await store.jobs.ackMany(
      leased.map((job) => ({ jobId: job.id, leaseToken: job.leaseToken ?? '' })),
    );
    await ackLock.released;
    expect(acked).toBe(1);
    expect(ackLock.ticks()).toBeGreaterThan(0);
    expect((await store.jobs.getJob(leased[0]?.id ?? ''))?.state).toBe('done');
    await store.close();
  });

  test('gives up after the busy timeout, as a blocking transaction does, writing nothing', async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path, busyTimeoutMs: 150 });
    const lock = holdWriteLock(path, 400);
    const calledAt = performance.now();
    const written = store.resources.writeBatch('t1', [{ op: 'create', resource: administration }]);
    written.catch(() => undefined); // observed below; not unhandled if the next line fails first
    // The call returns at its first try: a wait in SQLite's busy handler would return only once the
    // 150 ms were over. (Not the ticker's count: a test process stalled for the whole wait by a
    // busy machine leaves the ticker at 0 whatever the store does.)
    expect(performance.now() - calledAt).toBeLessThan(150);
    await expect(written).rejects.toThrow(/locked/);
    await lock.released;
    const found = await store.resources.search('t1', {
      resourceType: 'MedicationAdministration',
      filters: [],
      sort: [],
      count: 0,
      offset: 0,
      total: true,
    });
    expect(found.total).toBe(0);
    await store.close();
  });
});
