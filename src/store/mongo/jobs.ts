/**
 * JobQueue over MongoDB: idempotent enqueue (also inside a resource write's transaction), leases
 * taken by one atomic findOneAndUpdate per job (so several processes can share the queue), acks,
 * failures with backoff and dead letters.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, OperationOutcomeError } from '@medplum/core';
import { ObjectId } from 'mongodb';
import type { ClientSession, Collection, Document } from 'mongodb';
import { DEFAULT_MAX_ATTEMPTS, retryDelayMs } from '../job-policy.ts';
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
import { SIBLINGS_PER_PREFIX } from '../port.ts';
import { prefixEnd, siblingRanges } from '../key-prefix.ts';
import type { JobDoc } from './collections.ts';
import { isDuplicateKeyError } from './connection.ts';
import { escapeRegex } from './query.ts';
import { isoInstant } from './values.ts';

function toJob(doc: JobDoc): Job {
  return {
    id: doc._id,
    tenant: doc.tenant,
    queue: doc.queue,
    key: doc.key,
    payload: JSON.parse(doc.payload) as unknown,
    state: doc.state,
    attempts: doc.attempts,
    maxAttempts: doc.maxAttempts,
    runAt: doc.runAt.toISOString(),
    ...(doc.leaseToken !== undefined && doc.leaseToken !== null ? { leaseToken: doc.leaseToken } : {}),
    ...(doc.leaseExpiresAt ? { leaseExpiresAt: doc.leaseExpiresAt.toISOString() } : {}),
    ...(doc.lastError !== undefined && doc.lastError !== null ? { lastError: doc.lastError } : {}),
    ...(doc.waitKey !== undefined && doc.waitKey !== null ? { waitKey: doc.waitKey } : {}),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

export class MongoJobQueue implements JobQueue {
  readonly #jobs: Collection<JobDoc>;
  readonly #now: () => Date;

  constructor(jobs: Collection<JobDoc>, now: () => Date) {
    this.#jobs = jobs;
    this.#now = now;
  }

  enqueue(tenant: TenantId, request: EnqueueRequest): Promise<EnqueueResult> {
    return this.#enqueue(tenant, request, undefined);
  }

  /** Enqueues in the caller's transaction (a resource write and the job that processes it). */
  enqueueInSession(
    tenant: TenantId,
    request: EnqueueRequest,
    session: ClientSession,
  ): Promise<EnqueueResult> {
    return this.#enqueue(tenant, request, session);
  }

  async #enqueue(
    tenant: TenantId,
    request: EnqueueRequest,
    session: ClientSession | undefined,
  ): Promise<EnqueueResult> {
    const now = this.#now();
    const runAt = request.runAt !== undefined ? isoInstant(request.runAt, 'runAt') : now;
    const maxAttempts = request.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new OperationOutcomeError(badRequest(`Invalid maxAttempts: ${maxAttempts}`));
    }
    const key = { tenant, queue: request.queue, key: request.key };
    const jobId = randomUUID();
    const insert: JobDoc = {
      _id: jobId,
      ...key,
      payload: JSON.stringify(request.payload ?? null),
      state: 'ready',
      attempts: 0,
      maxAttempts,
      runAt,
      createdAt: now,
      updatedAt: now,
      seq: new ObjectId(),
      ...(request.waitKey !== undefined ? { waitKey: request.waitKey } : {}),
    };
    const upsert = (): Promise<Document> =>
      this.#jobs.updateOne(key, { $setOnInsert: insert }, { upsert: true, ...(session ? { session } : {}) });
    let result: Document;
    if (session) {
      // Inside a transaction errors must propagate (the driver decides about retries).
      result = await upsert();
    } else {
      try {
        result = await upsert();
      } catch (err) {
        if (!isDuplicateKeyError(err)) {
          throw err;
        }
        // Lost the race with a concurrent enqueue of the same key: that job is the one.
        result = { upsertedCount: 0 };
      }
    }
    if (result['upsertedCount'] === 1) {
      return { jobId, created: true };
    }
    const existing = await this.#jobs.findOne(key, {
      projection: { _id: 1 },
      ...(session ? { session } : {}),
    });
    if (!existing) {
      throw new Error(`Job ${request.queue}/${request.key} vanished during enqueue`);
    }
    return { jobId: existing._id, created: false };
  }

  async lease(options: LeaseOptions): Promise<Job[]> {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      return [];
    }
    if (!Number.isFinite(options.leaseMs) || options.leaseMs < 0) {
      throw new OperationOutcomeError(badRequest(`Invalid leaseMs: ${options.leaseMs}`));
    }
    const now = options.now;
    const leaseExpiresAt = new Date(now.getTime() + options.leaseMs);
    // A lease that expired on the job's last allowed attempt dead-letters the job instead of
    // re-leasing it (a job that kills its worker every time must not loop forever).
    await this.#jobs.updateMany(
      {
        queue: options.queue,
        state: 'leased',
        leaseExpiresAt: { $lte: now },
        $expr: { $gte: ['$attempts', '$maxAttempts'] },
      },
      [
        {
          $set: {
            state: 'dead',
            updatedAt: now,
            lastError: { $ifNull: ['$lastError', 'lease expired on the final attempt'] },
          },
        },
        { $unset: ['leaseToken', 'leaseExpiresAt'] },
      ],
    );
    const leased: Job[] = [];
    const leasedIds: string[] = [];
    while (leased.length < options.limit) {
      // One atomic findOneAndUpdate per job: the filter is re-checked against the document as
      // it is written, so two processes never both lease it (the loser matches another job or
      // none). `$nin` keeps a zero-length lease from being taken twice by this same call.
      const doc = await this.#jobs.findOneAndUpdate(
        {
          queue: options.queue,
          $or: [
            { state: 'ready', runAt: { $lte: now } },
            { state: 'leased', leaseExpiresAt: { $lte: now } },
          ],
          ...(leasedIds.length > 0 ? { _id: { $nin: leasedIds } } : {}),
        },
        // A leased job waits on nothing (JobQueue.wake): its key goes, so no wake cuts a later backoff.
        {
          $set: { state: 'leased', leaseToken: randomUUID(), leaseExpiresAt, updatedAt: now },
          $inc: { attempts: 1 },
          $unset: { waitKey: '' },
        },
        { sort: { runAt: 1, _id: 1 }, returnDocument: 'after' },
      );
      if (!doc) {
        break;
      }
      leasedIds.push(doc._id);
      leased.push(toJob(doc));
    }
    if (options.siblingsBy !== undefined) {
      leased.push(...(await this.#leaseSiblings(leased, options, leaseExpiresAt)));
    }
    return leased;
  }

  /** The due siblings of `leased` (LeaseOptions.siblingsBy), one atomic findOneAndUpdate each. */
  async #leaseSiblings(leased: readonly Job[], options: LeaseOptions, leaseExpiresAt: Date): Promise<Job[]> {
    const siblings: Job[] = [];
    for (const { tenant, from, to } of siblingRanges(leased, options.siblingsBy ?? '')) {
      for (let n = 0; n < SIBLINGS_PER_PREFIX; n++) {
        const doc = await this.#jobs.findOneAndUpdate(
          {
            tenant,
            queue: options.queue,
            key: { $gte: from, $lt: to },
            state: 'ready',
            runAt: { $lte: options.now },
          },
          {
            $set: { state: 'leased', leaseToken: randomUUID(), leaseExpiresAt, updatedAt: options.now },
            $inc: { attempts: 1 },
            $unset: { waitKey: '' },
          },
          { sort: { key: 1 }, returnDocument: 'after' },
        );
        if (!doc) {
          break;
        }
        siblings.push(toJob(doc));
      }
    }
    return siblings;
  }

  async ack(jobId: string, leaseToken: string): Promise<boolean> {
    const result = await this.#jobs.updateOne(
      { _id: jobId, state: 'leased', leaseToken },
      { $set: { state: 'done', updatedAt: this.#now() }, $unset: { leaseToken: '', leaseExpiresAt: '' } },
    );
    return result.modifiedCount === 1;
  }

  async ackMany(leases: readonly JobLease[]): Promise<number> {
    if (leases.length === 0) {
      return 0;
    }
    const updatedAt = this.#now();
    // One unordered bulk write: one round trip; each update is atomic on its own document, and a
    // stale token (the filter matches nothing) does not stop the others.
    const result = await this.#jobs.bulkWrite(
      leases.map((lease) => ({
        updateOne: {
          filter: { _id: lease.jobId, state: 'leased' as const, leaseToken: lease.leaseToken },
          update: {
            $set: { state: 'done' as const, updatedAt },
            $unset: { leaseToken: '', leaseExpiresAt: '' },
          },
        },
      })),
      { ordered: false },
    );
    return result.modifiedCount;
  }

  async fail(
    jobId: string,
    leaseToken: string,
    failure: { error: string; retryable: boolean; now: Date; retryAt?: string },
  ): Promise<boolean> {
    const filter = { _id: jobId, state: 'leased' as const, leaseToken };
    const job = await this.#jobs.findOne(filter, { projection: { attempts: 1, maxAttempts: 1 } });
    if (!job) {
      return false;
    }
    const retry = failure.retryable && job.attempts < job.maxAttempts;
    const runAt = !retry
      ? undefined
      : failure.retryAt !== undefined
        ? isoInstant(failure.retryAt, 'retryAt')
        : new Date(failure.now.getTime() + retryDelayMs(job.attempts));
    const result = await this.#jobs.updateOne(filter, {
      $set: {
        state: retry ? 'ready' : 'dead',
        lastError: failure.error,
        updatedAt: failure.now,
        ...(runAt ? { runAt } : {}),
      },
      $unset: { leaseToken: '', leaseExpiresAt: '' },
    });
    return result.modifiedCount === 1;
  }

  async defer(jobId: string, leaseToken: string, wait: JobWait): Promise<boolean> {
    const runAt = isoInstant(wait.runAt, 'runAt');
    // The lease's attempt is handed back (a leased job has attempts >= 1): waiting is not failing.
    const result = await this.#jobs.updateOne(
      { _id: jobId, state: 'leased', leaseToken },
      {
        $set: {
          state: 'ready',
          runAt,
          lastError: wait.reason,
          updatedAt: wait.now,
          ...(wait.waitKey !== undefined ? { waitKey: wait.waitKey } : {}),
        },
        $inc: { attempts: -1 },
        $unset: {
          leaseToken: '',
          leaseExpiresAt: '',
          ...(wait.waitKey === undefined ? { waitKey: '' } : {}),
        },
      },
    );
    return result.modifiedCount === 1;
  }

  async extendLease(jobId: string, leaseToken: string, renewal: LeaseRenewal): Promise<boolean> {
    if (!Number.isFinite(renewal.leaseMs) || renewal.leaseMs < 0) {
      throw new OperationOutcomeError(badRequest(`Invalid leaseMs: ${renewal.leaseMs}`));
    }
    // The filter is re-checked as the document is written: a lease taken by another worker
    // meanwhile has another token, and the renewal matches nothing. `$max` never moves it back.
    const result = await this.#jobs.updateOne(
      { _id: jobId, state: 'leased', leaseToken },
      {
        $max: { leaseExpiresAt: new Date(renewal.now.getTime() + renewal.leaseMs) },
        $set: { updatedAt: renewal.now },
      },
    );
    return result.matchedCount === 1;
  }

  async wake(tenant: TenantId, queue: string, waitKey: string, now: Date): Promise<number> {
    // One updateMany (job_waiting: only deferred jobs carry a key); each document's update is
    // atomic, and the filter is re-checked as it is written, so a job leased meanwhile is left alone.
    const result = await this.#jobs.updateMany(
      { tenant, queue, waitKey, state: 'ready', runAt: { $gt: now } },
      { $set: { runAt: now, updatedAt: now } },
    );
    return result.modifiedCount;
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    const doc = await this.#jobs.findOne({ _id: jobId });
    return doc ? toJob(doc) : undefined;
  }

  async highestNumbered(tenant: TenantId, queue: string, keyPrefix: string): Promise<Job | undefined> {
    // An anchored prefix: a range of job_key (tenant, queue, key). A longer number is a greater
    // one, and among numbers as long, the greater key (simple binary order of strings).
    const [doc] = await this.#jobs
      .aggregate<JobDoc>([
        { $match: { tenant, queue, key: { $regex: `^${escapeRegex(keyPrefix)}[1-9][0-9]*$` } } },
        { $addFields: { keyLength: { $strLenCP: '$key' } } },
        { $sort: { keyLength: -1, key: -1 } },
        { $limit: 1 },
        { $project: { keyLength: 0 } },
      ])
      .toArray();
    return doc ? toJob(doc) : undefined;
  }

  async listJobs(
    tenant: TenantId,
    queue: string,
    state: JobState,
    limit: number,
    options: ListJobsOptions = {},
  ): Promise<Job[]> {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new OperationOutcomeError(badRequest(`Invalid limit: ${limit}`));
    }
    if (limit === 0) {
      return [];
    }
    const docs = await this.#jobs
      .find(
        {
          tenant,
          queue,
          state,
          ...(options.createdSince === undefined
            ? {}
            : { createdAt: { $gte: isoInstant(options.createdSince, 'createdSince') } }),
        },
        { sort: { createdAt: 1, seq: 1 }, limit },
      )
      .toArray();
    return docs.map(toJob);
  }

  async purgeDone(
    tenant: TenantId,
    queue: string,
    finishedBefore: string,
    limit: number,
    options: PurgeDoneOptions = {},
  ): Promise<number> {
    const before = isoInstant(finishedBefore, 'finishedBefore');
    if (!Number.isInteger(limit) || limit < 1) {
      return 0;
    }
    const prefix = options.keyPrefix ?? '';
    const end = prefixEnd(prefix);
    const filter = {
      tenant,
      queue,
      ...(end === undefined ? {} : { key: { $gte: prefix, $lt: end } }),
      state: 'done' as const,
      updatedAt: { $lt: before },
    };
    // A prefix is a range of job_key: only its keys are read, not every finished job of the queue.
    const ids = await this.#jobs
      .find(
        filter,
        end === undefined
          ? { sort: { createdAt: 1, seq: 1 }, limit, projection: { _id: 1 } }
          : { sort: { key: 1 }, hint: 'job_key', limit, projection: { _id: 1 } },
      )
      .toArray();
    if (ids.length === 0) {
      return 0;
    }
    // The filter again: a job re-enqueued meanwhile under a purged key is another document.
    const result = await this.#jobs.deleteMany({ ...filter, _id: { $in: ids.map((doc) => doc._id) } });
    return result.deletedCount;
  }
}
