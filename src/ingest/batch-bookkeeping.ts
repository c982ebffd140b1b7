/**
 * What the ingest worker carries across the jobs of a batch: the focuses of its id-only events,
 * read from the EHR ahead of processing (a few at a time, so the round trips overlap), and the
 * event-number tracker changes its jobs make, written once per subscription at the batch's end.
 * Separate from the job handlers because it spans jobs; the worker decides when a batch starts
 * and ends.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Job } from '../store/port.ts';
import { normalizeReference } from '../store/search-index.ts';
import type { IngestJob } from './jobs.ts';
import type { ConnectionBinding } from './receiver.ts';
import type { SubscriptionRecord } from './records.ts';
import type { IngestTopic } from './topics.ts';
import { enqueueCatchUp } from './recovery.ts';
import type { IngestContext } from './worker-context.ts';
import { updateSubscription } from './worker-context.ts';

/** EHR reads in flight at once when a batch's id-only focuses are read ahead. */
const PREFETCH_CONCURRENCY = 8;

/** A focus read ahead: the resource, or how the read failed. */
export type PrefetchedFocus = { resource: Resource } | { error: unknown };

/** A tracker change; sets `flags.reset` when the sender's counter went backwards. */
export type TrackerChange = (r: SubscriptionRecord, flags: { reset: boolean }) => SubscriptionRecord;

/** What one job's handler sees of its batch: the read-ahead, and where its tracker changes go. */
export interface JobBookkeeping {
  prefetched(connectionId: string, focus: string): PrefetchedFocus | undefined;
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
   * Reads the focus of every id-only event of the batch from its EHR, a few at a time, before the
   * batch is processed in order. A failed read is kept as its error: processing handles it as if it
   * had just made the read (retry, gone, foreign), so each focus is asked for once per attempt.
   */
  async prefetchFocuses(jobs: readonly Job[]): Promise<void> {
    const wanted: { key: string; binding: ConnectionBinding; focus: string }[] = [];
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
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < wanted.length) {
        const item = wanted[next++];
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
    await Promise.all(Array.from({ length: Math.min(PREFETCH_CONCURRENCY, wanted.length) }, worker));
  }

  /** The focus read ahead for this connection and focus (as sent), if it was. */
  prefetched(connectionId: string, focus: string): PrefetchedFocus | undefined {
    return this.#prefetched.get(`${connectionId}|${focus}`);
  }

  /** Forgets the batch's read-ahead (after its acks). */
  clearPrefetched(): void {
    this.#prefetched.clear();
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
