/**
 * PAS subscriptions Dripline made at a payer and does not keep. Left there, each would stay beside
 * the kept one: every decision notified twice (the second refused by Dripline for its stale secret,
 * and retried by the payer until it marks it in error). Three ways one is left:
 * - the kept one went to `error` or `off` and a new one replaces it (./subscribe.ts replacedGoes):
 *   its deletion is queued with the record that drops it;
 * - the subscribe job's lease was lost while the payer answered the create (LeaseLost): the worker
 *   records nothing and the job's new owner subscribes again (with a secret of its own, which
 *   replaces the record's); the worker holding the answer knows the payer's id of what it made and
 *   has it deleted (`unsubscribe` job, removeLostSubscription);
 * - a create whose answer never came (./subscribe.ts: the record stays `unconfirmed`): once a later
 *   create is answered, a `sweep-subscriptions` job searches the payer's subscriptions at
 *   Dripline's notify endpoint for that tenant and payer and has every one but the kept deleted —
 *   every one, when the payer refused that later create (Dripline keeps none there then).
 *
 * Why delete: the Subscriptions R5 Backport IG 1.1 and Da Vinci PAS 2.2.1 (../shared/research/pas.md
 * §3.1) have PAS servers expose Subscription create, update and delete; neither requires
 * update-as-create (a client-chosen id: `updateCreate` is optional in FHIR R4) or conditional
 * create, and search is a SHOULD (./subscribe.ts says what each guide asks). Delete is the one
 * interaction every PAS payer has for undoing a create. Jobs, not calls in place: kept before the
 * worker moves on, retried with backoff while the payer is unavailable.
 *
 * A payer that refuses a delete (a 4xx but 404/410, or unavailable on every attempt) or the search
 * leaves it to a person: a work item names the payer and the subscription (./gave-up.ts), once.
 */
import { createHash } from 'node:crypto';
import type { Bundle, Subscription, Task } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { Logger } from '../../logger.ts';
import type { LeaseLost } from '../../store/lease-keeper.ts';
import type { Job, Store, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import type { PriorAuthJob } from './jobs.ts';
import type { PasPayerPort, PayerAnswer } from './payer-client.ts';
import { PRIOR_AUTH_QUEUE, writeWork } from './records.ts';
import { notifyPath, readSubscriptionRecord } from './subscription.ts';

/** One job per subscription to remove: the same loss found twice queues it once. */
export const unsubscribeKey = (payer: string, subscription: string): string =>
  `unsubscribe|${payer}|${subscription}`;

/**
 * One sweep per subscription kept after a create with no answer; without one kept (the payer
 * refused the later create), one per version of the record that refusal left.
 */
export const sweepKey = (payer: string, keep: string | { readonly refusedAt: string }): string =>
  typeof keep === 'string'
    ? `subscribe-sweep|${payer}|${keep}`
    : `subscribe-sweep|${payer}|none|${keep.refusedAt}`;

/** What the jobs here need: the store, the tenants' payers and each payer's port. */
export interface OrphanContext {
  readonly store: Store;
  readonly logger: Logger;
  readonly publicUrl: string;
  readonly now: () => Date;
  tenant(id: TenantId): TenantConfig;
  /** With the job's lease kept through the payer's answer. */
  port(payer: PayerEndpoint): PasPayerPort;
}

/** The payer's id of the subscription a create answer says it made. */
function madeSubscription(answer: unknown): string | undefined {
  const { status, body } = (answer ?? {}) as Partial<PayerAnswer>;
  const id = (body as { id?: unknown } | undefined)?.id;
  return status !== undefined && status >= 200 && status < 300 && typeof id === 'string' && id !== ''
    ? id
    : undefined;
}

async function enqueueUnsubscribe(
  store: Pick<Store, 'jobs'>,
  tenant: TenantId,
  payer: string,
  subscription: string,
): Promise<void> {
  const job: PriorAuthJob = { kind: 'unsubscribe', payer, subscription };
  await store.jobs.enqueue(tenant, {
    queue: PRIOR_AUTH_QUEUE,
    key: unsubscribeKey(payer, subscription),
    payload: job,
  });
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
  await enqueueUnsubscribe(deps.store, tenant, payer, subscription);
  deps.logger.info(
    { tenant, payer, subscription },
    'PAS subscription made after the subscribe job was lost: queued for deletion at the payer',
  );
  return subscription;
}

/** A refusal that trying again will not change (the job dies; a person is told: orphanWork). */
class Refused extends Error {
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
  throw new Refused(
    `payer ${job.payer} refused to delete subscription ${job.subscription} (HTTP ${answer.status})`,
  );
}

/**
 * The `unsubscribe` job (./worker.ts): the payer, if still configured for PAS, is asked to delete
 * the subscription.
 */
export async function runUnsubscribe(
  ctx: OrphanContext,
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

/**
 * The `sweep-subscriptions` job: `GET Subscription?url={notify endpoint}` at the payer, and an
 * `unsubscribe` job for each subscription found at that endpoint but the kept one (every one when
 * none is kept). Only what the search returned is deleted, and only while the record still keeps
 * `job.keep` (without one: still refused, keeping none) when the search has answered: a later
 * subscribe writes its record before it asks the payer, so a subscription it makes cannot be among
 * what this search found. Each result's endpoint is checked again (a payer
 * that ignores an unknown search parameter answers with all it holds). Refused (a 4xx, or not a
 * searchset), or a result with more pages: a person is told.
 */
export async function runSweep(
  ctx: OrphanContext,
  tenant: TenantId,
  job: Extract<PriorAuthJob, { kind: 'sweep-subscriptions' }>,
): Promise<void> {
  const payer = ctx.tenant(tenant).payers.find((p) => p.id === job.payer);
  if (!payer?.pas) {
    return;
  }
  const endpoint = `${ctx.publicUrl}${notifyPath(tenant, payer.id)}`;
  const answer = await ctx.port(payer).searchSubscriptions({ url: endpoint, _count: '100' });
  const bundle = answer.body as Bundle | undefined;
  if (answer.status < 200 || answer.status >= 300 || bundle?.resourceType !== 'Bundle') {
    throw new Refused(`payer ${job.payer} did not search its subscriptions (HTTP ${answer.status})`);
  }
  const { known } = await readSubscriptionRecord(ctx.store, tenant, payer.id);
  const unchanged =
    job.keep !== undefined
      ? known?.payerSubscriptionId === job.keep
      : known?.unsupported === true && known.payerSubscriptionId === undefined;
  if (!unchanged) {
    return; // subscribed anew since: that subscribe's own answer decides what is left
  }
  const left = (bundle.entry ?? [])
    .map((e) => e.resource as Subscription | undefined)
    .filter(
      (s): s is Subscription & { id: string } =>
        s?.resourceType === 'Subscription' &&
        typeof s.id === 'string' &&
        s.id !== job.keep &&
        s.channel?.endpoint === endpoint,
    );
  for (const s of left) {
    await enqueueUnsubscribe(ctx.store, tenant, payer.id, s.id);
  }
  ctx.logger.info(
    { tenant, payer: payer.id, keep: job.keep, left: left.map((s) => s.id) },
    'PAS subscriptions at the payer swept',
  );
  if (bundle.link?.some((l) => l.relation === 'next')) {
    throw new Refused(`payer ${job.payer} answered the search of its subscriptions in more than one page`);
  }
}

/** The work item about one subscription left at a payer (or, without one, any the sweep could not find). */
export const orphanWorkId = (payer: string, subscription?: string): string =>
  `pas-sub-left-${createHash('sha256')
    .update(`${payer}|${subscription ?? '*'}`)
    .digest('hex')
    .slice(0, 20)}`;

/**
 * An `unsubscribe` or `sweep-subscriptions` job gave up: a person is told what to ask the payer to
 * delete, naming the payer and the subscription (no PHI: a subscription names Dripline's endpoint).
 * Once: while its work item is open, the same refusal again adds nothing; a closed one is reopened.
 */
export async function orphanWork(
  ctx: OrphanContext,
  job: Job,
  err: Error,
  unavailable: boolean,
): Promise<void> {
  const payload = job.payload as PriorAuthJob;
  if (payload.kind !== 'unsubscribe' && payload.kind !== 'sweep-subscriptions') {
    return;
  }
  const payer = ctx.tenant(job.tenant).payers.find((p) => p.id === payload.payer);
  const subscription = payload.kind === 'unsubscribe' ? payload.subscription : undefined;
  ctx.logger.error(
    { tenant: job.tenant, payer: payload.payer, subscription, err: err.message },
    'PAS subscription Dripline does not keep may be left at the payer',
  );
  if (!payer?.pas) {
    return;
  }
  const id = orphanWorkId(payer.id, subscription);
  const open = await readOptional<Task>(ctx.store, job.tenant, 'Task', id);
  if (open?.status === 'requested') {
    return;
  }
  const why = unavailable
    ? `the payer was unavailable on all ${job.attempts} attempts (last: ${err.message})`
    : err.message;
  const consequence = `Its notifications carry a secret Dripline no longer holds: Dripline refuses them, and ${payer.name} may keep sending them until it marks the subscription in error.`;
  const note =
    payload.kind === 'unsubscribe'
      ? `${payer.name} (${payer.id}) holds a PAS subscription Dripline made and does not use, Subscription/${payload.subscription} at ${payer.pas.fhirBaseUrl}, and Dripline could not delete it: ${why}. ${consequence} Ask ${payer.name} to delete Subscription/${payload.subscription}, then complete this work item.`
      : payload.keep !== undefined
        ? `A subscribe to ${payer.name}'s (${payer.id}) PAS notifications got no answer, so ${payer.name} may hold a subscription Dripline does not know beside the one it keeps (Subscription/${payload.keep} at ${payer.pas.fhirBaseUrl}), and Dripline could not look for it: ${why}. ${consequence} Ask ${payer.name} to delete every Subscription whose channel endpoint is ${ctx.publicUrl}${notifyPath(job.tenant, payer.id)} but Subscription/${payload.keep}, then complete this work item.`
        : `A subscribe to ${payer.name}'s (${payer.id}) PAS notifications got no answer and the next was refused, so ${payer.name} may hold a subscription Dripline does not know (at ${payer.pas.fhirBaseUrl}), and Dripline could not look for it: ${why}. ${consequence} Ask ${payer.name} to delete every Subscription whose channel endpoint is ${ctx.publicUrl}${notifyPath(job.tenant, payer.id)}, then complete this work item.`;
  await writeWork(
    ctx.store,
    job.tenant,
    { payer: payer.id, now: ctx.now(), publicUrl: ctx.publicUrl },
    { id, code: 'subscription-left', note },
  );
}
