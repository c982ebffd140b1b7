/**
 * Events of a PAS subscription that a notification shows Dripline never received (Backport IG 1.1
 * errors.html "Missing Event"): a heartbeat counting more events than were delivered, or an event
 * numbered past the next one expected. Dripline waits the IG's while for one still on its way, then
 * asks the payer for the missing events with `$events` and applies each as its notification would
 * have been — no `$inquire` at all; only a payer refusing `$events` (or unavailable for it past the
 * job's first attempts) gets its pended requests inquired. Once per gap: the same gap reported
 * again queues nothing more, and one that closes during the wait asks the payer nothing
 * (src/coverage/pas/subscription-recovery.ts, subscription-events.ts). Over real HTTP against the
 * sandbox payer, which drops (counts, never sends) a decision's notification; the first fallback
 * inquiry is due only 4 hours after the pend, and the silence check 1.5 h after the last contact,
 * so nothing else would learn the decision meanwhile. One tenant per case.
 */
import { expect, test } from '@jest/globals';
import { MISSING_EVENT_GRACE_MS } from '../../../src/coverage/pas/missing-events.ts';
import { readContact } from '../../../src/coverage/pas/subscription-contact.ts';
import { EVENTS_ATTEMPTS } from '../../../src/coverage/pas/subscription-events.ts';
import { isEventRecovery } from '../../../src/coverage/pas/subscription-recovery.ts';
import type { Job } from '../../../src/store/port.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import { waitFor } from '../../support/wait.ts';
import { subscriptionRig } from './subscription-rig.ts';

const clock = advancingClock();
const BEAT = 'clinic-gap-beat';
const SKIP = 'clinic-gap-skip';
const NEXT = 'clinic-gap-next';
const LATE = 'clinic-gap-late';
const REFUSED = 'clinic-gap-refused';
const DOWN = 'clinic-gap-down';
const SHORT = 'clinic-gap-short';
const TWICE = 'clinic-gap-twice';
const rig = subscriptionRig(clock, [BEAT, SKIP, NEXT, LATE, REFUSED, DOWN, SHORT, TWICE], 'mr-gap', 'J1745');
const { h, keptActive } = rig;

/** The tenant's order asked for and pended, its subscription kept: its payer id. */
async function pendedAndKept(tenant: string): Promise<string> {
  expect(await h.ask('mr-gap', tenant)).toBe(202);
  const kept = await keptActive(tenant);
  await h.stateReached('mr-gap', 'pended', 20_000, tenant);
  return kept;
}

/** Every recovery job of the tenant, whatever its state. */
async function recoveries(tenant: string): Promise<Job[]> {
  const all: Job[] = [];
  for (const state of ['ready', 'leased', 'done', 'dead'] as const) {
    all.push(...(await h.jobsOf(state, isEventRecovery, tenant)));
  }
  return all;
}

/** The server's log lines of the tenant, parsed. */
const logLines = (tenant: string): Record<string, unknown>[] =>
  rig
    .server()
    .logs.flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes(`"tenant":"${tenant}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** A heartbeat from the payer now, once Dripline has taken it (answered, its recovery queued or not). */
async function heartbeat(tenant: string): Promise<void> {
  const taken = (): number =>
    logLines(tenant).filter((l) => l['msg'] === 'PAS notification accepted' && l['type'] === 'heartbeat')
      .length;
  const before = taken();
  rig.payer().pas.heartbeatNow();
  await waitFor('the heartbeat taken', () => taken() > before);
}

/** The log lines of recoveries of the tenant's missing events. */
const recoveryLogs = (tenant: string): Record<string, unknown>[] =>
  logLines(tenant).filter((l) => String(l['msg']).startsWith('PAS events the payer counted never arrived'));

/** `Claim/$inquire` calls the payer received so far (every tenant's). */
const payerInquiries = (): number => rig.payer().pas.inquiriesReceived();

test('a heartbeat counting an event never delivered: after the wait, $events brings it, once, and nothing is inquired', async () => {
  const kept = await pendedAndKept(BEAT);
  const inquiriesBefore = payerInquiries();
  expect(rig.payer().pas.dropNotifications(kept)).toBe(true);
  await rig.payer().pas.finishReviews();
  await heartbeat(BEAT);
  const [queued] = await waitFor('the recovery queued', async () => {
    const found = await recoveries(BEAT);
    return found.length > 0 ? found : undefined;
  });
  expect(queued?.payload).toEqual({ kind: 'recover-events', payer: 'buckeye', subscription: kept, round: 1 });
  // Due at the end of the IG's wait, not before.
  expect(queued?.state).toBe('ready');
  expect(Date.parse(queued?.runAt ?? '')).toBeGreaterThan(clock.now().getTime());
  // The same gap again while it waits: nothing more queued, nothing asked yet.
  await heartbeat(BEAT);
  expect((await recoveries(BEAT)).map((j) => j.key)).toEqual([queued?.key]);
  const pended = await h.stateReached('mr-gap', 'pended', 20_000, BEAT);
  expect(h.inquiriesOf(pended.id)).toEqual([]);

  clock.advance(MISSING_EVENT_GRACE_MS);
  const claim = await h.stateReached('mr-gap', 'certified', 20_000, BEAT);
  await waitFor(
    'the recovery done',
    async () => (await h.jobsOf('done', isEventRecovery, BEAT)).length === 1,
  );
  // The decision came back by $events: not one inquiry, at the payer or from Dripline.
  expect(h.inquiriesOf(claim.id)).toEqual([]);
  expect(payerInquiries()).toBe(inquiriesBefore);
  // Applied as its notification would have been: the notification job of that event number.
  const applied = await h.jobsOf('done', (j) => j.key === `notify|buckeye|${kept}|1`, BEAT);
  expect(applied).toHaveLength(1);
  // Ids and counts only.
  expect(recoveryLogs(BEAT)).toEqual([
    expect.objectContaining({
      payer: 'buckeye',
      subscription: kept,
      missing: 1,
      events: 'answered',
      recovered: 1,
      repolled: 0,
      msg: 'PAS events the payer counted never arrived: recovered with $events',
    }),
  ]);
  const { level: _l, time: _t, msg: _m, service: _s, component: _c, ...fields } = recoveryLogs(BEAT)[0] ?? {};
  expect(Object.keys(fields).sort()).toEqual([
    'events',
    'from',
    'missing',
    'payer',
    'recovered',
    'repolled',
    'subscription',
    'tenant',
    'through',
  ]);

  // Recovered: the next heartbeat counting it finds nothing missing.
  await heartbeat(BEAT);
  clock.advance(MISSING_EVENT_GRACE_MS);
  expect((await recoveries(BEAT)).map((j) => j.state)).toEqual(['done']);
  expect(h.inquiriesOf(claim.id)).toEqual([]);
  const contact = await readContact(rig.server().running.store, BEAT, 'buckeye');
  expect(contact?.ledger.missingSince).toBeUndefined();
}, 60_000);

test('an event notification numbered past one never delivered: the skipped decision comes by $events', async () => {
  const kept = await pendedAndKept(SKIP);
  // The tenant's own decision is dropped; the next decision the payer makes (another clinic's,
  // the same sending NPI) reaches this subscription numbered past it. No heartbeat meanwhile.
  expect(rig.payer().pas.dropNotifications(kept)).toBe(true);
  await rig.payer().pas.finishReviews();
  await pendedAndKept(NEXT);
  const before = (await readContact(rig.server().running.store, SKIP, 'buckeye'))?.ledger;
  expect(before?.missingSince).toBeUndefined();
  await rig.payer().pas.finishReviews();
  await waitFor('the recovery queued', async () => (await recoveries(SKIP)).length === 1);
  const contact = await readContact(rig.server().running.store, SKIP, 'buckeye');
  expect(contact?.ledger.ahead.length).toBeGreaterThan(0);

  const inquiriesBefore = payerInquiries();
  clock.advance(MISSING_EVENT_GRACE_MS);
  const claim = await h.stateReached('mr-gap', 'certified', 20_000, SKIP);
  await waitFor(
    'the recovery done',
    async () => (await h.jobsOf('done', isEventRecovery, SKIP)).length === 1,
  );
  expect(h.inquiriesOf(claim.id)).toEqual([]);
  expect(payerInquiries()).toBe(inquiriesBefore);
  // The other clinic's decision came by its notification: it was never asked.
  const other = await h.stateReached('mr-gap', 'certified', 20_000, NEXT);
  expect(h.inquiriesOf(other.id)).toEqual([]);
}, 60_000);

test('an event missing for a moment, delivered during the wait: nothing is inquired', async () => {
  await pendedAndKept(LATE);
  rig.payer().setBehaviour({ holdPasNotifications: true });
  await rig.payer().pas.finishReviews();
  await heartbeat(LATE);
  await waitFor('the recovery queued', async () => (await recoveries(LATE)).length === 1);
  rig.payer().setBehaviour({});
  expect(rig.payer().pas.releaseNotifications()).toBeGreaterThan(0);
  const claim = await h.stateReached('mr-gap', 'certified', 20_000, LATE);
  await waitFor('the gap closed', async () => {
    const contact = await readContact(rig.server().running.store, LATE, 'buckeye');
    return contact?.ledger.missingSince === undefined;
  });
  clock.advance(MISSING_EVENT_GRACE_MS);
  await waitFor(
    'the recovery done',
    async () => (await h.jobsOf('done', isEventRecovery, LATE)).length === 1,
  );
  expect(h.inquiriesOf(claim.id)).toEqual([]);
  expect(recoveryLogs(LATE)).toEqual([]);
}, 60_000);

test('a payer refusing $events: the pended request is inquired instead, once', async () => {
  const kept = await pendedAndKept(REFUSED);
  rig.payer().setBehaviour({ refusePasSubscriptionEvents: 501 });
  try {
    expect(rig.payer().pas.dropNotifications(kept)).toBe(true);
    await rig.payer().pas.finishReviews();
    await heartbeat(REFUSED);
    await waitFor('the recovery queued', async () => (await recoveries(REFUSED)).length === 1);
    const inquiriesBefore = payerInquiries();
    clock.advance(MISSING_EVENT_GRACE_MS);
    const claim = await h.stateReached('mr-gap', 'certified', 20_000, REFUSED);
    expect(h.inquiriesOf(claim.id)).toEqual([200]);
    expect(payerInquiries()).toBe(inquiriesBefore + 1);
    await waitFor('the recovery logged', () => recoveryLogs(REFUSED).length === 1);
    expect(recoveryLogs(REFUSED)).toEqual([
      expect.objectContaining({
        subscription: kept,
        missing: 1,
        events: 501,
        recovered: 0,
        repolled: 1,
        msg: 'PAS events the payer counted never arrived: pended requests inquired now',
      }),
    ]);
    // Recovered by the inquiry: the next heartbeat finds nothing missing.
    await heartbeat(REFUSED);
    const contact = await readContact(rig.server().running.store, REFUSED, 'buckeye');
    expect(contact?.ledger.missingSince).toBeUndefined();
  } finally {
    rig.payer().setBehaviour({});
  }
}, 60_000);

test('a payer unavailable for $events: retried, then the pended request is inquired', async () => {
  const kept = await pendedAndKept(DOWN);
  rig.payer().setBehaviour({ refusePasSubscriptionEvents: 503 });
  try {
    expect(rig.payer().pas.dropNotifications(kept)).toBe(true);
    await rig.payer().pas.finishReviews();
    await heartbeat(DOWN);
    await waitFor('the recovery queued', async () => (await recoveries(DOWN)).length === 1);
    clock.advance(MISSING_EVENT_GRACE_MS);
    // Each failed attempt waits out its backoff on the shared clock.
    const claim = await waitFor(
      'the request decided',
      async () => {
        const backingOff = (await h.jobsOf('ready', isEventRecovery, DOWN)).find((j) => j.attempts >= 1);
        if (backingOff) {
          h.runAtNow(backingOff);
        }
        const found = await h.requestOf('mr-gap', DOWN);
        return found && h.inquiriesOf(found.id).length > 0 ? found : undefined;
      },
      30_000,
      50,
    );
    await h.stateReached('mr-gap', 'certified', 20_000, DOWN);
    expect(h.inquiriesOf(claim.id)).toEqual([200]);
    const [job] = await h.jobsOf('done', isEventRecovery, DOWN);
    expect(job?.attempts).toBe(EVENTS_ATTEMPTS);
    expect(recoveryLogs(DOWN)).toEqual([
      expect.objectContaining({ subscription: kept, events: 'unavailable', recovered: 0, repolled: 1 }),
    ]);
  } finally {
    rig.payer().setBehaviour({});
  }
}, 60_000);

test('a payer whose $events no longer has the missing event: what it did not hand back is inquired', async () => {
  const kept = await pendedAndKept(SHORT);
  rig.payer().setBehaviour({ pasEventsAnswered: 0 });
  try {
    expect(rig.payer().pas.dropNotifications(kept)).toBe(true);
    await rig.payer().pas.finishReviews();
    await heartbeat(SHORT);
    await waitFor('the recovery queued', async () => (await recoveries(SHORT)).length === 1);
    clock.advance(MISSING_EVENT_GRACE_MS);
    const claim = await h.stateReached('mr-gap', 'certified', 20_000, SHORT);
    expect(h.inquiriesOf(claim.id)).toEqual([200]);
    await waitFor('the recovery logged', () => recoveryLogs(SHORT).length === 1);
    expect(recoveryLogs(SHORT)).toEqual([
      expect.objectContaining({ subscription: kept, events: 'answered', recovered: 0, repolled: 1 }),
    ]);
  } finally {
    rig.payer().setBehaviour({});
  }
}, 60_000);

test('an event recovered by $events and then delivered late is applied once: one notification job', async () => {
  const kept = await pendedAndKept(TWICE);
  rig.payer().setBehaviour({ holdPasNotifications: true });
  await rig.payer().pas.finishReviews();
  await heartbeat(TWICE);
  await waitFor('the recovery queued', async () => (await recoveries(TWICE)).length === 1);
  clock.advance(MISSING_EVENT_GRACE_MS);
  const claim = await h.stateReached('mr-gap', 'certified', 20_000, TWICE);
  await waitFor(
    'the recovery done',
    async () => (await h.jobsOf('done', isEventRecovery, TWICE)).length === 1,
  );
  rig.payer().setBehaviour({});
  const accepted = (): number =>
    logLines(TWICE).filter(
      (l) => l['msg'] === 'PAS notification accepted' && l['type'] === 'event-notification',
    ).length;
  // The held notification arrives late (every tenant's held ones go now): taken, and deduped.
  expect(rig.payer().pas.releaseNotifications()).toBeGreaterThan(0);
  await waitFor('the late notification taken', () => accepted() > 0);
  // Whatever their state: a second job would be one still to run.
  const applied = async (): Promise<string[]> => {
    const keys: string[] = [];
    for (const state of ['ready', 'leased', 'done', 'dead'] as const) {
      const jobs = await h.jobsOf(state, (j) => j.key.startsWith(`notify|buckeye|${kept}|`), TWICE);
      keys.push(...jobs.map((j) => j.key));
    }
    return keys;
  };
  expect(await applied()).toEqual([`notify|buckeye|${kept}|1`]);
  expect(h.inquiriesOf(claim.id)).toEqual([]);
  const contact = await readContact(rig.server().running.store, TWICE, 'buckeye');
  expect(contact?.ledger.missingSince).toBeUndefined();
}, 60_000);
