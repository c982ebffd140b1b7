/**
 * What the PAS follow-up tests over real HTTP share (resend.test, fallback.test, rounds.test): the
 * sandbox payer and Dripline as they start them (startPasPayer, startPasServer) and the parties and
 * orders they seed (seedPasOrders); a recording port to the payer (every `Claim/$submit` and
 * `Claim/$inquire` Dripline made, and how many of one case were at the payer at once), a person's
 * ask through `POST /api/prior-auth`, and waits on the requests, jobs and work items of a tenant,
 * moving the shared clock instead of waiting for it.
 */
import { Writable } from 'node:stream';
import type { Bundle, Claim, MedicationRequest, Organization, Resource, Task } from '@medplum/fhirtypes';
import { codingTablesOnFirstUse } from '../../../src/coding/tables/load.ts';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import type { TenantConfig } from '../../../src/config/config.ts';
import { createPasPayerPort } from '../../../src/coverage/pas/payer-client.ts';
import type { PasPayerPort } from '../../../src/coverage/pas/payer-client.ts';
import { caseIdOf, PRIOR_AUTH_QUEUE, stateOf } from '../../../src/coverage/pas/records.ts';
import { PriorAuthWorker } from '../../../src/coverage/pas/worker.ts';
import { createLogger } from '../../../src/logger.ts';
import { sandboxPayers } from '../../../src/sandbox/index.ts';
import { startSandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job, JobState, StoredResource } from '../../../src/store/port.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import type { AdvancingClock } from '../../../src/time/clock.ts';
import { fhirFetch, startTestServer } from '../../support/harness.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { coverage, order, orderer, patient } from './fixtures.ts';

export const PAS_SCOPE = 'system/MedicationRequest.r system/Claim.cr system/ClaimResponse.r system/Task.r';

/** How one call to the payer ended: its HTTP status, or the payer could not be reached. */
export type CallOutcome = number | 'unreachable';

export const drugOrder = (id: string, hcpcs: string, doseMg: number): MedicationRequest & { id: string } => ({
  ...order,
  id,
  medicationCodeableConcept: {
    coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: hcpcs }],
  },
  dosageInstruction: [
    {
      text: `${doseMg} mg IV`,
      timing: { repeat: { count: 1 } },
      doseAndRate: [
        { doseQuantity: { value: doseMg, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } },
      ],
    },
  ],
});

/** The case of a submission `{case}-{n}`. */
export const caseOf = (claim: Claim & { id: string }): string => caseIdOf(claim.id);

/** The case's inquiry jobs (every round, and any queued after one died). */
export const inquiryOf =
  (caseId: string) =>
  (job: Job): boolean =>
    job.key.startsWith(`inquire|${caseId}|`);

export const sendOf =
  (claim: string) =>
  (job: Job): boolean =>
    job.key.startsWith('send|') && (job.payload as { claim?: string }).claim === claim;

export type PasHarness = ReturnType<typeof pasHarness>;

/**
 * The harness of one test file: `clock` is Dripline's and the payer's; `tenant` the default of each
 * helper taking one; `server()` the started Dripline (started after the port is handed to it).
 */
export function pasHarness(clock: AdvancingClock, tenant: string, server: () => TestServer) {
  const submits: { claim: string; outcome: CallOutcome }[] = [];
  const inquiries: { claim: string; outcome: CallOutcome }[] = [];
  const inFlight = new Map<string, number>();
  const most = { submits: 0, inquiries: 0 };

  const enter = (key: string, kind: keyof typeof most): void => {
    const now = (inFlight.get(key) ?? 0) + 1;
    inFlight.set(key, now);
    most[kind] = Math.max(most[kind], now);
  };
  const leave = (key: string): void => {
    inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
  };

  /** The real HTTP port to the payer, with each submit and inquiry recorded. */
  function recordingPort(endpoint: PayerEndpoint): PasPayerPort {
    const real = createPasPayerPort(endpoint, { now: clock.now });
    return {
      ...real,
      async inquire(body) {
        // The inquiry's Claim is `{submission}-inq{round}`; the submission is `{case}-{n}`.
        const claim = ((body as Bundle).entry?.[0]?.resource?.id ?? '?').replace(/-inq\d+$/, '');
        const caseId = caseIdOf(claim);
        enter(`inquire|${caseId}`, 'inquiries');
        try {
          const answer = await real.inquire(body);
          inquiries.push({ claim, outcome: answer.status });
          return answer;
        } catch (err) {
          inquiries.push({ claim, outcome: 'unreachable' });
          throw err;
        } finally {
          leave(`inquire|${caseId}`);
        }
      },
      async submit(body) {
        const claim = (JSON.parse(body) as Bundle).entry?.[0]?.resource?.id ?? '?';
        enter(`submit|${claim}`, 'submits');
        try {
          const answer = await real.submit(body);
          submits.push({ claim, outcome: answer.status });
          return answer;
        } catch (err) {
          submits.push({ claim, outcome: 'unreachable' });
          throw err;
        } finally {
          leave(`submit|${claim}`);
        }
      },
    };
  }

  /** A person asks for the order's prior authorization (a new token each time: the clock has moved on). */
  const ask = async (orderId: string, t = tenant): Promise<number> =>
    (
      await fhirFetch(`${server().url}/api/prior-auth`, await server().token(t, PAS_SCOPE), {
        method: 'POST',
        body: { order: `MedicationRequest/${orderId}` },
        headers: { 'content-type': 'application/json' },
      })
    ).status;

  async function requestOf(orderId: string, t = tenant): Promise<(Claim & StoredResource) | undefined> {
    return (
      await searchAll<Claim>(server().running.store, t, 'Claim', [
        { code: 'use', kind: 'token', values: [{ value: 'preauthorization' }] },
      ])
    ).find((c) => c.extension?.some((e) => e.valueString?.startsWith(`MedicationRequest/${orderId}/`)));
  }

  const stateReached = (
    orderId: string,
    state: string,
    timeoutMs = 20_000,
    t = tenant,
  ): Promise<Claim & StoredResource> =>
    waitFor(
      `the request of ${orderId} ${state}`,
      async () => {
        const claim = await requestOf(orderId, t);
        return claim && stateOf(claim) === state ? claim : undefined;
      },
      timeoutMs,
    );

  const jobsOf = async (state: JobState, match: (job: Job) => boolean, t = tenant): Promise<Job[]> =>
    (await server().running.store.jobs.listJobs(t, PRIOR_AUTH_QUEUE, state, 500)).filter(match);

  /** The jobs `match` picks that are still to run (ready or leased). */
  const queuedJobs = async (match: (job: Job) => boolean, t = tenant): Promise<Job[]> => [
    ...(await jobsOf('ready', match, t)),
    ...(await jobsOf('leased', match, t)),
  ];

  /**
   * The payer is down: each attempt of the jobs `match` picks fails; the clock moves past each
   * backoff, and the worker is told the job is due (as its poll would find it), until `dead` of
   * them are dead.
   */
  async function dieWhilePayerDown(
    what: string,
    match: (job: Job) => boolean,
    dead: number,
    t = tenant,
  ): Promise<void> {
    await waitFor(
      `${what} dead`,
      async () => {
        if ((await jobsOf('dead', match, t)).length >= dead) {
          return true;
        }
        const backingOff = (await jobsOf('ready', match, t)).find((j) => j.attempts >= 1);
        if (backingOff) {
          runAtNow(backingOff);
          server().running.priorAuth.notify();
        }
        return false;
      },
      30_000,
      20,
    );
  }

  /** The queue holds no order job still to run (each ask has been handled). */
  const asksHandled = (t = tenant): Promise<boolean> =>
    waitFor(
      'the asks handled',
      async () => (await queuedJobs((j) => j.key.startsWith('order|'), t)).length === 0,
    );

  const workItem = (claim: Claim & { id: string }, t = tenant): Promise<Task & StoredResource> =>
    server().running.store.resources.read(t, 'Task', `${caseOf(claim)}-work`) as Promise<
      Task & StoredResource
    >;

  /** Moves the clock to a job's runAt. */
  const runAtNow = (job: Job): void =>
    clock.advance(Math.max(0, Date.parse(job.runAt) - clock.now().getTime()));

  const inquiriesOf = (claim: string): CallOutcome[] =>
    inquiries.filter((s) => s.claim === claim).map((s) => s.outcome);

  const submitsOf = (claim: string): CallOutcome[] =>
    submits.filter((s) => s.claim === claim).map((s) => s.outcome);

  return {
    recordingPort,
    ask,
    requestOf,
    stateReached,
    jobsOf,
    queuedJobs,
    dieWhilePayerDown,
    asksHandled,
    workItem,
    runAtNow,
    inquiriesOf,
    submitsOf,
    /** The most submits of one request that were at the payer at the same time. */
    mostSubmitsInFlight: (): number => most.submits,
    /** The most inquiries about one case that were at the payer at the same time. */
    mostInquiriesInFlight: (): number => most.inquiries,
  };
}

/** A tenant of these tests, as its config file entry says it (no EHR connections, default coding). */
type PasTenant = Omit<TenantConfig, 'connections' | 'coding'>;

/**
 * Dripline for these tests: the prior-auth worker alone (polling every 50 ms, its payer port the
 * harness's recording one), on the shared clock, with `tenants` (and `env`, e.g. JOB_LEASE_MS).
 */
export function startPasServer(
  h: PasHarness,
  clock: AdvancingClock,
  tenants: readonly PasTenant[],
  env: Record<string, string> = {},
): Promise<TestServer> {
  return startTestServer(
    env,
    {
      now: clock.now,
      priorAuthWorker: { pollMs: 50, payerPort: h.recordingPort },
      claimWorkflow: { tenants: tenants.map((t) => ({ ...t, connections: [], coding: {} })) },
      ingest: false,
      chargeCapture: false,
      claims: false,
    },
    { tenants: tenants.map((t) => ({ ...t })) },
  );
}

/** The payer (Buckeye Health Plan, BHP01), the patient, her coverage with that payer, the orderer. */
export function pasParties(): (Resource & { id: string })[] {
  const payerOrg: Organization & { id: string } = {
    resourceType: 'Organization',
    id: 'payer-bhp',
    identifier: [{ system: 'https://ehr.test/sid/payer-id', value: 'BHP01' }],
    name: 'Buckeye Health Plan',
  };
  return [payerOrg, patient, { ...coverage, payor: [{ reference: 'Organization/payer-bhp' }] }, orderer];
}

/** Stores the parties and each tenant's own orders in that tenant, as ingest would have copied them. */
export async function seedPasOrders(
  server: TestServer,
  orders: Record<string, readonly (MedicationRequest & { id: string })[]>,
): Promise<void> {
  for (const [tenant, own] of Object.entries(orders)) {
    for (const r of [...pasParties(), ...own]) {
      const { meta: _meta, ...plain } = r;
      await server.running.store.resources.create(tenant, plain, { id: r.id });
    }
  }
}

/**
 * A sandbox payer on the shared clock whose PAS reviews end only when the test says
 * (finishReviews), so a pended answer stays pended meanwhile, and its Buckeye Health Plan (BHP01)
 * endpoint with prior authorization.
 */
export async function startPasPayer(
  clock: AdvancingClock,
): Promise<{ readonly payer: SandboxPayer; readonly endpoint: PayerEndpoint }> {
  const payer = await startSandboxPayer({ pas: { reviewDelayMs: 600_000 }, now: clock.now });
  const [endpoint] = (await sandboxPayers(
    payer,
    [{ id: 'buckeye', name: 'Buckeye Health Plan', payerId: 'BHP01', kind: 'commercial' }],
    { priorAuth: true },
  )) as [PayerEndpoint];
  return { payer, endpoint };
}

/**
 * A second prior-auth worker on the server's store, polling the same queue (another process's, as
 * far as the queue can tell), with its logs kept in `logs`; started, and stopped by the caller.
 */
export function startRivalWorker(
  h: PasHarness,
  server: TestServer,
  clock: AdvancingClock,
  tenants: readonly TenantConfig[],
  options: { readonly leaseMs: number; readonly logs: string[] },
): PriorAuthWorker {
  const worker = new PriorAuthWorker({
    store: server.running.store,
    tenants: () => tenants,
    tables: codingTablesOnFirstUse(),
    logger: createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          options.logs.push(chunk.toString('utf8'));
          cb();
        },
      }),
    ),
    publicUrl: server.url,
    now: clock.now,
    leaseMs: options.leaseMs,
    pollMs: 50,
    payerPort: h.recordingPort,
  });
  worker.start();
  return worker;
}
