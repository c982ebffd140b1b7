/**
 * What the parts of the ingest worker share: its dependencies, its clock, and the two things every
 * part does with a connection — write its subscription record, and store copies under it. The
 * worker (./worker.ts) builds one context; the job handlers (./notification-jobs.ts), fetch-back
 * (./fetch-back.ts) and recovery (./recovery.ts) take it as their first argument.
 */
import type { EhrConnectionConfig } from '../config/config.ts';
import { newAuditEventId } from '../fhir/audit.ts';
import type { Logger } from '../logger.ts';
import type { Resource } from '@medplum/fhirtypes';
import type { GroupCommit } from '../store/group-commit.ts';
import type { BatchOperation, Store } from '../store/port.ts';
import type { CopyContext } from './copies.ts';
import type { CopyNote } from './copies.ts';
import type { EhrPort, SubscriptionMaintainer } from './ehr-port.ts';
import type { IdSearchSupport } from './id-search.ts';
import type { StoredReferences } from './stored-references.ts';
import type { ConnectionBinding } from './receiver.ts';
import type { SubscriptionRecord } from './records.ts';
import type { IngestTopic } from './topics.ts';
import { updateRecord } from './records.ts';

export interface IngestWorkerDeps {
  readonly store: Store;
  readonly connections: ReadonlyMap<string, ConnectionBinding>;
  readonly ehrFor: (connection: EhrConnectionConfig) => EhrPort;
  readonly maintainer: SubscriptionMaintainer;
  readonly publicUrl: string;
  readonly logger: Logger;
  readonly now?: () => Date;
  /**
   * How long a gap in event numbers may stay open before recovery (out-of-order arrivals close
   * most), for connections that do not set `gapGraceSeconds`. Default 10 s.
   */
  readonly gapGraceMs?: number;
  /** Overlap subtracted from the last sync when catching up, for clock skew between EHR and us. */
  readonly catchUpOverlapMs?: number;
  /** `_count` of catch-up searches (default 100). */
  readonly catchUpPageSize?: number;
  readonly leaseMs?: number;
  readonly batchSize?: number;
  /** How often the worker looks for work no one in this process told it of (default 250 ms). */
  readonly pollMs?: number;
  /** How long finished ingest jobs are kept before maintenance purges them (./retention.ts). */
  readonly finishedJobRetentionMs?: number;
  /**
   * Jobs of the capabilities above ingest that a stored copy starts (e.g. an order's prior
   * authorization), written in the copy's own transaction so a crash cannot lose them.
   */
  readonly jobsForCopy?: (copy: Resource) => BatchOperation[];
  /**
   * Whether charge capture could code this version of an encounter (src/charges/group.ts
   * `mayBeCoded`): given, the changes of an encounter no version of which could be coded, and of
   * what belongs to it, start no charge capture (./encounter-events.ts). Without it every change
   * does.
   */
  readonly mayBeCoded?: CopyContext['mayBeCoded'];
}

export interface IngestContext {
  readonly deps: IngestWorkerDeps;
  /** `deps.now`, or the system clock. */
  readonly now: () => Date;
  /** Commits copies (./copies.ts `CopyContext.write`); without it each copy commits alone. */
  readonly copyWrites?: GroupCommit<CopyNote>;
  /** Which EHRs take `_id` searches (./id-search.ts); without it everything is read one at a time. */
  readonly idSearch?: IdSearchSupport;
  /** Resources known to be stored (./stored-references.ts); without it fetch-back asks the store each time. */
  readonly stored?: StoredReferences;
}

function endpoint(ctx: IngestContext, binding: ConnectionBinding): string {
  return `${ctx.deps.publicUrl}/ehr/${binding.connection.id}/notify`;
}

/** Applies `change` to the connection's subscription record of `topic` (./records.ts updateRecord). */
export function updateSubscription(
  ctx: IngestContext,
  binding: ConnectionBinding,
  topic: IngestTopic,
  change: (r: SubscriptionRecord) => SubscriptionRecord,
): Promise<SubscriptionRecord> {
  return updateRecord(
    ctx.deps.store,
    binding.tenant,
    binding.connection,
    topic,
    endpoint(ctx, binding),
    change,
  );
}

/** Where and how copies of this connection's resources are stored (./copies.ts). */
export function copyContextFor(
  ctx: IngestContext,
  binding: ConnectionBinding,
  readAhead?: CopyContext['readAhead'],
): CopyContext {
  return {
    store: ctx.deps.store,
    tenant: binding.tenant,
    connectionId: binding.connection.id,
    fhirBaseUrl: binding.connection.fhirBaseUrl,
    publicUrl: ctx.deps.publicUrl,
    now: ctx.now,
    // The copies' AuditEvents: time-ordered ids append to the store's id indexes (src/fhir/audit.ts).
    generateId: newAuditEventId,
    ...(ctx.copyWrites ? { write: ctx.copyWrites.write.bind(ctx.copyWrites) } : {}),
    ...(readAhead ? { readAhead } : {}),
    ...(ctx.deps.mayBeCoded ? { mayBeCoded: ctx.deps.mayBeCoded } : {}),
  };
}

/** An `_id` search the EHR declares was refused or ignored: said once, and reads for that type for a while. */
export function refusedIdSearch(
  ctx: IngestContext,
  connectionId: string,
  resourceType: string,
  error: unknown,
): void {
  ctx.idSearch?.refused(connectionId, resourceType);
  ctx.deps.logger.warn(
    { connectionId, resourceType, err: (error as Error).message },
    'EHR refused an _id search it declares: reading one at a time',
  );
}
