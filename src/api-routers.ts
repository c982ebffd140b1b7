/**
 * The billing staff's and partners' APIs under /api (eligibility, claims, coverage and estimates,
 * remittance, work items, appeals, statements, analytics) as the routers src/server.ts mounts.
 * Each route module is imported on its route's first request (src/http/lazy-router.ts): most
 * starts never serve most of them.
 */
import type { RequestHandler } from 'express';
import type { AnalyticsService } from './analytics/service.ts';
import type { TokenService } from './auth/token-service.ts';
import { loadChargemaster } from './claims/chargemaster.ts';
import { withBillHolds } from './claims/workflow/ledger-bill-holds.ts';
import type { ClaimWorkflowWorker } from './claims/workflow/worker.ts';
import type { X12RouterDeps } from './claims/x12-routes.ts';
import type { CodingTables } from './coding/tables/types.ts';
import type { TenantConfig } from './config/config.ts';
import type { EligibilityWorker } from './coverage/eligibility/worker.ts';
import type { AllowedAmountsFor } from './coverage/estimate/inputs.ts';
import type { AuthorizationRequirement } from './coverage/ledger-alerts.ts';
import { lazyRouter } from './http/lazy-router.ts';
import { expectedAllowed } from './remittance/contracts/expected.ts';
import type { WorkEngineDeps } from './remittance/work/engine.ts';
import { tenantContracts } from './remittance/work/engine.ts';
import type { Remittance } from './remittance/wiring.ts';
import type { Store } from './store/port.ts';
import type { Clock } from './time/clock.ts';

export interface ApiRouterDeps {
  readonly store: Store;
  readonly tokenService: TokenService;
  readonly publicUrl: string;
  readonly dataDir: string;
  readonly now: Clock;
  /** The tenants with their payers (the in-process sandbox adds its payers at run time). */
  readonly tenants: () => readonly TenantConfig[];
  readonly tables: CodingTables;
  /** The scrubber's prior authorization rule, as the authorization ledger asks it. */
  readonly requirement: (tenant: TenantConfig) => AuthorizationRequirement;
  readonly eligibility: EligibilityWorker;
  readonly claims: ClaimWorkflowWorker;
  readonly x12: X12RouterDeps;
  readonly analytics: AnalyticsService;
  readonly remittance: Remittance;
  /** Contract pricing and its reference rates (src/remittance/work/engine.ts). */
  readonly remittanceWork: WorkEngineDeps;
}

/**
 * A patient estimate prices a line by the payer's contract when one prices it (remittance's
 * expectedAllowed), else by the tenant's chargemaster (its gross charge, named as such).
 */
function allowedAmounts(references: WorkEngineDeps['references']): AllowedAmountsFor {
  return (tenant, payer) => (line) => {
    const expected = expectedAllowed({
      contracts: tenantContracts(tenant),
      payer: payer.id,
      line,
      references,
    });
    if (expected) {
      return {
        amount: expected.amount,
        source: `contract "${expected.contract.id}" term "${expected.term.id}" (${expected.term.description}): ${expected.basis}`,
      };
    }
    const chargemaster = tenant.chargemasterFile
      ? loadChargemaster(tenant.chargemasterFile)
      : loadChargemaster();
    return {
      amount: chargemaster.priceOf(line.code, line.units),
      source: `chargemaster ${tenant.chargemasterFile ? 'of the tenant' : '(shipped defaults)'}: ${chargemaster.unitPrice(line.code)} per unit × ${line.units} (no payer contract prices ${line.code})`,
    };
  };
}

export function apiRouters(deps: ApiRouterDeps): { path: string; router: RequestHandler }[] {
  const { store, tokenService, publicUrl, now, tenants } = deps;
  return [
    {
      path: '/api/eligibility',
      router: lazyRouter(async () =>
        (await import('./coverage/eligibility/routes.ts')).createEligibilityRoutes({
          store,
          tokenService,
          worker: deps.eligibility,
          publicUrl,
          now,
        }),
      ),
    },
    {
      path: '/api/claims',
      router: lazyRouter(async () =>
        (await import('./claims/routes.ts')).createClaimRoutes({
          store,
          tokenService,
          workflow: deps.claims,
          publicUrl,
          now,
          x12Batches: { x12: deps.x12, workflow: deps.claims, tenants, now },
        }),
      ),
    },
    {
      path: '/api/coverage',
      router: lazyRouter(async () =>
        (await import('./coverage/ledger-routes.ts')).createCoverageRoutes({
          store,
          tokenService,
          tenants,
          requirement: deps.requirement,
          billHolds: (tenant, report, at) => withBillHolds(store, tenant.id, tenant, report, at),
          publicUrl,
          now,
        }),
      ),
    },
    {
      path: '/api/coverage',
      router: lazyRouter(async () =>
        (await import('./coverage/estimate/routes.ts')).createEstimateRoutes({
          store,
          tokenService,
          tenants,
          tables: deps.tables,
          allowedAmounts: allowedAmounts(deps.remittanceWork.references),
          publicUrl,
          now,
        }),
      ),
    },
    { path: '/api/remittance', router: deps.remittance.router },
    {
      path: '/api/analytics',
      router: lazyRouter(async () =>
        (await import('./analytics/routes.ts')).createAnalyticsRoutes({
          store,
          service: deps.analytics,
          references: deps.remittanceWork.references,
          tokenService,
          tenants,
          publicUrl,
          now,
        }),
      ),
    },
    {
      path: '/api/remittance',
      router: lazyRouter(async () =>
        (await import('./remittance/work/routes.ts')).createWorkItemRoutes({
          store,
          tokenService,
          publicUrl,
          now,
          tenants,
          resubmit: (tenant, claimId, input) => deps.claims.resubmit(tenant, claimId, input),
        }),
      ),
    },
    {
      path: '/api/remittance',
      router: lazyRouter(async () =>
        (await import('./remittance/appeals/routes.ts')).createAppealRoutes({
          store,
          tokenService,
          publicUrl,
          now,
          tenants,
        }),
      ),
    },
    {
      path: '/api/remittance',
      router: lazyRouter(async () =>
        (await import('./remittance/statements/routes.ts')).createStatementRoutes({
          store,
          tokenService,
          publicUrl,
          now,
          tenants,
          dataDir: deps.dataDir,
        }),
      ),
    },
  ];
}
