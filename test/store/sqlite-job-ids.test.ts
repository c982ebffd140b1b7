/**
 * The embedded store's job ids are time-ordered (UUID v7, RFC 9562 §5.7), in the main file's
 * queues and in the inbox alike: a group of enqueues appends to the jobs table's id index instead
 * of rewriting a random page of it per job (bench:ingest's worker enqueues an encounter-changed
 * job with every copy; its receiver, an inbox job with every notification).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 'job-ids';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let dir: string;
let store: SqliteStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dripline-job-ids-'));
  store = await openSqliteStore({ path: join(dir, 'dripline.sqlite') });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('job ids', () => {
  test.each(['encounter-changed', INBOX_QUEUE])(
    'jobs of the %s queue get UUID v7 ids that sort in the order they were enqueued',
    async (queue) => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const { jobId } = await store.jobs.enqueue(TENANT, { queue, key: `k-${i}`, payload: { i } });
        ids.push(jobId);
        // A new millisecond for every job: v7 orders ids across milliseconds.
        const at = Date.now();
        while (Date.now() === at) {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      for (const id of ids) {
        expect(id).toMatch(UUID_V7);
      }
      expect(ids.toSorted()).toEqual(ids);
      // Routed by id as before: each job is found, and acked, where it is.
      const leased = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 20, now: new Date() });
      expect(leased.map((j) => j.id)).toEqual(ids);
      expect(
        await store.jobs.ackMany(leased.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken ?? '' }))),
      ).toBe(20);
    },
  );
});
