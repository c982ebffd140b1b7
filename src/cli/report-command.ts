/**
 * `report [--tenant <id>] [--from <date>] [--to <date>] [--by payer|location|drug|code] [--json]`:
 * every analytics measure of the tenant over the range (as `GET /api/analytics/{measure}` answers
 * it, src/analytics), printed as a table, or as JSON with --json. Read from the configured store;
 * audited like the API's answers, with the operator's user name as the agent. A bad range or slice
 * is a usage error (exit 2).
 */
import type { MeasureResult, MeasureRow } from '../analytics/measures.ts';
import { AnalyticsQueryError } from '../analytics/query.ts';
import { AnalyticsService } from '../analytics/service.ts';
import type { DriplineConfig } from '../config/config.ts';
import type { Store } from '../store/port.ts';
import type { Clock } from '../time/clock.ts';
import { UsageError } from './client-command.ts';
import { recordOperatorAccess } from './operator-access.ts';
import { chosenTenant } from './tenant-option.ts';
import { parseOptionsOnly } from './args.ts';

export const REPORT_USAGE =
  'Usage: npm run cli -- report [--tenant <id>] [--from <date>] [--to <date>] [--by payer|location|drug|code] [--json]';

export interface ReportArgs {
  readonly tenant?: string;
  readonly from?: string;
  readonly to?: string;
  readonly by?: string;
  readonly json: boolean;
}

export function parseReportArgs(argv: readonly string[]): ReportArgs {
  const values = parseOptionsOnly(
    argv,
    {
      tenant: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      by: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    REPORT_USAGE,
    'report',
  );
  return {
    ...(values.tenant ? { tenant: values.tenant } : {}),
    ...(values.from ? { from: values.from } : {}),
    ...(values.to ? { to: values.to } : {}),
    ...(values.by ? { by: values.by } : {}),
    json: values.json ?? false,
  };
}

export async function runReport(
  args: ReportArgs,
  config: DriplineConfig,
  store: Store,
  clock: Clock,
): Promise<MeasureResult[]> {
  const tenant = chosenTenant(config, args.tenant);
  const service = new AnalyticsService({ store, now: clock });
  let results: MeasureResult[];
  try {
    results = await service.measures(tenant, undefined, { from: args.from, to: args.to, by: args.by });
  } catch (err) {
    if (err instanceof AnalyticsQueryError) {
      throw new UsageError(err.message);
    }
    throw err;
  }
  await recordOperatorAccess(store, config, tenant.id, clock(), {
    interaction: 'search-type',
    resources: [],
    patients: [],
    query: `cli report from=${results[0]?.from ?? ''} to=${results[0]?.to ?? ''}${args.by ? ` by=${args.by}` : ''}`,
  });
  return results;
}

const usd = (x: number): string =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The row's headline as words and figures: a rate with its counts, dollars, days or units. */
function cell(result: MeasureResult, row: MeasureRow): string {
  const v = row.value;
  switch (result.measure) {
    case 'denial-rate': {
      const dollars = row['dollars'] as { value: number | null; denied: number };
      return `${pct(v)} (${row.numerator ?? 0}/${row.denominator ?? 0} claims; ${usd(dollars.denied)}, ${pct(dollars.value)} of billed)`;
    }
    case 'ar-aging': {
      const b = row['buckets'] as Record<string, number>;
      return `${usd(v ?? 0)} open: ${Object.entries(b)
        .map(([k, x]) => `${k} ${usd(x)}`)
        .join(', ')}`;
    }
    case 'days-in-ar':
      return v === null ? 'n/a (no charges)' : `${v} days (A/R ${usd(row['arBalance'] as number)})`;
    case 'net-collection-rate':
      return `${pct(v)} (${usd(row.numerator ?? 0)} of ${usd(row.denominator ?? 0)})`;
    case 'underpayments': {
      const found = row['found'] as { count: number; dollars: number };
      const back = row['recovered'] as { count: number; dollars: number };
      return `found ${found.count} (${usd(found.dollars)}), recovered ${back.count} (${usd(back.dollars)})`;
    }
    case 'appeals':
      return `filed ${row['filed'] as number}, overturned ${row['overturned'] as number} (${pct(row['overturnRate'] as number | null)} of decided), recovered ${usd(row['recovered'] as number)}`;
    case 'authorizations':
      return `obtained ${(row['obtained'] as number | null) ?? 'n/a'}, denials avoided ${row['denialsAvoided'] as number} of ${row['claimsWithAuthorization'] as number} authorized claims`;
    case 'drug-units':
      return `${row['bought'] !== undefined ? `bought ${row['bought'] as number}, ` : ''}given ${row['given'] as number}, billed ${row['billed'] as number}, paid ${row['paid'] as number}`;
    default:
      return `${pct(v)} (${row.numerator ?? 0}/${row.denominator ?? 0})`;
  }
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`;
}

/** The report as a plain-text table: one line per measure, its slices indented below it. */
export function formatReport(tenantName: string, results: readonly MeasureResult[]): string {
  const first = results[0];
  const lines = [`Revenue analytics, ${tenantName}: ${first?.from ?? ''} to ${first?.to ?? ''}`];
  const width = Math.max(...results.map((r) => r.title.length)) + 2;
  for (const result of results) {
    lines.push(`${result.title.padEnd(width)}${cell(result, result.total)}`);
    for (const row of result.slices) {
      lines.push(`${`  ${result.by ?? ''} ${row.key}`.padEnd(width)}${cell(result, row)}`);
    }
  }
  return lines.join('\n');
}
