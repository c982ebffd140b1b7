/**
 * What the ingest worker carries across the jobs of a batch: the focuses of its id-only events,
 * read from the EHR ahead of processing (by `_id` search where the EHR takes it, else a few reads
 * at a time, so the round trips overlap), and the
 * event-number tracker changes its jobs make, written once per subscription at the batch's end.
 * Separate from the job handlers because it spans jobs; one per batch (the worker reads the next
 * batch's focuses while the one before it is written), and the worker decides when a batch starts
 * and ends.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Job, StoredResource, TenantId } from '../store/port.ts';
import { normalizeReference } from '../store/search-index.ts';
import type { IngestJob } from './jobs.ts';
import type { ConnectionBinding } from './receiver.ts';
import type { SubscriptionRecord } from './records.ts';
import type { IngestTopic } from './topics.ts';
import { classifyEhrError } from './ehr-port.ts';
import { plainTarget, readByIds } from './id-search.ts';
import { enqueueCatchUp } from './recovery.ts';
import { isStored } from './fetch-back.ts';
import { placingEncounter } from './location-filter.ts';
import { relatedReferences } from './related-references.ts';
import type { IngestContext } from './worker-context.ts';
import { refusedIdSearch, updateSubscription } from './worker-context.ts';

/** EHR reads in flight at once when a batch's id-only focuses are read ahead. */
const PREFETCH_CONCURRENCY = 8;
/** Stored copies asked for per `_id` search of the store (keeps the statement's parameters few). */
const COPIES_PER_SEARCH = 100;

/** An id-only event's focus to read ahead, keyed by "connection|focus as sent". */
interface Wanted {
  readonly key: string;
  readonly binding: ConnectionBinding;
  readonly focus: string;
}

/** A focus that is a plain "Type/id" at its connection's EHR. */
interface Targeted extends Wanted {
  readonly id: string;
}

/** A focus read ahead: the resource, or how the read failed. */
export type PrefetchedFocus = { resource: Resource } | { error: unknown };

/** A tracker change; sets `flags.reset` when the sender's counter went backwards. */
export type TrackerChange = (r: SubscriptionRecord, flags: { reset: boolean }) => SubscriptionRecord;

/** What one job's handler sees of its batch: the read-ahead, and where its tracker changes go. */
export interface JobBookkeeping {
  prefetched(connectionId: string, focus: string): PrefetchedFocus | undefined;
  /** What a read-ahead focus references, read ahead too ("Type/id"), when it was. */
  relatedAhead(connectionId: string, reference: string): Resource | undefined;
  /** The stored copy of a focus as read ahead (`null`: none), undefined when not read ahead. */
  storedCopy(tenant: TenantId, resourceType: string, id: string): StoredResource | null | undefined;
  deferTracker(binding: ConnectionBinding, topic: IngestTopic, change: TrackerChange): void;
}

interface DeferredChange {
  /** The job's place in its batch: changes apply in this order, whatever order the jobs finish in. */
  readonly position: number;
  readonly change: TrackerChange;
}

export class BatchBookkeeping implements JobBookkeeping {
  readonly #ctx: IngestContext;
  /** Focus reads done ahead for this batch (the resource, or how the read failed), by "connection|focus as sent". */
  readonly #prefetched = new Map<string, PrefetchedFocus>();
  /** What the read-ahead focuses reference and the store lacked, read ahead, by "connection|Type/id". */
  readonly #related = new Map<string, Resource>();
  /** The stored copies of the batch's focuses (`null`: none), by "tenant|Type/id". */
  readonly #copies = new Map<string, StoredResource | null>();
  /** Tracker changes of the batch's jobs, by subscription (tenant|connection|topic). */
  #pendingTrackers = new Map<
    string,
    {
      binding: ConnectionBinding;
      topic: IngestTopic;
      changes: DeferredChange[];
    }
  >();

  constructor(ctx: IngestContext) {
    this.#ctx = ctx;
  }

  /**
   * Reads the focus of every id-only event of the batch from its EHR before the batch is processed
   * in order: those of one connection and type together by `_id` search when the EHR declares it
   * (./id-search.ts), the rest (and whatever the search did not return) one read each, a few at a
   * time. A failed read is kept as its error: processing handles it as if it had just made the read
   * (retry, gone, foreign), so each focus is asked for once per attempt.
   */
  async prefetchFocuses(jobs: readonly Job[]): Promise<void> {
    const wanted: Wanted[] = [];
    const seen = new Set<string>();
    for (const job of jobs) {
      const payload = job.payload as IngestJob;
      if (payload.kind !== 'event' || payload.focus === undefined) {
        continue;
      }
      const focusRef = normalizeReference(payload.focus);
      if (payload.resources.some((r) => `${r.resourceType}/${r.id ?? ''}` === focusRef)) {
        continue; // carried in the notification
      }
      const binding = this.#ctx.deps.connections.get(payload.connectionId);
      const key = `${payload.connectionId}|${payload.focus}`;
      if (!binding || binding.tenant !== job.tenant || seen.has(key)) {
        continue;
      }
      seen.add(key);
      wanted.push({ key, binding, focus: payload.focus });
    }
    const reads = await this.#searchByIds(wanted);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < reads.length) {
        const item = reads[next++];
        if (!item) {
          return;
        }
        try {
          this.#prefetched.set(item.key, {
            resource: await this.#ctx.deps.ehrFor(item.binding.connection).readUrl(item.focus),
          });
        } catch (error) {
          this.#prefetched.set(item.key, { error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREFETCH_CONCURRENCY, reads.length) }, worker));
    await this.#prefetchRelated();
  }

  /**
   * What the read-ahead focuses reference and the store lacks (a visit's administration names its
   * new encounter), read by one `_id` search per connection and type where the EHR declares it and
   * two or more are wanted: otherwise each job read them one at a time. Only a read ahead: fetch-
   * back stores a reference only to fill a gap (`fillOnly`), so one read before a newer copy was
   * stored cannot replace it, and what the search did not return (or a search that failed) is left
   * to the job's own reads, which decide as they always have.
   */
  async #prefetchRelated(): Promise<void> {
    const groups = new Map<string, { binding: ConnectionBinding; resourceType: string; ids: Set<string> }>();
    for (const [key, prefetched] of this.#prefetched) {
      if (!('resource' in prefetched)) {
        continue;
      }
      const binding = this.#ctx.deps.connections.get(key.slice(0, key.indexOf('|')));
      if (!binding) {
        continue;
      }
      for (const reference of relatedReferences(prefetched.resource)) {
        const target = plainTarget(reference, binding.connection.fhirBaseUrl);
        // Known stored (the common case: a visit's patient, drug, encounter) without an await.
        if (
          !target ||
          this.#ctx.stored?.has(binding.tenant, `${target.resourceType}/${target.id}`) ||
          (await isStored(this.#ctx, binding.tenant, target.resourceType, target.id))
        ) {
          continue;
        }
        const groupKey = `${binding.connection.id}|${target.resourceType}`;
        const group = groups.get(groupKey) ?? { binding, resourceType: target.resourceType, ids: new Set() };
        group.ids.add(target.id);
        groups.set(groupKey, group);
      }
    }
    await Promise.all(
      [...groups.values()].map(async ({ binding, resourceType, ids }) => {
        const ehr = this.#ctx.deps.ehrFor(binding.connection);
        const idSearch = this.#ctx.idSearch;
        if (
          ids.size < 2 ||
          !idSearch ||
          !(await idSearch.supports(binding.connection.id, ehr, resourceType))
        ) {
          return;
        }
        try {
          for (const [id, found] of await readByIds(ehr, resourceType, [...ids])) {
            this.#related.set(`${binding.connection.id}|${resourceType}/${id}`, found);
          }
        } catch (error) {
          if (classifyEhrError(error) !== 'retryable') {
            refusedIdSearch(this.#ctx, binding.connection.id, resourceType, error);
          }
        }
      }),
    );
  }

  /**
   * Reads by `_id` search the focuses that share a connection and type with another one, where the
   * EHR declares it; returns the focuses left to read one at a time. A search the EHR could not take
   * now fails each of its focuses with its error; one it refused (or ignored) leaves them to reads.
   */
  async #searchByIds(wanted: readonly Wanted[]): Promise<Wanted[]> {
    const groups = new Map<string, { binding: ConnectionBinding; resourceType: string; items: Targeted[] }>();
    const reads: Wanted[] = [];
    for (const item of wanted) {
      const target = plainTarget(item.focus, item.binding.connection.fhirBaseUrl);
      if (!target) {
        reads.push(item); // versioned, foreign or odd: the read decides
        continue;
      }
      const groupKey = `${item.binding.connection.id}|${target.resourceType}`;
      const group = groups.get(groupKey) ?? {
        binding: item.binding,
        resourceType: target.resourceType,
        items: [],
      };
      group.items.push({ ...item, id: target.id });
      groups.set(groupKey, group);
    }
    await Promise.all(
      [...groups.values()].map(async ({ binding, resourceType, items }) => {
        const { connection } = binding;
        const ehr = this.#ctx.deps.ehrFor(connection);
        const idSearch = this.#ctx.idSearch;
        if (items.length < 2 || !idSearch || !(await idSearch.supports(connection.id, ehr, resourceType))) {
          reads.push(...items);
          return;
        }
        let found: Map<string, Resource>;
        try {
          found = await readByIds(
            ehr,
            resourceType,
            items.map((i) => i.id),
          );
        } catch (error) {
          if (classifyEhrError(error) === 'retryable') {
            for (const item of items) {
              this.#prefetched.set(item.key, { error });
            }
            return;
          }
          refusedIdSearch(this.#ctx, connection.id, resourceType, error);
          reads.push(...items);
          return;
        }
        for (const item of items) {
          const resource = found.get(item.id);
          if (resource) {
            this.#prefetched.set(item.key, { resource });
          } else {
            reads.push(item); // deleted, never there or not visible: the read says which (404, 410, 403)
          }
        }
      }),
    );
    return reads;
  }

  /**
   * Reads the stored copies of the batch's focuses (carried or read ahead) from the store, one
   * `_id` search per tenant and type instead of one read per job, so each job compares versions
   * without a read of its own (./copies.ts CopyContext.readAhead). A search that fails leaves the
   * jobs to read as before.
   */
  async readCopiesAhead(jobs: readonly Job[]): Promise<void> {
    const groups = new Map<string, { tenant: TenantId; resourceType: string; ids: Set<string> }>();
    for (const job of jobs) {
      const payload = job.payload as IngestJob;
      if (payload.kind !== 'event' || payload.focus === undefined) {
        continue;
      }
      const focusRef = normalizeReference(payload.focus);
      const prefetched = this.prefetched(payload.connectionId, payload.focus);
      const focus =
        payload.resources.find((r) => `${r.resourceType}/${r.id ?? ''}` === focusRef) ??
        (prefetched && 'resource' in prefetched ? prefetched.resource : undefined);
      if (!focus?.id) {
        continue;
      }
      const want = (resourceType: string, id: string): void => {
        const key = `${job.tenant}|${resourceType}`;
        const group = groups.get(key) ?? { tenant: job.tenant, resourceType, ids: new Set<string>() };
        group.ids.add(id);
        groups.set(key, group);
      };
      want(focus.resourceType, focus.id);
      // An administration's encounter says whether its change starts charge capture
      // (./encounter-events.ts domainEventUnlessNotCodable), read here with the batch's others.
      const encounter =
        this.#ctx.deps.mayBeCoded && focus.resourceType !== 'Encounter' ? placingEncounter(focus) : undefined;
      if (encounter) {
        want('Encounter', encounter.slice('Encounter/'.length));
      }
    }
    for (const { tenant, resourceType, ids } of groups.values()) {
      const wanted = [...ids];
      for (let at = 0; at < wanted.length; at += COPIES_PER_SEARCH) {
        const chunk = wanted.slice(at, at + COPIES_PER_SEARCH);
        let found: readonly StoredResource[];
        try {
          ({ resources: found } = await this.#ctx.deps.store.resources.search(tenant, {
            resourceType,
            filters: [{ code: '_id', kind: 'token', values: chunk.map((value) => ({ value })) }],
            sort: [],
            count: chunk.length,
            offset: 0,
            total: false,
          }));
        } catch {
          continue; // each job reads its copy, as without the read-ahead
        }
        for (const id of chunk) {
          this.#copies.set(`${tenant}|${resourceType}/${id}`, null);
        }
        for (const copy of found) {
          this.#copies.set(`${tenant}|${resourceType}/${copy.id}`, copy);
        }
      }
    }
  }

  storedCopy(tenant: TenantId, resourceType: string, id: string): StoredResource | null | undefined {
    return this.#copies.get(`${tenant}|${resourceType}/${id}`);
  }

  relatedAhead(connectionId: string, reference: string): Resource | undefined {
    return this.#related.get(`${connectionId}|${reference}`);
  }

  /** The focus read ahead for this connection and focus (as sent), if it was. */
  prefetched(connectionId: string, focus: string): PrefetchedFocus | undefined {
    return this.#prefetched.get(`${connectionId}|${focus}`);
  }

  /** Queues a tracker change for the end of the batch (one record write per subscription per batch). */
  deferTracker(binding: ConnectionBinding, topic: IngestTopic, change: TrackerChange): void {
    this.#defer(Number.MAX_SAFE_INTEGER, binding, topic, change);
  }

  /**
   * The batch as the job at `position` sees it. Jobs of a batch are processed side by side, so
   * their tracker changes are applied in the jobs' order (the lease order), not as they finish.
   */
  forJob(position: number): JobBookkeeping {
    return {
      prefetched: (connectionId, focus) => this.prefetched(connectionId, focus),
      relatedAhead: (connectionId, reference) => this.relatedAhead(connectionId, reference),
      storedCopy: (tenant, resourceType, id) => this.storedCopy(tenant, resourceType, id),
      deferTracker: (binding, topic, change) => this.#defer(position, binding, topic, change),
    };
  }

  #defer(position: number, binding: ConnectionBinding, topic: IngestTopic, change: TrackerChange): void {
    const key = `${binding.tenant}|${binding.connection.id}|${topic}`;
    const pending = this.#pendingTrackers.get(key) ?? { binding, topic, changes: [] };
    pending.changes.push({ position, change });
    this.#pendingTrackers.set(key, pending);
  }

  async flushTrackers(): Promise<void> {
    const pending = [...this.#pendingTrackers.values()];
    this.#pendingTrackers = new Map();
    for (const { binding, topic, changes } of pending) {
      let flags = { reset: false };
      await updateSubscription(this.#ctx, binding, topic, (r) => {
        flags = { reset: false }; // re-applied from scratch when the write has to be retried
        // A stable sort: a job's own changes keep the order it made them in.
        return changes
          .toSorted((a, b) => a.position - b.position)
          .reduce((record, { change }) => change(record, flags), r);
      });
      if (flags.reset) {
        // The sender's counter went backwards: whatever happened in between is unknown. Resync.
        await enqueueCatchUp(this.#ctx, binding, [topic], 'counter-reset');
      }
    }
  }
}
