/**
 * The remittance HTTP API, mounted at `/api/remittance` (bearer-protected, SMART scopes):
 *
 * - `POST /835`, body the 835 exactly as the payer sent it (`application/edi-x12`, `text/plain`
 *   or `application/octet-stream`; any delimiters its ISA declares): streamed to the intake
 *   (./intake.ts), never held in memory whole. Answers with the report (per transaction set: its
 *   verdict, the payer and trace, claims and amounts, the findings naming rule, segment and
 *   position):
 *   - 202: something is to be posted (the posting job runs next; the DocumentReference is named);
 *   - 200: everything in it was received before (the same payer, trace and amounts): nothing changes;
 *   - 422: every transaction set was rejected (balancing, bad amounts or dates, another payee...);
 *   - 400: not well-formed X12, or its envelopes do not check out: nothing was kept;
 *   - 413: larger than the limit; 415: another content type.
 *   Every 4xx is an OperationOutcome whose issues name the rule, the segment and its position.
 * - `POST /unmatched/{task}/match`, body `{ "claim": "<Claim id>" }`: a payment no claim matched
 *   (the Task of the unmatched queue) posted onto that claim (./manual-match.ts): 200 with what
 *   was posted (the same again: the same answer); 404 no such task; 409 matched to another claim
 *   already, or the claim cannot take the payment (its state, paid by this remittance already);
 *   422 no such claim; 400 bad JSON or no claim named.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { getAuthContext, requireBearer } from '../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../auth/disclosure.ts';
import type { TokenService } from '../auth/token-service.ts';
import { strictJsonBody } from '../http/json-body.ts';
import { outcome, sendOutcome } from '../http/outcomes.ts';
import type { Finding835 } from '../x12/835/types.ts';
import type { IntakeDeps, RemittanceReport } from './intake.ts';
import { receiveRemittance, RemittanceTooLargeError } from './intake.ts';
import type { ManualMatchDeps } from './manual-match.ts';
import { matchUnmatchedPayment } from './manual-match.ts';

export interface RemittanceRoutesDeps {
  readonly intake: IntakeDeps;
  /** Posting a manually matched payment (the posting worker's context). */
  readonly matching: ManualMatchDeps;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  readonly now?: () => Date;
}

const ACCEPTED_TYPES = ['application/edi-x12', 'text/plain', 'application/octet-stream'];

function issueOf(finding: Finding835, transaction?: number): OperationOutcomeIssue {
  const where = [
    transaction !== undefined ? `transaction set ${transaction}` : undefined,
    finding.segment !== undefined
      ? `segment ${finding.segment}${finding.segmentId ? ` (${finding.segmentId})` : ''}`
      : undefined,
    finding.element,
  ].filter((w): w is string => w !== undefined);
  return {
    severity: finding.severity,
    code: finding.rule.startsWith('balance') || finding.rule === 'conflict' ? 'business-rule' : 'invalid',
    details: { coding: [{ code: finding.rule }], text: finding.message },
    diagnostics: `${finding.rule}: ${finding.message}${finding.amounts ? ` ${JSON.stringify(finding.amounts)}` : ''}`,
    ...(where.length > 0 ? { expression: [where.join(' / ')] } : {}),
  };
}

/** The OperationOutcome of a refused or rejected remittance: one issue per error finding. */
export function remittanceOutcome(report: RemittanceReport): OperationOutcome {
  const issues = report.refused
    ? [issueOf(report.refused)]
    : report.transactions.flatMap((t) =>
        t.findings.filter((f) => f.severity === 'error').map((f) => issueOf(f, t.transaction)),
      );
  return {
    resourceType: 'OperationOutcome',
    issue:
      issues.length > 0 ? issues : [{ severity: 'error', code: 'invalid', diagnostics: 'Nothing to post' }],
  };
}

export function createRemittanceRoutes(deps: RemittanceRoutesDeps): Router {
  const router = express.Router();
  const now = deps.now ?? ((): Date => new Date());
  router.use(requireBearer(deps.tokenService, { now }));

  router.post('/835', async (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.remittanceReceive);
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!ACCEPTED_TYPES.includes(type)) {
      res.setHeader('Connection', 'close');
      sendOutcome(res, 415, outcome('not-supported', `An 835 is sent as ${ACCEPTED_TYPES.join(', ')}`));
      return;
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > deps.intake.maxBytes) {
      res.setHeader('Connection', 'close');
      sendOutcome(
        res,
        413,
        outcome('too-costly', `The remittance is larger than ${deps.intake.maxBytes} bytes`),
      );
      return;
    }
    const name = typeof req.query['name'] === 'string' ? req.query['name'].slice(0, 200) : undefined;
    let result: Awaited<ReturnType<typeof receiveRemittance>>;
    try {
      result = await receiveRemittance(deps.intake, auth.tenant, req, {
        source: `api:${auth.clientId}`,
        ...(name ? { name } : {}),
      });
    } catch (err) {
      if (err instanceof RemittanceTooLargeError) {
        res.setHeader('Connection', 'close');
        sendOutcome(res, 413, outcome('too-costly', err.message));
        return;
      }
      throw err;
    }
    switch (result.outcome) {
      case 'accepted':
        res.status(202).json({
          outcome: 'accepted',
          document: `DocumentReference/${result.document}`,
          report: result.report,
        });
        return;
      case 'duplicate':
        res.status(200).json({ outcome: 'duplicate', report: result.report });
        return;
      case 'rejected':
        sendOutcome(res, 422, remittanceOutcome(result.report));
        return;
      case 'refused':
        sendOutcome(res, 400, remittanceOutcome(result.report));
        return;
    }
  });

  router.post(
    '/unmatched/:task/match',
    strictJsonBody({ maxBytes: 16 * 1024, maxDepth: 4 }),
    async (req: Request, res: Response) => {
      const auth = getAuthContext(res);
      requireScopes(auth, OPERATION_NEEDS.unmatchedMatch);
      const answer = await matchUnmatchedPayment(deps.matching, auth.tenant, req.params['task'], req.body, {
        clientId: auth.clientId,
      });
      if ('outcome' in answer) {
        sendOutcome(res, answer.status, answer.outcome);
        return;
      }
      res.status(answer.status).json(answer.body);
    },
  );
  return router;
}
