/**
 * One run's plan for an encounter group, as data: where the store's writes stood, the group read
 * (./group.ts), its plan (./plan-group.ts) and the batch that applies it (./capture-writes.ts). Reads
 * only. The worker (./capture.ts) writes the batch and checks that nothing moved meanwhile; the
 * plan may have been made on its own thread or on a planning thread (./plan-thread.ts), so
 * everything here crosses a thread boundary: plain data, the clock as an instant.
 */
import type { CodingTables } from '../coding/tables/types.ts';
import type { TenantCodingOptions } from '../coding/types.ts';
import type { BatchOperation, Store, TenantId, WriteMark } from '../store/port.ts';
import { captureOperations } from './capture-writes.ts';
import type { GroupInputs } from './group.ts';
import { gatherGroup, groupReader } from './group.ts';
import { planGroup } from './plan-group.ts';

/** What a run plans: one encounter's group, read now. */
export interface PlanRequest {
  readonly tenant: TenantId;
  /** "Encounter/id". */
  readonly encounter: string;
  /**
   * Where the store's writes stood before the batch began: what was written since is what the
   * worker checks after writing. Absent: taken before this run reads anything.
   */
  readonly since?: { readonly mark: WriteMark | undefined };
  /** Code even when referenced resources are not stored (./capture.ts ProcessOptions). */
  readonly allowIncomplete: boolean;
  /** The worker's clock, read when the run was asked for (stamps of the charges and Tasks). */
  readonly now: string;
  readonly coding?: TenantCodingOptions;
  /** Base URL of this server (the AuditEvent's agent). */
  readonly publicUrl: string;
}

/** Where a worker's plan requests get their clock, base URL and the tenant's coding options. */
export interface PlanContext {
  readonly now: () => Date;
  readonly publicUrl: string;
  readonly codingOptions?: (tenant: TenantId) => TenantCodingOptions | undefined;
}

/** The request for a run of `encounter`'s group, made now (ahead, or in place). */
export function planRequestFor(
  context: PlanContext,
  tenant: TenantId,
  encounter: string,
  options: { readonly since?: PlanRequest['since']; readonly allowIncomplete: boolean },
): PlanRequest {
  const coding = context.codingOptions?.(tenant);
  return {
    tenant,
    encounter,
    ...(options.since ? { since: options.since } : {}),
    allowIncomplete: options.allowIncomplete,
    now: context.now().toISOString(),
    ...(coding ? { coding } : {}),
    publicUrl: context.publicUrl,
  };
}

/** What the worker keeps of the group read: enough to tell whether an input moved (./group.ts inputsMoved). */
export type GroupSummary = Pick<
  GroupInputs,
  'members' | 'scopes' | 'patient' | 'sameDay' | 'versions' | 'fingerprint'
>;

export type PlannedGroup =
  /** The encounter is not stored (yet): its arrival emits another event. */
  | { readonly kind: 'absent' }
  /** References the inputs make are not stored yet, and the run may not code without them. */
  | { readonly kind: 'incomplete'; readonly missing: readonly string[] }
  | {
      readonly kind: 'planned';
      readonly mark: WriteMark | undefined;
      readonly group: GroupSummary;
      /** Every reference read, found or not. */
      readonly requested: readonly string[];
      readonly unchanged: number;
      /** Changes held back because the encounter's claim was submitted. */
      readonly deferred: number;
      readonly created: number;
      readonly updated: number;
      readonly voided: number;
      readonly tasks: number;
      /** The batch that applies the plan (empty: nothing to write). */
      readonly operations: readonly BatchOperation[];
    };

/** Reads and plans one encounter's group (no writes). */
export async function planEncounterGroup(
  store: Store,
  tables: CodingTables,
  request: PlanRequest,
): Promise<PlannedGroup> {
  const { tenant, encounter } = request;
  const mark = request.since ? request.since.mark : await store.resources.writeMark(tenant);
  const requested = new Set<string>();
  const zone = request.coding?.timeZone ?? request.coding?.utcOffset;
  const reader = groupReader(store, tenant, zone, requested);
  const gathered = await gatherGroup(reader, encounter);
  if (!gathered) {
    return { kind: 'absent' };
  }
  if (gathered.missing.length > 0 && !request.allowIncomplete) {
    return { kind: 'incomplete', missing: gathered.missing };
  }
  const now = new Date(request.now);
  const plan = await planGroup(reader, gathered, {
    tables,
    ...(request.coding ? { coding: request.coding } : {}),
    now: () => now,
  });
  const writes = plan.changes.length > 0 || plan.tasks.length > 0;
  const count = (kind: string): number => plan.changes.filter((c) => c.kind === kind).length;
  return {
    kind: 'planned',
    mark,
    group: {
      members: gathered.members,
      scopes: gathered.scopes,
      ...(gathered.patient ? { patient: gathered.patient } : {}),
      ...(gathered.sameDay ? { sameDay: gathered.sameDay } : {}),
      versions: gathered.versions,
      fingerprint: gathered.fingerprint,
    },
    requested: [...requested],
    unchanged: plan.unchanged,
    deferred: [...plan.deferred.values()].reduce((n, list) => n + list.length, 0),
    created: count('create'),
    updated: count('update'),
    voided: count('void'),
    tasks: plan.tasks.length,
    operations: writes ? captureOperations(gathered, plan, now, request.publicUrl) : [],
  };
}
