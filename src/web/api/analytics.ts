/**
 * The analytics view's data, over the same service as `/api/analytics/{measure}`
 * (src/analytics/routes.ts, ./service.ts): the same range checks, the same measures, the same
 * facts.
 *
 * - `GET /analytics/revenue?from=&to=`: the revenue measures the view charts, sliced by payer, in one
 *   read of the facts.
 * - `GET /analytics/claims?measure=&from=&to=&slice=&part=`: the claims behind one bar
 *   (src/analytics/drill.ts), each with what it adds to the figure.
 *
 * Both audited as searches with the person as the agent (the claim list names its claims and their
 * patients).
 */
import type { Request, Response, Router } from 'express';
import { claimsBehind, MAX_CLAIMS_BEHIND } from '../../analytics/drill.ts';
import type { MeasureName } from '../../analytics/measures.ts';
import { isMeasureName } from '../../analytics/measures.ts';
import { AnalyticsQueryError, parseMeasureQuery } from '../../analytics/query.ts';
import type { AnalyticsService } from '../../analytics/service.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import { patientsOfClaims } from '../../fhir/audit-access.ts';
import { outcome, sendOutcome } from '../../http/outcomes.ts';
import type { Store } from '../../store/port.ts';
import type { AppApiKit } from './recovery.ts';

export interface AnalyticsApiDeps {
  readonly store: Store;
  readonly tenants: () => readonly TenantConfig[];
  readonly analytics: AnalyticsService;
}

/** What the view charts (the work waiting it draws from the worklist). */
export const REVENUE_MEASURES: readonly MeasureName[] = [
  'clean-claim-rate',
  'denial-rate',
  'first-pass-resolution-rate',
  'net-collection-rate',
  'days-in-ar',
  'ar-aging',
  'underpayments',
  'appeals',
  'authorizations',
];

const SLICE_RE = /^[A-Za-z0-9 _\-.|/:]{1,100}$/;

/** The single string value of each named parameter; a 400 for others or repeated ones. */
function params(req: Request, res: Response, names: readonly string[]): Record<string, string> | undefined {
  const unknown = Object.keys(req.query).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    sendOutcome(res, 400, outcome('not-supported', `Unknown parameter(s): ${unknown.join(', ')}`));
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = req.query[name];
    if (value === undefined || value === '') {
      continue;
    }
    if (typeof value !== 'string') {
      sendOutcome(res, 400, outcome('invalid', `"${name}" is given once, as a plain value`, name));
      return undefined;
    }
    out[name] = value;
  }
  return out;
}

export function addAnalyticsRoutes(router: Router, deps: AnalyticsApiDeps, kit: AppApiKit): void {
  const tenantOf = (res: Response): TenantConfig | undefined => {
    const session = kit.sessionOf(res);
    const tenant = deps.tenants().find((t) => t.id === session.tenant);
    if (!tenant) {
      sendOutcome(res, 404, outcome('not-found', 'Unknown tenant'));
    }
    return tenant;
  };

  router.get('/analytics/revenue', kit.allow('read'), async (req: Request, res: Response) => {
    const query = params(req, res, ['from', 'to']);
    const tenant = query && tenantOf(res);
    if (!query || !tenant) {
      return;
    }
    let measures;
    try {
      measures = await deps.analytics.measures(tenant, REVENUE_MEASURES, { ...query, by: 'payer' });
    } catch (err) {
      if (err instanceof AnalyticsQueryError) {
        sendOutcome(res, 400, outcome('invalid', err.message, err.parameter));
        return;
      }
      throw err;
    }
    await kit.audit(
      res,
      'search-type',
      [],
      [],
      `app/api/analytics/revenue?${new URLSearchParams(query).toString()}`,
    );
    const [first] = measures;
    res.json({
      from: first?.from,
      to: first?.to,
      today: deps.analytics.today(tenant),
      payers: Object.fromEntries(tenant.payers.map((p) => [p.id, p.name])),
      measures,
    });
  });

  router.get('/analytics/claims', kit.allow('read'), async (req: Request, res: Response) => {
    const query = params(req, res, ['measure', 'from', 'to', 'slice', 'part']);
    if (!query) {
      return;
    }
    const measure = query['measure'] ?? '';
    if (!isMeasureName(measure)) {
      sendOutcome(
        res,
        400,
        outcome('invalid', `"measure" is one of: ${REVENUE_MEASURES.join(', ')}`, 'measure'),
      );
      return;
    }
    const slice = query['slice'] ?? 'all';
    const part = query['part'];
    if (!SLICE_RE.test(slice) || (part !== undefined && !SLICE_RE.test(part))) {
      sendOutcome(res, 400, outcome('invalid', '"slice" and "part" are short plain values'));
      return;
    }
    const tenant = tenantOf(res);
    if (!tenant) {
      return;
    }
    let claims;
    let range;
    try {
      range = parseMeasureQuery(
        {
          ...(query['from'] ? { from: query['from'] } : {}),
          ...(query['to'] ? { to: query['to'] } : {}),
          by: measure === 'drug-units' ? 'drug' : 'payer',
        },
        deps.analytics.today(tenant),
      );
      const data = await deps.analytics.reader.data(tenant.id, tenantCalendarZone(tenant));
      claims = claimsBehind(data, measure, { ...range, slice, ...(part ? { part } : {}) });
    } catch (err) {
      if (err instanceof AnalyticsQueryError) {
        sendOutcome(res, 400, outcome('invalid', err.message, err.parameter));
        return;
      }
      throw err;
    }
    const ids = claims.map((c) => c.claim);
    await kit.audit(
      res,
      'search-type',
      ids.map((id) => `Claim/${id}`),
      await patientsOfClaims(deps.store, tenant.id, ids),
      `app/api/analytics/claims?${new URLSearchParams(query).toString()}`,
    );
    res.json({
      measure,
      from: range.from,
      to: range.to,
      slice,
      ...(part ? { part } : {}),
      limit: MAX_CLAIMS_BEHIND,
      payers: Object.fromEntries(tenant.payers.map((p) => [p.id, p.name])),
      claims,
    });
  });
}
