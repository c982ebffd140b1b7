/**
 * What every step of the claim workflow is given: its dependencies (store, tables, tenants, the
 * claim builder and scrubber, the payer transport, timings), the one clock, a way to wake the
 * worker, and the store reads every step makes (a read that answers undefined for a missing
 * resource, a full search). The worker builds one; the steps are functions of it.
 */
import type { Claim, Reference, Resource } from '@medplum/fhirtypes';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import type { Logger } from '../../logger.ts';
import type { Store, StoreFilter, StoredResource, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { normalizeReference } from '../../store/search-index.ts';
import type { BuildClaimInput } from '../build.ts';
import type { PayerPort } from '../payer-port.ts';
import type { DenialModel } from '../risk/denial-model.ts';
import type { ClaimContext, ScrubFinding } from '../types.ts';
import { readOptional } from '../../store/read-optional.ts';

export type BuildClaimFn = (input: BuildClaimInput) => Claim;
export type ScrubClaimFn = (ctx: ClaimContext, tables: CodingTables) => ScrubFinding[];

export interface ClaimWorkflowDeps {
  readonly store: Store;
  readonly tables: CodingTables;
  readonly logger: Logger;
  readonly publicUrl: string;
  readonly tenants: readonly TenantConfig[];
  readonly buildClaim: BuildClaimFn;
  readonly scrubClaim: ScrubClaimFn;
  /**
   * The tenant's denial forecast model (src/claims/risk/denial-model.ts), built from its posted
   * payments by a higher layer; absent: claims are not scored.
   */
  readonly denialModel?: (tenant: TenantConfig) => Promise<DenialModel | undefined>;
  /** Transport to a FHIR-channel payer (default: SMART Backend Services, createFhirPayerPort). */
  readonly payerPort?: (tenant: TenantId, payer: PayerEndpoint) => PayerPort;
  readonly now?: () => Date;
  /**
   * How long after an encounter ends before its claim is built (default 0): time for the EHR to
   * send the visit's last notifications. Billing also waits until every notification received
   * before then has been fetched back (./sweep.ts). A tenant's `billHold` setting, when it sets
   * one, wins over this (./bill-hold.ts).
   */
  readonly holdMs?: number;
  /** How often the worker looks for encounters to bill (default 5 s). */
  readonly sweepMs?: number;
  /** How often held, rejected and cancelled claims are checked for changed inputs (default 30 s). */
  readonly recheckMs?: number;
  /**
   * How often a sweep reads all of the tenant's encounters, charges and claims (default 1 h, and at
   * start); the sweeps between read only what changed since the previous one.
   */
  readonly fullScanMs?: number;
  /**
   * How long a new claim waiting for an eligibility check under way waits before it looks again
   * (default 1 s: ELIGIBILITY_WAIT_POLL_MS); the check's end makes it due sooner.
   */
  readonly eligibilityWaitPollMs?: number;
  /** Delay before retrying a submission after `attempts` failed ones (default the store's backoff). */
  readonly retryDelayMs?: (attempts: number) => number;
  readonly leaseMs?: number;
  readonly batchSize?: number;
  readonly pollMs?: number;
}

/** How often the worker looks for encounters to bill, unless `sweepMs` says otherwise. */
export const DEFAULT_SWEEP_MS = 5_000;
/** How often held, rejected and cancelled claims are rechecked, unless `recheckMs` says otherwise. */
export const DEFAULT_RECHECK_MS = 30_000;

export interface WorkflowContext {
  readonly deps: ClaimWorkflowDeps;
  readonly store: Store;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Wakes the worker: a claim became ready, or a submission was queued. */
  readonly notify: () => void;
  tenant(tenant: TenantId): TenantConfig | undefined;
  /** The stored resource, or undefined when there is none. */
  read<T extends Resource>(
    tenant: TenantId,
    type: T['resourceType'],
    id: string,
  ): Promise<(T & StoredResource) | undefined>;
  searchAll<T extends Resource>(
    tenant: TenantId,
    resourceType: T['resourceType'],
    filters: StoreFilter[],
  ): Promise<(T & StoredResource)[]>;
}

export function createWorkflowContext(deps: ClaimWorkflowDeps, notify: () => void): WorkflowContext {
  const store = deps.store;
  return {
    deps,
    store,
    logger: deps.logger,
    now: deps.now ?? (() => new Date()),
    notify,
    tenant: (tenant) => deps.tenants.find((t) => t.id === tenant),
    read: <T extends Resource>(tenant: TenantId, type: T['resourceType'], id: string) =>
      readOptional<T>(store, tenant, type, id),

    async searchAll<T extends Resource>(
      tenant: TenantId,
      resourceType: T['resourceType'],
      filters: StoreFilter[],
    ): Promise<(T & StoredResource)[]> {
      return searchAll<T>(store, tenant, resourceType, filters);
    },
  };
}

/** A search filter: resources whose reference parameter `code` points at `value`. */
export function byRef(code: string, value: string): StoreFilter[] {
  return [{ code, kind: 'reference', values: [value] }];
}

export function refOf(reference: Reference | undefined): string | undefined {
  return reference?.reference ? normalizeReference(reference.reference) : undefined;
}

/** A resource as written back: without the store's meta (the store stamps the new version). */
export function withoutMeta<T extends Resource>(resource: T): T {
  const copy = { ...resource };
  delete copy.meta;
  return copy;
}
