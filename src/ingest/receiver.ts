/**
 * The notification receiver: `POST /ehr/{connectionId}/notify` (plus `PUT`/`DELETE
 * /ehr/{connectionId}/notify/{type}/{id}` for classic senders that address the resource).
 *
 * In the request path it only authenticates, parses, checks the subscription belongs to the
 * connection, and writes the work durably (one queue job per event, keyed for idempotency, all in
 * one transaction, grouped with the notifications that arrived with it: ../store/group-commit.ts) before
 * answering 200. Everything slow — fetch-back, storing copies, recovery —
 * happens in the worker. See ../shared/research/subscriptions-smart.md §1.4 and §2.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import express, { Router } from 'express';
import type { Request, Response } from 'express';
import type { EhrConnectionConfig } from '../config/config.ts';
import { jsonDepth } from '../http/json-body.ts';
import type { LeanRoute } from '../http/lean-route.ts';
import { forbidden, unauthorized } from '../http/auth-errors.ts';
import { HttpError, outcome, sendOutcome } from '../http/outcomes.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../time/clock.ts';
import { GroupCommit } from '../store/group-commit.ts';
import type { BatchOperation, Store, TenantId } from '../store/port.ts';
import type { IngestJob } from './jobs.ts';
import { INGEST_QUEUE, jobKeys } from './jobs.ts';
import type { ParsedNotification } from './notification.ts';
import { parseNotification } from './notification-parser.ts';
import type { SubscriptionRecord } from './records.ts';
import type { IngestTopic } from './topics.ts';
import { digestMatches, loadRecord, secretDigest, storedDigest } from './records.ts';
import { INGEST_TOPICS } from './topics.ts';

export interface ConnectionBinding {
  readonly tenant: TenantId;
  readonly connection: EhrConnectionConfig;
}

export interface ReceiverDeps {
  readonly store: Store;
  readonly directory: SubscriptionDirectory;
  readonly connections: ReadonlyMap<string, ConnectionBinding>;
  readonly maxBodyBytes: number;
  readonly maxJsonDepth: number;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Called after work was enqueued (wakes the in-process worker). */
  readonly onEnqueued?: () => void;
}

const ACCEPTED_TYPES = new Set(['application/fhir+json', 'application/json']);
/** The realm of the per-subscription secrets EHRs present (channel.header `Authorization: Bearer`). */
const NOTIFY_REALM = 'dripline-notifications';
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Subscription records by connection, cached: the hot path must not read the store to
 * authenticate. A miss (e.g. a subscription just created by another process) reloads, at most
 * once a second (of the injected clock) per connection.
 */
export class SubscriptionDirectory {
  readonly #store: Store;
  readonly #now: Clock;
  /** The records with their secrets' digests as bytes (decoded once per load, not per request). */
  readonly #cache = new Map<
    string,
    { records: SubscriptionRecord[]; digests: (Buffer | undefined)[]; loadedAt: number }
  >();

  constructor(store: Store, now: Clock = () => new Date()) {
    this.#store = store;
    this.#now = now;
  }

  async find(binding: ConnectionBinding, secret: string): Promise<SubscriptionRecord | undefined> {
    const presented = secretDigest(secret);
    const cached = this.#cache.get(binding.connection.id);
    const hit = cached?.records.find((_r, i) => digestMatches(presented, cached.digests[i]));
    if (hit) {
      return hit;
    }
    if (cached && this.#now().getTime() - cached.loadedAt < 1000) {
      return undefined;
    }
    await this.reload(binding);
    const loaded = this.#cache.get(binding.connection.id);
    return loaded?.records.find((_r, i) => digestMatches(presented, loaded.digests[i]));
  }

  async reload(binding: ConnectionBinding): Promise<SubscriptionRecord[]> {
    const records: SubscriptionRecord[] = [];
    for (const topic of INGEST_TOPICS) {
      const record = await loadRecord(this.#store, binding.tenant, binding.connection.id, topic);
      if (record) {
        records.push(record);
      }
    }
    this.#cache.set(binding.connection.id, {
      records,
      digests: records.map((r) => storedDigest(r.secretSha256)),
      loadedAt: this.#now().getTime(),
    });
    return records;
  }

  invalidate(connectionId: string): void {
    this.#cache.delete(connectionId);
  }
}

function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase();
}

function bearerSecret(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

function signatureValid(body: Buffer, secret: string, presented: string | undefined): boolean {
  if (!presented || !/^[0-9a-fA-F]{64}$/.test(presented)) {
    return false;
  }
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(presented, 'hex'));
}

function headersOf(incoming: IncomingHttpHeaders): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(incoming)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/**
 * What event numbers count within: the EHR subscription. (A counter reset on the same subscription
 * is caught by the worker, which resyncs with a catch-up query; the receiver's cached record cannot
 * know about it in time, so the tracker's epoch is deliberately not part of the key.)
 */
export function eventScope(record: Pick<SubscriptionRecord, 'ehrSubscriptionId'>): string {
  return record.ehrSubscriptionId ?? 'pending';
}

/** The jobs one parsed notification becomes. */
export function jobsFor(
  parsed: ParsedNotification,
  record: SubscriptionRecord,
  body: string,
  receivedAt: string,
): { key: string; job: IngestJob }[] {
  const connectionId = record.connectionId;
  const topic: IngestTopic = record.topic;
  switch (parsed.shape) {
    case 'backport':
    case 'r5': {
      if (parsed.type === 'event-notification' || parsed.type === 'query-event') {
        return parsed.events.map((event, index) => {
          // Every event needs a number to be idempotent; the parser guarantees one for backport.
          const eventNumber =
            event.eventNumber ??
            (parsed.eventsSinceSubscriptionStart ?? 0) - (parsed.events.length - 1 - index);
          const related = new Set(
            [event.focus, ...event.additionalContext].filter((r): r is string => r !== undefined),
          );
          const resources = parsed.resources
            .filter((r) => {
              const relative = `${r.resource.resourceType}/${r.resource.id ?? ''}`;
              return [...related].some(
                (ref) => ref === r.fullUrl || ref === relative || ref.endsWith(`/${relative}`),
              );
            })
            .map((r) => r.resource);
          const job: IngestJob = {
            kind: 'event',
            connectionId,
            topic,
            eventNumber,
            ...(parsed.eventsSinceSubscriptionStart !== undefined
              ? { eventsSinceSubscriptionStart: parsed.eventsSinceSubscriptionStart }
              : {}),
            ...(event.focus ? { focus: event.focus } : {}),
            additionalContext: event.additionalContext,
            resources,
            receivedAt,
          };
          return { key: jobKeys.event(connectionId, topic, eventNumber, eventScope(record)), job };
        });
      }
      const job: IngestJob = {
        kind: 'status',
        connectionId,
        topic,
        type: parsed.type,
        ...(parsed.status ? { status: parsed.status } : {}),
        ...(parsed.eventsSinceSubscriptionStart !== undefined
          ? { eventsSinceSubscriptionStart: parsed.eventsSinceSubscriptionStart }
          : {}),
        receivedAt,
      };
      return [{ key: jobKeys.status(connectionId, topic, parsed.type, randomUUID()), job }];
    }
    case 'classic': {
      const job: IngestJob = {
        kind: 'classic',
        connectionId,
        topic,
        interaction: parsed.interaction,
        target: parsed.target,
        ...(parsed.resource ? { resource: parsed.resource } : {}),
        receivedAt,
      };
      return [{ key: jobKeys.classic(connectionId, parsed.target, parsed.interaction, body), job }];
    }
    case 'ping': {
      const job: IngestJob = { kind: 'catch-up', connectionId, topics: [topic], reason: 'ping' };
      return [{ key: jobKeys.catchUp(connectionId, randomUUID()), job }];
    }
    default:
      parsed satisfies never;
      return [];
  }
}

/** One notification request as it reached Dripline, however it was routed. */
export interface ReceivedNotification {
  readonly connectionId: string;
  readonly method: 'POST' | 'PUT' | 'DELETE';
  /** `{type}/{id}` of `/notify/{type}/{id}` (classic senders that address the resource). */
  readonly type?: string;
  readonly id?: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw body bytes (empty when there is none). */
  readonly body: Buffer;
}

/** The 200 answer to every accepted notification. */
export const ACCEPTED_BODY = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'information', code: 'informational', details: { text: 'accepted' } }],
});

export interface NotificationReceiver {
  /**
   * Authenticates, validates and durably enqueues one notification; resolves once its jobs are
   * committed (the caller then answers 200 with ACCEPTED_BODY). Bad input throws HttpError /
   * OperationOutcomeError for the one error path (src/http/outcomes.ts).
   */
  receive(request: ReceivedNotification): Promise<void>;
  /** The express routes: `POST /:connectionId/notify`, `PUT`/`DELETE /:connectionId/notify/:type/:id`. */
  readonly router: Router;
}

export function createReceiverRouter(deps: ReceiverDeps): Router {
  return createNotificationReceiver(deps).router;
}

export function createNotificationReceiver(deps: ReceiverDeps): NotificationReceiver {
  const now = deps.now ?? (() => new Date());
  const { directory } = deps;
  const commits = new GroupCommit(deps.store);
  const router = Router();
  const readBody = express.raw({ type: () => true, limit: deps.maxBodyBytes });

  const receive = async (req: ReceivedNotification): Promise<void> => {
    const { connectionId } = req;
    const binding = deps.connections.get(connectionId);
    if (!binding) {
      throw new HttpError(404, outcome('not-found', `Unknown EHR connection "${connectionId}"`));
    }
    const { body } = req;
    if (body.length > 0) {
      const type = mediaType(req.headers['content-type']);
      if (!type || !ACCEPTED_TYPES.has(type)) {
        throw new HttpError(
          415,
          outcome(
            'not-supported',
            `Content-Type must be application/fhir+json or application/json, not ${type ?? 'missing'}`,
          ),
        );
      }
    }

    // Authenticate before looking at the body: the per-subscription secret from channel.header.
    const secret = bearerSecret(req.headers.authorization);
    const record = secret ? await directory.find(binding, secret) : undefined;
    if (!record) {
      throw unauthorized('Missing or unknown subscription secret', {
        realm: NOTIFY_REALM,
        invalidToken: secret !== undefined,
      });
    }
    const { hmacSecret } = binding.connection;
    if (hmacSecret && !signatureValid(body, hmacSecret, req.headers['x-signature'] as string | undefined)) {
      throw unauthorized('X-Signature does not match the body', { realm: NOTIFY_REALM, invalidToken: true });
    }

    const text = body.toString('utf8');
    if (jsonDepth(text) > deps.maxJsonDepth) {
      throw new HttpError(400, outcome('too-costly', `JSON nesting deeper than ${deps.maxJsonDepth} levels`));
    }
    const { type, id } = req;
    if (type !== undefined && (!RESOURCE_TYPE.test(type) || id === undefined || !RESOURCE_ID.test(id))) {
      throw new HttpError(400, outcome('invalid', 'The path must be /notify/{ResourceType}/{id}'));
    }
    const parsed = parseNotification({
      method: req.method,
      ...(type !== undefined && id !== undefined ? { pathTarget: { resourceType: type, id } } : {}),
      headers: headersOf(req.headers),
      body: text,
    });

    // The notification must be about the subscription the secret belongs to. (While Dripline is
    // still creating it, the EHR's id is not yet recorded; the secret alone then identifies it:
    // only that EHR was ever sent it.)
    const named = parsed.subscriptionId;
    if (named !== undefined && record.ehrSubscriptionId !== undefined && named !== record.ehrSubscriptionId) {
      deps.logger.warn(
        { connectionId, subscription: named, expected: record.ehrSubscriptionId },
        'notification names a subscription that does not belong to its credential',
      );
      throw forbidden('The notification names a subscription this credential does not own', {
        realm: NOTIFY_REALM,
      });
    }

    const receivedAt = now().toISOString();
    const jobs = jobsFor(parsed, record, text, receivedAt);
    if (jobs.length > 0) {
      const operations: BatchOperation[] = jobs.map(({ key, job }) => ({
        op: 'enqueue',
        job: { queue: INGEST_QUEUE, key, payload: job },
      }));
      try {
        await commits.write(binding.tenant, operations);
      } catch (err) {
        // Could not make it durable: tell the sender to retry rather than acknowledging.
        deps.logger.error({ connectionId, err: (err as Error).message }, 'could not enqueue notification');
        throw new HttpError(503, outcome('transient', 'Temporarily unable to accept notifications'), {
          'Retry-After': '5',
        });
      }
      deps.onEnqueued?.();
    }
    deps.logger.info(
      {
        connectionId,
        shape: parsed.shape,
        type: parsed.shape === 'backport' || parsed.shape === 'r5' ? parsed.type : parsed.shape,
        events: jobs.length,
      },
      'notification accepted',
    );
  };

  const handle = async (req: Request, res: Response): Promise<void> => {
    await receive({
      connectionId: String(req.params.connectionId),
      method: req.method as 'POST' | 'PUT' | 'DELETE',
      ...(req.params.type === undefined ? {} : { type: String(req.params.type) }),
      ...(req.params.id === undefined ? {} : { id: String(req.params.id) }),
      headers: req.headers,
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    });
    res.status(200).type('application/fhir+json').send(ACCEPTED_BODY);
  };

  router.post('/:connectionId/notify', readBody, handle);
  router.put('/:connectionId/notify/:type/:id', readBody, handle);
  router.delete('/:connectionId/notify/:type/:id', readBody, handle);
  router.all(['/:connectionId/notify', '/:connectionId/notify/:type/:id'], (req, res) => {
    res.set('Allow', req.params.type ? 'PUT, DELETE' : 'POST');
    sendOutcome(res, 405, outcome('not-supported', `${req.method} is not supported here`));
  });
  return { receive, router };
}

/**
 * `POST {mount}/:connectionId/notify` as a lean route (src/http/lean-route.ts): the same `receive`
 * as the router's, answered before the app's middleware stack. `mount` is where the router is mounted.
 */
export function notifyLeanRoute(receiver: NotificationReceiver, mount: string): LeanRoute {
  return {
    method: 'POST',
    template: `${mount}/:connectionId/notify`,
    async handle([connectionId = ''], req, body) {
      await receiver.receive({ connectionId, method: 'POST', headers: req.headers, body });
      return { status: 200, body: ACCEPTED_BODY };
    },
  };
}
