/**
 * Boots Dripline: store, token service, HTTP app, and a graceful stop that lets in-flight
 * requests finish before the store closes.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { createTokenService } from './auth/token-service.ts';
import type { DriplineConfig, EhrConnectionConfig } from './config/config.ts';
import { tenantCodingOptions } from './config/config.ts';
import { loadFhirDefinitions } from './fhir/definitions.ts';
import { listen } from './http/listen.ts';
import type { Logger } from './logger.ts';
import { createMetrics } from './ops/metrics.ts';
import { ehrClientCache } from './ehr/ingest-port.ts';
import type { EhrClientPort, Ingest } from './ingest/index.ts';
import { createIngest } from './ingest/index.ts';
import { loadCodingTables } from './coding/tables/load.ts';
import { ChargeCaptureWorker } from './charges/capture.ts';
import { notifyOnEnqueue } from './charges/notify-on-enqueue.ts';
import { ENCOUNTER_CHANGED_QUEUE } from './ingest/jobs.ts';
import { openStore } from './store/open.ts';
import { buildClaim } from './claims/build.ts';
import { createClaimRoutes } from './claims/routes.ts';
import { scrubClaim } from './claims/scrub.ts';
import type { ClaimWorkflowDeps } from './claims/workflow/context.ts';
import { ClaimWorkflowWorker } from './claims/workflow/worker.ts';
import { createX12Router } from './claims/x12-routes.ts';
import { x12RouterDeps } from './claims/x12-wiring.ts';
import type { Store } from './store/port.ts';
import { createWebApp } from './web/routes.ts';
import { crossSiteCookies } from './web/security.ts';
import { systemClock } from './time/clock.ts';
import type { Clock } from './time/clock.ts';

export interface RunningServer {
  readonly url: string;
  readonly store: Store;
  readonly server: Server;
  readonly ingest: Ingest;
  readonly chargeCapture: ChargeCaptureWorker;
  readonly claims: ClaimWorkflowWorker;
  /** Stops accepting connections, waits for in-flight requests (up to shutdownTimeoutMs), closes the store. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The clock (default: the system clock moved by `config.clockOffsetMs`). */
  readonly now?: Clock;
  /** Use this store instead of opening one from config (the caller closes it). */
  readonly store?: Store;
  /** EHR connections added at run time (e.g. the in-process sandbox EHR). */
  readonly extraConnections?: readonly { tenant: string; connection: EhrConnectionConfig }[];
  /** Replace the SMART Backend Services EHR client (tests). */
  readonly ehrFor?: (connection: EhrConnectionConfig) => EhrClientPort;
  /** Start the ingest worker and scheduler (default true). */
  readonly ingest?: boolean;
  /** Start the charge capture worker (default true). */
  readonly chargeCapture?: boolean;
  /** Start the claim workflow worker (build, scrub, submit; default true — idle for tenants without payers). */
  readonly claims?: boolean;
  /**
   * Claim workflow tuning (tests): hold after an encounter ends, sweep period, retry backoff; and
   * `tenants` with payers added at run time (the in-process sandbox payer).
   */
  readonly claimWorkflow?: Partial<
    Pick<
      ClaimWorkflowDeps,
      'holdMs' | 'sweepMs' | 'recheckMs' | 'retryDelayMs' | 'pollMs' | 'payerPort' | 'tenants'
    >
  >;
  /** How long a gap in event numbers may stay open before ingest recovers it (default 10 s; tests). */
  readonly gapGraceMs?: number;
  /** `_count` of ingest catch-up searches (tests; default 100). */
  readonly catchUpPageSize?: number;
}

export async function startServer(
  config: DriplineConfig,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningServer> {
  loadFhirDefinitions();
  // One clock for everything this server runs: the store's stamps and leases, tokens, workers.
  const now = options.now ?? systemClock(config.clockOffsetMs);
  const store =
    options.store ??
    (await openStore(
      config,
      (done, total) => {
        // Only after an upgrade that changed search parameters; one line per 500 resources.
        logger.info({ done, total }, 'reindexing stored resources for changed search parameters');
      },
      now,
    ));
  const tokenService = await createTokenService({
    authStore: store.auth,
    issuer: config.publicUrl,
    audience: `${config.publicUrl}/fhir`,
    lifetimeSeconds: config.auth.accessTokenSeconds,
  });
  const codingTables = loadCodingTables();
  const chargeCapture = new ChargeCaptureWorker({
    store,
    tables: codingTables,
    logger: logger.child({ component: 'charge-capture' }),
    publicUrl: config.publicUrl,
    codingOptions: (tenant) => {
      const found = config.tenants.find((t) => t.id === tenant);
      return found ? tenantCodingOptions(found) : undefined;
    },
    leaseMs: config.jobLeaseMs,
    now,
  });
  const ingest = createIngest({
    config,
    // Ingest's encounter-changed events wake charge capture at once.
    store: notifyOnEnqueue(store, ENCOUNTER_CHANGED_QUEUE, () => chargeCapture.notify()),
    logger,
    ehrFor: options.ehrFor ?? ehrClientCache({ now }),
    now,
    ...(options.extraConnections ? { extraConnections: options.extraConnections } : {}),
    ...(options.gapGraceMs !== undefined ? { gapGraceMs: options.gapGraceMs } : {}),
    ...(options.catchUpPageSize !== undefined ? { catchUpPageSize: options.catchUpPageSize } : {}),
  });
  const claims = new ClaimWorkflowWorker({
    store,
    tables: codingTables,
    logger: logger.child({ component: 'claims' }),
    publicUrl: config.publicUrl,
    tenants: config.tenants,
    buildClaim,
    scrubClaim: (ctx, tables) => scrubClaim(ctx, tables),
    leaseMs: config.jobLeaseMs,
    now,
    ...options.claimWorkflow,
  });
  const x12Deps = x12RouterDeps({
    store,
    publicUrl: config.publicUrl,
    tenants: () => options.claimWorkflow?.tenants ?? config.tenants,
    loadContext: (tenant, claimId) => claims.loadContext(tenant, claimId),
    now,
  });
  const tenantsNow = (): readonly DriplineConfig['tenants'][number][] =>
    options.claimWorkflow?.tenants ?? config.tenants;
  const web = createWebApp({
    store,
    publicUrl: config.publicUrl,
    tenants: tenantsNow,
    now,
    logger,
    workflow: claims,
    x12: { loadClaimContext: x12Deps.loadClaimContext, envelope: x12Deps.envelope },
  });
  if (!crossSiteCookies(config.publicUrl)) {
    logger.warn(
      { publicUrl: config.publicUrl },
      "PUBLIC_URL is plain http on a non-loopback address: the billers' app works only when opened on its own, not inside an EHR (its cookies cannot be Secure; serve it over https)",
    );
  }
  const app = createApp({
    config,
    store,
    tokenService,
    logger,
    metrics: createMetrics(),
    codingTables,
    now,
    fhirOperations: [createX12Router(x12Deps)],
    routers: [
      { path: '/ehr', router: ingest.router },
      { path: '/app', router: web.router },
      {
        path: '/api/claims',
        router: createClaimRoutes({
          store,
          tokenService,
          workflow: claims,
          publicUrl: config.publicUrl,
          now,
          x12Batches: {
            x12: x12Deps,
            workflow: claims,
            tenants: () => options.claimWorkflow?.tenants ?? config.tenants,
            now,
          },
        }),
      },
    ],
  });
  const server = createServer(app);
  try {
    await listen(server, { port: config.port, host: config.host, variable: 'PORT' });
  } catch (err) {
    if (!options.store) {
      await store.close();
    }
    throw err;
  }
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 60_000;
  const address = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${address.port}`;
  logger.info(
    { url, publicUrl: config.publicUrl, store: store.kind, tenants: config.tenants.map((t) => t.id) },
    'listening',
  );
  if (options.ingest !== false) {
    ingest.start();
  }
  if (options.chargeCapture !== false) {
    chargeCapture.start();
  }
  if (options.claims !== false) {
    claims.start();
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their in-flight request completes; close them as
      // they do, and cut whatever is left once the timeout passes.
      server.closeIdleConnections();
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearInterval(sweeper);
      clearTimeout(timer);
      // The worker finishes the job in hand; its lease would expire and be retried anyway.
      await ingest.stop();
      await chargeCapture.stop();
      await claims.stop();
      if (!options.store) {
        await store.close();
      }
      logger.info('stopped');
    })();
    return stopping;
  };
  return { url, store, server, ingest, chargeCapture, claims, stop };
}
