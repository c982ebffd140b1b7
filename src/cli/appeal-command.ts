/**
 * `dripline appeal <open|outcome|list|sweep|packet> …`: appeals from the command line, on the
 * store directly, with the same rules, answers and AuditEvents as `/api/remittance/appeals`
 * (src/remittance/appeals/). Prints JSON; a refused request exits 4 with the reason on stderr.
 */
import { writeFileSync } from 'node:fs';
import type { DriplineConfig } from '../config/config.ts';
import { recordAccess } from '../fhir/audit-access.ts';
import type { Store } from '../store/port.ts';
import type { AppealDeps, AppealResult } from '../remittance/appeals/actions.ts';
import { openAppeal, recordAppealOutcome, workItemOfClaim } from '../remittance/appeals/actions.ts';
import { renderAppealPacket } from '../remittance/appeals/render.ts';
import { listAppeals } from '../remittance/appeals/routes.ts';
import { sweepAppealDeadlines } from '../remittance/appeals/sweep.ts';
import { UsageError } from './client-command.ts';
import { chosenTenant } from './tenant-option.ts';
import { parseSubcommandLine } from './args.ts';

export const APPEAL_USAGE = `Usage: dripline appeal <command> [--tenant <id>]
  open <work-item id> | open --claim <claim id> [--reason <text>]   open the next appeal level
  outcome <appeal id> --outcome overturned|partly-overturned|upheld [--recovered <dollars>] [--decided YYYY-MM-DD]
  list [--outcome open|overturned|partly-overturned|upheld|missed]
  sweep                                                              deadline warnings (30, 7 days) and missed
  packet <appeal id> --out <file.pdf>                                the appeal packet`;

export const CLI_ACTOR = 'cli:appeal';

/** Thrown for a request the rules refuse (exit 4). */
export class AppealRefused extends Error {
  override readonly name = 'AppealRefused';
}

function settled(result: AppealResult): unknown {
  if (result.status >= 400) {
    throw new AppealRefused(`${result.status}: ${result.message}`);
  }
  return { message: result.message, appeal: result.appeal };
}

export async function runAppeal(
  argv: string[],
  config: DriplineConfig,
  store: Store,
  now: () => Date,
): Promise<unknown> {
  const { values, command, operands } = parseSubcommandLine(
    argv,
    {
      tenant: { type: 'string' },
      claim: { type: 'string' },
      reason: { type: 'string' },
      outcome: { type: 'string' },
      recovered: { type: 'string' },
      decided: { type: 'string' },
      out: { type: 'string' },
    },
    APPEAL_USAGE,
  );
  const [target] = operands;
  const tenant = chosenTenant(config, values.tenant).id;
  const deps: AppealDeps = { store, publicUrl: config.publicUrl, now, tenants: () => config.tenants };
  const actor = { clientId: CLI_ACTOR, ...(values.reason ? { reason: values.reason } : {}) };
  switch (command) {
    case 'open': {
      const workItem =
        target ?? (values.claim ? await workItemOfClaim(store, tenant, values.claim) : undefined);
      if (!workItem) {
        if (values.claim) {
          throw new AppealRefused(
            `422: Claim/${values.claim} is not denied or underpaid: no denial or underpayment work item names it`,
          );
        }
        throw new UsageError('appeal open needs a work item id or --claim <claim id>');
      }
      return settled(await openAppeal(deps, tenant, workItem, actor));
    }
    case 'outcome': {
      if (!target || !values.outcome) {
        throw new UsageError('appeal outcome needs an appeal id and --outcome');
      }
      const recovered = values.recovered === undefined ? undefined : Number(values.recovered);
      if (recovered !== undefined && !Number.isFinite(recovered)) {
        throw new UsageError('--recovered is an amount in dollars');
      }
      return settled(
        await recordAppealOutcome(
          deps,
          tenant,
          target,
          {
            outcome: values.outcome,
            ...(recovered !== undefined ? { recovered } : {}),
            ...(values.decided ? { decidedOn: values.decided } : {}),
          },
          actor,
        ),
      );
    }
    case 'list': {
      const appeals = await listAppeals(deps, tenant, values.outcome ? { outcome: values.outcome } : {});
      await recordAccess(
        store,
        tenant,
        {
          clientId: CLI_ACTOR,
          interaction: 'search-type',
          resources: appeals.map((a) => `Task/${a.id}`),
          patients: [...new Set(appeals.flatMap((a) => (a.patient ? [a.patient] : [])))],
          query: 'cli appeal list',
        },
        { publicUrl: config.publicUrl, now: now() },
      );
      return { appeals };
    }
    case 'sweep':
      return sweepAppealDeadlines(deps, tenant);
    case 'packet': {
      if (!target || !values.out) {
        throw new UsageError('appeal packet needs an appeal id and --out <file.pdf>');
      }
      const result = await renderAppealPacket(deps, tenant, target);
      if (typeof result === 'string') {
        throw new AppealRefused(result);
      }
      await recordAccess(
        store,
        tenant,
        {
          clientId: CLI_ACTOR,
          interaction: 'read',
          resources: [`Task/${target}`, ...result.resources],
          patients: result.patients,
          query: 'cli appeal packet',
        },
        { publicUrl: config.publicUrl, now: now() },
      );
      writeFileSync(values.out, result.pdf, { mode: 0o600 });
      return { packet: values.out, bytes: result.pdf.length };
    }
    default:
      throw new UsageError(`unknown command "appeal ${command}"`);
  }
}
