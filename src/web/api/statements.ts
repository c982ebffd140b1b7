/**
 * A patient's statements in the app, over the same functions as `GET /api/remittance/statements/{id}/pdf`
 * (src/remittance/statements/download.ts): the list of a patient's statements, and each one's PDF
 * as issued. Both reads are audited with the person as the agent.
 */
import type { Request, Response, Router } from 'express';
import type { TenantConfig } from '../../config/config.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import { statementPdfById, statementsOfPatient } from '../../remittance/statements/download.ts';
import type { Store } from '../../store/port.ts';
import type { AppApiKit } from './recovery.ts';
import { existingPatient, pathId } from './path-params.ts';

export interface StatementApiDeps {
  readonly store: Store;
  readonly tenants: () => readonly TenantConfig[];
  readonly now: () => Date;
}

export function addStatementRoutes(router: Router, deps: StatementApiDeps, kit: AppApiKit): void {
  router.get('/patients/:id/statements', kit.allow('read'), async (req: Request, res: Response) => {
    const session = kit.sessionOf(res);
    const found = await existingPatient(req, res, deps.store, session.tenant);
    if (found === undefined) {
      return;
    }
    const { id, reference: patient } = found;
    const statements = await statementsOfPatient(deps, session.tenant, patient);
    await kit.audit(
      res,
      'search-type',
      statements.map((s) => `Invoice/${s.id}`),
      [patient],
      `app/api/patients/${id}/statements`,
    );
    res.json({ patient, statements });
  });

  router.get('/statements/:id/pdf', kit.allow('read'), async (req: Request, res: Response) => {
    const id = pathId(req, res, 'statement id');
    if (id === undefined) {
      return;
    }
    const session = kit.sessionOf(res);
    const result = await statementPdfById(deps, session.tenant, id);
    if (!result.ok) {
      sendOutcome(
        res,
        result.status,
        outcome(result.status === 404 ? 'not-found' : 'conflict', result.message),
      );
      return;
    }
    await kit.audit(
      res,
      'read',
      [`Invoice/${id}`, ...(result.account ? [`Account/${result.account}`] : [])],
      [result.patient],
      `app/api/statements/${id}/pdf`,
    );
    res
      .status(200)
      .type('application/pdf')
      .setHeader('Content-Disposition', `attachment; filename="statement-${id}.pdf"`);
    res.send(result.pdf);
  });
}
