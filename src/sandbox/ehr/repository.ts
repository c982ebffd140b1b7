/**
 * The sandbox EHR's data: @medplum/fhir-router's in-memory repository, with one write path that
 * every create and update takes (HTTP through FhirRouter, and direct calls from tests and replay)
 * so each write can be checked before it is stored and notified after, `_id` searches answered
 * from the ids (as a real server's index does) rather than by matching every resource of the type,
 * and sorted searches ordered on keys read once per resource.
 */
import {
  evalFhirPath,
  globalSchema,
  gone,
  matchesSearchRequest,
  Operator,
  OperationOutcomeError,
} from '@medplum/core';
import type { SearchRequest, SortRule, WithId } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { CreateResourceOptions } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { WriteInteraction } from './subscriptions.ts';

export interface WriteHooks {
  /** May adjust the resource (e.g. set a Subscription's status) or throw OperationOutcomeError to refuse it. */
  beforeWrite(resource: Resource, interaction: WriteInteraction, previous: Resource | undefined): Resource;
  /** Runs after the write is stored, before the write returns; must not deliver anything itself. */
  afterWrite(written: WithId<Resource>, interaction: WriteInteraction): Promise<void>;
}

/** `a.localeCompare(b)` without locales or options is this collator's `compare` (ECMA-402). */
const COLLATOR = new Intl.Collator();

export class NotifyingRepository extends MemoryRepository {
  #hooks: WriteHooks | undefined;
  /** "Type/id" of resources deleted through `deleteQuietly`: reads answer 410 Gone, like HAPI. */
  readonly #deleted = new Set<string>();

  setHooks(hooks: WriteHooks): void {
    this.#hooks = hooks;
  }

  /** MemoryRepository.updateResource also ends up here (with `update` true). */
  override async createResource<T extends Resource>(
    resource: T,
    options?: CreateResourceOptions,
    update = false,
  ): Promise<WithId<T>> {
    const hooks = this.#hooks;
    if (!hooks) {
      return super.createResource(resource, options, update);
    }
    const previous = resource.id ? await this.readCurrent(resource.resourceType, resource.id) : undefined;
    const interaction: WriteInteraction = previous ? 'update' : 'create';
    const prepared = hooks.beforeWrite(resource, interaction, previous) as T;
    const written = await super.createResource(prepared, options, update);
    this.#deleted.delete(`${written.resourceType}/${written.id}`);
    await hooks.afterWrite(written, interaction);
    return written;
  }

  override async readResource<T extends Resource>(resourceType: string, id: string): Promise<T> {
    if (this.#deleted.has(`${resourceType}/${id}`)) {
      throw new OperationOutcomeError(gone);
    }
    return super.readResource<T>(resourceType, id);
  }

  /**
   * A search with an `_id` list (`_id=a,b,c`: any of them) looks those ids up and matches the rest
   * of the search on them alone. MemoryRepository matches every resource of the type, which made
   * a batch's `_id` search cost more than its reads once the EHR held thousands of administrations.
   * Sorted searches and `_include`s take the general path.
   */
  override async search<T extends Resource>(request: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    if (request.include || request.revInclude) {
      return super.search(request);
    }
    if (request.sortRules?.length) {
      return this.#sortedSearch(request, request.sortRules);
    }
    const filters = request.filters ?? [];
    const byId = filters.find((f) => f.code === '_id' && f.operator === Operator.EQUALS);
    if (!byId) {
      return super.search(request);
    }
    const rest: SearchRequest<T> = { ...request, filters: filters.filter((f) => f !== byId) };
    const matches: WithId<T>[] = [];
    for (const id of new Set(byId.value.split(','))) {
      const current = id === '' ? undefined : await this.readCurrent(request.resourceType, id);
      if (current && matchesSearchRequest(current, rest)) {
        matches.push(current as WithId<T>);
      }
    }
    const offset = request.offset ?? 0;
    const page = matches.slice(offset, request.count === undefined ? undefined : offset + request.count);
    const entry = page.map((resource): BundleEntry<WithId<T>> => ({ search: { mode: 'match' }, resource }));
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      ...(entry.length > 0 ? { entry } : {}),
      total: matches.length,
    };
  }

  /**
   * A sorted search in MemoryRepository's order (each rule a stable sort on the JSON of its
   * expression's values, compared as `localeCompare` does, applied in turn), with each key read
   * once per resource and the page cut before anything else is done with it. MemoryRepository
   * evaluates the expression twice per comparison: ingest's catch-up sorts every resource of a
   * type by `_lastUpdated` on each window, most of what the EHR spent answering it.
   */
  async #sortedSearch<T extends Resource>(
    request: SearchRequest<T>,
    sortRules: readonly SortRule[],
  ): Promise<Bundle<WithId<T>>> {
    const { sortRules: _sort, offset: _offset, count: _count, ...unpaged } = request;
    const matched = await super.search(unpaged);
    let entries = matched.entry ?? [];
    for (const rule of sortRules) {
      const expression = globalSchema.types[request.resourceType]?.searchParams?.[rule.code]?.expression;
      if (!expression) {
        continue; // MemoryRepository's comparator answers 0: the order stays as it is
      }
      const direction = rule.descending ? -1 : 1;
      const keyed = entries.map((entry) => ({
        entry,
        key: JSON.stringify(evalFhirPath(expression, entry.resource as Resource)),
      }));
      keyed.sort((a, b) => COLLATOR.compare(a.key, b.key) * direction);
      entries = keyed.map((k) => k.entry);
    }
    const offset = request.offset ?? 0;
    const page = entries.slice(offset, request.count === undefined ? undefined : offset + request.count);
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      ...(page.length > 0 ? { entry: page } : {}),
      total: matched.total ?? entries.length,
    };
  }

  /** Deletes without notifications (the topics trigger on create/update only); later reads answer 410. */
  async deleteQuietly(resourceType: string, id: string): Promise<void> {
    await super.deleteResource(resourceType, id);
    this.#deleted.add(`${resourceType}/${id}`);
  }

  /** Stores without checks or notifications: seed data and the server's own status changes. */
  writeQuietly<T extends Resource>(resource: T): Promise<WithId<T>> {
    return super.createResource(resource, undefined, true);
  }

  /** The current version, or undefined when there is none. */
  async readCurrent(resourceType: string, id: string): Promise<Resource | undefined> {
    try {
      return await this.readResource(resourceType, id);
    } catch {
      return undefined;
    }
  }

  /** Every current resource of a type, in insertion order. */
  async listAll(resourceType: string): Promise<Resource[]> {
    const bundle = await this.search({ resourceType: resourceType as Resource['resourceType'] });
    return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is WithId<Resource> => r !== undefined);
  }
}
