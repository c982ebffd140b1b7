/**
 * Eligibility on demand, at `/api/eligibility` (bearer-protected, SMART scopes):
 * - `POST /check`, body `{ "patient": "Patient/<id>" }` (scopes: create CoverageEligibilityRequest,
 *   read Patient, Coverage and CoverageEligibilityResponse): asks every payer of the patient's
 *   coverages now and waits a few seconds for the answers: 200 with the outcome per coverage
 *   (state, the answer's summary, the findings), or 202 with the job when the payers are slow (the
 *   job goes on; `GET` shows the answers once kept).
 * - `GET /Patient/<id>` (scopes: read and search CoverageEligibilityResponse): the latest answer
 *   per coverage of the patient, summarized. Both reads are audited.
 * Bad input (no patient, a malformed reference, an unknown patient) is a 4xx OperationOutcome.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import { getAuthContext, requireBearer, requireScope } from '../../auth/bearer.ts';
import type { TokenService } from '../../auth/token-service.ts';
import { recordAccess } from '../../fhir/audit-access.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { Store, TenantId } from '../../store/port.ts';
import type { CheckResult } from './check.ts';
import { latestAnswers } from './records.ts';
import { readOptional } from '../../store/read-optional.ts';

const PATIENT_RE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

export interface EligibilityRoutesDeps {
  readonly store: Store;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly worker: {
    ask(
      tenant: TenantId,
      patient: string,
      reason: string,
      waitMs: number,
    ): Promise<{ readonly jobId: string; readonly result?: CheckResult }>;
  };
  readonly publicUrl: string;
  readonly now: () => Date;
  /** How long `POST /check` waits for the payers before answering 202 (default 10 s). */
  readonly waitMs?: number;
}

export function createEligibilityRoutes(deps: EligibilityRoutesDeps): Router {
  const router = express.Router();
  router.use(requireBearer(deps.tokenService, { now: deps.now }));

  const audit = async (
    res: Response,
    resources: readonly string[],
    patient: string,
    query: string,
  ): Promise<void> => {
    const auth = getAuthContext(res);
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'search-type',
        resources,
        patients: [patient],
        query,
      },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );
  };

  const knownPatient = async (tenant: TenantId, patient: string, res: Response): Promise<boolean> => {
    const id = PATIENT_RE.exec(patient)?.[1];
    if (!id) {
      sendOutcome(res, 400, outcome('invalid', 'patient must be a reference "Patient/<id>"'));
      return false;
    }
    if (!(await readOptional(deps.store, tenant, 'Patient', id))) {
      sendOutcome(res, 404, outcome('not-found', `${patient} is not known`));
      return false;
    }
    return true;
  };

  router.post(
    '/check',
    strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 }),
    async (req: Request, res: Response) => {
      const auth = getAuthContext(res);
      requireScope(auth, 'CoverageEligibilityRequest', 'create');
      for (const type of ['Patient', 'Coverage', 'CoverageEligibilityResponse']) {
        requireScope(auth, type, 'read');
      }
      const patient = (req.body as { patient?: unknown } | undefined)?.patient;
      if (typeof patient !== 'string') {
        sendOutcome(res, 400, outcome('required', 'The body needs "patient": "Patient/<id>"'));
        return;
      }
      if (!(await knownPatient(auth.tenant, patient, res))) {
        return;
      }
      const { jobId, result } = await deps.worker.ask(
        auth.tenant,
        patient,
        `asked by ${auth.clientId}`,
        deps.waitMs ?? 10_000,
      );
      if (!result) {
        res.status(202).json({ patient, job: jobId, done: false });
        return;
      }
      await audit(
        res,
        result.outcomes.flatMap((o) => [o.request, o.response].filter((r): r is string => r !== undefined)),
        patient,
        'api/eligibility/check',
      );
      res.status(200).json({ job: jobId, done: true, ...result });
    },
  );

  router.get('/Patient/:id', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScope(auth, 'CoverageEligibilityResponse', 'read');
    requireScope(auth, 'CoverageEligibilityResponse', 'search');
    const patient = `Patient/${String(req.params['id'])}`;
    if (!(await knownPatient(auth.tenant, patient, res))) {
      return;
    }
    const answers = await latestAnswers(deps.store, auth.tenant, patient);
    const coverages = [...answers.entries()].map(([coverage, { summary }]) => ({ coverage, ...summary }));
    await audit(
      res,
      coverages.map((c) => c.response),
      patient,
      `api/eligibility/${patient}`,
    );
    res.json({ patient, coverages });
  });

  return router;
}
