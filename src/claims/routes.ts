/**
 * Claim work queue HTTP API, for the lead to mount at `/api/claims` (bearer-protected, SMART scopes):
 *
 * Scopes: what each route discloses (src/auth/disclosure.ts, OPERATION_NEEDS).
 *
 * - `GET /worklist[?state=held&state=...]` (`system/Claim.rs system/Task.rs`): "what is waiting, on whom,
 *   for how long" — counts by state, and per state the claims with their age (now − the last
 *   state change), payer, patient, and the open Task (id, owner, status) when there is one.
 * - `POST /:claimId/override` (`system/Claim.u`), body `{ "reason": "..." }`: re-scrubs the
 *   held claim and releases it to `ready` when every remaining error is overridable; an
 *   AuditEvent names the client and the reason. 409 otherwise, an OperationOutcome whose issues
 *   name the blocking findings (actionOutcome; findingsOfOutcome reads them back).
 * - `POST /:claimId/resubmit` (`system/Claim.u`), body `{ "reason": "..." }`: a rejected claim
 *   is rebuilt from the current charges, scrubbed and (when clean) sent under a new submission key
 *   (200 with the state it reached); a claim left `submitting` after its attempts ran out gets a new
 *   attempt, which asks the payer first (202). 409 in any other state. Audited like an override.
 * - `POST /x12-batches` (`system/Claim.rus system/DocumentReference.c`), body `{ "payer": "<payer id>", "kind": "837P" |
 *   "837I" }`: the ready claims of an X12-channel payer become one 837 file, kept as a
 *   DocumentReference, and move to `submitted` (201 with the batch and its claims; src/claims/x12-batch.ts).
 * - `POST /:claimId/assign` (`system/Task.ru`), body `{ "owner": { "reference", "display"? } }`: the
 *   claim's open work item (Task) gets that owner (audited; 404 without one, 409 when it is closed).
 * - `GET /x12-batches/{id}` (read on DocumentReference and on every type an 837 carries): the batch file again, byte for byte (audited).
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import type { Claim, DocumentReference, OperationOutcome, Task } from '@medplum/fhirtypes';
import { patientsOfClaims, recordAccess } from '../fhir/audit-access.ts';
import { getAuthContext, requireBearer } from '../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../auth/disclosure.ts';
import type { TokenService } from '../auth/token-service.ts';
import { strictJsonBody } from '../http/json-body.ts';
import { outcome, sendOutcome } from '../http/outcomes.ts';
import type { Store, StoredResource, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import type { ClaimState, ScrubFinding } from './types.ts';
import { batchFileOf, createX12Batch } from './x12-batch.ts';
import type { X12BatchDeps } from './x12-batch.ts';
import { EDI_X12 } from './x12-routes.ts';
import { assignClaimTask } from './workflow/assign.ts';
import { claimPayerOf } from './workflow/identity.ts';
import { claimStateOf, claimStateSince } from './workflow/state.ts';
import { claimTaskId, findingInput, findingsOfTask } from './workflow/tasks.ts';
import type { ClaimWorkflowWorker } from './workflow/worker.ts';

export interface ClaimRoutesDeps {
  readonly store: Store;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly workflow: Pick<ClaimWorkflowWorker, 'override' | 'resubmit'>;
  /** X12 batch hand-over (absent: the x12-batches routes answer 404). */
  readonly x12Batches?: X12BatchDeps;
  readonly publicUrl?: string;
  readonly now?: () => Date;
}

export interface WorklistEntry {
  readonly claim: string;
  readonly state: ClaimState | 'untracked';
  readonly since?: string;
  readonly ageSeconds?: number;
  readonly payer?: string;
  readonly patient?: string;
  readonly total?: number;
  readonly task?: {
    readonly id: string;
    readonly status: string;
    readonly owner?: string;
    readonly focus?: string;
  };
}

export interface Worklist {
  readonly now: string;
  readonly counts: Readonly<Record<string, number>>;
  /** Per state, oldest first. */
  readonly byState: Readonly<Record<string, readonly WorklistEntry[]>>;
}

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/** The worklist of a tenant (also usable without HTTP). */
export async function claimWorklist(
  store: Store,
  tenant: TenantId,
  now: Date,
  states?: readonly string[],
): Promise<Worklist> {
  const claims = await searchAll<Claim>(
    store,
    tenant,
    'Claim',
    states && states.length > 0
      ? [{ code: 'claim-state', kind: 'token', values: states.map((value) => ({ value })) }]
      : [],
  );
  const tasks = new Map<string, Task & StoredResource>();
  const open = await searchAll<Task>(store, tenant, 'Task', [
    { code: 'status', kind: 'token', values: [{ value: 'completed' }, { value: 'cancelled' }], not: true },
  ]);
  for (const task of open) {
    const focus = task.focus?.reference;
    if (focus?.startsWith('Claim/')) {
      tasks.set(focus.slice('Claim/'.length), task);
    }
  }
  const byState: Record<string, WorklistEntry[]> = {};
  const counts: Record<string, number> = {};
  for (const claim of claims) {
    const state = claimStateOf(claim) ?? 'untracked';
    if (states && states.length > 0 && !states.includes(state)) {
      continue;
    }
    const since = claimStateSince(claim);
    const sinceMs = since ? Date.parse(since) : Number.NaN;
    const task = tasks.get(claim.id) ?? undefined;
    const payer = claimPayerOf(claim);
    const entry: WorklistEntry = {
      claim: `Claim/${claim.id}`,
      state,
      ...(since ? { since } : {}),
      ...(Number.isFinite(sinceMs)
        ? { ageSeconds: Math.max(0, Math.round((now.getTime() - sinceMs) / 1000)) }
        : {}),
      ...(payer ? { payer } : {}),
      ...(claim.patient?.reference ? { patient: claim.patient.reference } : {}),
      ...(claim.total?.value !== undefined ? { total: claim.total.value } : {}),
      ...(task
        ? {
            task: {
              id: `Task/${task.id}`,
              status: task.status,
              ...(task.owner?.reference || task.owner?.display
                ? { owner: task.owner.reference ?? task.owner.display ?? '' }
                : {}),
              ...(task.focus?.reference ? { focus: task.focus.reference } : {}),
            },
          }
        : {}),
    };
    (byState[state] ??= []).push(entry);
    counts[state] = (counts[state] ?? 0) + 1;
  }
  for (const list of Object.values(byState)) {
    list.sort((a, b) => (b.ageSeconds ?? 0) - (a.ageSeconds ?? 0));
  }
  return { now: now.toISOString(), counts, byState };
}

interface ActionResult {
  readonly status: number;
  readonly ok: boolean;
  readonly state?: ClaimState;
  readonly message: string;
  readonly blocking?: readonly ScrubFinding[];
}

/** A refused action as an OperationOutcome: why, then one issue per blocking scrub finding. */
export function actionOutcome(claimId: string, result: ActionResult): OperationOutcome {
  const code = result.status === 404 ? 'not-found' : result.status === 409 ? 'conflict' : 'business-rule';
  return {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code, details: { text: result.message }, expression: [`Claim/${claimId}`] },
      ...(result.blocking ?? []).map((finding) => {
        const input = findingInput(finding);
        return {
          severity: 'error' as const,
          code: 'business-rule' as const,
          details: { ...input.type, text: finding.message },
          diagnostics: input.valueString ?? finding.message,
          ...(input.extension ? { extension: input.extension } : {}),
        };
      }),
    ],
  };
}

/** The scrub findings an action's OperationOutcome names (inverse of actionOutcome's issues). */
export function findingsOfOutcome(outcome: OperationOutcome): ScrubFinding[] {
  return findingsOfTask({
    resourceType: 'Task',
    status: 'ready',
    intent: 'order',
    input: (outcome.issue ?? []).flatMap((issue) =>
      issue.extension ? [{ type: {}, valueString: issue.diagnostics ?? '', extension: issue.extension }] : [],
    ),
  });
}

/**
 * The input of a person's action on one claim, checked the same way for every caller (this API,
 * the billers' app): a claim id and a reason of 3 to 2000 characters.
 */
export function readClaimAction(
  name: string,
  rawId: unknown,
  body: unknown,
): { ok: true; claimId: string; reason: string } | { ok: false; outcome: OperationOutcome } {
  const claimId = typeof rawId === 'string' ? rawId : '';
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  if (!ID_RE.test(claimId)) {
    return { ok: false, outcome: outcome('invalid', 'Invalid claim id') };
  }
  if (typeof reason !== 'string' || reason.trim().length < 3 || reason.length > 2000) {
    return { ok: false, outcome: outcome('required', `A ${name} needs a reason (3 to 2000 characters)`) };
  }
  return { ok: true, claimId, reason: reason.trim() };
}

/**
 * The input of an assignment: a claim id and an owner, a FHIR reference (`Practitioner/123`, or an
 * absolute URL to the person at their EHR) with an optional name to show.
 */
export function readAssignment(
  rawId: unknown,
  body: unknown,
):
  | { ok: true; claimId: string; owner: { reference: string; display?: string } }
  | { ok: false; outcome: OperationOutcome } {
  const claimId = typeof rawId === 'string' ? rawId : '';
  const owner = (body as { owner?: unknown } | undefined)?.owner as
    { reference?: unknown; display?: unknown } | undefined;
  if (!ID_RE.test(claimId)) {
    return { ok: false, outcome: outcome('invalid', 'Invalid claim id') };
  }
  const reference = owner?.reference;
  const display = owner?.display;
  if (
    typeof reference !== 'string' ||
    !/^([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}|https?:\/\/\S{1,500})$/.test(reference) ||
    (display !== undefined && (typeof display !== 'string' || display.length > 200))
  ) {
    return {
      ok: false,
      outcome: outcome(
        'required',
        'An assignment needs "owner": { "reference": "Practitioner/…", "display"? }',
      ),
    };
  }
  return {
    ok: true,
    claimId,
    owner: { reference, ...(typeof display === 'string' && display !== '' ? { display } : {}) },
  };
}

export function createClaimRoutes(deps: ClaimRoutesDeps): Router {
  const router = express.Router();
  const now = deps.now ?? ((): Date => new Date());
  router.use(requireBearer(deps.tokenService, { now }));

  router.get('/worklist', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.worklist);
    const raw = req.query['state'];
    const states = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
      .flatMap((s) => (typeof s === 'string' ? s.split(',') : []))
      .filter((s) => s !== '');
    const worklist = await claimWorklist(deps.store, auth.tenant, now(), states);
    // The worklist names claims, patients and amounts: its read is audited like a FHIR search.
    const entries = Object.values(worklist.byState).flat();
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'search-type',
        resources: entries.map((e) => e.claim),
        patients: [...new Set(entries.flatMap((e) => (e.patient ? [e.patient] : [])))],
        query: `api/claims/worklist${states.length > 0 ? `?state=${states.join(',')}` : ''}`,
      },
      { publicUrl: deps.publicUrl ?? '', now: now() },
    );
    res.json(worklist);
  });

  /** A person's action on one claim: the id and a reason, checked; 400 with an OperationOutcome otherwise. */
  const action = (
    name: string,
    run: (
      tenant: TenantId,
      claimId: string,
      input: { clientId: string; reason: string; requestId?: string },
    ) => Promise<ActionResult>,
  ): void => {
    router.post(
      `/:claimId/${name}`,
      strictJsonBody({ maxBytes: 64 * 1024, maxDepth: 8 }),
      async (req: Request, res: Response) => {
        const auth = getAuthContext(res);
        requireScopes(auth, OPERATION_NEEDS.claimAction);
        const input = readClaimAction(name, req.params['claimId'], req.body);
        if (!input.ok) {
          sendOutcome(res, 400, input.outcome);
          return;
        }
        const { claimId, reason } = input;
        const requestId = typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
        const result = await run(auth.tenant, claimId, {
          clientId: auth.clientId,
          reason,
          ...(requestId ? { requestId } : {}),
        });
        if (result.status >= 400) {
          // Refusals are OperationOutcomes like every other 4xx; the findings that block an override
          // are issues of their own (the Task's finding extension: rule, fix, overridable).
          sendOutcome(res, result.status, actionOutcome(claimId, result));
          return;
        }
        res.status(result.status).json({
          claim: `Claim/${claimId}`,
          task: `Task/${claimTaskId(claimId)}`,
          ok: result.ok,
          ...(result.state ? { state: result.state } : {}),
          message: result.message,
        });
      },
    );
  };
  router.post(
    '/x12-batches',
    strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 }),
    async (req: Request, res: Response) => {
      const auth = getAuthContext(res);
      requireScopes(auth, OPERATION_NEEDS.x12BatchCreate);
      const body = (req.body ?? {}) as { payer?: unknown; kind?: unknown };
      const kind = body.kind ?? '837P';
      if (typeof body.payer !== 'string' || !ID_RE.test(body.payer) || (kind !== '837P' && kind !== '837I')) {
        sendOutcome(
          res,
          400,
          outcome('invalid', 'A batch needs "payer" (a payer id) and "kind" 837P or 837I'),
        );
        return;
      }
      if (!deps.x12Batches) {
        sendOutcome(res, 404, outcome('not-found', 'X12 batches are not enabled'));
        return;
      }
      const result = await createX12Batch(deps.x12Batches, auth.tenant, {
        payer: body.payer,
        kind,
        clientId: auth.clientId,
      });
      if (!result.ok) {
        sendOutcome(
          res,
          result.status,
          outcome(result.status === 404 ? 'not-found' : 'business-rule', result.message),
        );
        return;
      }
      const id = result.document.split('/')[1] ?? '';
      res
        .status(201)
        .location(`${deps.publicUrl ?? ''}/api/claims/x12-batches/${id}`)
        .json({ ...result, file: `/api/claims/x12-batches/${id}` });
    },
  );

  router.get('/x12-batches/:id', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.x12BatchFile);
    const id = typeof req.params['id'] === 'string' ? req.params['id'] : '';
    if (!ID_RE.test(id)) {
      sendOutcome(res, 400, outcome('invalid', 'Invalid batch id'));
      return;
    }
    let document: DocumentReference | undefined;
    try {
      document = (await deps.store.resources.read(auth.tenant, 'DocumentReference', id)) as DocumentReference;
    } catch (err) {
      if ((err as { outcome?: { id?: string } }).outcome?.id !== 'not-found') {
        throw err;
      }
    }
    const file = document ? batchFileOf(document) : undefined;
    if (!document || !file) {
      sendOutcome(res, 404, outcome('not-found', `X12 batch ${id} not found`));
      return;
    }
    // The file names patients: its read is audited like any PHI read.
    const claimRefs = (document.context?.related ?? []).flatMap((r) => (r.reference ? [r.reference] : []));
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'read',
        resources: [`DocumentReference/${id}`, ...claimRefs],
        patients: await patientsOfClaims(
          deps.store,
          auth.tenant,
          claimRefs.filter((r) => r.startsWith('Claim/')).map((r) => r.slice('Claim/'.length)),
        ),
      },
      { publicUrl: deps.publicUrl ?? '', now: now() },
    );
    res
      .status(200)
      .type(EDI_X12)
      .set('Content-Disposition', `attachment; filename="${file.title.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
      .send(file.text);
  });

  router.post(
    '/:claimId/assign',
    strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 }),
    async (req: Request, res: Response) => {
      const auth = getAuthContext(res);
      requireScopes(auth, OPERATION_NEEDS.taskAssign);
      const input = readAssignment(req.params['claimId'], req.body);
      if (!input.ok) {
        sendOutcome(res, 400, input.outcome);
        return;
      }
      const requestId = typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
      const result = await assignClaimTask(deps.store, auth.tenant, input.claimId, {
        clientId: auth.clientId,
        owner: input.owner,
        publicUrl: deps.publicUrl ?? '',
        now: now(),
        ...(requestId ? { requestId } : {}),
      });
      if (result.status !== 200) {
        sendOutcome(
          res,
          result.status,
          outcome(result.status === 404 ? 'not-found' : 'conflict', result.message),
        );
        return;
      }
      res.json(result);
    },
  );

  action('override', (tenant, id, input) => deps.workflow.override(tenant, id, input));
  action('resubmit', (tenant, id, input) => deps.workflow.resubmit(tenant, id, input));
  return router;
}
