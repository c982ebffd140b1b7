/**
 * The FhirRepository that @medplum/fhir-router drives, bound to one authenticated client: its
 * tenant (every store call names it), its scopes (checked before any store access) and its audit
 * trail (an AuditEvent per PHI read, written atomically with each PHI write).
 */
import { randomUUID } from 'node:crypto';
import {
  allOk,
  badRequest,
  created,
  formatSearchQuery,
  normalizeErrorString,
  notFound,
  OperationOutcomeError,
} from '@medplum/core';
import type { SearchRequest, WithId } from '@medplum/core';
import { FhirRepository } from '@medplum/fhir-router';
import type { ReadHistoryOptions, UpdateResourceOptions } from '@medplum/fhir-router';
import type {
  AuditEvent,
  Bundle,
  BundleEntry,
  OperationOutcome,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import type { GroupCommit } from '../store/group-commit.ts';
import type { BatchOperation, BatchResult, Store, StoredJson, StoredResource } from '../store/port.ts';
import { compileExpression, normalizeReference } from '../store/search-index.ts';
import { getSearchParameter, SEARCH_PARAMETERS } from '../store/search-parameters.ts';
import { buildAuditEvent, newAuditEventId, patientsOf } from './audit.ts';
import type { AuditWriter } from './audit-writer.ts';
import type { AuditedInteraction } from './audit.ts';
import { isSupported, NON_PHI_TYPES } from './capability.ts';
import type { TypeInteraction } from './capability.ts';
import { validateWithOwnProfiles } from './definitions.ts';
import { toStoreQuery } from './search-query.ts';

/** SMART scope interactions (the letters of v2 scopes: c r u d s). */
export type ScopeInteraction = 'create' | 'read' | 'update' | 'delete' | 'search';

export interface AccessPolicy {
  readonly tenant: string;
  readonly clientId: string;
  /** Throws (403 insufficient_scope) when the client's scopes do not permit the interaction. */
  assert(resourceType: string, interaction: ScopeInteraction): void;
}

export interface RepositoryContext {
  readonly store: Store;
  /** Durable, group-committed AuditEvents for reads. */
  readonly audit: AuditWriter;
  /**
   * Group commit for creates and updates (each with its AuditEvent): writes of concurrent requests
   * share one transaction; without it each write is its own.
   */
  readonly commits?: GroupCommit;
  readonly access: AccessPolicy;
  /** FHIR base URL, for fullUrl and paging links. */
  readonly fhirBaseUrl: string;
  readonly publicUrl: string;
  readonly requestId?: string;
  readonly now: () => Date;
}

type WithIdResource = Resource & { id: string };

function methodNotAllowed(message: string): OperationOutcomeError {
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    id: 'method-not-allowed',
    issue: [{ severity: 'error', code: 'not-supported', details: { text: message } }],
  });
}

export class DriplineRepository extends FhirRepository {
  private readonly ctx: RepositoryContext;

  constructor(ctx: RepositoryContext) {
    super();
    this.ctx = ctx;
  }

  setMode(): void {
    // One store, no reader/writer split.
  }

  generateId(): string {
    return randomUUID();
  }

  // -------------------------------------------------------------------------------------------
  // Writes
  // -------------------------------------------------------------------------------------------

  async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    const prepared = this.prepareWrite(resource, 'create');
    const id = this.generateId();
    const results = await this.writeBatch([
      { op: 'create', resource: prepared, options: { id } },
      ...this.auditOps('create', [`${resource.resourceType}/${id}`], patientsOf({ ...prepared, id })),
    ]);
    const first = results[0];
    if (first?.op !== 'create') {
      throw new Error('store returned no create result');
    }
    return first.result.resource as unknown as WithId<T>;
  }

  override async conditionalCreate<T extends Resource>(
    resource: T,
    search: SearchRequest<T>,
  ): Promise<{ resource: WithId<T>; outcome: OperationOutcome }> {
    const filters = search.filters ?? [];
    const only = filters[0];
    if (
      filters.length !== 1 ||
      only?.code !== 'identifier' ||
      only.operator !== 'eq' ||
      only.value.includes(',')
    ) {
      throw new OperationOutcomeError(
        badRequest('If-None-Exist supports exactly one identifier=system|value criterion', 'If-None-Exist'),
      );
    }
    const bar = only.value.indexOf('|');
    const identifier =
      bar < 0
        ? { value: only.value }
        : { system: only.value.slice(0, bar) || undefined, value: only.value.slice(bar + 1) };
    if (identifier.value === '') {
      throw new OperationOutcomeError(badRequest('If-None-Exist identifier needs a value', 'If-None-Exist'));
    }
    const prepared = this.prepareWrite(resource, 'create');
    const id = this.generateId();
    const results = await this.ctx.store.resources.writeBatch(this.ctx.access.tenant, [
      {
        op: 'create',
        resource: prepared,
        options: {
          id,
          ifNoneExistIdentifier: identifier.system
            ? { system: identifier.system, value: identifier.value }
            : { value: identifier.value },
        },
      },
      ...this.auditOps('create', [`${resource.resourceType}/${id}`], patientsOf({ ...prepared, id })),
    ]);
    const first = results[0];
    if (first?.op !== 'create') {
      throw new Error('store returned no create result');
    }
    return {
      resource: first.result.resource as unknown as WithId<T>,
      outcome: first.result.created ? created : allOk,
    };
  }

  async updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    if (!resource.id) {
      throw new OperationOutcomeError(badRequest('Missing id', 'id'));
    }
    const prepared = this.prepareWrite(resource, 'update') as WithIdResource;
    const results = await this.writeBatch([
      {
        op: 'update',
        resource: prepared,
        options: { upsert: false, ...(options?.ifMatch ? { ifMatchVersion: options.ifMatch } : {}) },
      },
      ...this.auditOps('update', [`${resource.resourceType}/${resource.id}`], patientsOf(prepared)),
    ]);
    const first = results[0];
    if (first?.op !== 'update') {
      throw new Error('store returned no update result');
    }
    return first.result.resource as unknown as WithId<T>;
  }

  deleteResource(): Promise<void> {
    return Promise.reject(methodNotAllowed('Delete is not supported'));
  }

  patchResource<T extends Resource>(): Promise<WithId<T>> {
    return Promise.reject(methodNotAllowed('Patch is not supported'));
  }

  // -------------------------------------------------------------------------------------------
  // Reads
  // -------------------------------------------------------------------------------------------

  async readResource<T extends Resource>(resourceType: string, id: string): Promise<WithId<T>> {
    this.checkInteraction(resourceType, 'read', 'read');
    const resource = await this.ctx.store.resources.read(this.ctx.access.tenant, resourceType, id);
    await this.auditRead('read', [`${resourceType}/${id}`], [resource]);
    return resource as unknown as WithId<T>;
  }

  /**
   * The read interaction as the stored JSON text (what `readResource` returns, serialized), audited
   * alike: the FHIR read route answers with the text as stored instead of parsing it and
   * serializing it again. A Patient names itself, so its text is not even parsed.
   */
  async readResourceJson(resourceType: string, id: string): Promise<StoredJson> {
    this.checkInteraction(resourceType, 'read', 'read');
    const stored = await this.ctx.store.resources.readJson(this.ctx.access.tenant, resourceType, id);
    if (!NON_PHI_TYPES.has(resourceType)) {
      const patients =
        resourceType === 'Patient' ? [`Patient/${id}`] : patientsOf(JSON.parse(stored.json) as Resource);
      await this.ctx.audit.write(
        this.ctx.access.tenant,
        this.auditEvent('read', [`${resourceType}/${id}`], patients),
      );
    }
    return stored;
  }

  async readReference<T extends Resource>(reference: Reference<T>): Promise<WithId<T>> {
    const normalized = reference.reference ? normalizeReference(reference.reference) : undefined;
    if (!normalized) {
      throw new OperationOutcomeError(badRequest('Invalid reference'));
    }
    const [type, id] = normalized.split('/') as [string, string];
    return this.readResource<T>(type, id);
  }

  async readReferences<T extends Resource>(references: readonly Reference<T>[]): Promise<(T | Error)[]> {
    return Promise.all(
      references.map((r) =>
        this.readReference(r).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
      ),
    );
  }

  async readVersion<T extends Resource>(resourceType: string, id: string, vid: string): Promise<WithId<T>> {
    this.checkInteraction(resourceType, 'vread', 'read');
    const resource = await this.ctx.store.resources.vread(this.ctx.access.tenant, resourceType, id, vid);
    await this.auditRead('vread', [`${resourceType}/${id}/_history/${vid}`], [resource]);
    return resource as unknown as WithId<T>;
  }

  async readHistory<T extends Resource>(
    resourceType: string,
    id: string,
    options?: ReadHistoryOptions,
  ): Promise<Bundle<WithId<T>>> {
    this.checkInteraction(resourceType, 'history-instance', 'read');
    const count = options?.limit ?? 100;
    const offset = options?.offset ?? 0;
    if (!Number.isInteger(count) || count < 1 || count > 1000 || !Number.isInteger(offset) || offset < 0) {
      throw new OperationOutcomeError(badRequest('_count must be 1..1000 and _offset ≥ 0'));
    }
    const { resources, total } = await this.ctx.store.resources.history(
      this.ctx.access.tenant,
      resourceType,
      id,
      {
        count,
        offset,
      },
    );
    if (total === 0) {
      throw new OperationOutcomeError(notFound);
    }
    await this.auditRead('history-instance', [`${resourceType}/${id}`], resources);
    return {
      resourceType: 'Bundle',
      type: 'history',
      total,
      entry: resources.map((r) => ({
        fullUrl: this.fullUrl(r),
        resource: r as unknown as WithId<T>,
        request: { method: r.meta.versionId === '1' ? 'POST' : 'PUT', url: `${resourceType}/${r.id}` },
        response: {
          status: r.meta.versionId === '1' ? '201 Created' : '200 OK',
          lastModified: r.meta.lastUpdated,
        },
      })),
    };
  }

  async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const resourceType = searchRequest.resourceType;
    this.checkInteraction(resourceType, 'search-type', 'search');
    const { query, include, revInclude } = toStoreQuery(searchRequest);
    // What _include and _revinclude may add needs its own scopes, checked before anything is read
    // so that the answer does not depend on what happens to be stored.
    for (const target of revInclude) {
      this.checkInteraction(target.resourceType, 'search-type', 'search');
    }
    for (const target of include) {
      const definition = getSearchParameter(target.resourceType, target.searchParam);
      const types = target.targetType ? [target.targetType] : (definition?.targets ?? []);
      for (const type of types.filter((t) => SEARCH_PARAMETERS[t] !== undefined)) {
        this.checkInteraction(type, 'read', 'read');
      }
    }
    const tenant = this.ctx.access.tenant;
    const result = await this.ctx.store.resources.search(tenant, query);
    const entries: BundleEntry[] = result.resources.map((r) => ({
      fullUrl: this.fullUrl(r),
      resource: r,
      search: { mode: 'match' },
    }));

    const extra: StoredResource[] = [];
    for (const target of include) {
      const definition = getSearchParameter(target.resourceType, target.searchParam);
      const refs = new Set<string>();
      for (const r of result.resources) {
        for (const value of definition ? compileExpression(definition.expression)(r) : []) {
          const ref = (value as Reference | undefined)?.reference;
          const normalized = ref ? normalizeReference(ref) : undefined;
          if (normalized && (!target.targetType || normalized.startsWith(`${target.targetType}/`))) {
            refs.add(normalized);
          }
        }
      }
      for (const ref of refs) {
        const [type, id] = ref.split('/') as [string, string];
        this.checkInteraction(type, 'read', 'read');
        try {
          extra.push(await this.ctx.store.resources.read(tenant, type, id));
        } catch (err) {
          if (!(err instanceof OperationOutcomeError) || err.outcome.id !== 'not-found') {
            throw err;
          }
        }
      }
    }
    if (revInclude.length > 0 && result.resources.length > 0) {
      const matchRefs = result.resources.map((r) => `${r.resourceType}/${r.id}`);
      for (const target of revInclude) {
        const revs = await this.ctx.store.resources.search(tenant, {
          resourceType: target.resourceType,
          filters: [{ code: target.searchParam, kind: 'reference', values: matchRefs }],
          sort: [],
          count: 1000,
          offset: 0,
          total: false,
        });
        extra.push(...revs.resources);
      }
    }
    const seen = new Set(result.resources.map((r) => `${r.resourceType}/${r.id}`));
    for (const r of extra) {
      const key = `${r.resourceType}/${r.id}`;
      if (!seen.has(key)) {
        seen.add(key);
        entries.push({ fullUrl: this.fullUrl(r), resource: r, search: { mode: 'include' } });
      }
    }

    const touched = [...result.resources, ...extra];
    await this.auditRead(
      'search-type',
      touched.map((r) => `${r.resourceType}/${r.id}`),
      touched,
      `${resourceType}${formatSearchQuery(searchRequest)}`,
    );

    const link: Bundle['link'] = [{ relation: 'self', url: this.searchUrl(searchRequest, query.offset) }];
    const hasNext =
      result.total !== undefined
        ? query.offset + query.count < result.total
        : result.resources.length === query.count;
    if (query.count > 0 && hasNext) {
      link.push({ relation: 'next', url: this.searchUrl(searchRequest, query.offset + query.count) });
    }
    if (query.offset > 0) {
      link.push({
        relation: 'previous',
        url: this.searchUrl(searchRequest, Math.max(0, query.offset - query.count)),
      });
    }
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      ...(result.total !== undefined ? { total: result.total } : {}),
      link,
      entry: entries as BundleEntry<WithId<T>>[],
    };
  }

  searchByReference<T extends Resource>(): Promise<Record<string, WithId<T>[]>> {
    return Promise.reject(methodNotAllowed('Search by reference is not supported'));
  }

  async withTransaction<TResult>(callback: (txRepo: this) => Promise<TResult>): Promise<TResult> {
    // Multi-resource transactions go through Store.writeBatch, not through this repository.
    return callback(this);
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  private checkInteraction(
    resourceType: string,
    interaction: TypeInteraction,
    scope: ScopeInteraction,
  ): void {
    if (!SEARCH_PARAMETERS[resourceType]) {
      throw new OperationOutcomeError({
        ...notFound,
        issue: [
          {
            severity: 'error',
            code: 'not-found',
            details: { text: `Unsupported resource type ${resourceType}` },
          },
        ],
      });
    }
    if (!isSupported(resourceType, interaction)) {
      throw methodNotAllowed(`${interaction} is not supported for ${resourceType}`);
    }
    this.ctx.access.assert(resourceType, scope);
  }

  /**
   * Scope and support checks, then base R4 (and Dripline profile) validation; returns what to
   * store: the resource without the server-assigned id (on create), versionId and lastUpdated.
   * The copy is shallow (a new top level and meta; nested values are the caller's): the repository
   * is driven by the FHIR routes with the request's own parsed body, which nothing else holds, and a
   * deep copy (structuredClone) of every written resource cost more than its validation.
   */
  private prepareWrite<T extends Resource>(resource: T, interaction: 'create' | 'update'): T {
    this.checkInteraction(resource.resourceType, interaction, interaction);
    try {
      validateWithOwnProfiles(resource);
    } catch (err) {
      if (err instanceof OperationOutcomeError) {
        throw err;
      }
      throw new OperationOutcomeError(badRequest(normalizeErrorString(err)));
    }
    const copy = { ...resource };
    if (copy.meta) {
      const { versionId: _versionId, lastUpdated: _lastUpdated, ...meta } = copy.meta;
      copy.meta = meta;
    }
    if (interaction === 'create') {
      delete copy.id;
    }
    return copy;
  }

  /** A write and its AuditEvent: group-committed with concurrent requests' writes when configured. */
  private writeBatch(operations: readonly BatchOperation[]): Promise<BatchResult[]> {
    return this.ctx.commits
      ? this.ctx.commits.write(this.ctx.access.tenant, operations)
      : this.ctx.store.resources.writeBatch(this.ctx.access.tenant, operations);
  }

  private auditOps(
    interaction: 'create' | 'update',
    resources: string[],
    patients: string[],
  ): { op: 'create'; resource: Resource & { id: string }; options: { id: string; indexLater: true } }[] {
    const type = resources[0]?.split('/')[0] ?? '';
    if (NON_PHI_TYPES.has(type)) {
      return [];
    }
    const event = this.auditEvent(interaction, resources, patients);
    // A new v7 id, made for this write: the store may index it after the write is answered.
    return [{ op: 'create', resource: event, options: { id: event.id, indexLater: true } }];
  }

  private async auditRead(
    interaction: AuditedInteraction,
    references: string[],
    resources: readonly Resource[],
    query?: string,
  ): Promise<void> {
    const phi = resources.filter((r) => !NON_PHI_TYPES.has(r.resourceType));
    if (phi.length === 0 && (query === undefined || NON_PHI_TYPES.has(query.split('?')[0] ?? ''))) {
      return;
    }
    const patients = phi.flatMap((r) => patientsOf(r));
    const event = this.auditEvent(interaction, references, patients, query);
    await this.ctx.audit.write(this.ctx.access.tenant, event);
  }

  private auditEvent(
    interaction: AuditedInteraction,
    resources: string[],
    patients: string[],
    query?: string,
  ): AuditEvent & { id: string } {
    return buildAuditEvent({
      id: newAuditEventId(),
      now: this.ctx.now(),
      interaction,
      outcome: '0',
      clientId: this.ctx.access.clientId,
      resources,
      patients,
      publicUrl: this.ctx.publicUrl,
      ...(this.ctx.requestId ? { requestId: this.ctx.requestId } : {}),
      ...(query !== undefined ? { query } : {}),
    });
  }

  private fullUrl(resource: StoredResource): string {
    return `${this.ctx.fhirBaseUrl}/${resource.resourceType}/${resource.id}`;
  }

  private searchUrl(request: SearchRequest, offset: number): string {
    return `${this.ctx.fhirBaseUrl}/${request.resourceType}${formatSearchQuery({ ...request, offset })}`;
  }
}
