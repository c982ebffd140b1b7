/**
 * The storage port. Everything Dripline persists goes through these interfaces; adapters
 * (embedded SQLite, MongoDB) implement them and are checked by one contract suite
 * (test/store/contract.ts).
 *
 * Every method that touches tenant data takes the tenant id as its first argument, and adapters
 * key every row/document by it: a caller bound to one tenant cannot name another tenant's data.
 */
import type { AuditEvent, Resource } from '@medplum/fhirtypes';

export type TenantId = string;

/** A stored resource always carries an id and meta.versionId / meta.lastUpdated set by the store. */
export type StoredResource = Resource & { id: string; meta: { versionId: string; lastUpdated: string } };

/** A current version as stored: the JSON text `read` parses, with its meta.versionId and meta.lastUpdated. */
export interface StoredJson {
  readonly json: string;
  readonly versionId: string;
  readonly lastUpdated: string;
}

// ---------------------------------------------------------------------------------------------
// Search index
// ---------------------------------------------------------------------------------------------

/**
 * One indexed value of one search parameter of a resource, computed by `indexResource` in
 * search-index.ts (pure) and stored beside the current version.
 * - token: `system` (may be undefined) and `value` (the code / identifier value)
 * - reference: `value` is "Type/id" (relative)
 * - date: `start`/`end` are ISO instants bounding the value (inclusive start, exclusive end)
 * - string: `value` lower-cased, accents kept
 */
export type IndexEntry =
  | { readonly code: string; readonly kind: 'token'; readonly system?: string; readonly value: string }
  | { readonly code: string; readonly kind: 'reference'; readonly value: string }
  | { readonly code: string; readonly kind: 'date'; readonly start: string; readonly end: string }
  | { readonly code: string; readonly kind: 'string'; readonly value: string };

/** What `indexResource` (search-index.ts) derives from a resource; adapters store it with the current version. */
export interface IndexedResource {
  readonly entries: readonly IndexEntry[];
  /**
   * One lexicographically comparable key per sortable parameter code (date: earliest start; string
   * or token: smallest value). A resource without a key sorts first ascending, last descending
   * (SQLite's and MongoDB's null ordering). Adapters always add `id` ascending as the last tie-breaker.
   */
  readonly sortKeys: Readonly<Record<string, string>>;
  /**
   * Business identifiers, for conditional create (`CreateOptions.ifNoneExistIdentifier`): the
   * values of the type's `identifier` search parameter (the token entries of code `identifier`).
   */
  readonly identifiers: readonly { readonly system?: string; readonly value: string }[];
}

/** Comparison for date filters, as FHIR prefixes. */
export type DatePrefix = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'sa' | 'eb';

/**
 * A normalized filter. Multiple `values` inside one filter are OR-ed; filters are AND-ed.
 * - token: matches when an entry of that code has value equal to one of `values`, and (when a
 *   value carries `system`) the same system. `system: null` means "|code" (no system).
 * - reference: exact match on "Type/id".
 * - date: half-open ranges; entry [es, ee), value [vs, ve) (FHIR R4 search 3.1.1.4.5 prefixes):
 *   eq: es >= vs && ee <= ve     ne: !(eq)
 *   lt: es < vs                  gt: ee > ve
 *   le: es < ve                  ge: ee > vs
 *   sa: es >= ve                 eb: ee <= vs
 *   A resource matches when any of its entries for that code matches.
 * - string: both sides normalized by `normalizeString` (lower-case, accents removed); the entry
 *   value starts with the search value, or equals it when `exact`.
 * - token `not: true`: the resource has no entry of that code matching any of the values.
 * - `_id` and `_lastUpdated` are filters on the store's own columns, expressed with code `_id`
 *   (token) and `_lastUpdated` (date).
 */
export type StoreFilter =
  | {
      readonly code: string;
      readonly kind: 'token';
      readonly values: readonly { system?: string | null; value: string }[];
      readonly not?: boolean;
    }
  | { readonly code: string; readonly kind: 'reference'; readonly values: readonly string[] }
  | {
      readonly code: string;
      readonly kind: 'date';
      readonly prefix: DatePrefix;
      readonly start: string;
      readonly end: string;
    }
  | {
      readonly code: string;
      readonly kind: 'string';
      readonly values: readonly string[];
      readonly exact?: boolean;
    };

export interface StoreSort {
  /** A date or string/token search parameter code, or `_lastUpdated` / `_id`. */
  readonly code: string;
  readonly descending: boolean;
}

export interface StoreQuery {
  readonly resourceType: string;
  readonly filters: readonly StoreFilter[];
  readonly sort: readonly StoreSort[];
  /** Page size, 0..1000. 0 means "count only". */
  readonly count: number;
  readonly offset: number;
  /**
   * Keyset paging: only resources whose id sorts after this one (byte order). With `sort` by `_id`
   * ascending, reading page after page by the last id seen costs the same for every page, where
   * an offset makes each page skip all those before it.
   */
  readonly afterId?: string;
  /** When true the adapter also returns the total number of matches. */
  readonly total: boolean;
}

export interface StoreSearchResult {
  readonly resources: StoredResource[];
  readonly total?: number;
}

// ---------------------------------------------------------------------------------------------
// Resource store
// ---------------------------------------------------------------------------------------------

export interface CreateOptions {
  /**
   * Conditional create (FHIR `If-None-Exist` by identifier): when a current resource of the same
   * type in the tenant has an identifier with this system and value (its `identifier` search
   * parameter: IndexedResource.identifiers), nothing is written and that resource is returned with
   * `created: false`. Atomic with the insert.
   */
  readonly ifNoneExistIdentifier?: { readonly system?: string; readonly value: string };
  /** Use this id instead of generating one (used for stable ids derived from inputs). */
  readonly id?: string;
  /**
   * The resource is a write's AuditEvent with an id never used before (the FHIR API's, made for
   * this write): an adapter may store it with the write and build its search index later, as long
   * as every read and search of AuditEvents sees it once the write has committed. An id that exists
   * is then not reported as a conflict (the first copy is kept), so stable ids must not use it.
   */
  readonly indexLater?: boolean;
}

export interface UpdateOptions {
  /** Optimistic concurrency: the update succeeds only if the current versionId equals this. */
  readonly ifMatchVersion?: string;
  /** When false (default true) an update of a missing id fails with not-found instead of creating. */
  readonly upsert?: boolean;
}

export interface WriteResult {
  readonly resource: StoredResource;
  /** true when a new resource (or version) was written; false for a conditional-create hit. */
  readonly created: boolean;
}

/**
 * Errors: adapters throw OperationOutcomeError from @medplum/core with
 * - notFound (404) for missing resources/versions,
 * - preconditionFailed (412) for If-Match mismatch,
 * - badRequest (400) for a resource without resourceType / invalid id.
 */
export interface ResourceStore {
  create(tenant: TenantId, resource: Resource, options?: CreateOptions): Promise<WriteResult>;
  read(tenant: TenantId, resourceType: string, id: string): Promise<StoredResource>;
  /**
   * The same version as `read`, as its JSON text: what the FHIR read answers with, without parsing
   * the stored text and serializing it again.
   */
  readJson(tenant: TenantId, resourceType: string, id: string): Promise<StoredJson>;
  vread(tenant: TenantId, resourceType: string, id: string, versionId: string): Promise<StoredResource>;
  update(
    tenant: TenantId,
    resource: Resource & { id: string },
    options?: UpdateOptions,
  ): Promise<WriteResult>;
  /** Versions newest first. */
  history(
    tenant: TenantId,
    resourceType: string,
    id: string,
    options?: { count?: number; offset?: number; since?: string },
  ): Promise<{ resources: StoredResource[]; total: number }>;
  search(tenant: TenantId, query: StoreQuery): Promise<StoreSearchResult>;
  /**
   * Several writes that must agree: all are applied or none is (one SQLite transaction / one
   * MongoDB multi-document transaction). Used e.g. to store a resource and the job that processes it.
   * Jobs of INBOX_QUEUE can be batched only with each other (on SQLite they are in another file).
   */
  writeBatch(tenant: TenantId, operations: readonly BatchOperation[]): Promise<BatchResult[]>;
  /**
   * Where the store's writes stand now, to ask `writtenSince` later; undefined when the adapter
   * cannot list what was written since a point (the caller then reads again).
   */
  writeMark(tenant: TenantId): Promise<WriteMark | undefined>;
  /**
   * The tenant's resources created or updated since `mark` (committed), once each, with the
   * references their search index holds — without those of `exceptTypes` and of the append-only
   * types (AuditEvent, Provenance: records of writes, never anyone's input). Undefined when more
   * than `limit` were written, or when the adapter cannot tell: the caller then reads again.
   */
  writtenSince(
    tenant: TenantId,
    mark: WriteMark,
    options: { readonly exceptTypes: readonly string[]; readonly limit: number },
  ): Promise<WrittenResource[] | undefined>;
}

/** A point in a store's order of commits (opaque: only the adapter that made it reads it). */
export type WriteMark = string & { readonly __writeMark: unique symbol };

/** A resource written since a WriteMark. */
export interface WrittenResource {
  /** "Type/id". */
  readonly reference: string;
  /** The references its current version's search index holds ("Type/id"). */
  readonly references: readonly string[];
}

/**
 * The queue receivers write to while the sender waits for their acknowledgement: ingest's
 * notification jobs (INGEST_QUEUE is this name). An adapter may keep it apart from everything else
 * so that an acknowledgement never waits for a worker's write: the embedded store keeps it in a
 * file of its own, so in `writeBatch` its jobs can be batched only with each other.
 */
export const INBOX_QUEUE = 'ingest';

export type BatchOperation =
  | { readonly op: 'create'; readonly resource: Resource; readonly options?: CreateOptions }
  | { readonly op: 'update'; readonly resource: Resource & { id: string }; readonly options?: UpdateOptions }
  | { readonly op: 'enqueue'; readonly job: EnqueueRequest }
  | VersionCheck;

/**
 * A batch's condition on a resource it does not write: the batch fails, as a conflict
 * (precondition-failed), unless the resource's current version is `versionId` — and a write of
 * that resource committed concurrently makes one of the two fail, as two writes of it would. What
 * a batch writes may depend on a resource it only read (ingest leaves a domain event out while
 * the encounter it names cannot be coded: src/ingest/encounter-events.ts).
 */
export interface VersionCheck {
  readonly op: 'check';
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
}

export type BatchResult =
  | { readonly op: 'create' | 'update'; readonly result: WriteResult }
  | { readonly op: 'enqueue'; readonly result: EnqueueResult }
  | { readonly op: 'check' };

// ---------------------------------------------------------------------------------------------
// Durable job queue
// ---------------------------------------------------------------------------------------------

export interface EnqueueRequest {
  readonly queue: string;
  /** Idempotency key, unique per (tenant, queue): enqueueing the same key twice yields one job. */
  readonly key: string;
  readonly payload: unknown;
  /** Not leased before this instant (ISO). Default: now. */
  readonly runAt?: string;
  /** Attempts before dead-letter. Default 8. */
  readonly maxAttempts?: number;
  /**
   * What the job, enqueued to run later, may be wanted sooner for (`JobWait.waitKey`): a
   * `JobQueue.wake` with this key makes it due at once; `runAt` stays its time otherwise.
   */
  readonly waitKey?: string;
}

export interface EnqueueResult {
  readonly jobId: string;
  /** false when a job with this key already existed (in any state). */
  readonly created: boolean;
}

export type JobState = 'ready' | 'leased' | 'done' | 'dead';

export interface Job {
  readonly id: string;
  readonly tenant: TenantId;
  readonly queue: string;
  readonly key: string;
  readonly payload: unknown;
  readonly state: JobState;
  /** Attempts started so far, including the current lease. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly runAt: string;
  /** Opaque token of the current lease; ack/fail must present it (a stale lease cannot ack). */
  readonly leaseToken?: string;
  readonly leaseExpiresAt?: string;
  /** Why the job last stopped short of done: its failure, or what it waits for (`JobQueue.defer`). */
  readonly lastError?: string;
  /** What the job, deferred, waits on (`JobWait.waitKey`); dropped when it is leased again. */
  readonly waitKey?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface LeaseOptions {
  readonly queue: string;
  /** How long the lease lasts; an expired lease makes the job leasable again (worker crash). */
  readonly leaseMs: number;
  readonly limit: number;
  /** Current time, passed in so tests and workers control the clock. */
  readonly now: Date;
  /**
   * With each job leased, also lease its due siblings: the tenant's ready jobs of the queue whose
   * key starts the same up to and including the first `siblingsBy` (charge capture's "|": every
   * change of one encounter, however far apart they were enqueued). They come on top of `limit`,
   * at most SIBLINGS_PER_PREFIX a prefix. A key without the separator has no siblings.
   */
  readonly siblingsBy?: string;
}

/** At most this many siblings are leased with each prefix (LeaseOptions.siblingsBy). */
export const SIBLINGS_PER_PREFIX = 100;

/** How long a renewed lease lasts from now (`JobQueue.extendLease`), on the holder's clock. */
export interface LeaseRenewal {
  readonly leaseMs: number;
  readonly now: Date;
}

/** When a deferred job is due again, why it waits (its `lastError`), and the current time. */
export interface JobWait {
  readonly runAt: string;
  readonly reason: string;
  readonly now: Date;
  /**
   * What it waits on (e.g. a patient's eligibility check): whoever ends that work calls
   * `JobQueue.wake` with this key, in the job's tenant and queue, and the job is due at once;
   * `runAt` stays the fallback.
   */
  readonly waitKey?: string;
}

export interface ListJobsOptions {
  /** Only jobs created at or after this ISO instant. */
  readonly createdSince?: string;
}

/** Which finished jobs `JobQueue.purgeDone` may take. */
export interface PurgeDoneOptions {
  /**
   * Only jobs whose key starts with this: the rest of the queue (keys that are idempotency records)
   * stays. Read as a range of the unique (tenant, queue, key) index on both adapters, so a batch
   * reads the prefix's jobs only, however many others the queue holds; taken in key order.
   */
  readonly keyPrefix?: string;
}

/** A job as its current lease holder names it (for `JobQueue.ackMany`). */
export interface JobLease {
  readonly jobId: string;
  readonly leaseToken: string;
}

export interface JobQueue {
  enqueue(tenant: TenantId, request: EnqueueRequest): Promise<EnqueueResult>;
  /**
   * Atomically leases up to `limit` jobs of the queue, across all tenants, that are `ready` with
   * runAt <= now, or `leased` with an expired lease. Each increments attempts and gets a new
   * leaseToken. Two concurrent callers never lease the same job.
   */
  lease(options: LeaseOptions): Promise<Job[]>;
  /** Marks done. Returns false (and changes nothing) when the lease token is stale. */
  ack(jobId: string, leaseToken: string): Promise<boolean>;
  /**
   * Marks done every job whose lease token is current, as `ack` would one by one, in one call: one
   * transaction on SQLite, one round trip on MongoDB (each ack atomic on its own; none depends on
   * another). A worker acks a whole batch this way instead of committing once per job. Stale
   * tokens change nothing. Resolves with how many jobs were acked.
   */
  ackMany(leases: readonly JobLease[]): Promise<number>;
  /**
   * Records a failed attempt. If attempts < maxAttempts and `retryable`, the job becomes ready at
   * now + backoff (exponential from 1 s, doubling, capped at 1 h, ±20% jitter unless `retryAt`
   * is given); otherwise it is dead-lettered. Returns false when the lease token is stale.
   */
  fail(
    jobId: string,
    leaseToken: string,
    failure: { error: string; retryable: boolean; now: Date; retryAt?: string },
  ): Promise<boolean>;
  /**
   * Puts a leased job back, ready at `runAt`, without counting the lease as an attempt: the job
   * found that it must wait for other work (a check whose answer it needs), which is not a failure,
   * so it must not bring the job nearer its dead letter however often it waits. `reason` becomes
   * the job's `lastError` (what it last stopped on). The caller bounds how long it keeps waiting.
   * Returns false (and changes nothing) when the lease token is stale.
   */
  defer(jobId: string, leaseToken: string, wait: JobWait): Promise<boolean>;
  /**
   * Renews a lease its holder still holds, for work that runs longer than the lease (a payer's
   * slow answer): the job's `leaseExpiresAt` becomes `renewal.now + renewal.leaseMs`, never earlier
   * than it was. Resolves false, and changes nothing, when `leaseToken` is not the job's current
   * lease: the job was acked, failed or deferred, or its lease expired and another lease took it.
   * A lease that expired but that no other lease has taken is still its holder's, and renews.
   */
  extendLease(jobId: string, leaseToken: string, renewal: LeaseRenewal): Promise<boolean>;
  /**
   * The work that `waitKey` names has ended: the tenant's jobs of the queue deferred waiting on it
   * (`JobWait.waitKey`, or enqueued with `EnqueueRequest.waitKey`), still `ready` and due after
   * `now`, become due at `now`. Leased, done and
   * dead jobs, other keys and other tenants are untouched; a job's key is dropped when it is leased
   * again, so a later retry's backoff is never cut short. Idempotent (a second wake finds them due).
   * A wake lost to a crash costs the waiting jobs only the rest of their wait: they come back at
   * their own runAt. Resolves with how many jobs it made due.
   */
  wake(tenant: TenantId, queue: string, waitKey: string, now: Date): Promise<number>;
  getJob(jobId: string): Promise<Job | undefined>;
  /**
   * The tenant's job of the queue keyed `keyPrefix` and the highest number after it (a decimal
   * integer without leading zeros: `{keyPrefix}9` before `{keyPrefix}10`), in any state; undefined
   * when no key of the queue is `keyPrefix` and such a number. One call (a range of the unique key
   * index read, on both adapters), however many numbers are taken: a line of jobs numbered in their
   * keys finds its latest here instead of trying its keys one by one.
   */
  highestNumbered(tenant: TenantId, queue: string, keyPrefix: string): Promise<Job | undefined>;
  /**
   * Jobs of a queue in a state (dead-letter inspection, a queue's backlog), oldest first; with
   * `createdSince` (an ISO instant), only those created at or after it, so a caller asking about
   * recent work is not handed the oldest `limit` of a long backlog instead.
   */
  listJobs(
    tenant: TenantId,
    queue: string,
    state: JobState,
    limit: number,
    options?: ListJobsOptions,
  ): Promise<Job[]>;
  /**
   * Deletes up to `limit` of the tenant's `done` jobs of the queue that finished (were last
   * updated) before `finishedBefore` (an instant), oldest first (with `keyPrefix`: only keys
   * starting with it, in key order); resolves with how many. Their keys are free again: enqueueing
   * one makes a new job. Only for jobs safe to run twice (ingest's: a re-run compares equal), or
   * whose keys nothing asks about once they ended (PAS housekeeping, by `keyPrefix`). Dead jobs are
   * never purged: people look at them.
   */
  purgeDone(
    tenant: TenantId,
    queue: string,
    finishedBefore: string,
    limit: number,
    options?: PurgeDoneOptions,
  ): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// OAuth client registry and server keys
// ---------------------------------------------------------------------------------------------

export interface ClientRecord {
  readonly clientId: string;
  readonly tenant: TenantId;
  readonly name?: string;
  /** Space-separated SMART scopes the client may be granted. */
  readonly scope: string;
  /** Public JWK Set used to verify private_key_jwt client assertions. */
  readonly jwks: { keys: Record<string, unknown>[] };
  readonly createdAt: string;
  readonly disabled?: boolean;
}

export interface AuthStore {
  createClient(client: ClientRecord): Promise<void>;
  getClient(clientId: string): Promise<ClientRecord | undefined>;
  /**
   * A value that changes whenever a client registration may have changed (created, disabled,
   * re-keyed), by this process or by any other sharing the store; undefined when the store has no
   * signal cheaper than reading the registration. Read it before the registration: a copy kept
   * with the value it was read under is current while the value is unchanged.
   */
  clientRegistryVersion(): Promise<string | undefined>;
  /**
   * Records a client-assertion jti until `expiresAt`. Returns true when it was not seen before
   * (fresh), false on replay. Expired entries may be purged.
   */
  recordJti(clientId: string, jti: string, expiresAt: string, now: Date): Promise<boolean>;
  /** Small shared settings (e.g. the server's token signing key), set once: first writer wins. */
  getOrInitSetting(key: string, init: () => string): Promise<string>;
}

/** What an operator changes on a registered client (`dripline client disable`, `rotate-key`). */
export interface ClientUpdate {
  readonly disabled?: boolean;
  /** Replaces the client's public keys. */
  readonly jwks?: { keys: Record<string, unknown>[] };
}

/** Dripline's own client registry: the AuthStore, plus listing and changing clients. */
export interface ClientRegistry extends AuthStore {
  /** Registered clients, of one tenant or of all, oldest first. */
  listClients(tenant?: TenantId): Promise<ClientRecord[]>;
  /** Applies the change atomically; the client as it now is, or undefined when there is none. */
  updateClient(clientId: string, update: ClientUpdate): Promise<ClientRecord | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Sequences
// ---------------------------------------------------------------------------------------------

/**
 * Durable counters (e.g. X12 interchange control numbers per sender and receiver). `next` adds one
 * to the tenant's counter `name` and returns the new value: 1 the first time, then 2, 3, … — never
 * the same value twice for one (tenant, name), whatever the number of concurrent callers or
 * processes sharing the store, and committed before it resolves (a restart continues after it).
 */
export interface SequenceStore {
  next(tenant: TenantId, name: string): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// The whole store
// ---------------------------------------------------------------------------------------------

/**
 * The audit trail's events that are written on their own: the AuditEvents of reads (a write's
 * event goes in the write's own transaction). An adapter may take them in a cheaper form and file
 * them as AuditEvent resources later, but its reads and searches of AuditEvents see every event
 * appended before them.
 */
export interface AuditLog {
  /** Records the events (each with its id, never used before); resolves once they are durable. */
  append(tenant: TenantId, events: readonly (AuditEvent & { id: string })[]): Promise<void>;
}

export interface Store {
  readonly kind: 'sqlite' | 'mongodb';
  readonly resources: ResourceStore;
  readonly auditLog: AuditLog;
  readonly jobs: JobQueue;
  readonly auth: ClientRegistry;
  readonly sequences: SequenceStore;
  /** Resolves when the store answers (for /readyz); rejects otherwise. */
  ping(): Promise<void>;
  /**
   * Calls `listener` soon after another connection — another process sharing the store — commits
   * (jobs it enqueued are then due here); returns the unsubscribe. Best effort, and absent where
   * the store cannot tell: a queue worker wakes on it and still polls (src/store/worker-loop.ts).
   */
  readonly watchCommits?: (listener: () => void) => () => void;
  close(): Promise<void>;
}
