/**
 * A PAS subscription the payer went silent about — no heartbeat, no event for longer than its
 * heartbeat period allows — gets a `$status` (Backport IG 1.1 "Broken Communication"), and Dripline
 * acts on the answer (src/coverage/pas/subscription-check.ts): events it never received → their
 * recovery is queued, which asks `$events` and inquires the pended requests only when refused; `error` or gone → the subscription is replaced; `$status`
 * refused → retried, then a work item naming the subscription. Over real HTTP against the sandbox
 * payer, whose heartbeats are stopped; the shared clock is moved past the silence allowed (an hour
 * and a half: the first fallback inquiry is due only 4 hours after the pend, so nothing else would
 * learn the decision meanwhile). One tenant per case.
 */
import { expect, test } from '@jest/globals';
import type { Task } from '@medplum/fhirtypes';
import { MISSING_EVENT_GRACE_MS } from '../../../src/coverage/pas/missing-events.ts';
import { checkWorkId } from '../../../src/coverage/pas/subscription-check.ts';
import { readContact } from '../../../src/coverage/pas/subscription-contact.ts';
import { isEventRecovery } from '../../../src/coverage/pas/subscription-recovery.ts';
import type { Job } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import { waitFor } from '../../support/wait.ts';
import { subscriptionJob, subscriptionRig } from './subscription-rig.ts';

const clock = advancingClock();
const HEARD = 'clinic-quiet-heard';
const MISSED = 'clinic-quiet-missed';
const NO_EVENTS = 'clinic-quiet-no-events';
const IN_ERROR = 'clinic-quiet-error';
const GONE = 'clinic-quiet-gone';
const REFUSED = 'clinic-quiet-refused';
const rig = subscriptionRig(clock, [HEARD, MISSED, NO_EVENTS, IN_ERROR, GONE, REFUSED], 'mr-quiet', 'J1745');
const { h, heldFor, keptActive } = rig;

/** Past the silence a subscription asking for hourly heartbeats is allowed (1.5 h). */
const SILENCE = 91 * 60_000;

const checkOf =
  (subscription: string) =>
  (job: Job): boolean =>
    job.key.startsWith(`subscription-check|buckeye|${subscription}|`);

/** The tenant's order asked for and pended, its subscription kept: its payer id. */
async function pendedAndKept(tenant: string): Promise<string> {
  expect(await h.ask('mr-quiet', tenant)).toBe(202);
  const kept = await keptActive(tenant);
  await h.stateReached('mr-quiet', 'pended', 20_000, tenant);
  return kept;
}

test('heard from each period (heartbeats): the checks find it so and ask the payer nothing', async () => {
  const kept = await pendedAndKept(HEARD);
  const asked = (): string[] =>
    rig.server().logs.filter((l) => l.includes(HEARD) && l.includes('PAS subscription silent'));
  const contactAt = async (): Promise<string | undefined> =>
    (await readContact(rig.server().running.store, HEARD, 'buckeye'))?.at;
  const handshake = await contactAt();
  expect(handshake).toBeDefined();
  // An hour on, a heartbeat; another hour on, 2 h after the handshake but 1 h after the heartbeat.
  clock.advance(60 * 60_000);
  rig.payer().pas.heartbeatNow();
  const beat = await waitFor('the heartbeat noted', async () => {
    const at = await contactAt();
    return at !== handshake ? at : undefined;
  });
  clock.advance(60 * 60_000);
  await waitFor(
    'the first check done',
    async () => (await h.jobsOf('done', checkOf(kept), HEARD)).length === 1,
  );
  // It found the heartbeat and waits until the silence since it would be overdue.
  const [waiting] = await h.queuedJobs(checkOf(kept), HEARD);
  expect(waiting?.payload).toEqual({
    kind: 'check-subscription',
    payer: 'buckeye',
    subscription: kept,
    round: 2,
  });
  expect(Date.parse(waiting!.runAt)).toBe(Date.parse(beat) + 90 * 60_000 + 1);
  expect(asked()).toEqual([]);
}, 60_000);

/** Every recovery job of the tenant, whatever its state. */
async function recoveries(tenant: string): Promise<Job[]> {
  const all: Job[] = [];
  for (const state of ['ready', 'leased', 'done', 'dead'] as const) {
    all.push(...(await h.jobsOf(state, isEventRecovery, tenant)));
  }
  return all;
}

/** The log lines of the tenant's recoveries of missing events, parsed. */
const recoveryLogs = (tenant: string): Record<string, unknown>[] =>
  rig
    .server()
    .logs.flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes(`"tenant":"${tenant}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((l) => String(l['msg']).startsWith('PAS events the payer counted never arrived'));

/** Silent past the silence allowed, with the decision notified into the void: its recovery queued, then due. */
async function silentWithMissedDecision(tenant: string, kept: string): Promise<void> {
  await rig.payer().pas.finishReviews();
  clock.advance(SILENCE);
  const [queued] = await waitFor('the recovery queued', async () => {
    const found = await recoveries(tenant);
    return found.length > 0 ? found : undefined;
  });
  expect(queued?.payload).toEqual({ kind: 'recover-events', payer: 'buckeye', subscription: kept, round: 1 });
  // The check counted the events on the ledger (as a heartbeat would) but heard nothing itself.
  const contact = await readContact(rig.server().running.store, tenant, 'buckeye');
  expect(contact?.ledger.missingSince).toBeDefined();
  clock.advance(MISSING_EVENT_GRACE_MS);
}

test('silent, and the payer counted an event Dripline never received: $events brings it back, nothing inquired', async () => {
  const kept = await pendedAndKept(MISSED);
  const inquiriesBefore = rig.payer().pas.inquiriesReceived();
  // The payer's decision is notified into the void, and its heartbeats have stopped.
  rig.payer().setBehaviour({ holdPasNotifications: true, silencePasHeartbeats: true });
  await silentWithMissedDecision(MISSED, kept);
  const claim = await h.stateReached('mr-quiet', 'certified', 20_000, MISSED);
  await waitFor(
    'the recovery done',
    async () => (await h.jobsOf('done', isEventRecovery, MISSED)).length === 1,
  );
  // Not one inquiry, from Dripline or at the payer: the one `$events` call brought the decision.
  expect(h.inquiriesOf(claim.id)).toEqual([]);
  expect(rig.payer().pas.inquiriesReceived()).toBe(inquiriesBefore);
  expect(recoveryLogs(MISSED)).toEqual([
    expect.objectContaining({
      subscription: kept,
      events: 'answered',
      repolled: 0,
      msg: 'PAS events the payer counted never arrived: recovered with $events',
    }),
  ]);
  // Still the same subscription: active at the payer, nothing to replace.
  expect(heldFor(MISSED).map((s) => [s.id, s.status])).toEqual([[kept, 'active']]);
  const checks = await h.jobsOf('done', checkOf(kept), MISSED);
  expect(checks.map((j) => j.payload)).toEqual([
    { kind: 'check-subscription', payer: 'buckeye', subscription: kept, round: 1 },
  ]);
  // The next check waits for the next period; the ledger, not the check, knows the events now.
  const [waiting] = await h.queuedJobs(checkOf(kept), MISSED);
  expect(waiting?.payload).toEqual({
    kind: 'check-subscription',
    payer: 'buckeye',
    subscription: kept,
    round: 2,
  });
  clock.advance(SILENCE);
  await waitFor(
    'the second check done',
    async () => (await h.jobsOf('done', checkOf(kept), MISSED)).length === 2,
  );
  // Nothing missing any more: no second recovery, no inquiry.
  expect((await recoveries(MISSED)).length).toBe(1);
  expect(h.inquiriesOf(claim.id)).toEqual([]);
  // Heartbeats resume, counting the events recovered: nothing is missing, nothing queued.
  rig.payer().setBehaviour({ holdPasNotifications: true });
  const heartbeats = (): number =>
    rig
      .server()
      .logs.flatMap((chunk) => chunk.split('\n'))
      .filter((l) => l.includes(`"tenant":"${MISSED}"`) && l.includes('"type":"heartbeat"')).length;
  rig.payer().pas.heartbeatNow();
  await waitFor('the heartbeat taken', () => heartbeats() === 1);
  const contact = await readContact(rig.server().running.store, MISSED, 'buckeye');
  expect(contact?.ledger.missingSince).toBeUndefined();
  expect(await h.queuedJobs(isEventRecovery, MISSED)).toEqual([]);
  rig.payer().setBehaviour({});
}, 60_000);

test('silent, with a missed decision, at a payer refusing $events: the pended request is inquired', async () => {
  const kept = await pendedAndKept(NO_EVENTS);
  rig.payer().setBehaviour({
    holdPasNotifications: true,
    silencePasHeartbeats: true,
    refusePasSubscriptionEvents: 501,
  });
  try {
    await silentWithMissedDecision(NO_EVENTS, kept);
    const claim = await h.stateReached('mr-quiet', 'certified', 20_000, NO_EVENTS);
    expect(h.inquiriesOf(claim.id)).toEqual([200]);
    await waitFor('the recovery logged', () => recoveryLogs(NO_EVENTS).length === 1);
    expect(recoveryLogs(NO_EVENTS)).toEqual([
      expect.objectContaining({
        subscription: kept,
        events: 501,
        recovered: 0,
        repolled: 1,
        msg: 'PAS events the payer counted never arrived: pended requests inquired now',
      }),
    ]);
  } finally {
    rig.payer().setBehaviour({});
  }
}, 60_000);

test.each([
  [
    'in error, though no heartbeat said so',
    IN_ERROR,
    (id: string) => rig.payer().pas.failSubscription(id, 'error'),
  ],
  ['gone from the payer (404)', GONE, (id: string) => rig.payer().pas.forgetSubscription(id)],
] as const)(
  'silent and %s: the subscription is replaced',
  async (_case, tenant, fail) => {
    const old = await pendedAndKept(tenant);
    rig.payer().setBehaviour({ silencePasHeartbeats: true });
    expect(fail(old)).toBe(true);
    clock.advance(SILENCE);
    const replacement = await keptActive(tenant, old);
    expect(heldFor(tenant).map((s) => [s.id, s.status])).toEqual([[replacement, 'active']]);
    expect(await h.jobsOf('dead', subscriptionJob, tenant)).toEqual([]);
    // The old one's checks end; the new one is watched.
    expect(await h.queuedJobs(checkOf(old), tenant)).toEqual([]);
    expect((await h.queuedJobs(checkOf(replacement), tenant)).map((j) => j.payload)).toEqual([
      { kind: 'check-subscription', payer: 'buckeye', subscription: replacement, round: 1 },
    ]);
    rig.payer().setBehaviour({});
  },
  60_000,
);

test('silent, and $status refused: retried, then a work item naming the subscription; a later answer closes it', async () => {
  const kept = await pendedAndKept(REFUSED);
  rig.payer().setBehaviour({ silencePasHeartbeats: true, refusePasSubscriptionStatus: 403 });
  clock.advance(SILENCE);
  await h.dieWhilePayerDown('the check', checkOf(kept), 1, REFUSED);
  const [dead] = await h.jobsOf('dead', checkOf(kept), REFUSED);
  expect(dead?.attempts).toBe(dead?.maxAttempts);
  const store = rig.server().running.store;
  const work = await readOptional<Task>(store, REFUSED, 'Task', checkWorkId('buckeye'));
  expect(work?.status).toBe('requested');
  expect(work?.note?.at(-1)?.text).toContain(`Subscription/${kept}/$status`);
  expect(work?.note?.at(-1)?.text).toContain('HTTP 403');
  // Still watched: the next check waits its period, and finds the payer answering.
  const [waiting] = await h.queuedJobs(checkOf(kept), REFUSED);
  expect(waiting?.payload).toMatchObject({ round: 2 });
  rig.payer().setBehaviour({ silencePasHeartbeats: true });
  clock.advance(SILENCE);
  await waitFor('the work item done', async () => {
    const task = await readOptional<Task>(store, REFUSED, 'Task', checkWorkId('buckeye'));
    return task?.status === 'completed';
  });
  expect(heldFor(REFUSED).map((s) => [s.id, s.status])).toEqual([[kept, 'active']]);
  rig.payer().setBehaviour({});
}, 60_000);
