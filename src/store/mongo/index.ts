/**
 * MongoDB adapter of the storage port (src/store/port.ts), on the official `mongodb` driver.
 *
 * REQUIREMENT: Dripline's MongoDB store needs a REPLICA SET (or a sharded cluster). Every resource
 * write stores the current version, its history row and its identifier claims in one
 * multi-document transaction, and MongoDB only has transactions on replica sets. A single-node
 * replica set is fine:
 *
 *   mongod --replSet rs0 --dbpath /data/db     # then once: mongosh --eval 'rs.initiate()'
 *   MONGODB_URL='mongodb://localhost:27017/?replicaSet=rs0'
 *
 * `openMongoStore` checks this with the `hello` command and refuses a standalone server.
 * MongoDB 4.4 or newer (transactions that create index entries, `allowDiskUse` on find).
 *
 * Collections (all documents keyed by tenant first):
 * - resources:   current version of each resource + its search fields (see query.ts), unique on
 *                (tenant, type, id); multikey compound indexes on the search arrays.
 * - history:     every version, insert-only, unique on (tenant, type, id, version).
 * - identifiers: one claim document per (tenant, type, system, value) that a write carried. Each
 *                write upserts the claims of its identifiers inside its transaction, so two
 *                transactions that touch the same identifier conflict (one is retried): this is
 *                what makes conditional create atomic. The truth of "who has the identifier" is
 *                the `ident` array of the current resources.
 * - jobs:        durable queue, unique on (tenant, queue, key); leased by one atomic
 *                findOneAndUpdate per job, so several Dripline processes can share one database.
 * - oauth_clients, jti (TTL on expiresAt), settings.
 * - sequences:   durable counters, one document per (tenant, name), incremented by one atomic
 *                findOneAndUpdate (./sequences.ts).
 *
 * Defaults (each can be overridden in the connection string): writeConcern majority, readConcern
 * majority, retryable reads and writes. Transactions use snapshot read concern, majority writes,
 * primary reads.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, conflict, notFound, OperationOutcomeError, preconditionFailed } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { MongoClient, MongoError, ObjectId, WriteConcern } from 'mongodb';
import type {
  ClientSession,
  Collection,
  Db,
  Document,
  IndexDescription,
  MongoClientOptions,
  TransactionOptions,
} from 'mongodb';
import { DEFAULT_MAX_ATTEMPTS, retryDelayMs } from '../job-policy.ts';
import type {
  ClientRegistry,
  ClientUpdate,
  BatchOperation,
  BatchResult,
  ClientRecord,
  CreateOptions,
  EnqueueRequest,
  EnqueueResult,
  Job,
  JobQueue,
  JobState,
  LeaseOptions,
  ResourceStore,
  SequenceStore,
  Store,
  StoreQuery,
  StoreSearchResult,
  StoredResource,
  TenantId,
  UpdateOptions,
  WriteResult,
} from '../port.ts';
import { indexResource, normalizeString, SEARCH_INDEX_VERSION } from '../search-index.ts';
import { assertPaging, canonicalInstant, toMongoFilter, toMongoSort, toSearchFields } from './query.ts';
import { MongoSequenceStore } from './sequences.ts';
import type { SequenceDoc } from './sequences.ts';
import type { SearchFields } from './query.ts';

export interface MongoStoreOptions {
  /** Connection string, e.g. `mongodb://localhost:27017/?replicaSet=rs0`. */
  readonly url: string;
  /** Database name. Default `dripline`. */
  readonly dbName?: string;
  /** Clock for meta.lastUpdated and job timestamps (tests). Default `new Date()`. */
  readonly now?: () => Date;
  /** Resource id generator. Default `randomUUID`. */
  readonly generateId?: () => string;
  /** Progress of a reindex at open (search parameters changed since the data was indexed). */
  readonly onReindexProgress?: (done: number, total: number) => void;
}

export const REPLICA_SET_REQUIRED =
  "Dripline's MongoDB store requires a replica set or a sharded cluster (it writes with " +
  'multi-document transactions), but the server is a standalone mongod. Start mongod with ' +
  '--replSet rs0, run rs.initiate() once (a single-node replica set is fine), and connect with ' +
  "'?replicaSet=rs0' in MONGODB_URL.";

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

interface ResourceDoc extends SearchFields {
  tenant: string;
  type: string;
  id: string;
  version: number;
  lastUpdated: string;
  resource: StoredResource;
}

interface HistoryDoc {
  tenant: string;
  type: string;
  id: string;
  version: number;
  lastUpdated: string;
  resource: StoredResource;
}

interface IdentifierClaimDoc {
  tenant: string;
  type: string;
  system: string;
  value: string;
  /** The resource of the last write that carried this identifier (informational). */
  lastId: string;
  updatedAt: string;
}

interface JobDoc {
  _id: string;
  tenant: string;
  queue: string;
  key: string;
  /** JSON text, so any payload round-trips exactly. */
  payload: string;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  runAt: Date;
  leaseToken?: string;
  leaseExpiresAt?: Date;
  lastError?: string;
  createdAt: Date;
  updatedAt: Date;
  /**
   * Tie-breaker for "oldest first" among jobs created in the same millisecond: an ObjectId's
   * counter increases with every id a process generates, so one process's jobs keep their order.
   */
  seq: ObjectId;
}

interface ClientDoc {
  _id: string;
  tenant: string;
  name?: string;
  scope: string;
  jwks: { keys: Record<string, unknown>[] };
  createdAt: string;
  disabled?: boolean;
}

interface JtiDoc {
  clientId: string;
  jti: string;
  expiresAt: Date;
}

interface SettingDoc {
  _id: string;
  value: string;
}

interface Collections {
  sequences: Collection<SequenceDoc>;
  resources: Collection<ResourceDoc>;
  history: Collection<HistoryDoc>;
  identifiers: Collection<IdentifierClaimDoc>;
  jobs: Collection<JobDoc>;
  clients: Collection<ClientDoc>;
  jti: Collection<JtiDoc>;
  settings: Collection<SettingDoc>;
}

const INDEXES: Readonly<Record<keyof Collections, IndexDescription[]>> = {
  resources: [
    { key: { tenant: 1, type: 1, id: 1 }, name: 'resource_key', unique: true },
    { key: { tenant: 1, type: 1, lastUpdated: 1 }, name: 'resource_last_updated' },
    { key: { tenant: 1, type: 1, 'tok.c': 1, 'tok.v': 1, 'tok.s': 1 }, name: 'search_token' },
    { key: { tenant: 1, type: 1, 'ref.c': 1, 'ref.v': 1 }, name: 'search_reference' },
    { key: { tenant: 1, type: 1, 'date.c': 1, 'date.s': 1, 'date.e': 1 }, name: 'search_date' },
    { key: { tenant: 1, type: 1, 'str.c': 1, 'str.v': 1 }, name: 'search_string' },
    { key: { tenant: 1, type: 1, 'ident.v': 1, 'ident.s': 1 }, name: 'resource_identifier' },
  ],
  history: [{ key: { tenant: 1, type: 1, id: 1, version: 1 }, name: 'history_key', unique: true }],
  identifiers: [{ key: { tenant: 1, type: 1, system: 1, value: 1 }, name: 'identifier_key', unique: true }],
  jobs: [
    { key: { tenant: 1, queue: 1, key: 1 }, name: 'job_key', unique: true },
    { key: { queue: 1, state: 1, runAt: 1 }, name: 'job_ready' },
    { key: { queue: 1, state: 1, leaseExpiresAt: 1 }, name: 'job_leased' },
    { key: { tenant: 1, queue: 1, state: 1, createdAt: 1, seq: 1 }, name: 'job_list' },
  ],
  // oauth_clients and settings are keyed by _id (clientId / setting key).
  clients: [],
  jti: [
    { key: { clientId: 1, jti: 1 }, name: 'jti_key', unique: true },
    { key: { expiresAt: 1 }, name: 'jti_ttl', expireAfterSeconds: 0 },
  ],
  settings: [],
  // Keyed by _id (the JSON of [tenant, name]).
  sequences: [],
};

const COLLECTION_NAMES: Readonly<Record<keyof Collections, string>> = {
  resources: 'resources',
  history: 'history',
  identifiers: 'identifiers',
  jobs: 'jobs',
  clients: 'oauth_clients',
  jti: 'jti',
  settings: 'settings',
  sequences: 'sequences',
};

const TRANSACTION_OPTIONS: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: new WriteConcern('majority'),
  readPreference: 'primary',
};

/** How many times a transaction that lost a unique-key race (E11000) is re-run from the start. */
const DUPLICATE_KEY_RETRIES = 5;

const RESOURCE_TYPE_PATTERN = /^[A-Z][A-Za-z]{0,63}$/;
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
const VERSION_PATTERN = /^[1-9][0-9]{0,15}$/;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

export function isDuplicateKeyError(err: unknown): boolean {
  return err instanceof MongoError && (err.code === 11000 || err.code === 11001);
}

/** True when the connection string already sets `name` (case-insensitive, as MongoDB URIs are). */
export function uriHasOption(url: string, name: string): boolean {
  const query = url.split('?')[1];
  if (!query) {
    return false;
  }
  const wanted = name.toLowerCase();
  return [...new URLSearchParams(query).keys()].some((key) => key.toLowerCase() === wanted);
}

/** Client options: our defaults, unless the connection string sets them. */
export function clientOptions(url: string): MongoClientOptions {
  const options: MongoClientOptions = { ignoreUndefined: true };
  if (!uriHasOption(url, 'w')) {
    options.writeConcern = new WriteConcern('majority');
  }
  if (!uriHasOption(url, 'readConcernLevel')) {
    options.readConcern = { level: 'majority' };
  }
  if (!uriHasOption(url, 'retryWrites')) {
    options.retryWrites = true;
  }
  if (!uriHasOption(url, 'retryReads')) {
    options.retryReads = true;
  }
  return options;
}

/** True when a `hello` reply comes from a replica-set member or a mongos (transactions available). */
export function supportsTransactions(hello: Document): boolean {
  return typeof hello['setName'] === 'string' || hello['msg'] === 'isdbgrid';
}

function resourceTypeOf(resource: Resource): string {
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !RESOURCE_TYPE_PATTERN.test(type)) {
    throw new OperationOutcomeError(badRequest('Missing or invalid resourceType'));
  }
  return type;
}

function assertId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new OperationOutcomeError(badRequest(`Invalid id: ${String(id)}`));
  }
}

function isoInstant(value: string, what: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new OperationOutcomeError(badRequest(`Invalid ${what}: ${value}`));
  }
  return date;
}

function stamp(resource: Resource, id: string, version: number, lastUpdated: string): StoredResource {
  return {
    ...resource,
    id,
    meta: { ...resource.meta, versionId: String(version), lastUpdated },
  };
}

function toJob(doc: JobDoc): Job {
  return {
    id: doc._id,
    tenant: doc.tenant,
    queue: doc.queue,
    key: doc.key,
    payload: JSON.parse(doc.payload) as unknown,
    state: doc.state,
    attempts: doc.attempts,
    maxAttempts: doc.maxAttempts,
    runAt: doc.runAt.toISOString(),
    ...(doc.leaseToken !== undefined && doc.leaseToken !== null ? { leaseToken: doc.leaseToken } : {}),
    ...(doc.leaseExpiresAt ? { leaseExpiresAt: doc.leaseExpiresAt.toISOString() } : {}),
    ...(doc.lastError !== undefined && doc.lastError !== null ? { lastError: doc.lastError } : {}),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

function toClientRecord(doc: ClientDoc): ClientRecord {
  return {
    clientId: doc._id,
    tenant: doc.tenant,
    ...(doc.name !== undefined && doc.name !== null ? { name: doc.name } : {}),
    scope: doc.scope,
    jwks: doc.jwks,
    createdAt: doc.createdAt,
    ...(doc.disabled !== undefined && doc.disabled !== null ? { disabled: doc.disabled } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Open
// ---------------------------------------------------------------------------------------------

export async function openMongoStore(options: MongoStoreOptions): Promise<Store> {
  const client = new MongoClient(options.url, clientOptions(options.url));
  await client.connect();
  try {
    const hello = await client.db('admin').command({ hello: 1 });
    if (!supportsTransactions(hello)) {
      throw new Error(REPLICA_SET_REQUIRED);
    }
    const db = client.db(options.dbName ?? 'dripline');
    const collections = await ensureCollections(db);
    await reindexIfNeeded(collections, options.onReindexProgress);
    return new MongoStore(
      client,
      db,
      collections,
      options.now ?? (() => new Date()),
      options.generateId ?? randomUUID,
    );
  } catch (err) {
    await client.close();
    throw err;
  }
}

/**
 * Re-derives the search fields of every current resource document when they were written under
 * another SEARCH_INDEX_VERSION (settings `search_index`), 500 documents per bulk write, in _id
 * order, reporting progress. Idempotent: an interrupted reindex is redone at the next open.
 */
async function reindexIfNeeded(
  c: Collections,
  onProgress?: (done: number, total: number) => void,
): Promise<number> {
  const recorded = await c.settings.findOne({ _id: 'search_index' });
  if (recorded?.value === SEARCH_INDEX_VERSION) {
    return 0;
  }
  const total = await c.resources.countDocuments({});
  let done = 0;
  let after: ObjectId | undefined;
  for (;;) {
    const docs = await c.resources
      .find(after ? { _id: { $gt: after } } : {}, {
        sort: { _id: 1 },
        limit: 500,
        projection: { resource: 1 },
      })
      .toArray();
    if (docs.length === 0) {
      break;
    }
    await c.resources.bulkWrite(
      docs.map((doc) => ({
        updateOne: {
          filter: { _id: doc._id },
          update: { $set: toSearchFields(indexResource(doc.resource), normalizeString) },
        },
      })),
      { ordered: false },
    );
    after = docs.at(-1)?._id;
    done += docs.length;
    onProgress?.(done, total);
  }
  await c.settings.updateOne(
    { _id: 'search_index' },
    { $set: { value: SEARCH_INDEX_VERSION } },
    { upsert: true },
  );
  return done;
}

/** Creates the collections' indexes (idempotent: same names and specs every time). */
async function ensureCollections(db: Db): Promise<Collections> {
  const collections: Collections = {
    resources: db.collection<ResourceDoc>(COLLECTION_NAMES.resources),
    history: db.collection<HistoryDoc>(COLLECTION_NAMES.history),
    identifiers: db.collection<IdentifierClaimDoc>(COLLECTION_NAMES.identifiers),
    jobs: db.collection<JobDoc>(COLLECTION_NAMES.jobs),
    clients: db.collection<ClientDoc>(COLLECTION_NAMES.clients),
    jti: db.collection<JtiDoc>(COLLECTION_NAMES.jti),
    settings: db.collection<SettingDoc>(COLLECTION_NAMES.settings),
    sequences: db.collection<SequenceDoc>(COLLECTION_NAMES.sequences),
  };
  // Collections must exist before a transaction writes to them (implicit creation inside a
  // transaction needs MongoDB >= 4.4 and is not allowed in every deployment).
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const name of Object.values(COLLECTION_NAMES)) {
    if (!existing.has(name)) {
      try {
        await db.createCollection(name);
      } catch (err) {
        // NamespaceExists (48): another process created it first.
        if (!(err instanceof MongoError && err.code === 48)) {
          throw err;
        }
      }
    }
  }
  for (const key of Object.keys(INDEXES) as (keyof Collections)[]) {
    const indexes = INDEXES[key];
    if (indexes.length > 0) {
      await db.collection(COLLECTION_NAMES[key]).createIndexes(indexes);
    }
  }
  return collections;
}

// ---------------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------------

class MongoStore implements Store, ResourceStore, JobQueue, ClientRegistry {
  readonly kind = 'mongodb' as const;
  readonly resources: ResourceStore = this;
  readonly jobs: JobQueue = this;
  readonly auth: ClientRegistry = this;
  readonly sequences: SequenceStore;

  readonly #client: MongoClient;
  readonly #db: Db;
  readonly #c: Collections;
  readonly #now: () => Date;
  readonly #generateId: () => string;

  constructor(
    client: MongoClient,
    db: Db,
    collections: Collections,
    now: () => Date,
    generateId: () => string,
  ) {
    this.#client = client;
    this.#db = db;
    this.#c = collections;
    this.#now = now;
    this.#generateId = generateId;
    this.sequences = new MongoSequenceStore(collections.sequences);
  }

  async ping(): Promise<void> {
    await this.#db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  /**
   * Runs `fn` in one multi-document transaction. The driver re-runs it on transient errors
   * (write conflicts with a concurrent transaction); a transaction that lost a unique-key race
   * (E11000, e.g. two upserts creating the same id) is re-run here, and its re-reads then see
   * the winner.
   */
  async #transaction<T>(fn: (session: ClientSession) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const session = this.#client.startSession();
      try {
        return await session.withTransaction(() => fn(session), TRANSACTION_OPTIONS);
      } catch (err) {
        if (isDuplicateKeyError(err)) {
          if (attempt < DUPLICATE_KEY_RETRIES) {
            continue;
          }
          throw new OperationOutcomeError(conflict('Concurrent write of the same key'), { cause: err });
        }
        throw err;
      } finally {
        await session.endSession();
      }
    }
  }

  // ----- ResourceStore ------------------------------------------------------------------------

  create(tenant: TenantId, resource: Resource, options?: CreateOptions): Promise<WriteResult> {
    return this.#transaction((session) => this.#create(session, tenant, resource, options));
  }

  update(
    tenant: TenantId,
    resource: Resource & { id: string },
    options?: UpdateOptions,
  ): Promise<WriteResult> {
    return this.#transaction((session) => this.#update(session, tenant, resource, options));
  }

  writeBatch(tenant: TenantId, operations: readonly BatchOperation[]): Promise<BatchResult[]> {
    return this.#transaction(async (session) => {
      const results: BatchResult[] = [];
      for (const operation of operations) {
        switch (operation.op) {
          case 'create':
            results.push({
              op: 'create',
              result: await this.#create(session, tenant, operation.resource, operation.options),
            });
            break;
          case 'update':
            results.push({
              op: 'update',
              result: await this.#update(session, tenant, operation.resource, operation.options),
            });
            break;
          case 'enqueue':
            results.push({ op: 'enqueue', result: await this.#enqueue(tenant, operation.job, session) });
            break;
        }
      }
      return results;
    });
  }

  async #create(
    session: ClientSession,
    tenant: TenantId,
    resource: Resource,
    options?: CreateOptions,
  ): Promise<WriteResult> {
    const type = resourceTypeOf(resource);
    const wanted = options?.ifNoneExistIdentifier;
    if (wanted) {
      const existing = await this.#c.resources.findOne(
        // No system: any system (as a FHIR token without `|`), like the SQLite adapter.
        {
          tenant,
          type,
          ident: {
            $elemMatch:
              wanted.system === undefined ? { v: wanted.value } : { s: wanted.system, v: wanted.value },
          },
        },
        { session, projection: { _id: 0, resource: 1 }, sort: { id: 1 } },
      );
      if (existing) {
        return { resource: existing.resource, created: false };
      }
    }
    const id = options?.id ?? this.#generateId();
    assertId(id);
    if (options?.id !== undefined) {
      const taken = await this.#c.resources.findOne(
        { tenant, type, id },
        { session, projection: { _id: 1 } },
      );
      if (taken) {
        throw new OperationOutcomeError(conflict(`${type}/${id} already exists`));
      }
    }
    const stored = await this.#write(session, tenant, type, id, resource, 1, undefined, wanted);
    return { resource: stored, created: true };
  }

  async #update(
    session: ClientSession,
    tenant: TenantId,
    resource: Resource & { id: string },
    options?: UpdateOptions,
  ): Promise<WriteResult> {
    const type = resourceTypeOf(resource);
    assertId(resource.id);
    const current = await this.#c.resources.findOne(
      { tenant, type, id: resource.id },
      { session, projection: { _id: 0, version: 1 } },
    );
    if (!current) {
      if (options?.upsert === false) {
        throw new OperationOutcomeError(notFound);
      }
      if (options?.ifMatchVersion !== undefined) {
        throw new OperationOutcomeError(preconditionFailed);
      }
      const stored = await this.#write(session, tenant, type, resource.id, resource, 1, undefined);
      return { resource: stored, created: true };
    }
    if (options?.ifMatchVersion !== undefined && options.ifMatchVersion !== String(current.version)) {
      throw new OperationOutcomeError(preconditionFailed);
    }
    const stored = await this.#write(
      session,
      tenant,
      type,
      resource.id,
      resource,
      current.version + 1,
      current.version,
    );
    return { resource: stored, created: true };
  }

  /**
   * Writes one version: identifier claims, the current document (insert, or replace filtered on
   * the previous version) and the history document, all in the caller's transaction.
   */
  async #write(
    session: ClientSession,
    tenant: TenantId,
    type: string,
    id: string,
    resource: Resource,
    version: number,
    previousVersion: number | undefined,
    extraClaim?: { readonly system?: string; readonly value: string },
  ): Promise<StoredResource> {
    const lastUpdated = this.#now().toISOString();
    const stored = stamp(resource, id, version, lastUpdated);
    const fields = toSearchFields(indexResource(stored), normalizeString);

    // Claims: a write conflict with any concurrent transaction touching the same identifier.
    const claims = new Map<string, { s: string; v: string }>();
    for (const ident of extraClaim
      ? [...fields.ident, { s: extraClaim.system ?? '', v: extraClaim.value }]
      : fields.ident) {
      claims.set(JSON.stringify([ident.s, ident.v]), ident);
    }
    for (const claim of claims.values()) {
      await this.#c.identifiers.updateOne(
        { tenant, type, system: claim.s, value: claim.v },
        { $set: { lastId: id, updatedAt: lastUpdated } },
        { session, upsert: true },
      );
    }

    const doc: ResourceDoc = { tenant, type, id, version, lastUpdated, resource: stored, ...fields };
    if (previousVersion === undefined) {
      await this.#c.resources.insertOne(doc, { session });
    } else {
      const replaced = await this.#c.resources.replaceOne(
        { tenant, type, id, version: previousVersion },
        doc,
        { session },
      );
      if (replaced.matchedCount !== 1) {
        // Cannot happen under snapshot isolation (a concurrent commit is a write conflict); kept
        // as a guard for the optimistic-concurrency filter.
        throw new OperationOutcomeError(preconditionFailed);
      }
    }
    await this.#c.history.insertOne(
      { tenant, type, id, version, lastUpdated, resource: stored },
      { session },
    );
    return stored;
  }

  async read(tenant: TenantId, resourceType: string, id: string): Promise<StoredResource> {
    const doc = await this.#c.resources.findOne(
      { tenant, type: resourceType, id },
      { projection: { _id: 0, resource: 1 } },
    );
    if (!doc) {
      throw new OperationOutcomeError(notFound);
    }
    return doc.resource;
  }

  async vread(
    tenant: TenantId,
    resourceType: string,
    id: string,
    versionId: string,
  ): Promise<StoredResource> {
    if (!VERSION_PATTERN.test(versionId)) {
      throw new OperationOutcomeError(notFound);
    }
    const doc = await this.#c.history.findOne(
      { tenant, type: resourceType, id, version: Number(versionId) },
      { projection: { _id: 0, resource: 1 } },
    );
    if (!doc) {
      throw new OperationOutcomeError(notFound);
    }
    return doc.resource;
  }

  async history(
    tenant: TenantId,
    resourceType: string,
    id: string,
    options?: { count?: number; offset?: number; since?: string },
  ): Promise<{ resources: StoredResource[]; total: number }> {
    const key = { tenant, type: resourceType, id };
    const filter =
      options?.since !== undefined
        ? { ...key, lastUpdated: { $gte: canonicalInstant(options.since, '_since') } }
        : key;
    const offset = options?.offset ?? 0;
    const count = options?.count;
    if (
      !Number.isInteger(offset) ||
      offset < 0 ||
      (count !== undefined && (!Number.isInteger(count) || count < 0))
    ) {
      throw new OperationOutcomeError(badRequest('Invalid history paging'));
    }
    const [docs, total] = await Promise.all([
      count === 0
        ? Promise.resolve([])
        : this.#c.history
            .find(filter, {
              projection: { _id: 0, resource: 1 },
              sort: { version: -1 },
              skip: offset,
              ...(count ? { limit: count } : {}),
            })
            .toArray(),
      this.#c.history.countDocuments(filter),
    ]);
    if (
      total === 0 &&
      (options?.since === undefined || !(await this.#c.history.findOne(key, { projection: { _id: 1 } })))
    ) {
      throw new OperationOutcomeError(notFound);
    }
    return { resources: docs.map((d) => d.resource), total };
  }

  async search(tenant: TenantId, query: StoreQuery): Promise<StoreSearchResult> {
    assertPaging(query);
    if (!RESOURCE_TYPE_PATTERN.test(query.resourceType)) {
      throw new OperationOutcomeError(badRequest(`Invalid resource type: ${query.resourceType}`));
    }
    const filter = toMongoFilter(tenant, query, normalizeString);
    const sort = toMongoSort(query.sort);
    const [docs, total] = await Promise.all([
      query.count === 0
        ? Promise.resolve([])
        : this.#c.resources
            .find(filter, {
              projection: { _id: 0, resource: 1 },
              sort,
              skip: query.offset,
              limit: query.count,
              allowDiskUse: true,
            })
            .toArray(),
      query.total ? this.#c.resources.countDocuments(filter) : Promise.resolve(undefined),
    ]);
    const resources = docs.map((d) => d.resource);
    return total === undefined ? { resources } : { resources, total };
  }

  // ----- JobQueue -----------------------------------------------------------------------------

  enqueue(tenant: TenantId, request: EnqueueRequest): Promise<EnqueueResult> {
    return this.#enqueue(tenant, request, undefined);
  }

  async #enqueue(
    tenant: TenantId,
    request: EnqueueRequest,
    session: ClientSession | undefined,
  ): Promise<EnqueueResult> {
    const now = this.#now();
    const runAt = request.runAt !== undefined ? isoInstant(request.runAt, 'runAt') : now;
    const maxAttempts = request.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new OperationOutcomeError(badRequest(`Invalid maxAttempts: ${maxAttempts}`));
    }
    const key = { tenant, queue: request.queue, key: request.key };
    const jobId = randomUUID();
    const insert: JobDoc = {
      _id: jobId,
      ...key,
      payload: JSON.stringify(request.payload ?? null),
      state: 'ready',
      attempts: 0,
      maxAttempts,
      runAt,
      createdAt: now,
      updatedAt: now,
      seq: new ObjectId(),
    };
    const upsert = (): Promise<Document> =>
      this.#c.jobs.updateOne(
        key,
        { $setOnInsert: insert },
        { upsert: true, ...(session ? { session } : {}) },
      );
    let result: Document;
    if (session) {
      // Inside a transaction errors must propagate (the driver decides about retries).
      result = await upsert();
    } else {
      try {
        result = await upsert();
      } catch (err) {
        if (!isDuplicateKeyError(err)) {
          throw err;
        }
        // Lost the race with a concurrent enqueue of the same key: that job is the one.
        result = { upsertedCount: 0 };
      }
    }
    if (result['upsertedCount'] === 1) {
      return { jobId, created: true };
    }
    const existing = await this.#c.jobs.findOne(key, {
      projection: { _id: 1 },
      ...(session ? { session } : {}),
    });
    if (!existing) {
      throw new Error(`Job ${request.queue}/${request.key} vanished during enqueue`);
    }
    return { jobId: existing._id, created: false };
  }

  async lease(options: LeaseOptions): Promise<Job[]> {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      return [];
    }
    if (!Number.isFinite(options.leaseMs) || options.leaseMs < 0) {
      throw new OperationOutcomeError(badRequest(`Invalid leaseMs: ${options.leaseMs}`));
    }
    const now = options.now;
    const leaseExpiresAt = new Date(now.getTime() + options.leaseMs);
    // A lease that expired on the job's last allowed attempt dead-letters the job instead of
    // re-leasing it (a job that kills its worker every time must not loop forever).
    await this.#c.jobs.updateMany(
      {
        queue: options.queue,
        state: 'leased',
        leaseExpiresAt: { $lte: now },
        $expr: { $gte: ['$attempts', '$maxAttempts'] },
      },
      [
        {
          $set: {
            state: 'dead',
            updatedAt: now,
            lastError: { $ifNull: ['$lastError', 'lease expired on the final attempt'] },
          },
        },
        { $unset: ['leaseToken', 'leaseExpiresAt'] },
      ],
    );
    const leased: Job[] = [];
    const leasedIds: string[] = [];
    while (leased.length < options.limit) {
      // One atomic findOneAndUpdate per job: the filter is re-checked against the document as
      // it is written, so two processes never both lease it (the loser matches another job or
      // none). `$nin` keeps a zero-length lease from being taken twice by this same call.
      const doc = await this.#c.jobs.findOneAndUpdate(
        {
          queue: options.queue,
          $or: [
            { state: 'ready', runAt: { $lte: now } },
            { state: 'leased', leaseExpiresAt: { $lte: now } },
          ],
          ...(leasedIds.length > 0 ? { _id: { $nin: leasedIds } } : {}),
        },
        {
          $set: { state: 'leased', leaseToken: randomUUID(), leaseExpiresAt, updatedAt: now },
          $inc: { attempts: 1 },
        },
        { sort: { runAt: 1, _id: 1 }, returnDocument: 'after' },
      );
      if (!doc) {
        break;
      }
      leasedIds.push(doc._id);
      leased.push(toJob(doc));
    }
    return leased;
  }

  async ack(jobId: string, leaseToken: string): Promise<boolean> {
    const result = await this.#c.jobs.updateOne(
      { _id: jobId, state: 'leased', leaseToken },
      { $set: { state: 'done', updatedAt: this.#now() }, $unset: { leaseToken: '', leaseExpiresAt: '' } },
    );
    return result.modifiedCount === 1;
  }

  async fail(
    jobId: string,
    leaseToken: string,
    failure: { error: string; retryable: boolean; now: Date; retryAt?: string },
  ): Promise<boolean> {
    const filter = { _id: jobId, state: 'leased' as const, leaseToken };
    const job = await this.#c.jobs.findOne(filter, { projection: { attempts: 1, maxAttempts: 1 } });
    if (!job) {
      return false;
    }
    const retry = failure.retryable && job.attempts < job.maxAttempts;
    const runAt = !retry
      ? undefined
      : failure.retryAt !== undefined
        ? isoInstant(failure.retryAt, 'retryAt')
        : new Date(failure.now.getTime() + retryDelayMs(job.attempts));
    const result = await this.#c.jobs.updateOne(filter, {
      $set: {
        state: retry ? 'ready' : 'dead',
        lastError: failure.error,
        updatedAt: failure.now,
        ...(runAt ? { runAt } : {}),
      },
      $unset: { leaseToken: '', leaseExpiresAt: '' },
    });
    return result.modifiedCount === 1;
  }

  async getJob(jobId: string): Promise<Job | undefined> {
    const doc = await this.#c.jobs.findOne({ _id: jobId });
    return doc ? toJob(doc) : undefined;
  }

  async listJobs(tenant: TenantId, queue: string, state: JobState, limit: number): Promise<Job[]> {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new OperationOutcomeError(badRequest(`Invalid limit: ${limit}`));
    }
    if (limit === 0) {
      return [];
    }
    const docs = await this.#c.jobs
      .find({ tenant, queue, state }, { sort: { createdAt: 1, seq: 1 }, limit })
      .toArray();
    return docs.map(toJob);
  }

  // ----- ClientRegistry (AuthStore) -----------------------------------------------------------

  async createClient(client: ClientRecord): Promise<void> {
    const doc: ClientDoc = {
      _id: client.clientId,
      tenant: client.tenant,
      ...(client.name !== undefined ? { name: client.name } : {}),
      scope: client.scope,
      jwks: client.jwks,
      createdAt: client.createdAt,
      ...(client.disabled !== undefined ? { disabled: client.disabled } : {}),
    };
    try {
      await this.#c.clients.insertOne(doc);
    } catch (err) {
      if (isDuplicateKeyError(err)) {
        throw new OperationOutcomeError(conflict(`Client ${client.clientId} already exists`), { cause: err });
      }
      throw err;
    }
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const doc = await this.#c.clients.findOne({ _id: clientId });
    return doc ? toClientRecord(doc) : undefined;
  }

  async listClients(tenant?: TenantId): Promise<ClientRecord[]> {
    const docs = await this.#c.clients
      .find(tenant === undefined ? {} : { tenant }, { sort: { createdAt: 1, _id: 1 } })
      .toArray();
    return docs.map(toClientRecord);
  }

  async updateClient(clientId: string, update: ClientUpdate): Promise<ClientRecord | undefined> {
    const set: Partial<ClientDoc> = {
      ...(update.disabled !== undefined ? { disabled: update.disabled } : {}),
      ...(update.jwks !== undefined ? { jwks: { keys: update.jwks.keys.map((k) => ({ ...k })) } } : {}),
    };
    const doc =
      Object.keys(set).length === 0
        ? await this.#c.clients.findOne({ _id: clientId })
        : await this.#c.clients.findOneAndUpdate(
            { _id: clientId },
            { $set: set },
            { returnDocument: 'after' },
          );
    return doc ? toClientRecord(doc) : undefined;
  }

  async recordJti(clientId: string, jti: string, expiresAt: string, now: Date): Promise<boolean> {
    const expires = isoInstant(expiresAt, 'expiresAt');
    try {
      await this.#c.jti.insertOne({ clientId, jti, expiresAt: expires });
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) {
        throw err;
      }
    }
    // Seen before. An entry already expired (the TTL monitor runs only every 60 s) does not count:
    // take it over atomically, so only one of two concurrent callers wins.
    const renewed = await this.#c.jti.updateOne(
      { clientId, jti, expiresAt: { $lte: now } },
      { $set: { expiresAt: expires } },
    );
    return renewed.modifiedCount === 1;
  }

  async getOrInitSetting(key: string, init: () => string): Promise<string> {
    const found = await this.#c.settings.findOne({ _id: key });
    if (found) {
      return found.value;
    }
    try {
      await this.#c.settings.updateOne({ _id: key }, { $setOnInsert: { value: init() } }, { upsert: true });
    } catch (err) {
      // Two first writers raced on the _id: the other one won, read its value below.
      if (!isDuplicateKeyError(err)) {
        throw err;
      }
    }
    const doc = await this.#c.settings.findOne({ _id: key });
    if (!doc) {
      throw new Error(`Setting ${key} vanished after initialization`);
    }
    return doc.value;
  }
}
