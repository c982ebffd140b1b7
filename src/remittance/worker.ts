/**
 * The remittance worker: runs the posting jobs of received 835 files (./post-file.ts) on its
 * durable queue, one job at a time per lease, and the FHIR payers' answers the claim workflow
 * enqueued (CLAIM_ANSWER_QUEUE, ./post-answer.ts), a few per lease; retried with backoff when a
 * step fails.
 */
import { retryDelayMs } from '../store/job-policy.ts';
import type { ClaimAnswerJob } from '../claims/workflow/jobs.ts';
import { CLAIM_ANSWER_QUEUE } from '../claims/workflow/jobs.ts';
import type { Job } from '../store/port.ts';
import { LoopingWorker } from '../store/worker-loop.ts';
import type { RemittancePostJob } from './jobs.ts';
import { REMITTANCE_POST_QUEUE } from './jobs.ts';
import type { FilePostingContext, FilePostingResult } from './post-file.ts';
import { postRemittanceFile } from './post-file.ts';
import type { AnswerPostResult } from './post-answer.ts';
import { postClaimAnswer } from './post-answer.ts';
import { sweepFixAvailable } from './work/fix-available.ts';

export interface RemittanceWorkerDeps extends FilePostingContext {
  readonly leaseMs: number;
  readonly pollMs?: number;
  /** How often denial work items are looked at for a fix now available (./work/fix-available.ts); default 60 s. */
  readonly fixSweepMs?: number;
}

export class RemittanceWorker extends LoopingWorker {
  readonly #deps: RemittanceWorkerDeps;
  #lastFixSweep = 0;

  constructor(deps: RemittanceWorkerDeps) {
    super({
      name: 'remittance',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      now: deps.now,
    });
    // Its retries wake its loop when due (LoopingWorker.ownStore), not at the next poll.
    this.#deps = { ...deps, store: this.ownStore(deps.store, [REMITTANCE_POST_QUEUE, CLAIM_ANSWER_QUEUE]) };
  }

  /** Leases and runs one file posting job and up to 16 answers to post; returns the number of jobs handled. */
  async runOnce(): Promise<number> {
    const { store, now, leaseMs } = this.#deps;
    const jobs = await store.jobs.lease({ queue: REMITTANCE_POST_QUEUE, leaseMs, limit: 1, now: now() });
    for (const job of jobs) {
      await this.#handle(job);
    }
    const answers = await store.jobs.lease({ queue: CLAIM_ANSWER_QUEUE, leaseMs, limit: 16, now: now() });
    for (const job of answers) {
      await this.#handleAnswer(job);
    }
    await this.#sweepFixesIfDue();
    return jobs.length + answers.length;
  }

  /** The fix-available sweep of every tenant, at most every `fixSweepMs`. */
  async #sweepFixesIfDue(): Promise<void> {
    const at = this.#deps.now().getTime();
    if (at - this.#lastFixSweep < (this.#deps.fixSweepMs ?? 60_000)) {
      return;
    }
    this.#lastFixSweep = at;
    for (const tenant of this.#deps.tenants()) {
      try {
        const { moved } = await sweepFixAvailable(this.#deps, tenant.id);
        if (moved.length > 0) {
          this.#deps.logger.info(
            { tenant: tenant.id, moved: moved.length },
            'denial work items: fix available',
          );
        }
      } catch (err) {
        this.#deps.logger.warn(
          { tenant: tenant.id, err: (err as Error).message },
          'fix-available sweep failed',
        );
      }
    }
  }

  async #handleAnswer(job: Job): Promise<AnswerPostResult | undefined> {
    const { store, logger, now } = this.#deps;
    try {
      const result = await postClaimAnswer(this.#deps, job.tenant, job.payload as ClaimAnswerJob);
      logger.info(
        {
          tenant: job.tenant,
          job: job.id,
          kind: result.kind,
          ...(result.kind === 'skipped' ? { reason: result.reason } : { eob: result.eob }),
        },
        "payer's answer posted",
      );
      await store.jobs.ack(job.id, job.leaseToken ?? '');
      return result;
    } catch (err) {
      const message = (err as Error).message;
      logger.warn(
        { tenant: job.tenant, job: job.id, attempts: job.attempts, err: message },
        "posting a payer's answer failed; retrying",
      );
      await store.jobs.fail(job.id, job.leaseToken ?? '', {
        error: message,
        retryable: true,
        now: now(),
        retryAt: new Date(now().getTime() + retryDelayMs(job.attempts)).toISOString(),
      });
      return undefined;
    }
  }

  /**
   * Leases and runs one posting job (the command line posts in its own process this way): its
   * result, `undefined` when no job was waiting; throws when the step failed (the job is kept
   * for a retry).
   */
  async runStep(): Promise<FilePostingResult | undefined> {
    const { store, now, leaseMs } = this.#deps;
    const [job] = await store.jobs.lease({ queue: REMITTANCE_POST_QUEUE, leaseMs, limit: 1, now: now() });
    if (!job) {
      return undefined;
    }
    const result = await this.#handle(job);
    if (!result) {
      throw new Error(`posting ${(job.payload as RemittancePostJob).document} failed; it will be retried`);
    }
    return result;
  }

  async #handle(job: Job): Promise<FilePostingResult | undefined> {
    const { store, logger, now } = this.#deps;
    try {
      const result = await postRemittanceFile(this.#deps, job.tenant, job.payload as RemittancePostJob);
      logger.info(
        {
          tenant: job.tenant,
          job: job.id,
          posted: result.posted,
          unmatched: result.unmatched,
          already: result.already,
          reconciliations: result.reconciliations.length,
          continues: result.next !== undefined,
        },
        'remittance posted',
      );
      await store.jobs.ack(job.id, job.leaseToken ?? '');
      if (result.next) {
        this.notify();
      }
      return result;
    } catch (err) {
      const message = (err as Error).message;
      const retryAt = new Date(now().getTime() + retryDelayMs(job.attempts)).toISOString();
      logger.warn(
        { tenant: job.tenant, job: job.id, attempts: job.attempts, err: message },
        'remittance posting failed; retrying',
      );
      await store.jobs.fail(job.id, job.leaseToken ?? '', {
        error: message,
        retryable: true,
        now: now(),
        retryAt,
      });
      return undefined;
    }
  }
}
