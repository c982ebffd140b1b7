/**
 * The `subscribe` job (./worker.ts): Dripline's PAS subscription at a payer (./subscription.ts) is
 * made when the tenant has none there, or the one it had is in error or off (that one is then
 * deleted at the payer: replacedGoes). The record, with the new secret's hash, is kept before the
 * payer is asked (its handshake is checked against it).
 *
 * A create whose answer never came (a timeout, a connection reset after the payer made it, the
 * process gone meanwhile) may have left a subscription at the payer that Dripline does not know:
 * the retry makes a second, and the first would notify every decision beside it (refused by
 * Dripline for its stale secret). The record says so (`unconfirmed`, set before each create and
 * cleared by an answer); once a later create is answered — made, or refused with a 4xx — a
 * `sweep-subscriptions` job looks for and deletes what is left (./subscription-orphan.ts).
 *
 * Why look for them afterwards rather than make the create idempotent — what a payer lets a
 * client do, by Da Vinci PAS 2.2.1 (specification.html, spec-54/55: payers SHALL support the R4
 * Subscriptions of the Subscriptions R5 Backport IG and expose them in their CapabilityStatement)
 * and the Backport IG 1.1 R4 server CapabilityStatement
 * (CapabilityStatement-backport-subscription-server-r4.html):
 * - a client-chosen id (update-as-create, `PUT Subscription/{id}`): the Backport server SHOULD
 *   create by POST *or* PUT, so a payer with POST alone conforms; FHIR R4 `updateCreate` is
 *   optional. Not something every payer allows.
 * - conditional create (`If-None-Exist`): needs the server's conditional create, which neither
 *   guide asks for.
 * - a search the client can find its own by: the Backport R4 server lists Subscription search by
 *   `url` (R4's Subscription-url is `channel.endpoint`) and `status`; our endpoint names the
 *   tenant and the payer configuration, so every subscription at it is Dripline's for that pair. A
 *   payer answers a client's search with what that client may see (its own subscriptions), so
 *   another client's at the same endpoint is neither found nor deleted.
 *   Search is the guide's SHOULD (its `url` parameter SHALL in the machine-readable statement),
 *   not a PAS SHALL: where a payer refuses it, a person is told what to ask the payer to delete.
 * The search runs after a create is answered, so what it finds is only ever a create of the past.
 *
 * A subscription the payer put in `error` or `off` (a heartbeat or notification saying so, kept by
 * the notify route: ./routes.ts noteStatus, which queues this job) is replaced by a new one, not
 * reactivated by an update. The Backport IG 1.1 (errors.html, "Recovering from Errors") says a
 * client SHOULD ask for reactivation by updating `status` to `requested` or `active` once it has
 * recovered — but what that asks of Dripline here is what a create asks: an R4 update replaces the
 * whole Subscription, and Dripline keeps only its secret's hash, so the update would carry a new
 * secret, kept before it is sent, exactly as a create's is. The create is the path whose failures
 * are already handled (an answer that never came, a refusal, a lost lease: swept or deleted); an
 * `off` subscription may have expired (R4 subscription-status), which an update need not revive;
 * and the one in error is deleted at the payer (replacedGoes), so the payer keeps one subscription
 * either way. The recovery the IG puts first — learning what was missed while no notification
 * came — is the pended requests' `$inquire` rounds (./follow-up.ts), each request's fallback for
 * a notification that never comes.
 */
import type { Claim, Subscription } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { BatchOperation, TenantId } from '../../store/port.ts';
import { LeaseLost } from '../../store/lease-keeper.ts';
import { readOptional } from '../../store/read-optional.ts';
import { searchAll } from '../../store/search-all.ts';
import { followUp } from './follow-up.ts';
import type { FollowUpContext } from './follow-up.ts';
import type { PriorAuthJob } from './jobs.ts';
import type { PayerAnswer } from './payer-client.ts';
import { PasPayerUnavailable } from './payer-client.ts';
import { caseIdOf, completeOpenWorkItem, payerOf, PRIOR_AUTH_QUEUE, stateOf } from './records.ts';
import {
  newSecret,
  notifyPath,
  pasSubscription,
  readRecord,
  recordResource,
  subscriptionRecordId,
  subscriptionWorkId,
} from './subscription.ts';
import { removeLostSubscription, sweepKey, unsubscribeKey } from './subscription-orphan.ts';
import { firstCheck } from './subscription-check.ts';

/**
 * An answer that says the payer did nothing with the request: 429 (RFC 6585 §4, too many
 * requests) and 503 (RFC 9110 §15.6.4, unable to handle it now). Any other failure — no answer at
 * all, a 500, a gateway's 502 or 504 — may come after the payer made the subscription.
 */
const madeNothing = (err: unknown): boolean =>
  err instanceof PasPayerUnavailable && (err.status === 429 || err.status === 503);

export async function ensureSubscription(
  ctx: FollowUpContext,
  tenant: TenantId,
  payerId: string,
): Promise<void> {
  const config = ctx.tenant(tenant);
  const payer = config.payers.find((p) => p.id === payerId);
  if (!payer?.pas || !config.billing) {
    return;
  }
  const store = ctx.store;
  const id = subscriptionRecordId(payer.id);
  const existing = await readOptional<Subscription>(store, tenant, 'Subscription', id);
  const record = existing ? readRecord(existing) : undefined;
  if (
    record &&
    (record.unsupported ||
      (record.payerSubscriptionId && record.status !== 'error' && record.status !== 'off'))
  ) {
    return;
  }
  // An earlier create the payer may have answered without Dripline hearing it.
  const unconfirmedBefore = record?.unconfirmed === true;
  // The subscription this one replaces (in error or off): deleted at the payer (replacedGoes).
  const replaced = record?.payerSubscriptionId;
  const secret = newSecret();
  const sent = pasSubscription({
    endpoint: `${ctx.publicUrl}${notifyPath(tenant, payer.id)}`,
    senderId: config.billing.npi,
    secret,
  });
  // The secret's hash is kept before the payer can handshake with it; `unconfirmed` until this
  // create is answered, so a crash meanwhile leaves it said.
  const kept = recordResource({ payer: payer.id, sent, secret, status: 'requested', unconfirmed: true });
  const [written] = await store.resources.writeBatch(tenant, [
    existing
      ? {
          op: 'update',
          resource: kept,
          options: { ifMatchVersion: existing.meta.versionId, upsert: false },
        }
      : { op: 'create', resource: kept, options: { id } },
    ...(replaced ? [replacedGoes(payer.id, replaced)] : []),
  ]);
  const version =
    written && (written.op === 'create' || written.op === 'update')
      ? written.result.resource.meta.versionId
      : undefined;
  let answer: PayerAnswer;
  try {
    answer = await ctx.port(payer).createSubscription(sent);
  } catch (err) {
    if (err instanceof LeaseLost) {
      // The job's new owner subscribes again: what this call made is not to stay beside it.
      await removeLostSubscription(ctx, tenant, payer.id, err);
    } else if (madeNothing(err)) {
      // Nothing made by this create: the record says what it said before it.
      await restoreUnconfirmed(ctx, tenant, payer.id, unconfirmedBefore).catch(() => undefined);
    }
    throw err;
  }
  const current = (await readOptional<Subscription>(store, tenant, 'Subscription', id)) ?? kept;
  const payerId2 = (answer.body as { id?: string } | undefined)?.id;
  const accepted = answer.status >= 200 && answer.status < 300 && payerId2 !== undefined;
  const next = recordResource({
    payer: payer.id,
    sent,
    ...(readRecord(current).secretSha256 ? { secretSha256: readRecord(current).secretSha256 } : {}),
    ...(accepted ? { payerSubscriptionId: payerId2 } : {}),
    // A handshake may already have made it active.
    status: accepted ? (current.status === 'active' ? 'active' : 'requested') : 'off',
    unsupported: !accepted,
  });
  // An earlier create's doubt passes to a sweep once this one is answered: with what it made
  // kept, or, refused, with nothing kept (the payer is not asked again: `unsupported`).
  const sweep: BatchOperation[] = unconfirmedBefore
    ? [
        {
          op: 'enqueue',
          job: {
            queue: PRIOR_AUTH_QUEUE,
            key: sweepKey(
              payer.id,
              accepted ? payerId2 : { refusedAt: current.meta?.versionId ?? version ?? '' },
            ),
            payload: {
              kind: 'sweep-subscriptions',
              payer: payer.id,
              ...(accepted ? { keep: payerId2 } : {}),
            } satisfies PriorAuthJob,
          },
        },
      ]
    : [];
  await store.resources.writeBatch(tenant, [
    {
      op: 'update',
      resource: next,
      options: {
        ...(current.meta?.versionId
          ? { ifMatchVersion: current.meta.versionId }
          : version
            ? { ifMatchVersion: version }
            : {}),
        upsert: false,
      },
    },
    ...sweep,
    // Watched for silence from now on (./subscription-check.ts).
    ...(accepted ? [firstCheck(payer.id, payerId2, next, ctx.now())] : []),
  ]);
  ctx.logger.info(
    { tenant, payer: payer.id, status: answer.status, subscribed: accepted, sweep: sweep.length > 0 },
    'PAS subscription',
  );
  if (accepted) {
    await subscriptionWorkDone(ctx, tenant, payer);
  } else {
    // No subscription: the pended requests of this payer are followed by $inquire.
    for (const claim of await searchAll<Claim>(store, tenant, 'Claim', [
      { code: 'pas-state', kind: 'token', values: [{ value: 'pended' }] },
    ])) {
      if (stateOf(claim) === 'pended' && payerOf(claim) === payer.id) {
        await followUp(ctx, tenant, payer, caseIdOf(claim.id), {
          pendedAt: new Date(claim.meta.lastUpdated),
        });
      }
    }
  }
}

/**
 * The `unsubscribe` job of the subscription a new one replaces, queued with the record that drops
 * it (its secret replaced at once, so from then on Dripline refuses whatever it sends). Deleted in
 * `error` and in `off` alike, by the Subscriptions R5 Backport IG 1.1's status semantics
 * (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/errors.html, "Handling Errors"): a server
 * keeps a subscription in error, keeps counting its events and MAY keep sending heartbeats with an
 * `error` status, and either status is reset to `requested` or `active` by an update — neither is
 * an end, so one left could notify again beside the new (every decision twice, one refused). A
 * subscription that is `off` notifies nobody now (FHIR R4 subscription-status: "too many errors
 * have occurred or the subscription has expired"), but it is still held for Dripline's endpoint:
 * deleting it costs one call (a payer that purged it answers 404 or 410: done) and leaves the payer
 * only the subscription Dripline keeps, as the sweep after a create with no answer does.
 */
function replacedGoes(payer: string, subscription: string): BatchOperation {
  return {
    op: 'enqueue',
    job: {
      queue: PRIOR_AUTH_QUEUE,
      key: unsubscribeKey(payer, subscription),
      payload: { kind: 'unsubscribe', payer, subscription } satisfies PriorAuthJob,
    },
  };
}

/** The record's `unconfirmed` set back to what it was before a create the payer did nothing with. */
async function restoreUnconfirmed(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: string,
  unconfirmed: boolean,
): Promise<void> {
  const current = await readOptional<Subscription>(
    ctx.store,
    tenant,
    'Subscription',
    subscriptionRecordId(payer),
  );
  if (!current || unconfirmed) {
    return;
  }
  const record = readRecord(current);
  await ctx.store.resources.writeBatch(tenant, [
    {
      op: 'update',
      resource: recordResource({
        payer,
        sent: current,
        ...(record.secretSha256 ? { secretSha256: record.secretSha256 } : {}),
        ...(record.payerSubscriptionId ? { payerSubscriptionId: record.payerSubscriptionId } : {}),
        status: current.status,
        unsupported: record.unsupported,
      }),
      options: { ifMatchVersion: current.meta.versionId, upsert: false },
    },
  ]);
}

/** The payer's work item saying Dripline could not subscribe there is done: it has subscribed. */
async function subscriptionWorkDone(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: PayerEndpoint,
): Promise<void> {
  await completeOpenWorkItem(
    ctx,
    tenant,
    payer.id,
    subscriptionWorkId(payer.id),
    `Dripline has subscribed to ${payer.name}'s prior authorization notifications.`,
  );
}
