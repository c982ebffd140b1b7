/**
 * A PAS subscription that went to `error` or `off` is replaced, and the one replaced is deleted at
 * the payer (src/coverage/pas/subscribe.ts replacedGoes: by the Backport IG's status semantics
 * neither status is an end), over real HTTP against the sandbox payer. Here the record's status is
 * set directly and the next ask replaces it (subscribe-heartbeat.test.ts: the payer's own heartbeat
 * saying so, with no ask). One tenant per status (each its own endpoint).
 */
import { expect, test } from '@jest/globals';
import { readRecord, recordResource } from '../../../src/coverage/pas/subscription.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import { subscriptionJob, subscriptionRig } from './subscription-rig.ts';

const clock = advancingClock();
const IN_ERROR = 'clinic-sub-in-error';
const OFF = 'clinic-sub-off';
const rig = subscriptionRig(clock, [IN_ERROR, OFF], 'mr-sub');
const { h, heldFor, recordOf, keptActive } = rig;

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
    await rig.server().running.store.resources.writeBatch(tenant, [
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
