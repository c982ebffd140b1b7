/**
 * The sandbox payer's PAS Subscription routes (./server.ts mounts them behind its SMART
 * authorization): create, search by `url` (the channel endpoint) and `status` as the Backport
 * IG's R4 server lists them, `GET Subscription/{id}/$status` and `$events`, read, update and
 * delete (scopes on Subscription), each scoped to the authenticated client's own subscriptions
 * (another's is not found), with the faults the payer's behaviour injects (`options`). The
 * subscriptions themselves, their handshakes, heartbeats, notifications and kept events:
 * ./subscriptions.ts.
 */
import type { Bundle, Subscription } from '@medplum/fhirtypes';
import type { Router } from 'express';
import { getAuthContext, requireScope } from '../../../auth/bearer.ts';
import { FHIR_JSON, outcome, sendOutcome } from '../../../http/outcomes.ts';
import { holdAnswer, refuse } from './answer-faults.ts';
import type { PasSubscriptions } from './subscriptions.ts';
import { parsePasSubscription } from './subscriptions.ts';

/** Subscription search parameters served (Backport IG 1.1, R4 server CapabilityStatement). */
const SUBSCRIPTION_SEARCH = new Set(['url', 'status', '_count']);
/** Faults to inject in the Subscription routes (the payer's behaviour, read at each request). */
export interface SubscriptionFaults {
  /** An HTTP status (e.g. 503) Subscription creates are answered with: only that service down. */
  readonly subscriptionsUnavailable?: () => number | undefined;
  /** ms a Subscription create is answered after the subscription is made (its handshake gone); absent, none. */
  readonly holdSubscribeAnswers?: () => number | undefined;
  /** While true, a Subscription create makes the subscription and drops the connection unanswered. */
  readonly dropSubscribeAnswers?: () => boolean;
  /** An HTTP status (e.g. 403) a Subscription create is refused with: nothing is made. */
  readonly refuseSubscriptionCreates?: () => number | undefined;
  /** An HTTP status (e.g. 403, 405) a Subscription delete is refused with, as a real server could. */
  readonly refuseSubscriptionDeletes?: () => number | undefined;
  /** An HTTP status (e.g. 405) a Subscription search is refused with (a server without search). */
  readonly refuseSubscriptionSearch?: () => number | undefined;
  /** An HTTP status (e.g. 403, 501) `Subscription/{id}/$status` is refused with. */
  readonly refuseSubscriptionStatus?: () => number | undefined;
  /** An HTTP status (e.g. 404, 501) `Subscription/{id}/$events` is refused with: a payer without it. */
  readonly refuseSubscriptionEvents?: () => number | undefined;
}

/** The `$events` parameters (Backport IG 1.1, OperationDefinition backport-subscription-events). */
const EVENTS_PARAMS = new Set(['eventsSinceNumber', 'eventsUntilNumber', 'content']);
/** The content codes a client may hint (backport-content-value-set). */
const CONTENT_CODES = new Set(['empty', 'id-only', 'full-resource']);

/**
 * The `$events` query read strictly, as a real server would: each parameter at most once, event
 * numbers positive integers, since ≤ until, content a known code; else why not (a 400).
 */
export function readEventsQuery(
  query: Record<string, unknown>,
): { ok: true; since?: number; until?: number } | { ok: false; reason: string } {
  const unknown = Object.entries(query).filter(
    ([name, v]) => !EVENTS_PARAMS.has(name) || typeof v !== 'string',
  );
  if (unknown.length > 0) {
    return {
      ok: false,
      reason: `Unknown (or repeated) $events parameter: ${unknown.map(([name]) => name).join(', ')}`,
    };
  }
  const number = (name: string): number | undefined | false => {
    const text = query[name] as string | undefined;
    if (text === undefined) {
      return undefined;
    }
    return /^[1-9]\d{0,15}$/.test(text) ? Number(text) : false;
  };
  const since = number('eventsSinceNumber');
  const until = number('eventsUntilNumber');
  if (since === false || until === false) {
    return {
      ok: false,
      reason: 'eventsSinceNumber and eventsUntilNumber are event numbers (integers from 1)',
    };
  }
  if (since !== undefined && until !== undefined && since > until) {
    return { ok: false, reason: 'eventsSinceNumber is after eventsUntilNumber' };
  }
  const content = query['content'] as string | undefined;
  if (content !== undefined && !CONTENT_CODES.has(content)) {
    return { ok: false, reason: 'content is one of empty, id-only, full-resource' };
  }
  return { ok: true, ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
}

/** Adds the Subscription routes to the PAS endpoint's `router` (`base`: the endpoint's own URL). */
export function addSubscriptionRoutes(
  router: Router,
  base: string,
  subscriptions: PasSubscriptions,
  options: SubscriptionFaults,
): void {
  router.post('/Subscription', (req, res) => {
    requireScope(getAuthContext(res), 'Subscription', 'create');
    const down = options.subscriptionsUnavailable?.();
    if (down !== undefined) {
      sendOutcome(res, down, outcome('transient', 'The payer cannot create subscriptions now'));
      return;
    }
    const refused = options.refuseSubscriptionCreates?.();
    if (refused !== undefined) {
      refuse(res, refused, 'Subscription create');
      return;
    }
    const parsed = parsePasSubscription(req.body);
    if (!parsed.ok) {
      res.status(400).type(FHIR_JSON).send(JSON.stringify(parsed.outcome));
      return;
    }
    // The subscription exists (and its handshake is on its way) before its answer leaves.
    holdAnswer(res, options.holdSubscribeAnswers?.());
    const created = subscriptions.put(req.body as Subscription, parsed, getAuthContext(res).clientId);
    if (options.dropSubscribeAnswers?.() === true) {
      // Made, and the answer lost on the way: the connection is reset with nothing sent.
      req.socket.destroy();
      return;
    }
    res
      .status(201)
      .location(`${base}/Subscription/${created.id}`)
      .type(FHIR_JSON)
      .send(JSON.stringify(subscriptions.view(created)));
  });
  router.get('/Subscription', (req, res) => {
    requireScope(getAuthContext(res), 'Subscription', 'search');
    const refused = options.refuseSubscriptionSearch?.();
    if (refused !== undefined) {
      refuse(res, refused, 'Subscription search');
      return;
    }
    const query = req.query as Record<string, unknown>;
    const unsupported = Object.entries(query).filter(
      ([name, v]) => !SUBSCRIPTION_SEARCH.has(name) || typeof v !== 'string',
    );
    if (unsupported.length > 0) {
      const names = unsupported.map(([name]) => name).join(', ');
      sendOutcome(res, 400, outcome('not-supported', `Unsupported search parameter (or repeated): ${names}`));
      return;
    }
    const { url, status } = query as { url?: string; status?: string };
    // What this client may see: its own subscriptions, never another client's.
    const found = subscriptions
      .list(getAuthContext(res).clientId)
      .filter(
        (s) => (url === undefined || s.endpoint === url) && (status === undefined || s.status === status),
      )
      .map((s) => subscriptions.view(s));
    const result: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: found.length,
      link: [{ relation: 'self', url: `${base}${req.url}` }],
      entry: found.map((s) => ({
        fullUrl: `${base}/Subscription/${s.id ?? ''}`,
        resource: s,
        search: { mode: 'match' },
      })),
    };
    res.type(FHIR_JSON).send(JSON.stringify(result));
  });
  router.get('/Subscription/:id/\\$status', (req, res) => {
    requireScope(getAuthContext(res), 'Subscription', 'read');
    const refused = options.refuseSubscriptionStatus?.();
    if (refused !== undefined) {
      refuse(res, refused, 'Subscription $status');
      return;
    }
    const found = subscriptions.get(req.params['id'] ?? '', getAuthContext(res).clientId);
    if (!found) {
      sendOutcome(res, 404, outcome('not-found', 'Subscription not found'));
      return;
    }
    res.type(FHIR_JSON).send(JSON.stringify(subscriptions.statusBundle(found)));
  });
  router.get('/Subscription/:id/\\$events', (req, res) => {
    requireScope(getAuthContext(res), 'Subscription', 'read');
    const refused = options.refuseSubscriptionEvents?.();
    if (refused !== undefined) {
      refuse(res, refused, 'Subscription $events');
      return;
    }
    // Another client's subscription is not found, as for $status.
    const found = subscriptions.get(req.params['id'] ?? '', getAuthContext(res).clientId);
    if (!found) {
      sendOutcome(res, 404, outcome('not-found', 'Subscription not found'));
      return;
    }
    const asked = readEventsQuery(req.query);
    if (!asked.ok) {
      sendOutcome(res, 400, outcome('invalid', asked.reason));
      return;
    }
    res.type(FHIR_JSON).send(JSON.stringify(subscriptions.eventsBundle(found, asked.since, asked.until)));
  });
  router.get('/Subscription/:id', (req, res) => {
    requireScope(getAuthContext(res), 'Subscription', 'read');
    const found = subscriptions.get(req.params['id'] ?? '', getAuthContext(res).clientId);
    if (!found) {
      sendOutcome(res, 404, outcome('not-found', 'Subscription not found'));
      return;
    }
    res.type(FHIR_JSON).send(JSON.stringify(subscriptions.view(found)));
  });
  router.put('/Subscription/:id', (req, res) => {
    requireScope(getAuthContext(res), 'Subscription', 'update');
    const id = req.params['id'] ?? '';
    const parsed = parsePasSubscription(req.body);
    if (!parsed.ok) {
      res.status(400).type(FHIR_JSON).send(JSON.stringify(parsed.outcome));
      return;
    }
    const owner = getAuthContext(res).clientId;
    if (!subscriptions.get(id, owner)) {
      sendOutcome(res, 404, outcome('not-found', 'Subscription not found'));
      return;
    }
    res
      .type(FHIR_JSON)
      .send(
        JSON.stringify(subscriptions.view(subscriptions.put(req.body as Subscription, parsed, owner, id))),
      );
  });
  router.delete('/Subscription/:id', (req, res) => {
    requireScope(getAuthContext(res), 'Subscription', 'delete');
    const refused = options.refuseSubscriptionDeletes?.();
    if (refused !== undefined) {
      refuse(res, refused, 'Subscription delete');
      return;
    }
    if (!subscriptions.delete(req.params['id'] ?? '', getAuthContext(res).clientId)) {
      sendOutcome(res, 404, outcome('not-found', 'Subscription not found'));
      return;
    }
    res.status(204).end();
  });
}
