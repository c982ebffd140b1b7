/**
 * `GET /api/analytics/denial-risk?claim={id}`: one claim's denial forecast (src/claims/risk/):
 * the risk, each line's probability with the counts at every level of the model, the top reasons
 * (CARCs) and, when the tenant holds claims above a threshold, whether this one would be held.
 * The model is counted from the tenant's history as stored now. No `claim`, another parameter, or
 * a repeated one: 400; a claim the tenant does not have: 404. Audited as a read of the claim.
 */
import type { Claim } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import { getAuthContext } from '../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../auth/disclosure.ts';
import { EXT_CLAIM_PAYER } from '../contract/canonical.ts';
import { scoreClaim } from '../claims/risk/denial-model.ts';
import { describeRisk, scoredLinesOf } from '../claims/risk/findings.ts';
import { recordAccess } from '../fhir/audit-access.ts';
import { outcome, sendOutcome } from '../http/outcomes.ts';
import { readOptional } from '../store/read-optional.ts';
import type { TenantConfig } from '../config/config.ts';
import type { Store } from '../store/port.ts';
import type { AnalyticsService } from './service.ts';

export interface DenialRiskDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly service: Pick<AnalyticsService, 'denialModel'>;
  readonly tenants: () => readonly TenantConfig[];
  readonly publicUrl: string;
  readonly now: () => Date;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function denialRiskHandler(deps: DenialRiskDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.denialRisk);
    const unknown = Object.keys(req.query).filter((name) => name !== 'claim');
    if (unknown.length > 0) {
      sendOutcome(
        res,
        400,
        outcome('not-supported', `Unknown parameter(s): ${unknown.join(', ')} (known: claim)`),
      );
      return;
    }
    const claimId = req.query['claim'];
    if (typeof claimId !== 'string' || !ID.test(claimId)) {
      sendOutcome(res, 400, outcome('required', '"claim" is required once: the id of a Claim', 'claim'));
      return;
    }
    const tenant = deps.tenants().find((t) => t.id === auth.tenant);
    if (!tenant) {
      sendOutcome(res, 404, outcome('not-found', 'Unknown tenant'));
      return;
    }
    const claim = await readOptional<Claim>(deps.store, auth.tenant, 'Claim', claimId);
    if (!claim) {
      sendOutcome(res, 404, outcome('not-found', `Claim/${claimId} not found`));
      return;
    }
    const payer = claim.extension?.find((e) => e.url === EXT_CLAIM_PAYER)?.valueString;
    if (!payer) {
      sendOutcome(res, 422, outcome('business-rule', `Claim/${claimId} names no payer Dripline bills`));
      return;
    }
    const model = await deps.service.denialModel(tenant, { fresh: true });
    const risk = scoreClaim(model, { payer, lines: scoredLinesOf(claim) });
    const holdAbove = tenant.denialRisk?.holdAbove;
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'read',
        resources: [`Claim/${claimId}`],
        patients: claim.patient?.reference ? [claim.patient.reference] : [],
      },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );
    res.json({
      claim: claimId,
      payer,
      historyLines: model.all.lines,
      priorWeight: model.priorWeight,
      ...(holdAbove !== undefined ? { holdAbove } : {}),
      ...(risk
        ? {
            risk: risk.risk,
            held: holdAbove !== undefined && risk.risk > holdAbove,
            summary: describeRisk(risk),
            reasons: risk.reasons,
            lines: risk.lines,
          }
        : { risk: null, held: false, summary: 'No adjudicated history yet: the claim is not scored.' }),
    });
  };
}
