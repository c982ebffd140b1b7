/**
 * Versioned copies of EHR resources in the tenant's store. A copy keeps the EHR's id, records its
 * source (`meta.source` = the EHR URL of the exact version) and the EHR's own version and
 * lastUpdated, and is only ever replaced by a newer EHR version: duplicates and out-of-order
 * retries change nothing. Each write is audited in the same transaction.
 */
import { OperationOutcomeError } from '@medplum/core';
import type { Coding, Encounter, Extension, Resource } from '@medplum/fhirtypes';
import { patientsOf } from '../fhir/audit.ts';
import { NON_PHI_TYPES } from '../fhir/capability.ts';
import type { BatchOperation, BatchResult, Store, StoredResource, TenantId } from '../store/port.ts';
import type { CopyAudit } from './copy-audit.ts';
import { copyAuditEvents } from './copy-audit.ts';
import type { EncounterChangedEvent } from './jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE } from './jobs.ts';
import {
  CS_COPY_CODING,
  CS_SOURCE_STATUS,
  EXT_SOURCE_LAST_UPDATED,
  EXT_SOURCE_VERSION,
} from '../contract/canonical.ts';

/** Tag on a copy whose resource the EHR deleted (Dripline never deletes: history is evidence). */
export const DELETED_AT_SOURCE = {
  system: CS_SOURCE_STATUS,
  code: 'deleted',
};

/**
 * Tag on an encounter's copy while neither it nor any version of it stored before could be coded
 * (CopyContext.mayBeCoded): its changes, and those of what belongs to it, can move no charge, so
 * they start no charge capture (./encounter-events.ts). Decided at each write of the copy, under
 * its If-Match on the version before (so never wrong about a version written concurrently); once
 * gone it never comes back. An EHR's own tag of this system is not kept.
 */
export const NOT_CODABLE_YET = {
  system: CS_COPY_CODING,
  code: 'not-codable-yet',
} as const;

/** Whether the copy carries `tag` (one of the copy tags above). */
export function hasCopyTag(
  copy: Resource | undefined,
  tag: { readonly system: string; readonly code: string },
): boolean {
  return (copy?.meta?.tag ?? []).some((t) => t.system === tag.system && t.code === tag.code);
}

export function notCodableYet(copy: Resource | undefined): boolean {
  return hasCopyTag(copy, NOT_CODABLE_YET);
}

export interface SourceVersion {
  readonly versionId?: string;
  readonly lastUpdated?: string;
}

/**
 * Orders two EHR versions of one resource: numeric versionIds compare as numbers, otherwise
 * lastUpdated decides; the same version, or none to compare, counts as "same" (do not overwrite).
 * `'unordered'`: two different opaque versions whose timestamps are equal or missing — the data
 * cannot say which is newer (FHIR R4 makes versionId opaque, and lastUpdated's precision is the
 * server's); only the EHR can, by being asked for its current version.
 */
export function compareSourceVersions(
  incoming: SourceVersion,
  existing: SourceVersion,
): -1 | 0 | 1 | 'unordered' {
  const a = incoming.versionId;
  const b = existing.versionId;
  if (a !== undefined && b !== undefined && /^\d+$/.test(a) && /^\d+$/.test(b)) {
    const diff = BigInt(a) - BigInt(b);
    return diff > 0n ? 1 : diff < 0n ? -1 : 0;
  }
  if (incoming.lastUpdated && existing.lastUpdated) {
    const diff = Date.parse(incoming.lastUpdated) - Date.parse(existing.lastUpdated);
    if (Number.isFinite(diff) && diff !== 0) {
      return diff > 0 ? 1 : -1;
    }
  }
  if (a !== undefined && b !== undefined && a !== b) {
    return 'unordered';
  }
  return 0;
}

export function sourceVersionOf(copy: Resource): SourceVersion {
  const ext = copy.meta?.extension ?? [];
  const versionId = ext.find((e) => e.url === EXT_SOURCE_VERSION)?.valueString;
  const lastUpdated = ext.find((e) => e.url === EXT_SOURCE_LAST_UPDATED)?.valueInstant;
  return { ...(versionId ? { versionId } : {}), ...(lastUpdated ? { lastUpdated } : {}) };
}

/** The EHR resource as Dripline stores it: same content, EHR version recorded in meta. */
export function toCopy(resource: Resource, fhirBaseUrl: string): Resource {
  const versionId = resource.meta?.versionId;
  const lastUpdated = resource.meta?.lastUpdated;
  const extension: Extension[] = (resource.meta?.extension ?? []).filter(
    (e) => e.url !== EXT_SOURCE_VERSION && e.url !== EXT_SOURCE_LAST_UPDATED,
  );
  if (versionId) {
    extension.push({ url: EXT_SOURCE_VERSION, valueString: versionId });
  }
  if (lastUpdated) {
    extension.push({ url: EXT_SOURCE_LAST_UPDATED, valueInstant: lastUpdated });
  }
  const source = `${fhirBaseUrl}/${resource.resourceType}/${resource.id ?? ''}${versionId ? `/_history/${versionId}` : ''}`;
  const { versionId: _v, lastUpdated: _l, ...meta } = resource.meta ?? {};
  return { ...resource, meta: { ...meta, source, ...(extension.length > 0 ? { extension } : {}) } };
}

/**
 * `unordered`: nothing written — the incoming version and the stored one cannot be ordered
 * (compareSourceVersions); the caller asks the EHR for its current version and stores that with
 * `readAfter` (storeCopy).
 */
export type CopyOutcome = 'created' | 'updated' | 'unchanged' | 'stale' | 'unordered';

export interface CopyContext {
  readonly store: Store;
  readonly tenant: TenantId;
  readonly connectionId: string;
  readonly fhirBaseUrl: string;
  readonly publicUrl: string;
  readonly now: () => Date;
  /** The id of each copy's AuditEvent. */
  readonly generateId: () => string;
  /**
   * How a copy's transaction is committed: `store.resources.writeBatch` by default; the worker
   * passes a group commit, so the copies of a batch's jobs (processed side by side) share one. It
   * must write what `note` says in the same transaction (./copy-commit.ts `copyGroupCommit`).
   */
  readonly write?: (
    tenant: TenantId,
    operations: readonly BatchOperation[],
    note?: CopyNote,
  ) => Promise<BatchResult[]>;
  /**
   * The stored copy as the worker read it ahead for its batch (`null`: there was none), or
   * undefined when it was not read ahead. Taken for the first attempt only: a copy written since
   * makes the write conflict, and the retry reads again.
   */
  readonly readAhead?: (resourceType: string, id: string) => StoredResource | null | undefined;
  /**
   * Whether charge capture could code this version of an encounter (charges' `mayBeCoded`): an
   * encounter's copy is tagged NOT_CODABLE_YET while no version of it could. Without it nothing is
   * tagged, and every change starts charge capture.
   */
  readonly mayBeCoded?: (encounter: Encounter) => boolean;
}

/**
 * What a copy's write leaves to the transaction that commits it (CopyContext.write), which writes
 * it for all its copies together: the copy's AuditEvent, and its charge capture events
 * (`encounter-changed` jobs), one per encounter for the transaction instead of one per copy.
 */
export interface CopyNote {
  readonly audit?: CopyAudit;
  readonly events: readonly EncounterChangedEvent[];
}

/** The changes a copy's write makes beside it, from the copy and the stored version it replaces. */
export type AlsoWrite = (
  copy: Resource,
  existing: StoredResource | undefined,
) => readonly BatchOperation[] | Promise<readonly BatchOperation[]>;

async function readCopy(ctx: CopyContext, type: string, id: string): Promise<StoredResource | undefined> {
  try {
    return await ctx.store.resources.read(ctx.tenant, type, id);
  } catch (err) {
    if (err instanceof OperationOutcomeError && err.outcome.id === 'not-found') {
      return undefined;
    }
    throw err;
  }
}

function isConflict(err: unknown): boolean {
  return (
    err instanceof OperationOutcomeError &&
    (err.outcome.id === 'precondition-failed' || err.outcome.id === 'conflict')
  );
}

export interface StoreCopyOptions {
  /**
   * The resource was read only because no copy was stored (what a delivered resource references),
   * so it fills that gap and never replaces a copy stored meanwhile: that copy came from a
   * delivery, which speaks for its version, where this read may have happened before the EHR's
   * last change.
   */
  readonly fillOnly?: boolean;
  /**
   * The resource is the EHR's current version, read after the stored copy whose store version
   * (`meta.versionId` in Dripline's store) this names was written: so it is at least as new, and
   * settles an `unordered` comparison. A copy written since is compared on its own terms.
   */
  readonly readAfter?: string;
}

/** Stores (or keeps) the copy of one EHR resource; safe to call twice or out of order. */
export async function storeCopy(
  ctx: CopyContext,
  resource: Resource & { id: string },
  alsoWrite: AlsoWrite = () => [],
  options: StoreCopyOptions = {},
): Promise<{ outcome: CopyOutcome; copy?: StoredResource }> {
  return writeCopy<'stale' | 'unchanged' | 'unordered'>(
    ctx,
    resource.resourceType,
    resource.id,
    alsoWrite,
    (existing) => {
      if (existing && options.fillOnly) {
        return 'unchanged';
      }
      const next = toCopy(resource, ctx.fhirBaseUrl);
      if (existing) {
        const order = compareSourceVersions(sourceVersionOf(next), sourceVersionOf(existing));
        if (order === 'unordered') {
          return options.readAfter === existing.meta.versionId ? next : 'unordered';
        }
        if (order <= 0) {
          return order < 0 ? 'stale' : 'unchanged';
        }
      }
      return next;
    },
  );
}

/** Tags the stored copy as deleted at the EHR (404/410 on fetch-back, or a delete notification). */
export async function markDeletedAtSource(
  ctx: CopyContext,
  resourceType: string,
  id: string,
  alsoWrite: AlsoWrite = () => [],
): Promise<{ outcome: CopyOutcome | 'absent'; copy?: StoredResource }> {
  const result = await writeCopy<'absent' | 'unchanged'>(ctx, resourceType, id, alsoWrite, (existing) => {
    if (!existing) {
      return 'absent';
    }
    if (hasCopyTag(existing, DELETED_AT_SOURCE)) {
      return 'unchanged';
    }
    const { versionId: _v, lastUpdated: _l, ...meta } = existing.meta;
    return { ...existing, meta: { ...meta, tag: [...(meta.tag ?? []), DELETED_AT_SOURCE] } };
  });
  return result;
}

/**
 * Read, decide, write with optimistic concurrency, an AuditEvent and whatever `alsoWrite` adds
 * (the domain event) in the same transaction — so a crash can never leave a copy written without
 * its consequences. `decide` is re-run on the fresh copy when another writer got there first.
 */
async function writeCopy<O extends string>(
  ctx: CopyContext,
  resourceType: string,
  id: string,
  alsoWrite: AlsoWrite,
  decide: (existing: StoredResource | undefined) => Resource | O,
): Promise<{ outcome: CopyOutcome | O; copy?: StoredResource }> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const ahead = attempt === 0 ? ctx.readAhead?.(resourceType, id) : undefined;
    const existing = ahead === undefined ? await readCopy(ctx, resourceType, id) : (ahead ?? undefined);
    const next = decide(existing);
    if (typeof next === 'string') {
      return { outcome: next, ...(existing ? { copy: existing } : {}) };
    }
    const resource = withCodingTag(ctx, { ...next, id }, existing);
    const operations: BatchOperation[] = [
      existing
        ? {
            op: 'update',
            resource,
            options: { ifMatchVersion: existing.meta.versionId, upsert: false },
          }
        : { op: 'create', resource, options: { id } },
    ];
    // Through a group commit, the copy's charge capture events go in its note, to be merged with
    // those of the other copies of its transaction; alone, they are written as they are.
    const events: EncounterChangedEvent[] = [];
    for (const op of await alsoWrite(resource, existing)) {
      const event = ctx.write ? encounterChange(op) : undefined;
      if (event) {
        events.push(event);
      } else {
        operations.push(op);
      }
    }
    // Its AuditEvent goes in the same transaction: through the group commit's note, shared with
    // the other copies of the patient committed with it (./copy-audit.ts), or here.
    const audit: CopyAudit | undefined = NON_PHI_TYPES.has(resourceType)
      ? undefined
      : {
          clientId: `ehr-connection/${ctx.connectionId}`,
          interaction: existing ? 'update' : 'create',
          resource: `${resourceType}/${id}/_history/${existing ? Number(existing.meta.versionId) + 1 : 1}`,
          patients: patientsOf(resource),
        };
    try {
      const [first] = ctx.write
        ? await ctx.write(ctx.tenant, operations, { ...(audit ? { audit } : {}), events })
        : await ctx.store.resources.writeBatch(ctx.tenant, [
            ...operations,
            ...(audit ? copyAuditEvents([audit], ctx) : []),
          ]);
      const copy =
        first && (first.op === 'create' || first.op === 'update') ? first.result.resource : undefined;
      return { outcome: existing ? 'updated' : 'created', ...(copy ? { copy } : {}) };
    } catch (err) {
      if (!isConflict(err)) {
        throw err;
      }
      // Another worker wrote this resource in between: look again.
    }
  }
  throw new Error(`could not store ${resourceType}/${id}: too many concurrent writers`);
}

/** The charge capture event an operation enqueues, if it is one. */
function encounterChange(op: BatchOperation): EncounterChangedEvent | undefined {
  return op.op === 'enqueue' && op.job.queue === ENCOUNTER_CHANGED_QUEUE
    ? (op.job.payload as EncounterChangedEvent)
    : undefined;
}

/** The copy with NOT_CODABLE_YET as it should be: on an encounter no version of which could be coded. */
function withCodingTag<R extends Resource>(
  ctx: CopyContext,
  copy: R,
  existing: StoredResource | undefined,
): R {
  if (copy.resourceType !== 'Encounter') {
    return copy;
  }
  const tag: Coding[] = (copy.meta?.tag ?? []).filter((t) => t.system !== NOT_CODABLE_YET.system);
  if (
    ctx.mayBeCoded !== undefined &&
    !ctx.mayBeCoded(copy) &&
    (existing === undefined || notCodableYet(existing))
  ) {
    tag.push({ ...NOT_CODABLE_YET });
  }
  const { tag: _old, ...meta } = copy.meta ?? {};
  return { ...copy, meta: { ...meta, ...(tag.length > 0 ? { tag } : {}) } };
}
