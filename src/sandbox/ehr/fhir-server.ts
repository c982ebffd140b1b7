/**
 * The sandbox EHR's HTTP surface: its own SMART Backend Services token endpoint (`/oauth2/token`),
 * public `/fhir/metadata` and `/fhir/.well-known/smart-configuration`, and the bearer-protected
 * FHIR R4 REST API (read, vread, search, history, create, update for every type, plus
 * `Subscription/{id}/$status` and `$events`) dispatched by @medplum/fhir-router to the
 * notifying in-memory repository.
 */
import { allOk, badRequest, getStatus, OperationOutcomeError } from '@medplum/core';
import { FhirRouter } from '@medplum/fhir-router';
import type { FhirRequest, FhirResponse, HttpMethod } from '@medplum/fhir-router';
import type { Bundle, BundleLink, CapabilityStatement, Parameters } from '@medplum/fhirtypes';
import express from 'express';
import type { Express, Request, Response } from 'express';
import { getAuthContext, requireBearer, requireScope } from '../../auth/bearer.ts';
import type { AuthContext } from '../../auth/bearer.ts';
import type { Interaction } from '../../auth/scopes.ts';
import { createTokenRouter, smartConfiguration, smartRestSecurity } from '../../auth/token-route.ts';
import type { TokenService } from '../../auth/token-service.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { errorHandler, FHIR_JSON, notFoundHandler, outcome, sendOutcome } from '../../http/outcomes.ts';
import type { AuthStore } from '../../store/port.ts';
import type { SubscriptionEngine } from './engine.ts';
import type { NotifyingRepository } from './repository.ts';
import { BACKPORT_SD, BACKPORT_SUBSCRIPTION_PROFILE, TOPICS } from './subscriptions.ts';
import { isResourceBody, sendResource } from '../../http/fhir-response.ts';

export interface SandboxFhirAppDeps {
  readonly repo: NotifyingRepository;
  readonly engine: SubscriptionEngine;
  readonly authStore: AuthStore;
  readonly tokenService: TokenService;
  readonly publicUrl: string;
  readonly fhirBaseUrl: string;
  readonly tokenUrl: string;
  readonly now: () => Date;
  readonly logger: { warn(obj: object, msg?: string): void };
  /** Serve `Subscription/{id}/$events` (default true); without it the route answers 404, like EHRs that lack it. */
  readonly eventsOperation?: boolean;
  /** When it returns a status (e.g. 503), every request is answered with it: the EHR is down. */
  readonly unavailable?: () => number | undefined;
  /** Sees every request (method, path with query) before anything else: tests check what was asked. */
  readonly onRequest?: (method: string, path: string) => void;
  /** Search parameters answered with 400 not-supported (as EHRs that lack e.g. `_sort` do). */
  readonly unsupportedSearchParameters?: readonly string[];
  /** SMART App Launch: authorize, the authorization_code grant, JWKS and the chart page. */
  readonly appLaunch?: { readonly router: express.Router; readonly configuration: Record<string, unknown> };
}

/** fhir-router interactions the sandbox serves, and the SMART permission each needs. */
const INTERACTION_SCOPE: Readonly<Record<string, Interaction>> = {
  read: 'read',
  vread: 'read',
  'history-instance': 'read',
  'search-type': 'search',
  create: 'create',
  update: 'update',
};
/** The operations we add (`Subscription/:id/$status|$events`) need read on Subscription. */
const OPERATION_SCOPE: Interaction = 'read';
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

/** Types the CapabilityStatement lists (every type is served; these are the ones the seed uses). */
export const LISTED_TYPES = [
  'Condition',
  'Coverage',
  'Encounter',
  'Location',
  'Medication',
  'MedicationAdministration',
  'MedicationRequest',
  'Organization',
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'RelatedPerson',
  'Subscription',
] as const;

const MAX_BODY_BYTES = 5 * 1024 * 1024;
const MAX_JSON_DEPTH = 64;

export function createSandboxFhirApp(deps: SandboxFhirAppDeps): Express {
  const eventsOperation = deps.eventsOperation ?? true;
  const fhirRouter = createFhirRouter(deps.engine, eventsOperation);
  const capability = buildCapabilityStatement(deps.fhirBaseUrl, deps.tokenUrl, deps.now(), {
    eventsOperation,
    idSearch: !(deps.unsupportedSearchParameters ?? []).includes('_id'),
  });
  const smart = {
    ...smartConfiguration({ issuer: deps.publicUrl, tokenUrl: deps.tokenUrl }),
    ...(deps.appLaunch?.configuration ?? {}),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    deps.onRequest?.(req.method, req.originalUrl);
    const down = deps.unavailable?.();
    if (down === undefined) {
      next();
      return;
    }
    sendOutcome(res, down, outcome('transient', 'The sandbox EHR is unavailable (injected fault)'));
  });
  if (deps.appLaunch) {
    app.use(deps.appLaunch.router);
  }
  app.use(
    '/oauth2',
    createTokenRouter({
      authStore: deps.authStore,
      tokenService: deps.tokenService,
      tokenUrl: deps.tokenUrl,
      now: deps.now,
    }),
  );
  app.get(['/fhir/.well-known/smart-configuration', '/.well-known/smart-configuration'], (_req, res) => {
    res.json(smart);
  });
  app.get('/fhir/metadata', (_req, res) => {
    res.type(FHIR_JSON).send(JSON.stringify(capability));
  });

  const fhir = express.Router();
  fhir.use(requireBearer(deps.tokenService, { now: deps.now }));
  fhir.use(strictJsonBody({ maxBytes: MAX_BODY_BYTES, maxDepth: MAX_JSON_DEPTH }));
  fhir.use(async (req: Request, res: Response) => {
    const method = req.method.toUpperCase() as HttpMethod;
    const pathname = req.path.replace(/^\/+/, '');
    const route = METHODS.includes(method) ? fhirRouter.find(method, pathname) : undefined;
    if (!route) {
      sendOutcome(res, 404, outcome('not-found', `No FHIR route for ${req.method} /fhir/${pathname}`));
      return;
    }
    const routeInteraction = route.data?.interaction ?? '';
    const isOperation = routeInteraction === 'operation' && pathname.startsWith('Subscription/');
    const scopeInteraction = isOperation ? OPERATION_SCOPE : INTERACTION_SCOPE[routeInteraction];
    if (scopeInteraction === undefined) {
      sendOutcome(
        res,
        405,
        outcome('not-supported', `${routeInteraction || req.method} is not supported by the sandbox EHR`),
      );
      return;
    }
    const resourceType = isOperation ? 'Subscription' : route.params.resourceType;
    if (resourceType === undefined) {
      sendOutcome(res, 404, outcome('not-found', `No FHIR route for ${req.method} /fhir/${pathname}`));
      return;
    }
    requireScope(asUserOfEhr(getAuthContext(res)), resourceType, scopeInteraction);
    const refused =
      routeInteraction === 'search-type'
        ? Object.keys(req.query).filter((p) => deps.unsupportedSearchParameters?.includes(p))
        : [];
    if (refused.length > 0) {
      sendOutcome(
        res,
        400,
        outcome('not-supported', `Unsupported search parameter(s): ${refused.join(', ')}`),
      );
      return;
    }
    const badIds = routeInteraction === 'search-type' ? invalidIdList(req.query['_id']) : undefined;
    if (badIds !== undefined) {
      sendOutcome(res, 400, outcome('value', badIds));
      return;
    }
    if ((method === 'POST' || method === 'PUT') && !isOperation && !isResourceBody(req.body)) {
      sendOutcome(
        res,
        400,
        outcome('structure', 'Body must be a FHIR resource (a JSON object with resourceType)'),
      );
      return;
    }
    const search = req.originalUrl.indexOf('?');
    let query = search >= 0 ? req.originalUrl.slice(search + 1) : '';
    const paged = routeInteraction === 'search-type' && method === 'GET';
    if (paged) {
      query = pageQuery(query);
    }
    const fhirRequest: FhirRequest = {
      method,
      // fhir-router routes on `url` (path without the /fhir base, plus query) and insists pathname is empty.
      url: pathname + (query === '' ? '' : `?${query}`),
      pathname: '',
      params: {},
      query: {},
      body: req.body as unknown,
      headers: req.headers,
    };
    const [result, resource] = await fhirRouter.handleRequest(fhirRequest, deps.repo);
    const status = getStatus(result);
    if (status >= 400 || !resource) {
      throw new OperationOutcomeError(result);
    }
    const body =
      paged && resource.resourceType === 'Bundle'
        ? decorateSearchBundle(resource, deps.fhirBaseUrl, resourceType, query)
        : resource;
    sendResource(res, status, body, deps.fhirBaseUrl);
  });
  app.use('/fhir', fhir);
  app.use(notFoundHandler);
  app.use(errorHandler({ error: (obj, msg) => deps.logger.warn(obj, msg) }));
  return app;
}

/**
 * A person's token (`user/` scopes, from an app launch) reads what its scopes name: the sandbox
 * EHR has no per-user restrictions beyond them, so `user/Type.rs` counts like `system/Type.rs`.
 */
function asUserOfEhr(auth: AuthContext): AuthContext {
  return {
    ...auth,
    scopes: auth.scopes.map((s) => (s.context === 'user' ? { ...s, context: 'system' } : s)),
  };
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Why an `_id` search value is not a comma-separated list of FHIR ids (R4 3.1.1.4.6, 2.1.0.2 id),
 * or undefined when it is (or absent). Real servers refuse such a list rather than match nothing.
 */
function invalidIdList(value: unknown): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  for (const list of Array.isArray(value) ? value : [value]) {
    if (typeof list !== 'string' || !list.split(',').every((id) => FHIR_ID.test(id))) {
      return '_id must be a comma-separated list of resource ids (1-64 of A-Z a-z 0-9 - .)';
    }
  }
  return undefined;
}

function createFhirRouter(engine: SubscriptionEngine, eventsOperation: boolean): FhirRouter {
  const router = new FhirRouter();
  const status = (req: FhirRequest): Promise<FhirResponse> =>
    Promise.resolve([allOk, engine.status(req.params.id ?? '')]);
  const events = (req: FhirRequest): Promise<FhirResponse> => {
    const input = { ...queryParams(req.query), ...bodyParams(req.body) };
    const since = integerParam(input, 'eventsSinceNumber');
    const until = integerParam(input, 'eventsUntilNumber');
    return Promise.resolve([allOk, engine.events(req.params.id ?? '', since, until)]);
  };
  for (const method of ['GET', 'POST'] as const) {
    router.add(method, 'Subscription/:id/$status', status, 'operation');
    if (eventsOperation) {
      router.add(method, 'Subscription/:id/$events', events, 'operation');
    }
  }
  return router;
}

/** Like real servers, the sandbox pages searches: `_count` defaults to DEFAULT_PAGE_SIZE, at most MAX_PAGE_SIZE. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

function pageQuery(query: string): string {
  const params = new URLSearchParams(query);
  const count = Number.parseInt(params.get('_count') ?? '', 10);
  params.set(
    '_count',
    String(Number.isNaN(count) ? DEFAULT_PAGE_SIZE : Math.min(Math.max(count, 0), MAX_PAGE_SIZE)),
  );
  return params.toString();
}

/** Adds what the in-memory repository leaves out of a searchset: entry fullUrls and self/next/previous links. */
function decorateSearchBundle(
  bundle: Bundle,
  fhirBaseUrl: string,
  resourceType: string,
  query: string,
): Bundle {
  const params = new URLSearchParams(query);
  const count = Number.parseInt(params.get('_count') ?? '', 10) || 0;
  const offset = Math.max(0, Number.parseInt(params.get('_offset') ?? '', 10) || 0);
  const total = bundle.total ?? 0;
  const pageUrl = (at: number): string => {
    const p = new URLSearchParams(params);
    p.set('_offset', String(at));
    return `${fhirBaseUrl}/${resourceType}?${p.toString()}`;
  };
  const link: BundleLink[] = [
    { relation: 'self', url: `${fhirBaseUrl}/${resourceType}?${params.toString()}` },
  ];
  if (count > 0 && offset + count < total) {
    link.push({ relation: 'next', url: pageUrl(offset + count) });
  }
  if (count > 0 && offset > 0) {
    link.push({ relation: 'previous', url: pageUrl(Math.max(0, offset - count)) });
  }
  return {
    ...bundle,
    link,
    ...(bundle.entry
      ? {
          entry: bundle.entry.map((e) =>
            e.resource?.id
              ? { fullUrl: `${fhirBaseUrl}/${e.resource.resourceType}/${e.resource.id}`, ...e }
              : e,
          ),
        }
      : {}),
  };
}

function queryParams(query: FhirRequest['query']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    const v = Array.isArray(value) ? value.at(-1) : value;
    if (typeof v === 'string') {
      out[name] = v;
    }
  }
  return out;
}

/** Simple (string/integer) parameters of a Parameters body; anything else in the body is ignored. */
function bodyParams(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const params = body as Parameters | undefined;
  if (params?.resourceType !== 'Parameters') {
    return out;
  }
  for (const p of params.parameter ?? []) {
    const v = p.valueInteger ?? p.valueUnsignedInt ?? p.valuePositiveInt ?? p.valueString;
    if (p.name && v !== undefined) {
      out[p.name] = String(v);
    }
  }
  return out;
}

function integerParam(input: Record<string, string>, name: string): number | undefined {
  const raw = input[name];
  if (raw === undefined || raw === '') {
    return undefined;
  }
  if (!/^\d{1,15}$/.test(raw)) {
    throw new OperationOutcomeError(badRequest(`${name} must be a non-negative integer`));
  }
  return Number(raw);
}

/** CapabilityStatement: SMART security, the listed types, and Subscription with the backport profile and operations. */
export function buildCapabilityStatement(
  fhirBaseUrl: string,
  tokenUrl: string,
  now: Date,
  /** `idSearch`: declare the `_id` search parameter on every listed type (default true). */
  options: { eventsOperation?: boolean; idSearch?: boolean } = {},
): CapabilityStatement {
  const interactions = ['read', 'vread', 'search-type', 'history-instance', 'create', 'update'] as const;
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now.toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'Dripline sandbox EHR', version: '0.1.0' },
    implementation: {
      description: 'Sandbox EHR for Dripline integration tests (in-memory)',
      url: fhirBaseUrl,
    },
    instantiates: [
      `${BACKPORT_SD.replace('/StructureDefinition', '')}/CapabilityStatement/backport-subscription-server-r4`,
    ],
    rest: [
      {
        mode: 'server',
        security: smartRestSecurity(tokenUrl),
        resource: LISTED_TYPES.map((type) => ({
          type,
          interaction: interactions.map((code) => ({ code })),
          ...(options.idSearch === false
            ? {}
            : {
                searchParam: [
                  {
                    name: '_id',
                    definition: 'http://hl7.org/fhir/SearchParameter/Resource-id',
                    type: 'token' as const,
                  },
                ],
              }),
          ...(type === 'Subscription'
            ? {
                supportedProfile: [BACKPORT_SUBSCRIPTION_PROFILE],
                extension: TOPICS.map((t) => ({
                  url: `${BACKPORT_SD}/capabilitystatement-subscriptiontopic-canonical`,
                  valueCanonical: t.url,
                })),
                operation: [
                  {
                    name: 'status',
                    definition: `${BACKPORT_SD.replace('/StructureDefinition', '')}/OperationDefinition/backport-subscription-status`,
                  },
                  ...(options.eventsOperation === false
                    ? []
                    : [
                        {
                          name: 'events',
                          definition: `${BACKPORT_SD.replace('/StructureDefinition', '')}/OperationDefinition/backport-subscription-events`,
                        },
                      ]),
                ],
              }
            : {}),
        })),
      },
    ],
  };
}
