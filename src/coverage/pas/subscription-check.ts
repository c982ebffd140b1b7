/**
 * A PAS subscription that went silent (Subscriptions R5 Backport IG 1.1, errors.html "Broken
 * Communication"): Dripline asks each payer for a heartbeat (./subscription.ts
 * PAS_HEARTBEAT_SECONDS), so a period and its slack with no handshake, heartbeat or event at all
 * (./subscription-contact.ts) means notifications may not be reaching it. The IG has the client
 * then ask the server how the subscription stands (`GET Subscription/{id}/$status`) and recover
 * what it missed. Here, by what the payer answers:
 * - `active`, counting more events (events-since-subscription-start) than Dripline received: a
 *   decision's notification was lost. The count is kept on the contact's ledger as a heartbeat
 *   reporting it would be (noteReported), and the same `recover-events` job a heartbeat's gap gets
 *   is queued (./subscription-recovery.ts scheduleRecovery, one in line per subscription): the
 *   payer's `$events` is asked for just the missing ranges, and only what it does not hand back
 *   makes the pended requests' `$inquire` rounds due (the recovery every PAS payer offers: PAS
 *   2.2.1 requires it, while the IG's `$events` is a MAY). Not one inquiry per pended request for
 *   a decision one call brings back;
 * - `active` and nothing missed: the payer's heartbeats alone are not arriving; logged, and asked
 *   again after the next period;
 * - `error`, `off`, anything else, or a 404/410 (the payer no longer holds it): recorded on the
 *   subscription record and replaced as a heartbeat saying so would have it (noteStatus, then
 *   ./subscribe.ts);
 * - refused or failed (unavailable, a 4xx, an answer that is not a SubscriptionStatus searchset):
 *   retried with the queue's backoff; after the last attempt a person is told on the payer's work
 *   item naming the subscription (checkGaveUp), and the checks go on.
 *
 * One leased job at a time per subscription: a line of `check-subscription` jobs (./jobs.ts
 * enqueueNextInLine), each queuing the next for when silence would next be overdue. The first is
 * queued with the record of an accepted subscribe (firstCheck); the worker's start gives a kept
 * subscription without one its line (startChecks). A replaced subscription's line ends at its next
 * round. Times are the injected clock's; instants are kept in UTC and shown in the tenant's zone.
 */
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { Subscription, Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { BatchOperation, Job, Store, StoredResource, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import { isoInZone } from '../../time/zone.ts';
import type { FollowUpContext } from './follow-up.ts';
import { enqueueSubscribe } from './follow-up.ts';
import type { JobLine, PriorAuthJob } from './jobs.ts';
import { enqueueNextInLine } from './jobs.ts';
import { completeOpenWorkItem, PRIOR_AUTH_QUEUE, writeWork } from './records.ts';
import {
  heartbeatSecondsOf,
  readRecord,
  readStatusAnswer,
  readSubscriptionRecord,
  recordResource,
} from './subscription.ts';
import { noteReported, readContact } from './subscription-contact.ts';
import { scheduleRecovery } from './subscription-recovery.ts';

type CheckJob = Extract<PriorAuthJob, { kind: 'check-subscription' }>;

/**
 * How long a subscription may be silent before Dripline asks: its heartbeat period and half as much
 * again, the slack the EHR side allows too (../../ingest/event-tracker.ts heartbeatOverdue) — a
 * heartbeat sent late, or one delivery retried by the payer, is not silence.
 */
export function silenceAllowedMs(record: Subscription): number {
  return heartbeatSecondsOf(record) * 1000 * 1.5;
}

/** What every silence check's key starts with (its line: `{prefix}{payer}|{subscription}|{round}`). */
export const SILENCE_CHECK_KEY_PREFIX = 'subscription-check|';

/**
 * A subscription's silence check: one always waits for its time while a subscription is kept, so
 * a queue holding only these has no work under way (what the sandbox day's "settled" looks for).
 */
export const isSilenceCheck = (job: Pick<Job, 'key'>): boolean =>
  job.key.startsWith(SILENCE_CHECK_KEY_PREFIX);

const checkLine = (payer: string, subscription: string, runAt: Date, knownEvents?: number): JobLine => ({
  numbered: `${SILENCE_CHECK_KEY_PREFIX}${payer}|${subscription}|`,
  payload: (round) => ({
    kind: 'check-subscription',
    payer,
    subscription,
    round,
    ...(knownEvents !== undefined ? { knownEvents } : {}),
  }),
  runAt: runAt.toISOString(),
});

/** The first check of a subscription the payer just accepted, written with its record. */
export function firstCheck(
  payer: string,
  subscription: string,
  record: Subscription,
  now: Date,
): BatchOperation {
  const line = checkLine(payer, subscription, new Date(now.getTime() + silenceAllowedMs(record)));
  return {
    op: 'enqueue',
    job: {
      queue: PRIOR_AUTH_QUEUE,
      key: `${line.numbered}1`,
      payload: line.payload(1),
      ...(line.runAt ? { runAt: line.runAt } : {}),
    },
  };
}

/**
 * Gives each subscription the tenant keeps at a payer a line of checks if it has none still to run
 * (subscriptions made before the checks existed, or a line that ended): its check runs now.
 * Idempotent. Resolves with how many lines were started.
 */
export async function startChecks(ctx: FollowUpContext, tenant: TenantId): Promise<number> {
  let started = 0;
  for (const payer of ctx.tenant(tenant).payers) {
    if (!payer.pas || payer.pas.subscription === 'off') {
      continue;
    }
    const { known } = await readSubscriptionRecord(ctx.store, tenant, payer.id);
    if (!known?.payerSubscriptionId || !watched(known)) {
      continue;
    }
    if (
      await enqueueNextInLine(ctx.store, tenant, checkLine(payer.id, known.payerSubscriptionId, ctx.now()))
    ) {
      started += 1;
    }
  }
  return started;
}

/** A kept subscription is watched unless the payer offers none or its replacement is under way. */
const watched = (known: ReturnType<typeof readRecord>): boolean =>
  !known.unsupported && known.status !== 'error' && known.status !== 'off';

/** A `$status` the payer refused or failed to answer usefully: retried, then a person is told. */
class StatusNotAnswered extends Error {
  readonly retryable = true;
}

/** The `check-subscription` job (./worker.ts). */
export async function runSubscriptionCheck(
  ctx: FollowUpContext,
  tenant: TenantId,
  job: CheckJob,
): Promise<void> {
  const config = ctx.tenant(tenant);
  const payer = config.payers.find((p) => p.id === job.payer);
  if (!payer?.pas || payer.pas.subscription === 'off') {
    return; // no longer subscribed there: the line ends
  }
  const { stored, known } = await readSubscriptionRecord(ctx.store, tenant, payer.id);
  if (!stored || !known || known.payerSubscriptionId !== job.subscription || !watched(known)) {
    return; // replaced, or being replaced: the new subscription has a line of its own
  }
  const contact = await readContact(ctx.store, tenant, payer.id);
  const heard = contact?.subscription === job.subscription ? contact : undefined;
  // Nothing heard of it at all (a handshake never came): silent since its record was last written.
  const last = Date.parse(heard?.at ?? stored.meta.lastUpdated);
  const allowed = silenceAllowedMs(stored);
  const now = ctx.now();
  const knownEvents = Math.max(heard?.eventsReceived ?? 0, job.knownEvents ?? 0);
  if (now.getTime() - last <= allowed) {
    await next(ctx, tenant, job, new Date(last + allowed + 1), job.knownEvents);
    return;
  }
  const zone = config.timeZone ?? 'UTC';
  const answer = await ctx.port(payer).subscriptionStatus(job.subscription);
  if (answer.status === 404 || answer.status === 410) {
    await replace(ctx, tenant, payer, 'off');
    await checkWorkDone(ctx, tenant, payer);
    ctx.logger.warn(
      { tenant, payer: payer.id, subscription: job.subscription, status: answer.status },
      'PAS subscription silent and gone at the payer: replaced',
    );
    return;
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw new StatusNotAnswered(
      `payer ${payer.id} refused $status of subscription ${job.subscription} (HTTP ${answer.status})`,
    );
  }
  const reading = readStatusAnswer(answer.body, job.subscription);
  if (!reading) {
    throw new StatusNotAnswered(
      `payer ${payer.id} answered $status of subscription ${job.subscription} with no SubscriptionStatus searchset`,
    );
  }
  const logged = {
    tenant,
    payer: payer.id,
    subscription: job.subscription,
    silentSince: isoInZone(new Date(last), zone),
    status: reading.status,
    eventsSinceStart: reading.eventsSinceStart,
    eventsReceived: knownEvents,
  };
  if (reading.status !== 'active') {
    await replace(ctx, tenant, payer, reading.status === 'off' ? 'off' : 'error');
    await checkWorkDone(ctx, tenant, payer);
    ctx.logger.warn(logged, 'PAS subscription silent and not active at the payer: replaced');
    return;
  }
  const missed = (reading.eventsSinceStart ?? 0) > knownEvents;
  // Their recovery is queued (idempotent: none more while one waits or runs). Not contact: the
  // answer to Dripline's ask says nothing of whether the payer's notifications reach it.
  const recovery = missed
    ? await scheduleRecovery(
        ctx.store,
        tenant,
        payer.id,
        await noteReported(ctx.store, tenant, payer.id, {
          subscription: job.subscription,
          reported: reading.eventsSinceStart ?? 0,
          now,
        }),
      )
    : false;
  ctx.logger.warn(
    { ...logged, ...(missed ? { recoveryQueued: recovery } : {}) },
    missed
      ? 'PAS subscription silent with events Dripline did not receive: their recovery queued'
      : 'PAS subscription silent but active at the payer: its heartbeats are not arriving',
  );
  await checkWorkDone(ctx, tenant, payer);
  // Events missed are left to the ledger (the next check finds them again only while the
  // recovery has not accounted for them, and then queues one only if none is in line).
  await next(
    ctx,
    tenant,
    job,
    new Date(now.getTime() + allowed),
    missed ? job.knownEvents : Math.max(knownEvents, reading.eventsSinceStart ?? 0),
  );
}

function next(
  ctx: FollowUpContext,
  tenant: TenantId,
  job: CheckJob,
  runAt: Date,
  knownEvents?: number,
): Promise<boolean> {
  return enqueueNextInLine(
    ctx.store,
    tenant,
    checkLine(job.payer, job.subscription, runAt, knownEvents),
    job.round + 1,
  );
}

/** The payer says the subscription is not active (or gone): recorded and replaced (noteStatus). */
async function replace(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: PayerEndpoint,
  status: 'error' | 'off',
): Promise<void> {
  const { stored } = await readSubscriptionRecord(ctx.store, tenant, payer.id);
  if (!stored) {
    return;
  }
  try {
    await noteStatus(ctx, tenant, payer, stored, status);
  } catch (err) {
    // A notification wrote the record meanwhile: the next attempt reads it again.
    if (err instanceof OperationOutcomeError && getStatus(err.outcome) === 412) {
      throw new StatusNotAnswered(`the record of subscription at ${payer.id} changed while it was checked`);
    }
    throw err;
  }
}

/**
 * A status the payer reports for Dripline's subscription (a notification's, or `$status`), kept on
 * its record (idempotent: written only when it changes). A subscription the payer put in `error` or
 * `off` gets a `subscribe` job, queued after the record says so (enqueueSubscribe: one in line per
 * payer subscription, so the same news again queues nothing more, and one again after a job that
 * died queues the next): it replaces the subscription and deletes the one in error at the payer
 * (./subscribe.ts says why a new one rather than the old one's update).
 */
export async function noteStatus(
  deps: { readonly store: Store; readonly notify?: () => void },
  tenant: TenantId,
  payer: PayerEndpoint,
  existing: Subscription & StoredResource,
  status: Subscription['status'] | undefined,
): Promise<void> {
  if (status === undefined) {
    return;
  }
  const record = readRecord(existing);
  if (existing.status !== status) {
    await deps.store.resources.writeBatch(tenant, [
      {
        op: 'update',
        resource: recordResource({
          payer: payer.id,
          sent: existing,
          ...(record.secretSha256 ? { secretSha256: record.secretSha256 } : {}),
          ...(record.payerSubscriptionId ? { payerSubscriptionId: record.payerSubscriptionId } : {}),
          // The handshake of a create whose answer may never come: that stays known.
          ...(record.unconfirmed ? { unconfirmed: true } : {}),
          ...(record.unsupported ? { unsupported: true } : {}),
          status,
        }),
        options: { ifMatchVersion: existing.meta.versionId, upsert: false },
      },
    ]);
  }
  if (status === 'error' || status === 'off') {
    await enqueueSubscribe(deps, tenant, payer);
    deps.notify?.();
  }
}

/** The payer's work item about a subscription Dripline could not check. */
export const checkWorkId = (payer: string): string => `pas-sub-${payer}-status-work`;

/**
 * A check's last attempt failed: a person is told, on the payer's work item naming the subscription
 * (no PHI), once while it is open; the next check is queued all the same (a payer that answers
 * again closes the item: checkWorkDone).
 */
export async function checkGaveUp(ctx: FollowUpContext, job: Job, err: Error): Promise<void> {
  const payload = job.payload as CheckJob;
  const config = ctx.tenant(job.tenant);
  const payer = config.payers.find((p) => p.id === payload.payer);
  ctx.logger.error(
    { tenant: job.tenant, payer: payload.payer, subscription: payload.subscription, err: err.message },
    'PAS subscription silent and its status could not be asked',
  );
  if (!payer?.pas) {
    return;
  }
  const { stored } = await readSubscriptionRecord(ctx.store, job.tenant, payer.id);
  const now = ctx.now();
  const allowed = stored ? silenceAllowedMs(stored) : 0;
  await next(ctx, job.tenant, payload, new Date(now.getTime() + allowed), payload.knownEvents);
  const id = checkWorkId(payer.id);
  const open = await readOptional<Task>(ctx.store, job.tenant, 'Task', id);
  if (open?.status === 'requested') {
    return;
  }
  const hours = Math.round((allowed / 3_600_000) * 10) / 10;
  await writeWork(
    ctx.store,
    job.tenant,
    { payer: payer.id, now, publicUrl: ctx.publicUrl },
    {
      id,
      code: 'payer-error',
      note: `${payer.name} (${payer.id}) has sent nothing about Dripline's PAS subscription there (Subscription/${payload.subscription} at ${payer.pas.fhirBaseUrl}) for longer than its heartbeat period allows, and did not answer how it stands (Subscription/${payload.subscription}/$status) on ${job.attempts} attempts (last: ${err.message}). Decisions it notifies may be lost meanwhile; pended requests there are still followed by inquiries. Dripline asks again every ${hours} hours while the silence lasts (the latest at ${isoInZone(now, config.timeZone ?? 'UTC')}). Check the subscription with ${payer.name}, then complete this work item.`,
    },
  );
}

/** The payer answered a check (whatever it said): its open work item about checks is done. */
async function checkWorkDone(ctx: FollowUpContext, tenant: TenantId, payer: PayerEndpoint): Promise<void> {
  await completeOpenWorkItem(
    ctx,
    tenant,
    payer.id,
    checkWorkId(payer.id),
    `${payer.name} answered how Dripline's PAS subscription stands.`,
  );
}
