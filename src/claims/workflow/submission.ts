/**
 * Submission. FHIR channel: a ready claim goes `submitting` (persisted first, with the submission
 * key in Claim.identifier) → the payer's `Claim/$submit` behind the payer port → its ClaimResponse
 * stored → `adjudicated` (or `rejected` for an error outcome), with a job for remittance to post the
 * adjudication (CLAIM_ANSWER_QUEUE: ExplanationOfBenefit, payment status, work items). A retried job finds the claim
 * `submitting` and asks the payer for a response to that key before sending again, so a crash or a
 * timeout never double-submits; a claim past `submitting` is never sent again. 5xx / timeouts /
 * network: the job is retried with backoff, each failed attempt written on the claim's history
 * (after the last, a Task asks for a resubmission); a 4xx: `rejected` with a Task, not retried.
 * X12 channel: the claims of an 837 batch file move `ready` → `submitted` in one transaction with
 * the file (src/claims/x12-batch.ts builds it).
 */
import type { Claim, ClaimResponse, DocumentReference, Resource } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { BatchOperation, Job, StoredResource, TenantId } from '../../store/port.ts';
import type { LeaseKeeper } from '../../store/lease-keeper.ts';
import { keptThrough, LeaseLost } from '../../store/lease-keeper.ts';
import type { PayerPort } from '../payer-port.ts';
import { createFhirPayerPort } from '../payer-port.ts';
import { otherSubscriberOf } from '../../x12/837/subscriber.ts';
import type { WorkflowContext } from './context.ts';
import { byRef, refOf, withoutMeta } from './context.ts';
import { claimPayerOf, sha } from './identity.ts';
import type { ClaimAnswerJob, ClaimStepResult, ClaimSubmitJob } from './jobs.ts';
import { CLAIM_ANSWER_QUEUE } from './jobs.ts';
import { moveClaim, moveOperations } from './move.ts';
import type { ClaimState } from '../types.ts';
import { claimStateOf } from './state.ts';
import {
  EXT_CLAIM_PAYER,
  EXT_CLAIM_STATE,
  EXT_CLAIM_STATE_SINCE,
  EXT_CLAIM_X12_BATCH,
  ID_CLAIM_SUBMISSION,
  payerClaimResponseSystem,
} from '../../contract/canonical.ts';
import { EXT_CLAIM_PAYMENT_STATUS } from '../../contract/remittance.ts';

/** The payer could not take it now (5xx, timeout, network): retry later; the claim is not lost. */
class RetryLaterError extends Error {}

/** A claim changed under an operation that expected it unchanged: nothing was written; try again. */
export class ClaimConflictError extends Error {}

/** One payer port per tenant and payer, made on first use (default: SMART Backend Services). */
export class PayerPorts {
  readonly #ctx: WorkflowContext;
  readonly #ports = new Map<string, PayerPort>();

  constructor(ctx: WorkflowContext) {
    this.#ctx = ctx;
  }

  get(tenant: TenantId, payer: PayerEndpoint): PayerPort {
    const key = `${tenant}|${payer.id}`;
    let port = this.#ports.get(key);
    if (!port) {
      port = this.#ctx.deps.payerPort?.(tenant, payer) ?? createFhirPayerPort(payer, { now: this.#ctx.now });
      this.#ports.set(key, port);
    }
    return port;
  }
}

/** A claim is denied (for first-pass acceptance) when the payer's outcome is error or partial (some lines denied), or a line is adjudicated as denied. */
export function isDenial(response: ClaimResponse): boolean {
  if (response.outcome === 'error' || response.outcome === 'partial' || (response.error ?? []).length > 0) {
    return true;
  }
  for (const item of response.item ?? []) {
    for (const adjudication of item.adjudication ?? []) {
      const category = adjudication.category?.coding?.[0]?.code;
      if (category === 'denied' || category === 'denial') {
        return true;
      }
      if (
        adjudication.reason &&
        (category === 'benefit' || category === 'eligible') &&
        adjudication.amount?.value === 0
      ) {
        return true;
      }
    }
  }
  return false;
}

/**
 * Submits a ready claim (or finishes an interrupted submission) to its FHIR payer; with `keeper`,
 * the payer calls keep the job's lease (a payer answer lost to LeaseLost is the job owner's).
 */
export async function submitClaim(
  ctx: WorkflowContext,
  ports: PayerPorts,
  tenant: TenantId,
  job: ClaimSubmitJob,
  keeper?: LeaseKeeper,
): Promise<ClaimStepResult> {
  const config = ctx.tenant(tenant);
  const found = await ctx.read<Claim>(tenant, 'Claim', job.claim);
  if (!found || !config) {
    return { claim: job.claim, note: 'claim gone' };
  }
  let stored: Claim & StoredResource = found;
  const state = claimStateOf(stored);
  if (state !== 'ready' && state !== 'submitting') {
    // Already submitted (or moved on): never sent twice.
    return { claim: stored.id, ...(state ? { state } : {}), note: 'not submittable; skipped' };
  }
  const current = stored;
  const payer = config.payers.find((p) => p.id === claimPayerOf(current));
  if (!payer) {
    return { claim: stored.id, note: 'payer no longer configured' };
  }
  if (payer.channel !== 'fhir') {
    return { claim: stored.id, state: 'ready', note: 'X12 channel: left for the batch export' };
  }
  const key = `${stored.id}-v${job.version}`;
  const port = keeper ? keptThrough(ports.get(tenant, payer), keeper) : ports.get(tenant, payer);
  let response: ClaimResponse | undefined;
  if (state === 'ready') {
    stored = await moveClaim(ctx, tenant, stored, 'submitting', {
      reason: `submitting to ${payer.name} (submission ${key})`,
      mutate: (claim) => ({
        ...claim,
        identifier: [
          ...(claim.identifier ?? []).filter((i) => i.system !== ID_CLAIM_SUBMISSION),
          { system: ID_CLAIM_SUBMISSION, value: key },
        ],
      }),
    });
  } else {
    const submittedKey = stored.identifier?.find((i) => i.system === ID_CLAIM_SUBMISSION)?.value;
    try {
      response = await port.findSubmitted(
        stored,
        submittedKey ?? key,
        await answeredBefore(ctx, tenant, stored.id, payer),
      );
    } catch (err) {
      throw err instanceof LeaseLost ? err : classifyPayerError(err);
    }
  }
  if (!response) {
    try {
      response = await port.submit(
        outgoingClaim(stored),
        key,
        await supportingResources(ctx, tenant, stored),
      );
    } catch (err) {
      if (err instanceof LeaseLost) {
        throw err; // not this worker's job any more: nothing is written about the call
      }
      const classified = classifyPayerError(err);
      if (classified instanceof RetryLaterError) {
        throw classified;
      }
      await moveClaim(ctx, tenant, stored, 'rejected', {
        reason: `payer refused the submission: ${classified.message}`,
        task: {
          text: 'claim needs attention',
          note: `${payer.name} refused claim submission ${key}: ${classified.message}`,
        },
      });
      return { claim: stored.id, state: 'rejected', note: classified.message };
    }
  }
  return recordResponse(ctx, tenant, stored, response, payer);
}

/** The payer's ids of the ClaimResponses already recorded for this claim (earlier submissions). */
async function answeredBefore(
  ctx: WorkflowContext,
  tenant: TenantId,
  claimId: string,
  payer: PayerEndpoint,
): Promise<Set<string>> {
  const system = payerClaimResponseSystem(payer.id);
  const recorded = await ctx.searchAll<ClaimResponse>(
    tenant,
    'ClaimResponse',
    byRef('request', `Claim/${claimId}`),
  );
  return new Set(
    recorded.flatMap((r) =>
      (r.identifier ?? []).filter((i) => i.system === system && i.value).map((i) => i.value ?? ''),
    ),
  );
}

/** The Patient, Coverages and their subscribers a payer needs beside the Claim (member id, insured), as stored. */
async function supportingResources(
  ctx: WorkflowContext,
  tenant: TenantId,
  claim: Claim,
): Promise<Resource[]> {
  const refs = [refOf(claim.patient), ...(claim.insurance ?? []).map((i) => refOf(i.coverage))].filter(
    (r): r is string => r !== undefined && /^(Patient|Coverage)\//.test(r),
  );
  const out: Resource[] = [];
  for (const ref of [...new Set(refs)]) {
    const [type, id] = ref.split('/') as [string, string];
    const resource = await ctx.read(tenant, type as 'Patient', id);
    const insured =
      resource?.resourceType === 'Coverage' ? otherSubscriberOf(resource, undefined) : undefined;
    const subscriber = insured ? await ctx.read(tenant, insured.type, insured.id) : undefined;
    for (const r of [resource, subscriber]) {
      if (r && !out.some((o) => o.resourceType === r.resourceType && o.id === r.id)) {
        out.push(withoutMeta(r));
      }
    }
  }
  return out;
}

/** The Claim as sent: our state extensions stay home. */
export function outgoingClaim(claim: Claim & StoredResource): Claim {
  const copy = withoutMeta(claim);
  // The payment status remittance posts on an adjudicated claim is ours too: a claim sent again
  // (an inquiry after a crash) must be the same body the payer first got.
  const extension = (copy.extension ?? []).filter(
    (e) =>
      e.url !== EXT_CLAIM_STATE &&
      e.url !== EXT_CLAIM_STATE_SINCE &&
      e.url !== EXT_CLAIM_PAYER &&
      e.url !== EXT_CLAIM_PAYMENT_STATUS,
  );
  if (extension.length > 0) {
    copy.extension = extension;
  } else {
    delete copy.extension;
  }
  return { ...copy, status: 'active' };
}

/** A payer error: retry later (5xx, timeout, network; unknown), or the payer refused the claim. */
function classifyPayerError(err: unknown): Error {
  const e = err as { retryable?: unknown; message?: string; outcomeText?: string; status?: number };
  if (e?.retryable === true || e?.retryable === undefined) {
    return new RetryLaterError(e?.message ?? String(err));
  }
  return new Error(e.outcomeText ? (e.message ?? '').trim() : (e.message ?? 'refused'));
}

/** Stores the payer's answer (once per answer and claim version) and moves the claim: adjudicated, or rejected with a Task. */
async function recordResponse(
  ctx: WorkflowContext,
  tenant: TenantId,
  stored: Claim & StoredResource,
  answer: ClaimResponse,
  payer: PayerEndpoint,
): Promise<ClaimStepResult> {
  const responseId = `cr-${sha(`Claim/${stored.id}|${answer.id ?? ''}|${stored.meta.versionId}`)}`;
  const response: ClaimResponse & { id: string } = {
    ...withoutMeta(answer),
    id: responseId,
    request: { reference: `Claim/${stored.id}` },
    ...(answer.patient ? {} : stored.patient ? { patient: stored.patient } : {}),
    identifier: [
      ...(answer.identifier ?? []),
      ...(answer.id ? [{ system: payerClaimResponseSystem(payer.id), value: answer.id }] : []),
    ],
  };
  const rejected = answer.outcome === 'error';
  const next: ClaimState = rejected ? 'rejected' : 'adjudicated';
  const denied = isDenial(answer);
  const existing = await ctx.read(tenant, 'ClaimResponse', responseId);
  // An adjudication is posted by remittance (EOB, payment status, work items) from this job.
  const post: ClaimAnswerJob = { claim: stored.id, answer: `ClaimResponse/${responseId}`, payer: payer.id };
  const followUp: BatchOperation[] = rejected
    ? []
    : [{ op: 'enqueue', job: { queue: CLAIM_ANSWER_QUEUE, key: `answer|${responseId}`, payload: post } }];
  await moveClaim(ctx, tenant, stored, next, {
    reason: `${payer.name} answered ${answer.outcome ?? '?'}${denied ? ' (denial)' : ''}: ClaimResponse/${responseId}`,
    extra: existing ? [] : [{ op: 'create', resource: response, options: { id: responseId } }, ...followUp],
    ...(rejected
      ? {
          task: {
            text: 'claim needs attention',
            note: `${payer.name} rejected the claim: ${(answer.error ?? [])
              .map((x) => x.code?.coding?.[0]?.code ?? x.code?.text ?? '?')
              .join(', ')} ${answer.disposition ?? ''}`.trim(),
          },
        }
      : {}),
  });
  return { claim: stored.id, state: next, ...(denied ? { note: 'denial' } : {}) };
}

/**
 * A failed submission attempt (payer down, timed out, or an answer that is not a valid
 * ClaimResponse) goes on the claim's history: a new version, still `submitting` (its age kept),
 * whose Provenance says what happened and when the next attempt is. After the last attempt a
 * Task asks a person to resubmit (POST /api/claims/{id}/resubmit) once the payer is reachable.
 */
export async function recordSubmitFailure(
  ctx: WorkflowContext,
  job: Job,
  message: string,
  retryAt: string | undefined,
): Promise<void> {
  const payload = job.payload as ClaimSubmitJob;
  const claim = await ctx.read<Claim>(job.tenant, 'Claim', payload.claim);
  if (!claim || claimStateOf(claim) !== 'submitting') {
    return; // failed before it was marked submitting: nothing was sent, nothing to record
  }
  const attempt = `attempt ${job.attempts} of ${job.maxAttempts}`;
  await moveClaim(ctx, job.tenant, claim, 'submitting', {
    reason: retryAt
      ? `submission ${attempt} failed: ${message}; next attempt (an inquiry first, so nothing is sent twice) at ${retryAt}`
      : `submission ${attempt} failed: ${message}; no automatic attempts left`,
    ...(retryAt
      ? {}
      : {
          task: {
            text: 'claim needs attention',
            note: `The payer could not be reached or answered unusably ${job.maxAttempts} times (last: ${message}). When it is reachable again, resubmit: POST /api/claims/${claim.id}/resubmit (the payer is asked first whether it already has the claim).`,
          },
        }),
  });
}

/**
 * X12 channel: the claims of a batch file handed to the clearinghouse move `ready` → `submitted`,
 * in one transaction with the batch document (DocumentReference holding the 837 file), so either
 * every claim of the file is marked sent and the file is kept, or nothing changed. Throws when a
 * claim is no longer `ready` or changed meanwhile (the caller builds the batch again).
 */
export async function markSentInBatch(
  ctx: WorkflowContext,
  tenant: TenantId,
  claimIds: readonly string[],
  batch: { document: DocumentReference & { id: string }; clientId: string; reason: string },
): Promise<void> {
  const operations: BatchOperation[] = [
    { op: 'create', resource: batch.document, options: { id: batch.document.id } },
  ];
  for (const id of claimIds) {
    const stored = await ctx.read<Claim>(tenant, 'Claim', id);
    if (!stored || claimStateOf(stored) !== 'ready') {
      throw new ClaimConflictError(`Claim/${id} is no longer ready`);
    }
    operations.push(
      ...(await moveOperations(ctx, tenant, stored, 'submitted', {
        reason: `${batch.reason} (DocumentReference/${batch.document.id}, by ${batch.clientId})`,
        mutate: (claim) => ({
          ...claim,
          extension: [
            ...(claim.extension ?? []).filter((e) => e.url !== EXT_CLAIM_X12_BATCH),
            {
              url: EXT_CLAIM_X12_BATCH,
              valueReference: { reference: `DocumentReference/${batch.document.id}` },
            },
          ],
        }),
      })),
    );
  }
  try {
    await ctx.store.resources.writeBatch(tenant, operations);
  } catch (err) {
    if ((err as { outcome?: { id?: string } }).outcome?.id === 'precondition-failed') {
      throw new ClaimConflictError('a claim of the batch changed while the batch was built');
    }
    throw err;
  }
}
