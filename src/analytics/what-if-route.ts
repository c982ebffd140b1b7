/**
 * `GET /api/analytics/what-if?encounter=|month=&mix=&contract=` (./what-if.ts): what the tenant's
 * claims of an encounter or a month would be allowed under its contracts now and under another
 * payer mix or contract terms. A bad or missing parameter: 400 OperationOutcome. Audited as a
 * search of the claims read (with their patients).
 */
import type { Request, Response } from 'express';
import { getAuthContext } from '../auth/bearer.ts';
import { OPERATION_NEEDS, requireScopes } from '../auth/disclosure.ts';
import type { TenantConfig } from '../config/config.ts';
import { patientsOfClaims, recordAccess } from '../fhir/audit-access.ts';
import { outcome, sendOutcome } from '../http/outcomes.ts';
import type { ReferenceRates } from '../remittance/contracts/references.ts';
import { WhatIfError } from '../remittance/contracts/what-if.ts';
import type { Store } from '../store/port.ts';
import type { AnalyticsService } from './service.ts';
import { parseWhatIfQuery, runWhatIf, WHAT_IF_PARAMETERS } from './what-if.ts';

export interface WhatIfRouteDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly service: Pick<AnalyticsService, 'reader'>;
  readonly references?: ReferenceRates;
  readonly tenants: () => readonly TenantConfig[];
  readonly publicUrl: string;
  readonly now: () => Date;
}

export function whatIfHandler(deps: WhatIfRouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const auth = getAuthContext(res);
    requireScopes(auth, OPERATION_NEEDS.whatIf);
    const known: readonly string[] = WHAT_IF_PARAMETERS;
    const unknown = Object.keys(req.query).filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      sendOutcome(
        res,
        400,
        outcome('not-supported', `Unknown parameter(s): ${unknown.join(', ')} (known: ${known.join(', ')})`),
      );
      return;
    }
    const raw: Record<string, string> = {};
    for (const name of known) {
      const value = req.query[name];
      if (value === undefined) {
        continue;
      }
      if (typeof value !== 'string') {
        sendOutcome(res, 400, outcome('invalid', `"${name}" is given once, as a plain value`, name));
        return;
      }
      raw[name] = value;
    }
    const tenant = deps.tenants().find((t) => t.id === auth.tenant);
    if (!tenant || !deps.references) {
      sendOutcome(res, 404, outcome('not-found', 'Unknown tenant'));
      return;
    }
    let result;
    try {
      result = await runWhatIf(
        { ...deps, references: deps.references },
        tenant,
        parseWhatIfQuery(raw, tenant),
      );
    } catch (err) {
      if (err instanceof WhatIfError) {
        sendOutcome(res, 400, outcome('invalid', err.message, err.parameter));
        return;
      }
      throw err;
    }
    await recordAccess(
      deps.store,
      auth.tenant,
      {
        clientId: auth.clientId,
        ...(typeof res.locals.requestId === 'string' ? { requestId: res.locals.requestId } : {}),
        interaction: 'search-type',
        resources: result.claimIds.map((id) => `Claim/${id}`),
        patients: await patientsOfClaims(deps.store, auth.tenant, result.claimIds),
        query: `api/analytics/what-if?${new URLSearchParams(raw).toString()}`,
      },
      { publicUrl: deps.publicUrl, now: deps.now() },
    );
    res.json(result);
  };
}
