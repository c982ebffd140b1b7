/**
 * An honest sandbox EHR over real HTTP: FHIR R4 REST behind its own SMART Backend Services
 * authorization server, R4 Subscriptions Backport IG (plus classic rest-hook and R5-shaped)
 * notifications delivered asynchronously with retries, heartbeats and injectable faults, and a
 * seeded infusion day that `replay()` writes through the same notifying path as HTTP writes.
 */
import type { Resource } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../fhir/definitions.ts';
import { SANDBOX_EHR_TENANT } from './auth-store.ts';
import type { FaultOptions, RetryOptions } from './delivery.ts';
import { SubscriptionEngine } from './engine.ts';
import type { DeliveryAttempt, SubscriptionInfo } from './engine.ts';
import { createSandboxFhirApp } from './fhir-server.ts';
import { NotifyingRepository } from './repository.ts';
import { generateInfusionDay } from './seed/generate.ts';
import type { PayerEnrollmentChange, SeededError, TimelineStep } from './seed/model.ts';
import { registerSandboxClient } from '../register-client.ts';
import { appLaunchConfiguration, createAppLaunchRouter, lazyIdTokenKey } from './app-launch/routes.ts';
import { AppLaunchRegistry } from './app-launch/registry.ts';
import type { AppRegistration } from './app-launch/registry.ts';
import { staffResources } from './app-launch/staff.ts';
import type { Practitioner } from '@medplum/fhirtypes';
import { listenSandbox } from '../listen.ts';

export type { FaultOptions, RetryOptions } from './delivery.ts';
export type { DeliveryAttempt, SubscriptionInfo } from './engine.ts';

export interface SandboxEhrLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SandboxEhrOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base URL the EHR names itself by (token `iss`/`aud`, references); default http://host:port. */
  publicUrl?: string;
  /**
   * A seeded infusion day (reference data loaded at start; `replay()` applies its timeline).
   * `replayed`: steps of the timeline an earlier run of this EHR already applied — written again
   * at start, quietly, so that a restarted EHR holds what it held (the same ids and contents), and
   * `replay()` goes on from there.
   */
  seed?: { date: string; patients?: number; seed?: number; timeZone?: string; replayed?: number } | false;
  /** Called after each replayed step with the number of steps applied so far (to remember it). */
  onReplayed?: (steps: number) => void;
  now?: () => Date;
  logger?: SandboxEhrLogger;
  /** Delivery retries (default 4 attempts, 500 ms doubling, 10 s timeout). */
  retry?: RetryOptions;
  /** Offer `Subscription/{id}/$events` (default true); false makes it answer 404, as on EHRs without it. */
  eventsOperation?: boolean;
  /**
   * Sees every attempt to deliver a notification (handshakes and heartbeats too) with the
   * subscriber's HTTP status, or the error when it did not answer: e.g. to know which events a
   * subscriber acknowledged, as a proxy in front of it would, without the proxy's hop.
   */
  onDelivery?: (attempt: DeliveryAttempt) => void;
  /** Sees every HTTP request the EHR receives (method, path with query), e.g. to assert what was never asked. */
  onRequest?: (method: string, path: string) => void;
  /** Search parameters the EHR refuses with 400 (e.g. `['_sort']`, as some EHRs do). */
  unsupportedSearchParameters?: string[];
  /** `fhirUser` in id_tokens: absolute URL (default) or relative `Practitioner/<id>`. */
  fhirUserForm?: 'absolute' | 'relative';
}

export interface SandboxEhr {
  readonly url: string;
  readonly fhirBaseUrl: string;
  readonly tokenUrl: string;
  /** The chart page: sign in as one of the EHR's practitioners, then open an encounter's billing. */
  readonly chartUrl: string;
  /** Registers a SMART app (confidential asymmetric client) the chart's "Billing" button launches. */
  registerApp(input: AppRegistration & { jwks: { keys: object[] } }): Promise<void>;
  /** Registers a SMART Backend Services client (public JWKS) and returns its client_id. */
  registerClient(input: { jwks: { keys: object[] }; scope: string; clientId?: string }): Promise<string>;
  /** Direct data access for tests and replay: writes go through the same path as HTTP writes and trigger notifications. */
  createResource<T extends Resource>(r: T): Promise<T>;
  updateResource<T extends Resource>(r: T): Promise<T>;
  readResource(type: string, id: string): Promise<Resource>;
  /** All current resources of a type (for "stored copies equal the EHR's" checks). */
  listResources(type: string): Promise<Resource[]>;
  /**
   * The EHR's own office staff (Practitioners and their PractitionerRoles, the nurses' roles too):
   * written at start apart from the seeded day, whose `reference` they are not part of.
   */
  readonly staff: readonly Resource[];
  /** The seeded day's deliberate errors and the rules meant to catch them (empty without a seed). */
  readonly seededErrors: readonly SeededError[];
  /** Coverages the payers ended that the EHR still shows active (the sandbox payer's enrollment reads them). */
  readonly payerEnrollment: readonly PayerEnrollmentChange[];
  /** Applies the seeded day's timeline at `speed` (1 = real time, 0 = as fast as possible), or the first `limit` steps. */
  replay(options: { speed: number; limit?: number }): Promise<void>;
  setFaults(faults: FaultOptions): void;
  /** The EHR is down: every HTTP request (FHIR and token) is answered with `status` (e.g. 503) until set to false. */
  setUnavailable(status: number | false): void;
  /** Deletes a resource (no notification); reads then answer 410 Gone. A deleted Subscription stops notifying. */
  deleteResource(type: string, id: string): Promise<void>;
  /** Simulates a restart of an EHR that keeps event counters in memory: every counter starts again from 0. */
  resetEventCounters(): void;
  /** Sends each active subscription's heartbeat now rather than when its period ends (the period restarts). */
  heartbeatNow(): void;
  /** Resolves when every queued notification delivery has been attempted (incl. retries currently scheduled). */
  idle(): Promise<void>;
  /** Server-side state of a Subscription (status, event counter), or undefined. */
  subscriptionInfo(id: string): SubscriptionInfo | undefined;
  stop(): Promise<void>;
}

const noopLogger: SandboxEhrLogger = { info: () => undefined, warn: () => undefined };

export async function startSandboxEhr(options: SandboxEhrOptions = {}): Promise<SandboxEhr> {
  loadFhirDefinitions();
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? ((): Date => new Date());
  const logger = options.logger ?? noopLogger;

  const { server, url, fhirBaseUrl, tokenUrl, authStore, tokenService } = await listenSandbox({
    ...(options.port !== undefined ? { port: options.port } : {}),
    host,
    ...(options.publicUrl !== undefined ? { publicUrl: options.publicUrl } : {}),
    portVariable: 'SANDBOX_EHR_PORT',
  });
  const repo = new NotifyingRepository();
  const engine = new SubscriptionEngine({
    repo,
    fhirBaseUrl,
    now,
    logger,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.onDelivery ? { onDelivery: options.onDelivery } : {}),
  });

  let timeline: TimelineStep[] = [];
  let seededErrors: readonly SeededError[] = [];
  let payerEnrollment: readonly PayerEnrollmentChange[] = [];
  let restored = 0;
  if (options.seed) {
    const day = generateInfusionDay({
      date: options.seed.date,
      ...(options.seed.patients !== undefined ? { patients: options.seed.patients } : {}),
      ...(options.seed.seed !== undefined ? { seed: options.seed.seed } : {}),
      ...(options.seed.timeZone !== undefined ? { timeZone: options.seed.timeZone } : {}),
    });
    for (const resource of day.reference) {
      await repo.writeQuietly(resource); // reference data: no notifications
    }
    timeline = day.timeline;
    seededErrors = day.seededErrors;
    payerEnrollment = day.payerEnrollment;
    restored = Math.min(Math.max(0, options.seed.replayed ?? 0), timeline.length);
    for (const step of timeline.slice(0, restored)) {
      await repo.writeQuietly(structuredClone(step.resource)); // already notified by the earlier run
    }
  }
  // The office staff who sign in to launch apps, and the nurses' roles (reference data, quiet).
  const nurses = ((await repo.listAll('Practitioner')) as Practitioner[])
    .filter((p) => p.name?.[0]?.suffix?.includes('RN'))
    .map((p) => p.id ?? '');
  const staff = staffResources(nurses);
  for (const resource of staff) {
    await repo.writeQuietly(resource);
  }
  repo.setHooks(engine);
  const registry = new AppLaunchRegistry(authStore, now);
  const launchDeps = {
    repo,
    authStore,
    tokenService,
    registry,
    publicUrl: url,
    fhirBaseUrl,
    tokenUrl,
    now,
    ...(options.fhirUserForm ? { fhirUserForm: options.fhirUserForm } : {}),
  };
  const appLaunch = {
    router: createAppLaunchRouter(launchDeps, lazyIdTokenKey()),
    configuration: appLaunchConfiguration(launchDeps),
  };
  let unavailable: number | undefined;

  server.on(
    'request',
    createSandboxFhirApp({
      repo,
      engine,
      authStore,
      tokenService,
      publicUrl: url,
      fhirBaseUrl,
      tokenUrl,
      now,
      logger,
      unavailable: () => unavailable,
      appLaunch,
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      ...(options.unsupportedSearchParameters
        ? { unsupportedSearchParameters: options.unsupportedSearchParameters }
        : {}),
      ...(options.eventsOperation !== undefined ? { eventsOperation: options.eventsOperation } : {}),
    }),
  );
  logger.info({ url, fhirBaseUrl, seeded: timeline.length > 0, restored }, 'sandbox EHR listening');

  let replayed = restored;
  let stopped = false;
  const replayTimers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        replayTimers.delete(timer);
        resolve();
      }, ms);
      replayTimers.add(timer);
    });

  return {
    url,
    fhirBaseUrl,
    tokenUrl,
    chartUrl: `${url}/chart`,

    registerApp: (input) => registry.register(input),

    registerClient(input) {
      return registerSandboxClient(authStore, SANDBOX_EHR_TENANT, input, now());
    },

    createResource: <T extends Resource>(r: T): Promise<T> => repo.createResource(r),
    updateResource: <T extends Resource>(r: T): Promise<T> => repo.updateResource(r),
    readResource: (type: string, id: string): Promise<Resource> => repo.readResource(type, id),
    listResources: (type: string): Promise<Resource[]> => repo.listAll(type),
    staff,
    seededErrors,
    payerEnrollment,

    async replay({ speed, limit }) {
      const end = Math.min(timeline.length, limit === undefined ? timeline.length : replayed + limit);
      while (replayed < end && !stopped) {
        const step = timeline[replayed];
        const previous = timeline[replayed - 1];
        if (!step) {
          break;
        }
        if (previous && speed > 0) {
          const gap = Date.parse(step.at) - Date.parse(previous.at);
          if (gap > 0) {
            await sleep(gap / speed);
          }
        }
        if (stopped) {
          break;
        }
        replayed++;
        if (step.action === 'create') {
          await repo.createResource(structuredClone(step.resource));
        } else {
          await repo.updateResource(structuredClone(step.resource));
        }
        options.onReplayed?.(replayed);
        // The step's note can name the (fictional) patient: it stays out of the logs like any PHI.
        logger.info(
          { step: replayed, action: step.action, type: step.resource.resourceType, id: step.resource.id },
          'replayed',
        );
      }
    },

    setFaults: (faults) => engine.queue.setFaults(faults),
    setUnavailable(status) {
      unavailable = status === false ? undefined : status;
    },
    async deleteResource(type, id) {
      await repo.deleteQuietly(type, id);
      if (type === 'Subscription') {
        engine.forget(id);
      }
    },
    resetEventCounters: () => engine.resetEventCounters(),
    heartbeatNow: () => engine.heartbeatNow(),
    idle: () => engine.queue.idle(),
    subscriptionInfo: (id) => engine.info(id),

    async stop() {
      stopped = true;
      for (const timer of replayTimers) {
        clearTimeout(timer);
      }
      replayTimers.clear();
      await engine.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
