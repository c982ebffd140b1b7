/**
 * Finished housekeeping jobs of the prior-auth queue — silence checks, recoveries of missing
 * events, the purges themselves — are purged once finished longer than the retention (two weeks),
 * by the hourly purge job the worker queues (src/coverage/pas/retention.ts); the queue's other
 * finished jobs, whose keys are idempotency records (the order's, its send, its inquiry, the
 * subscribe, the notification `$events` recovered), stay, and a subscription's line of checks goes on. Over real HTTP against the
 * sandbox payer, on the shared clock: a case pended, its decision's notification dropped and
 * recovered, two silence checks run; then the clock is moved past the retention.
 */
import { expect, test } from '@jest/globals';
import { MISSING_EVENT_GRACE_MS } from '../../../src/coverage/pas/missing-events.ts';
import { HOUSEKEEPING_KEY_PREFIXES } from '../../../src/coverage/pas/retention.ts';
import { isSilenceCheck } from '../../../src/coverage/pas/subscription-check.ts';
import { isEventRecovery } from '../../../src/coverage/pas/subscription-recovery.ts';
import type { Job } from '../../../src/store/port.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import { waitFor } from '../../support/wait.ts';
import { subscriptionRig } from './subscription-rig.ts';

const clock = advancingClock();
const T = 'clinic-retention';
const rig = subscriptionRig(clock, [T], 'mr-keep', 'J1745');
const { h, keptActive } = rig;

const DAY = 86_400_000;
/** Past the silence a subscription asking for hourly heartbeats is allowed (1.5 h). */
const SILENCE = 91 * 60_000;

const kindOf = (job: Job): string => (job.payload as { kind: string }).kind;
const housekeeping = (job: Job): boolean => HOUSEKEEPING_KEY_PREFIXES.some((p) => job.key.startsWith(p));

/** Log lines of the server, parsed, that say `msg`. */
const logged = (msg: string): Record<string, unknown>[] =>
  rig
    .server()
    .logs.flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes(`"tenant":"${T}"`) && line.includes(msg))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('after the retention the finished checks and recoveries go; the idempotency records and the check line stay', async () => {
  expect(await h.ask('mr-keep', T)).toBe(202);
  const kept = await keptActive(T);
  await h.stateReached('mr-keep', 'pended', 20_000, T);
  // The decision's notification is dropped; a heartbeat counting it queues its recovery.
  expect(rig.payer().pas.dropNotifications(kept)).toBe(true);
  await rig.payer().pas.finishReviews();
  rig.payer().pas.heartbeatNow();
  await waitFor('the recovery queued', async () => (await h.queuedJobs(isEventRecovery, T)).length === 1);
  clock.advance(MISSING_EVENT_GRACE_MS);
  await h.stateReached('mr-keep', 'certified', 20_000, T);
  await waitFor('the recovery done', async () => (await h.jobsOf('done', isEventRecovery, T)).length === 1);
  // Two silence checks run (the payer's heartbeats stopped), each queuing the next.
  rig.payer().setBehaviour({ silencePasHeartbeats: true });
  for (const n of [1, 2]) {
    clock.advance(SILENCE);
    await waitFor(`check ${n} done`, async () => (await h.jobsOf('done', isSilenceCheck, T)).length === n);
  }
  const [waiting] = await h.queuedJobs(isSilenceCheck, T);
  expect(waiting?.payload).toMatchObject({ subscription: kept, round: 3 });

  const finished = await h.jobsOf('done', () => true, T);
  const purgeable = finished.filter(housekeeping);
  const records = finished.filter((j) => !housekeeping(j));
  expect(new Set(purgeable.map(kindOf))).toEqual(
    new Set(['check-subscription', 'recover-events', 'purge-finished']),
  );
  // The recovered decision came back by `$events` as its notification's job (an idempotency record
  // too); the case's waiting inquiry round ran as the decision ended it.
  expect(new Set(records.map(kindOf))).toEqual(
    new Set(['order', 'send', 'inquire', 'subscribe', 'notification']),
  );
  expect(await h.jobsOf('dead', () => true, T)).toEqual([]);

  // Two weeks and an hour on: the hour's purge takes what finished before the retention.
  clock.advance(14 * DAY + 60 * 60_000);
  await waitFor('the purge logged', () => logged('finished PAS housekeeping jobs purged').length === 1);
  expect(logged('finished PAS housekeeping jobs purged')[0]).toMatchObject({ purged: purgeable.length });
  const store = rig.server().running.store;
  for (const job of purgeable) {
    expect(await store.jobs.getJob(job.id)).toBeUndefined();
  }
  for (const job of records) {
    expect((await store.jobs.getJob(job.id))?.state).toBe('done');
  }
  // The line of checks goes on: the one waiting ran (the silence went on), and queued the next.
  await waitFor('check 3 done', async () =>
    (await h.jobsOf('done', isSilenceCheck, T)).some((j) => j.key === waiting!.key),
  );
  const [next] = await h.queuedJobs(isSilenceCheck, T);
  expect(next?.payload).toMatchObject({ subscription: kept, round: 4 });
}, 60_000);
