/**
 * Wires ingest together: connection bindings from config, the subscription directory shared by
 * the receiver and the subscription manager, the worker, and a scheduler that enqueues one
 * `maintain` job per connection per interval (the idempotency key makes it one across processes).
 */
import type { Router } from 'express';
import type { DriplineConfig, EhrConnectionConfig } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { Store, TenantId } from '../store/port.ts';
import type { IngestJob } from './jobs.ts';
import { INGEST_QUEUE, jobKeys } from './jobs.ts';
import type { ConnectionBinding } from './receiver.ts';
import { createNotificationReceiver, SubscriptionDirectory } from './receiver.ts';
import type { NotificationReceiver } from './receiver.ts';
import type { EhrSubscriptionsPort } from './subscription-manager.ts';
import { SubscriptionManager } from './subscription-manager.ts';
import type { EhrPort } from './ehr-port.ts';
import { IngestWorker } from './worker.ts';
import { DAY_MS } from '../time/clock.ts';
import type { IngestWorkerDeps } from './worker-context.ts';

export type EhrClientPort = EhrPort & EhrSubscriptionsPort;

export interface IngestDeps {
  readonly config: DriplineConfig;
  readonly store: Store;
  readonly logger: Logger;
  readonly ehrFor: (connection: EhrConnectionConfig) => EhrClientPort;
  /** Connections added at run time (the in-process sandbox EHR), by tenant. */
  readonly extraConnections?: readonly { tenant: TenantId; connection: EhrConnectionConfig }[];
  readonly now?: () => Date;
  /** Scheduler tick; maintenance itself runs per connection interval. */
  readonly tickMs?: number;
  readonly gapGraceMs?: number;
  /** `_count` of catch-up searches (tests; default 100). */
  readonly catchUpPageSize?: number;
  /** How long finished ingest jobs are kept (tests; default the config's `ingestJobRetentionDays`). */
  readonly finishedJobRetentionMs?: number;
  /** Jobs a stored copy starts in capabilities above ingest (the worker's `jobsForCopy`). */
  readonly jobsForCopy?: IngestWorkerDeps['jobsForCopy'];
  /** Whether charge capture could code an encounter's version (the worker's `mayBeCoded`). */
  readonly mayBeCoded?: IngestWorkerDeps['mayBeCoded'];
}

export interface Ingest {
  readonly router: Router;
  /** The receiver behind `router`, for a lean notification route (src/http/lean-route.ts). */
  readonly receiver: NotificationReceiver;
  readonly worker: IngestWorker;
  readonly connections: ReadonlyMap<string, ConnectionBinding>;
  /** Subscription secrets by connection, as the receiver sees them. */
  readonly directory: SubscriptionDirectory;
  /** Enqueues a maintenance pass for every connection now (subscriptions, heartbeats, gaps, polling). */
  maintainNow(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function bindConnections(
  config: DriplineConfig,
  extra: readonly { tenant: TenantId; connection: EhrConnectionConfig }[] = [],
): Map<string, ConnectionBinding> {
  const bindings = new Map<string, ConnectionBinding>();
  for (const tenant of config.tenants) {
    for (const connection of tenant.connections) {
      bindings.set(connection.id, { tenant: tenant.id, connection });
    }
  }
  for (const { tenant, connection } of extra) {
    bindings.set(connection.id, { tenant, connection });
  }
  return bindings;
}

export function createIngest(deps: IngestDeps): Ingest {
  const now = deps.now ?? (() => new Date());
  const connections = bindConnections(deps.config, deps.extraConnections);
  const directory = new SubscriptionDirectory(deps.store, now);
  const manager = new SubscriptionManager({
    store: deps.store,
    directory,
    ehrFor: deps.ehrFor,
    publicUrl: deps.config.publicUrl,
    logger: deps.logger,
    now,
  });
  const worker = new IngestWorker({
    store: deps.store,
    connections,
    ehrFor: deps.ehrFor,
    maintainer: manager,
    publicUrl: deps.config.publicUrl,
    logger: deps.logger,
    now,
    leaseMs: deps.config.jobLeaseMs,
    finishedJobRetentionMs: deps.finishedJobRetentionMs ?? deps.config.ingestJobRetentionDays * DAY_MS,
    ...(deps.gapGraceMs !== undefined ? { gapGraceMs: deps.gapGraceMs } : {}),
    ...(deps.catchUpPageSize !== undefined ? { catchUpPageSize: deps.catchUpPageSize } : {}),
    ...(deps.jobsForCopy ? { jobsForCopy: deps.jobsForCopy } : {}),
    ...(deps.mayBeCoded ? { mayBeCoded: deps.mayBeCoded } : {}),
  });
  const receiver = createNotificationReceiver({
    store: deps.store,
    directory,
    connections,
    maxBodyBytes: deps.config.http.maxBodyBytes,
    maxJsonDepth: deps.config.http.maxJsonDepth,
    logger: deps.logger,
    now,
    onEnqueued: () => worker.notify(),
  });

  const intervalMs = (connection: EhrConnectionConfig): number =>
    1000 *
    (connection.mode === 'poll'
      ? connection.pollIntervalSeconds
      : Math.min(connection.pollIntervalSeconds, connection.heartbeatSeconds));

  const enqueueMaintenance = async (force: boolean): Promise<void> => {
    for (const { tenant, connection } of connections.values()) {
      const bucket = Math.floor(now().getTime() / intervalMs(connection));
      const job: IngestJob = { kind: 'maintain', connectionId: connection.id };
      const key = force
        ? `${jobKeys.maintain(connection.id, bucket)}|now-${now().getTime()}`
        : jobKeys.maintain(connection.id, bucket);
      await deps.store.jobs.enqueue(tenant, { queue: INGEST_QUEUE, key, payload: job });
    }
    worker.notify();
  };

  let timer: NodeJS.Timeout | undefined;
  return {
    router: receiver.router,
    receiver,
    worker,
    connections,
    directory,
    maintainNow: () => enqueueMaintenance(true),
    start() {
      worker.start();
      if (connections.size > 0) {
        void enqueueMaintenance(true).catch((err: unknown) => {
          deps.logger.error({ err: (err as Error).message }, 'could not schedule ingest maintenance');
        });
        timer = setInterval(() => {
          enqueueMaintenance(false).catch((err: unknown) => {
            deps.logger.error({ err: (err as Error).message }, 'could not schedule ingest maintenance');
          });
        }, deps.tickMs ?? 5_000);
        timer.unref();
      }
    },
    async stop() {
      if (timer) {
        clearInterval(timer);
      }
      await worker.stop();
    },
  };
}
