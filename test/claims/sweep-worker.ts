/**
 * A claim workflow worker for the billing-sweep tests (ingest-wait, sweep-building): one office
 * tenant in New York with the fixtures' provider and a commercial payer, on the test's store and
 * clock. A new one is what a (re)started process makes: its first sweep is a full scan.
 */
import { buildClaim } from '../../src/claims/build.ts';
import { scrubClaim } from '../../src/claims/scrub.ts';
import { ClaimWorkflowWorker } from '../../src/claims/workflow/worker.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { Store } from '../../src/store/port.ts';
import { payer, PROVIDER } from './fixtures.ts';

const tables = loadCodingTables();

export function sweepWorker(
  store: Store,
  tenant: string,
  now: () => Date,
  holdMs: number,
): ClaimWorkflowWorker {
  const config: TenantConfig = {
    id: tenant,
    name: tenant,
    timeZone: 'America/New_York',
    connections: [],
    coding: {},
    billing: PROVIDER,
    payers: [payer('commercial')],
  };
  return new ClaimWorkflowWorker({
    store,
    tables,
    logger: createLogger('silent'),
    publicUrl: 'http://dripline.test',
    tenants: [config],
    buildClaim,
    scrubClaim: (ctx, t) => scrubClaim(ctx, t),
    now,
    holdMs,
  });
}
