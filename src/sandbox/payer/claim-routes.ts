/**
 * The sandbox payer's claims endpoints (./server.ts mounts one router per base: `{url}/fhir`, whose
 * payer kind comes from the Claim's insurer identifier, and `{url}/{kind}/fhir`).
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
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Bundle, Claim, ClaimResponse } from '@medplum/fhirtypes';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { getAuthContext, requireBearer, requireScope } from '../../auth/bearer.ts';
import type { TokenService } from '../../auth/token-service.ts';
import { smartConfiguration } from '../../auth/token-route.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { FHIR_JSON, outcome, sendOutcome } from '../../http/outcomes.ts';
import { isoInZone } from '../../time/zone.ts';
import { adjudicate } from './adjudicate.ts';
import { buildPayerCapabilityStatement } from './capability.ts';
import { identifierKeys } from './claim-reading.ts';
import { toClaimResponse } from './claim-response.ts';
import type { EligibilityService } from './eligibility/routes.ts';
import type { PayerLedger } from './ledger.ts';
import type { SandboxPayerBehaviour, SandboxPayerLogger } from './options.ts';
import { priorClaimOf } from './reversals.ts';
import type { PayerKind, PayerTables } from './tables.ts';
import { parseSubmitBody } from './validate.ts';

const FHIR_ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const MAX_JSON_DEPTH = 64;
const MAX_IDEMPOTENCY_KEY = 255;
/** ClaimResponse search parameters served (`identifier` also matches the Claim's identifier in `request`). */
const SEARCH_PARAMS = new Set(['request', 'identifier', 'request.identifier', '_count', '_format']);

/** What the claims endpoints work with: the payer's clock, zone, tables, ledger and behaviour. */
export interface ClaimRoutesDeps {
  /** The payer's own URL (its claim control number system lives under it). */
  readonly url: string;
  readonly tokenUrl: string;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly now: () => Date;
  readonly timeZone: string;
  readonly logger: SandboxPayerLogger;
  readonly payerIds: Readonly<Record<string, PayerKind>>;
  readonly defaultKind: PayerKind;
  readonly tables: PayerTables;
  readonly ledger: PayerLedger;
  readonly eligibility: Pick<EligibilityService, 'fhirSubmit'>;
  /** The behaviour set now (read at each request). */
  readonly behaviour: () => SandboxPayerBehaviour;
}

/** The router of one claims base: `forced`, the payer kind it always is (absent: from the Claim). */
export function createClaimRouter(
  deps: ClaimRoutesDeps,
): (forced: PayerKind | undefined, base: string) => Router {
  const {
    url,
    tokenUrl,
    tokenService,
    now,
    timeZone,
    logger,
    payerIds,
    defaultKind,
    tables,
    ledger,
    eligibility,
  } = deps;
  const { claims, responses, requestIdentifiers } = ledger;
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
    if (deps.behaviour().garbleSubmitAnswers === 'not-json') {
      res.status(200).type('text/html').send('<html><body>Gateway says hello</body></html>');
      return;
    }
    if (deps.behaviour().garbleSubmitAnswers === 'invalid-fhir') {
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

  return fhirRouter;
}
