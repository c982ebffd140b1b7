/**
 * The sandbox EHR's subscription engine: the repository's write hooks (validate Subscriptions,
 * handshake new ones, count matching events), per-subscription state (status, event counter,
 * event log), what each notification carries, and the `$status` / `$events` answers.
 * Delivery itself is the DeliveryQueue's job.
 */
import { badRequest, notFound, OperationOutcomeError } from '@medplum/core';
import type { WithId } from '@medplum/core';
import type { Bundle, CodeableConcept, Resource, Subscription } from '@medplum/fhirtypes';
import type {
  DeliveryAttemptOutcome,
  DeliveryLogger,
  DeliveryRequest,
  DeliveryResult,
  RetryOptions,
} from './delivery.ts';
import { DeliveryQueue, HeartbeatScheduler } from './delivery.ts';
import type { NotifyingRepository, WriteHooks } from './repository.ts';
import type { NotificationEventRecord } from './notification-render.ts';
import { renderNotification } from './notification-render.ts';
import type {
  NotificationType,
  SubscriptionSpec,
  SubscriptionStatusCode,
  WriteInteraction,
} from './subscriptions.ts';
import {
  matchesSubscription,
  parseSubscription,
  relativeReference,
  SUBSCRIPTION_ERROR_SYSTEM,
} from './subscriptions.ts';

export interface SubscriptionEngineOptions {
  readonly repo: NotifyingRepository;
  readonly fhirBaseUrl: string;
  readonly now: () => Date;
  readonly logger: DeliveryLogger;
  readonly retry?: RetryOptions;
  /** Sees every delivery attempt and what came of it (see SandboxEhrOptions.onDelivery). */
  readonly onDelivery?: (attempt: DeliveryAttempt) => void;
}

/** One attempt to deliver a notification, as the EHR saw it. */
export interface DeliveryAttempt extends DeliveryAttemptOutcome {
  readonly subscriptionId: string;
  readonly kind: DeliveryRequest['kind'];
  /** The event an event notification carries (each carries one). */
  readonly eventNumber?: number;
}

/** What the server knows about one Subscription beyond the resource itself. */
interface SubscriptionState {
  readonly id: string;
  spec: SubscriptionSpec;
  status: SubscriptionStatusCode;
  eventCount: number;
  /** events[n - 1] is event number n. */
  readonly events: NotificationEventRecord[];
  errors: CodeableConcept[];
  /** Bumped on every (re)handshake: deliveries queued for an older generation are cancelled. */
  generation: number;
}

/** A snapshot of a subscription's server-side state (for tests and logs). */
export interface SubscriptionInfo {
  readonly id: string;
  readonly status: SubscriptionStatusCode;
  readonly eventCount: number;
  readonly shape: SubscriptionSpec['shape'];
}

const USER_AGENT = 'dripline-sandbox-ehr/0.1';

export class SubscriptionEngine implements WriteHooks {
  readonly #repo: NotifyingRepository;
  readonly #fhirBaseUrl: string;
  readonly #now: () => Date;
  readonly #logger: DeliveryLogger;
  readonly #subs = new Map<string, SubscriptionState>();
  readonly #generationOf = new WeakMap<DeliveryRequest, number>();
  readonly queue: DeliveryQueue;
  readonly #heartbeats: HeartbeatScheduler;

  constructor(options: SubscriptionEngineOptions) {
    this.#repo = options.repo;
    this.#fhirBaseUrl = options.fhirBaseUrl;
    this.#now = options.now;
    this.#logger = options.logger;
    this.queue = new DeliveryQueue({
      ...(options.retry ? { retry: options.retry } : {}),
      logger: options.logger,
      canSend: (request) => this.#canSend(request),
      onSettled: (request, result) => this.#settled(request, result),
      onAttempt: (request, outcome) => {
        const state = this.#subs.get(request.subscriptionId);
        if (state?.status === 'active') {
          this.#heartbeats.touch(state.id, state.spec.heartbeatPeriodSeconds);
        }
        options.onDelivery?.({
          subscriptionId: request.subscriptionId,
          kind: request.kind,
          ...(request.eventNumber !== undefined ? { eventNumber: request.eventNumber } : {}),
          ...outcome,
        });
      },
    });
    this.#heartbeats = new HeartbeatScheduler((id) => this.#heartbeat(id));
  }

  info(id: string): SubscriptionInfo | undefined {
    const s = this.#subs.get(id);
    return s ? { id: s.id, status: s.status, eventCount: s.eventCount, shape: s.spec.shape } : undefined;
  }

  /** The Subscription was deleted: no more deliveries, and `$status`/`$events` answer 404. */
  forget(id: string): void {
    this.#heartbeats.cancel(id);
    this.#subs.delete(id); // queued deliveries find no state and are cancelled
  }

  /**
   * What an EHR restart does to servers that keep counters in memory (HAPI): every
   * subscription's event counter and event log start again from 0; statuses are kept.
   */
  resetEventCounters(): void {
    for (const state of this.#subs.values()) {
      state.eventCount = 0;
      state.events.length = 0;
    }
  }

  /**
   * Sends the heartbeat of every active subscription that asked for one now, as its period ending
   * would, and restarts the period: for a caller that waits for the next heartbeat (what it
   * reports is the point, not how long the period is).
   */
  heartbeatNow(): void {
    for (const state of this.#subs.values()) {
      if (state.spec.heartbeatPeriodSeconds) {
        this.#heartbeat(state.id);
      }
    }
  }

  async stop(): Promise<void> {
    this.#heartbeats.stop();
    await this.queue.stop();
  }

  // ------------------------------------------------------------------------------------------
  // Write hooks
  // ------------------------------------------------------------------------------------------

  beforeWrite(resource: Resource, interaction: WriteInteraction): Resource {
    if (resource.resourceType !== 'Subscription') {
      return resource;
    }
    const parsed = parseSubscription(resource);
    if (!parsed.ok) {
      throw new OperationOutcomeError(badRequest(parsed.message));
    }
    const asked = resource.status;
    const current = resource.id ? this.#subs.get(resource.id) : undefined;
    let status: SubscriptionStatusCode;
    if (asked === 'off') {
      status = 'off';
    } else if (parsed.spec.shape === 'classic') {
      status = 'active'; // classic rest-hook: no handshake
    } else if (interaction === 'update' && asked === 'active' && current?.status === 'active') {
      status = 'active';
    } else {
      status = 'requested'; // create, or a repair: handshake (again)
    }
    return { ...withoutError(resource), status };
  }

  async afterWrite(written: WithId<Resource>, interaction: WriteInteraction): Promise<void> {
    if (written.resourceType === 'Subscription') {
      this.#subscriptionWritten(written);
      return;
    }
    for (const state of this.#subs.values()) {
      if (state.status === 'off') {
        continue;
      }
      const matches = await matchesSubscription(state.spec, written, interaction, {
        resolve: (reference) => {
          const [type, id] = relativeReference(reference).split('/');
          return type && id ? this.#repo.readCurrent(type, id) : Promise.resolve(undefined);
        },
      });
      if (matches) {
        this.#recordEvent(state, written, interaction);
      }
    }
  }

  #subscriptionWritten(subscription: WithId<Subscription>): void {
    const parsed = parseSubscription(subscription);
    if (!parsed.ok) {
      return; // beforeWrite refused it already
    }
    const status = subscription.status ?? 'requested';
    let state = this.#subs.get(subscription.id);
    if (!state) {
      state = {
        id: subscription.id,
        spec: parsed.spec,
        status,
        eventCount: 0,
        events: [],
        errors: [],
        generation: 0,
      };
      this.#subs.set(subscription.id, state);
    }
    state.spec = parsed.spec;
    state.status = status;
    state.generation++;
    if (status === 'requested') {
      state.errors = [];
      this.#heartbeats.cancel(state.id);
      this.#enqueue(state, 'handshake', []);
    } else if (status === 'active') {
      state.errors = [];
      this.#heartbeats.touch(state.id, state.spec.heartbeatPeriodSeconds);
    } else {
      this.#heartbeats.cancel(state.id);
    }
    this.#logger.info({ subscriptionId: state.id, status, shape: state.spec.shape }, 'subscription stored');
  }

  #recordEvent(state: SubscriptionState, resource: WithId<Resource>, interaction: WriteInteraction): void {
    state.eventCount++;
    const event: NotificationEventRecord = {
      eventNumber: state.eventCount,
      timestamp: this.#now().toISOString(),
      interaction,
      focus: {
        resourceType: resource.resourceType,
        id: resource.id,
        ...(resource.meta?.versionId ? { versionId: resource.meta.versionId } : {}),
      },
      resource: structuredClone(resource),
    };
    state.events.push(event);
    // Events keep counting while the subscription is requested or in error (IG "Handling Errors");
    // only an active subscription gets them delivered. $events serves the rest.
    if (state.status === 'active') {
      this.#enqueue(state, state.spec.shape === 'classic' ? 'classic' : 'event-notification', [event]);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Deliveries
  // ------------------------------------------------------------------------------------------

  #enqueue(
    state: SubscriptionState,
    kind: DeliveryRequest['kind'],
    events: readonly NotificationEventRecord[],
  ): void {
    const { spec } = state;
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
    let body: string;
    if (kind === 'classic') {
      const event = events[0];
      const resource = event?.resource;
      body = spec.payloadMimeType && resource ? JSON.stringify(resource) : '';
      headers['X-Medplum-Subscription'] = state.id;
      headers['X-Medplum-Interaction'] = event?.interaction ?? 'update';
    } else {
      const type: NotificationType = kind;
      body = JSON.stringify(
        renderNotification({
          fhirBaseUrl: this.#fhirBaseUrl,
          subscriptionId: state.id,
          ...(spec.topic ? { topic: spec.topic } : {}),
          status: kind === 'handshake' ? 'requested' : state.status,
          type,
          eventsSinceSubscriptionStart: events.at(-1)?.eventNumber ?? state.eventCount,
          events,
          content: spec.content,
          shape: spec.shape === 'r5' ? 'r5' : 'backport',
          timestamp: this.#now().toISOString(),
        }),
      );
    }
    if (body !== '') {
      headers['Content-Type'] = spec.payloadMimeType ?? 'application/fhir+json';
    }
    for (const [name, value] of spec.headers) {
      headers[name] = value;
    }
    const request: DeliveryRequest = {
      subscriptionId: state.id,
      kind,
      url: spec.endpoint,
      headers,
      body,
      ...(events.length === 1 && events[0] ? { eventNumber: events[0].eventNumber } : {}),
      ...(spec.timeoutSeconds ? { timeoutMs: spec.timeoutSeconds * 1000 } : {}),
    };
    this.#generationOf.set(request, state.generation);
    this.queue.enqueue(request);
  }

  #canSend(request: DeliveryRequest): boolean {
    const state = this.#subs.get(request.subscriptionId);
    if (!state || this.#generationOf.get(request) !== state.generation) {
      return false;
    }
    return request.kind === 'handshake' ? state.status === 'requested' : state.status === 'active';
  }

  async #settled(request: DeliveryRequest, result: DeliveryResult): Promise<void> {
    const state = this.#subs.get(request.subscriptionId);
    if (
      !state ||
      result.cancelled ||
      result.dropped ||
      this.#generationOf.get(request) !== state.generation
    ) {
      return;
    }
    if (request.kind === 'handshake') {
      if (state.status !== 'requested') {
        return;
      }
      if (result.ok) {
        await this.#setStatus(state, 'active', []);
      } else {
        await this.#setStatus(state, 'error', [failureConcept(result, 'handshake')]);
      }
      return;
    }
    if (!result.ok && state.status === 'active') {
      await this.#setStatus(state, 'error', [failureConcept(result, request.kind)]);
    }
  }

  async #setStatus(
    state: SubscriptionState,
    status: SubscriptionStatusCode,
    errors: CodeableConcept[],
  ): Promise<void> {
    state.status = status;
    state.errors = errors;
    if (status === 'active') {
      this.#heartbeats.touch(state.id, state.spec.heartbeatPeriodSeconds);
    } else {
      this.#heartbeats.cancel(state.id);
    }
    const current = (await this.#repo.readCurrent('Subscription', state.id)) as Subscription | undefined;
    if (current) {
      const errorText = errors.map((e) => e.text ?? e.coding?.[0]?.code).join('; ');
      await this.#repo.writeQuietly<Subscription>({
        ...withoutError(current),
        status,
        ...(errorText ? { error: errorText } : {}),
      });
    }
    this.#logger.info({ subscriptionId: state.id, status }, 'subscription status changed');
  }

  #heartbeat(id: string): void {
    const state = this.#subs.get(id);
    if (state?.status !== 'active' || state.spec.shape === 'classic') {
      return;
    }
    this.#enqueue(state, 'heartbeat', []);
    // If the heartbeat is dropped by a fault, no attempt touches the timer: keep beating anyway.
    this.#heartbeats.touch(id, state.spec.heartbeatPeriodSeconds);
  }

  // ------------------------------------------------------------------------------------------
  // Operations
  // ------------------------------------------------------------------------------------------

  #state(id: string): SubscriptionState {
    const state = this.#subs.get(id);
    if (!state) {
      throw new OperationOutcomeError(notFound);
    }
    return state;
  }

  /** `$status`: a searchset Bundle with one status Parameters (type query-status). */
  status(id: string): Bundle {
    const state = this.#state(id);
    return renderNotification({
      fhirBaseUrl: this.#fhirBaseUrl,
      subscriptionId: id,
      ...(state.spec.topic ? { topic: state.spec.topic } : {}),
      status: state.status,
      type: 'query-status',
      eventsSinceSubscriptionStart: state.eventCount,
      content: state.spec.content,
      timestamp: this.#now().toISOString(),
      errors: state.errors,
    });
  }

  /** `$events`: the logged events in [since, until] (inclusive, clamped), as a query-event history Bundle. */
  events(id: string, since?: number, until?: number): Bundle {
    const state = this.#state(id);
    const from = Math.max(1, since ?? 1);
    const to = Math.min(state.eventCount, until ?? state.eventCount);
    const events = from <= to ? state.events.slice(from - 1, to) : [];
    return renderNotification({
      fhirBaseUrl: this.#fhirBaseUrl,
      subscriptionId: id,
      ...(state.spec.topic ? { topic: state.spec.topic } : {}),
      status: state.status,
      type: 'query-event',
      eventsSinceSubscriptionStart: state.eventCount,
      events,
      content: state.spec.content,
      timestamp: this.#now().toISOString(),
      errors: state.errors,
    });
  }
}

/** A copy without `Subscription.error` (the server's own note on the last failure). */
function withoutError(subscription: Subscription): Subscription {
  const copy = { ...subscription };
  delete copy.error;
  return copy;
}

function failureConcept(result: DeliveryResult, what: string): CodeableConcept {
  if (result.status === undefined) {
    return {
      coding: [{ system: SUBSCRIPTION_ERROR_SYSTEM, code: 'no-response' }],
      text: `${what}: no response from the endpoint (${result.error ?? 'network error'})`,
    };
  }
  return { text: `${what}: the endpoint answered HTTP ${result.status} after ${result.attempts} attempt(s)` };
}
