/**
 * The rig of the PAS subscription tests over real HTTP (subscribe-replaced, subscribe-heartbeat,
 * notify-log, subscription-silence, subscription-check-start): the sandbox payer and a Dripline with one tenant per case (each its own notify
 * endpoint) holding one order — certified as asked (ocrelizumab, J2350: nothing but the
 * subscription is followed), or one the payer pends — and what those tests look at: the tenant's
 * subscriptions at the payer, its record, the one it keeps.
 */
import { afterAll, beforeAll } from '@jest/globals';
import type { Subscription } from '@medplum/fhirtypes';
import { readRecord, subscriptionRecordId } from '../../../src/coverage/pas/subscription.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job, StoredResource } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import type { AdvancingClock } from '../../../src/time/clock.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing } from './fixtures.ts';
import { drugOrder, pasHarness, seedPasOrders, startPasPayer, startPasServer } from './resend-harness.ts';
import type { PasHarness } from './resend-harness.ts';

/** The jobs about a tenant's subscriptions at the payer: making one, sweeping, deleting. */
export const subscriptionJob = (job: Job): boolean =>
  /^(subscribe|subscribe-sweep|unsubscribe)\|/.test(job.key);

export interface SubscriptionRig {
  readonly h: PasHarness;
  readonly payer: () => SandboxPayer;
  readonly server: () => TestServer;
  /** The tenant's subscriptions at the payer (those at its notify endpoint). */
  readonly heldFor: (tenant: string) => Subscription[];
  /** The tenant's record of its subscription at the payer. */
  readonly recordOf: (tenant: string) => Promise<(Subscription & StoredResource) | undefined>;
  /**
   * The payer id of the subscription the tenant keeps (not `not`), once active in its record and at
   * the payer, and its jobs ended.
   */
  readonly keptActive: (tenant: string, not?: string) => Promise<string>;
}

/**
 * Registers the file's beforeAll/afterAll; `order` is the order's id in every tenant, for `hcpcs`
 * (default J2350, approved as asked; J1745 is pended until the payer's review ends).
 */
export function subscriptionRig(
  clock: AdvancingClock,
  tenantIds: readonly string[],
  order: string,
  hcpcs = 'J2350',
): SubscriptionRig {
  let payer: SandboxPayer | undefined;
  let server: TestServer | undefined;
  const serverNow = (): TestServer => {
    if (!server) {
      throw new Error('the subscription rig has not started');
    }
    return server;
  };
  const h = pasHarness(clock, tenantIds[0] ?? '', serverNow);

  beforeAll(async () => {
    const started = await startPasPayer(clock);
    payer = started.payer;
    const tenants = tenantIds.map((id) => ({
      id,
      name: id,
      timeZone: 'America/New_York',
      billing,
      payers: [started.endpoint],
    }));
    server = await startPasServer(h, clock, tenants);
    await seedPasOrders(
      server,
      Object.fromEntries(
        tenants.map((t) => [t.id, [drugOrder(order, hcpcs, hcpcs === 'J2350' ? 600 : 400)]]),
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await payer?.stop();
  });

  const payerNow = (): SandboxPayer => {
    if (!payer) {
      throw new Error('the subscription rig has not started');
    }
    return payer;
  };
  const recordOf = (tenant: string): Promise<(Subscription & StoredResource) | undefined> =>
    readOptional<Subscription>(
      serverNow().running.store,
      tenant,
      'Subscription',
      subscriptionRecordId('buckeye'),
    );

  const heldBy = (tenant: string): Subscription[] =>
    payerNow()
      .pas.subscriptions()
      .filter((s) => s.channel.endpoint?.includes(`/pas/${tenant}/`));

  return {
    h,
    payer: payerNow,
    server: serverNow,
    heldFor: heldBy,
    recordOf,
    keptActive: (tenant, not) =>
      waitFor(
        'a subscription kept, active, its jobs ended',
        async () => {
          const record = await recordOf(tenant);
          const kept = record ? readRecord(record) : undefined;
          return kept?.payerSubscriptionId &&
            kept.payerSubscriptionId !== not &&
            kept.status === 'active' &&
            // The payer makes it active once Dripline has answered its handshake, and Dripline
            // records `active` before that answer leaves: the payer's side can lag a moment.
            heldBy(tenant).some((s) => s.id === kept.payerSubscriptionId && s.status === 'active') &&
            (await h.queuedJobs(subscriptionJob, tenant)).length === 0
            ? kept.payerSubscriptionId
            : undefined;
        },
        20_000,
        50,
      ),
  };
}
