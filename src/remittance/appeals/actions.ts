/**
 * What billers do with appeals: open one from a denial or underpayment work item (its level and
 * filing deadline from the payer's rule, ./deadlines.ts), and enter the payer's answer. Each write
 * goes with its AuditEvent in one transaction; opening is idempotent (a conditional create on the
 * appeal identifier: the same claim and level twice finds the first).
 */
import type { Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import { ID_APPEAL } from '../../contract/appeals.ts';
import { ID_WORK_ITEM_CLAIM } from '../../contract/recovery.ts';
import type { BatchOperation, Store, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { localDate } from '../../time/zone.ts';
import { round2 } from '../amounts.ts';
import { chainOf, inputCode, kindOf, stateOf, workItemView } from '../work/items.ts';
import type { TaskActor } from '../work/task-writes.ts';
import { readTask, taskActionAudit, versionCheckedUpdate } from '../work/task-writes.ts';
import type { AppealLevel } from './deadlines.ts';
import { deadlineStage, filingDeadline, nextLevel } from './deadlines.ts';
import type { AppealView, DecidedOutcome } from './task.ts';
import {
  appealId,
  appealKey,
  appealView,
  changed,
  decidedChange,
  DECIDED_OUTCOMES,
  newAppealTask,
} from './task.ts';

export interface AppealDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly publicUrl: string;
  readonly now: () => Date;
  readonly tenants: () => readonly TenantConfig[];
}

/** Who acts on an appeal (the person acting through the billers' app beside the client). */
export type AppealActor = TaskActor;

export interface AppealResult {
  readonly status: number;
  readonly message: string;
  readonly appeal?: AppealView;
}

/** Work item states whose money is back or accepted: nothing left to appeal. */
const SETTLED = ['resolved-paid', 'recovered', 'accepted'];

export function todayFor(deps: Pick<AppealDeps, 'now' | 'tenants'>, tenant: TenantId): string {
  const config = deps.tenants().find((t) => t.id === tenant);
  return localDate(deps.now(), config ? tenantCalendarZone(config) : 'UTC');
}

export function appealAudit(
  deps: Pick<AppealDeps, 'publicUrl' | 'now'>,
  task: Task & { id: string },
  action: string,
  actor: AppealActor,
  interaction: 'create' | 'update' | 'read' = 'update',
): BatchOperation {
  return taskActionAudit(deps, task, { kind: 'appeal', name: action }, actor, {
    interaction,
    resources: task.focus?.reference ? [task.focus.reference] : [],
  });
}

export async function readAppeal(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  id: string,
): Promise<(Task & StoredResource) | undefined> {
  const task = await readTask(store, tenant, id);
  return task && appealView(task) ? task : undefined;
}

/** The payer a work item names (its `payer` input, a tenant payer id). */
function payerOf(config: TenantConfig | undefined, item: Task): PayerEndpoint | undefined {
  const id = (item.input ?? []).find((i) => inputCode(i) === 'payer')?.valueString;
  return config?.payers.find((p) => p.id === id);
}

/** The appeals of a claim, first level first. */
async function appealsOfClaim(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  claim: string,
  levels: readonly AppealLevel[],
): Promise<(Task & StoredResource)[]> {
  const found: (Task & StoredResource)[] = [];
  for (const level of levels) {
    const task = await readTask(store, tenant, appealId(appealKey(tenant, claim, level)));
    if (task) {
      found.push(task);
    }
  }
  return found;
}

/**
 * Opens the next appeal of a work item's claim: 201 created, 200 when that appeal is already open;
 * 404 no such work item; 422 the item is no denial or underpayment, or the deadline has passed;
 * 409 nothing left to appeal (paid, overturned, or the last level was decided).
 */
export async function openAppeal(
  deps: AppealDeps,
  tenant: TenantId,
  workItemId: string,
  actor: AppealActor,
): Promise<AppealResult> {
  const item = await readTask(deps.store, tenant, workItemId);
  if (!item) {
    return { status: 404, message: `No work item ${workItemId}` };
  }
  const kind = kindOf(item);
  if (kind !== 'denial' && kind !== 'underpayment') {
    return {
      status: 422,
      message: `Task/${workItemId} is not a denial or underpayment work item: only a denied or underpaid claim is appealed`,
    };
  }
  const state = stateOf(item) ?? 'open';
  if (SETTLED.includes(state)) {
    return { status: 409, message: `Work item ${workItemId} is ${state}: nothing left to appeal` };
  }
  const config = deps.tenants().find((t) => t.id === tenant);
  const payer = payerOf(config, item);
  if (!payer) {
    return { status: 422, message: `Work item ${workItemId} names no payer of this tenant` };
  }
  const view = workItemView(item);
  const claim = chainOf(item)[0] ?? '';
  const levels = [nextLevel(payer), nextLevel(payer, nextLevel(payer)?.level)]
    .filter((l) => l !== undefined)
    .map((l) => l.level);
  const existing = (await appealsOfClaim(deps.store, tenant, claim, levels))
    .map((t) => ({ task: t, view: appealView(t) }))
    .filter((a): a is { task: Task & StoredResource; view: AppealView } => a.view !== undefined);
  const last = existing[existing.length - 1];
  if (last?.view.outcome === 'open') {
    return { status: 200, message: `${last.view.level} already open`, appeal: last.view };
  }
  if (last && (last.view.outcome === 'overturned' || last.view.outcome === 'missed')) {
    return {
      status: 409,
      message: `The ${last.view.level} of Claim/${claim} was ${last.view.outcome}: nothing to appeal`,
    };
  }
  const rule = nextLevel(payer, last?.view.level);
  if (!rule) {
    return { status: 409, message: `Claim/${claim} has been through every appeal level of ${payer.name}` };
  }
  const decided = last ? (last.view.answeredOn ?? todayFor(deps, tenant)) : view?.decided;
  if (!decided) {
    return {
      status: 422,
      message: `Work item ${workItemId} has no decision date to count the deadline from`,
    };
  }
  const deadline = filingDeadline(decided, rule);
  const today = todayFor(deps, tenant);
  if (deadlineStage(deadline, today).stage === 'missed') {
    return {
      status: 422,
      message: `The ${rule.label} deadline of Claim/${claim} passed on ${deadline} (${rule.days} days: ${rule.source})`,
    };
  }
  const atStake = view?.dollarsAtStake ?? 0;
  const denied = last ? round2(last.view.denied - (last.view.recovered ?? 0)) : atStake;
  const task = newAppealTask({
    tenant,
    claim,
    ...(item.for?.reference ? { patient: item.for.reference } : {}),
    workItem: item.id,
    ...(last ? { previousAppeal: last.task.id } : {}),
    rule,
    decided,
    deadline,
    denied,
    ...(item.owner?.display ? { owner: item.owner.display } : {}),
    now: deps.now().toISOString(),
    openedBy: actor.clientId,
    ...(actor.reason ? { reason: actor.reason } : {}),
  });
  const [result] = await deps.store.resources.writeBatch(tenant, [
    {
      op: 'create',
      resource: task,
      options: {
        id: task.id,
        ifNoneExistIdentifier: { system: ID_APPEAL, value: appealKey(tenant, claim, rule.level) },
      },
    },
    appealAudit(deps, task, 'open', actor, 'create'),
  ]);
  const stored = result?.op === 'create' ? (result.result.resource as Task & { id: string }) : task;
  const created = result?.op === 'create' ? result.result.created : true;
  return {
    status: created ? 201 : 200,
    message: created ? `${rule.label} opened: file by ${deadline}` : `${rule.level} already open`,
    ...(appealView(stored) ? { appeal: appealView(stored) as AppealView } : {}),
  };
}

/** A denial or underpayment work item of a claim (the first open one, else any). */
export async function workItemOfClaim(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  claim: string,
): Promise<string | undefined> {
  const items = await searchAll<Task>(store, tenant, 'Task', [
    { code: 'identifier', kind: 'token', values: [{ system: ID_WORK_ITEM_CLAIM, value: claim }] },
  ]);
  const ofClaim = items.filter((t) => kindOf(t) !== undefined);
  return (ofClaim.find((t) => t.status !== 'completed') ?? ofClaim[0])?.id;
}

/**
 * Enters the payer's answer to an appeal: overturned (recovered defaults to the amount appealed),
 * partly-overturned (recovered required, above 0 and below the amount appealed) or upheld
 * (recovered 0). 400 bad input; 404 no such appeal; 409 already decided otherwise.
 */
export async function recordAppealOutcome(
  deps: AppealDeps,
  tenant: TenantId,
  id: string,
  answer: { outcome: string; recovered?: number; decidedOn?: string },
  actor: AppealActor,
): Promise<AppealResult> {
  if (!(DECIDED_OUTCOMES as readonly string[]).includes(answer.outcome)) {
    return { status: 400, message: `"outcome" is one of ${DECIDED_OUTCOMES.join(', ')}` };
  }
  const outcome = answer.outcome as DecidedOutcome;
  const stored = await readAppeal(deps.store, tenant, id);
  const view = stored ? appealView(stored) : undefined;
  if (!stored || !view) {
    return { status: 404, message: `No appeal ${id}` };
  }
  const today = todayFor(deps, tenant);
  const decidedOn = answer.decidedOn ?? today;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(decidedOn) || Number.isNaN(Date.parse(decidedOn))) {
    return { status: 400, message: '"decided" is a date (YYYY-MM-DD)' };
  }
  const opened = (stored.authoredOn ?? '').slice(0, 10);
  if (decidedOn > today || (opened && decidedOn < (view.decided ?? opened))) {
    return {
      status: 400,
      message: `"decided" ${decidedOn} is outside the appeal's time: after the decision appealed (${view.decided ?? opened}) and not after today (${today})`,
    };
  }
  const recovered =
    outcome === 'upheld'
      ? 0
      : outcome === 'overturned'
        ? (answer.recovered ?? view.denied)
        : answer.recovered;
  if (
    recovered === undefined ||
    !Number.isFinite(recovered) ||
    recovered < 0 ||
    recovered > view.denied + 0.005
  ) {
    return {
      status: 400,
      message: `"recovered" is 0 to ${view.denied.toFixed(2)} (the amount appealed)${outcome === 'partly-overturned' ? ', required for partly-overturned' : ''}`,
    };
  }
  if (outcome === 'partly-overturned' && (recovered <= 0 || recovered >= view.denied)) {
    return {
      status: 400,
      message: `partly-overturned recovers more than 0 and less than ${view.denied.toFixed(2)}`,
    };
  }
  if (view.outcome !== 'open') {
    const same = view.outcome === outcome && Math.abs((view.recovered ?? 0) - recovered) < 0.005;
    return same
      ? { status: 200, message: `already ${outcome}`, appeal: view }
      : { status: 409, message: `Appeal ${id} is already ${view.outcome}` };
  }
  const next = changed(
    stored,
    deps.now().toISOString(),
    `${outcome} on ${decidedOn}, $${recovered.toFixed(2)} recovered (entered by ${actor.clientId}${actor.reason ? `: ${actor.reason}` : ''}).`,
    decidedChange(outcome, round2(recovered), decidedOn),
  );
  await deps.store.resources.writeBatch(tenant, [
    versionCheckedUpdate(stored, next),
    appealAudit(deps, next, 'outcome', actor),
  ]);
  return { status: 200, message: outcome, appeal: appealView(next) as AppealView };
}
