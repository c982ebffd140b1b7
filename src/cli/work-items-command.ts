/**
 * `work-items list|assign|resolve`: the remittance work queues (denials by category,
 * underpayments) from the command line, over the same functions as `/api/remittance/work-items`
 * (src/remittance/work/routes.ts `listWorkItems`, src/remittance/work/actions.ts): the list's read
 * and every change are audited, with the operator's user name as the agent. Correcting a claim
 * needs the running claim workflow: `POST /api/remittance/work-items/{id}/correct`.
 *
 *   work-items list [--tenant <id>] [--queue <q>]... [--state <s>]... [--all]
 *   work-items assign <item id> <person or team> [--tenant <id>] [--reason <text>]
 *   work-items resolve <item id> <upheld|written-off|recovered|accepted> --reason <text> [--tenant <id>]
 */
import type { DriplineConfig } from '../config/config.ts';
import type { Store } from '../store/port.ts';
import { systemClock } from '../time/clock.ts';
import type { WorkActionDeps, WorkActionResult } from '../remittance/work/actions.ts';
import { assignWorkItem, closeWorkItem } from '../remittance/work/actions.ts';
import type { WorkItemList } from '../remittance/work/routes.ts';
import { listWorkItems } from '../remittance/work/routes.ts';
import { UsageError } from './client-command.ts';
import { operatorClientId, recordOperatorAccess } from './operator-access.ts';
import { chosenTenant } from './tenant-option.ts';
import { parseCommandLine } from './args.ts';

export const WORK_ITEMS_USAGE = `Usage: npm run cli -- work-items list [--tenant <id>] [--queue <q>]... [--state <s>]... [--all]
       npm run cli -- work-items assign <id> <person or team> [--reason <text>] | resolve <id> <state> --reason <text>`;

export type WorkItemsArgs =
  | {
      readonly action: 'list';
      readonly tenant?: string;
      readonly queues: readonly string[];
      readonly states: readonly string[];
      readonly all: boolean;
    }
  | {
      readonly action: 'assign';
      readonly tenant?: string;
      readonly id: string;
      readonly assignee: string;
      readonly reason: string;
    }
  | {
      readonly action: 'resolve';
      readonly tenant?: string;
      readonly id: string;
      readonly state: string;
      readonly reason: string;
    };

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

export function parseWorkItemsArgs(argv: readonly string[]): WorkItemsArgs {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      tenant: { type: 'string' },
      queue: { type: 'string', multiple: true },
      state: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      reason: { type: 'string' },
    },
    WORK_ITEMS_USAGE,
  );
  const [action, id, value, ...extra] = positionals;
  const tenant = values.tenant ? { tenant: values.tenant } : {};
  if (action === 'list' && id === undefined) {
    return {
      action,
      ...tenant,
      queues: values.queue ?? [],
      states: values.state ?? [],
      all: values.all === true,
    };
  }
  if ((action === 'assign' || action === 'resolve') && id && value && extra.length === 0) {
    if (!ID_RE.test(id)) {
      throw new UsageError(`"${id}" is not a work item id`);
    }
    if (action === 'assign') {
      return { action, ...tenant, id, assignee: value, reason: values.reason ?? '' };
    }
    if (!values.reason?.trim()) {
      throw new UsageError('work-items resolve needs --reason <text>');
    }
    return { action, ...tenant, id, state: value, reason: values.reason.trim() };
  }
  throw new UsageError(
    'work-items list [--queue <q>]... [--state <s>]... [--all] | assign <id> <assignee> [--reason <text>] | resolve <id> <state> --reason <text>',
  );
}

/** Runs the command: the list, or the action's result (status as the API would answer it). */
export async function runWorkItems(
  args: WorkItemsArgs,
  config: DriplineConfig,
  store: Store,
  now: () => Date = systemClock(config.clockOffsetMs),
): Promise<WorkItemList | WorkActionResult> {
  const tenant = chosenTenant(config, args.tenant);
  if (args.action === 'list') {
    const list = await listWorkItems({ store, tenants: () => config.tenants, now }, tenant.id, {
      queues: args.queues,
      states: args.states,
      openOnly: !args.all,
    });
    await recordOperatorAccess(store, config, tenant.id, now(), {
      interaction: 'search-type',
      resources: list.items.map((i) => `Task/${i.id}`),
      patients: [...new Set(list.items.flatMap((i) => (i.patient ? [i.patient] : [])))],
      query:
        `cli work-items list ${[...args.queues.map((q) => `--queue ${q}`), ...args.states.map((s) => `--state ${s}`), args.all ? '--all' : ''].join(' ')}`.trim(),
    });
    return list;
  }
  const deps: WorkActionDeps = {
    store,
    publicUrl: config.publicUrl,
    now,
    // Only `correct` resubmits, and the CLI does not offer it (module comment).
    resubmit: () =>
      Promise.reject(new Error('correct a claim through the API: the claim workflow is not running here')),
  };
  const input = { clientId: operatorClientId(), reason: args.reason };
  return args.action === 'assign'
    ? assignWorkItem(deps, tenant.id, args.id, args.assignee, input)
    : closeWorkItem(deps, tenant.id, args.id, args.state, input);
}
