/**
 * Posting a FHIR payer's adjudicated answer (ClaimResponse, or ExplanationOfBenefit) the way an 835
 * claim payment is posted: read as a channel-neutral draft (./sources/claim-response.ts) and
 * written by the same ClaimPaymentWriter (./post-claim-payment.ts) — an ExplanationOfBenefit with
 * the same adjudication categories and CARC reasons, the claim's payment status (paid, partially
 * paid, denied), the patient's share, and the posting hooks (underpayments, denial work items) in
 * the same transaction.
 *
 * The claim workflow stores the answer and enqueues a job (CLAIM_ANSWER_QUEUE) in the same
 * transaction, so an acknowledged answer is never lost; the remittance worker runs the job. The
 * EOB id derives from the payer and the payer's own id for the answer (else the stored one), so the
 * same answer posted twice — a retried job, the payer answering a resubmission with the same
 * ClaimResponse — is found posted and writes nothing.
 */
import type { Claim, ClaimResponse, ExplanationOfBenefit } from '@medplum/fhirtypes';
import type { ClaimAnswerJob } from '../claims/workflow/jobs.ts';
import type { TenantConfig } from '../config/config.ts';
import { tenantCalendarZone } from '../config/config.ts';
import { payerClaimResponseSystem } from '../contract/canonical.ts';
import type { TenantId } from '../store/port.ts';
import { readOptional } from '../store/read-optional.ts';
import { localDate } from '../time/zone.ts';
import { fhirAnswerId } from './identity.ts';
import type { PostingContext, PostResult } from './post-claim-payment.ts';
import { ClaimPaymentWriter } from './post-claim-payment.ts';
import type { FhirPayerAnswer } from './sources/claim-response.ts';
import { draftOfFhirAnswer } from './sources/claim-response.ts';

export interface AnswerPostingContext extends PostingContext {
  readonly tenants: () => readonly TenantConfig[];
}

/** What posting one answer did: posted (or found posted, or unmatched), or skipped and why. */
export type AnswerPostResult = PostResult | { readonly kind: 'skipped'; readonly reason: string };

/** The id the payer gave the answer (kept as an identifier when the workflow stored it), else ours. */
function answerIdAtPayer(answer: FhirPayerAnswer, payer: string): string {
  const system = payerClaimResponseSystem(payer);
  return answer.identifier?.find((i) => i.system === system && i.value)?.value ?? answer.id;
}

/** Posts the answer a ClaimAnswerJob names (module comment). Throws on store failures (the job is retried). */
export async function postClaimAnswer(
  ctx: AnswerPostingContext,
  tenant: TenantId,
  job: ClaimAnswerJob,
): Promise<AnswerPostResult> {
  const config = ctx.tenants().find((t) => t.id === tenant);
  const payer = config?.payers.find((p) => p.id === job.payer);
  if (!config || !payer) {
    return { kind: 'skipped', reason: `payer ${job.payer} is not configured for tenant ${tenant}` };
  }
  const [type, id] = job.answer.split('/');
  if ((type !== 'ClaimResponse' && type !== 'ExplanationOfBenefit') || !id) {
    return { kind: 'skipped', reason: `${job.answer} is not a payer's answer` };
  }
  const answer = await readOptional<ClaimResponse | ExplanationOfBenefit>(ctx.store, tenant, type, id);
  const claim = await readOptional<Claim>(ctx.store, tenant, 'Claim', job.claim);
  if (!answer || !claim) {
    return { kind: 'skipped', reason: `${answer ? `Claim/${job.claim}` : job.answer} is not stored` };
  }
  const paymentDate =
    (answer.payment?.date ?? '').slice(0, 10) || localDate(ctx.now(), tenantCalendarZone(config));
  const draft = draftOfFhirAnswer(answer, {
    claim,
    payer: payer.id,
    paymentDate,
  });
  if (!draft) {
    return {
      kind: 'skipped',
      reason: `${job.answer} adjudicates nothing (a preauthorization or a rejection)`,
    };
  }
  const writer = new ClaimPaymentWriter(ctx, tenant, 1);
  await writer.add(
    draft,
    fhirAnswerId(payer.id, answerIdAtPayer(answer, payer.id)),
    { tenant, payer },
    claim.id,
  );
  await writer.flush();
  const [result] = writer.results;
  return result ?? { kind: 'skipped', reason: 'nothing written' };
}
