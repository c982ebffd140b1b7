/**
 * A queue worker's view of its store, through which the work it schedules for itself reaches its
 * own loop (`WorkerLoop.notify(dueAt)`) instead of waiting for the poll: a job it failed for a
 * retry (due at the retry's instant), a job it deferred (due at its `runAt`; a wake by its
 * `waitKey` may come sooner), and a job of its own queues enqueued with a later `runAt`. The view
 * also keeps which jobs a batch leased and has not yet given back, so that a batch that throws
 * before it acks or fails them can wake when their leases expire (`LoopingWorker`).
 * `LoopingWorker.ownStore` builds it: a worker that leases, fails and defers through it gets all
 * of this without a line of its own.
 */
import type {
  BatchOperation,
  EnqueueRequest,
  Job,
  JobLease,
  JobWait,
  LeaseOptions,
  LeaseRenewal,
  Store,
} from './port.ts';
import { overriding } from './view.ts';

export interface OwnWorkHooks {
  /** The worker's queues: an enqueue of one of them with a `runAt` is the worker's own scheduled work. */
  readonly queues: readonly string[];
  /** Work of the worker becomes due at `at` (on the worker's clock, as the jobs' `runAt`). */
  readonly dueAt: (at: Date) => void;
  /**
   * Jobs leased through the view and not yet acked, failed or deferred through it: job id → when
   * its lease expires (ms, the worker's clock). The worker clears it before each batch.
   */
  readonly held: Map<string, number>;
}

export function ownWorkView(store: Store, hooks: OwnWorkHooks): Store {
  const { jobs, resources } = store;
  const own = new Set(hooks.queues);
  const enqueued = (requests: readonly EnqueueRequest[]): void => {
    for (const request of requests) {
      const at = request.runAt === undefined ? Number.NaN : Date.parse(request.runAt);
      if (own.has(request.queue) && Number.isFinite(at)) {
        hooks.dueAt(new Date(at));
      }
    }
  };
  /**
   * When a job failed for a retry is due: the instant the caller drew, else the one the store drew
   * (its backoff with jitter), read back. A read that fails costs the job only the poll. A caller's
   * instant on the job's last attempt (dead-lettered, not retried) wakes the loop once for nothing.
   */
  const retryDue = async (jobId: string, retryAt: string | undefined): Promise<void> => {
    if (retryAt !== undefined) {
      hooks.dueAt(new Date(retryAt));
      return;
    }
    const job = await jobs.getJob(jobId).catch(() => undefined);
    if (job?.state === 'ready') {
      hooks.dueAt(new Date(job.runAt));
    }
  };
  return overriding(store, {
    jobs: overriding(jobs, {
      lease: async (options: LeaseOptions): Promise<Job[]> => {
        const leased = await jobs.lease(options);
        const expires = options.now.getTime() + options.leaseMs;
        for (const job of leased) {
          hooks.held.set(job.id, expires);
        }
        return leased;
      },
      ack: async (jobId: string, leaseToken: string): Promise<boolean> => {
        const acked = await jobs.ack(jobId, leaseToken);
        hooks.held.delete(jobId);
        return acked;
      },
      ackMany: async (leases: readonly JobLease[]): Promise<number> => {
        const acked = await jobs.ackMany(leases);
        for (const lease of leases) {
          hooks.held.delete(lease.jobId);
        }
        return acked;
      },
      fail: async (
        jobId: string,
        leaseToken: string,
        failure: Parameters<Store['jobs']['fail']>[2],
      ): Promise<boolean> => {
        const failed = await jobs.fail(jobId, leaseToken, failure);
        hooks.held.delete(jobId);
        if (failed && failure.retryable) {
          await retryDue(jobId, failure.retryAt);
        }
        return failed;
      },
      defer: async (jobId: string, leaseToken: string, wait: JobWait): Promise<boolean> => {
        const deferred = await jobs.defer(jobId, leaseToken, wait);
        hooks.held.delete(jobId);
        if (deferred) {
          hooks.dueAt(new Date(wait.runAt));
        }
        return deferred;
      },
      // A renewed lease expires later; one another worker took is no longer this batch's to wake for.
      extendLease: async (jobId: string, leaseToken: string, renewal: LeaseRenewal): Promise<boolean> => {
        const renewed = await jobs.extendLease(jobId, leaseToken, renewal);
        if (!renewed) {
          hooks.held.delete(jobId);
        } else {
          const held = hooks.held.get(jobId);
          if (held !== undefined) {
            hooks.held.set(jobId, Math.max(held, renewal.now.getTime() + renewal.leaseMs));
          }
        }
        return renewed;
      },
      enqueue: async (...args: Parameters<Store['jobs']['enqueue']>) => {
        const result = await jobs.enqueue(...args);
        enqueued([args[1]]);
        return result;
      },
    }),
    resources: overriding(resources, {
      writeBatch: async (...args: Parameters<Store['resources']['writeBatch']>) => {
        const result = await resources.writeBatch(...args);
        enqueued(args[1].flatMap((o: BatchOperation) => (o.op === 'enqueue' ? [o.job] : [])));
        return result;
      },
    }),
  });
}
