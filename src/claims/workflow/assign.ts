/**
 * A person hands a claim's work item (its open Task) to someone (POST /api/claims/{id}/assign, the
 * billers' app's reassign and bulk assign): Task.owner becomes the assignee, with a note, written
 * together with an AuditEvent naming who did it. The workflow keeps the owner when it rewrites
 * the Task (tasks.ts), so an assignment survives re-scrubs.
 */
import { randomUUID } from 'node:crypto';
import type { Task } from '@medplum/fhirtypes';
import { buildAuditEvent, patientsOf } from '../../fhir/audit.ts';
import type { Store, StoredResource, TenantId } from '../../store/port.ts';
import { claimTaskId } from './tasks.ts';

export interface AssignInput {
  readonly clientId: string;
  readonly user?: { readonly reference: string; readonly display?: string };
  readonly requestId?: string;
  /** Who gets the work: a reference ("Practitioner/123" or an absolute URL) and a name to show. */
  readonly owner: { readonly reference: string; readonly display?: string };
  readonly publicUrl: string;
  readonly now: Date;
}

export type AssignResult =
  | { readonly status: 200; readonly task: string; readonly owner: string }
  | { readonly status: 404 | 409; readonly message: string };

export async function assignClaimTask(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  claimId: string,
  input: AssignInput,
): Promise<AssignResult> {
  let task: (Task & StoredResource) | undefined;
  try {
    task = (await store.resources.read(tenant, 'Task', claimTaskId(claimId))) as Task & StoredResource;
  } catch (err) {
    if ((err as { outcome?: { id?: string } }).outcome?.id !== 'not-found') {
      throw err;
    }
  }
  if (!task || task.focus?.reference !== `Claim/${claimId}`) {
    return { status: 404, message: `Claim/${claimId} has no work item` };
  }
  if (task.status === 'completed' || task.status === 'cancelled') {
    return { status: 409, message: `the work item of Claim/${claimId} is ${task.status}` };
  }
  const at = input.now.toISOString();
  const by = input.user?.display ?? input.user?.reference ?? input.clientId;
  const updated: Task & { id: string } = {
    ...task,
    owner: {
      reference: input.owner.reference,
      ...(input.owner.display ? { display: input.owner.display } : {}),
    },
    lastModified: at,
    note: [
      ...(task.note ?? []),
      { time: at, text: `assigned to ${input.owner.display ?? input.owner.reference} by ${by}` },
    ],
  };
  delete (updated as { meta?: unknown }).meta;
  const audit = buildAuditEvent({
    id: randomUUID(),
    now: input.now,
    interaction: 'update',
    outcome: '0',
    clientId: input.clientId,
    ...(input.user ? { user: input.user } : {}),
    ...(input.requestId ? { requestId: input.requestId } : {}),
    resources: [`Task/${task.id}`, `Claim/${claimId}`],
    patients: patientsOf(task),
    publicUrl: input.publicUrl,
  });
  await store.resources.writeBatch(tenant, [
    { op: 'update', resource: updated, options: { ifMatchVersion: task.meta.versionId, upsert: false } },
    { op: 'create', resource: audit, options: { id: audit.id } },
  ]);
  return { status: 200, task: `Task/${task.id}`, owner: input.owner.reference };
}
