/**
 * Charge capture's loop wakes for work it knows is due later, not at its poll: a job it failed for
 * a retry (inputs not stored yet, or a transient error), a job enqueued to run later through the
 * view that wakes it (notifyOnEnqueue), and a job another process enqueued in the shared file (the
 * store's signal of others' commits, src/store/sqlite/commit-signal.ts). The poll here is 60 s, out of every deadline's reach: only
 * the wake at the job's due instant can get the work done in time. (Over the sandbox day:
 * test/claims/workflow.test.ts, with the same 60 s poll.)
 */
import { beforeAll, expect } from '@jest/globals';
import { ChargeCaptureWorker } from '../../src/charges/capture.ts';
import { notifyOnEnqueue } from '../../src/charges/notify-on-enqueue.ts';
import { officeVisit } from './office-visit.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import type { CodingTables } from '../../src/coding/tables/types.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import { createLogger } from '../../src/logger.ts';
import type { Job, Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { overriding } from '../../src/store/view.ts';
import { storeForEachConcurrentTest } from '../support/store-per-test.ts';
import { waitFor } from '../support/wait.ts';

const TENANT = 't';
/** Far beyond every deadline below: work found only by the poll fails the test. */
const POLL_MS = 60_000;
/** A retry is due 0.5–1.2 s after its failure; the rest is room for a loaded machine. */
const DEADLINE_MS = 10_000;

/**
 * Each test's own store: a job another test left behind is not leased by another test's worker.
 * The tests run at once: two of them wait out a retry's backoff.
 */
const { test: concurrentTest } = storeForEachConcurrentTest('dripline-capture-wake-');
let tables: CodingTables;

/** A finished office visit of `patient` (its group is codable: charge capture asks for coverage). */
async function visit(store: Store, id: string, patient: string): Promise<void> {
  await store.resources.create(TENANT, officeVisit(patient, '2026-12-01T15:00:00Z', '2026-12-01T16:00:00Z'), {
    id,
  });
}

async function patient(store: Store, id: string, withCoverage: boolean): Promise<void> {
  await store.resources.create(TENANT, { resourceType: 'Patient', name: [{ family: id }] }, { id });
  if (withCoverage) {
    await coverage(store, id);
  }
}

async function coverage(store: Store, patientId: string): Promise<void> {
  await store.resources.create(TENANT, {
    resourceType: 'Coverage',
    status: 'active',
    beneficiary: { reference: `Patient/${patientId}` },
    payor: [{ display: 'Commercial payer' }],
  });
}

function worker(over: Store): ChargeCaptureWorker {
  return new ChargeCaptureWorker({
    store: over,
    tables,
    logger: createLogger('silent'),
    publicUrl: 'http://dripline.test',
    pollMs: POLL_MS,
  });
}

async function job(store: Store, jobId: string): Promise<Job> {
  const found = await store.jobs.getJob(jobId);
  if (!found) {
    throw new Error(`job ${jobId} not found`);
  }
  return found;
}

beforeAll(() => {
  tables = loadCodingTables();
});

concurrentTest(
  'a job retried because its inputs are not stored yet runs at its retry, not at the poll',
  async (store) => {
    await patient(store, 'pat-late', false);
    await visit(store, 'enc-late', 'pat-late');
    const capture = worker(store);
    capture.start();
    try {
      const { jobId } = await store.jobs.enqueue(TENANT, {
        queue: ENCOUNTER_CHANGED_QUEUE,
        key: 'late-coverage',
        payload: { encounter: 'Encounter/enc-late', causes: [] },
      });
      capture.notify();
      // The patient's coverage is not stored yet: the job is failed for a retry in 0.5 s.
      await waitFor('an attempt failed for a retry', async () => (await job(store, jobId)).lastError);
      // The coverage arrives through a write that wakes no one (another process, say).
      await coverage(store, 'pat-late');
      await waitFor('the retry ran', async () => (await job(store, jobId)).state === 'done', DEADLINE_MS);
      expect((await job(store, jobId)).attempts).toBeGreaterThanOrEqual(2);
    } finally {
      await capture.stop();
    }
  },
);

concurrentTest(
  'a job retried after a transient failure runs at its backoff, not at the poll',
  async (store) => {
    await patient(store, 'pat-busy', true);
    await visit(store, 'enc-busy', 'pat-busy');
    // The store fails the worker's first search (a lock held too long), then answers.
    let failures = 0;
    const flaky = overriding<Store>(store, {
      resources: overriding(store.resources, {
        search: async (...args: Parameters<Store['resources']['search']>) => {
          if (failures === 0) {
            failures++;
            throw new Error('database is locked');
          }
          return store.resources.search(...args);
        },
      }),
    });
    const capture = worker(flaky);
    capture.start();
    try {
      const { jobId } = await store.jobs.enqueue(TENANT, {
        queue: ENCOUNTER_CHANGED_QUEUE,
        key: 'transient',
        payload: { encounter: 'Encounter/enc-busy', causes: [] },
      });
      capture.notify();
      await waitFor('the retry ran', async () => (await job(store, jobId)).state === 'done', DEADLINE_MS);
      const done = await job(store, jobId);
      expect(failures).toBe(1);
      expect(done.attempts).toBe(2);
      expect(done.lastError).toBe('database is locked');
    } finally {
      await capture.stop();
    }
  },
);

concurrentTest(
  'a job enqueued to run later through the waking view runs when due, not at the poll',
  async (store) => {
    await patient(store, 'pat-later', true);
    await visit(store, 'enc-later', 'pat-later');
    const capture = worker(store);
    const waking = notifyOnEnqueue(store, ENCOUNTER_CHANGED_QUEUE, (dueAt) => capture.notify(dueAt));
    capture.start();
    try {
      const runAt = new Date(Date.now() + 300);
      const [enqueued] = await waking.resources.writeBatch(TENANT, [
        {
          op: 'enqueue',
          job: {
            queue: ENCOUNTER_CHANGED_QUEUE,
            key: 'later',
            payload: { encounter: 'Encounter/enc-later', causes: [] },
            runAt: runAt.toISOString(),
          },
        },
      ]);
      if (enqueued?.op !== 'enqueue') {
        throw new Error('no job enqueued');
      }
      const jobId = enqueued.result.jobId;
      await waitFor('the job ran', async () => (await job(store, jobId)).state === 'done', DEADLINE_MS);
      expect(Date.parse((await job(store, jobId)).updatedAt)).toBeGreaterThanOrEqual(runAt.getTime());
    } finally {
      await capture.stop();
    }
  },
);

concurrentTest(
  'a job another process enqueued in the shared file runs at once, not at the poll',
  async (store) => {
    await patient(store, 'pat-elsewhere', true);
    await visit(store, 'enc-elsewhere', 'pat-elsewhere');
    // Another process on the same file (an ingest worker's, say): a connection of its own, whose
    // writes wake nothing in this one.
    const elsewhere = await openSqliteStore({ path: store.connection.path });
    const capture = worker(store);
    try {
      const first = await elsewhere.jobs.enqueue(TENANT, {
        queue: ENCOUNTER_CHANGED_QUEUE,
        key: 'elsewhere-1',
        payload: { encounter: 'Encounter/enc-elsewhere', causes: [] },
      });
      capture.start();
      await waitFor(
        'the job there at start ran',
        async () => (await job(store, first.jobId)).state === 'done',
      );
      // The loop found nothing more and sleeps for its 60 s poll (its empty look is long over).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await elsewhere.jobs.enqueue(TENANT, {
        queue: ENCOUNTER_CHANGED_QUEUE,
        key: 'elsewhere-2',
        payload: { encounter: 'Encounter/enc-elsewhere', causes: [] },
      });
      await waitFor(
        'the job enqueued elsewhere ran',
        async () => (await job(store, second.jobId)).state === 'done',
        DEADLINE_MS,
      );
    } finally {
      await capture.stop();
      await elsewhere.close();
    }
  },
);
