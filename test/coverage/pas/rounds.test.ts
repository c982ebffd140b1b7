/**
 * The inquiry rounds of a pended PAS request over real HTTP against the sandbox payer, the injected
 * clock moved to each round: where Dripline's subscription is in place the rounds back off (the
 * first `inquireMinutes` after the pend, then the waits double up to a day), where there is none
 * they keep the payer's slow schedule; and a request pended with no round following it (as those
 * pended at a subscribed payer before rounds followed them there) gets one when the worker starts,
 * once however often it starts.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { MedicationRequest, Subscription } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import { PRIOR_AUTH_QUEUE } from '../../../src/coverage/pas/records.ts';
import { readRecord, subscriptionRecordId } from '../../../src/coverage/pas/subscription.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing } from './fixtures.ts';
import {
  caseOf,
  drugOrder,
  inquiryOf,
  pasHarness,
  seedPasOrders,
  startPasPayer,
  startPasServer,
} from './resend-harness.ts';

const clock = advancingClock();
/** Subscribed at `payer`. */
const R = 'clinic-rr';
/** The same payer with `subscription: "off"`: followed by inquiries only. */
const U = 'clinic-ru';
const MINUTES = 300;
const MINUTE = 60_000;

let payer: SandboxPayer;
let server: TestServer;

const h = pasHarness(clock, R, () => server);
const { ask, inquiriesOf, jobsOf, queuedJobs, runAtNow, stateReached } = h;

const store = (): TestServer['running']['store'] => server.running.store;

/** The case's round waiting for its time, other than `besides`. */
const roundWaiting = (caseId: string, tenant: string, besides?: string): Promise<Job> =>
  waitFor(
    'an inquiry round queued',
    async () => (await jobsOf('ready', inquiryOf(caseId), tenant)).find((j) => j.key !== besides),
    10_000,
  );

/** How many rounds each start of the worker queued for the tenant (its log, oldest first). */
const resumes = (tenant: string): number[] =>
  server.logs
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('inquiry rounds resumed') && l.includes(`"tenant":"${tenant}"`))
    .map((l) => (JSON.parse(l) as { queued: number }).queued);

beforeAll(async () => {
  let endpoint: PayerEndpoint;
  ({ payer, endpoint } = await startPasPayer(clock));
  const base = { timeZone: 'America/New_York', billing };
  const tenants = [
    {
      ...base,
      id: R,
      name: R,
      payers: [{ ...endpoint, pas: { ...endpoint.pas!, inquireMinutes: MINUTES } }],
    },
    {
      ...base,
      id: U,
      name: U,
      payers: [
        { ...endpoint, pas: { ...endpoint.pas!, subscription: 'off' as const, inquireMinutes: MINUTES } },
      ],
    },
  ];
  server = await startPasServer(h, clock, tenants);
  // Infliximab (J1745): pended; ocrelizumab (J2350): approved as asked.
  const orders: Record<string, (MedicationRequest & { id: string })[]> = {
    [R]: [
      drugOrder('rr-old', 'J1745', 400),
      drugOrder('rr-done', 'J2350', 600),
      drugOrder('rr-back', 'J1745', 400),
    ],
    [U]: [drugOrder('ru-even', 'J1745', 400)],
  };
  await seedPasOrders(server, orders);
}, 60_000);

afterAll(async () => {
  await server.stop();
  await payer.stop();
});

describe('a pended request no round follows', () => {
  test('gets its round when the worker starts, due when its first would have been; starting again adds nothing', async () => {
    expect(await ask('rr-done')).toBe(202);
    await stateReached('rr-done', 'certified');
    expect(await ask('rr-old')).toBe(202);
    const pended = await stateReached('rr-old', 'pended');
    const inquiry = inquiryOf(caseOf(pended));
    const first = await roundWaiting(caseOf(pended), R);

    // As before rounds followed pended requests at subscribed payers: the worker stopped, the
    // request's round taken off the queue (leased at its time and acked: nothing else is queued but
    // the subscription's silence check, taken off too: the worker's start gives it a new one).
    await server.running.priorAuth.stop();
    const leased = await store().jobs.lease({
      queue: PRIOR_AUTH_QUEUE,
      leaseMs: 60_000,
      limit: 50,
      now: new Date(first.runAt),
    });
    expect(leased.filter((j) => j.key === first.key)).toHaveLength(1);
    const others = leased.filter((j) => j.key !== first.key);
    expect(others.map((j) => j.key.split('|')[0])).toEqual(['subscription-check']);
    for (const job of leased) {
      expect(await store().jobs.ack(job.id, job.leaseToken!)).toBe(true);
    }
    expect(await queuedJobs(inquiry)).toEqual([]);

    // The server's own start resumed nothing (the round was queued then).
    const before = resumes(R).length;
    expect(resumes(R)).toEqual([0]);
    server.running.priorAuth.start();
    await waitFor('the rounds resumed', () => resumes(R).length === before + 1, 10_000);
    expect(resumes(R).slice(before)).toEqual([1]);
    const resumed = await roundWaiting(caseOf(pended), R);
    const due = Date.parse(pended.meta.lastUpdated) + MINUTES * MINUTE;
    expect(Math.abs(Date.parse(resumed.runAt) - due)).toBeLessThan(5_000);
    // The decided request gets nothing.
    const decided = await h.requestOf('rr-done');
    expect(await queuedJobs(inquiryOf(caseOf(decided!)))).toEqual([]);

    // Started again: the round is queued already.
    await server.running.priorAuth.stop();
    server.running.priorAuth.start();
    await waitFor('the rounds resumed again', () => resumes(R).length === before + 2, 10_000);
    expect(resumes(R).slice(before)).toEqual([1, 0]);
    expect((await queuedJobs(inquiry)).map((j) => j.key)).toEqual([resumed.key]);

    await payer.pas.finishReviews();
    runAtNow(resumed);
    await stateReached('rr-old', 'certified', 10_000);
    expect(inquiriesOf(pended.id)).toEqual([200]);
    await waitFor('no inquiry left queued', async () => (await queuedJobs(inquiry)).length === 0);
  });
});

describe('the rounds of a request the payer keeps pended', () => {
  /** Runs `count` rounds (the payer still reviewing); resolves with each wait after a round, in minutes. */
  async function waitsAfterRounds(orderId: string, tenant: string, count: number): Promise<number[]> {
    expect(await ask(orderId, tenant)).toBe(202);
    const pended = await stateReached(orderId, 'pended', 20_000, tenant);
    let round = await roundWaiting(caseOf(pended), tenant);
    const waits = [(Date.parse(round.runAt) - Date.parse(pended.meta.lastUpdated)) / MINUTE];
    for (let n = 1; n <= count; n++) {
      runAtNow(round);
      await waitFor(`round ${n} answered`, () => inquiriesOf(pended.id).length === n, 10_000);
      const next = await roundWaiting(caseOf(pended), tenant, round.key);
      waits.push((Date.parse(next.runAt) - clock.now().getTime()) / MINUTE);
      round = next;
    }
    expect(inquiriesOf(pended.id)).toEqual(Array(count).fill(200));
    return waits.map(Math.round);
  }

  test('subscribed: the first inquireMinutes after the pend, then waits doubling up to a day', async () => {
    await waitFor(
      'the subscription in place',
      async () => {
        const record = await readOptional<Subscription>(
          store(),
          R,
          'Subscription',
          subscriptionRecordId('buckeye'),
        );
        return record !== undefined && readRecord(record).payerSubscriptionId !== undefined;
      },
      10_000,
    );
    payer.setBehaviour({ holdPasNotifications: true });
    expect(await waitsAfterRounds('rr-back', R, 3)).toEqual([300, 600, 1200, 1440]);
    expect(h.mostInquiriesInFlight()).toBe(1);
  });

  test('not subscribed: every inquireMinutes, as configured', async () => {
    expect(await waitsAfterRounds('ru-even', U, 3)).toEqual([300, 300, 300, 300]);
  });
});
