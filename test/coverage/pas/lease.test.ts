/**
 * A PAS request whose payer answers more slowly than the send job's lease lasts is submitted once,
 * over real HTTP against the sandbox payer: the payer holds each `Claim/$submit` answer 2.5 s,
 * Dripline's jobs are leased for 1 s (JOB_LEASE_MS), and a second prior-auth worker polls the
 * same queue all along. The worker making the call keeps the job's lease (LeaseKeeper), so the
 * other never takes the job: the payer receives the submission once and the request is decided
 * once. And a worker whose lease is taken while the payer answers (another worker leased the job
 * after the lease ran out) does not record that answer: the job's new owner decides.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../../src/config/config.ts';
import { PRIOR_AUTH_QUEUE, stateOf } from '../../../src/coverage/pas/records.ts';
import type { PriorAuthWorker } from '../../../src/coverage/pas/worker.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing } from './fixtures.ts';
import {
  caseOf,
  drugOrder,
  pasHarness,
  seedPasOrders,
  sendOf,
  startPasPayer,
  startPasServer,
  startRivalWorker,
} from './resend-harness.ts';

const clock = advancingClock();
const T = 'clinic-lease';
const LEASE_MS = 1_000;
const ANSWER_AFTER_MS = 2_500;

let payer: SandboxPayer;
let server: TestServer;
/** A second prior-auth worker on the same store: another process's, as far as the queue can tell. */
let other: PriorAuthWorker;
const otherLogs: string[] = [];

const h = pasHarness(clock, T, () => server);
const { ask, jobsOf, requestOf, stateReached, submitsOf } = h;

beforeAll(async () => {
  const started = await startPasPayer(clock);
  payer = started.payer;
  payer.setBehaviour({ holdPasSubmitAnswersMs: ANSWER_AFTER_MS });
  // No subscription: the send is the only call the payer is asked for.
  const endpoint = { ...started.endpoint, pas: { ...started.endpoint.pas!, subscription: 'off' as const } };
  const tenant = { id: T, name: T, timeZone: 'America/New_York', billing, payers: [endpoint] };
  server = await startPasServer(h, clock, [tenant], { JOB_LEASE_MS: String(LEASE_MS) });
  // Ocrelizumab (J2350) and vedolizumab (J3380): certified as asked.
  await seedPasOrders(server, {
    [T]: [drugOrder('mr-slow', 'J2350', 600), drugOrder('mr-taken', 'J3380', 300)],
  });
  const tenants: TenantConfig[] = [{ ...tenant, connections: [], coding: {} }];
  other = startRivalWorker(h, server, clock, tenants, { leaseMs: LEASE_MS, logs: otherLogs });
}, 60_000);

afterAll(async () => {
  await other.stop();
  await server.stop();
  await payer.stop();
});

/** The request's send jobs that are done, once none is still to run. */
const sendsSettled = (claim: string) =>
  waitFor(
    `the sends of ${claim} settled`,
    async () => {
      const running = [...(await jobsOf('ready', sendOf(claim))), ...(await jobsOf('leased', sendOf(claim)))];
      const done = await jobsOf('done', sendOf(claim));
      return running.length === 0 && done.length > 0 ? done : undefined;
    },
    8_000,
    50,
  );

test('a payer answering after the lease would have run out receives the request once, decided once', async () => {
  const received = payer.pas.submitsReceived();
  expect(await ask('mr-slow')).toBe(202);
  // Decided, or received a second time (then the test need not wait for a decision).
  const certified = await waitFor(
    'the request decided, or the payer asked twice',
    async () => {
      const claim = await requestOf('mr-slow');
      return payer.pas.submitsReceived() - received > 1 || (claim && stateOf(claim) === 'certified')
        ? claim
        : undefined;
    },
    8_000,
    50,
  );
  expect(payer.pas.submitsReceived() - received).toBe(1);
  expect(stateOf(certified)).toBe('certified');
  const [send, ...more] = await sendsSettled(certified.id);
  // Leased once: the lease was kept while the payer answered, though it answered 2.5 leases later.
  expect(more).toEqual([]);
  expect(send).toMatchObject({ state: 'done', attempts: 1 });
  expect(submitsOf(certified.id)).toEqual([200]);
  expect(h.mostSubmitsInFlight()).toBe(1);
  // Decided once: the case's answer has one version.
  const store = server.running.store;
  const history = await store.resources.history(T, 'ClaimResponse', caseOf(certified));
  expect(history.total).toBe(1);
}, 15_000);

test('a worker whose lease was taken while the payer answered leaves the answer to the new owner', async () => {
  const store = server.running.store;
  const received = payer.pas.submitsReceived();
  expect(await ask('mr-taken')).toBe(202);
  // The payer has the request and holds its answer; the job is leased by whichever worker sent it.
  await waitFor('the payer to receive the request', () => payer.pas.submitsReceived() > received, 8_000, 20);
  const kept = await waitFor('the kept request', () => requestOf('mr-taken'), 2_000, 20);
  // Another worker takes the job as if its lease had run out (say, the store was out of reach of
  // the renewals for a whole lease): a lease asked for 5 s on, when no renewal reaches.
  const taken = (
    await store.jobs.lease({
      queue: PRIOR_AUTH_QUEUE,
      leaseMs: 60_000,
      limit: 8,
      now: new Date(clock.now().getTime() + 5_000),
    })
  ).filter(sendOf(kept.id));
  expect(taken).toHaveLength(1);
  const [job] = taken;
  // The payer answers the first worker, which finds the lease gone: it records nothing, and says so.
  const lost = (lines: string[]): boolean => lines.some((l) => l.includes('lease lost during a payer call'));
  await waitFor(
    'the first worker to record the answer or find its lease lost',
    async () =>
      lost(server.logs) ||
      lost(otherLogs) ||
      stateOf((await readOptional<Claim>(store, T, 'Claim', kept.id))!) !== 'prepared',
    8_000,
    20,
  );
  expect(submitsOf(kept.id)).toEqual([200]);
  const still = await readOptional<Claim>(store, T, 'Claim', kept.id);
  expect(stateOf(still!)).toBe('prepared');
  expect(await readOptional<ClaimResponse>(store, T, 'ClaimResponse', caseOf(kept))).toBeUndefined();
  expect(await store.jobs.getJob(job!.id)).toMatchObject({ state: 'leased', leaseToken: job!.leaseToken });
  expect(lost(server.logs) || lost(otherLogs)).toBe(true);
  // The new owner hands the job back for a retry now: a worker sends the kept request (the same
  // bytes: the payer answers it again), and the request is decided. The payer answers this send
  // at once (a hold is fixed when a request arrives): its slowness was the first worker's case.
  payer.setBehaviour({});
  expect(
    await store.jobs.fail(job!.id, job!.leaseToken!, {
      error: 'handed back',
      retryable: true,
      now: clock.now(),
      retryAt: clock.now().toISOString(),
    }),
  ).toBe(true);
  server.running.priorAuth.notify();
  other.notify();
  const certified = await stateReached('mr-taken', 'certified', 8_000);
  expect(certified.id).toBe(kept.id);
  expect(payer.pas.submitsReceived() - received).toBe(2);
  const history = await store.resources.history(T, 'ClaimResponse', caseOf(certified));
  expect(history.total).toBe(1);
}, 20_000);
