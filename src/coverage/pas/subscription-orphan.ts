/**
 * A PAS subscription Dripline made at a payer and does not keep: the subscribe job's lease was lost
 * while the payer answered the create (LeaseLost), so the worker records nothing and the job's new
 * owner subscribes again (with a secret of its own, which replaces the record's). Left there, the
 * first subscription would stay at the payer beside the kept one: every decision notified twice
 * (the second refused by Dripline for its stale secret, and retried by the payer until it marks it
 * in error). The worker that made it has it deleted instead (`unsubscribe` job).
 *
 * Why delete, rather than create idempotently: the Subscriptions R5 Backport IG 1.1 and Da Vinci PAS
 * 2.2.1 (../shared/research/pas.md §3.1) require a PAS server to expose Subscription create, update
 * and delete; neither requires update-as-create (a client-chosen id: `updateCreate` is optional in
 * FHIR R4), conditional create (`If-None-Exist` needs a search on Subscription, which PAS does not
 * require), or a search by which the new owner could find the first one. Only the worker holding
 * the answer knows the payer's id of what it made, and delete is the one interaction every PAS
 * payer has for undoing it. A job, not a call in place: it is kept before the worker moves on and
 * retried with backoff while the payer is unavailable.
 *
 * Left: a create whose answer never came (a timeout, the process gone between the answer and the
 * enqueue) may still leave one at the payer, unknown to Dripline.
 */
import type { TenantConfig } from '../../config/config.ts';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { Logger } from '../../logger.ts';
import type { LeaseLost } from '../../store/lease-keeper.ts';
import type { Store, TenantId } from '../../store/port.ts';
import type { PriorAuthJob } from './jobs.ts';
import type { PasPayerPort, PayerAnswer } from './payer-client.ts';
import { PRIOR_AUTH_QUEUE } from './records.ts';

/** One job per subscription to remove: the same loss found twice queues it once. */
export const unsubscribeKey = (payer: string, subscription: string): string =>
  `unsubscribe|${payer}|${subscription}`;

/** The payer's id of the subscription a create answer says it made. */
function madeSubscription(answer: unknown): string | undefined {
  const { status, body } = (answer ?? {}) as Partial<PayerAnswer>;
  const id = (body as { id?: unknown } | undefined)?.id;
  return status !== undefined && status >= 200 && status < 300 && typeof id === 'string' && id !== ''
    ? id
    : undefined;
}

/**
 * The subscribe call answered after its job's lease was lost: a subscription it made at the payer
 * is queued for deletion (the new owner makes the one kept). Resolves with its id, if any.
 */
export async function removeLostSubscription(
  deps: { readonly store: Pick<Store, 'jobs'>; readonly logger: Logger },
  tenant: TenantId,
  payer: string,
  lost: LeaseLost,
): Promise<string | undefined> {
  const subscription = lost.resolvedWith ? madeSubscription(lost.resolvedWith.value) : undefined;
  if (!subscription) {
    return undefined;
  }
  const job: PriorAuthJob = { kind: 'unsubscribe', payer, subscription };
  await deps.store.jobs.enqueue(tenant, {
    queue: PRIOR_AUTH_QUEUE,
    key: unsubscribeKey(payer, subscription),
    payload: job,
  });
  deps.logger.info(
    { tenant, payer, subscription },
    'PAS subscription made after the subscribe job was lost: queued for deletion at the payer',
  );
  return subscription;
}

/** A refusal to delete that trying again will not change (the job dies; its worker logs it). */
class DeleteRefused extends Error {
  readonly retryable = false;
}

/**
 * Deletes the payer's subscription (`unsubscribe` job). Gone already (404, 410) is done too; the
 * payer unavailable throws its retryable PasPayerUnavailable (from the port).
 */
export async function unsubscribe(
  port: PasPayerPort,
  job: Extract<PriorAuthJob, { kind: 'unsubscribe' }>,
): Promise<void> {
  const answer = await port.deleteSubscription(job.subscription);
  if ((answer.status >= 200 && answer.status < 300) || answer.status === 404 || answer.status === 410) {
    return;
  }
  throw new DeleteRefused(
    `payer ${job.payer} refused to delete subscription ${job.subscription} (HTTP ${answer.status})`,
  );
}

/**
 * The `unsubscribe` job (./worker.ts): the payer, if still configured for PAS, is asked to delete
 * the subscription; `port` keeps the job's lease through its answer.
 */
export async function runUnsubscribe(
  ctx: {
    readonly logger: Logger;
    tenant(id: TenantId): TenantConfig;
    port(payer: PayerEndpoint): PasPayerPort;
  },
  tenant: TenantId,
  job: Extract<PriorAuthJob, { kind: 'unsubscribe' }>,
): Promise<void> {
  const payer = ctx.tenant(tenant).payers.find((p) => p.id === job.payer);
  if (!payer?.pas) {
    return; // no longer configured: nothing to ask it with
  }
  await unsubscribe(ctx.port(payer), job);
  ctx.logger.info(
    { tenant, payer: job.payer, subscription: job.subscription },
    'PAS subscription Dripline does not keep deleted at the payer',
  );
}
