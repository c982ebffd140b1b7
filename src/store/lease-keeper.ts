/**
 * Keeping a job's lease while its worker waits on something outside that can be slow: a payer's
 * answer to `Claim/$submit`, `$inquire` or a 270. A lease (`JOB_LEASE_MS`) that runs out while the
 * call is in flight lets another worker lease the job and make the same call again: the payer gets
 * the same prior authorization request or claim twice. A `LeaseKeeper` renews the leases of the
 * jobs a worker is running (`JobQueue.extendLease`) every third of the lease while a call runs, on
 * the worker's clock, and stops when the call ends; no transaction is held across the call (each
 * renewal is one short write of its own).
 *
 * A lease can still be lost: the store unreachable for a whole lease, the process paused, or a job
 * whose lease ran out while the jobs before it in its batch ran. Then another worker owns the job
 * and does its work: the call's answer is not this worker's to record, and `during` rejects with
 * `LeaseLost` instead of handing it back (nor is a call made for a job found lost before it). The
 * worker logs that and leaves the job to its owner: no ack, no failure, no work item. The answer
 * rides on the `LeaseLost` (`resolvedWith`) for a worker whose call made something the new owner
 * will make again (a PAS subscription: ../coverage/pas/subscription-orphan.ts).
 */
import type { Job, JobQueue } from './port.ts';

/** Another worker owns the job now: whatever this worker's call brought back is not to be recorded. */
export class LeaseLost extends Error {
  /** The jobs whose leases were found taken. */
  readonly jobIds: readonly string[];
  /**
   * What the call resolved with when it was made and answered though the lease was lost meanwhile:
   * not to be recorded, but the worker may have to undo what it made outside (a subscription the
   * new owner makes again). Absent when the call was not made, or rejected.
   */
  readonly resolvedWith?: { readonly value: unknown };

  constructor(jobIds: readonly string[], resolvedWith?: { readonly value: unknown }) {
    super(`the lease of job ${jobIds.join(', ')} was lost while it ran: another worker owns it`);
    this.name = 'LeaseLost';
    this.jobIds = jobIds;
    if (resolvedWith) {
      this.resolvedWith = resolvedWith;
    }
  }
}

export interface LeaseKeeperOptions {
  readonly jobs: Pick<JobQueue, 'extendLease'>;
  /** The jobs whose leases the work runs under (one eligibility check runs several of a patient's). */
  readonly leased: readonly Pick<Job, 'id' | 'leaseToken' | 'leaseExpiresAt'>[];
  /** The length of each renewal: the worker's lease. */
  readonly leaseMs: number;
  /** The worker's clock (the leases' expiries are on it). */
  readonly now: () => Date;
  /** A renewal the store did not answer: the lease may still hold, and the next renewal tries again. */
  readonly onRenewalError?: (err: unknown) => void;
}

export class LeaseKeeper {
  readonly #options: LeaseKeeperOptions;
  /** Job id → when its lease expires as last renewed (ms, the worker's clock). */
  readonly #expires = new Map<string, number>();
  readonly #lost: string[] = [];

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
    for (const job of options.leased) {
      this.#expires.set(
        job.id,
        job.leaseExpiresAt ? Date.parse(job.leaseExpiresAt) : Number.NEGATIVE_INFINITY,
      );
    }
  }

  /** Whether a renewal found one of the leases taken. */
  get lost(): boolean {
    return this.#lost.length > 0;
  }

  /**
   * Runs `call` with the leases kept: renewed first when a third of the lease or more has gone
   * (the jobs before it in the batch took that long), then every third of the lease until it
   * settles. Resolves or rejects as the call did while the leases hold; rejects with `LeaseLost`,
   * whatever the call did, once one was taken (a call is not even made for a job already lost).
   */
  async during<T>(call: () => Promise<T>): Promise<T> {
    const { leaseMs, now } = this.#options;
    if (this.#earliestExpiry() - now().getTime() < (leaseMs * 2) / 3) {
      await this.#renew();
    }
    this.#throwIfLost();
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let renewing: Promise<void> = Promise.resolve();
    const schedule = (): void => {
      timer = setTimeout(
        () => {
          renewing = this.#renew()
            .catch((err: unknown) => this.#options.onRenewalError?.(err))
            .then(() => {
              if (!stopped && !this.lost) {
                schedule();
              }
            });
        },
        Math.max(1, Math.floor(leaseMs / 3)),
      );
    };
    schedule();
    let settled: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      settled = { ok: true, value: await call() };
    } catch (error) {
      settled = { ok: false, error };
    } finally {
      stopped = true;
      clearTimeout(timer);
      await renewing;
    }
    // Renewals that failed (the store unreachable) may have let a lease run out meanwhile: only the
    // store can say whether another worker took it.
    if (!this.lost && this.#earliestExpiry() <= now().getTime()) {
      await this.#renew();
    }
    this.#throwIfLost(settled.ok ? { value: settled.value } : undefined);
    if (!settled.ok) {
      throw settled.error;
    }
    return settled.value;
  }

  #earliestExpiry(): number {
    return Math.min(...this.#expires.values());
  }

  #throwIfLost(resolvedWith?: { readonly value: unknown }): void {
    if (this.lost) {
      throw new LeaseLost(this.#lost, resolvedWith);
    }
  }

  /** One renewal of each lease still held; one found taken is lost for good. */
  async #renew(): Promise<void> {
    const { jobs, leased, leaseMs, now } = this.#options;
    for (const job of leased) {
      if (this.#lost.includes(job.id)) {
        continue;
      }
      const at = now();
      if (await jobs.extendLease(job.id, job.leaseToken ?? '', { leaseMs, now: at })) {
        this.#expires.set(job.id, Math.max(this.#expires.get(job.id) ?? 0, at.getTime() + leaseMs));
      } else {
        this.#lost.push(job.id);
      }
    }
  }
}

/**
 * `port` with each of its calls made under `keeper` (`LeaseKeeper.during`): a payer port handed to
 * code that calls it without knowing of leases.
 */
export function keptThrough<P extends object>(port: P, keeper: LeaseKeeper): P {
  return new Proxy(port, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function') {
        return value;
      }
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) => keeper.during(() => method.apply(target, args));
    },
  });
}
