/**
 * The patient estimate over HTTP, mounted at `/api/coverage` (bearer-protected, SMART scopes):
 *
 * - `GET /estimate?subject=MedicationRequest/{id}|ServiceRequest/{id}|Encounter/{id}`
 * - `POST /estimate`, body `{ "subject": "…" }` (the same, for clients that post what they ask)
 *
 * Both answer the estimate as an ExplanationOfBenefit (use `predetermination`, ./estimate.ts) in
 * which every figure names its input. Scopes: `OPERATION_NEEDS.patientEstimate` plus read on the
 * subject's type (and Medication and Encounter for an order). The read is audited like a FHIR read,
 * naming every resource the estimate was made from and the patient. Bad input (no or a malformed
 * subject, unknown parameters), an unknown subject, or a subject that cannot be estimated (no
 * coverage, no eligibility answer, nothing coded) is a 4xx OperationOutcome.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { getAuthContext, requireBearer } from '../../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../../auth/disclosure.ts';
import type { TokenService } from '../../auth/token-service.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { CodingTables } from '../../coding/tables/types.ts';
import { recordAccess } from '../../fhir/audit-access.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { Store } from '../../store/port.ts';
import { patientEstimate } from './estimate.ts';
import type { AllowedAmountsFor } from './inputs.ts';
import { EstimateProblem, loadEstimateInput, parseEstimateSubject } from './inputs.ts';

export interface EstimateRoutesDeps {
  readonly store: Store;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly tenants: () => readonly TenantConfig[];
  readonly tables: CodingTables;
  readonly allowedAmounts: AllowedAmountsFor;
  readonly publicUrl: string;
  readonly now: () => Date;
}

export function createEstimateRoutes(deps: EstimateRoutesDeps): Router {
  const router = express.Router();
  router.use(requireBearer(deps.tokenService, { now: deps.now }));

  const answer = async (res: Response, raw: unknown, query: string): Promise<void> => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.patientEstimate);
    const subject = parseEstimateSubject(raw);
    if (!subject) {
      sendOutcome(
        res,
        400,
        outcome(
          'required',
          'One "subject" is required: MedicationRequest/{id}, ServiceRequest/{id} or Encounter/{id}',
        ),
      );
      return;
    }
    const subjectTypes =
      subject.type === 'Encounter'
        ? ['Encounter']
        : subject.type === 'MedicationRequest'
          ? ['MedicationRequest', 'Medication', 'Encounter']
          : ['ServiceRequest', 'Encounter'];
    requireScopes(
      auth,
      subjectTypes.map((resourceType) => ({ resourceType, interaction: 'read' as const })),
    );
    const config = deps.tenants().find((t) => t.id === auth.tenant);
    if (!config) {
      sendOutcome(res, 404, outcome('not-found', 'Unknown tenant'));
      return;
    }
    const now = deps.now();
    let made;
    try {
      made = await loadEstimateInput(
        { store: deps.store, tables: deps.tables, allowedAmounts: deps.allowedAmounts, now },
        config,
        `${subject.type}/${subject.id}`,
      );
    } catch (err) {
      if (err instanceof EstimateProblem) {
        sendOutcome(res, err.status, outcome(err.code, err.message));
        return;
      }
      throw err;
    }
    const estimate = patientEstimate(made.input);
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'read',
        resources: made.read,
        patients: [made.input.patient],
        query,
      },
      { publicUrl: deps.publicUrl, now },
    );
    res.type('application/fhir+json').json(estimate);
  };

  router.get('/estimate', async (req: Request, res: Response) => {
    const unknown = Object.keys(req.query).filter((name) => name !== 'subject');
    if (unknown.length > 0) {
      sendOutcome(res, 400, outcome('not-supported', `Unknown parameter(s): ${unknown.join(', ')}`));
      return;
    }
    const raw = req.query['subject'];
    await answer(res, raw, `api/coverage/estimate?subject=${typeof raw === 'string' ? raw : ''}`);
  });

  router.post(
    '/estimate',
    strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 }),
    async (req: Request, res: Response) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const unknown = Object.keys(body).filter((name) => name !== 'subject');
      if (unknown.length > 0) {
        sendOutcome(res, 400, outcome('not-supported', `Unknown field(s): ${unknown.join(', ')}`));
        return;
      }
      await answer(res, body['subject'], 'api/coverage/estimate');
    },
  );
  return router;
}
