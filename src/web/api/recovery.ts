/**
 * The app's queues of money the payers did not pay (denials by category, underpayments) and a
 * patient's prior authorizations and eligibility, over the same functions as the bearer APIs
 * (`/api/remittance/work-items`, `/underpayments`: src/remittance/work/routes.ts;
 * `/api/coverage/authorizations`: src/coverage/ledger-routes.ts; `/api/eligibility/Patient/{id}`:
 * src/coverage/eligibility/routes.ts), so the app and the CLI and API clients read the same
 * answers and an action is checked by the same code (`workItemAction`). The person is the agent of
 * every audit.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import type { TenantConfig } from '../../config/config.ts';
import type { AuthorizationRequirement } from '../../coverage/ledger-alerts.ts';
import { loadLedgerReport } from '../../coverage/ledger-report.ts';
import { latestAnswers } from '../../coverage/eligibility/records.ts';
import type { EligibilityRoutesDeps } from '../../coverage/eligibility/routes.ts';
import type { AuditedInteraction } from '../../fhir/audit.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import { carcInfo, rarcInfo } from '../../remittance/codes.ts';
import type { WorkActionDeps } from '../../remittance/work/actions.ts';
import type { WorkItemView } from '../../remittance/work/items.ts';
import { listWorkItems, underpaymentTotals, workItemAction } from '../../remittance/work/routes.ts';
import type { Store } from '../../store/port.ts';
import type { Permission } from '../roles.ts';
import type { WebSession } from '../sessions.ts';
import { withBillHolds } from '../../claims/workflow/ledger-bill-holds.ts';
import { patientNames } from './lookup.ts';
import { existingPatient } from './path-params.ts';

export interface RecoveryApiDeps {
  readonly store: Store;
  readonly publicUrl: string;
  readonly tenants: () => readonly TenantConfig[];
  readonly now: () => Date;
  /** The scrubber's prior authorization rule, for the ledger's "given without one". */
  readonly requirement: (tenant: TenantConfig) => AuthorizationRequirement;
  /** The claim workflow's resubmit (a rejected claim of a work item is sent again). */
  readonly resubmit: WorkActionDeps['resubmit'];
  /** The eligibility worker's ask, as `POST /api/eligibility/check` uses it. */
  readonly eligibility: EligibilityRoutesDeps['worker'];
}

/** What the app API's routes share (src/web/api/routes.ts makes them). */
export interface AppApiKit {
  readonly clientId: string;
  allow(permission: Permission): RequestHandler;
  sessionOf(res: Response): WebSession;
  person(session: WebSession): { reference: string; display: string };
  requestIdOf(res: Response): string | undefined;
  audit(
    res: Response,
    interaction: AuditedInteraction,
    resources: readonly string[],
    patients: readonly string[],
    query?: string,
  ): Promise<void>;
  readonly json: RequestHandler;
}

const queuesOf = (raw: unknown): string[] =>
  (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .flatMap((s) => (typeof s === 'string' ? s.split(',') : []))
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Who may act on a work item: reassigning is assigning; correcting sends a claim again. */
const ACTION_PERMISSION: Readonly<Record<'assign' | 'correct', Permission>> = {
  assign: 'assign',
  correct: 'resubmit',
};

/**
 * The payer's reason codes of an item ("CO-197, N54") in words, from the CARC and RARC tables with
 * our own labels (src/remittance/codes.ts): "CO-197: <label>", "N54: <label>".
 */
export function reasonWords(reasons: string): string[] {
  return reasons
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '')
    .map((code) => {
      const carc = /^[A-Z]{2}-([A-Z0-9]{1,5})$/.exec(code);
      const label = carc ? carcInfo(carc[1] ?? '').label : rarcInfo(code).label;
      return label ? `${code}: ${label}` : code;
    });
}

const withWords = (item: WorkItemView): WorkItemView & { reasonWords: string[] } => ({
  ...item,
  reasonWords: reasonWords(item.reasons),
});

export function addRecoveryRoutes(router: Router, deps: RecoveryApiDeps, kit: AppApiKit): void {
  const names = async (tenant: string, patients: Iterable<string>): Promise<Record<string, string>> =>
    Object.fromEntries(await patientNames(deps.store, tenant, patients));

  router.get('/work-items', kit.allow('read'), async (req: Request, res: Response) => {
    const session = kit.sessionOf(res);
    const list = await listWorkItems(deps, session.tenant, {
      queues: queuesOf(req.query['queue']),
      openOnly: true,
    });
    const patients = [...new Set(list.items.flatMap((i) => (i.patient ? [i.patient] : [])))];
    await kit.audit(
      res,
      'search-type',
      list.items.map((i) => `Task/${i.id}`),
      patients,
      'app/api/work-items',
    );
    res.json({
      ...list,
      items: list.items.map(withWords),
      patientNames: await names(session.tenant, patients),
    });
  });

  router.get('/underpayments', kit.allow('read'), async (_req: Request, res: Response) => {
    const session = kit.sessionOf(res);
    const list = await listWorkItems(deps, session.tenant, { kind: 'underpayment', openOnly: false });
    const patients = [...new Set(list.items.flatMap((i) => (i.patient ? [i.patient] : [])))];
    await kit.audit(
      res,
      'search-type',
      list.items.map((i) => `Task/${i.id}`),
      patients,
      'app/api/underpayments',
    );
    res.json({
      today: list.today,
      totals: underpaymentTotals(list.items),
      items: list.items.map(withWords),
      patientNames: await names(session.tenant, patients),
    });
  });

  for (const name of ['assign', 'correct'] as const) {
    router.post(
      `/work-items/:id/${name}`,
      kit.json,
      kit.allow(ACTION_PERMISSION[name]),
      async (req: Request, res: Response) => {
        const session = kit.sessionOf(res);
        const requestId = kit.requestIdOf(res);
        const answer = await workItemAction(deps, name, session.tenant, req.params['id'], req.body, {
          clientId: kit.clientId,
          user: kit.person(session),
          ...(requestId ? { requestId } : {}),
        });
        if ('outcome' in answer) {
          sendOutcome(res, answer.status, answer.outcome);
          return;
        }
        res.status(answer.status).json(answer.body);
      },
    );
  }

  /**
   * A patient's prior authorizations (the ledger: used vs authorized, expiry; each charge no claim
   * bills yet with its bill hold, when one keeps it) and eligibility.
   */
  router.get('/patients/:id/coverage', kit.allow('read'), async (req: Request, res: Response) => {
    const session = kit.sessionOf(res);
    const config = deps.tenants().find((t) => t.id === session.tenant);
    const found = await existingPatient(req, res, deps.store, session.tenant);
    if (found === undefined) {
      return;
    }
    const { id, reference: patient } = found;
    if (!config) {
      sendOutcome(res, 404, outcome('not-found', `${patient} not found`));
      return;
    }
    const now = deps.now();
    const ledger = await loadLedgerReport(deps.store, config, patient, now, deps.requirement(config));
    // Each charge no claim bills yet says whether the bill hold keeps it, as the encounter view does.
    const { report, read: encounters } = await withBillHolds(
      deps.store,
      session.tenant,
      config,
      ledger.report,
      now,
    );
    const read = [...new Set([...ledger.read, ...encounters])];
    const answers = await latestAnswers(deps.store, session.tenant, patient);
    const eligibility = [...answers.entries()].map(([coverage, { summary }]) => ({
      coverage,
      ...summary,
    }));
    await kit.audit(
      res,
      'search-type',
      [...read, ...eligibility.map((e) => e.response)],
      [patient],
      `app/api/patients/${id}/coverage`,
    );
    res.json({
      ...report,
      name: (await names(session.tenant, [patient]))[patient] ?? patient,
      eligibility,
      // The tenant's payers, for recording an authorization by hand.
      payers: config.payers.map((p) => ({ id: p.id, name: p.name })),
    });
  });

  /**
   * Ask every payer of the patient about their coverage now (as `POST /api/eligibility/check`:
   * the same worker, the same wait); 200 with what each payer said, or 202 while they answer.
   */
  router.post(
    '/patients/:id/eligibility',
    kit.json,
    kit.allow('request-coverage'),
    async (req: Request, res: Response) => {
      const session = kit.sessionOf(res);
      const found = await existingPatient(req, res, deps.store, session.tenant);
      if (found === undefined) {
        return;
      }
      const { id, reference: patient } = found;
      const { jobId, result } = await deps.eligibility.ask(
        session.tenant,
        patient,
        `asked by ${kit.person(session).display} in the billers' app`,
        10_000,
      );
      if (!result) {
        res.status(202).json({ patient, job: jobId, done: false });
        return;
      }
      await kit.audit(
        res,
        'operation',
        result.outcomes.flatMap((o) => [o.request, o.response].filter((r): r is string => r !== undefined)),
        [patient],
        `app/api/patients/${id}/eligibility`,
      );
      res.json({ job: jobId, done: true, ...result });
    },
  );
}
