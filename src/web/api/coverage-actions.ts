/**
 * The coverage view's actions and its orders, over the same functions and checks as the bearer
 * APIs and the CLI:
 * - record an authorization by hand: `readAuthorizationInput` and `recordAuthorization`
 *   (src/coverage/record-authorization.ts), as `POST /api/coverage/authorizations`;
 * - a patient's infusion orders with where their prior authorization stands: `statusOf`
 *   (src/coverage/pas/routes.ts), as `GET /api/prior-auth?order=` and CLI `prior-auth`;
 * - ask for (or cancel) an order's prior authorization: `enqueueOrder` (src/coverage/pas/jobs.ts)
 *   on an order on file, as `POST /api/prior-auth` and CLI `prior-auth`, then the worker is nudged.
 * Permissions: `record-authorization` and `request-coverage` (../roles.ts); the person is the agent
 * of every audit.
 */
import type { Request, Response, Router } from 'express';
import type { MedicationRequest } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { enqueueOrder } from '../../coverage/pas/jobs.ts';
import { statusOf } from '../../coverage/pas/routes.ts';
import { readAuthorizationInput, recordAuthorization } from '../../coverage/record-authorization.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { Store } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { AppApiKit } from './recovery.ts';
import { readOrUndefined } from './lookup.ts';
import { existingPatient, pathId } from './path-params.ts';

export interface CoverageActionDeps {
  readonly store: Store;
  readonly publicUrl: string;
  readonly tenants: () => readonly TenantConfig[];
  readonly now: () => Date;
  /** Nudges the prior authorization worker (work was queued in this process). */
  readonly notifyPriorAuth: () => void;
}

const MAX_ORDERS = 200;

const medicationOf = (order: MedicationRequest): string =>
  order.medicationCodeableConcept?.text ??
  order.medicationCodeableConcept?.coding?.find((c) => c.display)?.display ??
  order.medicationReference?.display ??
  order.medicationCodeableConcept?.coding?.[0]?.code ??
  'Medication';

export function addCoverageActionRoutes(router: Router, deps: CoverageActionDeps, kit: AppApiKit): void {
  router.post(
    '/patients/:id/authorizations',
    kit.json,
    kit.allow('record-authorization'),
    async (req: Request, res: Response) => {
      const id = pathId(req, res);
      if (id === undefined) {
        return;
      }
      const session = kit.sessionOf(res);
      const config = deps.tenants().find((t) => t.id === session.tenant);
      const body = (req.body ?? {}) as Record<string, unknown>;
      if ('patient' in body) {
        sendOutcome(res, 400, outcome('invalid', 'The patient is the one in the address, not in the body'));
        return;
      }
      const input = readAuthorizationInput({ ...body, patient: `Patient/${id}` }, config ?? { payers: [] });
      if (!input.ok) {
        sendOutcome(res, 400, outcome('invalid', input.message));
        return;
      }
      const requestId = kit.requestIdOf(res);
      const result = await recordAuthorization(deps, session.tenant, input.input, {
        clientId: kit.clientId,
        user: kit.person(session),
        ...(requestId ? { requestId } : {}),
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

  router.get('/patients/:id/orders', kit.allow('read'), async (req: Request, res: Response) => {
    const session = kit.sessionOf(res);
    const found = await existingPatient(req, res, deps.store, session.tenant);
    if (found === undefined) {
      return;
    }
    const { id, reference: patient } = found;
    const orders = await searchAll<MedicationRequest>(
      deps.store,
      session.tenant,
      'MedicationRequest',
      [{ code: 'subject', kind: 'reference', values: [patient] }],
      MAX_ORDERS,
    );
    const out = [];
    for (const order of orders.sort((a, b) => (b.authoredOn ?? '').localeCompare(a.authoredOn ?? ''))) {
      const cases = await statusOf(deps.store, session.tenant, order.id);
      out.push({
        id: order.id,
        medication: medicationOf(order),
        ...(order.authoredOn ? { authoredOn: order.authoredOn.slice(0, 10) } : {}),
        status: order.status,
        priorAuth: cases,
      });
    }
    await kit.audit(
      res,
      'search-type',
      [
        ...out.map((o) => `MedicationRequest/${o.id}`),
        ...out.flatMap((o) =>
          o.priorAuth.flatMap((c) => (typeof c['response'] === 'string' ? [c['response']] : [])),
        ),
      ],
      [patient],
      `app/api/patients/${id}/orders`,
    );
    res.json({ patient, orders: out });
  });

  router.post(
    '/orders/:id/prior-auth',
    kit.json,
    kit.allow('request-coverage'),
    async (req: Request, res: Response) => {
      const id = pathId(req, res);
      if (id === undefined) {
        return;
      }
      const body = (req.body ?? {}) as { cancel?: unknown };
      if (
        Object.keys(body).some((k) => k !== 'cancel') ||
        (body.cancel !== undefined && typeof body.cancel !== 'boolean')
      ) {
        sendOutcome(res, 400, outcome('invalid', 'The body is {} or { "cancel": true }'));
        return;
      }
      const session = kit.sessionOf(res);
      const order = await readOrUndefined<MedicationRequest>(
        deps.store,
        session.tenant,
        'MedicationRequest',
        id,
      );
      if (!order) {
        sendOutcome(res, 404, outcome('not-found', `MedicationRequest/${id} is not on file`));
        return;
      }
      const cancel = body.cancel === true;
      const queued = await enqueueOrder(deps.store, session.tenant, id, {
        ...(cancel ? { cancel: true } : {}),
        reason: `asked by ${kit.person(session).display} in the billers' app`,
        at: deps.now(),
      });
      deps.notifyPriorAuth();
      await kit.audit(
        res,
        'operation',
        [`MedicationRequest/${id}`],
        order.subject.reference ? [order.subject.reference] : [],
        `app/api/orders/${id}/prior-auth${cancel ? '?cancel' : ''}`,
      );
      res
        .status(202)
        .json({ order: `MedicationRequest/${id}`, queued: queued.created, ...(cancel ? { cancel } : {}) });
    },
  );
}
