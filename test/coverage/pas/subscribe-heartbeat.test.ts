/**
 * Dripline learns from the payer's own heartbeat that its PAS subscription went to `error` or
 * `off` (the Backport IG lets a server keep sending heartbeats with an `error` status), records it,
 * and replaces the subscription: the payer is left only the new one, active (src/coverage/pas
 * routes.ts noteStatus, subscribe.ts). Over real HTTP against the sandbox payer, which puts the
 * subscription in that status and sends the heartbeat itself. One tenant per status.
 */
import { expect, test } from '@jest/globals';
import type { Subscription } from '@medplum/fhirtypes';
import { advancingClock } from '../../../src/time/clock.ts';
import { subscriptionJob, subscriptionRig } from './subscription-rig.ts';

const clock = advancingClock();
const IN_ERROR = 'clinic-beat-error';
const OFF = 'clinic-beat-off';
const rig = subscriptionRig(clock, [IN_ERROR, OFF], 'mr-beat');
const { h, heldFor, recordOf, keptActive } = rig;

test.each([
  ['error', IN_ERROR],
  ['off', OFF],
] as const)(
  'a heartbeat saying the subscription is %s is recorded, and the subscription replaced',
  async (status, tenant) => {
    expect(await h.ask('mr-beat', tenant)).toBe(202);
    const old = await keptActive(tenant);
    expect(heldFor(tenant).map((s) => [s.id, s.status])).toEqual([[old, 'active']]);
    // A heartbeat saying `active` changes nothing.
    rig.payer().pas.heartbeatNow();
    // The payer puts it in `status` and says so in a heartbeat (twice: the same news again).
    expect(rig.payer().pas.failSubscription(old, status)).toBe(true);
    expect(rig.payer().pas.failSubscription(old, status)).toBe(true);
    // Nothing else asks Dripline to subscribe: the heartbeat alone replaces it.
    const replacement = await keptActive(tenant, old);
    expect(heldFor(tenant).map((s) => [s.id, s.status])).toEqual([[replacement, 'active']]);
    const record = await recordOf(tenant);
    const versions = await rig.server().running.store.resources.history(tenant, 'Subscription', record!.id);
    expect(versions.resources.map((v) => (v as Subscription).status)).toContain(status);
    const deletions = await h.jobsOf('done', (j) => j.key.startsWith('unsubscribe|'), tenant);
    expect(deletions.map((j) => j.payload)).toEqual([
      { kind: 'unsubscribe', payer: 'buckeye', subscription: old },
    ]);
    const subscribes = await h.jobsOf('done', (j) => j.key.startsWith(`subscribe|buckeye|${old}`), tenant);
    expect(subscribes).toHaveLength(1);
    expect(await h.jobsOf('dead', subscriptionJob, tenant)).toEqual([]);
  },
  40_000,
);
