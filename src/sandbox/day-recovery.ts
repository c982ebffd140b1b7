/**
 * The sandbox day's ending (issue 15, item 5): what a biller does once the payers' answers are
 * posted. An appeal opened for each open denial work item the day produced (its level and filing
 * deadline from the payer's rule, src/remittance/appeals), the tenant's statement run (an Invoice
 * and a PDF per patient who owes something, src/remittance/statements), and the day's analytics as
 * `npm run cli -- report` computes them (runReport, src/cli/report-command.ts). Read and written
 * through the same functions the API and CLI use, so the figures agree with them.
 */
import type { Task } from '@medplum/fhirtypes';
import { runReport } from '../cli/report-command.ts';
import type { DriplineConfig, TenantConfig } from '../config/config.ts';
import type { MeasureResult } from '../analytics/measures.ts';
import { openAppeal } from '../remittance/appeals/actions.ts';
import { runStatements } from '../remittance/statements/run.ts';
import type { StatementRunReport } from '../remittance/statements/run.ts';
import { kindOf } from '../remittance/work/items.ts';
import type { Store, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import type { Clock } from '../time/clock.ts';

/** Who opens the day's appeals and runs its statements (the AuditEvents' agent). */
export const DAY_RECOVERY_ACTOR = 'sandbox-day:biller';

export interface DayAppeal {
  readonly workItem: string;
  /** The HTTP-like status openAppeal answered (201 opened, 200 already open, 4xx refused). */
  readonly status: number;
  readonly message: string;
  readonly claim?: string;
  readonly level?: string;
  readonly deadline?: string;
  readonly denied?: number;
}

export interface DayRecovery {
  readonly appeals: readonly DayAppeal[];
  readonly statements: StatementRunReport;
  readonly report: readonly MeasureResult[];
}

export interface DayRecoveryDeps {
  readonly store: Store;
  readonly config: DriplineConfig;
  /** The tenants as the running server sees them (the sandbox tenant with its seeded payers). */
  readonly tenants: readonly TenantConfig[];
  readonly now: Clock;
  /** Where statement PDFs go (`{dataDir}/statements/…`). */
  readonly dataDir: string;
}

/** The open denial work items of the tenant, oldest first. */
export async function openDenialItems(store: Store, tenant: TenantId): Promise<(Task & { id: string })[]> {
  return (await searchAll<Task>(store, tenant, 'Task'))
    .filter((t) => kindOf(t) === 'denial' && t.status !== 'completed' && t.status !== 'cancelled')
    .sort((a, b) => (a.authoredOn ?? '').localeCompare(b.authoredOn ?? '') || a.id.localeCompare(b.id));
}

export async function dayRecovery(deps: DayRecoveryDeps, tenant: TenantId): Promise<DayRecovery> {
  const common = {
    store: deps.store,
    publicUrl: deps.config.publicUrl,
    now: deps.now,
    tenants: () => deps.tenants,
  };
  const actor = { clientId: DAY_RECOVERY_ACTOR };
  const appeals: DayAppeal[] = [];
  for (const item of await openDenialItems(deps.store, tenant)) {
    const result = await openAppeal(common, tenant, item.id, actor);
    appeals.push({
      workItem: item.id,
      status: result.status,
      message: result.message,
      ...(result.appeal
        ? {
            claim: result.appeal.claim,
            level: result.appeal.level,
            deadline: result.appeal.deadline,
            denied: result.appeal.denied,
          }
        : {}),
    });
  }
  const statements = await runStatements({ ...common, dataDir: deps.dataDir }, tenant, actor);
  const report = await runReport({ tenant, json: false }, deps.config, deps.store, deps.now);
  return { appeals, statements, report };
}
