/**
 * `what-if [--tenant <id>] (--encounter <id> | --month <YYYY-MM>) [--mix payer:share,...]
 * [--contract payer:contractId,...] [--json]`: what the tenant's claims of an encounter or a month
 * would be allowed under its contracts now and under the scenario, as
 * `GET /api/analytics/what-if` answers it (src/analytics/what-if.ts). Read from the configured
 * store; audited with the operator's user name. A bad option is a usage error (exit 2).
 */
import { AnalyticsService } from '../analytics/service.ts';
import { parseWhatIfQuery, runWhatIf } from '../analytics/what-if.ts';
import { loadCodingTables } from '../coding/tables/load.ts';
import type { DriplineConfig } from '../config/config.ts';
import { patientsOfClaims } from '../fhir/audit-access.ts';
import { createReferenceRates } from '../remittance/contracts/references.ts';
import type { PayerAmount, WhatIfResult } from '../remittance/contracts/what-if.ts';
import { WhatIfError } from '../remittance/contracts/what-if.ts';
import type { Store } from '../store/port.ts';
import type { Clock } from '../time/clock.ts';
import { UsageError } from './client-command.ts';
import { parseOptionsOnly } from './args.ts';
import { recordOperatorAccess } from './operator-access.ts';

export const WHAT_IF_USAGE =
  'Usage: npm run cli -- what-if [--tenant <id>] (--encounter <id> | --month <YYYY-MM>) [--mix payer:share,...] [--contract payer:contractId,...] [--json]';

export interface WhatIfArgs {
  readonly tenant?: string;
  readonly query: Readonly<Record<string, string>>;
  readonly json: boolean;
}

export function parseWhatIfArgs(argv: readonly string[]): WhatIfArgs {
  const values = parseOptionsOnly(
    argv,
    {
      tenant: { type: 'string' },
      encounter: { type: 'string' },
      month: { type: 'string' },
      mix: { type: 'string' },
      contract: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    WHAT_IF_USAGE,
    'what-if',
  );
  const query: Record<string, string> = {};
  for (const name of ['encounter', 'month', 'mix', 'contract'] as const) {
    const value = values[name];
    if (value !== undefined) {
      query[name] = value;
    }
  }
  return { ...(values.tenant ? { tenant: values.tenant } : {}), query, json: values.json ?? false };
}

export async function runWhatIfCommand(
  args: WhatIfArgs,
  config: DriplineConfig,
  store: Store,
  clock: Clock,
): Promise<WhatIfResult & { claimIds: string[] }> {
  const tenants = config.tenants.filter((t) => args.tenant === undefined || t.id === args.tenant);
  const [tenant, ...others] = tenants;
  if (!tenant || others.length > 0) {
    throw new UsageError(
      `${args.tenant === undefined ? '--tenant is needed' : `unknown tenant "${args.tenant}"`}; configured tenants: ${config.tenants.map((t) => t.id).join(', ') || '(none)'}`,
    );
  }
  let result;
  try {
    result = await runWhatIf(
      {
        store,
        service: new AnalyticsService({ store, now: clock }),
        references: createReferenceRates(loadCodingTables().cms),
      },
      tenant,
      parseWhatIfQuery(args.query, tenant),
    );
  } catch (err) {
    if (err instanceof WhatIfError) {
      throw new UsageError(`--${err.parameter}: ${err.message}`);
    }
    throw err;
  }
  const patients = await patientsOfClaims(store, tenant.id, result.claimIds);
  await recordOperatorAccess(store, config, tenant.id, clock(), {
    interaction: 'search-type',
    resources: result.claimIds.map((id) => `Claim/${id}`),
    patients,
    query: `cli what-if ${new URLSearchParams(args.query).toString()}`,
  });
  return result;
}

const usd = (x: number): string =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

const payers = (rows: readonly PayerAmount[]): string =>
  rows
    .map(
      (p) =>
        `${p.payer} ${(p.share * 100).toFixed(1)} % ${usd(p.allowed)}${p.notPriced ? ` (${p.notPriced} not priced)` : ''}`,
    )
    .join('; ');

/** The what-if as a few lines of text. */
export function formatWhatIf(result: WhatIfResult): string {
  return [
    `${result.claims} claim(s), ${result.lines} line(s), billed ${usd(result.billed)}`,
    `as contracted now: allowed ${usd(result.current.allowed)} — ${payers(result.current.byPayer)}`,
    `under the scenario: allowed ${usd(result.scenario.allowed)} — ${payers(result.scenario.byPayer)}`,
    `difference: ${result.difference >= 0 ? '+' : '−'}${usd(Math.abs(result.difference))}`,
  ].join('\n');
}
