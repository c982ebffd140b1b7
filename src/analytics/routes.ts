/**
 * Analytics over HTTP, mounted at `/api/analytics` (bearer-protected, SMART scopes: search and read
 * on Claim, ExplanationOfBenefit, Task, ClaimResponse and ChargeItem; src/auth/disclosure.ts
 * `analytics`). Always the caller's tenant.
 *
 * - `GET /`: the measures served, with their titles and whether a MeasureReport exists for each.
 * - `GET /{measure}?from=&to=&by=`: the measure as JSON (./measures.ts `MeasureResult`); with
 *   `Accept: application/fhir+json` a FHIR MeasureReport for the standard ones (406 for the others).
 *   from/to are the tenant's local dates (both included; default the 30 days up to today), by one of
 *   payer, location, drug, code. A backwards, over-a-year or malformed range, an unknown or repeated
 *   parameter: 400 OperationOutcome; an unknown measure: 404.
 *
 * Every answer is audited (a search of the types it was computed from; no patient is named in it).
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { getAuthContext, requireBearer } from '../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../auth/disclosure.ts';
import type { TokenService } from '../auth/token-service.ts';
import type { TenantConfig } from '../config/config.ts';
import { recordAccess } from '../fhir/audit-access.ts';
import { FHIR_JSON, outcome, sendOutcome } from '../http/outcomes.ts';
import type { ReferenceRates } from '../remittance/contracts/references.ts';
import type { Store } from '../store/port.ts';
import { denialRiskHandler } from './denial-risk-route.ts';
import { whatIfHandler } from './what-if-route.ts';
import { measureReport, STANDARD_MEASURES } from './measure-report.ts';
import { isMeasureName, MEASURES, TITLES } from './measures.ts';
import { AnalyticsQueryError } from './query.ts';
import type { AnalyticsService } from './service.ts';

export interface AnalyticsRoutesDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly service: AnalyticsService;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly tenants: () => readonly TenantConfig[];
  readonly publicUrl: string;
  readonly now: () => Date;
  /** Reference rates the contracts price by (what-if); absent: /what-if answers 404. */
  readonly references?: ReferenceRates;
}

const PARAMETERS = ['from', 'to', 'by'];

/** The single string value of each known parameter; a 400 for unknown or repeated ones. */
function queryOf(req: Request, res: Response): Record<string, string> | undefined {
  const unknown = Object.keys(req.query).filter((name) => !PARAMETERS.includes(name));
  if (unknown.length > 0) {
    sendOutcome(
      res,
      400,
      outcome(
        'not-supported',
        `Unknown parameter(s): ${unknown.join(', ')} (known: ${PARAMETERS.join(', ')})`,
      ),
    );
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const name of PARAMETERS) {
    const value = req.query[name];
    if (value === undefined) {
      continue;
    }
    if (typeof value !== 'string') {
      sendOutcome(res, 400, outcome('invalid', `"${name}" is given once, as a plain value`, name));
      return undefined;
    }
    out[name] = value;
  }
  return out;
}

export function createAnalyticsRoutes(deps: AnalyticsRoutesDeps): Router {
  const router = express.Router();
  router.use(requireBearer(deps.tokenService, { now: deps.now }));

  router.get('/', (_req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.analytics);
    res.json({
      measures: MEASURES.map((name) => ({
        name,
        title: TITLES[name],
        measureReport: STANDARD_MEASURES[name] !== undefined,
        ...(STANDARD_MEASURES[name] ? { measure: STANDARD_MEASURES[name] } : {}),
      })),
    });
  });

  router.get('/denial-risk', denialRiskHandler(deps));
  router.get('/what-if', whatIfHandler(deps));

  router.get('/:measure', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.analytics);
    const name = String(req.params['measure']);
    if (!isMeasureName(name)) {
      sendOutcome(res, 404, outcome('not-found', `No measure "${name}"; measures: ${MEASURES.join(', ')}`));
      return;
    }
    const query = queryOf(req, res);
    if (!query) {
      return;
    }
    const tenant = deps.tenants().find((t) => t.id === auth.tenant);
    if (!tenant) {
      sendOutcome(res, 404, outcome('not-found', 'Unknown tenant'));
      return;
    }
    const wantsFhir = req.accepts(['application/json', FHIR_JSON]) === FHIR_JSON;
    if (wantsFhir && !STANDARD_MEASURES[name]) {
      sendOutcome(
        res,
        406,
        outcome('not-supported', `"${name}" has no MeasureReport; ask for application/json`),
      );
      return;
    }
    let result;
    try {
      result = await deps.service.measure(tenant, name, query);
    } catch (err) {
      if (err instanceof AnalyticsQueryError) {
        sendOutcome(res, 400, outcome('invalid', err.message, err.parameter));
        return;
      }
      throw err;
    }
    const now = deps.now();
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'search-type',
        resources: [],
        patients: [],
        query: `api/analytics/${name}?${new URLSearchParams(query).toString()}`,
      },
      { publicUrl: deps.publicUrl, now },
    );
    if (wantsFhir) {
      const report = measureReport(result, {
        id: randomUUID(),
        created: now.toISOString(),
        reporter: tenant.name,
      });
      res.status(200).type(FHIR_JSON).send(JSON.stringify(report));
      return;
    }
    res.json(result);
  });

  return router;
}
