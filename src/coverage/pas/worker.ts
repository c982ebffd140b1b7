/**
 * The prior authorization worker (queue `prior-auth`): its loop leases the queue's jobs, keeps each
 * job's lease through the payer's answers, and hands each job to what it is about. An order received
 * from the EHR, or asked for through the API or CLI, becomes a PAS request when the payer's rules
 * say its drug needs one; the request is built and validated against the PAS profiles, kept
 * (Claim + the exact Bundle) and only then sent, so a retry sends the same bytes and an order
 * version never leads to two different requests; answers, notifications and inquiries are applied
 * by ./answers.ts. After a job's last attempt a person is told (./gave-up.ts).
 *
 * Jobs (durable, keyed so the same event twice is one job):
 * - `order` (./order-request.ts): plan (./order-plan.ts), then the initial request, a Claim
 *   Update (the order's units or dates changed) or a cancel (the order was withdrawn, or the API
 *   asked); key `order|{id}|{version}`;
 * - `send` (./send.ts): POST the kept Bundle to the payer's `Claim/$submit` (payer down: retried
 *   with backoff; after the last attempt a person is told, and asking again queues a new send);
 * - `notification`: a payer's subscription notification, matched to this tenant's request;
 * - `inquire`: `$inquire` for a pended request on the payer's slow schedule (`pas.inquireMinutes`;
 *   backing off to a day where the payer notifies: ./inquiry-schedule.ts), one round at a time per
 *   case (./follow-up.ts): how a payer without a subscription is followed, and at a subscribed payer
 *   the fallback when no notification has decided the request by then; a person's ask runs the
 *   waiting round now; after the last attempt of a round a person is told, and asking again
 *   inquires again; on start, a pended request no round follows gets one (resumeRounds);
 * - `subscribe` (./subscribe.ts): make sure the tenant's PAS subscription at a payer exists;
 * - `unsubscribe`: delete one Dripline made and does not keep (./subscription-orphan.ts);
 * - `sweep-subscriptions`: after a create that got no answer, find and delete what it may have
 *   left at the payer (./subscription-orphan.ts);
 * - `check-subscription`: a kept subscription silent past its heartbeat period gets a `$status`,
 *   and what was missed is inquired (./subscription-check.ts);
 * - `recover-events`: events a notification showed were never received are asked back with the
 *   payer's `$events`, else inquired, after the IG's wait for one still on its way
 *   (./subscription-recovery.ts);
 * - `purge-finished`: finished housekeeping jobs (checks, recoveries) past their retention are
 *   purged (./retention.ts); the worker queues one per tenant per hour.
 */
import { randomUUID } from 'node:crypto';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { Logger } from '../../logger.ts';
import type { Job, Store, TenantId } from '../../store/port.ts';
import { keptThrough, LeaseKeeper, LeaseLost } from '../../store/lease-keeper.ts';
import { LoopingWorker } from '../../store/worker-loop.ts';
import type { AnswerContext } from './answers.ts';
import type { PriorAuthTable } from './auth-rules.ts';
import { applyNotification, inquire, resumeRounds } from './follow-up.ts';
import type { FollowUpContext } from './follow-up.ts';
import { tellGaveUp } from './gave-up.ts';
import type { PriorAuthJob } from './jobs.ts';
import type { OrderContext } from './order-request.ts';
import { runOrder } from './order-request.ts';
import type { PasPayerPort } from './payer-client.ts';
import { createPasPayerPort, PasPayerUnavailable } from './payer-client.ts';
import { PRIOR_AUTH_QUEUE } from './records.ts';
import { runSend } from './send.ts';
import { ensureSubscription } from './subscribe.ts';
import { runSweep, runUnsubscribe } from './subscription-orphan.ts';
import { runSubscriptionCheck, startChecks } from './subscription-check.ts';
import { runEventRecovery } from './subscription-recovery.ts';
import {
  DEFAULT_HOUSEKEEPING_RETENTION_MS,
  enqueuePurge,
  purgeFinishedHousekeeping,
  purgeKey,
} from './retention.ts';

export interface PriorAuthWorkerDeps {
  readonly store: Store;
  /** The tenants with their payers (sandbox payers are added at run time). */
  readonly tenants: () => readonly TenantConfig[];
  readonly tables: CodingTables;
  readonly logger: Logger;
  readonly publicUrl: string;
  readonly now: () => Date;
  readonly leaseMs?: number;
  readonly pollMs?: number;
  readonly priorAuth?: PriorAuthTable;
  /** The PAS port of a payer (tests); default SMART Backend Services over HTTP. */
  readonly payerPort?: (payer: PayerEndpoint) => PasPayerPort;
  /** How long finished housekeeping jobs are kept (./retention.ts; default two weeks). */
  readonly finishedJobRetentionMs?: number;
}

export class PriorAuthWorker extends LoopingWorker {
  readonly #deps: PriorAuthWorkerDeps;
  readonly #ports = new Map<string, PasPayerPort>();
  /** The first batch after `start()` resumes the tenants' inquiry rounds first (#resumeRounds). */
  #resume = false;
  /** The purge job (./retention.ts purgeKey) this worker last queued, by tenant. */
  readonly #purgeQueued = new Map<TenantId, string>();

  constructor(deps: PriorAuthWorkerDeps) {
    super({
      name: 'prior authorization worker',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      now: deps.now,
    });
    // Its retries and the inquiries it schedules wake its loop when due (LoopingWorker.ownStore),
    // not at the next poll.
    this.#deps = { ...deps, store: this.ownStore(deps.store, [PRIOR_AUTH_QUEUE]) };
  }

  override start(): void {
    this.#resume = true;
    super.start();
  }

  /**
   * Each tenant's pended requests that no inquiry round follows get one (resumeRounds): those
   * pended at a subscribed payer before rounds followed requests there, and any whose last round
   * died. Once per start, in the loop (never beside a batch); a tenant it fails for is logged and
   * left to the next start (or a person's ask).
   */
  async #resumeRounds(): Promise<void> {
    for (const tenant of this.#deps.tenants()) {
      try {
        const queued = await resumeRounds(this.#followUpContext(), tenant.id);
        const checks = await startChecks(this.#followUpContext(), tenant.id);
        this.#deps.logger.info(
          { tenant: tenant.id, queued, checks },
          'prior authorization inquiry rounds resumed, subscription checks started',
        );
      } catch (err) {
        this.#deps.logger.warn(
          { tenant: tenant.id, err: (err as Error).message },
          'prior authorization inquiry rounds not resumed',
        );
      }
    }
  }

  async runOnce(): Promise<number> {
    if (this.#resume) {
      this.#resume = false;
      await this.#resumeRounds();
    }
    await this.#queuePurges();
    const leaseMs = this.#deps.leaseMs ?? 60_000;
    const jobs = await this.#deps.store.jobs.lease({
      queue: PRIOR_AUTH_QUEUE,
      leaseMs,
      limit: 8,
      now: this.#deps.now(),
    });
    for (const job of jobs) {
      // The payer's answer can take longer than the lease: its calls keep the job's lease.
      const keeper = new LeaseKeeper({
        jobs: this.#deps.store.jobs,
        leased: [job],
        leaseMs,
        now: this.#deps.now,
        onRenewalError: (err) =>
          this.#deps.logger.warn(
            { job: job.id, err: (err as Error).message },
            'prior authorization job lease not renewed; trying again',
          ),
      });
      try {
        await this.#handle(job, keeper);
        await this.#deps.store.jobs.ack(job.id, job.leaseToken ?? '');
      } catch (err) {
        if (err instanceof LeaseLost) {
          // Another worker leased the job while the payer answered: it makes the call and records
          // its answer. Recording this one too could put an older answer over the owner's.
          this.#deps.logger.warn(
            { job: job.id, kind: job.key.split('|')[0], tenant: job.tenant },
            'prior authorization job lease lost during a payer call; its answer is left to the job owner',
          );
          continue;
        }
        const retryable = (err as { retryable?: unknown }).retryable === true;
        this.#deps.logger.warn(
          { job: job.key.split('|')[0], attempts: job.attempts, err: (err as Error).message },
          'prior authorization job failed',
        );
        if (job.attempts >= job.maxAttempts || !retryable) {
          await tellGaveUp(this.#followUpContext(), job, err as Error).catch(() => undefined);
        }
        await this.#deps.store.jobs.fail(job.id, job.leaseToken ?? '', {
          error: (err as Error).message,
          retryable,
          now: this.#deps.now(),
        });
      }
    }
    return jobs.length;
  }

  /**
   * Each tenant's purge job of this hour, queued once per hour by this worker (a map look a batch
   * otherwise); other workers queue the same key, so it is one job. One not queued (the store
   * failed) is tried again at the next batch.
   */
  async #queuePurges(): Promise<void> {
    const now = this.#deps.now();
    const key = purgeKey(now);
    for (const tenant of this.#deps.tenants()) {
      if (this.#purgeQueued.get(tenant.id) === key) {
        continue;
      }
      try {
        await enqueuePurge(this.#deps.store, tenant.id, now);
        this.#purgeQueued.set(tenant.id, key);
      } catch (err) {
        this.#deps.logger.warn(
          { tenant: tenant.id, err: (err as Error).message },
          'PAS housekeeping purge not queued; trying again',
        );
      }
    }
  }

  #tenant(id: TenantId): TenantConfig {
    const tenant = this.#deps.tenants().find((t) => t.id === id);
    if (!tenant) {
      throw new Error(`unknown tenant ${id}`);
    }
    return tenant;
  }

  #port(payer: PayerEndpoint): PasPayerPort {
    const key = `${payer.id}|${payer.pas?.fhirBaseUrl ?? ''}|${payer.clientId ?? ''}`;
    let port = this.#ports.get(key);
    if (!port) {
      port = this.#deps.payerPort?.(payer) ?? createPasPayerPort(payer, { now: this.#deps.now });
      this.#ports.set(key, port);
    }
    return port;
  }

  /** With `keeper`: each payer call keeps the lease of the job in hand (LeaseKeeper.during). */
  #followUpContext(keeper?: LeaseKeeper): FollowUpContext {
    return {
      store: this.#deps.store,
      publicUrl: this.#deps.publicUrl,
      now: this.#deps.now,
      logger: this.#deps.logger,
      tenant: (id) => this.#tenant(id),
      port: (payer) => (keeper ? keptThrough(this.#port(payer), keeper) : this.#port(payer)),
      answers: (tenant) => this.#context(tenant),
    };
  }

  #orderContext(): OrderContext {
    return {
      ...this.#followUpContext(),
      tables: this.#deps.tables,
      ...(this.#deps.priorAuth ? { priorAuth: this.#deps.priorAuth } : {}),
      notify: () => this.notify(),
    };
  }

  #context(tenant: TenantId): AnswerContext {
    return {
      store: this.#deps.store,
      tenant,
      publicUrl: this.#deps.publicUrl,
      now: this.#deps.now(),
      newId: randomUUID,
    };
  }

  async #handle(job: Job, keeper: LeaseKeeper): Promise<void> {
    const payload = job.payload as PriorAuthJob;
    switch (payload.kind) {
      case 'order':
        return runOrder(this.#orderContext(), job.tenant, payload);
      case 'send':
        return runSend(this.#followUpContext(keeper), job.tenant, payload);
      case 'notification':
        return applyNotification(this.#followUpContext(), job.tenant, payload);
      case 'inquire':
        return inquire(this.#followUpContext(keeper), job.tenant, payload);
      case 'subscribe':
        return ensureSubscription(this.#followUpContext(keeper), job.tenant, payload.payer);
      case 'unsubscribe':
        return runUnsubscribe(this.#followUpContext(keeper), job.tenant, payload);
      case 'sweep-subscriptions':
        return runSweep(this.#followUpContext(keeper), job.tenant, payload);
      case 'check-subscription':
        return runSubscriptionCheck(this.#followUpContext(keeper), job.tenant, payload);
      case 'recover-events':
        return runEventRecovery(this.#followUpContext(keeper), job.tenant, payload, job.attempts);
      case 'purge-finished':
        await purgeFinishedHousekeeping(
          this.#deps,
          job.tenant,
          this.#deps.finishedJobRetentionMs ?? DEFAULT_HOUSEKEEPING_RETENTION_MS,
        );
        return;
    }
  }
}

export { PasPayerUnavailable };
export { enqueueOrder, priorAuthJobsFor } from './jobs.ts';
export type { PriorAuthJob } from './jobs.ts';
