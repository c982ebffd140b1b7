/**
 * What every action on a remittance Task (a work item: ./actions.ts; an appeal: ../appeals/) writes
 * beside the Task's new version, in one batch: the update, checked against the version the action
 * read (a concurrent change fails the batch instead of being overwritten), and its AuditEvent. The
 * AuditEvent's id derives from the task, the action, the instant and the client, so a retried
 * batch writes the same event.
 */
import { createHash } from 'node:crypto';
import type { Task } from '@medplum/fhirtypes';
import { CS_OPERATION } from '../../contract/canonical.ts';
import { buildAuditEvent } from '../../fhir/audit.ts';
import type { BatchOperation, Store, StoredResource, TenantId } from '../../store/port.ts';

/** Who acts on a Task: the client, the person acting through it (an app), the request, and why. */
export interface TaskActor {
  readonly clientId: string;
  readonly user?: { readonly reference: string; readonly display?: string };
  readonly requestId?: string;
  readonly reason?: string;
}

/** A stored Task by id; undefined when there is none (or the id names something else). */
export async function readTask(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  id: string,
): Promise<(Task & StoredResource) | undefined> {
  const found = await store.resources.read(tenant, 'Task', id).catch(() => undefined);
  return found && found.resourceType === 'Task' ? found : undefined;
}

/** The Task's new version, written only over the version the action read. */
export function versionCheckedUpdate(
  stored: Task & StoredResource,
  next: Task & { id: string },
): BatchOperation {
  return { op: 'update', resource: next, options: { ifMatchVersion: stored.meta.versionId, upsert: false } };
}

/**
 * The AuditEvent of `action` on the task: subtype `<kind>-<action>` (CS_OPERATION), the task and
 * the other resources the action touched, the task's patient, and the actor's reason.
 */
export function taskActionAudit(
  deps: { readonly publicUrl: string; readonly now: () => Date },
  task: Task & { id: string },
  action: { readonly kind: 'appeal' | 'work-item'; readonly name: string },
  actor: TaskActor,
  options: {
    readonly interaction?: 'create' | 'update' | 'read';
    readonly resources?: readonly string[];
  } = {},
): BatchOperation {
  const now = deps.now();
  const event = buildAuditEvent({
    id: `audit-${createHash('sha256').update(`${task.id}|${action.name}|${now.toISOString()}|${actor.clientId}`).digest('hex').slice(0, 32)}`,
    now,
    interaction: options.interaction ?? 'update',
    outcome: '0',
    clientId: actor.clientId,
    ...(actor.user ? { user: actor.user } : {}),
    ...(actor.requestId ? { requestId: actor.requestId } : {}),
    resources: [`Task/${task.id}`, ...(options.resources ?? [])],
    patients: task.for?.reference ? [task.for.reference] : [],
    publicUrl: deps.publicUrl,
  });
  return {
    op: 'create',
    resource: {
      ...event,
      subtype: [{ system: CS_OPERATION, code: `${action.kind}-${action.name}` }],
      ...(actor.reason ? { outcomeDesc: actor.reason } : {}),
    },
    options: { id: event.id },
  };
}
