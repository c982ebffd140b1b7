/**
 * A PAS subscribe whose job's lease is lost while the payer answers leaves the payer one
 * subscription, over real HTTP against the sandbox payer: the payer makes each Subscription (and
 * sends its handshake) at once but answers the create 2.5 s later; Dripline's jobs are leased for
 * 1 s, and a second prior-auth worker polls the same queue. The job is taken from the worker
 * making the call (as when the store was out of reach of its renewals for a whole lease) and run
 * again by a new owner, which subscribes again: the payer then holds the first worker's
 * subscription too, unless that worker, finding its lease lost, has it removed (a second one
 * would notify every decision twice).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Subscription } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../../src/config/config.ts';
import { PRIOR_AUTH_QUEUE } from '../../../src/coverage/pas/records.ts';
import { readRecord, subscriptionRecordId } from '../../../src/coverage/pas/subscription.ts';
import type { PriorAuthWorker } from '../../../src/coverage/pas/worker.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing } from './fixtures.ts';
import {
  drugOrder,
  pasHarness,
  seedPasOrders,
  startPasPayer,
  startPasServer,
  startRivalWorker,
} from './resend-harness.ts';

const clock = advancingClock();
const T = 'clinic-lease-sub';
const LEASE_MS = 1_000;
const ANSWER_AFTER_MS = 2_500;

let payer: SandboxPayer;
let server: TestServer;
/** A second prior-auth worker on the same store: another process's, as far as the queue can tell. */
let other: PriorAuthWorker;
const otherLogs: string[] = [];

const h = pasHarness(clock, T, () => server);
const { ask, queuedJobs } = h;

/** The jobs about the tenant's subscription at the payer: making it, sweeping, removing one. */
const subscriptionJob = (job: Job): boolean => /^(subscribe|subscribe-sweep|unsubscribe)\|/.test(job.key);

beforeAll(async () => {
  const started = await startPasPayer(clock);
  payer = started.payer;
  payer.setBehaviour({ holdPasSubscribeAnswersMs: ANSWER_AFTER_MS });
  const tenant = { id: T, name: T, timeZone: 'America/New_York', billing, payers: [started.endpoint] };
  server = await startPasServer(h, clock, [tenant], { JOB_LEASE_MS: String(LEASE_MS) });
  // Ocrelizumab (J2350): certified as asked, so nothing but the subscription is followed.
  await seedPasOrders(server, { [T]: [drugOrder('mr-sub', 'J2350', 600)] });
  const tenants: TenantConfig[] = [{ ...tenant, connections: [], coding: {} }];
  other = startRivalWorker(h, server, clock, tenants, { leaseMs: LEASE_MS, logs: otherLogs });
}, 60_000);

afterAll(async () => {
  await other.stop();
  await server.stop();
  await payer.stop();
});

test('a subscribe whose lease was lost while the payer answered leaves the payer one subscription', async () => {
  const store = server.running.store;
  expect(await ask('mr-sub')).toBe(202);
  // The payer has made the first worker's subscription and holds its answer; that worker keeps the
  // job's lease meanwhile.
  await waitFor('the payer to make a subscription', () => payer.pas.subscriptions().length > 0, 8_000, 20);
  // Another worker takes the job as if its lease had run out: a lease asked for 5 s on, when no
  // renewal reaches. It takes whatever else the queue holds then, and hands everything back for a
  // retry now: the subscribe job is run again by a new owner (either worker).
  const taken = await store.jobs.lease({
    queue: PRIOR_AUTH_QUEUE,
    leaseMs: 60_000,
    limit: 8,
    now: new Date(clock.now().getTime() + 5_000),
  });
  expect(taken.filter((j) => j.key.startsWith('subscribe|'))).toHaveLength(1);
  for (const job of taken) {
    expect(
      await store.jobs.fail(job.id, job.leaseToken!, {
        error: 'handed back',
        retryable: true,
        now: clock.now(),
        retryAt: clock.now().toISOString(),
      }),
    ).toBe(true);
  }
  server.running.priorAuth.notify();
  other.notify();
  const lost = (lines: string[]): boolean => lines.some((l) => l.includes('lease lost during a payer call'));
  const record = await waitFor(
    'both workers done: the loss found, the new owner subscribed, nothing left to run',
    async () => {
      const kept = await readOptional<Subscription>(
        store,
        T,
        'Subscription',
        subscriptionRecordId('buckeye'),
      );
      const id = kept ? readRecord(kept).payerSubscriptionId : undefined;
      const atPayer = payer.pas.subscriptions().find((s) => s.id === id);
      return (lost(server.logs) || lost(otherLogs)) &&
        atPayer?.status === 'active' &&
        (await queuedJobs(subscriptionJob)).length === 0
        ? readRecord(kept!)
        : undefined;
    },
    15_000,
    50,
  );
  // One subscription at the payer: the one Dripline keeps (and holds the secret of).
  const held = payer.pas.subscriptions();
  expect(held.map((s) => ({ id: s.id, status: s.status }))).toEqual([
    { id: record.payerSubscriptionId, status: 'active' },
  ]);
  expect(record.status).toBe('active');
  // The first worker's subscription was deleted by a job of its own, once.
  const deletions = await h.jobsOf('done', (j) => j.key.startsWith('unsubscribe|'));
  expect(deletions).toHaveLength(1);
  expect(deletions[0]?.payload).toMatchObject({ kind: 'unsubscribe', payer: 'buckeye' });
  expect((deletions[0]?.payload as { subscription: string }).subscription).not.toBe(
    record.payerSubscriptionId,
  );
}, 30_000);
