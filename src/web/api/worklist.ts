/**
 * The worklist as people read it: every open work item (a claim that waits on a person: held,
 * rejected, or with an open Task) with the patient's name, the payer's name, the reason in words,
 * the dollars at stake, its age, and its filing deadline (date of service + the payer's timely
 * filing days; days left counted from the tenant's today).
 */
import type { Claim, Task } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import { claimPayerOf } from '../../claims/workflow/identity.ts';
import { claimStateOf, claimStateSince } from '../../claims/workflow/state.ts';
import { findingsOfTask } from '../../claims/workflow/tasks.ts';
import type { Store, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { addDays, daysBetween, localDate } from '../../time/zone.ts';
import { patientNames } from './lookup.ts';

export interface WorkItem {
  readonly claim: string;
  readonly state: string;
  readonly patient: string;
  readonly patientName: string;
  readonly payer: string;
  readonly payerName: string;
  readonly reason: string;
  readonly findings: number;
  readonly amount: number;
  readonly since?: string;
  readonly ageDays?: number;
  readonly serviceDate?: string;
  readonly deadline?: string;
  readonly daysLeft?: number;
  readonly owner?: string;
  readonly ownerName?: string;
  readonly task?: string;
}

/** States in which a claim waits on a person whether or not a Task is open. */
const WAITING: readonly string[] = ['held', 'rejected'];

export async function workItems(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  config: Pick<TenantConfig, 'payers' | 'timeZone' | 'coding'>,
  now: Date,
): Promise<WorkItem[]> {
  const tasks = await searchAll<Task>(store, tenant, 'Task', [
    { code: 'status', kind: 'token', values: [{ value: 'completed' }, { value: 'cancelled' }], not: true },
  ]);
  const taskByClaim = new Map<string, Task & StoredResource>();
  for (const task of tasks) {
    const focus = task.focus?.reference;
    if (focus?.startsWith('Claim/')) {
      taskByClaim.set(focus.slice(6), task);
    }
  }
  const waiting = await searchAll<Claim>(store, tenant, 'Claim', [
    { code: 'claim-state', kind: 'token', values: WAITING.map((value) => ({ value })) },
  ]);
  const ids = new Set(waiting.map((c) => c.id));
  const withTasks = [...taskByClaim.keys()].filter((id) => !ids.has(id));
  const others =
    withTasks.length > 0
      ? await searchAll<Claim>(store, tenant, 'Claim', [
          { code: '_id', kind: 'token', values: withTasks.map((value) => ({ value })) },
        ])
      : [];
  const claims = [...waiting, ...others];
  const names = await patientNames(
    store,
    tenant,
    claims.flatMap((c) => (c.patient.reference ? [c.patient.reference] : [])),
  );
  const today = localDate(now, tenantCalendarZone(config));
  return claims.map((claim) => {
    const task = taskByClaim.get(claim.id);
    const state = claimStateOf(claim) ?? 'untracked';
    const payerId = claimPayerOf(claim) ?? '';
    const payer = config.payers.find((p) => p.id === payerId);
    const findings = task ? findingsOfTask(task) : [];
    const errors = findings.filter((f) => f.severity === 'error');
    const note = task?.note?.at(-1)?.text;
    const reason =
      errors[0]?.message ??
      findings[0]?.message ??
      note ??
      (state === 'rejected' ? 'The payer rejected the claim.' : `The claim is ${state}.`);
    const since = claimStateSince(claim);
    const sinceMs = since ? Date.parse(since) : Number.NaN;
    const serviceDate = (claim.billablePeriod?.start ?? claim.item?.[0]?.servicedDate)?.slice(0, 10);
    const deadline = serviceDate && payer ? addDays(serviceDate, payer.timelyFilingDays) : undefined;
    const patient = claim.patient.reference ?? '';
    return {
      claim: claim.id,
      state,
      patient,
      patientName: names.get(patient) ?? patient,
      payer: payerId,
      payerName: payer?.name ?? payerId,
      reason: errors.length > 1 ? `${reason} (+${errors.length - 1} more)` : reason,
      findings: findings.length,
      amount: claim.total?.value ?? 0,
      ...(since ? { since } : {}),
      ...(Number.isFinite(sinceMs)
        ? { ageDays: Math.max(0, Math.floor((now.getTime() - sinceMs) / 86_400_000)) }
        : {}),
      ...(serviceDate ? { serviceDate } : {}),
      ...(deadline ? { deadline, daysLeft: daysBetween(today, deadline) } : {}),
      ...(task?.owner?.reference ? { owner: task.owner.reference } : {}),
      ...(task?.owner?.display ? { ownerName: task.owner.display } : {}),
      ...(task ? { task: `Task/${task.id}` } : {}),
    };
  });
}
