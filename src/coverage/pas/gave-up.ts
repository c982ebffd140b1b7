/**
 * A prior authorization job's last attempt failed (./worker.ts): a person is told what happened and
 * what to do, on a work item (./records.ts writeWork). Only an unavailable payer is retried
 * (PasPayerUnavailable): a retryable error at the last attempt means every attempt met it. What was
 * kept stays as it was kept; asking again is what tries again.
 */
import type { Claim, Task } from '@medplum/fhirtypes';
import type { Job, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import type { FollowUpContext } from './follow-up.ts';
import type { PriorAuthJob } from './jobs.ts';
import type { PasTaskCode } from './records.ts';
import { EXCHANGE_WORK, payerOf, stateOf, submissionsOf, writeWork } from './records.ts';
import { subscriptionWorkId } from './subscription.ts';
import { orphanWork } from './subscription-orphan.ts';
import { checkGaveUp } from './subscription-check.ts';

/** Tells a person, on the work item the failed job's kind has (nothing for kinds a retry needs no one for). */
export async function tellGaveUp(ctx: FollowUpContext, job: Job, err: Error): Promise<void> {
  const payload = job.payload as PriorAuthJob;
  const unavailable = (err as { retryable?: unknown }).retryable === true;
  if (payload.kind === 'send') {
    const claim = await readOptional<Claim>(ctx.store, job.tenant, 'Claim', payload.claim);
    // Asking again is what sends the request then (enqueueSend gives a dead send a successor). An
    // open work item about what was asked (the payer needs more information, before this Claim
    // Update) stays what it is, as for a dead inquiry.
    return tell(ctx, job.tenant, payload.caseId, claim, {
      keepOpenWork: true,
      note: unavailable
        ? `${payload.claim} could not be sent: the payer was unavailable on all ${job.attempts} attempts (last: ${err.message}). The request is kept as built; asking for the order's prior authorization again sends it.`
        : `Sending ${payload.claim} failed (${err.message}). Once that is fixed, asking for the order's prior authorization again sends the kept request.`,
      focus: `Claim/${payload.claim}`,
    });
  }
  if (payload.kind === 'inquire') {
    const submissions = await submissionsOf(ctx.store, job.tenant, payload.caseId);
    const pended = submissions.filter((c) => stateOf(c) !== 'superseded').at(-1);
    if (!pended || stateOf(pended) !== 'pended') {
      return; // decided meanwhile (a notification, a newer request): nothing is left to follow
    }
    // Nothing follows the request any more; asking again queues an inquiry (followUp, asked). An
    // open work item about what was asked (the payer needs more information) stays what it is:
    // an answer to a later inquiry must not close it as if it were only about reaching the payer.
    return tell(ctx, job.tenant, payload.caseId, pended, {
      keepOpenWork: true,
      note: unavailable
        ? `${pended.id} is pended at the payer, and the inquiry about it could not be made: the payer was unavailable on all ${job.attempts} attempts (last: ${err.message}). Dripline no longer follows it; asking for the order's prior authorization again inquires again.`
        : `${pended.id} is pended at the payer, and the inquiry about it failed (${err.message}). Dripline no longer follows it; once that is fixed, asking for the order's prior authorization again inquires again.`,
      focus: `Claim/${pended.id}`,
    });
  }
  if (payload.kind === 'subscribe') {
    return subscribeGaveUp(ctx, job, err, unavailable);
  }
  if (payload.kind === 'check-subscription') {
    return checkGaveUp(ctx, job, err);
  }
  if (payload.kind === 'unsubscribe' || payload.kind === 'sweep-subscriptions') {
    // A subscription may be left at the payer: a person asks the payer to delete it.
    return orphanWork(ctx, job, err, unavailable);
  }
}

/**
 * Dripline could not subscribe at the payer: no notification will come, so its pended requests
 * are followed by `$inquire` only (followUp's fallback). A person is told on the payer's work item
 * (not a case's: the subscription serves them all); a later subscribe that succeeds closes it.
 */
async function subscribeGaveUp(
  ctx: FollowUpContext,
  job: Job,
  err: Error,
  unavailable: boolean,
): Promise<void> {
  const payload = job.payload as Extract<PriorAuthJob, { kind: 'subscribe' }>;
  const payer = ctx.tenant(job.tenant).payers.find((p) => p.id === payload.payer);
  if (!payer?.pas) {
    return;
  }
  const minutes = payer.pas.inquireMinutes;
  const relying = `Until it does, ${payer.name}'s pended prior authorization requests are followed by inquiries only (Claim/$inquire, ${minutes} minutes after each pend or inquiry), so decisions arrive later; asking for a pended order's prior authorization inquires at once.`;
  await work(ctx, job.tenant, payer.id, {
    id: subscriptionWorkId(payer.id),
    code: 'payer-error',
    note: unavailable
      ? `Dripline could not subscribe to ${payer.name}'s prior authorization notifications: the payer was unavailable on all ${job.attempts} attempts (last: ${err.message}). ${relying} Asking for any order's prior authorization at this payer tries to subscribe again.`
      : `Subscribing to ${payer.name}'s prior authorization notifications failed (${err.message}). ${relying} Once that is fixed (the payer's PAS endpoint or credentials in the configuration), asking for any order's prior authorization at this payer subscribes again.`,
  });
}

/** Writes a work item with its AuditEvent (writeWork). */
function work(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: string,
  input: Parameters<typeof writeWork>[3],
): Promise<void> {
  return writeWork(ctx.store, tenant, { payer, now: ctx.now(), publicUrl: ctx.publicUrl }, input);
}

/**
 * The case's work item says what happened with the exchange (`payer-error`), for the request's
 * patient; with `keepOpenWork`, an open work item about what was asked keeps its code (the note
 * is added to it).
 */
async function tell(
  ctx: FollowUpContext,
  tenant: TenantId,
  caseId: string,
  claim: Claim | undefined,
  what: { readonly note: string; readonly focus: string; readonly keepOpenWork?: boolean },
): Promise<void> {
  const task = await readOptional<Task>(ctx.store, tenant, 'Task', `${caseId}-work`);
  const open =
    task?.status === 'requested' ? (task.code?.coding?.[0]?.code as PasTaskCode | undefined) : undefined;
  const code = what.keepOpenWork && open && !EXCHANGE_WORK.has(open) ? open : 'payer-error';
  const patient = claim?.patient.reference;
  await work(ctx, tenant, (claim && payerOf(claim)) ?? 'unknown', {
    id: `${caseId}-work`,
    code,
    note: what.note,
    focus: what.focus,
    ...(patient ? { patient } : {}),
  });
}
