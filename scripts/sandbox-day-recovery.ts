/**
 * The sandbox day's ending (`npm run sandbox:day`), once the remittances are posted: the appeals
 * due (one opened for each open denial work item, with its deadline), the statement run (how many
 * statements and PDFs, and where), and the day's analytics as `npm run cli -- report` prints them
 * (src/sandbox/day-recovery.ts). The data folder is kept with SANDBOX_DAY_KEEP=1 or `--keep`.
 */
import path from 'node:path';
import { formatReport } from '../src/cli/report-command.ts';
import type { DriplineConfig } from '../src/config/config.ts';
import { dayRecovery } from '../src/sandbox/day-recovery.ts';
import type { SandboxRun } from '../src/sandbox/index.ts';
import { SANDBOX_TENANT } from '../src/sandbox/index.ts';

const usd = (x: number): string =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** Whether the day's data folder is kept after the run (SANDBOX_DAY_KEEP=1 or --keep). */
export function keepDataFolder(): boolean {
  return process.env['SANDBOX_DAY_KEEP'] === '1' || process.argv.includes('--keep');
}

export async function reportRecovery(run: SandboxRun, config: DriplineConfig, dir: string): Promise<void> {
  const { appeals, statements, report } = await dayRecovery(
    { store: run.server.store, config, tenants: run.tenants, now: run.now, dataDir: dir },
    SANDBOX_TENANT,
  );
  const opened = appeals.filter((a) => a.deadline !== undefined);
  console.log(`\nappeals due: ${opened.length} opened for ${appeals.length} open denial work item(s)`);
  for (const a of appeals) {
    console.log(
      a.deadline
        ? `  ${a.claim ?? '?'} ${a.level ?? '?'} of ${usd(a.denied ?? 0)}: file by ${a.deadline} (work item Task/${a.workItem})`
        : `  Task/${a.workItem}: not opened (${a.status}): ${a.message}`,
    );
  }
  const pdfs = statements.statements.filter((s) => s.pdf !== undefined);
  const owed = statements.statements.reduce((sum, s) => sum + Math.round(s.amountDue * 100), 0) / 100;
  console.log(
    `statement run (cycle ${statements.cycle}, due ${statements.due}): ${statements.statements.length} statement(s), ${usd(owed)} owed by patients; ` +
      `${pdfs.length} PDF(s) written to ${path.join(dir, 'statements', SANDBOX_TENANT, statements.cycle)}; ` +
      `${statements.held.length} on hold, ${statements.refunds.length} refund(s) due`,
  );
  const tenant = config.tenants.find((t) => t.id === SANDBOX_TENANT);
  console.log(`\n${formatReport(tenant?.name ?? SANDBOX_TENANT, report)}`);
  console.log(
    keepDataFolder()
      ? `\ndata folder kept: ${dir}`
      : `\ndata folder ${dir} is deleted now (SANDBOX_DAY_KEEP=1 or --keep keeps it)`,
  );
}
