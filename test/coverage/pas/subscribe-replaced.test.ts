/**
 * A PAS subscription that went to `error` or `off` is replaced, and the one replaced is deleted at
 * the payer (src/coverage/pas/subscribe.ts replacedGoes: by the Backport IG's status semantics
 * neither status is an end), over real HTTP against the sandbox payer. Here the record's status is
 * set directly and the next ask replaces it (subscribe-heartbeat.test.ts: the payer's own heartbeat
 * saying so, with no ask). One tenant per status (each its own endpoint).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Subscription } from '@medplum/fhirtypes';
import { readRecord, recordResource, subscriptionRecordId } from '../../../src/coverage/pas/subscription.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job, StoredResource } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing } from './fixtures.ts';
import { drugOrder, pasHarness, seedPasOrders, startPasPayer, startPasServer } from './resend-harness.ts';

const clock = advancingClock();
const IN_ERROR = 'clinic-sub-in-error';
const OFF = 'clinic-sub-off';

let payer: SandboxPayer;
let server: TestServer;
const h = pasHarness(clock, IN_ERROR, () => server);

/** The jobs about a tenant's subscriptions at the payer: making one, sweeping, deleting. */
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
    Object.fromEntries(tenants.map((t) => [t.id, [drugOrder('mr-sub', 'J2350', 600)]])),
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
  'a subscription replaced after it went to %s is deleted at the payer',
  async (status, tenant) => {
    expect(await h.ask('mr-sub', tenant)).toBe(202);
    const old = await keptActive(tenant);
    expect(heldFor(tenant).map((s) => s.id)).toEqual([old]);
    // Dripline learns that its subscription went to `status` (the record says so).
    const record = (await recordOf(tenant))!;
    const known = readRecord(record);
    await server.running.store.resources.writeBatch(tenant, [
      {
        op: 'update',
        resource: recordResource({
          payer: 'buckeye',
          sent: record,
          ...(known.secretSha256 ? { secretSha256: known.secretSha256 } : {}),
          payerSubscriptionId: old,
          status,
        }),
        options: { ifMatchVersion: record.meta.versionId, upsert: false },
      },
    ]);
    // The next ask subscribes anew; the payer is left the new subscription only.
    expect(await h.ask('mr-sub', tenant)).toBe(202);
    const replacement = await keptActive(tenant, old);
    expect(heldFor(tenant).map((s) => s.id)).toEqual([replacement]);
    const deletions = await h.jobsOf('done', (j) => j.key.startsWith('unsubscribe|'), tenant);
    expect(deletions.map((j) => j.payload)).toEqual([
      { kind: 'unsubscribe', payer: 'buckeye', subscription: old },
    ]);
    expect(await h.jobsOf('dead', subscriptionJob, tenant)).toEqual([]);
  },
  40_000,
);
