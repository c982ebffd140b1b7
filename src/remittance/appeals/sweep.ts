/**
 * The appeal deadline sweep: for each open appeal of a tenant, a warning when 30 and then 7 days
 * are left (a note, the Task's priority raised to asap then urgent, the warning recorded as an
 * input so it is raised once), and when the deadline has passed unfiled the appeal becomes
 * `missed` (status failed) with an escalation Task for the queue's owner. Idempotent: a second
 * sweep on the same day changes nothing; each change is one transaction with its AuditEvent, and a
 * concurrent change of the appeal makes the write fail rather than repeat it.
 */
import type { Task } from '@medplum/fhirtypes';
import { CS_WORK_ITEM } from '../../contract/canonical.ts';
import { CS_APPEAL_LEVEL } from '../../contract/appeals.ts';
import type { TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { versionCheckedUpdate } from '../work/task-writes.ts';
import type { AppealDeps } from './actions.ts';
import { appealAudit, todayFor } from './actions.ts';
import type { AppealLevel } from './deadlines.ts';
import { deadlineStage } from './deadlines.ts';
import { appealView, changed, outcomeConcept, warningInput } from './task.ts';

export const APPEAL_SWEEP_AGENT = 'dripline/appeal-deadlines';
export const APPEAL_MISSED_TASK = 'appeal-deadline-missed';
const LEVELS: readonly AppealLevel[] = ['redetermination', 'reconsideration', 'first-level', 'second-level'];

export interface SweepReport {
  readonly today: string;
  readonly warned: readonly {
    readonly appeal: string;
    readonly daysLeft: number;
    readonly warning: number;
  }[];
  readonly missed: readonly { readonly appeal: string; readonly escalation: string }[];
}

export async function sweepAppealDeadlines(deps: AppealDeps, tenant: TenantId): Promise<SweepReport> {
  const today = todayFor(deps, tenant);
  const now = deps.now().toISOString();
  const actor = { clientId: APPEAL_SWEEP_AGENT };
  const tasks = await searchAll<Task>(deps.store, tenant, 'Task', [
    { code: 'code', kind: 'token', values: LEVELS.map((value) => ({ system: CS_APPEAL_LEVEL, value })) },
  ]);
  const warned: { appeal: string; daysLeft: number; warning: number }[] = [];
  const missed: { appeal: string; escalation: string }[] = [];
  for (const task of tasks) {
    const view = appealView(task);
    if (!view || view.outcome !== 'open' || !view.deadline) {
      continue;
    }
    const { stage, daysLeft } = deadlineStage(view.deadline.slice(0, 10), today);
    if (stage === 'missed') {
      const next = changed(
        task,
        now,
        `The filing deadline ${view.deadline} passed without the appeal filed: missed.`,
        {
          status: 'failed',
          businessStatus: outcomeConcept('missed'),
        },
      );
      const escalation: Task & { id: string } = {
        resourceType: 'Task',
        id: `${task.id}-missed`,
        status: 'ready',
        intent: 'order',
        priority: 'urgent',
        code: {
          coding: [{ system: CS_WORK_ITEM, code: APPEAL_MISSED_TASK }],
          text: 'Appeal deadline missed',
        },
        description: `The ${view.level} of Claim/${view.claim} ($${view.denied.toFixed(2)}) was not filed by ${view.deadline}: ask the payer for good cause, or write the amount off.`,
        focus: { reference: `Task/${task.id}` },
        ...(view.patient ? { for: { reference: view.patient } } : {}),
        basedOn: [{ reference: `Task/${task.id}` }],
        ...(view.owner ? { owner: { display: view.owner } } : {}),
        authoredOn: now,
        lastModified: now,
      };
      await deps.store.resources.writeBatch(tenant, [
        versionCheckedUpdate(task, next),
        { op: 'create', resource: escalation, options: { id: escalation.id } },
        appealAudit(deps, next, 'missed', actor),
      ]);
      missed.push({ appeal: task.id, escalation: escalation.id });
      continue;
    }
    const warning = stage === 'warn-7' ? 7 : stage === 'warn-30' ? 30 : undefined;
    if (warning === undefined || view.warnings.includes(warning)) {
      continue;
    }
    const next = changed(task, now, `${daysLeft} day(s) left to file (deadline ${view.deadline}).`, {
      priority: warning === 7 ? 'urgent' : 'asap',
      input: [...(task.input ?? []), warningInput(warning)],
    });
    await deps.store.resources.writeBatch(tenant, [
      versionCheckedUpdate(task, next),
      appealAudit(deps, next, `warning-${warning}`, actor),
    ]);
    warned.push({ appeal: task.id, daysLeft, warning });
  }
  return { today, warned, missed };
}
