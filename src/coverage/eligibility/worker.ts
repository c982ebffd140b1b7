/**
 * The eligibility worker (queue `eligibility`): runs the checks the triggers (./triggers.ts) and
 * people (API, CLI) ask for (./check.ts). Jobs of one patient leased together run as one check,
 * with the strongest mode among them (now > pre-visit > if-stale). A patient not stored yet is
 * looked at again shortly; a payer that is down is retried with the queue's backoff (the same
 * bytes go out again); anything else is logged and dead-lettered after the job's attempts.
 */
import type { CodingTables } from '../../coding/tables/types.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { Logger } from '../../logger.ts';
import type { Job, Store, TenantId } from '../../store/port.ts';
import { keptThrough, LeaseKeeper, LeaseLost } from '../../store/lease-keeper.ts';
import { LoopingWorker } from '../../store/worker-loop.ts';
import type { CheckDeps, CheckMode, CheckResult, EligibilityJob } from './check.ts';
import { NotYetError, runCheck } from './check.ts';
import type { EligibilityEndpoint, EligibilityPayerPort } from './payer-client.ts';
import { createEligibilityPayerPort } from './payer-client.ts';
import { ELIGIBILITY_QUEUE, eligibilityWaitKey } from './records.ts';
import { enqueueEligibility } from './triggers.ts';

export interface EligibilityWorkerDeps {
  readonly store: Store;
  readonly tables: CodingTables;
  readonly logger: Logger;
  readonly publicUrl: string;
  readonly now: () => Date;
  /** The tenants with their payers (the sandbox adds its payers at run time). */
  readonly tenants: () => readonly TenantConfig[];
  /** A payer's eligibility port (tests); default SMART Backend Services over HTTP. */
  readonly payerPort?: (endpoint: EligibilityEndpoint) => EligibilityPayerPort;
  readonly leaseMs?: number;
  readonly pollMs?: number;
  readonly batchSize?: number;
  /**
   * Work that waits for a patient's check to end (a new claim: src/claims/workflow/build-and-scrub.ts,
   * a layer above): the queues whose jobs are deferred with `eligibilityWaitKey(patient)`.
   */
  readonly waiting?: readonly EligibilityWaiter[];
}

/** A queue whose jobs wait on patients' checks, and the nudge of the worker that leases it. */
export interface EligibilityWaiter {
  readonly queue: string;
  readonly notify: () => void;
}

const STRENGTH: Readonly<Record<CheckMode, number>> = { 'if-stale': 0, 'pre-visit': 1, now: 2 };

export class EligibilityWorker extends LoopingWorker {
  readonly #deps: EligibilityWorkerDeps;
  readonly #check: CheckDeps;
  readonly #ports = new Map<string, EligibilityPayerPort>();
  /** Results of jobs finished in this process, for the API waiting on them (kept a short while). */
  readonly #results = new Map<string, CheckResult>();

  constructor(deps: EligibilityWorkerDeps) {
    super({
      name: 'eligibility worker',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      now: deps.now,
    });
    // Its retries (a patient not stored yet, a payer down) wake its loop when due
    // (LoopingWorker.ownStore), not at the next poll.
    this.#deps = { ...deps, store: this.ownStore(deps.store, [ELIGIBILITY_QUEUE]) };
    this.#check = {
      store: this.#deps.store,
      tables: deps.tables,
      publicUrl: deps.publicUrl,
      now: deps.now,
      logger: deps.logger,
      tenant: (id) => deps.tenants().find((t) => t.id === id),
      port: (tenant, endpoint) => this.#port(tenant, endpoint),
    };
  }

  #port(tenant: TenantId, endpoint: EligibilityEndpoint): EligibilityPayerPort {
    const key = `${tenant}|${endpoint.payer}|${endpoint.channel}|${endpoint.url}|${endpoint.clientId}`;
    let port = this.#ports.get(key);
    if (!port) {
      port =
        this.#deps.payerPort?.(endpoint) ?? createEligibilityPayerPort(endpoint, { now: this.#deps.now });
      this.#ports.set(key, port);
    }
    return port;
  }

  async runOnce(): Promise<number> {
    const jobs = await this.#deps.store.jobs.lease({
      queue: ELIGIBILITY_QUEUE,
      leaseMs: this.#leaseMs(),
      limit: this.#deps.batchSize ?? 16,
      now: this.#deps.now(),
    });
    const groups = new Map<string, Job[]>();
    for (const job of jobs) {
      const patient = (job.payload as Partial<EligibilityJob> | undefined)?.patient ?? '';
      const key = `${job.tenant}|${patient}`;
      groups.set(key, [...(groups.get(key) ?? []), job]);
    }
    for (const group of groups.values()) {
      await this.#handle(group);
    }
    return jobs.length;
  }

  async #handle(jobs: readonly Job[]): Promise<void> {
    const strongest = [...jobs].sort(
      (a, b) => STRENGTH[(b.payload as EligibilityJob).mode] - STRENGTH[(a.payload as EligibilityJob).mode],
    )[0];
    if (!strongest) {
      return;
    }
    const payload = strongest.payload as Partial<EligibilityJob> | undefined;
    const ended = await this.#run(jobs, strongest, payload);
    if (ended && typeof payload?.patient === 'string') {
      await this.#wakeWaiting(strongest.tenant, payload.patient);
    }
  }

  /**
   * Runs the check of a patient's jobs and writes its end: the jobs acked, or failed (retried or
   * dead). Resolves false when the check did not end here: a job's lease was lost while a payer
   * answered (another worker runs it now).
   */
  async #run(
    jobs: readonly Job[],
    strongest: Job,
    payload: Partial<EligibilityJob> | undefined,
  ): Promise<boolean> {
    // A payer's answer can take longer than the lease: its calls keep the leases of all the jobs.
    const keeper = new LeaseKeeper({
      jobs: this.#deps.store.jobs,
      leased: jobs,
      leaseMs: this.#leaseMs(),
      now: this.#deps.now,
      onRenewalError: (err) =>
        this.#deps.logger.warn(
          { jobs: jobs.map((j) => j.id), err: (err as Error).message },
          'eligibility job lease not renewed; trying again',
        ),
    });
    const check: CheckDeps = {
      ...this.#check,
      port: (tenant, endpoint) => keptThrough(this.#port(tenant, endpoint), keeper),
    };
    try {
      if (payload?.kind !== 'check' || typeof payload.patient !== 'string' || !payload.mode) {
        this.#deps.logger.warn({ job: strongest.id }, 'eligibility job without a patient dropped');
      } else {
        const result = await runCheck(check, strongest.tenant, payload as EligibilityJob, strongest.key);
        for (const job of jobs) {
          this.#remember(job.id, result);
        }
        this.#deps.logger.info(
          {
            job: strongest.id,
            jobs: jobs.length,
            outcomes: result.outcomes.map((o) => ({
              payer: o.payer,
              state: o.state,
              findings: o.findings.length,
            })),
            ...(result.note ? { note: result.note } : {}),
          },
          'eligibility checked',
        );
      }
      for (const job of jobs) {
        await this.#deps.store.jobs.ack(job.id, job.leaseToken ?? '');
      }
      return true;
    } catch (err) {
      if (err instanceof LeaseLost) {
        // The new owner asks and records; this answer is not written over (or beside) its own. The
        // patient's other jobs still held here come back when their leases end, by when the
        // owner's answer is on file (an if-stale check then finds it fresh).
        this.#deps.logger.warn(
          { jobs: jobs.map((j) => j.id), lost: err.jobIds },
          'eligibility job lease lost during a payer call; its answer is left to the job owner',
        );
        return false;
      }
      const message = (err as Error).message;
      const retryAt =
        err instanceof NotYetError
          ? new Date(
              this.#deps.now().getTime() + 500 * 2 ** Math.min(strongest.attempts - 1, 4),
            ).toISOString()
          : undefined;
      this.#deps.logger.warn(
        { jobs: jobs.map((j) => j.id), attempts: strongest.attempts, err: message },
        'eligibility check not done; retried later',
      );
      for (const job of jobs) {
        await this.#deps.store.jobs.fail(job.id, job.leaseToken ?? '', {
          error: message,
          retryable: (err as { retryable?: boolean }).retryable !== false,
          now: this.#deps.now(),
          ...(retryAt ? { retryAt } : {}),
        });
      }
      return true;
    }
  }

  #leaseMs(): number {
    return this.#deps.leaseMs ?? 60_000;
  }

  /**
   * The patient's check has ended (answered, failed, or given up): nothing of it is under way any
   * more (`eligibilityUnderWay`), so the work waiting for it is made due now instead of at its next
   * look. Only after the end is written: a crash in between costs the waiting jobs their poll, and a
   * wake that fails is logged and left to the same poll.
   */
  async #wakeWaiting(tenant: TenantId, patient: string): Promise<void> {
    for (const waiter of this.#deps.waiting ?? []) {
      try {
        const woken = await this.#deps.store.jobs.wake(
          tenant,
          waiter.queue,
          eligibilityWaitKey(patient),
          this.#deps.now(),
        );
        if (woken > 0) {
          waiter.notify();
        }
      } catch (err) {
        this.#deps.logger.warn(
          { queue: waiter.queue, err: (err as Error).message },
          'could not wake the work waiting for an eligibility check; it looks again on its own',
        );
      }
    }
  }

  #remember(jobId: string, result: CheckResult): void {
    this.#results.set(jobId, result);
    if (this.#results.size > 1000) {
      const oldest = this.#results.keys().next().value;
      if (oldest !== undefined) {
        this.#results.delete(oldest);
      }
    }
  }

  /**
   * Asks for a check now (API, CLI) and waits up to `waitMs` for it: the result when this process ran
   * it in time, else undefined (the job stays queued and runs; its answers are kept in the store).
   */
  async ask(
    tenant: TenantId,
    patient: string,
    reason: string,
    waitMs: number,
  ): Promise<{ readonly jobId: string; readonly result?: CheckResult }> {
    const { jobId } = await enqueueEligibility(this.#deps.store, tenant, patient, reason);
    this.notify();
    const deadline = Date.now() + waitMs;
    for (;;) {
      const result = this.#results.get(jobId);
      if (result) {
        return { jobId, result };
      }
      const job = await this.#deps.store.jobs.getJob(jobId);
      if (job?.state === 'dead' || Date.now() >= deadline) {
        return { jobId };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
