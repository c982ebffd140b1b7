/**
 * Appeals over HTTP, mounted at `/api/remittance` beside the work items (bearer-protected; scopes
 * in src/auth/disclosure.ts; every read and change audited; errors as OperationOutcomes):
 *
 * - `POST /appeals` `{ "workItem": "wi-…" }` or `{ "claim": "…" }`, `"reason"?`: opens the next
 *   appeal (201; 200 when it is already open). 422 for a claim that is not denied or underpaid.
 * - `GET /appeals[?outcome=open]`, `GET /appeals/{id}`: appeals with their deadlines.
 * - `GET /appeals/{id}/packet`: the appeal packet (application/pdf).
 * - `POST /appeals/{id}/outcome` `{ "outcome", "recovered"?, "decided"?, "reason"? }`.
 * - `POST /appeals/sweep`: the deadline sweep now (warnings at 30 and 7 days, missed).
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import type { Task } from '@medplum/fhirtypes';
import { getAuthContext, requireBearer } from '../../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../../auth/disclosure.ts';
import type { TokenService } from '../../auth/token-service.ts';
import { CS_APPEAL_LEVEL } from '../../contract/appeals.ts';
import { recordAccess } from '../../fhir/audit-access.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { AppealDeps, AppealResult } from './actions.ts';
import { openAppeal, readAppeal, recordAppealOutcome, todayFor, workItemOfClaim } from './actions.ts';
import { renderAppealPacket } from './render.ts';
import { sweepAppealDeadlines } from './sweep.ts';
import type { AppealView } from './task.ts';
import { appealView } from './task.ts';

export interface AppealRoutesDeps extends AppealDeps {
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
}

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const LEVELS = ['redetermination', 'reconsideration', 'first-level', 'second-level'];

export async function listAppeals(
  deps: Pick<AppealDeps, 'store'>,
  tenant: TenantId,
  filter: { outcome?: string } = {},
): Promise<AppealView[]> {
  const tasks = await searchAll<Task>(deps.store, tenant, 'Task', [
    { code: 'code', kind: 'token', values: LEVELS.map((value) => ({ system: CS_APPEAL_LEVEL, value })) },
  ]);
  return tasks
    .map((t) => appealView(t as Task & { id: string }))
    .filter((v): v is AppealView => v !== undefined && (!filter.outcome || v.outcome === filter.outcome))
    .sort((a, b) => a.deadline.localeCompare(b.deadline) || a.id.localeCompare(b.id));
}

/** An appeal's optional reason: 3 to 2000 characters (false when given but not so). */
export function appealReasonOf(body: Record<string, unknown>): string | undefined | false {
  const reason = body['reason'];
  if (reason === undefined) {
    return undefined;
  }
  return typeof reason === 'string' && reason.trim().length >= 3 && reason.length <= 2000
    ? reason.trim()
    : false;
}

/** The OperationOutcome code of an appeal action's refusal. */
export function appealIssueCode(status: number): 'not-found' | 'conflict' | 'business-rule' | 'invalid' {
  return status === 404
    ? 'not-found'
    : status === 409
      ? 'conflict'
      : status === 422
        ? 'business-rule'
        : 'invalid';
}

export function createAppealRoutes(deps: AppealRoutesDeps): Router {
  const router = express.Router();
  router.use(requireBearer(deps.tokenService, { now: deps.now }));
  const requestIdOf = (res: Response): { requestId?: string } =>
    typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {};
  const audit = (
    res: Response,
    tenant: TenantId,
    clientId: string,
    appeals: readonly AppealView[],
    query: string,
    interaction: 'read' | 'search-type',
  ): Promise<void> =>
    recordAccess(
      deps.store,
      tenant,
      {
        clientId,
        ...requestIdOf(res),
        interaction,
        resources: appeals.flatMap((a) => [`Task/${a.id}`, `Claim/${a.claim}`]),
        patients: [...new Set(appeals.flatMap((a) => (a.patient ? [a.patient] : [])))],
        query,
      },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );
  const answer = (res: Response, result: AppealResult): void => {
    if (result.status >= 400) {
      sendOutcome(res, result.status, outcome(appealIssueCode(result.status), result.message));
      return;
    }
    res
      .status(result.status)
      .json({ message: result.message, ...(result.appeal ? { appeal: result.appeal } : {}) });
  };
  const idParam = (req: Request, res: Response): string | undefined => {
    const id = typeof req.params['id'] === 'string' ? req.params['id'] : '';
    if (!ID_RE.test(id)) {
      sendOutcome(res, 400, outcome('invalid', 'Invalid appeal id'));
      return undefined;
    }
    return id;
  };
  const json = strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 });

  router.post('/appeals', json, async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.appealOpen);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const reason = appealReasonOf(body);
    if (reason === false) {
      sendOutcome(res, 400, outcome('invalid', '"reason" is 3 to 2000 characters'));
      return;
    }
    let workItem = body['workItem'];
    const claim = body['claim'];
    if (workItem === undefined && typeof claim === 'string' && ID_RE.test(claim)) {
      workItem = await workItemOfClaim(deps.store, auth.tenant, claim);
      if (workItem === undefined) {
        sendOutcome(
          res,
          422,
          outcome(
            'business-rule',
            `Claim/${claim} is not denied or underpaid: no denial or underpayment work item names it`,
          ),
        );
        return;
      }
    }
    if (typeof workItem !== 'string' || !ID_RE.test(workItem)) {
      sendOutcome(
        res,
        400,
        outcome('required', '"workItem" (a work item id) or "claim" (a claim id) is required'),
      );
      return;
    }
    answer(
      res,
      await openAppeal(deps, auth.tenant, workItem, {
        clientId: auth.clientId,
        ...requestIdOf(res),
        ...(reason ? { reason } : {}),
      }),
    );
  });

  router.get('/appeals', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.appeals);
    const wanted = req.query['outcome'];
    if (
      wanted !== undefined &&
      (typeof wanted !== 'string' ||
        !['open', 'overturned', 'partly-overturned', 'upheld', 'missed'].includes(wanted))
    ) {
      sendOutcome(
        res,
        400,
        outcome('invalid', '"outcome" is open, overturned, partly-overturned, upheld or missed'),
      );
      return;
    }
    const appeals = await listAppeals(
      deps,
      auth.tenant,
      typeof wanted === 'string' ? { outcome: wanted } : {},
    );
    await audit(
      res,
      auth.tenant,
      auth.clientId,
      appeals,
      `api/remittance/appeals${wanted ? `?outcome=${wanted}` : ''}`,
      'search-type',
    );
    res.json({ today: todayFor(deps, auth.tenant), appeals });
  });

  router.post('/appeals/sweep', json, async (_req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.appealUpdate);
    res.json(await sweepAppealDeadlines(deps, auth.tenant));
  });

  router.get('/appeals/:id', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.appeals);
    const id = idParam(req, res);
    if (!id) {
      return;
    }
    const task = await readAppeal(deps.store, auth.tenant, id);
    const view = task ? appealView(task) : undefined;
    if (!view) {
      sendOutcome(res, 404, outcome('not-found', `No appeal ${id}`));
      return;
    }
    await audit(res, auth.tenant, auth.clientId, [view], `api/remittance/appeals/${id}`, 'read');
    res.json(view);
  });

  router.get('/appeals/:id/packet', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.appealPacket);
    const id = idParam(req, res);
    if (!id) {
      return;
    }
    const result = await renderAppealPacket(deps, auth.tenant, id);
    if (typeof result === 'string') {
      sendOutcome(
        res,
        result.startsWith('No appeal') ? 404 : 409,
        outcome(result.startsWith('No appeal') ? 'not-found' : 'conflict', result),
      );
      return;
    }
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...requestIdOf(res),
        interaction: 'read',
        resources: [`Task/${id}`, ...result.resources],
        patients: result.patients,
        query: `api/remittance/appeals/${id}/packet`,
      },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );
    res
      .status(200)
      .type('application/pdf')
      .setHeader('Content-Disposition', `inline; filename="appeal-${id}.pdf"`);
    res.send(result.pdf);
  });

  router.post('/appeals/:id/outcome', json, async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.appealUpdate);
    const id = idParam(req, res);
    if (!id) {
      return;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const reason = appealReasonOf(body);
    const recovered = body['recovered'];
    const decided = body['decided'];
    if (
      reason === false ||
      (recovered !== undefined && typeof recovered !== 'number') ||
      (decided !== undefined && typeof decided !== 'string') ||
      typeof body['outcome'] !== 'string'
    ) {
      sendOutcome(
        res,
        400,
        outcome(
          'invalid',
          '{ "outcome": string, "recovered"?: number, "decided"?: "YYYY-MM-DD", "reason"?: 3 to 2000 characters }',
        ),
      );
      return;
    }
    answer(
      res,
      await recordAppealOutcome(
        deps,
        auth.tenant,
        id,
        {
          outcome: body['outcome'],
          ...(typeof recovered === 'number' ? { recovered } : {}),
          ...(typeof decided === 'string' ? { decidedOn: decided } : {}),
        },
        { clientId: auth.clientId, ...requestIdOf(res), ...(reason ? { reason } : {}) },
      ),
    );
  });
  return router;
}
