/**
 * The authorization ledger over HTTP, mounted at `/api/coverage` (bearer-protected, SMART scopes):
 *
 * - `GET /authorizations?patient=Patient/{id}` (or `patient={id}`): the patient's ledger
 *   (./ledger-report.ts), one view per authorization, each charge no claim bills yet carrying
 *   `billHold: {until, hours, timeZone}` while the tenant's bill hold keeps its visit from its claim
 *   (`billHolds`). Scopes: read and search on ClaimResponse,
 *   ChargeItem, Claim, Encounter, Task and Coverage, read on Organization (the payer shown)
 *   (src/auth/disclosure.ts `authorizationLedger`). The read is
 *   audited like a FHIR search, naming every resource the answer was made from and the patient.
 *   A missing, repeated or malformed `patient`, or any other parameter, is a 400 OperationOutcome; a
 *   patient with nothing on file gets an empty ledger (as a search finds nothing).
 * - `POST /authorizations` (./record-authorization.ts): records an authorization a payer gave by
 *   phone, fax or portal (scope: create ClaimResponse): 201 recorded, 200 already on file, 400 a bad
 *   body, 404 an unknown patient, 409 the number on file with other dates or services.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { getAuthContext, requireBearer } from '../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../auth/disclosure.ts';
import type { TokenService } from '../auth/token-service.ts';
import type { TenantConfig } from '../config/config.ts';
import { recordAccess } from '../fhir/audit-access.ts';
import { outcome, sendOutcome } from '../http/outcomes.ts';
import type { Store } from '../store/port.ts';
import type { AuthorizationRequirement } from './ledger-alerts.ts';
import type { LedgerReport } from './ledger-report.ts';
import { loadLedgerReport } from './ledger-report.ts';
import { patientReference } from './ledger-store.ts';
import { readAuthorizationInput, recordAuthorization } from './record-authorization.ts';
import { strictJsonBody } from '../http/json-body.ts';

export interface CoverageRoutesDeps {
  readonly store: Store;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly tenants: () => readonly TenantConfig[];
  readonly requirement: (tenant: TenantConfig) => AuthorizationRequirement;
  /**
   * Adds `billHold` to each charge no claim bills yet whose visit the tenant's bill hold keeps, and
   * names what it read for that. The hold is the claim sweep's rule, in the claims layer above this
   * one (src/claims/workflow/ledger-bill-holds.ts `withBillHolds`): the server hands it in, as it
   * hands in `requirement`.
   */
  readonly billHolds: (
    tenant: TenantConfig,
    report: LedgerReport,
    now: Date,
  ) => Promise<{ readonly report: LedgerReport; readonly read: readonly string[] }>;
  readonly publicUrl: string;
  readonly now: () => Date;
}

export function createCoverageRoutes(deps: CoverageRoutesDeps): Router {
  const router = express.Router();
  router.use(requireBearer(deps.tokenService, { now: deps.now }));

  router.get('/authorizations', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.authorizationLedger);
    const unknown = Object.keys(req.query).filter((name) => name !== 'patient');
    if (unknown.length > 0) {
      sendOutcome(res, 400, outcome('not-supported', `Unknown parameter(s): ${unknown.join(', ')}`));
      return;
    }
    const raw = req.query['patient'];
    const patient = typeof raw === 'string' ? patientReference(raw.trim()) : undefined;
    if (!patient) {
      sendOutcome(
        res,
        400,
        outcome('required', 'One "patient" is required: Patient/{id} or {id} (letters, digits, "-", ".")'),
      );
      return;
    }
    const config = deps.tenants().find((t) => t.id === auth.tenant);
    if (!config) {
      sendOutcome(res, 404, outcome('not-found', 'Unknown tenant'));
      return;
    }
    const now = deps.now();
    const ledger = await loadLedgerReport(deps.store, config, patient, now, deps.requirement(config));
    const { report, read: encounters } = await deps.billHolds(config, ledger.report, now);
    const read = [...new Set([...ledger.read, ...encounters])];
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'search-type',
        resources: read,
        patients: [patient],
        query: `api/coverage/authorizations?patient=${patient}`,
      },
      { publicUrl: deps.publicUrl, now },
    );
    res.json(report);
  });

  router.post(
    '/authorizations',
    strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 }),
    async (req: Request, res: Response) => {
      const auth = getAuthContext(res);
      requireScopes(auth, [{ resourceType: 'ClaimResponse', interaction: 'create' }]);
      const config = deps.tenants().find((t) => t.id === auth.tenant);
      if (!config) {
        sendOutcome(res, 404, outcome('not-found', 'Unknown tenant'));
        return;
      }
      const input = readAuthorizationInput(req.body, config);
      if (!input.ok) {
        sendOutcome(res, 400, outcome('invalid', input.message));
        return;
      }
      const result = await recordAuthorization(deps, auth.tenant, input.input, {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
      });
      if (result.status >= 400) {
        sendOutcome(
          res,
          result.status,
          outcome(result.status === 404 ? 'not-found' : 'conflict', result.message),
        );
        return;
      }
      res.status(result.status).json(result);
    },
  );
  return router;
}
