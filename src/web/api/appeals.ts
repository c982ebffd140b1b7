/**
 * The app's appeal actions, over the same functions and input checks as
 * `POST /api/remittance/appeals` and `GET /api/remittance/appeals/{id}/packet`
 * (src/remittance/appeals/routes.ts): open the next appeal of a denial or underpayment work item,
 * and download its packet (PDF). The person is the agent of every audit.
 */
import type { Request, Response, Router } from 'express';
import { openAppeal } from '../../remittance/appeals/actions.ts';
import type { AppealDeps } from '../../remittance/appeals/actions.ts';
import { renderAppealPacket } from '../../remittance/appeals/render.ts';
import { appealIssueCode, appealReasonOf } from '../../remittance/appeals/routes.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { AppApiKit } from './recovery.ts';
import { pathId } from './path-params.ts';

export function addAppealRoutes(router: Router, deps: AppealDeps, kit: AppApiKit): void {
  router.post(
    '/work-items/:id/appeal',
    kit.json,
    kit.allow('appeal'),
    async (req: Request, res: Response) => {
      const id = pathId(req, res, 'work item id');
      if (id === undefined) {
        return;
      }
      const reason = appealReasonOf((req.body ?? {}) as Record<string, unknown>);
      if (reason === false) {
        sendOutcome(res, 400, outcome('invalid', '"reason" is 3 to 2000 characters'));
        return;
      }
      const session = kit.sessionOf(res);
      const requestId = kit.requestIdOf(res);
      const result = await openAppeal(deps, session.tenant, id, {
        clientId: kit.clientId,
        user: kit.person(session),
        ...(requestId ? { requestId } : {}),
        ...(reason ? { reason } : {}),
      });
      if (result.status >= 400) {
        sendOutcome(res, result.status, outcome(appealIssueCode(result.status), result.message));
        return;
      }
      res
        .status(result.status)
        .json({ message: result.message, ...(result.appeal ? { appeal: result.appeal } : {}) });
    },
  );

  router.get('/appeals/:id/packet', kit.allow('appeal'), async (req: Request, res: Response) => {
    const id = pathId(req, res, 'appeal id');
    if (id === undefined) {
      return;
    }
    const session = kit.sessionOf(res);
    const result = await renderAppealPacket(deps, session.tenant, id);
    if (typeof result === 'string') {
      const missing = result.startsWith('No appeal');
      sendOutcome(res, missing ? 404 : 409, outcome(missing ? 'not-found' : 'conflict', result));
      return;
    }
    await kit.audit(
      res,
      'read',
      [`Task/${id}`, ...result.resources],
      result.patients,
      `app/api/appeals/${id}/packet`,
    );
    res
      .status(200)
      .type('application/pdf')
      .setHeader('Content-Disposition', `attachment; filename="appeal-${id}.pdf"`);
    res.send(result.pdf);
  });
}
