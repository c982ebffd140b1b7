/**
 * X12 export over HTTP (mounted by the FHIR routes behind the bearer check):
 *
 *   GET /Claim/{id}/$x12[?kind=837P|837I]      one claim as a whole interchange
 *   GET /Claim/$x12?kind=837P|837I[&payer=slug][&state=ready][&id=a,b,...]
 *                                             a batch: every listed claim of that kind, streamed
 *
 * Both answer `Content-Type: application/edi-x12`. A single claim that cannot be rendered answers
 * 422 with an OperationOutcome. A batch first tries every listed claim (one at a time, nothing
 * kept): when any cannot be rendered the answer is 422 with an OperationOutcome naming each of them
 * and why, so no claim is ever left out silently. Otherwise it streams claim by claim (contexts
 * loaded lazily); claims of the other kind, or gone, are named in the `X-Dripline-Skipped-Claims`
 * header (`id:reason` pairs, comma-separated; also sent as a trailer, which adds any claim that
 * changed and became unrenderable while streaming); if nothing could be listed at all the answer
 * is 404.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import type { Request, Response } from 'express';
import { getAuthContext } from '../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../auth/disclosure.ts';
import type { ScopeNeed } from '../auth/disclosure.ts';
import { outcome, sendOutcome } from '../http/outcomes.ts';
import { X12Error } from '../x12/encode.ts';
import { UsageAmbiguousError } from '../x12/interchange.ts';
import { transactionSegments } from '../x12/837/transaction.ts';
import type { Write837Options, X12Kind, X12Party } from '../x12/837/types.ts';
import { kindFor, write837, write837ToString } from '../x12/837/write837.ts';
import type { ClaimContext, ClaimState } from './types.ts';
import { EDI_X12 } from '../x12/interchange.ts';

export { EDI_X12 };

export interface X12BatchFilter {
  readonly kind: X12Kind;
  /** PayerEndpoint.id (slug). */
  readonly payer?: string;
  readonly state?: ClaimState;
  readonly ids?: readonly string[];
}

/** The envelope of one interchange; control numbers must be fresh for each call. */
export interface X12Envelope {
  readonly sender: Write837Options['sender'];
  readonly receiver: X12Party;
  readonly controlNumbers: { readonly isa: number; readonly gs: number };
  readonly usage: 'T' | 'P';
}

export interface X12RouterDeps {
  /** The claim and everything it needs, or undefined when the tenant has no such claim. */
  readonly loadClaimContext: (tenant: string, claimId: string) => Promise<ClaimContext | undefined>;
  readonly listClaimIds: (tenant: string, filter: X12BatchFilter) => Promise<readonly string[]>;
  /**
   * Submitter / receiver, the next interchange and group control numbers of the tenant, and the
   * usage (ISA15) of the payer's connection — or, without a payer, the one all its payers share
   * (UsageAmbiguousError otherwise).
   */
  readonly envelope: (tenant: string, kind: X12Kind, payer?: string) => Promise<X12Envelope>;
  /**
   * Default: the bearer's tenant, after checking its scopes allow what the export discloses
   * (src/auth/disclosure.ts: read on every type an 837 carries; search on Claim for a batch).
   */
  readonly authorize?: (req: Request, res: Response, needs: readonly ScopeNeed[]) => string;
  readonly now?: () => Date;
  /**
   * Records the read of these claims (PHI) before the X12 leaves: the client, the claims and their
   * patients. Required in production wiring (src/claims/x12-wiring.ts).
   */
  readonly audit?: (
    tenant: string,
    access: { clientId: string; requestId?: string; claimIds: readonly string[]; query: string },
  ) => Promise<void>;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

function defaultAuthorize(_req: Request, res: Response, needs: readonly ScopeNeed[]): string {
  const auth = getAuthContext(res);
  requireScopes(auth, needs);
  return auth.tenant;
}

function parseKind(value: unknown): X12Kind | undefined | 'invalid' {
  if (value === undefined) {
    return undefined;
  }
  return value === '837P' || value === '837I' ? value : 'invalid';
}

/** The client (and request) an audit names. */
function who(res: Response): { clientId: string; requestId?: string } {
  const requestId = typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
  return { clientId: getAuthContext(res).clientId, ...(requestId ? { requestId } : {}) };
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function createX12Router(deps: X12RouterDeps): Router {
  const authorize = deps.authorize ?? defaultAuthorize;
  const now = deps.now ?? (() => new Date());
  const router = Router();

  router.get('/Claim/:id/$x12', async (req, res) => {
    const tenant = authorize(req, res, OPERATION_NEEDS.x12Claim);
    const claimId = req.params.id;
    const kindParam = parseKind(req.query['kind']);
    if (!ID.test(claimId) || kindParam === 'invalid') {
      sendOutcome(
        res,
        400,
        outcome('invalid', 'Expected a Claim id and, optionally, kind=837P or kind=837I'),
      );
      return;
    }
    const ctx = await deps.loadClaimContext(tenant, claimId);
    if (!ctx) {
      sendOutcome(res, 404, outcome('not-found', `Claim/${claimId} not found`));
      return;
    }
    const kind = kindParam ?? kindFor(ctx);
    const envelope = await deps.envelope(tenant, kind, ctx.payer.id);
    try {
      const body = await write837ToString([ctx], { ...envelope, kind, now: now() });
      await deps.audit?.(tenant, {
        ...who(res),
        claimIds: [claimId],
        query: `Claim/${claimId}/$x12${kindParam ? `?kind=${kindParam}` : ''}`,
      });
      res
        .status(200)
        .type(EDI_X12)
        .set('Content-Disposition', `attachment; filename="claim-${claimId}.x12"`)
        .send(body);
    } catch (e) {
      if (e instanceof X12Error) {
        sendOutcome(res, 422, outcome('business-rule', e.message, `Claim/${claimId}`));
        return;
      }
      throw e;
    }
  });

  router.get('/Claim/$x12', async (req, res) => {
    const tenant = authorize(req, res, OPERATION_NEEDS.x12Batch);
    const kind = parseKind(req.query['kind']);
    const payer = single(req.query['payer']);
    const state = single(req.query['state']);
    const idsParam = single(req.query['id']);
    const ids = idsParam?.split(',').filter((s) => s.length > 0);
    if (kind === undefined || kind === 'invalid' || (ids && !ids.every((i) => ID.test(i)))) {
      sendOutcome(
        res,
        400,
        outcome('invalid', 'A batch export needs kind=837P or kind=837I (and valid ids)'),
      );
      return;
    }
    const claimIds = await deps.listClaimIds(tenant, {
      kind,
      ...(payer ? { payer } : {}),
      ...(state ? { state: state as ClaimState } : {}),
      ...(ids ? { ids } : {}),
    });
    if (claimIds.length === 0) {
      sendOutcome(res, 404, outcome('not-found', 'No claims match the batch filter'));
      return;
    }
    await deps.audit?.(tenant, {
      ...who(res),
      claimIds,
      query: `Claim/$x12?${new URLSearchParams(
        Object.entries({ kind, payer, state, id: idsParam }).filter(
          (e): e is [string, string] => e[1] !== undefined,
        ),
      ).toString()}`,
    });
    let envelope: X12Envelope;
    try {
      envelope = await deps.envelope(tenant, kind, payer);
    } catch (e) {
      if (e instanceof UsageAmbiguousError) {
        sendOutcome(res, 400, outcome('invalid', e.message));
        return;
      }
      throw e;
    }
    const at = now();
    // Every listed claim is tried first: one that cannot be rendered stops the export with its
    // reason, so a batch never leaves a claim out silently.
    const skipped: string[] = [];
    const skip = (id: string, reason: string): void => {
      skipped.push(`${id}:${reason}`);
    };
    const invalid: { id: string; reason: string }[] = [];
    for (const id of claimIds) {
      const ctx = await deps.loadClaimContext(tenant, id);
      if (!ctx) {
        skip(id, 'not-found');
      } else if (kindFor(ctx) !== kind) {
        skip(id, 'other-kind');
      } else {
        try {
          transactionSegments(ctx, '0001', { ...envelope, kind, now: at });
        } catch (e) {
          if (!(e instanceof X12Error)) {
            throw e;
          }
          invalid.push({ id, reason: e.message });
        }
      }
    }
    if (invalid.length > 0) {
      sendOutcome(res, 422, {
        resourceType: 'OperationOutcome',
        issue: invalid.map(({ id, reason }) => ({
          severity: 'error',
          code: 'business-rule',
          details: { text: reason },
          diagnostics: `Claim/${id} cannot be rendered as X12: fix it, or leave it out of the batch (id=...)`,
          expression: [`Claim/${id}`],
        })),
      });
      return;
    }
    const rendered = new Set(skipped.map((s) => s.split(':')[0]));
    async function* contexts(): AsyncGenerator<ClaimContext> {
      for (const id of claimIds) {
        if (rendered.has(id)) {
          continue;
        }
        const ctx = await deps.loadClaimContext(tenant, id);
        if (!ctx) {
          skip(id, 'not-found');
        } else if (kindFor(ctx) !== kind) {
          skip(id, 'other-kind');
        } else {
          yield ctx;
        }
      }
    }
    const listed = skipped.join(',');
    const stream = Readable.from(
      write837(contexts(), {
        ...envelope,
        kind,
        now: at,
        chunkSize: 64 * 1024,
        // Only when a claim changed between the check above and now.
        onError: (id) => skip(id, 'invalid'),
      }),
    );
    res
      .status(200)
      .type(EDI_X12)
      .set('Content-Disposition', `attachment; filename="claims-${envelope.controlNumbers.isa}.x12"`)
      .set('X-Dripline-Skipped-Claims', listed)
      .set('Trailer', 'X-Dripline-Skipped-Claims');
    stream.on('end', () => {
      res.addTrailers({ 'X-Dripline-Skipped-Claims': skipped.join(',') });
    });
    await pipeline(stream, res);
  });

  return router;
}
