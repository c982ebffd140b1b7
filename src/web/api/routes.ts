/**
 * The app's API at `/app/api`: the browser's session cookie instead of a bearer token, the
 * person's role instead of SMART scopes, and the tenant of the session for every read (another
 * tenant's claim is simply not found). Every read of PHI is audited with the person as the agent;
 * every action needs the session's CSRF token and goes through the same functions and input checks
 * as `/api/claims` (src/claims/routes.ts), so the app and the API cannot disagree.
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type { AnalyticsService } from '../../analytics/service.ts';
import type { TenantConfig } from '../../config/config.ts';
import { readAssignment, readClaimAction } from '../../claims/routes.ts';
import { assignClaimTask } from '../../claims/workflow/assign.ts';
import type { AssignResult } from '../../claims/workflow/assign.ts';
import type { ClaimWorkflowWorker } from '../../claims/workflow/worker.ts';
import type { ClaimContext } from '../../claims/types.ts';
import type { X12Envelope } from '../../claims/x12-routes.ts';
import { recordAccess } from '../../fhir/audit-access.ts';
import type { AuditedInteraction } from '../../fhir/audit.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { Logger } from '../../logger.ts';
import type { Store } from '../../store/port.ts';
import { kindFor, write837ToString } from '../../x12/837/write837.ts';
import { X12Error } from '../../x12/encode.ts';
import type { Permission } from '../roles.ts';
import { ROLE_PERMISSIONS, can } from '../roles.ts';
import { SESSION_COOKIE, readCookie, sameSecret } from '../security.ts';
import type { SessionStore, WebSession } from '../sessions.ts';
import { addAnalyticsRoutes } from './analytics.ts';
import { addAppealRoutes } from './appeals.ts';
import { addCoverageActionRoutes } from './coverage-actions.ts';
import { patientAudit } from './audit.ts';
import type { RecoveryApiDeps } from './recovery.ts';
import { addRecoveryRoutes } from './recovery.ts';
import { addStatementRoutes } from './statements.ts';
import { claimView } from './claim.ts';
import { encounterView } from './encounter.ts';
import { eobsOfClaim } from './eob-lines.ts';
import { pathId } from './path-params.ts';
import { workItems } from './worklist.ts';
import type { ClaimWithPayments } from '../view-types.ts';

export interface AppApiDeps {
  readonly store: Store;
  readonly publicUrl: string;
  readonly tenants: () => readonly TenantConfig[];
  readonly now: () => Date;
  readonly logger: Logger;
  readonly sessions: SessionStore;
  readonly workflow: Pick<ClaimWorkflowWorker, 'override' | 'resubmit'>;
  readonly x12: {
    readonly loadClaimContext: (tenant: string, claimId: string) => Promise<ClaimContext | undefined>;
    readonly envelope: (tenant: string, kind: '837P' | '837I', payer?: string) => Promise<X12Envelope>;
  };
  readonly clearSession: (res: Response) => void;
  /** The scrubber's prior authorization rule (the ledger's "given without one"). */
  readonly requirement: RecoveryApiDeps['requirement'];
  readonly eligibility: RecoveryApiDeps['eligibility'];
  /** Nudges the prior authorization worker after an order is queued. */
  readonly notifyPriorAuth: () => void;
  /** The revenue measures (the same service as `/api/analytics`). */
  readonly analytics: AnalyticsService;
}

/** The client id the app's audits name beside the person. */
export const APP_CLIENT_ID = 'dripline-app';
const MAX_BULK = 500;

const sessionOf = (res: Response): WebSession => res.locals.session as WebSession;

export function createAppApi(deps: AppApiDeps): Router {
  const router = express.Router();
  const tenantConfig = (session: WebSession): TenantConfig | undefined =>
    deps.tenants().find((t) => t.id === session.tenant);
  /** The person as an audit agent: their fhirUser as an absolute URL at their EHR, and their name. */
  const person = (session: WebSession): { reference: string; display: string } => ({
    reference: session.fhirUser.startsWith('http')
      ? session.fhirUser
      : `${session.iss.replace(/\/+$/, '')}/${session.fhirUser}`,
    display: session.name,
  });
  const requestIdOf = (res: Response): string | undefined =>
    typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;

  const audit = async (
    res: Response,
    interaction: AuditedInteraction,
    resources: readonly string[],
    patients: readonly string[],
    query?: string,
  ): Promise<void> => {
    const session = sessionOf(res);
    const requestId = requestIdOf(res);
    await recordAccess(
      deps.store,
      session.tenant,
      {
        clientId: APP_CLIENT_ID,
        user: person(session),
        interaction,
        resources,
        patients: patients.filter((p) => p.startsWith('Patient/')),
        ...(requestId ? { requestId } : {}),
        ...(query !== undefined ? { query } : {}),
      },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );
  };

  // A live session, else 401; an action also needs the CSRF token and a same-site request.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const session = deps.sessions.get(readCookie(req, SESSION_COOKIE));
    if (!session) {
      sendOutcome(res, 401, outcome('login', 'Your session has ended: open Dripline again from the EHR'));
      return;
    }
    res.locals.session = session;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const token = req.headers['x-csrf-token'];
      if (
        req.headers['sec-fetch-site'] === 'cross-site' ||
        typeof token !== 'string' ||
        !sameSecret(token, session.csrf)
      ) {
        deps.logger.warn(
          { event: 'app-action-refused', failure: 'csrf', tenant: session.tenant },
          'app action refused',
        );
        sendOutcome(res, 403, outcome('forbidden', 'The request lacks this session CSRF token'));
        return;
      }
    }
    next();
  });

  const allow =
    (permission: Permission) =>
    (_req: Request, res: Response, next: NextFunction): void => {
      const session = sessionOf(res);
      if (!can(session.role, permission)) {
        deps.logger.warn(
          {
            event: 'app-action-refused',
            failure: 'role',
            permission,
            role: session.role,
            tenant: session.tenant,
          },
          'app action refused',
        );
        sendOutcome(res, 403, outcome('forbidden', `Your role (${session.role}) does not allow this`));
        return;
      }
      next();
    };

  router.get('/session', (_req: Request, res: Response) => {
    const session = sessionOf(res);
    res.json({
      name: session.name,
      fhirUser: session.fhirUser,
      owner: person(session).reference,
      role: session.role,
      permissions: ROLE_PERMISSIONS[session.role],
      tenant: session.tenant,
      tenantName: tenantConfig(session)?.name ?? session.tenant,
      ...(session.patient ? { patient: session.patient } : {}),
      ...(session.encounter ? { encounter: session.encounter } : {}),
      csrf: session.csrf,
    });
  });

  router.post('/logout', (_req: Request, res: Response) => {
    deps.sessions.end(sessionOf(res).id);
    deps.clearSession(res);
    res.json({ signedOut: true });
  });

  router.get('/worklist', allow('read'), async (_req: Request, res: Response) => {
    const session = sessionOf(res);
    const items = await workItems(
      deps.store,
      session.tenant,
      tenantConfig(session) ?? { payers: [], coding: {} },
      deps.now(),
    );
    await audit(
      res,
      'search-type',
      items.map((i) => `Claim/${i.claim}`),
      items.map((i) => i.patient),
      'app/api/worklist',
    );
    res.json({ now: deps.now().toISOString(), items });
  });

  router.get('/encounters/:id', allow('read-encounter'), async (req: Request, res: Response) => {
    const id = pathId(req, res);
    if (id === undefined) {
      return;
    }
    const session = sessionOf(res);
    const view = await encounterView(
      deps.store,
      session.tenant,
      tenantConfig(session) ?? { payers: [], coding: {} },
      id,
      deps.now(),
    );
    if (!view) {
      sendOutcome(res, 404, outcome('not-found', `Encounter/${id} not found`));
      return;
    }
    await audit(
      res,
      'read',
      [
        `Encounter/${id}`,
        ...view.charges.map((c) => `ChargeItem/${c.id}`),
        ...view.claims.map((c) => `Claim/${c.id}`),
      ],
      [view.patient.reference],
    );
    res.json(view);
  });

  router.get('/claims/:id', allow('read'), async (req: Request, res: Response) => {
    const id = pathId(req, res);
    if (id === undefined) {
      return;
    }
    const session = sessionOf(res);
    const view = await claimView(deps.store, session.tenant, tenantConfig(session) ?? { payers: [] }, id);
    if (!view) {
      sendOutcome(res, 404, outcome('not-found', `Claim/${id} not found`));
      return;
    }
    const eobs = await eobsOfClaim(deps.store, session.tenant, id);
    await audit(
      res,
      'read',
      [`Claim/${id}`, ...eobs.map((e) => `ExplanationOfBenefit/${e.id}`)],
      [view.patient.reference],
    );
    res.json({ ...view, eobs } satisfies ClaimWithPayments);
  });

  router.get('/claims/:id/x12', allow('read'), async (req: Request, res: Response) => {
    const id = pathId(req, res);
    if (id === undefined) {
      return;
    }
    const session = sessionOf(res);
    const ctx = await deps.x12.loadClaimContext(session.tenant, id);
    if (!ctx) {
      sendOutcome(res, 404, outcome('not-found', `Claim/${id} not found`));
      return;
    }
    const kind = kindFor(ctx);
    try {
      const text = await write837ToString([ctx], {
        ...(await deps.x12.envelope(session.tenant, kind, ctx.payer.id)),
        kind,
        now: deps.now(),
      });
      await audit(res, 'operation', [`Claim/${id}`], [ctx.claim.patient.reference ?? ''], `Claim/${id}/$x12`);
      res.type('text/plain').send(text);
    } catch (err) {
      if (err instanceof X12Error) {
        sendOutcome(res, 422, outcome('business-rule', err.message, `Claim/${id}`));
        return;
      }
      throw err;
    }
  });

  router.get('/patients/:id/audit', allow('audit'), async (req: Request, res: Response) => {
    const id = pathId(req, res);
    if (id === undefined) {
      return;
    }
    const session = sessionOf(res);
    const entries = await patientAudit(deps.store, session.tenant, `Patient/${id}`);
    await audit(res, 'search-type', [], [`Patient/${id}`], `AuditEvent?patient=Patient/${id}`);
    res.json({ patient: `Patient/${id}`, entries });
  });

  const json = strictJsonBody({ maxBytes: 64 * 1024, maxDepth: 8 });

  addRecoveryRoutes(
    router,
    {
      store: deps.store,
      publicUrl: deps.publicUrl,
      tenants: deps.tenants,
      now: deps.now,
      requirement: deps.requirement,
      eligibility: deps.eligibility,
      resubmit: (tenant, claimId, input) => deps.workflow.resubmit(tenant, claimId, input),
    },
    { clientId: APP_CLIENT_ID, allow, sessionOf, person, requestIdOf, audit, json },
  );

  addAppealRoutes(
    router,
    { store: deps.store, publicUrl: deps.publicUrl, tenants: deps.tenants, now: deps.now },
    { clientId: APP_CLIENT_ID, allow, sessionOf, person, requestIdOf, audit, json },
  );

  addCoverageActionRoutes(
    router,
    {
      store: deps.store,
      publicUrl: deps.publicUrl,
      tenants: deps.tenants,
      now: deps.now,
      notifyPriorAuth: deps.notifyPriorAuth,
    },
    { clientId: APP_CLIENT_ID, allow, sessionOf, person, requestIdOf, audit, json },
  );

  addAnalyticsRoutes(
    router,
    { store: deps.store, tenants: deps.tenants, analytics: deps.analytics },
    { clientId: APP_CLIENT_ID, allow, sessionOf, person, requestIdOf, audit, json },
  );

  addStatementRoutes(
    router,
    { store: deps.store, tenants: deps.tenants, now: deps.now },
    { clientId: APP_CLIENT_ID, allow, sessionOf, person, requestIdOf, audit, json },
  );

  const claimAction = (name: 'override' | 'resubmit', permission: Permission): void => {
    router.post(`/claims/:id/${name}`, json, allow(permission), async (req: Request, res: Response) => {
      const input = readClaimAction(name, req.params['id'], req.body);
      if (!input.ok) {
        sendOutcome(res, 400, input.outcome);
        return;
      }
      const session = sessionOf(res);
      const requestId = requestIdOf(res);
      const result = await deps.workflow[name](session.tenant, input.claimId, {
        clientId: APP_CLIENT_ID,
        user: person(session),
        reason: input.reason,
        ...(requestId ? { requestId } : {}),
      });
      if (result.status >= 400) {
        sendOutcome(
          res,
          result.status,
          outcome(result.status === 404 ? 'not-found' : 'conflict', result.message, `Claim/${input.claimId}`),
        );
        return;
      }
      res
        .status(result.status)
        .json({ claim: input.claimId, ok: result.ok, state: result.state, message: result.message });
    });
  };
  claimAction('override', 'override');
  claimAction('resubmit', 'resubmit');

  const assign = async (
    res: Response,
    claimId: string,
    owner: { reference: string; display?: string },
  ): Promise<AssignResult> => {
    const session = sessionOf(res);
    const requestId = requestIdOf(res);
    return assignClaimTask(deps.store, session.tenant, claimId, {
      clientId: APP_CLIENT_ID,
      user: person(session),
      owner,
      publicUrl: deps.publicUrl,
      now: deps.now(),
      ...(requestId ? { requestId } : {}),
    });
  };

  router.post('/claims/:id/assign', json, allow('assign'), async (req: Request, res: Response) => {
    const input = readAssignment(req.params['id'], req.body);
    if (!input.ok) {
      sendOutcome(res, 400, input.outcome);
      return;
    }
    const result = await assign(res, input.claimId, input.owner);
    if (result.status !== 200) {
      sendOutcome(
        res,
        result.status,
        outcome(result.status === 404 ? 'not-found' : 'conflict', result.message),
      );
      return;
    }
    res.json(result);
  });

  /** Bulk assignment: every claim checked first; then each assigned, each answer reported. */
  router.post('/assign', json, allow('assign'), async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { claims?: unknown; owner?: unknown };
    const claims = body.claims;
    if (!Array.isArray(claims) || claims.length === 0 || claims.length > MAX_BULK) {
      sendOutcome(res, 400, outcome('invalid', `"claims" must list 1 to ${MAX_BULK} claim ids`));
      return;
    }
    const inputs = claims.map((id: unknown) => readAssignment(id, { owner: body.owner }));
    const bad = inputs.find((i) => !i.ok);
    if (bad && !bad.ok) {
      sendOutcome(res, 400, bad.outcome);
      return;
    }
    const results = [];
    for (const input of inputs) {
      if (input.ok) {
        const result = await assign(res, input.claimId, input.owner);
        results.push({
          claim: input.claimId,
          status: result.status,
          ...(result.status === 200 ? {} : { message: result.message }),
        });
      }
    }
    res.json({ results });
  });

  return router;
}
