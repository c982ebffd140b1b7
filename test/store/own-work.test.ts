/**
 * Every queue worker's loop wakes for the work it scheduled for itself (LoopingWorker.ownStore,
 * src/store/own-work.ts), not at its poll: a job it failed for a retry, a job it deferred, a job
 * of its queue it enqueued to run later, and the jobs a batch that threw left leased. Each worker
 * runs over a real SQLite store with a 60 s poll: only the wake at the job's due instant can get
 * the work done before the deadline. (Charge capture's own: test/charges/capture-wake.test.ts.)
 * Last, the eligibility triggers (a check for the day before a visit) pass their instant on.
 */
import { beforeAll, expect } from '@jest/globals';
import { buildClaim } from '../../src/claims/build.ts';
import { scrubClaim } from '../../src/claims/scrub.ts';
import { CLAIM_ANSWER_QUEUE, CLAIM_READY_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { ClaimWorkflowWorker } from '../../src/claims/workflow/worker.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import type { CodingTables } from '../../src/coding/tables/types.ts';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { ELIGIBILITY_QUEUE } from '../../src/coverage/eligibility/records.ts';
import { withEligibilityTriggers } from '../../src/coverage/eligibility/store-triggers.ts';
import { enqueueEligibility } from '../../src/coverage/eligibility/triggers.ts';
import { EligibilityWorker } from '../../src/coverage/eligibility/worker.ts';
import { PRIOR_AUTH_QUEUE } from '../../src/coverage/pas/records.ts';
import { PriorAuthWorker } from '../../src/coverage/pas/worker.ts';
import type { EhrPort } from '../../src/ingest/ehr-port.ts';
import { INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import type { IngestJob } from '../../src/ingest/jobs.ts';
import { IngestWorker } from '../../src/ingest/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { RemittanceWorker } from '../../src/remittance/worker.ts';
import { JobMustWait } from '../../src/store/job-policy.ts';
import type { Job, Store } from '../../src/store/port.ts';
import { overriding } from '../../src/store/view.ts';
import { officeTenant } from '../claims/sweep-worker.ts';
import { addDays, localDate } from '../../src/time/zone.ts';
import { storeForEachConcurrentTest } from '../support/store-per-test.ts';
import { waitFor } from '../support/wait.ts';

const TENANT = 't';
/** Far beyond every deadline below: work found only by the poll fails the test. */
const POLL_MS = 60_000;
/** Retries and defers here are due 0.3–1.2 s after they were scheduled; the rest is room for a loaded machine. */
const DEADLINE_MS = 10_000;
const now = (): Date => new Date();
const logger = createLogger('silent');

/**
 * Each test's own store: a job another test left behind is not leased by another test's worker.
 * The tests run at once: most wait out a retry's backoff of about a second.
 */
const { dir, test: concurrentTest } = storeForEachConcurrentTest('dripline-own-work-');
let tables: CodingTables;

beforeAll(() => {
  tables = loadCodingTables();
});

async function job(store: Store, jobId: string): Promise<Job> {
  const found = await store.jobs.getJob(jobId);
  if (!found) {
    throw new Error(`job ${jobId} not found`);
  }
  return found;
}

/** Starts `worker`, runs `body`, stops the worker whatever happened. */
async function running<W extends { start(): void; stop(): Promise<void> }>(
  worker: W,
  body: (worker: W) => Promise<void>,
): Promise<void> {
  worker.start();
  try {
    await body(worker);
  } finally {
    await worker.stop();
  }
}

/** The store, whose first read of a resource of `type` throws `error()` (later reads answer). */
function failingFirstRead(
  store: Store,
  type: string,
  error: () => Error,
): { store: Store; failures: () => number } {
  let failures = 0;
  const view = overriding<Store>(store, {
    resources: overriding(store.resources, {
      read: async (...args: Parameters<Store['resources']['read']>) => {
        if (args[1] === type && failures === 0) {
          failures++;
          throw error();
        }
        return store.resources.read(...args);
      },
    }),
  });
  return { store: view, failures: () => failures };
}

function claimsWorker(over: Store): ClaimWorkflowWorker {
  return new ClaimWorkflowWorker({
    store: over,
    tables,
    logger,
    publicUrl: 'http://dripline.test',
    tenants: [officeTenant(TENANT)],
    buildClaim,
    scrubClaim: (ctx, t) => scrubClaim(ctx, t),
    now,
    pollMs: POLL_MS,
  });
}

async function enqueueClaimStep(store: Store, key: string): Promise<string> {
  const { jobId } = await store.jobs.enqueue(TENANT, {
    queue: CLAIM_READY_QUEUE,
    key,
    payload: { encounters: [`Encounter/${key}`] },
  });
  return jobId;
}

concurrentTest(
  'claims: a claim step failed for a retry runs again at its backoff, not at the poll',
  async (store) => {
    // The first look at the claim meets a store that is busy (a lock held too long).
    const flaky = failingFirstRead(store, 'Claim', () => new Error('database is locked'));
    await running(claimsWorker(flaky.store), async (worker) => {
      const jobId = await enqueueClaimStep(store, 'enc-retried');
      worker.notify();
      await waitFor('the retry ran', async () => (await job(store, jobId)).state === 'done', DEADLINE_MS);
      const done = await job(store, jobId);
      expect(flaky.failures()).toBe(1);
      expect([done.attempts, done.lastError]).toEqual([2, 'database is locked']);
    });
  },
);

concurrentTest(
  'claims: a claim step that must wait runs again when its wait is over, not at the poll',
  async (store) => {
    // The first look finds work it must wait for (as a patient's eligibility check under way), for 0.3 s.
    const waiting = failingFirstRead(store, 'Claim', () => new JobMustWait('waits for other work', 300));
    await running(claimsWorker(waiting.store), async (worker) => {
      const jobId = await enqueueClaimStep(store, 'enc-deferred');
      worker.notify();
      await waitFor(
        'the deferred step ran',
        async () => (await job(store, jobId)).state === 'done',
        DEADLINE_MS,
      );
      const done = await job(store, jobId);
      expect(waiting.failures()).toBe(1);
      // A wait spends no attempt: only the run that finished counts.
      expect([done.attempts, done.lastError]).toEqual([1, 'waits for other work']);
    });
  },
);

concurrentTest(
  'eligibility: a check of a patient not stored yet runs again at its retry, not at the poll',
  async (store) => {
    const worker = new EligibilityWorker({
      store,
      tables,
      logger,
      publicUrl: 'http://dripline.test',
      now,
      tenants: () => [officeTenant(TENANT)],
      pollMs: POLL_MS,
    });
    await running(worker, async () => {
      const { jobId } = await enqueueEligibility(store, TENANT, 'Patient/pat-late', 'test');
      worker.notify();
      await waitFor('an attempt failed for a retry', async () => (await job(store, jobId)).lastError);
      // The patient arrives through a write that wakes no one (another process, say).
      await store.resources.create(
        TENANT,
        { resourceType: 'Patient', name: [{ family: 'Late' }] },
        { id: 'pat-late' },
      );
      await waitFor('the retry ran', async () => (await job(store, jobId)).state === 'done', DEADLINE_MS);
      expect((await job(store, jobId)).attempts).toBe(2);
      expect(await store.jobs.listJobs(TENANT, ELIGIBILITY_QUEUE, 'dead', 10)).toEqual([]);
    });
  },
);

concurrentTest(
  'prior authorization: an order whose patient is not stored yet is looked at again at the store’s backoff',
  async (store) => {
    await store.resources.create(
      TENANT,
      {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: 'Patient/pat-pa' },
        medicationCodeableConcept: { text: 'infliximab' },
      },
      { id: 'order-pa' },
    );
    const worker = new PriorAuthWorker({
      store,
      tenants: () => [officeTenant(TENANT)],
      tables,
      logger,
      publicUrl: 'http://dripline.test',
      now,
      pollMs: POLL_MS,
    });
    await running(worker, async () => {
      const { jobId } = await store.jobs.enqueue(TENANT, {
        queue: PRIOR_AUTH_QUEUE,
        key: 'order|order-pa|1',
        payload: { kind: 'order', order: 'order-pa' },
      });
      worker.notify();
      // Failed without an instant of its own: the store draws its backoff (1 s ± 20 %).
      await waitFor('an attempt failed for a retry', async () => (await job(store, jobId)).lastError);
      // The patient and a coverage no configured payer answers for: nothing to ask, the job is done.
      await store.resources.create(
        TENANT,
        { resourceType: 'Patient', name: [{ family: 'Pa' }] },
        { id: 'pat-pa' },
      );
      await store.resources.create(TENANT, {
        resourceType: 'Coverage',
        status: 'active',
        beneficiary: { reference: 'Patient/pat-pa' },
        payor: [{ display: 'A payer not configured' }],
      });
      await waitFor('the retry ran', async () => (await job(store, jobId)).state === 'done', DEADLINE_MS);
      expect((await job(store, jobId)).attempts).toBe(2);
    });
  },
);

const CONNECTION: EhrConnectionConfig = {
  id: 'ehr-1',
  fhirBaseUrl: 'http://ehr.test/fhir',
  clientId: 'dripline',
  privateKeyJwk: {},
  scope: 'system/*.rs',
  mode: 'rest-hook',
  payload: 'id-only',
  locations: [],
  heartbeatSeconds: 60,
  pollIntervalSeconds: 60,
};

/** An EHR-unavailable error, as the EHR port throws for a 503. */
function unavailable(): Error {
  return Object.assign(new Error('EHR unavailable (503)'), { retryable: true });
}

/**
 * An ingest worker whose subscription maintenance (a `maintain` job) meets an unavailable EHR
 * `failing` times, then finds everything in order.
 */
function ingestWorker(over: Store, failing: number, leaseMs?: number): IngestWorker {
  let calls = 0;
  return new IngestWorker({
    store: over,
    connections: new Map([[CONNECTION.id, { tenant: TENANT, connection: CONNECTION }]]),
    ehrFor: () => ({}) as EhrPort,
    maintainer: {
      ensure: () => (++calls <= failing ? Promise.reject(unavailable()) : Promise.resolve([])),
      repair: () => Promise.resolve(),
    },
    publicUrl: 'http://dripline.test',
    logger,
    now,
    pollMs: POLL_MS,
    ...(leaseMs !== undefined ? { leaseMs } : {}),
  });
}

async function enqueueMaintain(store: Store, maxAttempts?: number): Promise<string> {
  const payload: IngestJob = { kind: 'maintain', connectionId: CONNECTION.id };
  const { jobId } = await store.jobs.enqueue(TENANT, {
    queue: INGEST_QUEUE,
    key: 'maintain|ehr-1',
    payload,
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
  });
  return jobId;
}

concurrentTest(
  'ingest: a job failed for a retry runs again at the store’s backoff, not at the poll',
  async (store) => {
    await running(ingestWorker(store, 1), async (worker) => {
      const jobId = await enqueueMaintain(store);
      worker.notify();
      await waitFor('the retry ran', async () => (await job(store, jobId)).state === 'done', DEADLINE_MS);
      expect([(await job(store, jobId)).attempts, (await job(store, jobId)).lastError]).toEqual([
        2,
        'EHR unavailable (503)',
      ]);
    });
  },
);

concurrentTest(
  'ingest: the continuation of a job out of attempts runs when due, not at the poll',
  async (store) => {
    await running(ingestWorker(store, 1), async (worker) => {
      // One attempt only: the EHR's "later" continues the work in a new job due after the backoff.
      const jobId = await enqueueMaintain(store, 1);
      worker.notify();
      const continuation = await waitFor('the continuation enqueued', async () => {
        const [next] = (await store.jobs.listJobs(TENANT, INGEST_QUEUE, 'ready', 10)).filter(
          (j) => j.key === 'maintain|ehr-1|retry-1',
        );
        return next;
      });
      expect((await job(store, jobId)).state).toBe('done');
      await waitFor(
        'the continuation ran',
        async () => (await job(store, continuation.id)).state === 'done',
        DEADLINE_MS,
      );
    });
  },
);

concurrentTest(
  'a batch that throws before it acks wakes when the leases it left expire, not at the poll',
  async (store) => {
    // The batch's acks fail once (the store busy): the batch throws with its job still leased.
    let ackFailures = 0;
    const flaky = overriding<Store>(store, {
      jobs: overriding(store.jobs, {
        ackMany: async (...args: Parameters<Store['jobs']['ackMany']>) => {
          if (ackFailures === 0 && args[0].length > 0) {
            ackFailures++;
            throw new Error('database is locked');
          }
          return store.jobs.ackMany(...args);
        },
      }),
    });
    await running(ingestWorker(flaky, 0, 500), async (worker) => {
      const jobId = await enqueueMaintain(store);
      worker.notify();
      await waitFor(
        'the job done after its lease expired',
        async () => (await job(store, jobId)).state === 'done',
        DEADLINE_MS,
      );
      expect(ackFailures).toBe(1);
      // Its first lease was never given back: the second lease, after it expired, ran it again.
      expect((await job(store, jobId)).attempts).toBe(2);
    });
  },
);

concurrentTest(
  'remittance: posting a payer’s answer failed for a retry runs again at its backoff, not at the poll',
  async (store) => {
    const flaky = failingFirstRead(store, 'ClaimResponse', () => new Error('database is locked'));
    const worker = new RemittanceWorker({
      store: flaky.store,
      publicUrl: 'http://dripline.test',
      now,
      logger,
      remittanceDir: dir,
      tenants: () => [officeTenant(TENANT)],
      leaseMs: 60_000,
      pollMs: POLL_MS,
    });
    await running(worker, async () => {
      const { jobId } = await store.jobs.enqueue(TENANT, {
        queue: CLAIM_ANSWER_QUEUE,
        key: 'answer|claim-1',
        payload: { claim: 'claim-1', answer: 'ClaimResponse/answer-1', payer: 'commercial-payer' },
      });
      worker.notify();
      await waitFor('the retry ran', async () => (await job(store, jobId)).state === 'done', DEADLINE_MS);
      expect(flaky.failures()).toBe(1);
      expect([(await job(store, jobId)).attempts, (await job(store, jobId)).lastError]).toEqual([
        2,
        'database is locked',
      ]);
    });
  },
);

concurrentTest(
  'the eligibility triggers tell the worker when a check enqueued for later is due',
  async (store) => {
    const told: (Date | undefined)[] = [];
    const tenant = officeTenant(TENANT, { timeZone: 'UTC' });
    const triggering = withEligibilityTriggers(
      store,
      () => [tenant],
      now,
      (dueAt) => told.push(dueAt),
    );
    await store.resources.create(
      TENANT,
      { resourceType: 'Patient', name: [{ family: 'Soon' }] },
      { id: 'pat-soon' },
    );
    const visitDay = addDays(localDate(now(), 'UTC'), 3);
    await triggering.resources.writeBatch(TENANT, [
      {
        op: 'create',
        resource: {
          resourceType: 'Encounter',
          id: 'enc-soon',
          status: 'planned',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: 'Patient/pat-soon' },
          period: { start: `${visitDay}T15:00:00Z` },
        },
        options: { id: 'enc-soon' },
      },
    ]);
    const [check] = await store.jobs.listJobs(TENANT, ELIGIBILITY_QUEUE, 'ready', 10);
    // The day before the visit, at 06:00 in the tenant's zone: the worker's loop wakes then.
    expect(check?.runAt).toBe(`${addDays(visitDay, -1)}T06:00:00.000Z`);
    expect(told).toEqual([new Date(check!.runAt)]);
  },
);
