/**
 * The `send` job of the prior authorization worker (./worker.ts): POST the kept request Bundle, the
 * exact bytes kept with it (./order-request.ts), to the payer's `Claim/$submit`, apply the answer
 * (./answers.ts), and follow a pended request (./follow-up.ts). The payer down is retried with
 * backoff (PasPayerUnavailable); after the last attempt a person is told (./gave-up.ts), and asking
 * again queues a new send.
 */
import type { Claim } from '@medplum/fhirtypes';
import type { TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import { applyAnswer } from './answers.ts';
import { followUp, followUpEnded, payerOfSubmission } from './follow-up.ts';
import type { FollowUpContext } from './follow-up.ts';
import type { PriorAuthJob } from './jobs.ts';
import { enqueueInLine } from './jobs.ts';
import { messageText, requestDocumentId, stateOf } from './records.ts';

/** The key of a kept request's send (the first of its line: enqueueSend). */
export const sendKey = (claim: string): string => `send|${claim}`;

/**
 * Queues a send of a kept request unless one is still queued (enqueueInLine): a re-run order job
 * or a second ask adds nothing while a send is ready or leased, and an ask after the last send
 * died (the payer unavailable on every attempt) gets a new one. The first of the line is the send
 * kept with the request (`send|{claim}`).
 */
export async function enqueueSend(
  ctx: Pick<FollowUpContext, 'store'> & { notify(): void },
  tenant: TenantId,
  caseId: string,
  claim: string,
): Promise<void> {
  const payload: PriorAuthJob = { kind: 'send', caseId, claim, document: requestDocumentId(claim) };
  if (await enqueueInLine(ctx.store, tenant, sendKey(claim), payload)) {
    ctx.notify();
  }
}

/** With `ctx.port` keeping the job's lease through the payer's answer. */
export async function runSend(
  ctx: FollowUpContext,
  tenant: TenantId,
  job: Extract<PriorAuthJob, { kind: 'send' }>,
): Promise<void> {
  const claim = await readOptional<Claim>(ctx.store, tenant, 'Claim', job.claim);
  if (!claim || stateOf(claim) !== 'prepared') {
    return; // answered already
  }
  const document = await readOptional(ctx.store, tenant, 'DocumentReference', job.document);
  if (!document || document.resourceType !== 'DocumentReference') {
    throw new Error(`the kept request ${job.document} of ${job.claim} is missing`);
  }
  const payer = payerOfSubmission(ctx, tenant, claim);
  const answer = await ctx.port(payer).submit(messageText(document));
  const outcome = await applyAnswer(
    ctx.answers(tenant),
    { caseId: job.caseId, submission: claim, payer },
    { kind: 'answer', ...answer },
  );
  ctx.logger.info(
    { tenant, submission: job.claim, status: answer.status, decision: outcome.state },
    'prior authorization answered',
  );
  if (outcome.followUp) {
    await followUp(ctx, tenant, payer, job.caseId);
  } else if (outcome.state !== 'unchanged') {
    await followUpEnded(ctx, tenant, job.caseId);
  }
}
