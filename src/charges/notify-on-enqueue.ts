/**
 * Waking a worker in the same process: a view of the store that calls back after a job of one
 * queue is enqueued through it. Ingest writes through it so its encounter-changed events start
 * charge capture at once instead of at its next poll.
 */
import type { BatchOperation, Store, TenantId } from '../store/port.ts';
import { overriding } from '../store/view.ts';

/**
 * A view of `store` that calls `onEnqueue` after a job of `queue` was enqueued through it (single
 * enqueue or inside a batch): ingest's encounter-changed events wake charge capture in the same
 * process instead of waiting for its poll.
 */
export function notifyOnEnqueue(store: Store, queue: string, onEnqueue: () => void): Store {
  const { resources, jobs } = store;
  return overriding(store, {
    resources: overriding(resources, {
      writeBatch: async (tenant: TenantId, operations: readonly BatchOperation[]) => {
        const result = await resources.writeBatch(tenant, operations);
        if (operations.some((o) => o.op === 'enqueue' && o.job.queue === queue)) {
          onEnqueue();
        }
        return result;
      },
    }),
    jobs: overriding(jobs, {
      enqueue: async (...args: Parameters<Store['jobs']['enqueue']>) => {
        const result = await jobs.enqueue(...args);
        if (args[1].queue === queue) {
          onEnqueue();
        }
        return result;
      },
    }),
  });
}
