/**
 * Remittance work queues over HTTP, mounted at `/api/remittance` beside the 835 intake (../routes.ts) (bearer-protected, SMART scopes
 * as the rest of /api: src/auth/disclosure.ts OPERATION_NEEDS; every read and change audited):
 *
 * - `GET /work-items[?queue=authorization&queue=…][&state=open…][&open=false]`: the work items
 *   (denials by category, underpayments), open ones by default, most dollars first, with counts
 *   and dollars per queue.
 * - `POST /work-items/{id}/assign` `{ "assignee": "...", "reason"?: "..." }`.
 * - `POST /work-items/{id}/correct` `{ "reason": "..." }`: the corrected claim goes (202).
 * - `POST /work-items/{id}/close` `{ "state": "upheld" | "written-off" | "recovered" | "accepted", "reason": "..." }`.
 * - `GET /underpayments`: open and closed underpayment items, and totals per payer and month.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import type { OperationOutcome, Task } from '@medplum/fhirtypes';
import { getAuthContext, requireBearer } from '../../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../../auth/disclosure.ts';
import type { TokenService } from '../../auth/token-service.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import { CS_WORK_ITEM } from '../../contract/canonical.ts';
import { recordAccess } from '../../fhir/audit-access.ts';
import { strictJsonBody } from '../../http/json-body.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { localDate } from '../../time/zone.ts';
import { round2 } from '../amounts.ts';
import type { WorkActionDeps, WorkActionInput, WorkActionResult } from './actions.ts';
import { assignWorkItem, closeWorkItem, correctWorkItem } from './actions.ts';
import type { WorkItemView } from './items.ts';
import { countsInTotals, workItemView } from './items.ts';

export interface WorkItemRoutesDeps extends WorkActionDeps {
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly tenants: () => readonly TenantConfig[];
}

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

const listOf = (raw: unknown): string[] =>
  (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .flatMap((s) => (typeof s === 'string' ? s.split(',') : []))
    .map((s) => s.trim())
    .filter((s) => s !== '');

export interface WorkItemList {
  readonly today: string;
  readonly counts: Readonly<Record<string, { readonly items: number; readonly dollars: number }>>;
  readonly items: readonly WorkItemView[];
}

/** The tenant's work items (also usable without HTTP: the CLI and sandbox:day). */
export async function listWorkItems(
  deps: Pick<WorkItemRoutesDeps, 'store' | 'tenants' | 'now'>,
  tenant: TenantId,
  filter: { queues?: readonly string[]; states?: readonly string[]; openOnly?: boolean; kind?: string } = {},
): Promise<WorkItemList> {
  const config = deps.tenants().find((t) => t.id === tenant);
  const today = localDate(deps.now(), config ? tenantCalendarZone(config) : 'UTC');
  const tasks = await searchAll<Task>(deps.store, tenant, 'Task', [
    {
      code: 'code',
      kind: 'token',
      values: (filter.kind ? [filter.kind] : ['denial', 'underpayment']).map((value) => ({
        system: CS_WORK_ITEM,
        value,
      })),
    },
  ]);
  const items = tasks
    .map((t) => workItemView(t, today))
    .filter((v): v is WorkItemView => v !== undefined)
    .filter((v) => !filter.queues?.length || filter.queues.includes(v.queue))
    .filter((v) => !filter.states?.length || filter.states.includes(v.state))
    .filter((v) => filter.openOnly === false || v.status !== 'completed')
    .sort((a, b) => b.dollarsAtStake - a.dollarsAtStake || a.id.localeCompare(b.id));
  const counts: Record<string, { items: number; dollars: number }> = {};
  for (const item of items) {
    const c = (counts[item.queue] ??= { items: 0, dollars: 0 });
    c.items += 1;
    c.dollars = round2(c.dollars + item.dollarsAtStake);
  }
  return { today, counts, items };
}

/**
 * Underpaid dollars per payer and month of the payer's decision (from the underpayment items; an
 * item superseded by a reversal is not counted: the replacing claim's item is).
 */
export function underpaymentTotals(
  items: readonly WorkItemView[],
): { payer: string; month: string; items: number; underpaid: number; open: number }[] {
  const totals = new Map<
    string,
    { payer: string; month: string; items: number; underpaid: number; open: number }
  >();
  for (const item of items.filter((i) => countsInTotals(i.state))) {
    const payer = item.payer ?? '?';
    const month = (item.decided ?? item.authoredOn ?? '').slice(0, 7);
    const key = `${payer}|${month}`;
    const t = totals.get(key) ?? { payer, month, items: 0, underpaid: 0, open: 0 };
    t.items += 1;
    t.underpaid = round2(t.underpaid + item.dollarsAtStake);
    t.open += item.status === 'completed' ? 0 : 1;
    totals.set(key, t);
  }
  return [...totals.values()].sort(
    (a, b) => a.payer.localeCompare(b.payer) || a.month.localeCompare(b.month),
  );
}

export const WORK_ITEM_ACTIONS = ['assign', 'correct', 'close'] as const;
export type WorkItemActionName = (typeof WORK_ITEM_ACTIONS)[number];

export type WorkItemActionAnswer =
  | { readonly status: number; readonly outcome: OperationOutcome }
  | { readonly status: number; readonly body: Readonly<Record<string, unknown>> };

/**
 * One work item action from its raw input (`POST /work-items/{id}/{name}`'s id and body), checked
 * and run: the answer to send. The billers' app (src/web) calls it too, so both check alike.
 */
export async function workItemAction(
  deps: Omit<WorkItemRoutesDeps, 'tokenService'>,
  name: WorkItemActionName,
  tenant: TenantId,
  rawId: unknown,
  rawBody: unknown,
  actor: { clientId: string; requestId?: string; user?: WorkActionInput['user'] },
): Promise<WorkItemActionAnswer> {
  const id = typeof rawId === 'string' ? rawId : '';
  if (!ID_RE.test(id)) {
    return { status: 400, outcome: outcome('invalid', 'Invalid work item id') };
  }
  const body = (
    rawBody !== null && typeof rawBody === 'object' && !Array.isArray(rawBody) ? rawBody : {}
  ) as Record<string, unknown>;
  const reasonRequired = name !== 'assign';
  const reason = body['reason'];
  if (
    (reason !== undefined || reasonRequired) &&
    (typeof reason !== 'string' || reason.trim().length < 3 || reason.length > 2000)
  ) {
    return {
      status: 400,
      outcome: outcome('required', `"reason" is ${reasonRequired ? 'required: ' : ''}3 to 2000 characters`),
    };
  }
  const input: WorkActionInput = { ...actor, reason: typeof reason === 'string' ? reason.trim() : '' };
  let result: WorkActionResult;
  if (name === 'assign') {
    const assignee = body['assignee'];
    if (typeof assignee !== 'string' || assignee.trim() === '' || assignee.length > 200) {
      return {
        status: 400,
        outcome: outcome('invalid', '"assignee" is required (a person or team, up to 200 characters)'),
      };
    }
    result = await assignWorkItem(deps, tenant, id, assignee.trim(), input);
  } else if (name === 'correct') {
    result = await correctWorkItem(deps, tenant, id, input);
  } else {
    const state = body['state'];
    if (typeof state !== 'string') {
      return {
        status: 400,
        outcome: outcome(
          'invalid',
          '"state" is required: upheld or written-off (a denial); recovered, accepted or written-off (an underpayment)',
        ),
      };
    }
    result = await closeWorkItem(deps, tenant, id, state, input);
  }
  if (result.status >= 400) {
    return {
      status: result.status,
      outcome: outcome(
        result.status === 404 ? 'not-found' : result.status === 409 ? 'conflict' : 'invalid',
        result.message,
      ),
    };
  }
  const config = deps.tenants().find((t) => t.id === tenant);
  const today = localDate(deps.now(), config ? tenantCalendarZone(config) : 'UTC');
  return {
    status: result.status,
    body: {
      message: result.message,
      ...(result.correctedClaim ? { correctedClaim: `Claim/${result.correctedClaim}` } : {}),
      ...(result.task ? { item: workItemView(result.task, today) } : {}),
    },
  };
}

export function createWorkItemRoutes(deps: WorkItemRoutesDeps): Router {
  const router = express.Router();
  router.use(requireBearer(deps.tokenService, { now: deps.now }));

  const audit = async (
    res: Response,
    tenant: TenantId,
    clientId: string,
    items: readonly WorkItemView[],
    query: string,
  ): Promise<void> => {
    await recordAccess(
      deps.store,
      tenant,
      {
        clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'search-type',
        resources: items.map((i) => `Task/${i.id}`),
        patients: [...new Set(items.flatMap((i) => (i.patient ? [i.patient] : [])))],
        query,
      },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );
  };

  router.get('/work-items', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.workItems);
    const queues = listOf(req.query['queue']);
    const states = listOf(req.query['state']);
    const openOnly = req.query['open'] !== 'false';
    const list = await listWorkItems(deps, auth.tenant, { queues, states, openOnly });
    await audit(
      res,
      auth.tenant,
      auth.clientId,
      list.items,
      `api/remittance/work-items${req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''}`,
    );
    res.json(list);
  });

  router.get('/underpayments', async (_req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.workItems);
    const list = await listWorkItems(deps, auth.tenant, { kind: 'underpayment', openOnly: false });
    await audit(res, auth.tenant, auth.clientId, list.items, 'api/remittance/underpayments');
    res.json({ today: list.today, totals: underpaymentTotals(list.items), items: list.items });
  });

  for (const name of WORK_ITEM_ACTIONS) {
    router.post(
      `/work-items/:id/${name}`,
      strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 }),
      async (req: Request, res: Response) => {
        const auth = getAuthContext(res);
        requireScopes(auth, OPERATION_NEEDS.workItemAction);
        const requestId = typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
        const answer = await workItemAction(deps, name, auth.tenant, req.params['id'], req.body, {
          clientId: auth.clientId,
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
  return router;
}
