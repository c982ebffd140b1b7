/**
 * Fetch-back: storing what an event is about together with what Dripline needs to bill it. The
 * resources a notification carried are used as they are; the rest is read from the connection's
 * EHR (only from its FHIR base), along the references a claim will need, two levels deep, plus a
 * new patient's coverage; several missing references of one type by one `_id` search where the EHR
 * declares it. Every ingest path (events, classic bodies, catch-ups, $events) stores
 * through here, so this is where the connection's locations are applied.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Store, StoredResource, TenantId } from '../store/port.ts';
import { readOptional } from '../store/read-optional.ts';
import { normalizeReference } from '../store/search-index.ts';
import { markDeletedAtSource, storeCopy } from './copies.ts';
import type { CopyContext, StoreCopyOptions } from './copies.ts';
import { classifyEhrError } from './ehr-port.ts';
import {
  domainEvent,
  domainEventUnlessNotCodable,
  encountersLeft,
  encountersUsing,
  recomputeFor,
  storedEncounterLookup,
} from './encounter-events.ts';
import { plainTarget, readByIds } from './id-search.ts';
import { keepInLocations } from './location-filter.ts';
import { relatedReferences } from './related-references.ts';
import type { ConnectionBinding } from './receiver.ts';
import type { IngestContext } from './worker-context.ts';
import { copyContextFor, refusedIdSearch } from './worker-context.ts';

/**
 * Reads of the EHR's current version to settle versions that cannot be ordered, before the job is
 * failed and retried: more are needed only while the EHR keeps changing the resource in between.
 */
const SETTLE_ROUNDS = 3;

/**
 * Stores the given resources and those referenced by `references` (fetched from the EHR), plus
 * what they reference that is not stored yet (two levels: administration → encounter → condition),
 * then emits encounter-changed for what changed. Every ingest path comes through here, so this is
 * where the connection's locations apply: what happened elsewhere is neither stored nor billed.
 */
export async function ingestResources(
  ctx: IngestContext,
  binding: ConnectionBinding,
  resources: Resource[],
  references: string[],
  carried: ReadonlyMap<string, Resource>,
  /** Reads already tried for this attempt (the batch's read-ahead) that failed, by reference. */
  failed: ReadonlyMap<string, unknown> = new Map(),
  /** Stored copies the batch read ahead (./copies.ts CopyContext.readAhead). */
  readAhead?: CopyContext['readAhead'],
): Promise<void> {
  const copies = copyContextFor(ctx, binding, readAhead);
  const ehr = ctx.deps.ehrFor(binding.connection);
  const seen = new Set<string>();
  // What came along, plus the encounters the location filter read (fetch-back reuses them).
  const known = new Map(carried);

  /**
   * What `reference` points at: what came along or was read ahead, else read from the EHR; `current`
   * reads the EHR's current version whatever came along. Undefined when it is gone (recorded).
   */
  const fetch = async (reference: string, current = false): Promise<Resource | undefined> => {
    const normalized = normalizeReference(reference);
    const local = normalized && !current ? known.get(normalized) : undefined;
    if (local) {
      return local;
    }
    try {
      if (normalized && !current && failed.has(normalized)) {
        throw failed.get(normalized);
      }
      return await ehr.readUrl(reference);
    } catch (err) {
      const kind = classifyEhrError(err);
      if (kind === 'foreign') {
        ctx.deps.logger.warn(
          { connectionId: binding.connection.id, reference: 'outside the connection base' },
          'reference not followed',
        );
        return undefined;
      }
      if (kind === 'gone') {
        // Recorded, not retried: the EHR says it does not exist (any more).
        ctx.deps.logger.info(
          { connectionId: binding.connection.id, reference: normalized },
          'fetch-back: not found at the EHR',
        );
        if (normalized) {
          const [type, id] = normalized.split('/') as [string, string];
          await markDeletedAtSource(copies, type, id, (copy) => domainEvent(copy));
        }
        return undefined;
      }
      throw err;
    }
  };

  const store = async (resource: Resource, depth: number): Promise<void> => {
    if (!resource.id) {
      return;
    }
    const key = `${resource.resourceType}/${resource.id}`;
    if (seen.has(key)) {
      return;
    }
    seen.add(key);
    // What it references is stored first, so the domain event its copy enqueues finds the inputs
    // of the charges it triggers (charge capture otherwise looks, finds them missing and retries).
    // A reference the EHR cannot answer now fails the job after the resource itself is stored, as
    // when it was stored first: what a notification carried is kept while the EHR is down.
    const referencesFailed = depth < 2 ? await storeReferences(resource, depth) : undefined;
    // Below the focus (depth 0), resources are read because no copy was stored: they fill gaps.
    let result = await storeOne(resource as Resource & { id: string }, { fillOnly: depth > 0 });
    // The stored copy and this version cannot be ordered (opaque versions, one timestamp): the
    // EHR's current version, read now, is at least as new as both.
    for (let round = 0; result.outcome === 'unordered'; round++) {
      if (round === SETTLE_ROUNDS) {
        throw new Error(
          `${key}: the EHR's versions could not be ordered, ${String(round)} reads; retried later`,
        );
      }
      const readAfter = result.copy?.meta.versionId;
      const current = await fetch(`${resource.resourceType}/${resource.id}`, true);
      if (!current?.id) {
        return;
      }
      result = await storeOne(current as Resource & { id: string }, readAfter ? { readAfter } : {});
    }
    ctx.stored?.add(binding.tenant, key);
    if (
      resource.resourceType === 'Patient' &&
      (result.outcome === 'created' || !(await hasCoverage(ctx.deps.store, binding.tenant, resource.id)))
    ) {
      // Bring the patient's coverage, which the EHR does not reference from clinical data. Checking
      // the store (not just "patient newly created") keeps this right when a retry follows a crash.
      const coverages = await ehr
        .searchAll('Coverage', { patient: `Patient/${resource.id}` })
        .then((found) => found.resources)
        .catch((err: unknown) => {
          if (classifyEhrError(err) === 'retryable') {
            throw err;
          }
          return [] as Resource[];
        });
      for (const coverage of coverages) {
        // Depth 1: the coverage's payor and subscriber are fetched too, nothing beyond them.
        await store(coverage, 1);
      }
    }
    if (referencesFailed) {
      throw referencesFailed.err;
    }
  };

  const storeOne = async (
    resource: Resource & { id: string },
    options: StoreCopyOptions,
  ): ReturnType<typeof storeCopy> => {
    // Encounters already coded without this resource (a late drug or coverage) are recomputed,
    // enqueued in the copy's own transaction so a crash cannot lose the trigger.
    const users = await encountersUsing(ctx.deps.store, binding.tenant, resource);
    const encounterOfCopy = storedEncounterLookup(
      (id) => stored.get(`Encounter/${id}`) ?? readAhead?.('Encounter', id) ?? undefined,
      (id) => readOptional(ctx.deps.store, binding.tenant, 'Encounter', id),
    );
    const result = await storeCopy(
      copies,
      resource,
      async (copy, existing) => [
        ...(ctx.deps.mayBeCoded
          ? await domainEventUnlessNotCodable(encounterOfCopy, copy, existing)
          : domainEvent(copy, existing)),
        ...recomputeFor(copy, [
          ...new Set([...users, ...(await encountersLeft(ctx.deps.store, binding.tenant, copy, existing))]),
        ]),
        ...(ctx.deps.jobsForCopy?.(copy) ?? []),
      ],
      options,
    );
    if (result.copy) {
      stored.set(`${result.copy.resourceType}/${result.copy.id}`, result.copy);
    }
    return result;
  };

  /** Copies this call stored or found stored, by "Type/id": an administration's encounter, mostly. */
  const stored = new Map<string, StoredResource>();

  /** Stores what `resource` references that is not stored yet; the first failure, if any, is returned. */
  const storeReferences = async (
    resource: Resource,
    depth: number,
  ): Promise<{ err: unknown } | undefined> => {
    try {
      const missing: string[] = [];
      for (const reference of relatedReferences(resource)) {
        const normalized = normalizeReference(reference);
        if (!normalized || seen.has(normalized)) {
          continue;
        }
        const [type, id] = normalized.split('/') as [string, string];
        if (!(await isStored(ctx, binding.tenant, type, id))) {
          missing.push(reference);
        }
      }
      await readAheadByIds(missing);
      for (const reference of missing) {
        if (seen.has(normalizeReference(reference) ?? '')) {
          continue; // stored meanwhile by an earlier reference's own references
        }
        const related = await fetch(reference);
        if (related) {
          await store(related, depth + 1);
        }
      }
      return undefined;
    } catch (err) {
      return { err };
    }
  };

  /**
   * Several missing references of one type (an encounter's conditions, locations, practitioners)
   * read with one `_id` search where the EHR declares it (./id-search.ts); what it returns is used
   * as read, the rest is read one at a time by `fetch` (so 404/410 and refusals end as they do).
   */
  const readAheadByIds = async (references: readonly string[]): Promise<void> => {
    const idSearch = ctx.idSearch;
    if (!idSearch || references.length < 2) {
      return;
    }
    const byType = new Map<string, Set<string>>();
    for (const reference of references) {
      const target = plainTarget(reference, binding.connection.fhirBaseUrl);
      if (target && !known.has(`${target.resourceType}/${target.id}`)) {
        byType.set(target.resourceType, (byType.get(target.resourceType) ?? new Set()).add(target.id));
      }
    }
    for (const [type, ids] of byType) {
      if (ids.size < 2 || !(await idSearch.supports(binding.connection.id, ehr, type))) {
        continue;
      }
      try {
        for (const [id, found] of await readByIds(ehr, type, [...ids])) {
          known.set(`${type}/${id}`, found);
        }
      } catch (err) {
        if (classifyEhrError(err) !== 'retryable') {
          refusedIdSearch(ctx, binding.connection.id, type, err);
        }
        // Either way the reads decide, as without the search.
      }
    }
  };

  const given = [...resources];
  for (const reference of references) {
    const resource = await fetch(reference);
    if (resource) {
      given.push(resource);
    }
  }
  const { kept, dropped } = await keepInLocations(given, binding.connection.locations, async (encounter) => {
    const local = known.get(encounter);
    if (local) {
      return local;
    }
    try {
      const read = await ehr.readUrl(encounter);
      known.set(encounter, read);
      return read;
    } catch (err) {
      const kind = classifyEhrError(err);
      if (kind === 'gone' || kind === 'foreign') {
        return undefined; // no such encounter here: it places nothing at our locations
      }
      throw err; // not now, or refused: the job says so rather than dropping the event
    }
  });
  if (dropped > 0) {
    ctx.deps.logger.info(
      { connectionId: binding.connection.id, dropped },
      'outside the connection’s locations: not ingested',
    );
  }
  for (const resource of kept) {
    await store(resource, 0);
  }
}

async function hasCoverage(store: Store, tenant: TenantId, patientId: string): Promise<boolean> {
  const result = await store.resources.search(tenant, {
    resourceType: 'Coverage',
    filters: [{ code: 'patient', kind: 'reference', values: [`Patient/${patientId}`] }],
    sort: [],
    count: 1,
    offset: 0,
    total: false,
  });
  return result.resources.length > 0;
}

/** Whether the resource is stored: known to be (./stored-references.ts), else read. */
export async function isStored(
  ctx: IngestContext,
  tenant: TenantId,
  type: string,
  id: string,
): Promise<boolean> {
  const reference = `${type}/${id}`;
  if (ctx.stored?.has(tenant, reference)) {
    return true;
  }
  try {
    await ctx.deps.store.resources.read(tenant, type, id);
  } catch {
    return false;
  }
  ctx.stored?.add(tenant, reference);
  return true;
}
