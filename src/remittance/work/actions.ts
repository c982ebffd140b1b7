/**
 * What people do with remittance work items: assign one, send the corrected claim once the cause
 * is fixed, or close it (a denial upheld or written off; an underpayment recovered, accepted or
 * written off). Every action writes the item's new version and an AuditEvent in one transaction.
 *
 * Correct and resubmit reuses the claim workflow: a claim the payer adjudicated (a line or the
 * claim denied) gets a "corrected claim needed" Task, as charge capture opens one — the workflow's
 * sweep then rebuilds the claim from the current charges, authorizations and documentation as a
 * replacement (frequency 7, REF*F8 with the payer's claim number; a new claim, frequency 1, for a
 * payer whose `correctedClaim` is `new-claim`), scrubs it, submits it and
 * completes that Task; a claim the payer rejected whole (outcome error) is rebuilt and sent again
 * under a new submission key (the workflow's resubmit). The corrected claim joins the item's chain
 * (Task.identifier / output), so the payer's answer to it moves the item: paid → resolved-paid,
 * denied → denied-again. An item closes only when paid or closed by a person.
 */
import { createHash } from 'node:crypto';
import type { Claim, Task } from '@medplum/fhirtypes';
import { CORRECTED_CLAIM_TASK } from '../../charges/reconcile.ts';
import { claimStateOf } from '../../claims/workflow/state.ts';
import { correctionIdFor, encountersOfClaim } from '../../claims/workflow/identity.ts';
import { CS_WORK_ITEM } from '../../contract/canonical.ts';
import type { BatchOperation, Store, StoredResource, TenantId } from '../../store/port.ts';
import type { WorkItemState } from './items.ts';
import { chainOf, isOpen, kindOf, stateOf, withState } from './items.ts';
import { readTask, taskActionAudit, versionCheckedUpdate } from './task-writes.ts';

export interface WorkActionDeps {
  readonly store: Store;
  readonly publicUrl: string;
  readonly now: () => Date;
  /** The claim workflow's resubmit of a rejected claim (src/claims/workflow/actions.ts). */
  readonly resubmit: (
    tenant: TenantId,
    claimId: string,
    input: { clientId: string; reason: string },
  ) => Promise<{ ok: boolean; status: number; message: string }>;
}

export interface WorkActionInput {
  readonly clientId: string;
  readonly reason: string;
  readonly requestId?: string;
  /** The person acting through an app (the billers' app), named in the audit and the item's notes. */
  readonly user?: { readonly reference: string; readonly display?: string };
}

/** Who acted, in an item's notes: the person when an app acted for one, else the client. */
const actorOf = (input: WorkActionInput): string => input.user?.display ?? input.clientId;

export interface WorkActionResult {
  readonly status: number;
  readonly message: string;
  readonly task?: Task & { id: string };
  readonly correctedClaim?: string;
}

const CLOSE_STATES: Readonly<Record<'denial' | 'underpayment', readonly WorkItemState[]>> = {
  denial: ['upheld', 'written-off'],
  underpayment: ['recovered', 'accepted', 'written-off'],
};

async function readItem(
  store: Store,
  tenant: TenantId,
  id: string,
): Promise<(Task & StoredResource) | undefined> {
  const found = await readTask(store, tenant, id);
  return found && kindOf(found) ? found : undefined;
}

function auditOf(
  deps: WorkActionDeps,
  task: Task & { id: string },
  action: string,
  input: WorkActionInput,
  extra: readonly string[] = [],
): BatchOperation {
  return taskActionAudit(deps, task, { kind: 'work-item', name: action }, input, { resources: extra });
}

/** Assigns an item to a person or team. */
export async function assignWorkItem(
  deps: WorkActionDeps,
  tenant: TenantId,
  id: string,
  assignee: string,
  input: WorkActionInput,
): Promise<WorkActionResult> {
  const stored = await readItem(deps.store, tenant, id);
  if (!stored) {
    return { status: 404, message: `No work item ${id}` };
  }
  const state = stateOf(stored) ?? 'open';
  const next = withState(stored, state, {
    now: deps.now().toISOString(),
    note: `Assigned to ${assignee} by ${actorOf(input)}${input.reason ? `: ${input.reason}` : ''}.`,
    owner: { display: assignee },
  });
  await deps.store.resources.writeBatch(tenant, [
    versionCheckedUpdate(stored, next),
    auditOf(deps, next, 'assign', input),
  ]);
  return { status: 200, message: `assigned to ${assignee}`, task: next };
}

/** Closes an item: a denial upheld or written off; an underpayment recovered, accepted or written off. */
export async function closeWorkItem(
  deps: WorkActionDeps,
  tenant: TenantId,
  id: string,
  state: string,
  input: WorkActionInput,
): Promise<WorkActionResult> {
  const stored = await readItem(deps.store, tenant, id);
  if (!stored) {
    return { status: 404, message: `No work item ${id}` };
  }
  const kind = kindOf(stored) ?? 'denial';
  const allowed = CLOSE_STATES[kind];
  if (!(allowed as readonly string[]).includes(state)) {
    return { status: 400, message: `A ${kind} work item closes as ${allowed.join(', ')}` };
  }
  if (!isOpen(stored)) {
    return { status: 409, message: `Work item ${id} is already closed (${stateOf(stored) ?? '?'})` };
  }
  const next = withState(stored, state as WorkItemState, {
    now: deps.now().toISOString(),
    note: `Closed as ${state} by ${actorOf(input)}: ${input.reason}`,
  });
  await deps.store.resources.writeBatch(tenant, [
    versionCheckedUpdate(stored, next),
    auditOf(deps, next, 'close', input),
  ]);
  return { status: 200, message: `closed as ${state}`, task: next };
}

/** Sends the corrected claim of a denial work item (see the module comment). */
export async function correctWorkItem(
  deps: WorkActionDeps,
  tenant: TenantId,
  id: string,
  input: WorkActionInput,
): Promise<WorkActionResult> {
  const stored = await readItem(deps.store, tenant, id);
  if (!stored) {
    return { status: 404, message: `No work item ${id}` };
  }
  if (kindOf(stored) !== 'denial') {
    return { status: 409, message: 'Only a denial is corrected; an underpayment is appealed or closed' };
  }
  const state = stateOf(stored);
  if (!isOpen(stored) || state === 'correction-sent') {
    return { status: 409, message: `Work item ${id} is ${state ?? '?'}: nothing to correct now` };
  }
  const chain = chainOf(stored);
  const latest = chain[chain.length - 1] ?? '';
  let claim: (Claim & StoredResource) | undefined;
  try {
    const found = await deps.store.resources.read(tenant, 'Claim', latest);
    claim = found.resourceType === 'Claim' ? found : undefined;
  } catch {
    claim = undefined;
  }
  if (!claim) {
    return { status: 409, message: `Claim/${latest} of work item ${id} is not stored` };
  }
  const claimState = claimStateOf(claim);
  const now = deps.now().toISOString();
  if (claimState === 'rejected') {
    const sent = await deps.resubmit(tenant, claim.id, { clientId: input.clientId, reason: input.reason });
    if (!sent.ok) {
      return { status: sent.status >= 400 ? sent.status : 409, message: sent.message };
    }
    const fresh = (await readItem(deps.store, tenant, id)) ?? stored;
    const next = withState(fresh, 'correction-sent', {
      now,
      note: `Claim/${claim.id} rebuilt and sent again by ${actorOf(input)}: ${input.reason} (${sent.message})`,
      correctedClaim: claim.id,
    });
    await deps.store.resources.writeBatch(tenant, [
      versionCheckedUpdate(fresh, next),
      auditOf(deps, next, 'correct', input, [`Claim/${claim.id}`]),
    ]);
    return { status: 202, message: sent.message, task: next, correctedClaim: claim.id };
  }
  if (claimState !== 'adjudicated') {
    return {
      status: 409,
      message: `Claim/${claim.id} is ${claimState ?? 'untracked'}: a corrected claim replaces an adjudicated claim (or a rejected one is sent again)`,
    };
  }
  const encounters = encountersOfClaim(claim);
  if (encounters.length === 0) {
    return { status: 409, message: `Claim/${claim.id} names no encounter to rebuild it from` };
  }
  const replacement = correctionIdFor(encounters, claim.id);
  const correction: Task & { id: string } = {
    resourceType: 'Task',
    id: `dl-wc-${createHash('sha256').update(`${id}|Claim/${claim.id}`).digest('hex').slice(0, 32)}`,
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: {
      coding: [{ system: CS_WORK_ITEM, code: CORRECTED_CLAIM_TASK.code }],
      text: CORRECTED_CLAIM_TASK.text,
    },
    description: `Denial work item Task/${id}: ${input.reason}. Submit a corrected (replacement) claim from the current charges, authorizations and documentation.`,
    focus: { reference: `Claim/${claim.id}` },
    ...(claim.patient?.reference ? { for: { reference: claim.patient.reference } } : {}),
    basedOn: [{ reference: `Task/${id}` }],
    authoredOn: now,
    lastModified: now,
  };
  const next = withState(stored, 'correction-sent', {
    now,
    note: `Corrected claim Claim/${replacement} (in place of Claim/${claim.id}: a replacement, or a new claim where the payer takes them so) requested by ${actorOf(input)}: ${input.reason}`,
    correctedClaim: replacement,
  });
  await deps.store.resources.writeBatch(tenant, [
    { op: 'create', resource: correction, options: { id: correction.id } },
    versionCheckedUpdate(stored, next),
    auditOf(deps, next, 'correct', input, [`Claim/${claim.id}`, `Task/${correction.id}`]),
  ]);
  return {
    status: 202,
    message: `corrected claim Claim/${replacement} requested`,
    task: next,
    correctedClaim: replacement,
  };
}
