/**
 * A payer call that outlives its job's lease keeps the lease (src/store/lease-keeper.ts), so no
 * other worker leases the job and makes the call again: the claims worker's `Claim/$submit` and
 * the eligibility worker's inquiry, each with two workers on one SQLite store, jobs leased for
 * 0.6 s and a payer port that answers after 1.5 s. (The PAS worker's calls, over real HTTP:
 * test/coverage/pas/lease.test.ts.) And the keeper itself: a job whose lease ran down while the
 * jobs before it in the batch ran is renewed before its call, and one already taken is not called.
 */
import { beforeAll, expect, test } from '@jest/globals';
import type { Claim, ClaimResponse, Coverage, Organization, Patient } from '@medplum/fhirtypes';
import { buildClaim } from '../../src/claims/build.ts';
import type { PayerPort } from '../../src/claims/payer-port.ts';
import { scrubClaim } from '../../src/claims/scrub.ts';
import { CLAIM_SUBMIT_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { ClaimWorkflowWorker } from '../../src/claims/workflow/worker.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import type { CodingTables } from '../../src/coding/tables/types.ts';
import type { PayerEndpoint } from '../../src/config/billing.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE, ID_PAYER_ID } from '../../src/contract/canonical.ts';
import type { EligibilityPayerPort } from '../../src/coverage/eligibility/payer-client.ts';
import { enqueueEligibility } from '../../src/coverage/eligibility/triggers.ts';
import { EligibilityWorker } from '../../src/coverage/eligibility/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { LeaseKeeper, LeaseLost } from '../../src/store/lease-keeper.ts';
import type { Job } from '../../src/store/port.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { payer } from '../claims/fixtures.ts';
import { officeTenant } from '../claims/sweep-worker.ts';
import { storePerTest } from '../support/store-per-test.ts';
import { waitFor } from '../support/wait.ts';

const TENANT = 't';
const LEASE_MS = 600;
/** The payer answers after two and a half leases. */
const ANSWER_AFTER_MS = 1_500;
const now = (): Date => new Date();
const logger = createLogger('silent');

storePerTest('dripline-lease-keeper-', (opened) => {
  store = opened;
});
let store: SqliteStore;
let tables: CodingTables;

beforeAll(() => {
  tables = loadCodingTables();
});

/** A payer that answers each call `ANSWER_AFTER_MS` after it came, and counts the calls. */
function slowPayer<T>(answer: () => T): { call: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    call: () => {
      calls += 1;
      return new Promise<T>((resolve) => setTimeout(() => resolve(answer()), ANSWER_AFTER_MS));
    },
    calls: () => calls,
  };
}

/** Starts both workers, runs `body`, stops them whatever happened. */
async function running(
  workers: readonly { start(): void; stop(): Promise<void> }[],
  body: () => Promise<void>,
): Promise<void> {
  workers.forEach((w) => w.start());
  try {
    await body();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** The job once done, or as it is when the payer has been called a second time. */
const doneOrCalledTwice = (jobId: string, calls: () => number): Promise<Job> =>
  waitFor(
    'the job done, or the payer called twice',
    async () => {
      const job = await store.jobs.getJob(jobId);
      return job?.state === 'done' || calls() > 1 ? job : undefined;
    },
    8_000,
    50,
  );

test('claims: a submit the payer answers after the lease would have run out is sent once', async () => {
  const fhirPayer: PayerEndpoint = payer('commercial');
  const payerAnswer = slowPayer<ClaimResponse>(() => ({
    resourceType: 'ClaimResponse',
    id: 'payer-answer-1',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: 'Patient/p' },
    created: now().toISOString(),
    insurer: { display: fhirPayer.name },
    outcome: 'complete',
  }));
  const port: PayerPort = { submit: payerAnswer.call, findSubmitted: () => Promise.resolve(undefined) };
  await store.resources.create(
    TENANT,
    {
      resourceType: 'Claim',
      status: 'draft',
      type: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
      },
      use: 'claim',
      patient: { reference: 'Patient/p' },
      created: now().toISOString(),
      provider: { display: 'Riverside Infusion Center' },
      priority: { coding: [{ code: 'normal' }] },
      insurance: [{ sequence: 1, focal: true, coverage: { display: 'coverage' } }],
      extension: [
        { url: EXT_CLAIM_STATE, valueCode: 'ready' },
        { url: EXT_CLAIM_PAYER, valueString: fhirPayer.id },
      ],
    },
    { id: 'claim-slow' },
  );
  const worker = (): ClaimWorkflowWorker =>
    new ClaimWorkflowWorker({
      store,
      tables,
      logger,
      publicUrl: 'http://dripline.test',
      tenants: [officeTenant(TENANT, { payers: [fhirPayer] })],
      buildClaim,
      scrubClaim: (ctx, t) => scrubClaim(ctx, t),
      now,
      pollMs: 50,
      leaseMs: LEASE_MS,
      payerPort: () => port,
    });
  const { jobId } = await store.jobs.enqueue(TENANT, {
    queue: CLAIM_SUBMIT_QUEUE,
    key: 'submit|claim-slow',
    payload: { claim: 'claim-slow', version: '1' },
  });
  await running([worker(), worker()], async () => {
    const job = await doneOrCalledTwice(jobId, payerAnswer.calls);
    expect(payerAnswer.calls()).toBe(1);
    expect(job).toMatchObject({ state: 'done', attempts: 1 });
  });
  const claim = await store.resources.read(TENANT, 'Claim', 'claim-slow');
  expect(claimStateOf(claim as Claim)).toBe('adjudicated');
}, 15_000);

test('eligibility: an inquiry the payer answers after the lease would have run out is asked once', async () => {
  const eligibilityPayer: PayerEndpoint = {
    ...payer('commercial'),
    fhirBaseUrl: 'http://payer.invalid/fhir',
    clientId: 'dripline',
    privateKeyJwk: { kty: 'EC' },
  };
  const payerAnswer = slowPayer(() => ({
    status: 200,
    text: JSON.stringify({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'processing' }],
    }),
    contentType: 'application/fhir+json',
  }));
  const port: EligibilityPayerPort = { send: payerAnswer.call };
  const organization: Organization = {
    resourceType: 'Organization',
    name: eligibilityPayer.name,
    identifier: [{ system: ID_PAYER_ID, value: eligibilityPayer.payerId }],
  };
  const patient: Patient = {
    resourceType: 'Patient',
    name: [{ family: 'Okafor', given: ['Grace'] }],
    birthDate: '1948-03-02',
    gender: 'female',
  };
  const coverage: Coverage = {
    resourceType: 'Coverage',
    status: 'active',
    subscriberId: 'ACM000123',
    relationship: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }],
    },
    beneficiary: { reference: 'Patient/p' },
    payor: [{ reference: 'Organization/org' }],
    period: { start: '2020-01-01' },
  };
  await store.resources.create(TENANT, organization, { id: 'org' });
  await store.resources.create(TENANT, patient, { id: 'p' });
  await store.resources.create(TENANT, coverage, { id: 'cov' });
  const worker = (): EligibilityWorker =>
    new EligibilityWorker({
      store,
      tables,
      logger,
      publicUrl: 'http://dripline.test',
      now,
      tenants: () => [officeTenant(TENANT, { payers: [eligibilityPayer] })],
      payerPort: () => port,
      leaseMs: LEASE_MS,
      pollMs: 50,
    });
  const { jobId } = await enqueueEligibility(store, TENANT, 'Patient/p', 'test');
  await running([worker(), worker()], async () => {
    const job = await doneOrCalledTwice(jobId, payerAnswer.calls);
    expect(payerAnswer.calls()).toBe(1);
    expect(job).toMatchObject({ state: 'done', attempts: 1 });
  });
}, 15_000);

test('the keeper renews a lease run down before its call, and makes no call for a lease already taken', async () => {
  const queue = 'lease-keeper-test';
  for (const key of ['run-down', 'taken']) {
    await store.jobs.enqueue(TENANT, { queue, key, payload: null });
  }
  const t0 = now();
  const leased = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 2, now: t0 });
  const byKey = (key: string): Job => leased.find((j) => j.key === key)!;
  // 50 of the 60 s have gone (the batch's earlier jobs ran that long), on the worker's clock.
  const later = (): Date => new Date(t0.getTime() + 50_000);
  const runDown = new LeaseKeeper({
    jobs: store.jobs,
    leased: [byKey('run-down')],
    leaseMs: 60_000,
    now: later,
  });
  expect(await runDown.during(() => Promise.resolve('answered'))).toBe('answered');
  expect((await store.jobs.getJob(byKey('run-down').id))?.leaseExpiresAt).toBe(
    new Date(t0.getTime() + 110_000).toISOString(),
  );
  // The other's lease ran out and another worker took it: no call is made for it.
  const [retaken] = await store.jobs.lease({
    queue,
    leaseMs: 60_000,
    limit: 2,
    now: new Date(t0.getTime() + 61_000),
  });
  expect(retaken?.key).toBe('taken');
  let called = false;
  const taken = new LeaseKeeper({
    jobs: store.jobs,
    leased: [byKey('taken')],
    leaseMs: 60_000,
    now: () => new Date(t0.getTime() + 61_000),
  });
  await expect(
    taken.during(() => {
      called = true;
      return Promise.resolve('answered');
    }),
  ).rejects.toBeInstanceOf(LeaseLost);
  expect(called).toBe(false);
  expect(taken.lost).toBe(true);
  expect(await store.jobs.getJob(retaken!.id)).toMatchObject({
    leaseToken: retaken!.leaseToken,
    attempts: 2,
  });
});

test('a call answered after its lease was taken rejects with LeaseLost carrying what it resolved with', async () => {
  const queue = 'lease-keeper-test';
  const leaseMs = 300;
  for (const key of ['made', 'failed']) {
    await store.jobs.enqueue(TENANT, { queue, key, payload: null });
  }
  const leased = await store.jobs.lease({ queue, leaseMs, limit: 2, now: now() });
  const keeperOf = (key: string): LeaseKeeper =>
    new LeaseKeeper({ jobs: store.jobs, leased: [leased.find((j) => j.key === key)!], leaseMs, now });
  const [made, failed] = [keeperOf('made'), keeperOf('failed')];
  // Each call waits for a renewal to find its lease taken, then settles; what each rejects with.
  const found = (keeper: LeaseKeeper): Promise<true> =>
    waitFor('a renewal to find the lease taken', () => keeper.lost, 5_000, 20);
  const rejection = (settling: Promise<unknown>): Promise<unknown> =>
    settling.then(
      () => undefined,
      (err: unknown) => err,
    );
  const answered = rejection(
    made.during(async () => {
      await found(made);
      return { status: 201, id: 'sub-1' };
    }),
  );
  const refused = rejection(
    failed.during(async () => {
      await found(failed);
      throw new Error('refused');
    }),
  );
  // Another worker takes both leases, as after they ran out unrenewed.
  const taken = await store.jobs.lease({
    queue,
    leaseMs: 60_000,
    limit: 2,
    now: new Date(Date.now() + 60_000),
  });
  expect(taken).toHaveLength(2);
  const lost = await answered;
  expect(lost).toBeInstanceOf(LeaseLost);
  expect((lost as LeaseLost).resolvedWith).toEqual({ value: { status: 201, id: 'sub-1' } });
  const lostFailing = await refused;
  expect(lostFailing).toBeInstanceOf(LeaseLost);
  expect((lostFailing as LeaseLost).resolvedWith).toBeUndefined();
});
