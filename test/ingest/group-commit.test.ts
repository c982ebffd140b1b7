/**
 * Group commit of the receiver's acknowledgements (src/store/group-commit.ts), through the
 * receiver over real HTTP and through GroupCommit on a real SQLite store: notifications that
 * arrive while a commit is in flight share the next transaction, each is answered only after its
 * job committed, one bad write never fails the writes grouped with it, the same event twice in a
 * group is one job, and a store that cannot commit gets 503 + Retry-After with nothing acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import { TOPIC_MEDICATION_ADMINISTRATION } from '../../src/contract/canonical.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';
import { INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { errorHandler } from '../../src/http/outcomes.ts';
import { createReceiverRouter, SubscriptionDirectory } from '../../src/ingest/receiver.ts';
import { sha256Hex, updateRecord } from '../../src/ingest/records.ts';
import { createLogger } from '../../src/logger.ts';
import type { BatchOperation, Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { unreachableEhrConnection } from '../support/ehr-connection.ts';
import { waitFor } from '../support/wait.ts';

const TENANT = 'group';
const SECRET = 'group-commit-secret-0123456789';
const connection = unreachableEhrConnection('group-ehr');

function notification(eventNumber: number): string {
  const focus = `http://127.0.0.1:9/fhir/MedicationAdministration/ma-${eventNumber}`;
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'history',
    timestamp: '2026-11-26T15:00:00Z',
    entry: [
      {
        fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(eventNumber).padStart(12, '0')}`,
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: 'Subscription/sub-group' } },
            { name: 'topic', valueCanonical: TOPIC_MEDICATION_ADMINISTRATION },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: 'event-notification' },
            { name: 'events-since-subscription-start', valueString: String(eventNumber) },
            {
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: String(eventNumber) },
                { name: 'focus', valueReference: { reference: focus } },
              ],
            },
          ],
        },
        request: { method: 'GET', url: 'Subscription/sub-group/$status' },
        response: { status: '200' },
      },
      { fullUrl: focus, request: { method: 'PUT', url: `MedicationAdministration/ma-${eventNumber}` } },
    ],
  });
}

/** The store, with every writeBatch counted and (while `hold` is set) held until released. */
function observed(store: Store): {
  store: Store;
  calls: number[];
  hold(): void;
  release(): void;
  failing: boolean;
} {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const state = {
    calls: [] as number[],
    failing: false,
    hold(): void {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    release(): void {
      open?.();
      gate = undefined;
    },
    store: undefined as unknown as Store,
  };
  const resources = Object.create(store.resources) as Store['resources'];
  resources.writeBatch = async (tenant, operations: readonly BatchOperation[]) => {
    state.calls.push(operations.length);
    await gate;
    if (state.failing) {
      throw new Error('disk full');
    }
    return store.resources.writeBatch(tenant, operations);
  };
  state.store = { ...store, resources };
  Object.setPrototypeOf(state.store, Object.getPrototypeOf(store) as object);
  return state;
}

let dir: string;
let sqlite: Store;
let wrapped: ReturnType<typeof observed>;
let server: Server;
let url: string;
const arrived = { count: 0 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dripline-group-commit-'));
  sqlite = await openSqliteStore({ path: join(dir, 'dripline.sqlite') });
  await updateRecord(
    sqlite,
    TENANT,
    connection,
    'MedicationAdministration',
    'http://127.0.0.1/ehr/group-ehr/notify',
    (r) => ({ ...r, ehrSubscriptionId: 'sub-group', secretSha256: sha256Hex(SECRET), status: 'active' }),
  );
  wrapped = observed(sqlite);
  const app = express();
  app.use((_req, _res, next) => {
    arrived.count++;
    next();
  });
  app.use(
    '/ehr',
    createReceiverRouter({
      store: wrapped.store,
      directory: new SubscriptionDirectory(sqlite),
      connections: new Map([[connection.id, { tenant: TENANT, connection }]]),
      maxBodyBytes: 1_000_000,
      maxJsonDepth: 64,
      logger: createLogger('silent'),
    }),
  );
  app.use(errorHandler(createLogger('silent')));
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ehr/group-ehr/notify`;
});

afterAll(async () => {
  wrapped.release();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (eventNumber: number): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${SECRET}` },
    body: notification(eventNumber),
  });

async function eventJobs(): Promise<number[]> {
  const jobs = await sqlite.jobs.listJobs(TENANT, INGEST_QUEUE, 'ready', 1000);
  return jobs.map((j) => (j.payload as { eventNumber: number }).eventNumber).sort((a, b) => a - b);
}

describe('the receiver commits notifications that arrive together in one transaction', () => {
  test('20 notifications arriving during a commit: answered after it, in at most a few transactions', async () => {
    wrapped.calls.length = 0;
    arrived.count = 0;
    wrapped.hold();
    let answered = 0;
    const responses = Array.from({ length: 20 }, (_, i) =>
      post(i + 1).then((response) => {
        answered++;
        return response;
      }),
    );
    await waitFor(
      'all 20 notifications at the receiver',
      () => (arrived.count === 20 ? true : undefined),
      10_000,
    );
    await waitFor('the first commit in flight', () => (wrapped.calls.length > 0 ? true : undefined), 10_000);
    // Nothing is acknowledged while its commit has not happened.
    expect(answered).toBe(0);
    expect(await eventJobs()).toEqual([]);
    wrapped.release();
    const statuses = (await Promise.all(responses)).map((r) => r.status);
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 200));
    expect(await eventJobs()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // One transaction per notification without group commit; here the ones that waited share one.
    expect(wrapped.calls.length).toBeLessThanOrEqual(4);
    expect(wrapped.calls.reduce((a, b) => a + b, 0)).toBe(20);
  });

  test('a store that cannot commit: 503 with Retry-After, nothing acknowledged or enqueued', async () => {
    wrapped.failing = true;
    try {
      const responses = await Promise.all([post(101), post(102), post(103)]);
      for (const response of responses) {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('5');
        expect(((await response.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
      }
    } finally {
      wrapped.failing = false;
    }
    expect((await eventJobs()).filter((n) => n > 100)).toEqual([]);
  });
});

describe('GroupCommit on the embedded store', () => {
  const job = (key: string, maxAttempts?: number): BatchOperation => ({
    op: 'enqueue',
    job: {
      queue: 'group-test',
      key,
      payload: { key },
      ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    },
  });

  test('one bad write fails alone; the writes grouped with it commit', async () => {
    const commits = new GroupCommit(sqlite);
    const results = await Promise.allSettled([
      commits.write(TENANT, [job('good-1')]),
      commits.write(TENANT, [job('bad', 0)]), // the store refuses maxAttempts 0
      commits.write(TENANT, [job('good-2')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const keys = (await sqlite.jobs.listJobs(TENANT, 'group-test', 'ready', 10)).map((j) => j.key).sort();
    expect(keys).toEqual(['good-1', 'good-2']);
  });

  test('the same job twice in one group is one job; groups are split at maxOperations', async () => {
    const counted = observed(sqlite);
    const commits = new GroupCommit(counted.store, 3);
    await Promise.all([
      commits.write(TENANT, [job('twice')]),
      commits.write(TENANT, [job('twice')]),
      commits.write(TENANT, [job('other-1'), job('other-2')]),
    ]);
    expect(counted.calls).toEqual([2, 2]);
    const keys = (await sqlite.jobs.listJobs(TENANT, 'group-test', 'ready', 10)).map((j) => j.key).sort();
    expect(keys).toEqual(['good-1', 'good-2', 'other-1', 'other-2', 'twice']);
  });
});
