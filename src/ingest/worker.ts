/**
 * The ingest worker: takes notification jobs from the durable queue and turns them into stored,
 * versioned copies of the EHR's resources, fetching back whatever the notification did not carry
 * (only from the connection's own FHIR base), tracking event numbers to find and recover gaps, and
 * emitting an `encounter-changed` domain event for charge capture when documentation changed.
 *
 * Every step is idempotent: a job that is retried after a crash redoes work that compares equal
 * and changes nothing.
 *
 * This file is the loop: lease a batch, read its focuses ahead, run each job, write the batch's
 * bookkeeping, ack, with the next batch leased and read from the EHR while one is written; and
 * what a failed job becomes (retry, continuation, dead letter). The work is
 * in its parts: ./notification-jobs.ts (status, event and classic jobs), ./fetch-back.ts (storing
 * with what a claim needs), ./recovery.ts (gaps, catch-ups, maintenance), ./encounter-events.ts
 * (what a copy tells charge capture), ./batch-bookkeeping.ts (what a batch carries across jobs).
 */
import type { Job, TenantId } from '../store/port.ts';
import { retryDelayMs } from '../store/job-policy.ts';
import { LoopingWorker } from '../store/worker-loop.ts';
import { normalizeReference } from '../store/search-index.ts';
import { newAuditEventId } from '../fhir/audit.ts';
import { BatchBookkeeping } from './batch-bookkeeping.ts';
import { copyGroupCommit } from './copy-commit.ts';
import type { JobBookkeeping } from './batch-bookkeeping.ts';
import { classifyEhrError, ehrSaidLater } from './ehr-port.ts';
import { IdSearchSupport } from './id-search.ts';
import type { IngestJob } from './jobs.ts';
import { INGEST_QUEUE } from './jobs.ts';
import { handleClassic, handleEvent, handleStatus } from './notification-jobs.ts';
import { catchUp, maintain } from './recovery.ts';
import { StoredReferences } from './stored-references.ts';
import type { IngestContext, IngestWorkerDeps } from './worker-context.ts';

const RETRY_SUFFIX = /\|retry-(\d+)$/;

/**
 * Jobs leased per batch. A batch pays once for its lease and ack (inbox transactions), its copies'
 * transaction, its `_id` searches and its tracker write; and since the copies' transaction writes
 * one AuditEvent per patient and one charge capture job per encounter (./copy-commit.ts), most of
 * what it writes is per transaction too: its WAL pages are mostly the last leaf of each patient's,
 * encounter's and medication's range of the reference index (a 128-notification transaction of
 * bench:ingest's id-only saturation wrote ~546 pages, 294 of them idx_reference's), whatever the
 * number of copies sharing them. So batches of 256 now pay less per notification than 128
 * (alternated, BENCH_N 10,000, stored/s and worker CPU a notification): id-only saturation 6,515 /
 * 6,498 against 5,666 / 5,189 (worker 130 against 152–170 µs), overload 6,784 / 6,807 against
 * 5,984 / 5,291, full-resource saturation 6,369 against 5,368, day-shaped 2,452 / 2,223 against
 * 2,261 / 2,176 charged; ack p99 no worse. (Measured before those per-transaction writes, 256 was
 * no better than 128.) 512: a few per cent more, and saturation ack p99 up to 34.6 ms.
 */
export const INGEST_BATCH_SIZE = 256;

/** Attempts made by the jobs a continuation replaced (0 for an original job). */
function priorAttempts(key: string): number {
  const match = RETRY_SUFFIX.exec(key);
  return match ? Number(match[1]) : 0;
}

/** Jobs whose work is storing copies (events about a resource, classic bodies): run side by side. */
function storesCopies(job: Job): boolean {
  const payload = job.payload as IngestJob;
  return payload.kind === 'classic' || (payload.kind === 'event' && payload.focus !== undefined);
}

/** The connection and resource a copy-storing job is about ("connection|Type/id"), when it names one. */
function focusOf(job: Job): string | undefined {
  const payload = job.payload as IngestJob;
  const reference =
    payload.kind === 'classic'
      ? `${payload.target.resourceType}/${payload.target.id}`
      : payload.kind === 'event' && payload.focus !== undefined
        ? normalizeReference(payload.focus)
        : undefined;
  return reference === undefined ? undefined : `${job.tenant}|${payload.connectionId}|${reference}`;
}

/** A leased batch, with what it carries across its jobs (its focuses as read from the EHR). */
interface LeasedBatch {
  readonly jobs: readonly Job[];
  readonly bookkeeping: BatchBookkeeping;
  /** As many jobs as asked for: more are probably queued. */
  readonly full: boolean;
}

export class IngestWorker extends LoopingWorker {
  readonly #deps: IngestWorkerDeps;
  readonly #now: () => Date;
  readonly #ctx: IngestContext;
  /** The next batch, leased and its focuses being read while the batch in hand is written. */
  #ahead: Promise<LeasedBatch> | undefined;
  /** Whether batches are leased ahead: only while the loop runs (see `start`). */
  #leaseAhead = false;

  constructor(deps: IngestWorkerDeps) {
    super({
      name: 'ingest worker',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    });
    // Its retries and continuations (an EHR that said "later") wake its loop when due
    // (LoopingWorker.ownStore), not at the next poll.
    this.#deps = { ...deps, store: this.ownStore(deps.store, [INGEST_QUEUE]) };
    this.#now = deps.now ?? (() => new Date());
    this.#ctx = {
      deps: this.#deps,
      now: this.#now,
      copyWrites: copyGroupCommit(this.#deps.store, {
        now: this.#now,
        generateId: newAuditEventId,
        publicUrl: this.#deps.publicUrl,
      }),
      idSearch: new IdSearchSupport(this.#now),
      stored: new StoredReferences(),
    };
  }

  /**
   * Runs the loop, leasing each batch while the one before it is written (`runOnce`). A caller of
   * `runOnce` alone gets one batch per call, as it asks.
   */
  override start(): void {
    this.#leaseAhead = true;
    super.start();
  }

  /**
   * Finishes the batch in hand, then the batch leased ahead (it is this worker's until its leases
   * expire: left alone, it would wait that long for another worker), then stops.
   */
  override async stop(): Promise<void> {
    this.#leaseAhead = false;
    await super.stop();
    if (this.#ahead) {
      try {
        await this.runOnce();
      } catch (err) {
        this.#deps.logger.error({ err: (err as Error).message }, 'ingest batch leased ahead failed');
      }
    }
  }

  /** Leases a batch and reads its id-only events' focuses from their EHRs. */
  async #leaseBatch(): Promise<LeasedBatch> {
    const limit = this.#deps.batchSize ?? INGEST_BATCH_SIZE;
    const jobs = await this.#deps.store.jobs.lease({
      queue: INGEST_QUEUE,
      leaseMs: this.#deps.leaseMs ?? 60_000,
      limit,
      now: this.#now(),
    });
    const bookkeeping = new BatchBookkeeping(this.#ctx);
    // The EHR round trips of the batch's id-only events overlap.
    await bookkeeping.prefetchFocuses(jobs);
    return { jobs, bookkeeping, full: jobs.length === limit };
  }

  /** Leases and processes one batch; returns how many jobs it handled (for tests and the loop). */
  async runOnce(): Promise<number> {
    const ahead = this.#ahead;
    this.#ahead = undefined;
    const { jobs, bookkeeping: batch, full } = await (ahead ?? this.#leaseBatch());
    if (jobs.length === 0) {
      return 0;
    }
    // A full batch says more is queued: the next batch is leased and its focuses read from the
    // EHR now, while this one is written, so the worker's thread does not sit idle waiting on the
    // EHR between batches. Only the EHR reads run ahead: the next batch reads its stored copies
    // after this batch's copies are written. A focus in both batches is read for the next one
    // after this one's read, so its copy is at least as new, and it is written after this one's.
    if (full && this.#leaseAhead) {
      const next = this.#leaseBatch();
      // Awaited by the next runOnce; a lease that failed is that batch's error, not an unhandled one.
      next.catch(() => undefined);
      this.#ahead = next;
    }
    const succeeded = new Set<Job>();
    // The stored copies of its focuses, read with a search per type instead of a read per job.
    await batch.readCopiesAhead(jobs);
    // Jobs that store what a notification is about run side by side, so their copies reach the
    // group commit together: one transaction for the batch's copies instead of one per job.
    // Copies are written with optimistic concurrency, so two jobs about the same resource still
    // end with the newer EHR version (the loser of a conflict reads again and decides again).
    // Tracker changes are applied in the jobs' order whatever order they finish in.
    // Jobs about the same resource run one after the other, in delivery order: an EHR whose
    // versions are opaque and share a timestamp is trusted on the newer delivery, so the later
    // job's copy must be the one written last.
    const sameFocus = new Map<string, Promise<void>>();
    await Promise.all(
      jobs.map(async (job, position) => {
        if (!storesCopies(job)) {
          return;
        }
        const run = async (): Promise<void> => {
          if (await this.#handle(job, batch.forJob(position))) {
            succeeded.add(job);
          }
        };
        const focus = focusOf(job);
        if (focus === undefined) {
          return run();
        }
        const after = (sameFocus.get(focus) ?? Promise.resolve()).then(run);
        sameFocus.set(focus, after);
        return after;
      }),
    );
    // The rest (subscription status, catch-ups, maintenance) one at a time, in order.
    for (const [position, job] of jobs.entries()) {
      if (storesCopies(job)) {
        continue;
      }
      if (await this.#handle(job, batch.forJob(position))) {
        succeeded.add(job);
      }
      // The store is synchronous: without a turn of the event loop between jobs, a batch would
      // keep a receiver in this process from answering notifications until it is done.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Event-number bookkeeping of the whole batch in one write per subscription, then the acks in
    // one transaction: a crash in between redoes the batch, whose effects compare equal.
    await batch.flushTrackers();
    await this.#deps.store.jobs.ackMany(
      jobs
        .filter((job) => succeeded.has(job))
        .map((job) => ({ jobId: job.id, leaseToken: job.leaseToken ?? '' })),
    );
    return jobs.length;
  }

  /** Processes a job; true when it succeeded (the caller acks after the batch's bookkeeping). */
  async #handle(job: Job, batch: JobBookkeeping): Promise<boolean> {
    const payload = job.payload as IngestJob;
    const token = job.leaseToken ?? '';
    try {
      await this.process(job.tenant, payload, batch);
      return true;
    } catch (err) {
      const kind = classifyEhrError(err);
      const message = (err as Error).message;
      this.#deps.logger.warn(
        {
          job: job.id,
          kind: payload.kind,
          connectionId: payload.connectionId,
          attempts: job.attempts,
          err: message,
          class: kind,
        },
        'ingest job failed',
      );
      const retryable = kind === 'retryable';
      // Attempts across this job and the continuations it replaced (see below).
      const total = priorAttempts(job.key) + job.attempts;
      if (retryable && ehrSaidLater(err) && job.attempts >= job.maxAttempts) {
        await this.#continueLater(job, payload, total, message);
        return false;
      }
      await this.#deps.store.jobs.fail(job.id, token, {
        error: message,
        retryable,
        now: this.#now(),
        // A continuation keeps backing off from where the chain was, not from 1 s again.
        ...(retryable && total > job.attempts
          ? { retryAt: new Date(this.#now().getTime() + retryDelayMs(total)).toISOString() }
          : {}),
      });
      return false;
    }
  }

  /**
   * Fix: the queue dead-letters a job after maxAttempts (8, about two minutes of backoff), so an
   * EHR down for longer than that lost every notification Dripline had already acknowledged. Work
   * the EHR could not take *yet* is never dead-lettered: it continues in a fresh job (same payload,
   * key `<original>|retry-<attempts so far>`, backoff continuing, capped at 1 h by the policy).
   * Enqueue first, then ack: a crash in between leaves both, and processing is idempotent.
   * Failures that are not the EHR's "try later" (bugs, refusals) still dead-letter as before.
   */
  async #continueLater(job: Job, payload: IngestJob, total: number, error: string): Promise<void> {
    const runAt = new Date(this.#now().getTime() + retryDelayMs(total)).toISOString();
    await this.#deps.store.jobs.enqueue(job.tenant, {
      queue: job.queue,
      key: `${job.key.replace(RETRY_SUFFIX, '')}|retry-${total}`,
      payload,
      runAt,
      maxAttempts: job.maxAttempts,
    });
    await this.#deps.store.jobs.ack(job.id, job.leaseToken ?? '');
    this.#deps.logger.warn(
      {
        job: job.id,
        kind: payload.kind,
        connectionId: payload.connectionId,
        attempts: total,
        runAt,
        err: error,
      },
      'ingest job still failing: EHR unavailable; continuing later',
    );
  }

  /** Processes one job's payload and its bookkeeping (for tests). Throws to ask for a retry. */
  async processNow(tenant: TenantId, job: IngestJob): Promise<void> {
    const batch = new BatchBookkeeping(this.#ctx);
    await this.process(tenant, job, batch);
    await batch.flushTrackers();
  }

  /** Processes one job's payload; event bookkeeping is deferred to the end of the batch. */
  async process(tenant: TenantId, job: IngestJob, batch: JobBookkeeping): Promise<void> {
    const binding = this.#deps.connections.get(job.connectionId);
    if (!binding || binding.tenant !== tenant) {
      this.#deps.logger.warn({ connectionId: job.connectionId }, 'job for an unknown connection dropped');
      return;
    }
    switch (job.kind) {
      case 'status':
        return handleStatus(this.#ctx, binding, job);
      case 'event':
        return handleEvent(this.#ctx, batch, binding, job);
      case 'classic':
        return handleClassic(this.#ctx, batch, binding, job);
      case 'catch-up':
        return catchUp(this.#ctx, binding, job);
      case 'maintain':
        return maintain(this.#ctx, binding);
      default:
        job satisfies never;
    }
  }
}
