/**
 * A claim workflow worker for the claims tests that drive it directly (sweeps, the claim's time
 * zone, corrected-claim settings): an office tenant with the fixtures' provider and a commercial
 * payer unless told otherwise, on the test's store and clock. A new one is what a (re)started
 * process makes: its first sweep is a full scan.
 */
import { buildClaim } from '../../src/claims/build.ts';
import { scrubClaim } from '../../src/claims/scrub.ts';
import { ClaimWorkflowWorker } from '../../src/claims/workflow/worker.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import type { PayerEndpoint } from '../../src/config/billing.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { Store } from '../../src/store/port.ts';
import { payer, PROVIDER } from './fixtures.ts';

const tables = loadCodingTables();

/**
 * An office tenant: New York unless `timeZone` says another zone or `null` (none configured); a
 * bill hold of `billHoldHours` when given.
 */
export function officeTenant(
  id: string,
  options: { timeZone?: string | null; payers?: PayerEndpoint[]; billHoldHours?: number } = {},
): TenantConfig {
  const timeZone = options.timeZone === undefined ? 'America/New_York' : options.timeZone;
  return {
    id,
    name: id,
    ...(timeZone !== null ? { timeZone } : {}),
    connections: [],
    coding: {},
    billing: PROVIDER,
    payers: options.payers ?? [payer('commercial')],
    ...(options.billHoldHours !== undefined ? { billHold: { hours: options.billHoldHours } } : {}),
  };
}

export function sweepWorker(
  store: Store,
  tenant: string | TenantConfig | readonly TenantConfig[],
  now: () => Date,
  holdMs?: number,
): ClaimWorkflowWorker {
  return new ClaimWorkflowWorker({
    store,
    tables,
    logger: createLogger('silent'),
    publicUrl: 'http://dripline.test',
    tenants: typeof tenant === 'string' ? [officeTenant(tenant)] : 'id' in tenant ? [tenant] : tenant,
    buildClaim,
    scrubClaim: (ctx, t) => scrubClaim(ctx, t),
    now,
    ...(holdMs !== undefined ? { holdMs } : {}),
  });
}
