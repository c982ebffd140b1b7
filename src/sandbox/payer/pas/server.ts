/**
 * The sandbox payer's Da Vinci PAS 2.2.1 endpoint, `{payer}/pas/fhir` (payers expose one PAS
 * endpoint per IG version: ../shared/research/pas.md §1.1), behind the payer's own SMART Backend
 * Services authorization:
 * - `POST Claim/$submit` (scope Claim create): a PAS Request Bundle, checked against the PAS
 *   profiles (400 + OperationOutcome when it does not conform, as the IG and Inferno's server suite
 *   want), decided under the payer's policy (./policy.ts) and answered with a PAS Response Bundle;
 *   Claim Updates (more units, new items, cancels) change the case they relate to; a pended item is
 *   decided after `reviewDelayMs` and the subscribers notified. The same Bundle (identifier and
 *   content) sent again is answered again without a second decision; the same identifier with other
 *   content is refused (422).
 * - `POST Claim/$inquire` (scope ClaimResponse read): a PAS Inquiry Bundle, matched by example (the
 *   member id, the requesting provider, authorization or reference numbers), answered with a
 *   Parameters of Inquiry Response Bundles named `return` (as the OperationDefinition names it).
 * - `Subscription` create / read / update / delete, search by `url` (the channel endpoint) and
 *   `status` as the Backport IG's R4 server lists them, `GET Subscription/{id}/$status` and
 *   `GET Subscription/{id}/$events` (the events it counted, sent or not; scopes on Subscription),
 *   each scoped to the authenticated client's own subscriptions (another's is not found):
 *   ./subscription-routes.ts (the subscriptions and their notifications: ./subscriptions.ts).
 * - `GET ClaimResponse/{id}`: the current answer of a case.
 * Its CapabilityStatement (`GET metadata`, public): ./capability.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Bundle, Claim, Coverage, Parameters, Resource, Subscription } from '@medplum/fhirtypes';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { getAuthContext, requireBearer, requireScope } from '../../../auth/bearer.ts';
import type { TokenService } from '../../../auth/token-service.ts';
import { smartConfiguration } from '../../../auth/token-route.ts';
import { strictJsonBody } from '../../../http/json-body.ts';
import { FHIR_JSON, outcome, sendOutcome } from '../../../http/outcomes.ts';
import {
  resolveInBundle,
  validatePasInquiryBundle,
  validatePasRequestBundle,
} from '../../../coverage/pas/profiles.ts';
import { PAS_EXT, PAS_PROFILE } from '../../../contract/pas.ts';
import type { BusinessError, Numbering, PayerCase, Received } from './cases.ts';
import {
  applyUpdate,
  businessErrors,
  finishReview,
  keyOf,
  matchesInquiry,
  openCase,
  responseBundle,
} from './cases.ts';
import type { PasPolicy } from './policy.ts';
import { DEFAULT_PAS_POLICY } from './policy.ts';
import type { DeliveryLog } from './subscriptions.ts';
import { PasSubscriptions } from './subscriptions.ts';
import { holdAnswer } from './answer-faults.ts';
import { capabilityStatement } from './capability.ts';
import type { SubscriptionFaults } from './subscription-routes.ts';
import { addSubscriptionRoutes } from './subscription-routes.ts';

export interface PasEndpointOptions extends SubscriptionFaults {
  /** `{payer}/pas/fhir`. */
  readonly base: string;
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly now: () => Date;
  readonly log: DeliveryLog;
  readonly policy?: PasPolicy;
  /** How long the payer's review of a pended item takes (default 2 s). */
  readonly reviewDelayMs?: number;
  /** Faults to inject (the payer's behaviour): answers garbled on the way back, after the decision is kept. */
  readonly garble?: () => 'not-json' | 'invalid-fhir' | undefined;
  /** The payer's members (member ids); absent, every member id is taken as one of its members. */
  readonly members?: readonly string[];
  /** While true, event notifications are held back (lost) until `releaseNotifications`. */
  readonly holdNotifications?: () => boolean;
  /** While true, no heartbeat is sent (heartbeatNow and a failure's heartbeat included). */
  readonly silenceHeartbeats?: () => boolean;
  /** How many of a subscription's latest events `$events` answers (a payer keeping less history). */
  readonly eventsAnswered?: () => number | undefined;
  /** ms a `$submit` answer is held after the request is decided and kept (a slow payer); absent, none. */
  readonly holdSubmitAnswers?: () => number | undefined;
}

export interface PasEndpoint {
  readonly router: Router;
  /** Cases as they stand (tests and the sandbox day's figures). */
  cases(): PayerCase[];
  /** Decides pended items now instead of at the end of the review delay. */
  finishReviews(): Promise<void>;
  /** Sends the event notifications held back (`holdNotifications`): a late delivery. How many. */
  releaseNotifications(): number;
  /** `Claim/$submit` requests received with a valid token, the same Bundle sent again included. */
  submitsReceived(): number;
  /** `Claim/$inquire` requests received with a valid token (answered or refused as invalid). */
  inquiriesReceived(): number;
  /** The subscriptions the payer holds (not deleted), as it would show them, oldest first. */
  subscriptions(): Subscription[];
  /**
   * Puts subscription `id` in `error` or `off`, as a failure on the payer's side would, and sends a
   * heartbeat saying so to a subscription that asked for heartbeats; false when none has that id.
   */
  failSubscription(id: string, status: 'error' | 'off'): boolean;
  /** Sends the heartbeat of every subscription that asked for one (`active` or in `error`) now. */
  heartbeatNow(): void;
  /** The payer drops subscription `id` (purged, as an `off` or expired one may be); false when none. */
  forgetSubscription(id: string): boolean;
  /**
   * The next `count` (default 1) event notifications of subscription `id` are counted and never
   * sent (lost for good; the next one's number skips them); false when none has that id.
   */
  dropNotifications(id: string, count?: number): boolean;
  stop(): void;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export function createPasEndpoint(options: PasEndpointOptions): PasEndpoint {
  const { base, now } = options;
  const policy = options.policy ?? DEFAULT_PAS_POLICY;
  const reviewDelayMs = options.reviewDelayMs ?? 2_000;
  const members = options.members ? new Set(options.members) : undefined;
  const cases = new Map<string, PayerCase>();
  const answered = new Map<string, { hash: string; body: string }>();
  const reviews = new Map<string, NodeJS.Timeout>();
  const subscriptions = new PasSubscriptions({
    base,
    now,
    log: options.log,
    ...(options.holdNotifications ? { hold: options.holdNotifications } : {}),
    ...(options.silenceHeartbeats ? { silent: options.silenceHeartbeats } : {}),
    ...(options.eventsAnswered ? { answered: options.eventsAnswered } : {}),
  });
  let counter = 0;
  const numbers: Numbering = {
    next: (prefix) => `${prefix}${String(++counter).padStart(6, '0')}`,
  };
  const stamp = (): string => now().toISOString();

  const answer = (c: PayerCase, errors?: readonly BusinessError[]): Bundle =>
    responseBundle(c, { base, transactionId: randomUUID(), now: stamp(), ...(errors ? { errors } : {}) });

  const review = (id: string): void => {
    const current = cases.get(id);
    reviews.delete(id);
    if (!current) {
      return;
    }
    const decided = finishReview(current, stamp(), numbers);
    if (decided !== current) {
      cases.set(id, decided);
      const sent = subscriptions.notify(decided.senderId, answer(decided));
      options.log.info({ case: id, notified: sent }, 'sandbox payer: PAS review finished');
    }
  };

  const scheduleReview = (c: PayerCase): void => {
    if (c.items.some((i) => i.review === 'A4') && !reviews.has(c.id)) {
      const timer = setTimeout(() => review(c.id), reviewDelayMs);
      reviews.set(c.id, timer);
    }
  };

  const caseOfClaim = (claim: Claim | undefined): PayerCase | undefined => {
    const keys = new Set((claim?.identifier ?? []).map(keyOf).filter((k) => k !== ''));
    return [...cases.values()].find((c) => c.claimKeys.some((k) => keys.has(k)));
  };

  let submitsReceived = 0;
  const submit = (req: Request, res: Response): void => {
    requireScope(getAuthContext(res), 'Claim', 'create');
    submitsReceived += 1;
    // The decision is kept at once; only its answer waits.
    holdAnswer(res, options.holdSubmitAnswers?.());
    const bundle = req.body as Bundle;
    const invalid = validatePasRequestBundle(bundle);
    if (invalid) {
      res.status(400).type(FHIR_JSON).send(JSON.stringify(invalid));
      return;
    }
    const text = JSON.stringify(bundle);
    const hash = createHash('sha256').update(text).digest('hex');
    const key = keyOf(bundle.identifier);
    const previous = answered.get(key);
    if (previous) {
      if (previous.hash !== hash) {
        sendOutcome(
          res,
          422,
          outcome('conflict', 'This Bundle identifier was already sent with other content'),
        );
        return;
      }
      res.set('Idempotent-Replayed', 'true').status(200).type(FHIR_JSON).send(previous.body);
      return;
    }
    const claim = bundle.entry?.[0]?.resource as Claim;
    const received: Received = { bundle, claim, claimUrl: bundle.entry?.[0]?.fullUrl ?? '' };
    let current: PayerCase;
    let errors: BusinessError[] = [];
    const related = claim.related?.[0]?.claim?.reference;
    if (related) {
      const prior = resolveInBundle(bundle, received.claimUrl, related)?.resource as Claim | undefined;
      const existing = caseOfClaim(prior);
      if (!existing) {
        sendOutcome(
          res,
          422,
          outcome('business-rule', 'The Claim this update relates to is not a request this payer knows'),
        );
        return;
      }
      const updated = applyUpdate(existing, received, policy, stamp(), numbers);
      if ('refused' in updated) {
        sendOutcome(res, 422, outcome('business-rule', updated.refused));
        return;
      }
      current = updated;
      if (current.items.every((i) => i.review === 'C')) {
        const timer = reviews.get(current.id);
        if (timer) {
          clearTimeout(timer);
          reviews.delete(current.id);
        }
      }
    } else {
      if (caseOfClaim(claim)) {
        sendOutcome(
          res,
          422,
          outcome(
            'duplicate',
            'A request with this Claim identifier was already received: send a Claim Update',
          ),
        );
        return;
      }
      errors = businessErrors(received, members);
      current = openCase(received, policy, randomUUID(), stamp(), numbers);
    }
    if (errors.length === 0) {
      cases.set(current.id, current);
      scheduleReview(current);
    }
    const body = JSON.stringify(answer(current, errors));
    answered.set(key, { hash, body });
    options.log.info(
      {
        case: current.id,
        update: related !== undefined,
        decisions: current.items.map((i) => i.review).join(','),
        errors: errors.length,
      },
      'sandbox payer: PAS request decided',
    );
    if (related && errors.length === 0) {
      subscriptions.notify(current.senderId, answer(current));
    }
    const garble = options.garble?.();
    if (garble === 'not-json') {
      res.status(200).type('text/html').send('<html><body>Gateway says hello</body></html>');
      return;
    }
    if (garble === 'invalid-fhir') {
      // A ClaimResponse alone, without its Bundle and its required elements: not a PAS answer.
      res
        .status(200)
        .type(FHIR_JSON)
        .send(JSON.stringify({ resourceType: 'ClaimResponse', id: current.id, bogus: true }));
      return;
    }
    res.status(200).type(FHIR_JSON).send(body);
  };

  let inquiriesReceived = 0;
  const inquire = (req: Request, res: Response): void => {
    requireScope(getAuthContext(res), 'ClaimResponse', 'read');
    inquiriesReceived += 1;
    const bundle = req.body as Bundle;
    const invalid = validatePasInquiryBundle(bundle);
    if (invalid) {
      res.status(400).type(FHIR_JSON).send(JSON.stringify(invalid));
      return;
    }
    const claim = bundle.entry?.[0]?.resource as Claim;
    const claimUrl = bundle.entry?.[0]?.fullUrl;
    const entry = (reference: string | undefined): Resource | undefined =>
      reference ? resolveInBundle(bundle, claimUrl, reference)?.resource : undefined;
    const coverage = entry(claim.insurance?.find((i) => i.focal)?.coverage.reference) as Coverage | undefined;
    const memberId = coverage?.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MB'))?.value;
    const provider = entry(claim.provider.reference) as { identifier?: { value?: string }[] } | undefined;
    const numberUrls = new Set<string>([PAS_EXT.authorizationNumber, PAS_EXT.administrationReferenceNumber]);
    const query = {
      ...(memberId ? { memberId } : {}),
      providerIds: (provider?.identifier ?? [])
        .map((i) => i.value)
        .filter((v): v is string => v !== undefined),
      numbers: [claim, ...(claim.item ?? [])]
        .flatMap((holder) => holder.extension ?? [])
        .filter((e) => numberUrls.has(e.url))
        .map((e) => e.valueString)
        .filter((v): v is string => v !== undefined),
    };
    const found = [...cases.values()].filter((c) => matchesInquiry(c, query));
    const result: Parameters = {
      resourceType: 'Parameters',
      parameter: found.map((c) => {
        const b = answer(c);
        const first = b.entry?.[0]?.resource;
        if (first) {
          first.meta = { profile: [PAS_PROFILE.claimInquiryResponse] };
        }
        return { name: 'return', resource: { ...b, meta: { profile: [PAS_PROFILE.inquiryResponseBundle] } } };
      }),
    };
    res.status(200).type(FHIR_JSON).send(JSON.stringify(result));
  };

  const router = express.Router();
  const capability = capabilityStatement(base, options.tokenUrl, now());
  router.get('/metadata', (_req, res) => {
    res.type(FHIR_JSON).send(JSON.stringify(capability));
  });
  router.get('/.well-known/smart-configuration', (_req, res) => {
    res.json(smartConfiguration({ issuer: options.issuer, tokenUrl: options.tokenUrl }));
  });
  router.use(requireBearer(options.tokenService, { now }));
  router.use(strictJsonBody({ maxBytes: MAX_BODY_BYTES, maxDepth: 64 }));
  router.post('/Claim/\\$submit', submit);
  router.post('/Claim/\\$inquire', inquire);
  addSubscriptionRoutes(router, base, subscriptions, options);
  router.get('/ClaimResponse/:id', (req, res) => {
    requireScope(getAuthContext(res), 'ClaimResponse', 'read');
    const found = cases.get(req.params['id'] ?? '');
    if (!found) {
      sendOutcome(res, 404, outcome('not-found', 'ClaimResponse not found'));
      return;
    }
    res.type(FHIR_JSON).send(JSON.stringify(answer(found).entry?.[0]?.resource));
  });
  router.use((req, res) => {
    sendOutcome(
      res,
      404,
      outcome('not-found', `The sandbox payer's PAS endpoint has no route for ${req.method} ${req.path}`),
    );
  });

  return {
    router,
    cases: () => [...cases.values()],
    finishReviews() {
      for (const [id, timer] of reviews) {
        clearTimeout(timer);
        review(id);
      }
      return Promise.resolve();
    },
    releaseNotifications: () => subscriptions.release(),
    submitsReceived: () => submitsReceived,
    inquiriesReceived: () => inquiriesReceived,
    subscriptions: () => subscriptions.list().map((s) => subscriptions.view(s)),
    failSubscription: (id, status) => subscriptions.fail(id, status),
    heartbeatNow: () => subscriptions.heartbeatNow(),
    forgetSubscription: (id) => subscriptions.forget(id),
    dropNotifications: (id, count) => subscriptions.drop(id, count),
    stop() {
      for (const timer of reviews.values()) {
        clearTimeout(timer);
      }
      reviews.clear();
      subscriptions.stop();
    },
  };
}
