/**
 * ResourceStore over MongoDB: versioned writes (current document, history document and identifier
 * claims in one transaction), reads, history, search, and the re-derivation of search fields when
 * the search parameters changed.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, conflict, notFound, OperationOutcomeError, preconditionFailed } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { ClientSession, MongoClient, ObjectId } from 'mongodb';
import type {
  BatchOperation,
  BatchResult,
  CreateOptions,
  ResourceStore,
  StoreQuery,
  StoreSearchResult,
  StoredJson,
  StoredResource,
  TenantId,
  UpdateOptions,
  VersionCheck,
  WriteMark,
  WriteResult,
  WrittenResource,
} from '../port.ts';
import { appendOnlyConflict, isAppendOnlyType } from '../append-only.ts';
import { indexResource, normalizeString, SEARCH_INDEX_VERSION } from '../search-index.ts';
import type { Collections, ResourceDoc } from './collections.ts';
import { runTransaction } from './connection.ts';
import type { MongoJobQueue } from './jobs.ts';
import { assertPaging, canonicalInstant, toMongoFilter, toMongoSort, toSearchFields } from './query.ts';
import { assertId, RESOURCE_TYPE_PATTERN, resourceTypeOf, VERSION_PATTERN } from './values.ts';

export interface MongoResourceStoreDeps {
  readonly client: MongoClient;
  readonly collections: Collections;
  /** Enqueues a batch's jobs in the batch's own transaction. */
  readonly jobs: MongoJobQueue;
  readonly now: () => Date;
  readonly generateId: () => string;
}

function stamp(resource: Resource, id: string, version: number, lastUpdated: string): StoredResource {
  return {
    ...resource,
    id,
    meta: { ...resource.meta, versionId: String(version), lastUpdated },
  };
}

/**
 * Re-derives the search fields of every current resource document when they were written under
 * another SEARCH_INDEX_VERSION (settings `search_index`), 500 documents per bulk write, in _id
 * order, reporting progress. Idempotent: an interrupted reindex is redone at the next open.
 */
export async function reindexIfNeeded(
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

export class MongoResourceStore implements ResourceStore {
  readonly #client: MongoClient;
  readonly #c: Collections;
  readonly #jobs: MongoJobQueue;
  readonly #now: () => Date;
  readonly #generateId: () => string;

  constructor(deps: MongoResourceStoreDeps) {
    this.#client = deps.client;
    this.#c = deps.collections;
    this.#jobs = deps.jobs;
    this.#now = deps.now;
    this.#generateId = deps.generateId;
  }

  #transaction<T>(fn: (session: ClientSession) => Promise<T>): Promise<T> {
    return runTransaction(this.#client, fn);
  }

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
            results.push({
              op: 'enqueue',
              result: await this.#jobs.enqueueInSession(tenant, operation.job, session),
            });
            break;
          case 'check':
            await this.#checkVersion(session, tenant, operation);
            results.push({ op: 'check' });
            break;
        }
      }
      return results;
    });
  }

  /**
   * Not kept here: a replica set's commits have no order this adapter could read back cheaply (an
   * oplog reader or a counter document every write would contend on), so callers read again.
   */
  writeMark(_tenant: TenantId): Promise<WriteMark | undefined> {
    return Promise.resolve(undefined);
  }

  writtenSince(): Promise<WrittenResource[] | undefined> {
    return Promise.resolve(undefined);
  }

  /**
   * The check writes the resource's document (a fresh `checkedBy`): a transaction reads a snapshot,
   * so a check that only read would let a concurrent write of the resource commit beside it; a
   * write makes the two conflict, and one of them is retried.
   */
  async #checkVersion(session: ClientSession, tenant: TenantId, check: VersionCheck): Promise<void> {
    const touched = await this.#c.resources.updateOne(
      { tenant, type: check.resourceType, id: check.id, version: Number(check.versionId) },
      { $set: { checkedBy: randomUUID() } },
      { session },
    );
    if (touched.matchedCount === 0) {
      throw new OperationOutcomeError(preconditionFailed);
    }
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
    if (isAppendOnlyType(type)) {
      throw appendOnlyConflict(type, resource.id);
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

  async readJson(tenant: TenantId, resourceType: string, id: string): Promise<StoredJson> {
    const resource = await this.read(tenant, resourceType, id);
    return {
      json: JSON.stringify(resource),
      versionId: resource.meta.versionId,
      lastUpdated: resource.meta.lastUpdated,
    };
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
    const sort = toMongoSort(query.resourceType, query.sort);
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
}
