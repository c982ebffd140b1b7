/**
 * `authorizations <patient> [--tenant <id>]`: a patient's authorization ledger, as
 * `GET /api/coverage/authorizations?patient=` answers it (src/coverage/ledger-report.ts, with each
 * held charge's `billHold`: src/claims/workflow/ledger-bill-holds.ts), read from
 * the configured store. The read is audited like the API's, with the operator's user name as the
 * agent. The tenant may be left out when only one is configured.
 */
import { authorizationRequirement } from '../claims/ledger.ts';
import { withBillHolds } from '../claims/workflow/ledger-bill-holds.ts';
import { loadCodingTables } from '../coding/tables/load.ts';
import type { DriplineConfig } from '../config/config.ts';
import type { LedgerReport } from '../coverage/ledger-report.ts';
import { loadLedgerReport } from '../coverage/ledger-report.ts';
import { patientReference } from '../coverage/ledger-store.ts';
import type { Store } from '../store/port.ts';
import { systemClock } from '../time/clock.ts';
import { UsageError } from './client-command.ts';
import { recordOperatorAccess } from './operator-access.ts';
import { chosenTenant } from './tenant-option.ts';
import { parseCommandLine } from './args.ts';

export const AUTHORIZATIONS_USAGE = 'Usage: npm run cli -- authorizations <Patient/id|id> [--tenant <id>]';

export interface AuthorizationsArgs {
  readonly patient: string;
  readonly tenant?: string;
}

export function parseAuthorizationsArgs(argv: readonly string[]): AuthorizationsArgs {
  const { values, positionals } = parseCommandLine(
    argv,
    { tenant: { type: 'string' } },
    AUTHORIZATIONS_USAGE,
  );
  const [given, ...extra] = positionals;
  const patient = given ? patientReference(given) : undefined;
  if (!patient || extra.length > 0) {
    throw new UsageError('authorizations needs one patient: Patient/{id} or {id}');
  }
  return { patient, ...(values.tenant ? { tenant: values.tenant } : {}) };
}

export async function runAuthorizations(
  args: AuthorizationsArgs,
  config: DriplineConfig,
  store: Store,
): Promise<LedgerReport> {
  const tenant = chosenTenant(config, args.tenant);
  const now = systemClock(config.clockOffsetMs)();
  const ledger = await loadLedgerReport(
    store,
    tenant,
    args.patient,
    now,
    authorizationRequirement(tenant, loadCodingTables()),
  );
  // Each charge no claim bills yet says whether the bill hold keeps it, as the API's answer does.
  const { report, read: encounters } = await withBillHolds(store, tenant.id, tenant, ledger.report, now);
  const read = [...new Set([...ledger.read, ...encounters])];
  await recordOperatorAccess(store, config, tenant.id, now, {
    interaction: 'search-type',
    resources: read,
    patients: [args.patient],
    query: `cli authorizations ${args.patient}`,
  });
  return report;
}
