/**
 * A person matching an unmatched payment to a claim (`POST /api/remittance/unmatched/{task}/match`,
 * ./routes.ts). A payment no claim matched was posted as a draft ExplanationOfBenefit and a Task in
 * the unmatched queue carrying the payment as received (./post-claim-payment.ts); the match posts
 * that payment onto the claim the person names through the same preparation a matched payment
 * takes (lines matched, the claim moved to adjudicated with its payment status and Provenance, the
 * hooks' denial and underpayment work, one AuditEvent), the draft EOB posted over. The same
 * transaction completes the Task (its output names the claim and the EOB) and points the
 * remittance's PaymentReconciliation detail at the claim.
 *
 * Idempotent: a completed Task answers the match it recorded (the same claim: the same answer,
 * nothing written; another claim: 409). Concurrent matches meet at the versions they update (the
 * Task, the EOB, the claim): the one that loses looks again and finds the Task completed.
 */
import type {
  Claim,
  ExplanationOfBenefit,
  OperationOutcome,
  PaymentReconciliation,
  Task,
} from '@medplum/fhirtypes';
import type { TenantConfig } from '../config/config.ts';
import { CS_WORK_ITEM } from '../contract/canonical.ts';
import { EXT_REMITTANCE } from '../contract/remittance.ts';
import { outcome } from '../http/outcomes.ts';
import type { BatchOperation, StoredResource, TenantId } from '../store/port.ts';
import { readOptional } from '../store/read-optional.ts';
import { searchAll } from '../store/search-all.ts';
import type { ClaimPaymentDraft } from './claim-payment.ts';
import { UNMATCHED_TASK } from './jobs.ts';
import type { PostingContext } from './post-claim-payment.ts';
import { isConflict, prepareManualMatch } from './post-claim-payment.ts';
import { UNMATCHED_PAYMENT_INPUT } from './unmatched-task.ts';
import type { PaymentOutcome } from './posted.ts';

export interface ManualMatchDeps extends PostingContext {
  readonly tenants: () => readonly TenantConfig[];
}

/** What a match did (and what the same match asked again answers). */
export interface ManualMatchResult {
  readonly message: string;
  readonly task: string;
  readonly claim: string;
  readonly eob: string;
  readonly outcome: PaymentOutcome;
  /** The remittance the payment came in (none for a FHIR payer's answer). */
  readonly reconciliation?: string;
}

export type ManualMatchAnswer =
  | { readonly status: number; readonly outcome: OperationOutcome }
  | { readonly status: 200; readonly body: ManualMatchResult };

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const ATTEMPTS = 5;

const refused = (status: number, code: 'invalid' | 'not-found' | 'conflict' | 'processing', text: string) =>
  ({ status, outcome: outcome(code, text) }) as const;

const isUnmatchedTask = (task: Task): boolean =>
  task.code?.coding?.some((c) => c.system === CS_WORK_ITEM && c.code === UNMATCHED_TASK.code) ?? false;

/** The claim a completed match recorded (Task.output). */
const matchedClaimOf = (task: Task): string | undefined =>
  task.output
    ?.find((o) => o.valueReference?.reference?.startsWith('Claim/'))
    ?.valueReference?.reference?.slice('Claim/'.length);

/** The payment as received, kept on the Task when it was queued. */
function paymentOf(task: Task): ClaimPaymentDraft | undefined {
  const data = task.input?.find((i) => i.type.text === UNMATCHED_PAYMENT_INPUT)?.valueAttachment?.data;
  return data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as ClaimPaymentDraft) : undefined;
}

const remittanceOf = (eob: ExplanationOfBenefit): string | undefined =>
  eob.extension
    ?.find((e) => e.url === EXT_REMITTANCE)
    ?.valueReference?.reference?.replace(/^PaymentReconciliation\//, '');

function answer(
  task: string,
  claim: string,
  eob: ExplanationOfBenefit & { id: string },
  draft: ClaimPaymentDraft,
): ManualMatchAnswer {
  const reconciliation = remittanceOf(eob);
  return {
    status: 200,
    body: {
      message: `The payment is posted on Claim/${claim} (${draft.outcome})`,
      task: `Task/${task}`,
      claim: `Claim/${claim}`,
      eob: `ExplanationOfBenefit/${eob.id}`,
      outcome: draft.outcome,
      ...(reconciliation ? { reconciliation: `PaymentReconciliation/${reconciliation}` } : {}),
    },
  };
}

function completed(task: Task & StoredResource, claim: string, eob: string, now: Date): BatchOperation {
  const { meta: _meta, ...rest } = task;
  const next: Task & { id: string } = {
    ...rest,
    status: 'completed',
    businessStatus: { text: `matched to Claim/${claim}` },
    lastModified: now.toISOString(),
    output: [
      { type: { text: 'claim' }, valueReference: { reference: `Claim/${claim}` } },
      {
        type: { text: 'explanation of benefit' },
        valueReference: { reference: `ExplanationOfBenefit/${eob}` },
      },
    ],
  };
  return { op: 'update', resource: next, options: { ifMatchVersion: task.meta.versionId, upsert: false } };
}

/** The remittance's detail for this payment pointing at the claim (undefined: nothing to change). */
function reconciled(
  reconciliation: (PaymentReconciliation & StoredResource) | undefined,
  claim: string,
  eob: string,
): BatchOperation | undefined {
  const response = `ExplanationOfBenefit/${eob}`;
  if (!reconciliation?.detail?.some((d) => d.response?.reference === response)) {
    return undefined;
  }
  const { meta: _meta, ...rest } = reconciliation;
  const next: PaymentReconciliation & { id: string } = {
    ...rest,
    detail: reconciliation.detail.map((d) =>
      d.response?.reference === response ? { ...d, request: { reference: `Claim/${claim}` } } : d,
    ),
  };
  return {
    op: 'update',
    resource: next,
    options: { ifMatchVersion: reconciliation.meta.versionId, upsert: false },
  };
}

/** Another active payment of the claim from the same remittance (the claim was paid by it already). */
async function paidByRemittance(
  deps: ManualMatchDeps,
  tenant: TenantId,
  claim: string,
  reconciliation: string | undefined,
): Promise<string | undefined> {
  if (!reconciliation) {
    return undefined;
  }
  const eobs = await searchAll<ExplanationOfBenefit>(deps.store, tenant, 'ExplanationOfBenefit', [
    { code: 'claim', kind: 'reference', values: [`Claim/${claim}`] },
  ]);
  return eobs.find((e) => e.status === 'active' && remittanceOf(e) === reconciliation)?.id;
}

/** Checks the request and matches (module comment): the answer to send. */
export async function matchUnmatchedPayment(
  deps: ManualMatchDeps,
  tenant: TenantId,
  rawTask: unknown,
  rawBody: unknown,
  actor: { readonly clientId: string },
): Promise<ManualMatchAnswer> {
  const taskId = typeof rawTask === 'string' ? rawTask : '';
  if (!ID_RE.test(taskId)) {
    return refused(400, 'invalid', 'Invalid task id');
  }
  const body = (
    rawBody !== null && typeof rawBody === 'object' && !Array.isArray(rawBody) ? rawBody : {}
  ) as Record<string, unknown>;
  const raw = body['claim'];
  const claimId = typeof raw === 'string' ? raw.trim().replace(/^Claim\//, '') : '';
  if (!ID_RE.test(claimId)) {
    return refused(400, 'invalid', '"claim" is required: the id of the Claim the payment pays');
  }
  for (let attempt = 1; ; attempt++) {
    const task = await readOptional<Task>(deps.store, tenant, 'Task', taskId);
    if (!task || !isUnmatchedTask(task)) {
      return refused(404, 'not-found', `Task/${taskId} is not a remittance waiting to be matched`);
    }
    const draft = paymentOf(task);
    const eobId = task.focus?.reference?.replace(/^ExplanationOfBenefit\//, '') ?? '';
    const eob = eobId
      ? await readOptional<ExplanationOfBenefit>(deps.store, tenant, 'ExplanationOfBenefit', eobId)
      : undefined;
    if (!draft || !eob) {
      return refused(
        422,
        'processing',
        `Task/${taskId} does not carry the payment as received (it was queued before manual matching existed): post the payment again`,
      );
    }
    if (task.status === 'completed') {
      const matched = matchedClaimOf(task);
      return matched === claimId
        ? answer(taskId, claimId, eob, draft)
        : refused(409, 'conflict', `Task/${taskId} was matched to Claim/${matched ?? '?'} already`);
    }
    if (task.status === 'cancelled' || task.status === 'failed') {
      return refused(409, 'conflict', `Task/${taskId} is ${task.status}: there is nothing to match`);
    }
    const payerId = task.input?.find((i) => i.type.text === 'payer')?.valueString;
    const payer = deps
      .tenants()
      .find((t) => t.id === tenant)
      ?.payers.find((p) => p.id === payerId);
    if (!payer) {
      return refused(
        409,
        'conflict',
        `The payer ${payerId ?? '?'} of Task/${taskId} is no longer configured`,
      );
    }
    const claim = await readOptional<Claim>(deps.store, tenant, 'Claim', claimId);
    if (!claim) {
      return refused(422, 'processing', `Claim/${claimId} is not a claim of this tenant`);
    }
    const reconciliationId = remittanceOf(eob);
    const already = await paidByRemittance(deps, tenant, claimId, reconciliationId);
    if (already) {
      return refused(
        409,
        'conflict',
        `Claim/${claimId} was paid by this remittance already (ExplanationOfBenefit/${already})`,
      );
    }
    const reconciliation = reconciliationId
      ? await readOptional<PaymentReconciliation>(
          deps.store,
          tenant,
          'PaymentReconciliation',
          reconciliationId,
        )
      : undefined;
    const reconciliationWrite = reconciled(reconciliation, claimId, eob.id);
    const trace = eob.payment?.identifier?.value;
    const prepared = await prepareManualMatch(
      deps,
      draft,
      eob.id,
      {
        tenant,
        payer,
        ...(reconciliationId && trace ? { remittance: { id: reconciliationId, trace } } : {}),
      },
      claimId,
      {
        clientId: actor.clientId,
        alsoChanged: [
          `Task/${taskId}`,
          ...(reconciliationWrite ? [`PaymentReconciliation/${reconciliationId ?? ''}`] : []),
        ],
      },
    );
    if (prepared.result.kind === 'unmatched') {
      return refused(409, 'conflict', `${prepared.result.reason}: it cannot take this payment`);
    }
    if (prepared.result.kind === 'posted') {
      try {
        await deps.store.resources.writeBatch(tenant, [
          ...prepared.operations,
          completed(task, claimId, eob.id, deps.now()),
          ...(reconciliationWrite ? [reconciliationWrite] : []),
        ]);
        return answer(taskId, claimId, eob, draft);
      } catch (err) {
        if (!isConflict(err) || attempt >= ATTEMPTS) {
          throw err;
        }
      }
    } else if (attempt >= ATTEMPTS) {
      // The EOB is posted but the Task not completed: only a concurrent match in progress does that.
      return refused(409, 'conflict', `ExplanationOfBenefit/${eob.id} was posted by another match`);
    }
  }
}
