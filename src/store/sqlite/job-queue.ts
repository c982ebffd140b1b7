/**
 * The embedded store's JobQueue: one port over two job tables, the inbox file's for INBOX_QUEUE
 * (./inbox.ts says why) and the main file's for every other queue. Callers see one queue.
 *
 * A queue's enqueue, lease, wake and listing go to its table; ack, fail, defer, extendLease and
 * getJob name only a job id, so they go to the table holding it (a primary-key read in the inbox,
 * which takes no lock). Job ids are UUIDs and a job is in one file only (a legacy job being moved
 * is briefly in both; the inbox's copy is the live one).
 */
import type {
  EnqueueRequest,
  EnqueueResult,
  Job,
  JobLease,
  JobQueue,
  JobState,
  JobWait,
  LeaseOptions,
  LeaseRenewal,
  ListJobsOptions,
  PurgeDoneOptions,
  TenantId,
} from '../port.ts';
import { INBOX_QUEUE } from '../port.ts';
import { InboxCheckpoints } from './inbox.ts';
import type { SqliteJobTable } from './jobs.ts';

export class SqliteJobQueue implements JobQueue {
  /** The main file's jobs (every queue but the inbox's). */
  readonly main: SqliteJobTable;
  /** The inbox file's jobs. */
  readonly inbox: SqliteJobTable;
  readonly #checkpoints: InboxCheckpoints;

  constructor(main: SqliteJobTable, inbox: SqliteJobTable) {
    this.main = main;
    this.inbox = inbox;
    this.#checkpoints = new InboxCheckpoints(inbox.connection);
  }

  /** Whether the queue's jobs are in the inbox file. */
  inInbox(queue: string): boolean {
    return queue === INBOX_QUEUE;
  }

  #table(queue: string): SqliteJobTable {
    return this.inInbox(queue) ? this.inbox : this.main;
  }

  #holding(jobId: string): SqliteJobTable {
    return this.inbox.has(jobId) ? this.inbox : this.main;
  }

  async enqueue(tenant: TenantId, request: EnqueueRequest): Promise<EnqueueResult> {
    return this.#table(request.queue).enqueue(tenant, request);
  }

  /**
   * Several inbox jobs in one inbox transaction (the receiver's group commit), waiting for the
   * inbox's write lock off the event loop (`transactionOffLoop`).
   */
  enqueueInbox(tenant: TenantId, requests: readonly EnqueueRequest[]): Promise<EnqueueResult[]> {
    return this.inbox.connection.transactionOffLoop(() =>
      requests.map((request) => this.inbox.enqueueInTx(tenant, request)),
    );
  }

  async lease(options: LeaseOptions): Promise<Job[]> {
    const jobs = await this.#table(options.queue).lease(options);
    if (this.inInbox(options.queue)) {
      // Leasing the inbox is what workers do, never receivers: checkpoints belong here.
      this.#checkpoints.checkpointIfDue();
    }
    return jobs;
  }

  async ack(jobId: string, leaseToken: string): Promise<boolean> {
    return this.#holding(jobId).ack(jobId, leaseToken);
  }

  async ackMany(leases: readonly JobLease[]): Promise<number> {
    const held = this.inbox.holding(leases.map((lease) => lease.jobId));
    const inInbox = leases.filter((lease) => held.has(lease.jobId));
    const inMain = leases.filter((lease) => !held.has(lease.jobId));
    return (await this.inbox.ackMany(inInbox)) + (await this.main.ackMany(inMain));
  }

  async fail(
    jobId: string,
    leaseToken: string,
    failure: { error: string; retryable: boolean; now: Date; retryAt?: string },
  ): Promise<boolean> {
    return this.#holding(jobId).fail(jobId, leaseToken, failure);
  }

  async defer(jobId: string, leaseToken: string, wait: JobWait): Promise<boolean> {
    return this.#holding(jobId).defer(jobId, leaseToken, wait);
  }

  async extendLease(jobId: string, leaseToken: string, renewal: LeaseRenewal): Promise<boolean> {
    return this.#holding(jobId).extendLease(jobId, leaseToken, renewal);
  }

  async wake(tenant: TenantId, queue: string, waitKey: string, now: Date): Promise<number> {
    return this.#table(queue).wake(tenant, queue, waitKey, now);
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    return (await this.inbox.getJob(jobId)) ?? this.main.getJob(jobId);
  }

  /** As listJobs: the inbox queue's in both files (a legacy job moved is in the inbox too). */
  async highestNumbered(tenant: TenantId, queue: string, keyPrefix: string): Promise<Job | undefined> {
    const current = await this.#table(queue).highestNumbered(tenant, queue, keyPrefix);
    if (!this.inInbox(queue)) {
      return current;
    }
    const legacy = await this.main.highestNumbered(tenant, queue, keyPrefix);
    // Both numbered after the same prefix: the longer key is the higher number, then the greater.
    return legacy && (!current || numberedAfter(legacy.key, current.key)) ? legacy : current;
  }

  /**
   * The inbox queue's jobs are in the inbox file, plus, finished or dead, in the main file when
   * they were written before the inbox had a file of its own: both, oldest first.
   */
  async listJobs(
    tenant: TenantId,
    queue: string,
    state: JobState,
    limit: number,
    options: ListJobsOptions = {},
  ): Promise<Job[]> {
    if (!this.inInbox(queue)) {
      return this.main.listJobs(tenant, queue, state, limit, options);
    }
    const legacy = await this.main.listJobs(tenant, queue, state, limit, options);
    const current = await this.inbox.listJobs(tenant, queue, state, limit, options);
    if (legacy.length === 0) {
      return current;
    }
    return [...legacy, ...current]
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
      .slice(0, limit);
  }

  /** The inbox queue's finished jobs in the inbox file, then those left in the main file. */
  async purgeDone(
    tenant: TenantId,
    queue: string,
    finishedBefore: string,
    limit: number,
    options: PurgeDoneOptions = {},
  ): Promise<number> {
    const purged = await this.#table(queue).purgeDone(tenant, queue, finishedBefore, limit, options);
    if (!this.inInbox(queue) || purged >= limit) {
      return purged;
    }
    return purged + (await this.main.purgeDone(tenant, queue, finishedBefore, limit - purged, options));
  }
}

/** Whether `a` is numbered above `b`, both `{prefix}{n}` with the same prefix (no leading zeros). */
function numberedAfter(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}
