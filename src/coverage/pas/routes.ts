/**
 * Prior authorization over HTTP:
 * - `POST /api/prior-auth` `{ "order": "MedicationRequest/{id}" [, "cancel": true] }`: asks for
 *   (or cancels) the prior authorization of an order now (scopes: read the order's type, create
 *   Claim); 202, the work is queued (once per order version and ask). The order is a drug order
 *   (`MedicationRequest/{id}`, or a bare id) or a service order (`ServiceRequest/{id}`: hydration,
 *   home nursing), as ingest starts PAS for both.
 * - `GET /api/prior-auth?order=MedicationRequest/{id}` (or `ServiceRequest/{id}`): where the order's requests stand — each
 *   case, its submissions and their states, the payer's current decision per item, the open work
 *   item (scopes: read Claim, ClaimResponse, Task); audited as a read of PHI.
 * - `POST /pas/{tenant}/{payer}/notify`: the receiver of the payer's PAS subscription notifications,
 *   authenticated by the subscription's own secret (`Authorization: Bearer`, constant-time against
 *   its SHA-256); a notification naming another subscription than the secret's is 403. The status
 *   a notification reports is kept (a handshake, or one saying `active`, marks the subscription
 *   active; `error` or `off` is recorded and the subscription replaced: noteStatus), and so is the
 *   contact itself (when, and the event numbers and count: ./subscription-contact.ts, what the
 *   silence check goes by; events counted and never received get a recovery queued,
 *   ./subscription-recovery.ts); an event is durably queued, then 200. Anything
 *   else authenticated is queued too (the worker keeps it with a work item) and answered 400.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import type { Claim, ClaimResponse, Task } from '@medplum/fhirtypes';
import { getAuthContext, requireBearer } from '../../auth/bearer.ts';
import { requireScopes } from '../../auth/disclosure.ts';
import type { TokenService } from '../../auth/token-service.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { Logger } from '../../logger.ts';
import { recordAccess } from '../../fhir/audit-access.ts';
import { unauthorized } from '../../http/auth-errors.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { fhirBodyShapeProblem } from '../../fhir/body-shape.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import { secretMatches } from '../../ingest/records.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { caseIdOf, payerOf, sourceOf, stateOf } from './records.ts';
import { readClaimResponse } from './response.ts';
import { parsePasNotification, readSubscriptionRecord, recordedStatus } from './subscription.ts';
import { noteStatus } from './subscription-check.ts';
import { noteContact } from './subscription-contact.ts';
import { scheduleRecovery } from './subscription-recovery.ts';
import type { OrderType } from './jobs.ts';
import { enqueueOrder, notificationJob, parseOrderReference } from './jobs.ts';
import { readOptional } from '../../store/read-optional.ts';

export interface PriorAuthRoutesDeps {
  readonly store: Store;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly tenants: () => readonly TenantConfig[];
  /** Nudges the worker: work was queued in this process. */
  readonly notify: () => void;
  readonly publicUrl: string;
  readonly now: () => Date;
  readonly maxBodyBytes: number;
  readonly maxJsonDepth: number;
  /** The app's logger: the notify route logs ids of subscriptions and counts, never a body. */
  readonly logger: Logger;
}

const NOTIFY_REALM = 'dripline-pas-notify';

/** Where an order's prior authorization stands (the body of GET /api/prior-auth). */
export async function statusOf(
  store: Store,
  tenant: TenantId,
  order: string,
  type: OrderType = 'MedicationRequest',
): Promise<Record<string, unknown>[]> {
  const claims = (
    await searchAll<Claim>(store, tenant, 'Claim', [
      { code: 'use', kind: 'token', values: [{ value: 'preauthorization' }] },
    ])
  ).filter((c) => sourceOf(c)?.startsWith(`${type}/${order}/`));
  const cases = new Map<string, Claim[]>();
  for (const claim of claims) {
    const caseId = caseIdOf(claim.id);
    cases.set(caseId, [...(cases.get(caseId) ?? []), claim]);
  }
  const out: Record<string, unknown>[] = [];
  for (const [caseId, submissions] of cases) {
    const response = await readOptional<ClaimResponse>(store, tenant, 'ClaimResponse', caseId);
    const task = await readOptional<Task>(store, tenant, 'Task', `${caseId}-work`);
    const reading = response ? readClaimResponse(response) : undefined;
    out.push({
      case: caseId,
      payer: payerOf(submissions[0] as Claim),
      submissions: submissions
        .sort((a, b) => Number(a.id?.split('-').at(-1)) - Number(b.id?.split('-').at(-1)))
        .map((c) => ({
          claim: `Claim/${c.id ?? ''}`,
          state: stateOf(c),
          order: sourceOf(c),
          created: c.created,
        })),
      ...(response && reading
        ? {
            response: `ClaimResponse/${caseId}`,
            status: reading.status,
            ...(reading.number ? { number: reading.number } : {}),
            items: reading.items.map((i) => ({
              sequence: i.sequence,
              decision: i.status,
              ...(i.number ? { number: i.number } : {}),
              ...(i.authorized ? { authorized: i.authorized } : {}),
              ...(i.period ? { period: i.period } : {}),
              ...(i.notes.length > 0 ? { notes: i.notes } : {}),
            })),
          }
        : {}),
      ...(task && task.status === 'requested'
        ? { task: `Task/${task.id ?? ''}`, work: task.code?.text }
        : {}),
    });
  }
  return out;
}

export function createPriorAuthApi(deps: PriorAuthRoutesDeps): Router {
  const router = express.Router();
  router.use(requireBearer(deps.tokenService, { now: deps.now }));
  router.use(strictJsonBody({ maxBytes: deps.maxBodyBytes, maxDepth: deps.maxJsonDepth }));
  router.post('/', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, [{ resourceType: 'Claim', interaction: 'create' }]);
    const body = req.body as { order?: unknown; cancel?: unknown };
    const order = parseOrderReference(body.order);
    if (!order || (body.cancel !== undefined && typeof body.cancel !== 'boolean')) {
      sendOutcome(
        res,
        400,
        outcome(
          'invalid',
          'The body is { "order": "MedicationRequest/{id}" } (or "ServiceRequest/{id}") with an optional boolean "cancel"',
        ),
      );
      return;
    }
    requireScopes(auth, [{ resourceType: order.type, interaction: 'read' }]);
    const reference = `${order.type}/${order.id}`;
    if (!(await readOptional(deps.store, auth.tenant, order.type, order.id))) {
      sendOutcome(res, 404, outcome('not-found', `${reference} is not on file`));
      return;
    }
    const queued = await enqueueOrder(deps.store, auth.tenant, order.id, {
      ...(body.cancel === true ? { cancel: true } : {}),
      ...(order.type === 'ServiceRequest' ? { orderType: order.type } : {}),
      reason: `asked through the API by ${auth.clientId}`,
      at: deps.now(),
    });
    deps.notify();
    res
      .status(202)
      .location(`/api/prior-auth?order=${reference}`)
      .json({
        order: reference,
        queued: queued.created,
        ...(body.cancel === true ? { cancel: true } : {}),
      });
  });
  router.get('/', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, [
      { resourceType: 'Claim', interaction: 'read' },
      { resourceType: 'ClaimResponse', interaction: 'read' },
      { resourceType: 'Task', interaction: 'read' },
    ]);
    const order = parseOrderReference(req.query['order']);
    if (!order) {
      sendOutcome(
        res,
        400,
        outcome('invalid', 'Name the order: ?order=MedicationRequest/{id} (or ServiceRequest/{id})'),
      );
      return;
    }
    const reference = `${order.type}/${order.id}`;
    const cases = await statusOf(deps.store, auth.tenant, order.id, order.type);
    const order0 = await readOptional(deps.store, auth.tenant, order.type, order.id);
    const patient =
      order0?.resourceType === 'MedicationRequest' || order0?.resourceType === 'ServiceRequest'
        ? order0.subject.reference
        : undefined;
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        interaction: 'search-type',
        resources: cases.flatMap((c) => [
          ...((c['submissions'] as { claim: string }[] | undefined) ?? []).map((s) => s.claim),
          ...(c['response'] ? [c['response'] as string] : []),
        ]),
        patients: patient ? [patient] : [],
        query: `api/prior-auth?order=${reference}`,
      },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );
    res.json({ order: reference, cases });
  });
  return router;
}

export function createPasNotifyRouter(deps: PriorAuthRoutesDeps): Router {
  const router = express.Router();
  router.post(
    '/:tenant/:payer/notify',
    strictJsonBody({ maxBytes: deps.maxBodyBytes, maxDepth: deps.maxJsonDepth, shape: fhirBodyShapeProblem }),
    async (req, res) => {
      const tenant = deps.tenants().find((t) => t.id === req.params['tenant']);
      const payer = tenant?.payers.find((p) => p.id === req.params['payer'] && p.pas);
      if (!tenant || !payer) {
        sendOutcome(
          res,
          404,
          outcome('not-found', 'No PAS subscription of Dripline answers at this address'),
        );
        return;
      }
      const { stored: existing, known: record } = await readSubscriptionRecord(
        deps.store,
        tenant.id,
        payer.id,
      );
      const presented = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
      if (!presented || !record || !secretMatches(presented, record.secretSha256)) {
        deps.logger.warn(
          { tenant: tenant.id, payer: payer.id, secret: presented ? 'unknown' : 'missing' },
          'PAS notification refused: its subscription secret is not the one kept',
        );
        throw unauthorized('Missing or unknown subscription secret', {
          realm: NOTIFY_REALM,
          ...(presented ? { invalidToken: true } : {}),
        });
      }
      const parsed = parsePasNotification(req.body);
      if (
        parsed.ok &&
        record.payerSubscriptionId &&
        parsed.subscription &&
        parsed.subscription !== record.payerSubscriptionId
      ) {
        deps.logger.warn(
          {
            tenant: tenant.id,
            payer: payer.id,
            subscription: parsed.subscription,
            expected: record.payerSubscriptionId,
          },
          'PAS notification refused: it names another subscription than its secret',
        );
        sendOutcome(
          res,
          403,
          outcome('forbidden', 'The notification names another subscription than its secret'),
        );
        return;
      }
      if (parsed.ok && existing) {
        await noteStatus(deps, tenant.id, payer, existing, recordedStatus(parsed.type, parsed.status));
      }
      const heardOf = parsed.ok ? (parsed.subscription ?? record.payerSubscriptionId) : undefined;
      /**
       * What the silence check (./subscription-check.ts) goes by: the payer spoke of it now; and
       * which events it counted that never came, queued to recover (./subscription-recovery.ts).
       * An event counts as received once it is queued. Not kept, it costs at most a `$status` the
       * payer need not have been asked, or a gap seen at the next notification instead: the
       * notification is taken all the same.
       */
      const noteHeard = async (): Promise<void> => {
        if (!parsed.ok || !heardOf) {
          return;
        }
        try {
          const contact = await noteContact(deps.store, tenant.id, payer.id, {
            subscription: heardOf,
            at: deps.now(),
            numbers: parsed.events.flatMap((e) => (e.number !== undefined ? [e.number] : [])),
            ...(parsed.eventsSinceStart !== undefined ? { reported: parsed.eventsSinceStart } : {}),
          });
          if (await scheduleRecovery(deps.store, tenant.id, payer.id, contact)) {
            deps.notify();
          }
        } catch (err) {
          deps.logger.warn(
            { tenant: tenant.id, payer: payer.id, subscription: heardOf, err: (err as Error).message },
            'PAS notification taken, its contact not kept',
          );
        }
      };
      // Ids and counts only: a notification's events carry PHI (the PAS Response Bundle).
      const logged = {
        tenant: tenant.id,
        payer: payer.id,
        ...(parsed.ok
          ? {
              subscription: parsed.subscription ?? record.payerSubscriptionId,
              type: parsed.type,
              ...(parsed.status ? { status: parsed.status } : {}),
              events: parsed.events.length,
            }
          : {}),
      };
      if (parsed.ok && (parsed.type === 'handshake' || parsed.type === 'heartbeat')) {
        await noteHeard();
        deps.logger.info(logged, 'PAS notification accepted');
        sendOutcome(res, 200, {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'information', code: 'informational', details: { text: 'accepted' } }],
        });
        return;
      }
      const text = JSON.stringify(req.body);
      const job = notificationJob(payer.id, {
        ...(parsed.ok && parsed.subscription ? { subscription: parsed.subscription } : {}),
        numbers: parsed.ok ? parsed.events.map((e) => e.number) : [],
        body: req.body as unknown,
        text,
      });
      // Kept before it is acknowledged: nothing answered 200 is ever lost, and a bad one is recorded too.
      await deps.store.jobs.enqueue(tenant.id, job);
      await noteHeard();
      deps.notify();
      if (!parsed.ok) {
        deps.logger.warn(logged, 'PAS notification not readable: kept for a work item, answered 400');
        sendOutcome(res, 400, outcome('invalid', parsed.reason));
        return;
      }
      deps.logger.info(logged, 'PAS notification accepted');
      sendOutcome(res, 200, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'information', code: 'informational', details: { text: 'accepted' } }],
      });
    },
  );
  return router;
}
