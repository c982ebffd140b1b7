/**
 * The authorization ledger's work items: one Task per alert key (./ledger-alerts.ts: patient, kind,
 * authorization number, code), with a stable id so a condition that persists is one Task however
 * often it is seen; refreshed when what it says changes, reopened when the condition comes back,
 * completed (with a note) when it is gone. Each write goes with its AuditEvent. Pure: the worker
 * hands the operations to the store.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Task, TaskInput } from '@medplum/fhirtypes';
import { CS_TASK_CODE } from '../contract/canonical.ts';
import { buildAuditEvent } from '../fhir/audit.ts';
import type { BatchOperation, StoredResource } from '../store/port.ts';
import type { LedgerAlert, LedgerAlertKind } from './ledger-alerts.ts';

/** Who the ledger's writes are audited as. */
export const LEDGER_CLIENT = 'dripline/authorization-ledger';

const TITLES: Readonly<Record<LedgerAlertKind, string>> = {
  'authorization-running-out': 'prior authorization running out',
  'authorization-expiring': 'prior authorization expiring',
  'authorization-missing': 'infusion given without prior authorization',
};

const DONE = new Set(['completed', 'cancelled', 'entered-in-error', 'rejected', 'failed']);

export function ledgerTaskId(key: string): string {
  return `task-${createHash('sha256').update(`authorization-ledger|${key}`, 'utf8').digest('hex').slice(0, 40)}`;
}

export function isOpen(task: Task): boolean {
  return !DONE.has(task.status);
}

function inputsOf(alert: LedgerAlert): TaskInput[] {
  return [
    ...(alert.number ? [{ type: { text: 'authorization number' }, valueString: alert.number }] : []),
    ...(alert.code ? [{ type: { text: 'code' }, valueString: alert.code }] : []),
    ...Object.entries(alert.figures).map(([name, value]) =>
      typeof value === 'number' && Number.isInteger(value)
        ? { type: { text: name }, valueInteger: value }
        : typeof value === 'number'
          ? { type: { text: name }, valueDecimal: value }
          : { type: { text: name }, valueString: value },
    ),
  ];
}

function write(task: Task & { id: string }, existing: (Task & StoredResource) | undefined): BatchOperation {
  return existing
    ? { op: 'update', resource: task, options: { ifMatchVersion: existing.meta.versionId, upsert: false } }
    : { op: 'create', resource: task, options: { id: task.id } };
}

function audit(task: Task & { id: string }, created: boolean, now: Date, publicUrl: string): BatchOperation {
  const event = buildAuditEvent({
    id: randomUUID(),
    now,
    interaction: created ? 'create' : 'update',
    outcome: '0',
    clientId: LEDGER_CLIENT,
    resources: [`Task/${task.id}`],
    patients: task.for?.reference ? [task.for.reference] : [],
    publicUrl,
  });
  return { op: 'create', resource: event, options: { id: event.id } };
}

const withoutMeta = (task: Task & StoredResource): Task & { id: string } => {
  const copy: Task & { id: string } = { ...task };
  delete copy.meta;
  return copy;
};

/**
 * What to write so the patient's ledger Tasks say what the alerts say: `tasks` are the patient's
 * ledger Tasks in any status (found by code). Nothing when nothing changed.
 */
export function reconcileLedgerTasks(
  alerts: readonly LedgerAlert[],
  tasks: readonly (Task & StoredResource)[],
  now: Date,
  publicUrl: string,
): BatchOperation[] {
  const at = now.toISOString();
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const wanted = new Set<string>();
  const operations: BatchOperation[] = [];
  for (const alert of alerts) {
    const id = ledgerTaskId(alert.key);
    if (wanted.has(id)) {
      continue;
    }
    wanted.add(id);
    const existing = byId.get(id);
    if (existing && isOpen(existing) && existing.description === alert.text) {
      continue;
    }
    const task: Task & { id: string } = {
      resourceType: 'Task',
      id,
      status: 'requested',
      intent: 'order',
      priority: alert.kind === 'authorization-expiring' ? 'routine' : 'urgent',
      code: { coding: [{ system: CS_TASK_CODE, code: alert.kind }], text: TITLES[alert.kind] },
      description: alert.text,
      focus: { reference: alert.focus },
      for: { reference: alert.patient },
      authoredOn: existing?.authoredOn ?? at,
      lastModified: at,
      ...(existing?.owner ? { owner: existing.owner } : {}),
      input: inputsOf(alert),
      note: [
        ...(existing?.note ?? []),
        {
          time: at,
          text: existing && !isOpen(existing) ? `reopened: ${alert.text}` : alert.text,
        },
      ],
    };
    operations.push(write(task, existing), audit(task, existing === undefined, now, publicUrl));
  }
  for (const task of tasks) {
    if (wanted.has(task.id) || !isOpen(task)) {
      continue;
    }
    const done: Task & { id: string } = {
      ...withoutMeta(task),
      status: 'completed',
      lastModified: at,
      note: [
        ...(task.note ?? []),
        {
          time: at,
          text: 'resolved: the authorization ledger no longer shows this (recorded, renewed, or used as authorized)',
        },
      ],
    };
    operations.push(write(done, task), audit(done, false, now, publicUrl));
  }
  return operations;
}
