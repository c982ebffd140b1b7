/**
 * What a person does to a claim, with a reason, audited (an AuditEvent naming the client, the
 * reason and the claim): override a held claim's overridable errors (POST /api/claims/{id}/override),
 * and resubmit a rejected claim or one whose submission attempts ran out
 * (POST /api/claims/{id}/resubmit).
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Claim } from '@medplum/fhirtypes';
import { buildAuditEvent, patientsOf } from '../../fhir/audit.ts';
import type { Job, StoredResource, TenantId } from '../../store/port.ts';
import type { ClaimState, ScrubFinding } from '../types.ts';
import { rebuildClaim, scrubFindings } from './build-and-scrub.ts';
import type { WorkflowContext } from './context.ts';
import { refOf } from './context.ts';
import { gatherClaimInputs } from './gather.ts';
import { claimPayerOf } from './identity.ts';
import type { ClaimSubmitJob } from './jobs.ts';
import { CLAIM_SUBMIT_QUEUE } from './jobs.ts';
import { moveClaim } from './move.ts';
import { claimStateOf } from './state.ts';
import { claimTaskId } from './tasks.ts';
import { CS_OPERATION, ID_CLAIM_SUBMISSION } from '../../contract/canonical.ts';

/** Who acts on a claim and why (the AuditEvent records both). */
export interface ClaimAction {
  readonly clientId: string;
  /** The person acting through the billers' app (AuditInput.user). */
  readonly user?: { readonly reference: string; readonly display?: string };
  readonly reason: string;
  readonly requestId?: string;
}

/**
 * A person overrides a held claim's errors with a reason: re-scrubs it (fixed data releases it
 * too); moves it to `ready` when every remaining error is overridable. Records an AuditEvent
 * naming the client and the reason.
 */
export async function overrideClaim(
  ctx: WorkflowContext,
  tenant: TenantId,
  claimId: string,
  input: ClaimAction,
): Promise<{ ok: boolean; state?: ClaimState; blocking: ScrubFinding[]; status: number; message: string }> {
  const config = ctx.tenant(tenant);
  const stored = await ctx.read<Claim>(tenant, 'Claim', claimId);
  if (!stored || !config) {
    return { ok: false, blocking: [], status: 404, message: `Claim/${claimId} not found` };
  }
  const state = claimStateOf(stored);
  if (state !== 'held') {
    return {
      ok: false,
      ...(state ? { state } : {}),
      blocking: [],
      status: 409,
      message: `Claim/${claimId} is ${state ?? 'untracked'}, not held`,
    };
  }
  const encounters = [
    ...new Set((stored.item ?? []).flatMap((i) => (i.encounter ?? []).map((e) => refOf(e) ?? ''))),
  ].filter((r) => r !== '');
  const gathered = await gatherClaimInputs(ctx, tenant, config, encounters, stored);
  const held = stored;
  const payer = config.payers.find((p) => p.id === claimPayerOf(held));
  const findings = payer ? scrubFindings(ctx, config, stored, gathered, payer) : [];
  const errors = findings.filter((f) => f.severity === 'error');
  const blocking = errors.filter((f) => !f.overridable);
  const audit = actionAudit(ctx, stored, input, 'claim-override', blocking.length > 0 ? '4' : '0', [
    { type: 'override-reason', valueString: input.reason },
    { type: 'overridden-rules', valueString: errors.map((e) => e.ruleId).join(',') || '(none)' },
  ]);
  if (blocking.length > 0 || !payer) {
    await ctx.store.resources.create(tenant, audit, { id: audit.id });
    return {
      ok: false,
      state: 'held',
      blocking,
      status: 409,
      message: payer
        ? `errors that cannot be overridden remain: ${blocking.map((b) => b.ruleId).join(', ')}`
        : "the claim's payer is no longer configured",
    };
  }
  await moveClaim(ctx, tenant, stored, 'ready', {
    reason: `override by ${input.clientId}: ${input.reason}${
      errors.length > 0 ? ` (rules ${errors.map((e) => e.ruleId).join(', ')})` : ''
    }`,
    payer,
    extra: [{ op: 'create', resource: audit, options: { id: audit.id } }],
  });
  return { ok: true, state: 'ready', blocking: [], status: 200, message: 'claim released to ready' };
}

/** The AuditEvent of a person's action on a claim (override, resubmit): who, why, which claim. */
function actionAudit(
  ctx: WorkflowContext,
  claim: Claim & StoredResource,
  input: ClaimAction,
  code: string,
  outcome: '0' | '4',
  detail: { type: string; valueString: string }[],
): AuditEvent & { id: string } {
  const audit = buildAuditEvent({
    id: randomUUID(),
    now: ctx.now(),
    interaction: 'operation',
    outcome,
    clientId: input.clientId,
    ...(input.user ? { user: input.user } : {}),
    ...(input.requestId ? { requestId: input.requestId } : {}),
    resources: [`Claim/${claim.id}`, `Task/${claimTaskId(claim.id)}`],
    patients: patientsOf(claim),
    publicUrl: ctx.deps.publicUrl,
  });
  audit.subtype = [...(audit.subtype ?? []), { system: CS_OPERATION, code }];
  audit.purposeOfEvent = [{ text: input.reason }];
  const first = audit.entity?.[0];
  if (first) {
    first.detail = detail;
  }
  return audit;
}

/**
 * A person sends a claim again, with a reason (audited):
 * - `rejected`: rebuilt from the current charges and scrubbed; `ready` goes out under a new
 *   submission key, `held` waits on its Task.
 * - `submitting` with no attempt scheduled (its attempts ran out while the payer was down): a new
 *   attempt is queued under the same submission key — the payer is asked first whether it
 *   already has the claim, so it is never sent twice.
 * Any other state: 409.
 */
export async function resubmitClaim(
  ctx: WorkflowContext,
  tenant: TenantId,
  claimId: string,
  input: ClaimAction,
): Promise<{ ok: boolean; state?: ClaimState; status: number; message: string }> {
  const config = ctx.tenant(tenant);
  const stored = await ctx.read<Claim>(tenant, 'Claim', claimId);
  if (!stored || !config) {
    return { ok: false, status: 404, message: `Claim/${claimId} not found` };
  }
  const state = claimStateOf(stored);
  if (state === 'rejected') {
    const audit = actionAudit(ctx, stored, input, 'claim-resubmit', '0', [
      { type: 'resubmit-reason', valueString: input.reason },
    ]);
    const result = await rebuildClaim(ctx, tenant, config, claimId, { ...input, audit });
    const next = result.state;
    return {
      ok: next === 'ready',
      ...(next ? { state: next } : {}),
      status: next ? 200 : 409,
      message:
        next === 'ready'
          ? 'rebuilt from the current charges, scrubbed clean and queued for submission'
          : next === 'held'
            ? 'rebuilt from the current charges; the scrubber holds it (see its Task)'
            : next === 'void'
              ? 'no billable charge is left: the claim is cancelled'
              : (result.note ?? 'not resubmitted'),
    };
  }
  if (state === 'submitting') {
    const pending = await scheduledSubmissions(ctx, tenant, claimId);
    if (pending.length > 0) {
      return {
        ok: false,
        state,
        status: 409,
        message: `an attempt is already scheduled (at ${pending[0]?.runAt ?? '?'}); nothing to requeue`,
      };
    }
    const key = stored.identifier?.find((i) => i.system === ID_CLAIM_SUBMISSION)?.value ?? '';
    const version = /-v(\d+)$/.exec(key)?.[1] ?? stored.meta.versionId;
    const audit = actionAudit(ctx, stored, input, 'claim-resubmit', '0', [
      { type: 'resubmit-reason', valueString: input.reason },
      { type: 'submission-key', valueString: key || '(none)' },
    ]);
    const job: ClaimSubmitJob = { claim: claimId, version };
    await ctx.store.resources.writeBatch(tenant, [
      { op: 'create', resource: audit, options: { id: audit.id } },
      {
        op: 'enqueue',
        job: {
          queue: CLAIM_SUBMIT_QUEUE,
          key: `submit|${claimId}|${version}|resubmit|${audit.id}`,
          payload: job,
          maxAttempts: 100,
        },
      },
    ]);
    ctx.notify();
    return {
      ok: true,
      state,
      status: 202,
      message: 'submission attempt queued: the payer is asked first whether it already has this claim',
    };
  }
  return {
    ok: false,
    ...(state ? { state } : {}),
    status: 409,
    message: `Claim/${claimId} is ${state ?? 'untracked'}: only rejected claims, and submitting claims with no attempt scheduled, can be resubmitted`,
  };
}

/** Submit jobs of a claim that are waiting or running. */
async function scheduledSubmissions(ctx: WorkflowContext, tenant: TenantId, claimId: string): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const state of ['ready', 'leased'] as const) {
    jobs.push(
      ...(await ctx.store.jobs.listJobs(tenant, CLAIM_SUBMIT_QUEUE, state, 10_000)).filter(
        (j) => (j.payload as Partial<ClaimSubmitJob> | undefined)?.claim === claimId,
      ),
    );
  }
  return jobs;
}
