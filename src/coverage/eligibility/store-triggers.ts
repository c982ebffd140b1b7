/**
 * The eligibility triggers in the transaction of the copy that causes them: a view of the store
 * ingest writes its copies through, which adds to every batch that creates or updates an order,
 * an Encounter or a Coverage the eligibility jobs that copy starts (./triggers.ts), and wakes the
 * eligibility worker after. Ingest knows nothing of coverage (it sits below it in the layers); a
 * copy stored and its jobs enqueued commit together or not at all.
 */
import type { TenantConfig } from '../../config/config.ts';
import type { BatchOperation, Store, TenantId } from '../../store/port.ts';
import { overriding } from '../../store/view.ts';
import { ELIGIBILITY_QUEUE } from './records.ts';
import { eligibilityJobsFor } from './triggers.ts';

const TRIGGERING = new Set(['MedicationRequest', 'ServiceRequest', 'Encounter', 'Coverage']);

export function withEligibilityTriggers(
  store: Store,
  tenants: () => readonly TenantConfig[],
  now: () => Date,
  /** After jobs were enqueued: `dueAt` absent when one is due at once, else the earliest `runAt`. */
  onEnqueue: (dueAt?: Date) => void = () => undefined,
): Store {
  const jobsFor = (tenant: TenantId, operations: readonly BatchOperation[]): BatchOperation[] => {
    const config = tenants().find((t) => t.id === tenant);
    if (!config || config.payers.length === 0) {
      return [];
    }
    return operations.flatMap((o) =>
      (o.op === 'create' || o.op === 'update') && TRIGGERING.has(o.resource.resourceType)
        ? eligibilityJobsFor(config, o.resource, now())
        : [],
    );
  };
  const { resources } = store;
  return overriding(store, {
    resources: overriding(resources, {
      writeBatch: async (tenant: TenantId, operations: readonly BatchOperation[]) => {
        const jobs = jobsFor(tenant, operations);
        const result = await resources.writeBatch(tenant, [...operations, ...jobs]);
        const due = jobs.flatMap((j) =>
          j.op === 'enqueue' && j.job.queue === ELIGIBILITY_QUEUE ? [j.job.runAt] : [],
        );
        if (due.length > 0) {
          // A pre-visit check runs the day before the visit: its worker wakes then, not at once.
          onEnqueue(
            due.some((at) => at === undefined)
              ? undefined
              : new Date(Math.min(...due.map((at) => Date.parse(at ?? '')))),
          );
        }
        // The caller reads its own operations' results by position: the jobs come after them.
        return result.slice(0, operations.length);
      },
    }),
  });
}
