/**
 * Boots Dripline: store, token service, HTTP app, and a graceful stop that lets in-flight
 * requests finish before the store closes.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiRouters } from './api-routers.ts';
import { createApp } from './app.ts';
import { createTokenService } from './auth/token-service.ts';
import type { DriplineConfig, EhrConnectionConfig, TenantConfig, WorkerName } from './config/config.ts';
import { tenantCodingOptions } from './config/config.ts';
import { loadFhirDefinitions } from './fhir/definitions.ts';
import { listen } from './http/listen.ts';
import type { Logger } from './logger.ts';
import { createMetrics, registerWorkerJobs } from './ops/metrics.ts';
import { registerAnalyticsGauges } from './analytics/gauges.ts';
import { AnalyticsService } from './analytics/service.ts';
import { ehrClientCache } from './ehr/ingest-port.ts';
import type { EhrClientPort, Ingest } from './ingest/index.ts';
import { createIngest } from './ingest/index.ts';
import { notifyLeanRoute } from './ingest/receiver.ts';
import { codingTablesOnFirstUse } from './coding/tables/load.ts';
import { ChargeCaptureWorker } from './charges/capture.ts';
import { notifyOnEnqueue } from './charges/notify-on-enqueue.ts';
import { mayBeCoded } from './charges/group.ts';
import { ENCOUNTER_CHANGED_QUEUE } from './ingest/jobs.ts';
import { openStore } from './store/open.ts';
import { buildClaim } from './claims/build.ts';
import { scrubClaim } from './claims/scrub.ts';
import type { ClaimWorkflowDeps } from './claims/workflow/context.ts';
import { ClaimWorkflowWorker } from './claims/workflow/worker.ts';
import { CLAIM_READY_QUEUE } from './claims/workflow/jobs.ts';
import { authorizationRequirement } from './claims/ledger.ts';
import { createX12Router } from './claims/x12-routes.ts';
import { AuditWriter } from './fhir/audit-writer.ts';
import { leanReadRoutes } from './fhir/lean-read.ts';
import { x12RouterDeps } from './claims/x12-wiring.ts';
import type { AuthorizationRequirement } from './coverage/ledger-alerts.ts';
import type { LedgerWorkerDeps } from './coverage/ledger-worker.ts';
import { AuthorizationLedgerWorker } from './coverage/ledger-worker.ts';
import { createRemittance } from './remittance/wiring.ts';
import type { Remittance } from './remittance/wiring.ts';
import { createReferenceRates } from './remittance/contracts/references.ts';
import { createAppealOutcomeHook } from './remittance/appeals/posted-hook.ts';
import { AppealSweepTimer } from './remittance/appeals/timer.ts';
import type { WorkEngineDeps } from './remittance/work/engine.ts';
import { createPaymentEvaluator, createRemittanceWorkHook } from './remittance/work/engine.ts';
import type { Store } from './store/port.ts';
import type { SqliteStore } from './store/sqlite/index.ts';
import { homeRouter } from './web/home.ts';
import { lazyRouter } from './http/lazy-router.ts';
import { crossSiteCookies } from './web/security.ts';
import { withEligibilityTriggers } from './coverage/eligibility/store-triggers.ts';
import type { EligibilityWorkerDeps } from './coverage/eligibility/worker.ts';
import { EligibilityWorker } from './coverage/eligibility/worker.ts';
import { systemClock } from './time/clock.ts';
import { PriorAuthWorker } from './coverage/pas/worker.ts';
import type { PriorAuthWorkerDeps } from './coverage/pas/worker.ts';
import { PRIOR_AUTH_QUEUE } from './coverage/pas/records.ts';
import { priorAuthJobsFor } from './coverage/pas/jobs.ts';
import { createPasNotifyRouter, createPriorAuthApi } from './coverage/pas/routes.ts';
import type { Clock } from './time/clock.ts';

/** Where the EHR notification receiver is mounted. */
const EHR_MOUNT = '/ehr';

export interface RunningServer {
  readonly url: string;
  readonly store: Store;
  readonly server: Server;
  readonly ingest: Ingest;
  readonly chargeCapture: ChargeCaptureWorker;
  readonly claims: ClaimWorkflowWorker;
  readonly authorizationLedger: AuthorizationLedgerWorker;
  /** Prior authorization by Da Vinci PAS (src/coverage/pas). */
  readonly priorAuth: PriorAuthWorker;
  readonly eligibility: EligibilityWorker;
  readonly remittance: Remittance;
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
  /** Start the ingest worker and scheduler (default: when WORKERS names it; all do by default). */
  readonly ingest?: boolean;
  /** Start the charge capture worker (default: when WORKERS names it; all do by default). */
  readonly chargeCapture?: boolean;
  /** Start the claim workflow worker (build, scrub, submit; default: when WORKERS names it — idle for tenants without payers). */
  readonly claims?: boolean;
  /** Run the remittance posting worker and watch the tenants' inboxes (default: when WORKERS names it; all do by default). */
  readonly remittance?: boolean;
  /** The largest 835 accepted, bytes (tests; default MAX_REMITTANCE_BYTES). */
  readonly remittanceMaxBytes?: number;
  /**
   * Claim workflow tuning (tests): hold after an encounter ends, sweep period, retry backoff, the
   * look-again period of a claim waiting for an eligibility check; and `tenants` with payers added
   * at run time (the in-process sandbox payer).
   */
  readonly claimWorkflow?: Partial<
    Pick<
      ClaimWorkflowDeps,
      | 'holdMs'
      | 'sweepMs'
      | 'recheckMs'
      | 'retryDelayMs'
      | 'pollMs'
      | 'payerPort'
      | 'tenants'
      | 'eligibilityWaitPollMs'
    >
  >;
  /** Charge capture tuning (tests): how often an idle worker looks for jobs nobody woke it for. */
  readonly chargeCaptureWorker?: { readonly pollMs?: number };
  /** Start the authorization ledger worker (its work items; default: when WORKERS names it). */
  readonly authorizationLedger?: boolean;
  /** Authorization ledger worker tuning (tests): how often it reads changes, and does a full pass. */
  readonly ledgerWorker?: Partial<Pick<LedgerWorkerDeps, 'scanMs' | 'fullScanMs' | 'pollMs'>>;
  /** Start the prior authorization worker (default: when WORKERS names it — idle for tenants whose payers take no PAS). */
  readonly priorAuth?: boolean;
  /**
   * Sandbox mode only: the sandbox payers also take prior authorization requests (Da Vinci PAS at
   * the sandbox payer's `/pas/fhir`), its review of pended requests taking `reviewDelayMs`.
   */
  readonly sandboxPriorAuth?: { readonly reviewDelayMs?: number };
  /** Prior authorization tuning (tests): the payer port, the poll period, the prior-auth rule table. */
  readonly priorAuthWorker?: Partial<Pick<PriorAuthWorkerDeps, 'payerPort' | 'pollMs' | 'priorAuth'>>;
  /** Start the eligibility worker (default: when WORKERS names it — idle for tenants without payers). */
  readonly eligibility?: boolean;
  /** Eligibility worker tuning (tests): its payer port, poll period. */
  readonly eligibilityWorker?: Partial<Pick<EligibilityWorkerDeps, 'payerPort' | 'pollMs'>>;
  /** How long a gap in event numbers may stay open before ingest recovers it (default 10 s; tests). */
  readonly gapGraceMs?: number;
  /** `_count` of ingest catch-up searches (tests; default 100). */
  readonly catchUpPageSize?: number;
  /** How long finished ingest jobs are kept (tests; default: the config's days). */
  readonly finishedJobRetentionMs?: number;
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
  // Read when first needed (a charge coded, a claim scrubbed): see codingTablesOnFirstUse.
  const codingTables = codingTablesOnFirstUse();
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
    // The embedded store's second connection plans batches on another core while this one
    // writes (./charges/plan-thread.ts); MongoDB's capture plans in place.
    ...(store.kind === 'sqlite'
      ? { planningThread: { storePath: (store as SqliteStore).connection.path } }
      : {}),
    ...(options.chargeCaptureWorker?.pollMs !== undefined
      ? { pollMs: options.chargeCaptureWorker.pollMs }
      : {}),
  });
  // The tenants with their payers (the in-process sandbox adds its payers at run time).
  const tenantsNow = (): DriplineConfig['tenants'] => options.claimWorkflow?.tenants ?? config.tenants;
  const priorAuth = new PriorAuthWorker({
    store,
    tenants: tenantsNow,
    tables: codingTables,
    logger: logger.child({ component: 'prior-auth' }),
    publicUrl: config.publicUrl,
    now,
    leaseMs: config.jobLeaseMs,
    ...options.priorAuthWorker,
  });
  const eligibility = new EligibilityWorker({
    store,
    tables: codingTables,
    logger: logger.child({ component: 'eligibility' }),
    publicUrl: config.publicUrl,
    now,
    tenants: tenantsNow,
    leaseMs: config.jobLeaseMs,
    // A new claim waits for its patient's check under way; the check's end wakes it. `claims` is
    // built below and started before this worker, so the nudge never runs ahead of it.
    waiting: [{ queue: CLAIM_READY_QUEUE, notify: () => claims.notify() }],
    ...options.eligibilityWorker,
  });
  const ingest = createIngest({
    config,
    // Ingest's encounter-changed events wake charge capture at once, its orders prior authorization;
    // orders, visits and coverages it stores start eligibility checks in the same transaction.
    store: withEligibilityTriggers(
      notifyOnEnqueue(
        notifyOnEnqueue(store, ENCOUNTER_CHANGED_QUEUE, (dueAt) => chargeCapture.notify(dueAt)),
        PRIOR_AUTH_QUEUE,
        (dueAt) => priorAuth.notify(dueAt),
      ),
      tenantsNow,
      now,
      (dueAt) => eligibility.notify(dueAt),
    ),
    logger,
    ehrFor: options.ehrFor ?? ehrClientCache({ now }),
    now,
    ...(options.extraConnections ? { extraConnections: options.extraConnections } : {}),
    ...(options.gapGraceMs !== undefined ? { gapGraceMs: options.gapGraceMs } : {}),
    ...(options.catchUpPageSize !== undefined ? { catchUpPageSize: options.catchUpPageSize } : {}),
    ...(options.finishedJobRetentionMs !== undefined
      ? { finishedJobRetentionMs: options.finishedJobRetentionMs }
      : {}),
    // An order (each EHR version) starts its prior authorization (src/coverage/pas/worker.ts).
    jobsForCopy: priorAuthJobsFor,
    // An encounter no version of which charge capture could code starts none (src/charges/group.ts).
    mayBeCoded,
  });
  const remittanceWork: WorkEngineDeps = {
    tenants: () => options.claimWorkflow?.tenants ?? config.tenants,
    references: createReferenceRates(() => codingTables.cms),
    publicUrl: config.publicUrl,
  };
  const analytics = new AnalyticsService({ store, now });
  const claims = new ClaimWorkflowWorker({
    // A correction or void taken over hands its encounters back to charge capture
    // (corrections.ts): wake it then, as ingest's encounter events do, not at its next poll.
    store: notifyOnEnqueue(store, ENCOUNTER_CHANGED_QUEUE, (dueAt) => chargeCapture.notify(dueAt)),
    tables: codingTables,
    logger: logger.child({ component: 'claims' }),
    publicUrl: config.publicUrl,
    tenants: config.tenants,
    buildClaim,
    scrubClaim: (ctx, tables) => scrubClaim(ctx, tables),
    // The denial forecast counts the tenant's posted payments (analytics sits above claims).
    denialModel: (tenant) => analytics.denialModel(tenant),
    leaseMs: config.jobLeaseMs,
    now,
    ...options.claimWorkflow,
  });
  const tenants = (): readonly TenantConfig[] => options.claimWorkflow?.tenants ?? config.tenants;
  // The ledger's "given without an authorization" asks the scrubber's prior authorization rule.
  const requirement = (tenant: TenantConfig): AuthorizationRequirement =>
    authorizationRequirement(tenant, codingTables);
  const authorizationLedger = new AuthorizationLedgerWorker({
    store,
    logger: logger.child({ component: 'authorization-ledger' }),
    publicUrl: config.publicUrl,
    tenants,
    requirement,
    now,
    ...options.ledgerWorker,
  });
  const x12Deps = x12RouterDeps({
    store,
    publicUrl: config.publicUrl,
    tenants,
    loadContext: (tenant, claimId) => claims.loadContext(tenant, claimId),
    now,
  });
  // The route modules below are imported on their route's first request (src/http/lazy-router.ts):
  // most starts never serve most of them.
  const web = lazyRouter(
    async () =>
      (await import('./web/routes.ts')).createWebApp({
        store,
        publicUrl: config.publicUrl,
        tenants: tenantsNow,
        now,
        logger,
        workflow: claims,
        x12: { loadClaimContext: x12Deps.loadClaimContext, envelope: x12Deps.envelope },
        requirement,
        eligibility,
        notifyPriorAuth: () => priorAuth.notify(),
        analytics,
      }).router,
  );
  // The app's bundle is built ahead of the first page when a tenant can launch it (./web/routes.ts).
  if (tenantsNow().some((t) => (t.ehrLaunch ?? []).length > 0)) {
    web.load().catch((err: unknown) => logger.error({ err }, "the billers' app failed to load"));
  }
  if (!crossSiteCookies(config.publicUrl)) {
    logger.warn(
      { publicUrl: config.publicUrl },
      "PUBLIC_URL is plain http on a non-loopback address: the billers' app works only when opened on its own, not inside an EHR (its cookies cannot be Secure; serve it over https)",
    );
  }
  const priorAuthRoutes = {
    store,
    tokenService,
    tenants: tenantsNow,
    notify: () => priorAuth.notify(),
    publicUrl: config.publicUrl,
    now,
    maxBodyBytes: config.http.maxBodyBytes,
    maxJsonDepth: config.http.maxJsonDepth,
    logger: logger.child({ component: 'pas-notify' }),
  };
  const remittance = createRemittance({
    store,
    logger,
    publicUrl: config.publicUrl,
    dataDir: config.dataDir,
    tenants: () => options.claimWorkflow?.tenants ?? config.tenants,
    tokenService,
    leaseMs: config.jobLeaseMs,
    now,
    ...(options.remittanceMaxBytes !== undefined ? { maxBytes: options.remittanceMaxBytes } : {}),
    // Each posted claim payment is checked against the contracts and its denials triaged.
    // An appealed claim paid again decides its appeal (src/remittance/appeals/posted-hook.ts).
    hooks: [
      createRemittanceWorkHook(remittanceWork),
      createAppealOutcomeHook({ publicUrl: config.publicUrl, tenants: remittanceWork.tenants }),
    ],
    evaluate: createPaymentEvaluator(remittanceWork),
  });
  // Appeal deadlines are swept on a timer too, not only when asked (src/remittance/appeals/timer.ts).
  const appealSweep = new AppealSweepTimer(
    { store, publicUrl: config.publicUrl, now, tenants: remittanceWork.tenants },
    config.appealSweepMs,
    logger.child({ component: 'appeal-sweep' }),
  );
  const metrics = createMetrics();
  registerAnalyticsGauges(metrics.registry, analytics, tenants);
  registerWorkerJobs(metrics.registry, {
    ingest: ingest.worker,
    'charge-capture': chargeCapture,
    claims,
    'authorization-ledger': authorizationLedger,
    'prior-auth': priorAuth,
    eligibility,
    remittance: remittance.worker,
  });
  // One group commit for the FHIR read audits, whether the lean read or the FHIR routes answer.
  const fhirAudit = new AuditWriter(store);
  const app = createApp({
    config,
    store,
    tokenService,
    logger,
    metrics,
    codingTables,
    now,
    fhirOperations: [createX12Router(x12Deps)],
    // The EHRs' notifications are acknowledged before the middleware stack (src/http/lean-route.ts);
    // the router serves the rest of /ehr (classic PUT/DELETE, queries, compressed bodies). So are
    // plain FHIR reads by id (src/fhir/lean-read.ts); the FHIR routes serve every other request.
    leanRoutes: [
      notifyLeanRoute(ingest.receiver, EHR_MOUNT),
      ...leanReadRoutes({ store, tokenService, publicUrl: config.publicUrl, now, audit: fhirAudit }),
    ],
    fhirAudit,
    routers: [
      { path: EHR_MOUNT, router: ingest.router },
      { path: '/app', router: web },
      { path: '/', router: homeRouter() },
      { path: '/pas', router: createPasNotifyRouter(priorAuthRoutes) },
      { path: '/api/prior-auth', router: createPriorAuthApi(priorAuthRoutes) },
      ...apiRouters({
        store,
        tokenService,
        publicUrl: config.publicUrl,
        dataDir: config.dataDir,
        now,
        tenants,
        tables: codingTables,
        requirement,
        eligibility,
        claims,
        x12: x12Deps,
        analytics,
        remittance,
        remittanceWork,
      }),
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
  // Which workers run here: the option (tests) or else WORKERS (config), so a receiver process
  // (WORKERS=none) only acknowledges and enqueues, and worker processes share the queues by lease.
  const runs = (name: WorkerName, option: boolean | undefined): boolean =>
    option ?? config.workers.includes(name);
  const running = {
    ingest: runs('ingest', options.ingest),
    chargeCapture: runs('charge-capture', options.chargeCapture),
    claims: runs('claims', options.claims),
    authorizationLedger: runs('authorization-ledger', options.authorizationLedger),
    priorAuth: runs('prior-auth', options.priorAuth),
    eligibility: runs('eligibility', options.eligibility),
    remittance: runs('remittance', options.remittance),
  };
  if (running.ingest) {
    ingest.start();
  }
  if (running.chargeCapture) {
    chargeCapture.start();
  }
  if (running.claims) {
    claims.start();
  }
  if (running.authorizationLedger) {
    authorizationLedger.start();
  }
  if (running.priorAuth) {
    priorAuth.start();
  }
  if (running.eligibility) {
    eligibility.start();
  }
  if (running.remittance) {
    remittance.worker.start();
    remittance.inbox.start();
    appealSweep.start();
  }
  // Analytics reads each tenant's history once at start, so the first answer (and the first
  // claim's denial forecast) does not wait for the full scan — where they will be asked for: in a
  // process that builds claims (the scrub step forecasts denials) or runs no worker at all (a
  // receiver, which serves the app). A worker process without the claim workflow (README "Running
  // several processes") would read a tenant's whole history, and keep its facts in memory, at
  // every start for nothing; asked after all, it reads them then.
  const warms = running.claims || !Object.values(running).some(Boolean);
  const warming = warms
    ? Promise.all(tenants().map((t) => analytics.denialModel(t))).catch((err: unknown) =>
        logger.warn({ err }, 'analytics warm-up failed; the first answer reads the store'),
      )
    : Promise.resolve();

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
      await authorizationLedger.stop();
      await priorAuth.stop();
      await eligibility.stop();
      await remittance.inbox.stop();
      await remittance.worker.stop();
      await appealSweep.stop();
      await warming;
      if (!options.store) {
        await store.close();
      }
      logger.info('stopped');
    })();
    return stopping;
  };
  return {
    url,
    store,
    server,
    ingest,
    chargeCapture,
    claims,
    authorizationLedger,
    priorAuth,
    eligibility,
    remittance,
    stop,
  };
}
