/**
 * Moving a stored claim: reads its Task, asks the state machine (./state.ts) what the move writes,
 * and writes it in one transaction (If-Match the stored version: a concurrent change throws and the
 * step is retried). A claim that becomes ready wakes the worker for its submission.
 */
import { randomUUID } from 'node:crypto';
import type { Claim, Task } from '@medplum/fhirtypes';
import type { BatchOperation, StoredResource, TenantId } from '../../store/port.ts';
import type { ClaimState } from '../types.ts';
import type { WorkflowContext } from './context.ts';
import type { MoveDetail } from './state.ts';
import { transitionRecords, transitionWrites } from './state.ts';
import { claimTaskId } from './tasks.ts';

/**
 * Writes the next version of the claim in `state`, with its Provenance and AuditEvent, the Task
 * when held (or the Task completed when it leaves held), and the submit job when ready for a
 * FHIR payer — all in one transaction. Throws on a concurrent change (the job is retried).
 */
export async function moveClaim(
  ctx: WorkflowContext,
  tenant: TenantId,
  stored: Claim & StoredResource,
  state: ClaimState,
  detail: MoveDetail,
): Promise<Claim & StoredResource> {
  const operations = await moveOperations(ctx, tenant, stored, state, detail);
  const results = await ctx.store.resources.writeBatch(tenant, operations);
  const first = results[0];
  if (state === 'ready') {
    ctx.notify();
  }
  return (
    first && (first.op === 'create' || first.op === 'update') ? first.result.resource : stored
  ) as Claim & StoredResource;
}

/** The operations of moveClaim (for a caller that moves several claims in one transaction). */
export async function moveOperations(
  ctx: WorkflowContext,
  tenant: TenantId,
  stored: Claim & StoredResource,
  state: ClaimState,
  detail: MoveDetail,
): Promise<BatchOperation[]> {
  const existingTask = await ctx.read<Task>(tenant, 'Task', claimTaskId(stored.id));
  const { operations, taskWritten } = transitionWrites({
    stored,
    to: state,
    detail,
    ...(existingTask ? { existingTask } : {}),
    now: ctx.now(),
    publicUrl: ctx.deps.publicUrl,
    auditId: randomUUID(),
  });
  if (taskWritten) {
    ctx.logger.trace({ tenant, claim: stored.id }, 'claim task written');
  }
  return operations;
}

/** Provenance + AuditEvent of a claim version written outside moveClaim (a new claim, a take-over). */
export function recordsOf(
  ctx: WorkflowContext,
  claim: Claim & { id: string },
  version: string,
  from: ClaimState | undefined,
  to: ClaimState,
  reason: string,
): BatchOperation[] {
  return transitionRecords({
    claim,
    version,
    from,
    to,
    reason,
    now: ctx.now(),
    publicUrl: ctx.deps.publicUrl,
    auditId: randomUUID(),
  });
}
