/**
 * The sandbox payer's PAS subscriptions (Da Vinci PAS 2.2.1 §Subscription, Subscriptions R5 Backport
 * IG 1.1; ../shared/research/pas.md §3.1): a client creates one Subscription per sending system on
 * the PAS topic, rest-hook, full-resource, filtered by `org-identifier=<its interchange sender id>`
 * (the IG's topic and example spell it `orgIdentifier`: both are accepted). The payer handshakes at
 * once and, when a request's decision changes, POSTs a Backport `history` Bundle — the
 * SubscriptionStatus Parameters, then the whole PAS Response Bundle (spec-61) — with the client's
 * channel header. Event numbers count per subscription; a failed delivery is retried with backoff
 * a few times, then the subscription is marked `error`. A subscription that asked for a heartbeat
 * (`backport-heartbeat-period`) gets one each period while `active` or in `error`, reporting its
 * status (Backport IG errors.html: a server in error keeps counting events and MAY keep sending
 * heartbeats with an `error` status); `fail` puts one in `error` or `off` as a failure on the
 * payer's side would, and says so in a heartbeat at once (unless its heartbeats are `silent`: a
 * payer whose heartbeats stopped). `$status` answers how one stands (statusBundle). An update (PUT)
 * makes it `requested` again and handshakes: the client's reactivation. `drop` loses a
 * subscription's next event notifications for good while counting them (Backport IG errors.html
 * "Missing Event": what the client sees is the next notification's number or count skipping).
 * Every event counted is kept (its number, focus and PAS Response Bundle; the latest
 * MAX_KEPT_EVENTS a subscription), sent or not, so `$events` can answer it again (eventsBundle:
 * Backport IG 1.1, OperationDefinition backport-subscription-events).
 *
 * Each subscription belongs to the client that created it (its SMART client_id): as a real payer
 * scopes what a client may see and change, another client's is not found by search, read, update
 * or delete (PAS 2.2.1 spec-59: only the sending system may create or modify its subscriptions).
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Extension, OperationOutcome, Subscription } from '@medplum/fhirtypes';
import { validateAgainst } from '../../../coverage/pas/profiles.ts';
import { PAS_BACKPORT, PAS_PROFILE, PAS_TOPIC } from '../../../contract/pas.ts';
import { renderStatusParameters } from '../../ehr/notification-render.ts';

/** The notifications the payer sends, and the `$events` answer (`query-event`). */
type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-event';

const FILTER = /^(org-identifier|orgIdentifier)=(\S+)$/;

/**
 * Events a subscription keeps for `$events`: the latest this many (older ones are no longer
 * answered, as a real server keeps a bounded history; a client then falls back to `$inquire`).
 */
export const MAX_KEPT_EVENTS = 1000;

/** An event the payer counted for a subscription: what its notification carried (or would have). */
export interface KeptEvent {
  readonly number: number;
  /** The id of the PAS Response Bundle the notification's focus names (the same in `$events`). */
  readonly focusId: string;
  readonly response: Bundle;
  /** When it was triggered (an instant, UTC). */
  readonly timestamp: string;
}

export interface PayerSubscription {
  readonly id: string;
  /** The client (SMART client_id) that created it: the only one that sees or changes it. */
  readonly owner: string;
  /** Organization ids (interchange sender ids) whose requests it hears about. */
  readonly orgIds: readonly string[];
  readonly endpoint: string;
  readonly headers: readonly (readonly [string, string])[];
  /** The heartbeat period it asked for (seconds); absent, none is sent. */
  readonly heartbeatSeconds?: number;
  status: 'requested' | 'active' | 'error' | 'off';
  events: number;
  /** Its events as counted, oldest first (the latest MAX_KEPT_EVENTS): what `$events` answers. */
  readonly kept: KeptEvent[];
  resource: Subscription & { id: string };
}

export interface DeliveryLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const outcome = (text: string): OperationOutcome => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'invalid', details: { text } }],
});

/** The subscription a PAS client asks for, or why the payer refuses it. */
export function parsePasSubscription(
  body: unknown,
):
  | { ok: true; orgIds: string[]; endpoint: string; headers: [string, string][]; heartbeatSeconds?: number }
  | { ok: false; outcome: OperationOutcome } {
  const s = body as Subscription | undefined;
  if (s?.resourceType !== 'Subscription') {
    return { ok: false, outcome: outcome('The body is not a Subscription') };
  }
  const issues = validateAgainst(s, PAS_PROFILE.subscription);
  if (issues.length > 0) {
    return { ok: false, outcome: { resourceType: 'OperationOutcome', issue: issues } };
  }
  // The filter sits on the primitive `criteria` (`_criteria`), which the R4 types do not spell.
  const criteria = (s as { _criteria?: { extension?: Extension[] } })._criteria;
  const filters = (criteria?.extension ?? []).filter((e) => e.url === PAS_BACKPORT.filterCriteria);
  const match = filters.length === 1 ? FILTER.exec(filters[0]?.valueString ?? '') : null;
  if (!match) {
    return {
      ok: false,
      outcome: outcome(
        'One backport-filter-criteria is required: org-identifier=<sending system id>[,<id>...] (PAS spec-58)',
      ),
    };
  }
  const headers = (s.channel.header ?? []).flatMap((h): [string, string][] => {
    const colon = h.indexOf(':');
    return colon > 0 ? [[h.slice(0, colon).trim(), h.slice(colon + 1).trim()]] : [];
  });
  const period = s.channel.extension?.find((e) => e.url === PAS_BACKPORT.heartbeatPeriod)?.valueUnsignedInt;
  return {
    ok: true,
    orgIds: (match[2] ?? '').split(','),
    endpoint: s.channel.endpoint ?? '',
    headers,
    ...(period !== undefined && period > 0 ? { heartbeatSeconds: period } : {}),
  };
}

export class PasSubscriptions {
  readonly #subscriptions = new Map<string, PayerSubscription>();
  readonly #base: string;
  readonly #now: () => Date;
  readonly #log: DeliveryLog;
  readonly #retryMs: number;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Each subscription's heartbeat timer (those that asked for one). */
  readonly #heartbeats = new Map<string, NodeJS.Timeout>();
  readonly #hold: () => boolean;
  readonly #silent: () => boolean;
  readonly #answered: () => number | undefined;
  /** Per subscription, how many of its next event notifications are dropped (`drop`). */
  readonly #dropping = new Map<string, number>();
  /** Event notifications held back (`hold`), oldest first: lost, until `release`. */
  readonly #held: { subscription: PayerSubscription; event: KeptEvent }[] = [];

  constructor(options: {
    base: string;
    now: () => Date;
    log: DeliveryLog;
    retryMs?: number;
    /** While true, event notifications are not sent (a lost notification, the payer's outage). */
    hold?: () => boolean;
    /** While true, no heartbeat is sent (the payer's heartbeats stopped: a broken channel, a bug). */
    silent?: () => boolean;
    /** How many of a subscription's latest events `$events` still answers (default all kept). */
    answered?: () => number | undefined;
  }) {
    this.#base = options.base;
    this.#now = options.now;
    this.#log = options.log;
    this.#retryMs = options.retryMs ?? 500;
    this.#hold = options.hold ?? ((): boolean => false);
    this.#silent = options.silent ?? ((): boolean => false);
    this.#answered = options.answered ?? ((): undefined => undefined);
  }

  /** Sends the event notifications held back so far (a late delivery); resolves how many. */
  release(): number {
    const held = this.#held.splice(0);
    for (const { subscription, event } of held) {
      void this.#deliver(subscription, 'event-notification', event, 4);
    }
    return held.length;
  }

  /**
   * The next `count` event notifications of subscription `id` are counted (their numbers taken,
   * events-since-subscription-start moving on) and never sent: lost for good, as a delivery a proxy
   * acknowledged and never passed on (release does not bring them). The notification after them
   * skips their numbers. False when no subscription has that id.
   */
  drop(id: string, count = 1): boolean {
    if (!this.#subscriptions.has(id)) {
      return false;
    }
    this.#dropping.set(id, (this.#dropping.get(id) ?? 0) + count);
    return true;
  }

  /** The subscription `id` if `owner` holds it (another client's is not found). */
  get(id: string, owner: string): PayerSubscription | undefined {
    const found = this.#subscriptions.get(id);
    return found?.owner === owner ? found : undefined;
  }

  /** Every subscription held, oldest first; with `owner`, only that client's. */
  list(owner?: string): PayerSubscription[] {
    const all = [...this.#subscriptions.values()];
    return owner === undefined ? all : all.filter((s) => s.owner === owner);
  }

  /**
   * Creates (or, with `id`, replaces) `owner`'s subscription; the handshake goes out at once. The
   * caller checks that a replaced one is `owner`'s (get).
   */
  put(
    body: Subscription,
    parsed: { orgIds: string[]; endpoint: string; headers: [string, string][]; heartbeatSeconds?: number },
    owner: string,
    id: string = randomUUID(),
  ): PayerSubscription {
    const previous = this.#subscriptions.get(id);
    const subscription: PayerSubscription = {
      id,
      owner,
      orgIds: parsed.orgIds,
      endpoint: parsed.endpoint,
      headers: parsed.headers,
      ...(parsed.heartbeatSeconds !== undefined ? { heartbeatSeconds: parsed.heartbeatSeconds } : {}),
      status: 'requested',
      events: previous?.events ?? 0,
      kept: previous?.kept ?? [],
      resource: { ...body, id, status: 'requested' },
    };
    this.#subscriptions.set(id, subscription);
    this.#beat(subscription);
    void this.#deliver(subscription, 'handshake', undefined, 3);
    return subscription;
  }

  /** Deletes `owner`'s subscription `id`; false when `owner` holds none by that id. */
  delete(id: string, owner: string): boolean {
    if (this.get(id, owner) === undefined) {
      return false;
    }
    clearInterval(this.#heartbeats.get(id));
    this.#heartbeats.delete(id);
    return this.#subscriptions.delete(id);
  }

  /**
   * Puts subscription `id` in `error` or `off`, as a failure on the payer's side would, and sends
   * its heartbeat now (if it asked for heartbeats) saying so; false when no subscription has that id.
   */
  fail(id: string, status: 'error' | 'off'): boolean {
    const subscription = this.#subscriptions.get(id);
    if (!subscription) {
      return false;
    }
    subscription.status = status;
    this.#heartbeat(subscription);
    return true;
  }

  /**
   * The payer no longer holds subscription `id` (purged, as a server may an `off` or expired one):
   * nothing more is sent for it, and it is not found; false when none has that id.
   */
  forget(id: string): boolean {
    clearInterval(this.#heartbeats.get(id));
    this.#heartbeats.delete(id);
    return this.#subscriptions.delete(id);
  }

  /**
   * The `$status` answer of a subscription (Backport IG 1.1, OperationDefinition
   * backport-subscription-status): a searchset Bundle holding its SubscriptionStatus Parameters,
   * type `query-status`, with its status and events-since-subscription-start as they stand.
   */
  statusBundle(subscription: PayerSubscription): Bundle {
    const timestamp = this.#now().toISOString();
    const id = randomUUID();
    const status = renderStatusParameters(
      {
        fhirBaseUrl: this.#base,
        subscriptionId: subscription.id,
        topic: PAS_TOPIC,
        status: subscription.status,
        type: 'query-status',
        eventsSinceSubscriptionStart: subscription.events,
        content: 'full-resource',
        timestamp,
      },
      id,
    );
    return {
      resourceType: 'Bundle',
      id: randomUUID(),
      type: 'searchset',
      timestamp,
      total: 1,
      entry: [{ fullUrl: `urn:uuid:${id}`, resource: status, search: { mode: 'match' } }],
    };
  }

  /**
   * The `$events` answer of a subscription (Backport IG 1.1, OperationDefinition
   * backport-subscription-events): a notification Bundle (`history`) whose SubscriptionStatus is of
   * type `query-event`, carrying the kept events numbered from `since` through `until` (inclusive;
   * absent: from the first kept, through the last) with their PAS Response Bundles (the
   * subscription's full-resource content, whatever `content` hinted: the IG lets a server ignore it).
   */
  eventsBundle(subscription: PayerSubscription, since?: number, until?: number): Bundle {
    const answered = this.#answered() ?? MAX_KEPT_EVENTS;
    const events = subscription.kept
      .slice(Math.max(0, subscription.kept.length - answered))
      .filter(
        (e) => (since === undefined || e.number >= since) && (until === undefined || e.number <= until),
      );
    return this.notification(subscription, 'query-event', events);
  }

  /** Sends every subscription's heartbeat now (those that asked for one, `active` or in `error`). */
  heartbeatNow(): void {
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.status === 'active' || subscription.status === 'error') {
        this.#heartbeat(subscription);
      }
    }
  }

  /** Starts (or restarts) the subscription's heartbeat timer, if it asked for heartbeats. */
  #beat(subscription: PayerSubscription): void {
    clearInterval(this.#heartbeats.get(subscription.id));
    this.#heartbeats.delete(subscription.id);
    if (subscription.heartbeatSeconds === undefined) {
      return;
    }
    const timer = setInterval(() => {
      if (subscription.status === 'active' || subscription.status === 'error') {
        this.#heartbeat(subscription);
      }
    }, subscription.heartbeatSeconds * 1000);
    timer.unref();
    this.#heartbeats.set(subscription.id, timer);
  }

  #heartbeat(subscription: PayerSubscription): void {
    if (subscription.heartbeatSeconds !== undefined && !this.#silent()) {
      void this.#deliver(subscription, 'heartbeat', undefined, 1);
    }
  }

  /** The subscription as the payer shows it (status as it stands, secrets kept back). */
  view(subscription: PayerSubscription): Subscription {
    const { header: _header, ...channel } = subscription.resource.channel;
    return { ...subscription.resource, status: subscription.status, channel };
  }

  /** A decision changed for a request sent by `senderId`: every matching active subscription is told. */
  notify(senderId: string | undefined, response: Bundle): number {
    let sent = 0;
    for (const subscription of this.#subscriptions.values()) {
      if (
        senderId !== undefined &&
        subscription.status === 'error' &&
        subscription.orgIds.includes(senderId)
      ) {
        // In error the event is counted (and kept for `$events`), not sent (IG "Handling Errors").
        this.#count(subscription, response);
      } else if (
        senderId !== undefined &&
        subscription.status === 'active' &&
        subscription.orgIds.includes(senderId)
      ) {
        const event = this.#count(subscription, response);
        const dropping = this.#dropping.get(subscription.id) ?? 0;
        if (dropping > 0) {
          this.#dropping.set(subscription.id, dropping - 1);
          this.#log.info(
            { subscription: subscription.id, event: event.number },
            'sandbox payer: PAS notification dropped',
          );
        } else if (this.#hold()) {
          this.#held.push({ subscription, event });
        } else {
          void this.#deliver(subscription, 'event-notification', event, 4);
        }
        sent += 1;
      }
    }
    return sent;
  }

  /** The subscription's next event: counted, and kept for `$events` (the latest MAX_KEPT_EVENTS). */
  #count(subscription: PayerSubscription, response: Bundle): KeptEvent {
    subscription.events += 1;
    const event: KeptEvent = {
      number: subscription.events,
      focusId: response.id ?? randomUUID(),
      response,
      timestamp: this.#now().toISOString(),
    };
    subscription.kept.push(event);
    subscription.kept.splice(0, Math.max(0, subscription.kept.length - MAX_KEPT_EVENTS));
    return event;
  }

  stop(): void {
    for (const timer of this.#timers) {
      clearTimeout(timer);
    }
    this.#timers.clear();
    for (const timer of this.#heartbeats.values()) {
      clearInterval(timer);
    }
    this.#heartbeats.clear();
  }

  /**
   * The Backport notification: SubscriptionStatus first, then each event's full PAS Response
   * Bundle (one event in a notification; those asked for in a `query-event` answer).
   */
  notification(
    subscription: PayerSubscription,
    type: NotificationType,
    events: readonly KeptEvent[] = [],
  ): Bundle {
    const timestamp = this.#now().toISOString();
    const status = renderStatusParameters(
      {
        fhirBaseUrl: this.#base,
        subscriptionId: subscription.id,
        topic: PAS_TOPIC,
        status: type === 'handshake' ? 'requested' : subscription.status,
        type,
        eventsSinceSubscriptionStart: subscription.events,
        events: events.map((e) => ({
          eventNumber: e.number,
          timestamp: e.timestamp,
          interaction: 'update' as const,
          focus: { resourceType: 'Bundle', id: e.focusId },
        })),
        content: 'full-resource',
        timestamp,
      },
      randomUUID(),
    );
    return {
      resourceType: 'Bundle',
      id: randomUUID(),
      type: 'history',
      timestamp,
      entry: [
        {
          fullUrl: `urn:uuid:${status.id ?? randomUUID()}`,
          resource: status,
          request: { method: 'GET', url: `${this.#base}/Subscription/${subscription.id}/$status` },
          response: { status: '200' },
        },
        ...events.map((e) => ({
          fullUrl: `${this.#base}/Bundle/${e.focusId}`,
          resource: { ...e.response, id: e.focusId },
          request: { method: 'GET' as const, url: `${this.#base}/Bundle/${e.focusId}` },
          response: { status: '200' },
        })),
      ],
    };
  }

  async #deliver(
    subscription: PayerSubscription,
    type: 'handshake' | 'heartbeat' | 'event-notification',
    event: KeptEvent | undefined,
    attemptsLeft: number,
    delayMs = this.#retryMs,
  ): Promise<void> {
    const body = JSON.stringify(this.notification(subscription, type, event ? [event] : []));
    let ok = false;
    try {
      const res = await fetch(subscription.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', ...Object.fromEntries(subscription.headers) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      ok = res.ok;
      await res.arrayBuffer();
      this.#log.info(
        { subscription: subscription.id, type, status: res.status, event: event?.number },
        'sandbox payer: PAS notification delivered',
      );
    } catch (err) {
      this.#log.warn(
        { subscription: subscription.id, type, err: (err as Error).message },
        'sandbox payer: PAS notification failed',
      );
    }
    if (ok) {
      if (type === 'handshake' && subscription.status === 'requested') {
        subscription.status = 'active';
      }
      return;
    }
    if (attemptsLeft <= 1) {
      // An `off` subscription stays off (its last heartbeat, saying so, may find no one).
      if (subscription.status !== 'off') {
        subscription.status = 'error';
      }
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#subscriptions.get(subscription.id) === subscription) {
        void this.#deliver(subscription, type, event, attemptsLeft - 1, delayMs * 2);
      }
    }, delayMs);
    this.#timers.add(timer);
  }
}
