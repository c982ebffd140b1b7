/**
 * Charge capture acknowledges a batch's jobs together: one `ackMany` (one transaction) after the
 * batch's encounter groups were recomputed, instead of one `ack` (one transaction) per job. A job
 * whose group failed is not among them (it was failed for a retry instead).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { captureWorker, officeVisit } from './office-visit.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import type { JobLease, Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { overriding } from '../../src/store/view.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-capture-acks-'));
let store: SqliteStore;

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  await store.resources.create(
    't',
    { resourceType: 'Patient', name: [{ family: 'Okafor' }] },
    { id: 'pat-1' },
  );
  await store.resources.create('t', {
    resourceType: 'Coverage',
    status: 'active',
    beneficiary: { reference: 'Patient/pat-1' },
    payor: [{ display: 'Commercial payer' }],
  });
  // A second patient whose coverage has not arrived yet: charge capture waits (retries) for it.
  await store.resources.create('t', { resourceType: 'Patient', name: [{ family: 'Lind' }] }, { id: 'pat-2' });
  // Three finished office visits on three days (three encounter groups), and one of pat-2.
  for (const day of [1, 2, 3, 4]) {
    const visit = officeVisit(
      day === 4 ? 'pat-2' : 'pat-1',
      `2026-12-0${day}T15:00:00Z`,
      `2026-12-0${day}T16:00:00Z`,
    );
    await store.resources.create('t', visit, { id: `enc-${day}` });
  }
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a batch of encounter-changed jobs is acknowledged in one ackMany, none one by one', async () => {
  const acks: string[] = [];
  const ackManys: (readonly JobLease[])[] = [];
  const watched: Store = overriding<Store>(store, {
    jobs: overriding(store.jobs, {
      ack: async (jobId: string, leaseToken: string) => {
        acks.push(jobId);
        return store.jobs.ack(jobId, leaseToken);
      },
      ackMany: async (leases: readonly JobLease[]) => {
        ackManys.push(leases);
        return store.jobs.ackMany(leases);
      },
    }),
  });
  const ids: string[] = [];
  // Two changes to enc-1 (one group), one each to enc-2 and enc-3, and one without an encounter
  // (dropped with a warning: done all the same).
  for (const [key, encounter] of [
    ['a', 'Encounter/enc-1'],
    ['b', 'Encounter/enc-2'],
    ['c', 'Encounter/enc-1'],
    ['d', 'Encounter/enc-3'],
    ['e', 'Patient/pat-1'],
    ['f', 'Encounter/enc-4'],
  ] as const) {
    const { jobId } = await store.jobs.enqueue('t', {
      queue: ENCOUNTER_CHANGED_QUEUE,
      key: `acks-${key}`,
      payload: { encounter, causes: [] },
    });
    ids.push(jobId);
  }
  const worker = captureWorker(watched);

  expect(await worker.runOnce()).toBe(6);

  const waiting = ids.pop() as string; // enc-4's
  expect(acks).toEqual([]);
  expect(ackManys.map((leases) => leases.map((l) => l.jobId).sort())).toEqual([[...ids].sort()]);
  for (const id of ids) {
    expect({ id, state: (await store.jobs.getJob(id))?.state }).toEqual({ id, state: 'done' });
  }
  // Failed for a retry shortly (its inputs are incomplete), not acknowledged.
  expect((await store.jobs.getJob(waiting))?.state).toBe('ready');
});
