/**
 * The FHIR REST API at /fhir: public metadata and SMART configuration, then bearer-protected
 * interactions dispatched by @medplum/fhir-router to a repository bound to the caller.
 */
import { getStatus, OperationOutcomeError } from '@medplum/core';
import { FhirRouter } from '@medplum/fhir-router';
import type { FhirRequest, HttpMethod } from '@medplum/fhir-router';
import type { AuditEvent } from '@medplum/fhirtypes';
import { Router } from 'express';
import type { Request, Response } from 'express';
import { getAuthContext, requireBearer } from '../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../auth/disclosure.ts';
import { smartConfiguration } from '../auth/token-route.ts';
import type { TokenService } from '../auth/token-service.ts';
import type { DriplineConfig } from '../config/config.ts';
import { tenantCodingOptions } from '../config/config.ts';
import { FHIR_JSON, HttpError, outcome, sendOutcome } from '../http/outcomes.ts';
import { strictJsonBody } from '../http/json-body.ts';
import type { Store } from '../store/port.ts';
import { fhirBodyShapeProblem } from './body-shape.ts';
import { buildCapabilityStatement, SUPPORTED_INTERACTIONS } from './capability.ts';
import { createOperationDefinitionRouter } from './operations.ts';
import type { TypeInteraction } from './capability.ts';
import { accessPolicy } from './access-policy.ts';
import { DriplineRepository } from './repository.ts';
import { infusionCharges, parseInfusionChargesParameters } from '../coding/operation.ts';
import type { InfusionChargesRequest } from '../coding/operation.ts';
import type { CodingTables } from '../coding/tables/types.ts';
import { buildAuditEvent, newAuditEventId } from './audit.ts';
import { normalizeReference } from '../store/search-index.ts';
import { GroupCommit } from '../store/group-commit.ts';
import { AuditWriter } from './audit-writer.ts';
import { isResourceBody, sendResource, sendStoredJson } from '../http/fhir-response.ts';

export interface FhirRoutesDeps {
  /** Operation routers mounted behind bearer auth, before the FHIR router (e.g. Claim $x12). */
  readonly operations?: readonly Router[];
  readonly config: DriplineConfig;
  readonly codingTables: CodingTables;
  readonly store: Store;
  readonly tokenService: TokenService;
  readonly version: string;
  readonly now?: () => Date;
  /**
   * The read audits' group commit, shared with the lean read (./lean-read.ts) so the reads of one
   * event-loop turn share one transaction whichever path answered them. Default: one of its own.
   */
  readonly audit?: AuditWriter;
}

/** fhir-router interactions we expose, mapped to the CapabilityStatement's codes. */
const ROUTER_INTERACTIONS: Readonly<Record<string, TypeInteraction>> = {
  read: 'read',
  vread: 'vread',
  'search-type': 'search-type',
  'history-instance': 'history-instance',
  create: 'create',
  update: 'update',
};

const SCOPE_FOR: Readonly<Record<TypeInteraction, 'create' | 'read' | 'update' | 'search'>> = {
  read: 'read',
  vread: 'read',
  'history-instance': 'read',
  'search-type': 'search',
  create: 'create',
  update: 'update',
};

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

/**
 * The FHIR REST paths, one set per supported type, so express knows each request's route
 * template (`/Patient/:id`: the label of its metrics and access log, src/http/route-table.ts).
 */
function restPaths(): string[] {
  return [
    '/',
    ...Object.keys(SUPPORTED_INTERACTIONS).flatMap((type) => [
      `/${type}`,
      `/${type}/:id`,
      `/${type}/:id/_history`,
      `/${type}/:id/_history/:vid`,
    ]),
  ];
}

export function createFhirRoutes(deps: FhirRoutesDeps): Router {
  const { config } = deps;
  const now = deps.now ?? (() => new Date());
  const fhirBaseUrl = `${config.publicUrl}/fhir`;
  const fhirRouter = new FhirRouter();
  const audit = deps.audit ?? new AuditWriter(deps.store);
  const commits = new GroupCommit(deps.store);
  const capabilityStatement = buildCapabilityStatement(config, { version: deps.version });
  const smart = smartConfiguration({
    issuer: config.publicUrl,
    tokenUrl: `${config.publicUrl}/oauth2/token`,
  });

  // Case-sensitive like FHIR itself: `/fhir/patient/1` is no Patient read, `$INFUSION-CHARGES` no operation.
  const router = Router({ caseSensitive: true });
  router.get('/metadata', (_req, res) => {
    res.type(FHIR_JSON).send(JSON.stringify(capabilityStatement));
  });
  router.get('/.well-known/smart-configuration', (_req, res) => {
    res.json(smart);
  });

  router.use(requireBearer(deps.tokenService, { now }));
  router.use(
    strictJsonBody({
      maxBytes: config.http.maxBodyBytes,
      maxDepth: config.http.maxJsonDepth,
      shape: fhirBodyShapeProblem,
    }),
  );
  for (const operation of deps.operations ?? []) {
    router.use(operation);
  }
  router.use(createOperationDefinitionRouter());

  router.all('/Encounter/$infusion-charges', async (req: Request, res: Response) => {
    if (req.method !== 'POST') {
      res.set('Allow', 'POST');
      sendOutcome(res, 405, outcome('not-supported', '$infusion-charges is invoked with POST'));
      return;
    }
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.infusionCharges);
    const request = parseInfusionChargesParameters(req.body);
    const tenant = config.tenants.find((t) => t.id === auth.tenant);
    const coding = tenant ? tenantCodingOptions(tenant) : undefined;
    const result = infusionCharges(request, deps.codingTables, now(), coding);
    // The bundle is PHI: record who ran the operation on which patient.
    await audit.write(
      auth.tenant,
      operationAudit(auth.clientId, request, now(), config.publicUrl, res.locals.requestId),
    );
    res.status(200).type(FHIR_JSON).send(JSON.stringify(result));
  });

  const interactions = async (req: Request, res: Response): Promise<void> => {
    const method = req.method.toUpperCase() as HttpMethod;
    const pathname = req.path.replace(/^\/+/, '');
    const route = METHODS.includes(method) ? fhirRouter.find(method, pathname) : undefined;
    const resourceType = route?.params.resourceType;
    if (resourceType !== undefined && !SUPPORTED_INTERACTIONS[resourceType]) {
      sendOutcome(
        res,
        404,
        outcome('not-supported', `Resource type ${resourceType} is not supported by this server`),
      );
      return;
    }
    const interaction = route ? ROUTER_INTERACTIONS[route.data?.interaction ?? ''] : undefined;
    if (
      !route ||
      !interaction ||
      (resourceType !== undefined && !SUPPORTED_INTERACTIONS[resourceType]?.includes(interaction))
    ) {
      const allowed = allowedMethods(fhirRouter, pathname);
      if (allowed.length === 0 && !route) {
        sendOutcome(res, 404, outcome('not-found', `No FHIR route for ${req.method} /fhir/${pathname}`));
        return;
      }
      res.set('Allow', allowed.join(', '));
      const what = route?.data?.interaction ?? req.method;
      sendOutcome(res, 405, outcome('not-supported', `${what} is not supported on /fhir/${pathname}`));
      return;
    }
    if ((method === 'POST' || method === 'PUT') && !isResourceBody(req.body)) {
      throw new HttpError(
        400,
        outcome('structure', 'Body must be a FHIR resource (a JSON object with resourceType)'),
      );
    }
    const auth = getAuthContext(res);
    const access = accessPolicy(auth);
    const repo = new DriplineRepository({
      store: deps.store,
      audit,
      commits,
      access,
      fhirBaseUrl,
      publicUrl: config.publicUrl,
      requestId: String(res.locals.requestId ?? ''),
      now,
    });
    // Scope check here as well as in the repository: here it can answer with RFC 6750's
    // WWW-Authenticate naming the missing scope (fhir-router turns thrown errors into bare outcomes).
    if (resourceType !== undefined) {
      access.assert(resourceType, SCOPE_FOR[interaction]);
    }
    const search = req.originalUrl.indexOf('?');
    const id = route.params.id;
    if (interaction === 'read' && resourceType !== undefined && id !== undefined && search < 0) {
      // A plain read (no query: no _summary, _elements or _format to apply) is answered with the
      // stored text: what fhir-router would call (repo.readResource) without the parse and the
      // serialization again. Errors take the one error path as fhir-router's would. (Most plain
      // reads are answered before this stack, by ./lean-read.ts, the same way.)
      sendStoredJson(res, await repo.readResourceJson(resourceType, id));
      return;
    }
    const fhirRequest: FhirRequest = {
      method,
      // fhir-router routes on `url` (path without the /fhir base, plus query) and insists pathname is empty.
      url: pathname + (search >= 0 ? req.originalUrl.slice(search) : ''),
      pathname: '',
      params: {},
      query: {},
      body: req.body as unknown,
      headers: req.headers,
    };
    const [result, resource] = await fhirRouter.handleRequest(fhirRequest, repo);
    const status = getStatus(result);
    if (status >= 400 || !resource) {
      throw access.denied ?? new OperationOutcomeError(result);
    }
    sendResource(res, status, resource, fhirBaseUrl);
  };
  // Every supported type's paths are routes of their own (their template labels the request);
  // any other path reaches the same handler, which answers 404 or 405.
  for (const path of restPaths()) {
    router.all(path, interactions);
  }
  router.use(interactions);
  return router;
}

/** Methods whose route on this path is an interaction Dripline supports for the type. */
function allowedMethods(fhirRouter: FhirRouter, pathname: string): HttpMethod[] {
  return METHODS.filter((m) => {
    const route = fhirRouter.find(m, pathname);
    const interaction = route ? ROUTER_INTERACTIONS[route.data?.interaction ?? ''] : undefined;
    const type = route?.params.resourceType;
    return (
      interaction !== undefined &&
      type !== undefined &&
      SUPPORTED_INTERACTIONS[type]?.includes(interaction) === true
    );
  });
}

function operationAudit(
  clientId: string,
  request: InfusionChargesRequest,
  now: Date,
  publicUrl: string,
  requestId: unknown,
): AuditEvent & { id: string } {
  const patients = [
    ...new Set(
      request.resources
        .flatMap((r) =>
          'subject' in r ? [(r.subject as { reference?: string } | undefined)?.reference] : [],
        )
        .map((ref) => (ref ? normalizeReference(ref) : undefined))
        .filter((ref): ref is string => ref?.startsWith('Patient/') === true),
    ),
  ];
  return buildAuditEvent({
    id: newAuditEventId(),
    now,
    interaction: 'operation',
    outcome: '0',
    clientId,
    resources: [],
    patients,
    query: 'Encounter/$infusion-charges',
    publicUrl,
    ...(typeof requestId === 'string' && requestId !== '' ? { requestId } : {}),
  });
}
