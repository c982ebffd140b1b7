/**
 * Waking a worker in the same process: a view of the store that calls back after a job of one
 * queue is enqueued through it. Ingest writes through it so its encounter-changed events start
 * charge capture at once instead of at its next poll.
 */
import type { BatchOperation, EnqueueRequest, Store, TenantId } from '../store/port.ts';
import { overriding } from '../store/view.ts';

/**
 * A view of `store` that calls `onEnqueue` after a job of `queue` was enqueued through it (single
 * enqueue or inside a batch): ingest's encounter-changed events wake charge capture in the same
 * process instead of waiting for its poll. `dueAt` is when the earliest of them may run: absent
 * when one is due at once, else its `runAt` (the worker then wakes at that instant, `WorkerLoop.notify`).
 */
export function notifyOnEnqueue(store: Store, queue: string, onEnqueue: (dueAt?: Date) => void): Store {
  const { resources, jobs } = store;
  const wake = (requests: readonly EnqueueRequest[]): void => {
    const mine = requests.filter((r) => r.queue === queue);
    if (mine.length === 0) {
      return;
    }
    const later = mine.map((r) => (r.runAt === undefined ? Number.NaN : Date.parse(r.runAt)));
    if (later.some((at) => Number.isNaN(at))) {
      onEnqueue();
    } else {
      onEnqueue(new Date(Math.min(...later)));
    }
  };
  return overriding(store, {
    resources: overriding(resources, {
      writeBatch: async (tenant: TenantId, operations: readonly BatchOperation[]) => {
        const result = await resources.writeBatch(tenant, operations);
        wake(operations.flatMap((o) => (o.op === 'enqueue' ? [o.job] : [])));
        return result;
      },
    }),
    jobs: overriding(jobs, {
      enqueue: async (...args: Parameters<Store['jobs']['enqueue']>) => {
        const result = await jobs.enqueue(...args);
        wake([args[1]]);
        return result;
      },
    }),
  });
}
