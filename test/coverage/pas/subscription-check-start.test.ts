/**
 * A kept PAS subscription with no silence check in line — made before the checks existed, or its
 * line ended — gets one when the prior authorization worker starts (src/coverage/pas
 * subscription-check.ts startChecks), due at once; starting again adds none. Over real HTTP
 * against the sandbox payer.
 */
import { expect, test } from '@jest/globals';
import { PRIOR_AUTH_QUEUE } from '../../../src/coverage/pas/records.ts';
import { isSilenceCheck } from '../../../src/coverage/pas/subscription-check.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import { waitFor } from '../../support/wait.ts';
import { subscriptionRig } from './subscription-rig.ts';

const clock = advancingClock();
const T = 'clinic-check-start';
const rig = subscriptionRig(clock, [T], 'mr-start');
const { h, keptActive } = rig;

test('the worker’s start gives a kept subscription its check; a second start adds none', async () => {
  expect(await h.ask('mr-start', T)).toBe(202);
  const kept = await keptActive(T);
  const [first] = await h.queuedJobs(isSilenceCheck, T);
  expect(first?.payload).toEqual({
    kind: 'check-subscription',
    payer: 'buckeye',
    subscription: kept,
    round: 1,
  });

  // As before the checks existed: the worker stopped, the subscription's line taken off the queue.
  const worker = rig.server().running.priorAuth;
  await worker.stop();
  const store = rig.server().running.store;
  const leased = await store.jobs.lease({
    queue: PRIOR_AUTH_QUEUE,
    leaseMs: 60_000,
    limit: 50,
    now: new Date(first!.runAt),
  });
  expect(leased.map((j) => j.key)).toEqual([first!.key]);
  expect(await store.jobs.ack(first!.id, leased[0]!.leaseToken!)).toBe(true);
  expect(await h.queuedJobs(isSilenceCheck, T)).toEqual([]);

  worker.start();
  const resumed = await waitFor('the check line resumed', async () => {
    const done = await h.jobsOf('done', isSilenceCheck, T);
    return done.length === 2 ? done : undefined;
  });
  // Its check ran at once (the handshake was recent: nothing asked) and queued the next.
  expect(resumed.map((j) => (j.payload as { round: number }).round)).toEqual([1, 2]);
  const [waiting] = await h.queuedJobs(isSilenceCheck, T);
  expect(waiting?.payload).toMatchObject({ subscription: kept, round: 3 });

  const starts = (): string[] =>
    rig.server().logs.filter((l) => l.includes('subscription checks started') && l.includes(T));
  const before = starts().length;
  await worker.stop();
  worker.start();
  await waitFor('the worker started again', () => starts().length === before + 1);
  expect(starts().at(-1)).toContain('"checks":0');
  expect((await h.queuedJobs(isSilenceCheck, T)).map((j) => j.key)).toEqual([waiting!.key]);
}, 40_000);
