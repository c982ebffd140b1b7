/**
 * The claim workflow worker: from final charges to a submitted, tracked claim. It only wires the
 * steps together and runs them on its durable queues:
 *
 * - the sweep (./sweep.ts) finds finished, billable encounters without a claim and enqueues their
 *   build (`claim-ready`), takes adjudicated claims over for correction (./corrections.ts), and
 *   rechecks held claims whose inputs changed (./recheck.ts);
 * - a build job gathers the claim's inputs (./gather.ts), builds and scrubs it
 *   (./build-and-scrub.ts) → `held` with a Task (./tasks.ts) or `ready`;
 * - a submit job (`claim-submit`) sends a ready claim to its FHIR payer (./submission.ts); X12
 *   claims wait for their batch file (src/claims/x12-batch.ts → markSentInBatch);
 * - people override and resubmit (./actions.ts).
 *
 * Every move is a new version of the Claim (store history) with a Provenance naming it, checked and
 * written by the state machine (./state.ts, ./move.ts); extension claim-state holds the state,
 * claim-state-since when it was entered.
 */
import type { DocumentReference } from '@medplum/fhirtypes';
import { JobMustWait, retryDelayMs } from '../../store/job-policy.ts';
import type { Job, TenantId } from '../../store/port.ts';
import { LeaseKeeper, LeaseLost } from '../../store/lease-keeper.ts';
import { LoopingWorker } from '../../store/worker-loop.ts';
import type { ClaimContext, ClaimState, ScrubFinding } from '../types.ts';
import type { ClaimAction } from './actions.ts';
import { overrideClaim, resubmitClaim } from './actions.ts';
import { buildAndScrub } from './build-and-scrub.ts';
import type { ClaimWorkflowDeps, WorkflowContext } from './context.ts';
import { createWorkflowContext, DEFAULT_SWEEP_MS } from './context.ts';
import { loadClaimContext } from './gather.ts';
import type { ClaimReadyJob, ClaimStepResult, ClaimSubmitJob } from './jobs.ts';
import { CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE } from './jobs.ts';
import { markSentInBatch, PayerPorts, recordSubmitFailure, submitClaim } from './submission.ts';
import { BillingSweep } from './sweep.ts';

/** A claim job's lease when the deps name none. */
const DEFAULT_LEASE_MS = 120_000;

export class ClaimWorkflowWorker extends LoopingWorker {
  readonly #ctx: WorkflowContext;
  readonly #sweep: BillingSweep;
  readonly #ports: PayerPorts;
  #lastSweep = 0;
  #sweeps = 0;
  /** Callers of sweepNow, answered when the loop's next sweep has finished. */
  #asked: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(deps: ClaimWorkflowDeps) {
    super({
      name: 'claim workflow',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    });
    // Its retries and defers (a claim waiting for its patient's eligibility check) wake its loop
    // when due (LoopingWorker.ownStore), not at the next poll.
    this.#ctx = createWorkflowContext(
      { ...deps, store: this.ownStore(deps.store, [CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE]) },
      () => this.notify(),
    );
    this.#sweep = new BillingSweep(this.#ctx);
    this.#ports = new PayerPorts(this.#ctx);
  }

  /**
   * Sweeps of every tenant this worker's loop has finished. A caller waiting for a sweep asks for
   * one (`sweepNow`) rather than watching this count: the sweep that answers began after the ask.
   */
  get sweeps(): number {
    return this.#sweeps;
  }

  /**
   * Sweeps at the loop's next turn instead of when `sweepMs` is next due, and resolves once that
   * sweep has finished (rejects when it failed, or when the worker stops first): for a caller that
   * knows the charges it waits on are final — charge capture idle — and would otherwise wait out
   * the interval (up to 5 s by default). The sweep is the loop's own, never one beside it: a
   * tenant's sweep keeps a watermark and the encounters it left pending, which two at once would
   * overwrite. Answered only while the worker runs (`start()`).
   */
  sweepNow(): Promise<void> {
    const swept = new Promise<void>((resolve, reject) => {
      this.#asked.push({ resolve, reject });
    });
    this.notify();
    return swept;
  }

  override async stop(): Promise<void> {
    await super.stop();
    for (const asked of this.#asked.splice(0)) {
      asked.reject(new Error('the claim workflow worker stopped before the sweep asked for'));
    }
  }

  /** Sweeps when due or asked, then leases and processes one batch of each queue; returns the jobs handled. */
  async runOnce(): Promise<number> {
    const { deps, now } = this.#ctx;
    const started = now();
    const asked = this.#asked.splice(0);
    if (asked.length > 0 || started.getTime() - this.#lastSweep >= (deps.sweepMs ?? DEFAULT_SWEEP_MS)) {
      this.#lastSweep = started.getTime();
      try {
        for (const tenant of deps.tenants) {
          await this.sweep(tenant.id);
        }
      } catch (err) {
        for (const caller of asked) {
          caller.reject(err);
        }
        throw err;
      }
      this.#sweeps += 1;
      for (const caller of asked) {
        caller.resolve();
      }
    }
    let handled = 0;
    for (const queue of [CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE]) {
      const jobs = await deps.store.jobs.lease({
        queue,
        leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS,
        limit: deps.batchSize ?? 16,
        now: now(),
      });
      for (const job of jobs) {
        await this.#handle(job);
      }
      handled += jobs.length;
    }
    return handled;
  }

  /**
   * Enqueues a build job for every group of finished, billable encounters without a claim, once
   * the tenant's charge capture is idle (./sweep.ts). Returns the number of jobs newly enqueued.
   */
  async sweep(tenant: TenantId): Promise<number> {
    return this.#sweep.sweep(tenant);
  }

  /** Builds (if not yet stored), scrubs and holds or readies the claim of these encounters. */
  async buildAndScrub(tenant: TenantId, job: ClaimReadyJob): Promise<ClaimStepResult> {
    return buildAndScrub(this.#ctx, tenant, job);
  }

  /** Submits a ready claim (or finishes an interrupted submission) to its FHIR payer. */
  async submit(tenant: TenantId, job: ClaimSubmitJob): Promise<ClaimStepResult> {
    return submitClaim(this.#ctx, this.#ports, tenant, job);
  }

  /** Everything a stored claim's X12 rendering needs (the same context the scrubber reads). */
  async loadContext(tenant: TenantId, claimId: string): Promise<ClaimContext | undefined> {
    return loadClaimContext(this.#ctx, tenant, claimId);
  }

  /** X12 channel: the claims of a batch file move `ready` → `submitted` with the file, in one transaction. */
  async markSentInBatch(
    tenant: TenantId,
    claimIds: readonly string[],
    batch: { document: DocumentReference & { id: string }; clientId: string; reason: string },
  ): Promise<void> {
    return markSentInBatch(this.#ctx, tenant, claimIds, batch);
  }

  /** A person releases a held claim whose remaining errors are all overridable (audited). */
  async override(
    tenant: TenantId,
    claimId: string,
    input: ClaimAction,
  ): Promise<{ ok: boolean; state?: ClaimState; blocking: ScrubFinding[]; status: number; message: string }> {
    return overrideClaim(this.#ctx, tenant, claimId, input);
  }

  /** A person sends a rejected claim (or one whose attempts ran out) again (audited). */
  async resubmit(
    tenant: TenantId,
    claimId: string,
    input: ClaimAction,
  ): Promise<{ ok: boolean; state?: ClaimState; status: number; message: string }> {
    return resubmitClaim(this.#ctx, tenant, claimId, input);
  }

  /** Runs one job; a failure is retried with backoff (a submit job's failure goes on the claim's history). */
  async #handle(job: Job): Promise<void> {
    const ctx = this.#ctx;
    const store = ctx.store;
    try {
      const result =
        job.queue === CLAIM_READY_QUEUE
          ? await this.buildAndScrub(job.tenant, job.payload as ClaimReadyJob)
          : await submitClaim(
              ctx,
              this.#ports,
              job.tenant,
              job.payload as ClaimSubmitJob,
              // The payer's answer can take longer than the lease: its calls keep the job's lease.
              new LeaseKeeper({
                jobs: store.jobs,
                leased: [job],
                leaseMs: ctx.deps.leaseMs ?? DEFAULT_LEASE_MS,
                now: ctx.now,
                onRenewalError: (err) =>
                  ctx.logger.warn(
                    { job: job.id, err: (err as Error).message },
                    'claim submit job lease not renewed; trying again',
                  ),
              }),
            );
      ctx.logger.debug({ job: job.id, queue: job.queue, ...result }, 'claim step done');
      await store.jobs.ack(job.id, job.leaseToken ?? '');
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof LeaseLost) {
        // Another worker leased the job while the payer answered: the claim stays `submitting`, and
        // the owner asks the payer for its answer to the submission key before sending anything.
        ctx.logger.warn(
          { job: job.id, queue: job.queue },
          'claim submit job lease lost during a payer call; its answer is left to the job owner',
        );
        return;
      }
      if (err instanceof JobMustWait) {
        ctx.logger.debug({ job: job.id, queue: job.queue, err: message }, 'claim step waits');
        await store.jobs.defer(job.id, job.leaseToken ?? '', {
          runAt: new Date(ctx.now().getTime() + err.waitMs).toISOString(),
          reason: message,
          now: ctx.now(),
          ...(err.waitKey !== undefined ? { waitKey: err.waitKey } : {}),
        });
        return;
      }
      const delay = ctx.deps.retryDelayMs?.(job.attempts) ?? retryDelayMs(job.attempts);
      const retryAt = new Date(ctx.now().getTime() + delay).toISOString();
      const last = job.attempts >= job.maxAttempts;
      ctx.logger.warn(
        { job: job.id, queue: job.queue, attempts: job.attempts, last, err: message },
        last ? 'claim step failed; no attempts left' : 'claim step failed; retrying',
      );
      if (job.queue === CLAIM_SUBMIT_QUEUE) {
        await recordSubmitFailure(ctx, job, message, last ? undefined : retryAt).catch((e: unknown) => {
          ctx.logger.warn(
            { job: job.id, err: (e as Error).message },
            'could not record the failed attempt on the claim',
          );
        });
      }
      await store.jobs.fail(job.id, job.leaseToken ?? '', {
        error: message,
        retryable: true,
        now: ctx.now(),
        retryAt,
      });
    }
  }
}
