/**
 * Patient statements over HTTP, mounted at `/api/remittance` (bearer-protected; scopes in
 * src/auth/disclosure.ts; reads and writes audited; errors as OperationOutcomes):
 *
 * - `POST /statements/run`: the tenant's statement run for the current cycle (idempotent per cycle).
 * - `GET /accounts?patient=Patient/{id}`: the balance, its lines, aging buckets and collections status.
 * - `GET /statements/{id}`: the statement (Invoice); `GET /statements/{id}/pdf`: as the patient reads it.
 * - `POST /patient-payments` `{ patient, amount, kind?: payment|adjustment, date?, idempotencyKey, note? }`.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import type { Invoice } from '@medplum/fhirtypes';
import { getAuthContext, requireBearer } from '../../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../../auth/disclosure.ts';
import type { TokenService } from '../../auth/token-service.ts';
import { recordAccess } from '../../fhir/audit-access.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import { todayFor } from '../appeals/actions.ts';
import { recordPatientCredit } from './payments.ts';
import type { StatementDeps } from './run.ts';
import { patientBalances, runStatements } from './run.ts';
import { issuedStatementPdf, readStatementInvoice } from './download.ts';

export interface StatementRoutesDeps extends StatementDeps {
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
}

const PATIENT_RE = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

export function createStatementRoutes(deps: StatementRoutesDeps): Router {
  const router = express.Router();
  router.use(requireBearer(deps.tokenService, { now: deps.now }));
  const requestIdOf = (res: Response): { requestId?: string } =>
    typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {};
  const json = strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 });
  const audit = (
    res: Response,
    tenant: string,
    clientId: string,
    resources: string[],
    patients: string[],
    query: string,
  ): Promise<void> =>
    recordAccess(
      deps.store,
      tenant,
      { clientId, ...requestIdOf(res), interaction: 'read', resources, patients, query },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );

  router.post('/statements/run', json, async (_req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.statementRun);
    res.json(await runStatements(deps, auth.tenant, { clientId: auth.clientId, ...requestIdOf(res) }));
  });

  router.get('/accounts', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.statementRead);
    const patient = req.query['patient'];
    if (typeof patient !== 'string' || !PATIENT_RE.test(patient)) {
      sendOutcome(res, 400, outcome('required', '"patient" is required: Patient/{id}'));
      return;
    }
    const [balance] = await patientBalances(deps, auth.tenant, patient);
    if (!balance) {
      sendOutcome(res, 404, outcome('not-found', `${patient} has no balance`));
      return;
    }
    await audit(
      res,
      auth.tenant,
      auth.clientId,
      [`Account/${balance.account}`, ...new Set(balance.lines.map((l) => `ExplanationOfBenefit/${l.eob}`))],
      [patient],
      `api/remittance/accounts?patient=${patient}`,
    );
    res.json({ today: todayFor(deps, auth.tenant), ...balance });
  });

  const readStatement = async (req: Request, res: Response): Promise<Invoice | undefined> => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.statementRead);
    const id = typeof req.params['id'] === 'string' ? req.params['id'] : '';
    if (!ID_RE.test(id)) {
      sendOutcome(res, 400, outcome('invalid', 'Invalid statement id'));
      return undefined;
    }
    const found = await readStatementInvoice(deps, auth.tenant, id);
    if (!found) {
      sendOutcome(res, 404, outcome('not-found', `No statement ${id}`));
      return undefined;
    }
    const patient = found.subject?.reference ?? '';
    await audit(
      res,
      auth.tenant,
      auth.clientId,
      [`Invoice/${id}`],
      patient ? [patient] : [],
      `api/remittance/statements/${id}`,
    );
    return found;
  };

  router.get('/statements/:id', async (req: Request, res: Response) => {
    const invoice = await readStatement(req, res);
    if (invoice) {
      res.json(invoice);
    }
  });

  router.get('/statements/:id/pdf', async (req: Request, res: Response) => {
    const invoice = await readStatement(req, res);
    if (!invoice) {
      return;
    }
    const rendered = await issuedStatementPdf(deps, getAuthContext(res).tenant, invoice);
    if (!rendered.ok) {
      sendOutcome(res, rendered.status, outcome('conflict', rendered.message));
      return;
    }
    res.status(200).type('application/pdf').send(rendered.pdf);
  });

  router.post('/patient-payments', json, async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.patientPayment);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const kind = body['kind'] ?? 'payment';
    const { patient, amount, date, idempotencyKey, note } = body;
    if (
      typeof patient !== 'string' ||
      typeof amount !== 'number' ||
      (kind !== 'payment' && kind !== 'adjustment') ||
      (date !== undefined && typeof date !== 'string') ||
      typeof idempotencyKey !== 'string' ||
      (note !== undefined && (typeof note !== 'string' || note.length > 500))
    ) {
      sendOutcome(
        res,
        400,
        outcome(
          'invalid',
          '{ "patient": "Patient/{id}", "amount": dollars, "kind"?: "payment"|"adjustment", "date"?: "YYYY-MM-DD", "idempotencyKey": string, "note"?: string }',
        ),
      );
      return;
    }
    const result = await recordPatientCredit(
      deps,
      auth.tenant,
      {
        patient,
        amount,
        kind,
        key: idempotencyKey,
        ...(typeof date === 'string' ? { date } : {}),
        ...(typeof note === 'string' ? { note } : {}),
      },
      { clientId: auth.clientId, ...requestIdOf(res) },
    );
    if (result.status >= 400) {
      const code = result.status === 409 ? 'conflict' : result.status === 422 ? 'business-rule' : 'invalid';
      sendOutcome(res, result.status, outcome(code, result.message));
      return;
    }
    res.status(result.status).json(result);
  });
  return router;
}
