/**
 * Dripline learns from the payer's own heartbeat that its PAS subscription went to `error` or
 * `off` (the Backport IG lets a server keep sending heartbeats with an `error` status), records it,
 * and replaces the subscription: the payer is left only the new one, active (src/coverage/pas
 * routes.ts noteStatus, subscribe.ts). Over real HTTP against the sandbox payer, which puts the
 * subscription in that status and sends the heartbeat itself. One tenant per status.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Subscription } from '@medplum/fhirtypes';
import { readRecord, subscriptionRecordId } from '../../../src/coverage/pas/subscription.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job, StoredResource } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing } from './fixtures.ts';
import { drugOrder, pasHarness, seedPasOrders, startPasPayer, startPasServer } from './resend-harness.ts';

const clock = advancingClock();
const IN_ERROR = 'clinic-beat-error';
const OFF = 'clinic-beat-off';

let payer: SandboxPayer;
let server: TestServer;
const h = pasHarness(clock, IN_ERROR, () => server);

const subscriptionJob = (job: Job): boolean => /^(subscribe|subscribe-sweep|unsubscribe)\|/.test(job.key);

beforeAll(async () => {
  const started = await startPasPayer(clock);
  payer = started.payer;
  const tenants = [IN_ERROR, OFF].map((id) => ({
    id,
    name: id,
    timeZone: 'America/New_York',
    billing,
    payers: [started.endpoint],
  }));
  server = await startPasServer(h, clock, tenants);
  // Ocrelizumab (J2350): certified as asked, so nothing but the subscription is followed.
  await seedPasOrders(
    server,
    Object.fromEntries(tenants.map((t) => [t.id, [drugOrder('mr-beat', 'J2350', 600)]])),
  );
}, 60_000);

afterAll(async () => {
  await server.stop();
  await payer.stop();
});

/** The tenant's subscriptions at the payer (those at its notify endpoint). */
const heldFor = (tenant: string): Subscription[] =>
  payer.pas.subscriptions().filter((s) => s.channel.endpoint?.includes(`/pas/${tenant}/`));

const recordOf = (tenant: string): Promise<(Subscription & StoredResource) | undefined> =>
  readOptional<Subscription>(server.running.store, tenant, 'Subscription', subscriptionRecordId('buckeye'));

/** The payer id of the subscription the tenant keeps, once it is active and its jobs have ended. */
const keptActive = (tenant: string, not?: string): Promise<string> =>
  waitFor(
    'a subscription kept, active, its jobs ended',
    async () => {
      const record = await recordOf(tenant);
      const kept = record ? readRecord(record) : undefined;
      return kept?.payerSubscriptionId &&
        kept.payerSubscriptionId !== not &&
        kept.status === 'active' &&
        (await h.queuedJobs(subscriptionJob, tenant)).length === 0
        ? kept.payerSubscriptionId
        : undefined;
    },
    20_000,
    50,
  );

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
    payer.pas.heartbeatNow();
    // The payer puts it in `status` and says so in a heartbeat (twice: the same news again).
    expect(payer.pas.failSubscription(old, status)).toBe(true);
    expect(payer.pas.failSubscription(old, status)).toBe(true);
    // Nothing else asks Dripline to subscribe: the heartbeat alone replaces it.
    const replacement = await keptActive(tenant, old);
    expect(heldFor(tenant).map((s) => [s.id, s.status])).toEqual([[replacement, 'active']]);
    const record = await recordOf(tenant);
    const versions = await server.running.store.resources.history(tenant, 'Subscription', record!.id);
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
