/**
 * An honest sandbox payer over real HTTP: FHIR R4 `Claim/$submit` behind its own SMART Backend
 * Services authorization server (its own signing key and in-memory client registry), adjudicating
 * from its own fee schedule and rules (./adjudicate.ts, ./tables.ts) and answering with a
 * ClaimResponse that carries adjudication amounts and CARC/RARC reason codes.
 *
 * Which payer it behaves as (the rules differ: Medicare wants JW/JZ, Medicaid an NDC, Medicaid
 * and commercial prior authorization...):
 * - `{url}/medicare/fhir`, `{url}/medicaid/fhir`, `{url}/commercial/fhir`: that kind, always;
 * - `{url}/fhir`: the kind named by the Claim's `insurer.identifier.value` in `payerIds`
 *   (default SBX-MEDICARE, SBX-MEDICAID, SBX-COMMERCIAL), else `defaultKind` (default medicare).
 * One authorization server serves all of them (tokens are for `{url}/fhir`, accepted on every base).
 *
 * Endpoints (each base): `GET metadata` and `.well-known/smart-configuration` (public);
 * `POST Claim/$submit` (scope Claim create: `system/Claim.c`, `system/*.*`...), `GET Claim/{id}`,
 * `GET ClaimResponse/{id}`, `GET ClaimResponse?request=Claim/{id}` / `?identifier=[system|]value`
 * (read / search on the type; `identifier` matches the ClaimResponse's own identifier — the payer
 * claim number — and any identifier of the Claim it answers).
 *
 * Idempotency: a submission is identified by the full set of the Claim's identifiers (`system|value`,
 * sorted; else its id) plus the `Idempotency-Key` header. The same identifiers and header with the
 * same body answer the same ClaimResponse again (header `Idempotent-Replayed: true`) without
 * adjudicating twice; with a different body they are refused (422). A new identifier set (Dripline
 * adds a new submission identifier when it resubmits a claim it fixed, under the same claim id) or
 * a new key is a new submission, adjudicated anew — and lines already paid on a claim still in
 * force are denied as duplicates (CARC 18).
 *
 * Replacements (frequency 7) and voids (8) reverse the payment of the original they name (see
 * ./adjudicate.ts); the payer remembers every adjudicated claim for that (./ledger.ts; across
 * restarts with `journal`) and marks the original replaced or voided once reversed, which
 * releases its paid lines.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Bundle, CapabilityStatement, Claim, ClaimResponse } from '@medplum/fhirtypes';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { getAuthContext, requireBearer, requireScope } from '../../auth/bearer.ts';
import { createTokenRouter, smartConfiguration, smartRestSecurity } from '../../auth/token-route.ts';
import { loadFhirDefinitions } from '../../fhir/definitions.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { errorHandler, FHIR_JSON, notFoundHandler, outcome, sendOutcome } from '../../http/outcomes.ts';
import { adjudicate } from './adjudicate.ts';
import { identifierKeys } from './claim-reading.ts';
import { toClaimResponse } from './claim-response.ts';
import { priorClaimOf } from './reversals.ts';
import { PayerLedger } from './ledger.ts';
import type { CostSharing, PayerKind } from './tables.ts';
import { buildPayerTables } from './tables.ts';
import { parseSubmitBody } from './validate.ts';
import { registerSandboxClient } from '../register-client.ts';
import { listenSandbox } from '../listen.ts';
import { isoInZone } from '../../time/zone.ts';
import { createPasEndpoint } from './pas/server.ts';
import type { PasEndpoint } from './pas/server.ts';
import type { PasPolicy } from './pas/policy.ts';
import type { SandboxMember } from './eligibility/enrollment.ts';
import { createEligibilityService } from './eligibility/routes.ts';

export type { PayerKind } from './tables.ts';

/** Tenant recorded on every client of the sandbox payer. */
export const SANDBOX_PAYER_TENANT = 'sandbox-payer';

/** Payer ids (Claim.insurer.identifier.value) the `/fhir` base recognizes. */
export const DEFAULT_PAYER_IDS: Readonly<Record<string, PayerKind>> = {
  'SBX-MEDICARE': 'medicare',
  'SBX-MEDICAID': 'medicaid',
  'SBX-COMMERCIAL': 'commercial',
};

export interface SandboxPayerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SandboxPayerOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Base URL the payer names itself by (token iss/aud); default http://host:port. */
  publicUrl?: string;
  now?: () => Date;
  /**
   * The payer's time zone (IANA name or "UTC", default "UTC"): its received date (timely filing)
   * and payment date are calendar days there, and ClaimResponse.created is written with its offset.
   */
  timeZone?: string;
  logger?: SandboxPayerLogger;
  /** Kind at `/fhir` when the insurer identifier names none (default medicare). */
  defaultKind?: PayerKind;
  /** Insurer identifier value → kind, for `/fhir` (default DEFAULT_PAYER_IDS). */
  payerIds?: Readonly<Record<string, PayerKind>>;
  costSharing?: Partial<Record<PayerKind, Partial<CostSharing>>>;
  /**
   * File the payer journals every adjudication to and reads back at start (./ledger.ts), so it
   * remembers the claims it adjudicated across restarts; absent, it remembers them in memory only.
   */
  journal?: string;
  timelyFilingDays?: Partial<Record<PayerKind, number>>;
  /** Prior authorization (Da Vinci PAS 2.2.1 at `{url}/pas/fhir`, ./pas/server.ts): policy and review delay. */
  pas?: { policy?: PasPolicy; reviewDelayMs?: number; members?: readonly string[] };
  /** The members eligibility answers for (./eligibility/enrollment.ts); setEnrollment replaces them. */
  members?: readonly SandboxMember[];
}

export interface SandboxPayerBehaviour {
  /** HTTP status every request (FHIR and token) is answered with, e.g. 503; absent = up. */
  unavailable?: number;
  /** Delay before every answer, in ms. */
  delayMs?: number;
  /**
   * Delay after the work and before its answer leaves, in ms: a claim is adjudicated and recorded
   * at once and its ClaimResponse sent this much later (a crash of the submitter meanwhile leaves
   * a claim the payer has answered and the submitter has not heard of).
   */
  answerDelayMs?: number;
  /**
   * `Claim/$submit` is adjudicated and recorded as usual, but the answer is garbled on the way
   * back: `not-json` (a 200 with an HTML page) or `invalid-fhir` (a 200 ClaimResponse missing its
   * required elements). Searching ClaimResponse still finds the real one.
   */
  garbleSubmitAnswers?: 'not-json' | 'invalid-fhir';
  /** The 271s of the X12 eligibility endpoint are garbled: a segment no 271 has, or no IEA. */
  garbleEligibility?: 'unknown-segment' | 'broken-envelope';
  /**
   * PAS event notifications are held back, as if lost: a decision reaches the submitter only by
   * `$inquire`, or when `pas.releaseNotifications()` delivers them late.
   */
  holdPasNotifications?: boolean;
  /** PAS Subscription creates are answered with this HTTP status (e.g. 503); `$submit`, `$inquire` work. */
  pasSubscriptionsUnavailable?: number;
  /**
   * PAS `Claim/$submit` answers leave this many ms after the request is decided and kept (a payer
   * slower than the submitter's job lease); tokens and other calls answer at once.
   */
  holdPasSubmitAnswersMs?: number;
  /**
   * PAS Subscription creates are answered this many ms after the subscription is made and its
   * handshake sent (a payer slower than the subscriber's job lease).
   */
  holdPasSubscribeAnswersMs?: number;
  /** PAS Subscription creates make the subscription (its handshake sent) and reset the connection unanswered. */
  dropPasSubscribeAnswers?: boolean;
  /** PAS Subscription creates are refused with this HTTP status (e.g. 403): a payer that stopped taking them. */
  refusePasSubscriptionCreates?: number;
  /** PAS Subscription deletes are refused with this HTTP status (e.g. 403, 405), as a real server could. */
  refusePasSubscriptionDeletes?: number;
  /** PAS Subscription searches are refused with this HTTP status (e.g. 405): a payer without search. */
  refusePasSubscriptionSearch?: number;
  /** PAS subscriptions get no heartbeat (the payer's heartbeats stopped); events are still sent. */
  silencePasHeartbeats?: boolean;
  /** PAS `Subscription/{id}/$status` is refused with this HTTP status (e.g. 403, 501). */
  refusePasSubscriptionStatus?: number;
}

export interface SandboxPayer {
  readonly url: string;
  /** The `/fhir` base (kind from the insurer identifier); `{url}/{kind}/fhir` force a kind. */
  readonly fhirBaseUrl: string;
  readonly tokenUrl: string;
  /** The Da Vinci PAS endpoint (`{url}/pas/fhir`): prior authorization `$submit`, `$inquire`, Subscription. */
  readonly pasFhirBaseUrl: string;
  /** The PAS endpoint's cases, and a way to end its pending reviews now. */
  readonly pas: Pick<
    PasEndpoint,
    | 'cases'
    | 'failSubscription'
    | 'finishReviews'
    | 'forgetSubscription'
    | 'heartbeatNow'
    | 'releaseNotifications'
    | 'submitsReceived'
    | 'subscriptions'
  >;
  /** The X12 eligibility endpoint: a 270 POSTed (application/edi-x12) is answered with a 271. */
  readonly x12EligibilityUrl: string;
  /** Replaces the members eligibility answers for. */
  setEnrollment(members: readonly SandboxMember[]): void;
  /** Eligibility inquiries answered so far, by channel. */
  eligibilityCounts(): { fhir: number; x12: number };
  /** Registers a SMART Backend Services client (public JWKS) and returns its client_id. */
  registerClient(input: { jwks: { keys: object[] }; scope: string; clientId?: string }): Promise<string>;
  /** Every ClaimResponse issued, oldest first. */
  claimResponses(): Promise<ClaimResponse[]>;
  /** Replaces the current behaviour (`{}` = normal service). */
  setBehaviour(behaviour: SandboxPayerBehaviour): void;
  stop(): Promise<void>;
}

const noopLogger: SandboxPayerLogger = { info: () => undefined, warn: () => undefined };
const KINDS: readonly PayerKind[] = ['medicare', 'medicaid', 'commercial'];
const FHIR_ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const MAX_JSON_DEPTH = 64;
const MAX_IDEMPOTENCY_KEY = 255;
/** ClaimResponse search parameters served (`identifier` also matches the Claim's identifier in `request`). */
const SEARCH_PARAMS = new Set(['request', 'identifier', 'request.identifier', '_count', '_format']);

export async function startSandboxPayer(options: SandboxPayerOptions = {}): Promise<SandboxPayer> {
  loadFhirDefinitions();
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? ((): Date => new Date());
  const timeZone = options.timeZone ?? 'UTC';
  isoInZone(now(), timeZone); // a zone Intl does not know fails here, not at the first claim
  const logger = options.logger ?? noopLogger;
  const defaultKind = options.defaultKind ?? 'medicare';
  const payerIds = options.payerIds ?? DEFAULT_PAYER_IDS;
  const tables = buildPayerTables({
    ...(options.costSharing ? { costSharing: options.costSharing } : {}),
    ...(options.timelyFilingDays ? { timelyFilingDays: options.timelyFilingDays } : {}),
  });

  const { server, url, fhirBaseUrl, tokenUrl, authStore, tokenService } = await listenSandbox({
    ...(options.port !== undefined ? { port: options.port } : {}),
    host,
    ...(options.publicUrl !== undefined ? { publicUrl: options.publicUrl } : {}),
    portVariable: 'SANDBOX_PAYER_PORT',
  });

  const ledger = new PayerLedger(options.journal);
  const { claims, responses, requestIdentifiers } = ledger;
  let behaviour: SandboxPayerBehaviour = {};
  const eligibility = createEligibilityService({
    now,
    timeZone,
    payerIds,
    tokenService,
    ...(options.members ? { members: options.members } : {}),
    garble: () => behaviour.garbleEligibility,
  });

  const kindFor = (forced: PayerKind | undefined, claim: Claim): PayerKind => {
    if (forced) {
      return forced;
    }
    const id = claim.insurer?.identifier?.value;
    return (id !== undefined && Object.hasOwn(payerIds, id) ? payerIds[id] : undefined) ?? defaultKind;
  };

  const submit = (req: Request, res: Response, forced: PayerKind | undefined): void => {
    requireScope(getAuthContext(res), 'Claim', 'create');
    const parsed = parseSubmitBody(req.body);
    if (!parsed.ok) {
      res.status(400).type(FHIR_JSON).send(JSON.stringify(parsed.outcome));
      return;
    }
    const { claim, resources } = parsed;
    const header = req.get('idempotency-key') ?? '';
    if (header.length > MAX_IDEMPOTENCY_KEY) {
      sendOutcome(res, 400, outcome('invalid', `Idempotency-Key is longer than ${MAX_IDEMPOTENCY_KEY}`));
      return;
    }
    const kind = kindFor(forced, claim);
    const identifiers = identifierKeys(claim);
    const claimKey =
      identifiers.length > 0
        ? `identifiers:${[...identifiers].sort().join('\u0001')}`
        : claim.id
          ? `id:${claim.id}`
          : '';
    const hash = createHash('sha256')
      .update(`${kind}\u0000${JSON.stringify(req.body)}`)
      .digest('hex');
    const key = `${claimKey || `body:${hash}`}\u0000${header}`;
    const previous = ledger.submissions.get(key);
    if (previous) {
      if (previous.hash !== hash) {
        sendOutcome(
          res,
          422,
          outcome(
            'conflict',
            'This submission (the Claim identifiers and Idempotency-Key) was already made with a different body',
          ),
        );
        return;
      }
      const stored = responses.get(previous.responseId);
      res.set('Idempotent-Replayed', 'true').status(200).type(FHIR_JSON).send(JSON.stringify(stored));
      return;
    }

    // Received (and paid) on the payer's calendar day.
    const receivedAt = isoInZone(now(), timeZone);
    const receivedDate = receivedAt.slice(0, 10);
    const claimId = claim.id && FHIR_ID_RE.test(claim.id) ? claim.id : randomUUID();
    const result = adjudicate({
      claim,
      resources,
      kind,
      tables,
      receivedDate,
      knownClaims: ledger.knownClaims,
    });
    const controlNumber = `SBX${receivedDate.replace(/-/g, '')}${String(ledger.count + 1).padStart(6, '0')}`;
    const { reversal } = result;
    const responseId = randomUUID();
    const response = toClaimResponse(claim, result, {
      id: responseId,
      request: `Claim/${claimId}`,
      created: receivedAt,
      controlNumber,
      controlNumberSystem: `${url}/claim-control-number`,
      payerName: `Sandbox ${kind} payer`,
    });
    // Journalled before the answer goes out: whatever Dripline hears, the payer remembers.
    ledger.record({
      key,
      hash,
      claim: { ...structuredClone(claim), id: claimId },
      response: { ...response, id: responseId },
      identifiers,
      prior: priorClaimOf(claim, result, { controlNumber, claimId }),
      ...(reversal
        ? { reversal: { controlNumber: reversal.controlNumber, frequency: reversal.frequency } }
        : {}),
    });
    logger.info(
      {
        claim: claimId,
        kind,
        frequency: result.frequency,
        outcome: result.outcome,
        benefit: result.totals.benefit,
        payment: result.totals.payment,
        ...(reversal ? { reversed: reversal.controlNumber } : {}),
      },
      'sandbox payer adjudicated a claim',
    );
    if (behaviour.garbleSubmitAnswers === 'not-json') {
      res.status(200).type('text/html').send('<html><body>Gateway says hello</body></html>');
      return;
    }
    if (behaviour.garbleSubmitAnswers === 'invalid-fhir') {
      // status, use, outcome, created, insurer and patient removed: not a valid R4 ClaimResponse.
      res
        .status(200)
        .type(FHIR_JSON)
        .send(JSON.stringify({ resourceType: 'ClaimResponse', id: response.id, bogus: true }));
      return;
    }
    res.status(200).type(FHIR_JSON).send(JSON.stringify(response));
  };

  const fhirRouter = (forced: PayerKind | undefined, base: string): Router => {
    const router = express.Router();
    const capability = buildPayerCapabilityStatement(base, tokenUrl, now(), forced);
    const smart = smartConfiguration({ issuer: url, tokenUrl });
    router.get('/metadata', (_req, res) => {
      res.type(FHIR_JSON).send(JSON.stringify(capability));
    });
    router.get('/.well-known/smart-configuration', (_req, res) => {
      res.json(smart);
    });
    router.use(requireBearer(tokenService, { now }));
    router.use(strictJsonBody({ maxBytes: MAX_BODY_BYTES, maxDepth: MAX_JSON_DEPTH }));
    router.post('/Claim/\\$submit', (req, res) => submit(req, res, forced));
    router.post('/CoverageEligibilityRequest/\\$submit', (req, res) =>
      eligibility.fhirSubmit(req, res, forced),
    );
    router.get('/Claim/:id', (req, res) => {
      requireScope(getAuthContext(res), 'Claim', 'read');
      const claim = claims.get(req.params['id'] ?? '');
      if (!claim) {
        sendOutcome(res, 404, outcome('not-found', 'Claim not found'));
        return;
      }
      res.type(FHIR_JSON).send(JSON.stringify(claim));
    });
    router.get('/ClaimResponse/:id', (req, res) => {
      requireScope(getAuthContext(res), 'ClaimResponse', 'read');
      const found = responses.get(req.params['id'] ?? '');
      if (!found) {
        sendOutcome(res, 404, outcome('not-found', 'ClaimResponse not found'));
        return;
      }
      res.type(FHIR_JSON).send(JSON.stringify(found));
    });
    router.get('/ClaimResponse', (req, res) => {
      requireScope(getAuthContext(res), 'ClaimResponse', 'search');
      const params = new URLSearchParams(req.originalUrl.includes('?') ? req.originalUrl.split('?')[1] : '');
      const unknown = [...params.keys()].filter((k) => !SEARCH_PARAMS.has(k));
      if (unknown.length > 0) {
        sendOutcome(
          res,
          400,
          outcome('not-supported', `Unsupported search parameter(s): ${unknown.join(', ')}`),
        );
        return;
      }
      const request = params.get('request') ?? undefined;
      const wanted = request === undefined ? undefined : request.includes('/') ? request : `Claim/${request}`;
      const identifier = params.get('identifier') ?? params.get('request.identifier') ?? undefined;
      const matchesIdentifier = (r: ClaimResponse): boolean => {
        if (identifier === undefined) {
          return true;
        }
        const [system, value] = identifier.includes('|') ? identifier.split('|', 2) : [undefined, identifier];
        const ids = [
          ...(r.identifier ?? []),
          ...(r.request?.identifier ? [r.request.identifier] : []),
          ...(requestIdentifiers.get(r.id ?? '') ?? []).map((k) => {
            const bar = k.indexOf('|');
            return { system: k.slice(0, bar), value: k.slice(bar + 1) };
          }),
        ];
        return ids.some(
          (i) => i.value === value && (system === undefined || system === '' || i.system === system),
        );
      };
      const matches = [...responses.values()].filter(
        (r) =>
          (wanted === undefined ||
            r.request?.reference === wanted ||
            (wanted.startsWith('http') && wanted.endsWith(`/${r.request?.reference ?? ''}`))) &&
          matchesIdentifier(r),
      );
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        total: matches.length,
        link: [
          {
            relation: 'self',
            url: `${base}/ClaimResponse${req.originalUrl.includes('?') ? `?${req.originalUrl.split('?')[1] ?? ''}` : ''}`,
          },
        ],
        entry: matches.map((r) => ({
          fullUrl: `${base}/ClaimResponse/${r.id ?? ''}`,
          resource: r,
          search: { mode: 'match' },
        })),
      };
      res.type(FHIR_JSON).send(JSON.stringify(bundle));
    });
    router.use((req, res) => {
      sendOutcome(
        res,
        404,
        outcome('not-found', `The sandbox payer has no route for ${req.method} ${req.path}`),
      );
    });
    return router;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(async (_req, res, next) => {
    const { delayMs, unavailable, answerDelayMs } = behaviour;
    if (delayMs !== undefined && delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    if (answerDelayMs !== undefined && answerDelayMs > 0) {
      // Every handler answers through res.end (express's send and json included): hold that.
      const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
      res.end = ((...args: unknown[]) => {
        setTimeout(() => end(...args), answerDelayMs);
        return res;
      }) as typeof res.end;
    }
    if (unavailable === undefined) {
      next();
      return;
    }
    if (unavailable === 503 || unavailable === 429) {
      res.set('Retry-After', '1');
    }
    sendOutcome(res, unavailable, outcome('transient', 'The sandbox payer is unavailable (injected fault)'));
  });
  app.use('/oauth2', createTokenRouter({ authStore, tokenService, tokenUrl, now }));
  app.get('/.well-known/smart-configuration', (_req, res) => {
    res.json(smartConfiguration({ issuer: url, tokenUrl }));
  });
  const pasFhirBaseUrl = `${url}/pas/fhir`;
  const pas = createPasEndpoint({
    base: pasFhirBaseUrl,
    issuer: url,
    tokenUrl,
    tokenService,
    now,
    log: logger,
    ...(options.pas?.policy ? { policy: options.pas.policy } : {}),
    ...(options.pas?.reviewDelayMs !== undefined ? { reviewDelayMs: options.pas.reviewDelayMs } : {}),
    ...(options.pas?.members ? { members: options.pas.members } : {}),
    garble: () => behaviour.garbleSubmitAnswers,
    holdNotifications: () => behaviour.holdPasNotifications === true,
    silenceHeartbeats: () => behaviour.silencePasHeartbeats === true,
    refuseSubscriptionStatus: () => behaviour.refusePasSubscriptionStatus,
    subscriptionsUnavailable: () => behaviour.pasSubscriptionsUnavailable,
    holdSubmitAnswers: () => behaviour.holdPasSubmitAnswersMs,
    holdSubscribeAnswers: () => behaviour.holdPasSubscribeAnswersMs,
    dropSubscribeAnswers: () => behaviour.dropPasSubscribeAnswers === true,
    refuseSubscriptionCreates: () => behaviour.refusePasSubscriptionCreates,
    refuseSubscriptionDeletes: () => behaviour.refusePasSubscriptionDeletes,
    refuseSubscriptionSearch: () => behaviour.refusePasSubscriptionSearch,
  });
  app.use('/pas/fhir', pas.router);
  app.use('/fhir', fhirRouter(undefined, fhirBaseUrl));
  app.use('/x12/eligibility', eligibility.x12);
  for (const kind of KINDS) {
    app.use(`/${kind}/fhir`, fhirRouter(kind, `${url}/${kind}/fhir`));
  }
  app.use(notFoundHandler);
  app.use(errorHandler({ error: (obj, msg) => logger.warn(obj, msg) }));
  server.on('request', app);
  logger.info({ url, fhirBaseUrl }, 'sandbox payer listening');

  return {
    url,
    fhirBaseUrl,
    tokenUrl,
    pasFhirBaseUrl,
    pas,
    x12EligibilityUrl: `${url}/x12/eligibility`,
    setEnrollment: (members) => eligibility.setEnrollment(members),
    eligibilityCounts: () => ({ ...eligibility.counts }),
    registerClient(input) {
      return registerSandboxClient(authStore, SANDBOX_PAYER_TENANT, input, now());
    },
    claimResponses: () => Promise.resolve([...responses.values()].map((r) => structuredClone(r))),
    setBehaviour(next) {
      behaviour = { ...next };
    },
    async stop() {
      pas.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** CapabilityStatement: SMART security, Claim with `$submit`, ClaimResponse read/search. */
export function buildPayerCapabilityStatement(
  fhirBaseUrl: string,
  tokenUrl: string,
  now: Date,
  kind?: PayerKind,
): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now.toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'Dripline sandbox payer', version: '0.1.0' },
    implementation: {
      description: `Sandbox payer (${kind ?? 'kind from Claim.insurer.identifier'}) for Dripline integration tests (in-memory)`,
      url: fhirBaseUrl,
    },
    rest: [
      {
        mode: 'server',
        security: smartRestSecurity(tokenUrl),
        resource: [
          {
            type: 'Claim',
            interaction: [{ code: 'read' }],
            operation: [
              { name: 'submit', definition: 'http://hl7.org/fhir/OperationDefinition/Claim-submit' },
            ],
          },
          {
            type: 'CoverageEligibilityRequest',
            operation: [
              {
                name: 'submit',
                definition: 'http://hl7.org/fhir/OperationDefinition/CoverageEligibilityRequest-submit',
              },
            ],
          },
          {
            type: 'ClaimResponse',
            interaction: [{ code: 'read' }, { code: 'search-type' }],
            searchParam: [{ name: 'request', type: 'reference' }],
          },
        ],
      },
    ],
  };
}
