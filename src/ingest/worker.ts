/**
 * The ingest worker: takes notification jobs from the durable queue and turns them into stored,
 * versioned copies of the EHR's resources, fetching back whatever the notification did not carry
 * (only from the connection's own FHIR base), tracking event numbers to find and recover gaps, and
 * emitting an `encounter-changed` domain event for charge capture when documentation changed.
 *
 * Every step is idempotent: a job that is retried after a crash redoes work that compares equal
 * and changes nothing.
 */
import { LoopingWorker } from '../store/worker-loop.ts';
import { randomUUID } from 'node:crypto';
import type { MedicationAdministration, Reference, Resource } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import { retryDelayMs } from '../store/job-policy.ts';
import type { BatchOperation, Job, Store, TenantId } from '../store/port.ts';
import { searchAll } from '../store/search-all.ts';
import { normalizeReference } from '../store/search-index.ts';
import type { CopyContext } from './copies.ts';
import { markDeletedAtSource, sourceVersionOf, storeCopy } from './copies.ts';
import { priorAuthJobsFor } from '../coverage/pas/jobs.ts';
import {
  gapNeedsRecovery,
  heard,
  heartbeatOverdue,
  missingRanges,
  recordEvent,
  recordRecovered,
  recordReported,
  recordSynced,
} from './event-tracker.ts';
import type { EncounterChangedEvent, IngestJob } from './jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, encounterChangedKey, hashText, INGEST_QUEUE, jobKeys } from './jobs.ts';
import { parseNotification } from './notification-parser.ts';
import type { TopicNotification } from './notification.ts';
import type { ConnectionBinding } from './receiver.ts';
import type { IngestTopic, SubscriptionRecord } from './records.ts';
import { INGEST_TOPICS, loadRecord, updateRecord } from './records.ts';
import { keepInLocations, placingEncounter } from './location-filter.ts';

/** What the worker needs from an EHR (implemented by src/ehr/ehr-client.ts over SMART Backend Services). */
export interface EhrPort {
  /** A relative "Type/id" or an absolute URL under the connection's FHIR base; anything else is refused without a request. */
  readUrl(reference: string): Promise<Resource>;
  /** Every match, following `next` links (bounded). */
  /**
   * A search with its next pages, up to the port's page limit; `truncated` when the limit stopped
   * it with pages left (the caller continues from where it got).
   */
  searchAll(
    resourceType: string,
    params: Record<string, string>,
  ): Promise<{ resources: Resource[]; truncated: boolean }>;
  operation(
    path: string,
    options: { method: 'GET' | 'POST'; params?: Record<string, string> },
  ): Promise<Resource>;
}

export interface SubscriptionMaintainer {
  /**
   * Creates missing Subscriptions on the EHR and repairs ones in error/off. Returns the topics whose
   * subscription was recreated (gone from the EHR) or repaired: what changed while it was broken
   * was never notified, so the caller catches them up.
   */
  ensure(binding: ConnectionBinding): Promise<readonly IngestTopic[]>;
  /** Re-requests a subscription the EHR reports in error/off. */
  repair(binding: ConnectionBinding, topic: IngestTopic): Promise<void>;
}

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
}

/** How an EHR error should be handled. */
type ErrorClass = 'gone' | 'foreign' | 'terminal' | 'retryable';

export function classifyEhrError(err: unknown): ErrorClass {
  const e = err as { name?: string; retryable?: unknown; status?: unknown };
  if (e.name === 'ForeignReferenceError') {
    return 'foreign';
  }
  if (e.name === 'EhrNotFoundError' || e.status === 404 || e.status === 410) {
    return 'gone';
  }
  if (e.retryable === false) {
    return 'terminal';
  }
  return 'retryable';
}

const RETRY_SUFFIX = /\|retry-(\d+)$/;

/** Attempts made by the jobs a continuation replaced (0 for an original job). */
function priorAttempts(key: string): number {
  const match = RETRY_SUFFIX.exec(key);
  return match ? Number(match[1]) : 0;
}

/** The EHR (or its token endpoint) said "not now" (429/5xx/network), as opposed to an unknown failure. */
function ehrSaidLater(err: unknown): boolean {
  return (err as { retryable?: unknown } | undefined)?.retryable === true;
}

/** References whose targets Dripline needs to bill a resource, fetched when not yet stored. */
function relatedReferences(resource: Resource): string[] {
  const refs: (Reference | undefined)[] = [];
  switch (resource.resourceType) {
    case 'MedicationAdministration':
      refs.push(resource.context, resource.subject, resource.medicationReference, resource.request);
      break;
    case 'Encounter':
      refs.push(
        resource.subject,
        resource.serviceProvider,
        resource.partOf,
        ...(resource.reasonReference ?? []),
        ...(resource.diagnosis ?? []).map((d) => d.condition),
        ...(resource.location ?? []).map((l) => l.location),
        // The attending of an institutional claim (837I loop 2310A).
        ...(resource.participant ?? [])
          .map((p) => p.individual)
          .filter((r) => r?.reference?.includes('Practitioner/')),
      );
      break;
    case 'MedicationRequest':
      refs.push(
        resource.medicationReference,
        resource.subject,
        resource.encounter,
        ...(resource.reasonReference ?? []),
        // The ordering practitioner: the attending when the encounter names none.
        resource.requester?.reference?.includes('Practitioner/') ? resource.requester : undefined,
      );
      break;
    case 'Coverage':
      // The subscriber when it is not the patient (a RelatedPerson): 837 loop 2010BA.
      refs.push(...(resource.payor ?? []), resource.subscriber);
      break;
    default:
      break;
  }
  return refs.map((r) => r?.reference).filter((r): r is string => typeof r === 'string' && r !== '');
}

/** EHR reads in flight at once when a batch's id-only focuses are read ahead. */
const PREFETCH_CONCURRENCY = 8;

/** At most this many encounters are recomputed for one late Medication or Coverage. */
const RECOMPUTE_LIMIT = 500;

/** The encounter a resource's billing belongs to (the one that places it, too). */
const encounterOf = placingEncounter;

export class IngestWorker extends LoopingWorker {
  readonly #deps: IngestWorkerDeps;
  readonly #now: () => Date;

  constructor(deps: IngestWorkerDeps) {
    super({ name: 'ingest worker', logger: deps.logger });
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Leases and processes one batch; returns how many jobs it handled (for tests and the loop). */
  async runOnce(): Promise<number> {
    const jobs = await this.#deps.store.jobs.lease({
      queue: INGEST_QUEUE,
      leaseMs: this.#deps.leaseMs ?? 60_000,
      limit: this.#deps.batchSize ?? 16,
      now: this.#now(),
    });
    const processed: Job[] = [];
    // The EHR round trips of the batch's id-only events overlap; storing stays one job at a time.
    await this.#prefetchFocuses(jobs);
    for (const job of jobs) {
      if (await this.#handle(job)) {
        processed.push(job);
      }
      // The store is synchronous: without a turn of the event loop between jobs, a batch would
      // keep the receiver from answering notifications until it is done.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Event-number bookkeeping of the whole batch in one write per subscription, then the acks: a
    // crash in between redoes the batch, whose effects compare equal.
    await this.#flushTrackers();
    for (const job of processed) {
      await this.#deps.store.jobs.ack(job.id, job.leaseToken ?? '');
    }
    this.#prefetched.clear();
    return jobs.length;
  }

  /** Focus reads done ahead for this batch (the resource, or how the read failed), by "connection|focus as sent". */
  readonly #prefetched = new Map<string, { resource: Resource } | { error: unknown }>();

  /**
   * Reads the focus of every id-only event of the batch from its EHR, a few at a time, before the
   * batch is processed in order. A failed read is kept as its error: processing handles it as if it
   * had just made the read (retry, gone, foreign), so each focus is asked for once per attempt.
   */
  async #prefetchFocuses(jobs: readonly Job[]): Promise<void> {
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
      const binding = this.#deps.connections.get(payload.connectionId);
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
            resource: await this.#deps.ehrFor(item.binding.connection).readUrl(item.focus),
          });
        } catch (error) {
          this.#prefetched.set(item.key, { error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREFETCH_CONCURRENCY, wanted.length) }, worker));
  }

  #pendingTrackers = new Map<
    string,
    {
      binding: ConnectionBinding;
      topic: IngestTopic;
      changes: ((r: SubscriptionRecord, flags: { reset: boolean }) => SubscriptionRecord)[];
    }
  >();

  /** Queues a tracker change for the end of the batch (one record write per subscription per batch). */
  #deferTracker(
    binding: ConnectionBinding,
    topic: IngestTopic,
    change: (r: SubscriptionRecord, flags: { reset: boolean }) => SubscriptionRecord,
  ): void {
    const key = `${binding.tenant}|${binding.connection.id}|${topic}`;
    const pending = this.#pendingTrackers.get(key) ?? { binding, topic, changes: [] };
    pending.changes.push(change);
    this.#pendingTrackers.set(key, pending);
  }

  async #flushTrackers(): Promise<void> {
    const pending = [...this.#pendingTrackers.values()];
    this.#pendingTrackers = new Map();
    for (const { binding, topic, changes } of pending) {
      let flags = { reset: false };
      await this.#update(binding, topic, (r) => {
        flags = { reset: false }; // re-applied from scratch when the write has to be retried
        return changes.reduce((record, change) => change(record, flags), r);
      });
      if (flags.reset) {
        // The sender's counter went backwards: whatever happened in between is unknown. Resync.
        await this.#enqueueCatchUp(binding, [topic], 'counter-reset');
      }
    }
  }

  /** Processes a job; true when it succeeded (the caller acks after the batch's bookkeeping). */
  async #handle(job: Job): Promise<boolean> {
    const payload = job.payload as IngestJob;
    const token = job.leaseToken ?? '';
    try {
      await this.process(job.tenant, payload);
      return true;
    } catch (err) {
      const kind = classifyEhrError(err);
      const message = (err as Error).message;
      this.#deps.logger.warn(
        {
          job: job.id,
          kind: payload.kind,
          connectionId: payload.connectionId,
          attempts: job.attempts,
          err: message,
          class: kind,
        },
        'ingest job failed',
      );
      const retryable = kind === 'retryable';
      // Attempts across this job and the continuations it replaced (see below).
      const total = priorAttempts(job.key) + job.attempts;
      if (retryable && ehrSaidLater(err) && job.attempts >= job.maxAttempts) {
        await this.#continueLater(job, payload, total, message);
        return false;
      }
      await this.#deps.store.jobs.fail(job.id, token, {
        error: message,
        retryable,
        now: this.#now(),
        // A continuation keeps backing off from where the chain was, not from 1 s again.
        ...(retryable && total > job.attempts
          ? { retryAt: new Date(this.#now().getTime() + retryDelayMs(total)).toISOString() }
          : {}),
      });
      return false;
    }
  }

  /**
   * Fix: the queue dead-letters a job after maxAttempts (8, about two minutes of backoff), so an
   * EHR down for longer than that lost every notification Dripline had already acknowledged. Work
   * the EHR could not take *yet* is never dead-lettered: it continues in a fresh job (same payload,
   * key `<original>|retry-<attempts so far>`, backoff continuing, capped at 1 h by the policy).
   * Enqueue first, then ack: a crash in between leaves both, and processing is idempotent.
   * Failures that are not the EHR's "try later" (bugs, refusals) still dead-letter as before.
   */
  async #continueLater(job: Job, payload: IngestJob, total: number, error: string): Promise<void> {
    const runAt = new Date(this.#now().getTime() + retryDelayMs(total)).toISOString();
    await this.#deps.store.jobs.enqueue(job.tenant, {
      queue: job.queue,
      key: `${job.key.replace(RETRY_SUFFIX, '')}|retry-${total}`,
      payload,
      runAt,
      maxAttempts: job.maxAttempts,
    });
    await this.#deps.store.jobs.ack(job.id, job.leaseToken ?? '');
    this.#deps.logger.warn(
      {
        job: job.id,
        kind: payload.kind,
        connectionId: payload.connectionId,
        attempts: total,
        runAt,
        err: error,
      },
      'ingest job still failing: EHR unavailable; continuing later',
    );
  }

  /** Processes one job's payload and its bookkeeping (for tests). Throws to ask for a retry. */
  async processNow(tenant: TenantId, job: IngestJob): Promise<void> {
    await this.process(tenant, job);
    await this.#flushTrackers();
  }

  /** Processes one job's payload; event bookkeeping is deferred to the end of the batch. */
  async process(tenant: TenantId, job: IngestJob): Promise<void> {
    const binding = this.#deps.connections.get(job.connectionId);
    if (!binding || binding.tenant !== tenant) {
      this.#deps.logger.warn({ connectionId: job.connectionId }, 'job for an unknown connection dropped');
      return;
    }
    switch (job.kind) {
      case 'status':
        return this.#status(binding, job);
      case 'event':
        return this.#event(binding, job);
      case 'classic':
        return this.#classic(binding, job);
      case 'catch-up':
        return this.#catchUp(binding, job);
      case 'maintain':
        return this.#maintain(binding);
      default:
        job satisfies never;
    }
  }

  // -------------------------------------------------------------------------------------------

  #endpoint(binding: ConnectionBinding): string {
    return `${this.#deps.publicUrl}/ehr/${binding.connection.id}/notify`;
  }

  #update(
    binding: ConnectionBinding,
    topic: IngestTopic,
    change: (r: SubscriptionRecord) => SubscriptionRecord,
  ): Promise<SubscriptionRecord> {
    return updateRecord(
      this.#deps.store,
      binding.tenant,
      binding.connection,
      topic,
      this.#endpoint(binding),
      change,
    );
  }

  #copyContext(binding: ConnectionBinding): CopyContext {
    return {
      store: this.#deps.store,
      tenant: binding.tenant,
      connectionId: binding.connection.id,
      fhirBaseUrl: binding.connection.fhirBaseUrl,
      publicUrl: this.#deps.publicUrl,
      now: this.#now,
      generateId: randomUUID,
    };
  }

  async #status(binding: ConnectionBinding, job: Extract<IngestJob, { kind: 'status' }>): Promise<void> {
    const now = this.#now().toISOString();
    let reset = false;
    const record = await this.#update(binding, job.topic, (r) => {
      const tracked =
        job.eventsSinceSubscriptionStart !== undefined
          ? recordReported(r.tracker, job.eventsSinceSubscriptionStart, now)
          : undefined;
      reset = tracked?.reset ?? false;
      const status =
        job.type === 'handshake' ? 'active' : ((job.status as SubscriptionRecord['status']) ?? r.status);
      return { ...r, status, tracker: tracked ? tracked.state : heard(r.tracker, now) };
    });
    if (reset) {
      // Fix: a heartbeat reporting fewer events than were processed (the EHR restarted its
      // counter) reset the tracker but never resynced, so what changed around the restart was lost.
      await this.#enqueueCatchUp(binding, [job.topic], 'counter-reset');
    }
    if (job.status === 'error' || job.status === 'off') {
      await this.#repair(binding, job.topic);
    }
    await this.#recoverIfGap(binding, record);
  }

  /**
   * Re-requests a subscription the EHR reports in error/off, then catches up: while it was broken
   * the EHR notified nothing (fix: the heartbeat path repaired without catching up).
   */
  async #repair(binding: ConnectionBinding, topic: IngestTopic): Promise<void> {
    await this.#deps.maintainer.repair(binding, topic);
    await this.#enqueueCatchUp(binding, [topic], 'subscription-repaired');
  }

  async #event(binding: ConnectionBinding, job: Extract<IngestJob, { kind: 'event' }>): Promise<void> {
    const now = this.#now().toISOString();
    if (job.focus === undefined) {
      // `empty` content: something changed for this subscription; ask the EHR what.
      await this.#catchUp(binding, {
        kind: 'catch-up',
        connectionId: binding.connection.id,
        topics: [job.topic],
        reason: 'empty-notification',
      });
    } else {
      const carried = new Map(job.resources.map((r) => [`${r.resourceType}/${r.id ?? ''}`, r]));
      const focusRef = normalizeReference(job.focus);
      const prefetched = this.#prefetched.get(`${binding.connection.id}|${job.focus}`);
      const failed = new Map<string, unknown>();
      if (focusRef && prefetched && !carried.has(focusRef)) {
        if ('resource' in prefetched) {
          carried.set(focusRef, prefetched.resource);
        } else {
          failed.set(focusRef, prefetched.error);
        }
      }
      const focus = focusRef ? carried.get(focusRef) : undefined;
      await this.#ingestResources(binding, focus ? [focus] : [], focus ? [] : [job.focus], carried, failed);
    }
    this.#deferTracker(binding, job.topic, (r, flags) => {
      let tracker = r.tracker;
      if (job.eventsSinceSubscriptionStart !== undefined) {
        const reported = recordReported(tracker, job.eventsSinceSubscriptionStart, now);
        flags.reset ||= reported.reset;
        tracker = reported.state;
      }
      const outcome = recordEvent(tracker, job.eventNumber, now);
      flags.reset ||= outcome.kind === 'reset';
      return { ...r, tracker: outcome.state };
    });
  }

  async #classic(binding: ConnectionBinding, job: Extract<IngestJob, { kind: 'classic' }>): Promise<void> {
    const ctx = this.#copyContext(binding);
    const reference = `${job.target.resourceType}/${job.target.id}`;
    if (job.interaction === 'delete') {
      const result = await markDeletedAtSource(ctx, job.target.resourceType, job.target.id, (copy) =>
        this.#domainEvent(copy),
      );
      if (result.outcome === 'absent') {
        this.#deps.logger.info(
          { connectionId: binding.connection.id },
          'delete of a resource Dripline never stored',
        );
      }
      return;
    }
    const carried = new Map<string, Resource>();
    if (job.resource) {
      carried.set(reference, job.resource);
    }
    // Classic bodies may come from a sender that does not version; fetch when nothing was carried.
    await this.#ingestResources(
      binding,
      job.resource ? [job.resource] : [],
      job.resource ? [] : [reference],
      carried,
    );
    if (job.topic) {
      const now = this.#now().toISOString();
      this.#deferTracker(binding, job.topic, (r) => ({ ...r, tracker: heard(r.tracker, now) }));
    }
  }

  /**
   * Stores the given resources and those referenced by `references` (fetched from the EHR), plus
   * what they reference that is not stored yet (two levels: administration → encounter → condition),
   * then emits encounter-changed for what changed. Every ingest path comes through here, so this is
   * where the connection's locations apply: what happened elsewhere is neither stored nor billed.
   */
  async #ingestResources(
    binding: ConnectionBinding,
    resources: Resource[],
    references: string[],
    carried: ReadonlyMap<string, Resource>,
    /** Reads already tried for this attempt (the batch's read-ahead) that failed, by reference. */
    failed: ReadonlyMap<string, unknown> = new Map(),
  ): Promise<void> {
    const ctx = this.#copyContext(binding);
    const ehr = this.#deps.ehrFor(binding.connection);
    const seen = new Set<string>();
    // What came along, plus the encounters the location filter read (fetch-back reuses them).
    const known = new Map(carried);

    const fetch = async (reference: string): Promise<Resource | undefined> => {
      const normalized = normalizeReference(reference);
      const local = normalized ? known.get(normalized) : undefined;
      if (local) {
        return local;
      }
      try {
        if (normalized && failed.has(normalized)) {
          throw failed.get(normalized);
        }
        return await ehr.readUrl(reference);
      } catch (err) {
        const kind = classifyEhrError(err);
        if (kind === 'foreign') {
          this.#deps.logger.warn(
            { connectionId: binding.connection.id, reference: 'outside the connection base' },
            'reference not followed',
          );
          return undefined;
        }
        if (kind === 'gone') {
          // Recorded, not retried: the EHR says it does not exist (any more).
          this.#deps.logger.info(
            { connectionId: binding.connection.id, reference: normalized },
            'fetch-back: not found at the EHR',
          );
          if (normalized) {
            const [type, id] = normalized.split('/') as [string, string];
            await markDeletedAtSource(ctx, type, id, (copy) => this.#domainEvent(copy));
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
      // Encounters already coded without this resource (a late drug or coverage) are recomputed,
      // enqueued in the copy's own transaction so a crash cannot lose the trigger.
      const users = await this.#encountersUsing(binding.tenant, resource);
      const result = await storeCopy(ctx, resource as Resource & { id: string }, (copy) => [
        ...this.#domainEvent(copy),
        ...this.#recomputeFor(copy, users),
        // An order (each EHR version) starts its prior authorization (src/coverage/pas/worker.ts).
        ...priorAuthJobsFor(copy),
      ]);
      if (
        resource.resourceType === 'Patient' &&
        (result.outcome === 'created' || !(await this.#hasCoverage(binding.tenant, resource.id)))
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
      if (depth >= 2) {
        return;
      }
      for (const reference of relatedReferences(resource)) {
        const normalized = normalizeReference(reference);
        if (!normalized || seen.has(normalized)) {
          continue;
        }
        const [type, id] = normalized.split('/') as [string, string];
        if (await this.#isStored(binding.tenant, type, id)) {
          continue;
        }
        const related = await fetch(reference);
        if (related) {
          await store(related, depth + 1);
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
    const { kept, dropped } = await keepInLocations(
      given,
      binding.connection.locations,
      async (encounter) => {
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
      },
    );
    if (dropped > 0) {
      this.#deps.logger.info(
        { connectionId: binding.connection.id, dropped },
        'outside the connection’s locations: not ingested',
      );
    }
    for (const resource of kept) {
      await store(resource, 0);
    }
  }

  async #hasCoverage(tenant: TenantId, patientId: string): Promise<boolean> {
    const result = await this.#deps.store.resources.search(tenant, {
      resourceType: 'Coverage',
      filters: [{ code: 'patient', kind: 'reference', values: [`Patient/${patientId}`] }],
      sort: [],
      count: 1,
      offset: 0,
      total: false,
    });
    return result.resources.length > 0;
  }

  async #isStored(tenant: TenantId, type: string, id: string): Promise<boolean> {
    try {
      await this.#deps.store.resources.read(tenant, type, id);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The domain event for one changed copy, written in the copy's own transaction: charge capture
   * recomputes the encounter. Keyed by the EHR version that changed it, so a retry after a crash
   * neither loses nor duplicates it.
   */
  /**
   * Encounters whose charges depend on a resource that is not itself an encounter event: the
   * encounters of the stored administrations of a Medication, and the recent encounters of a
   * Coverage's beneficiary (charge capture waits a few attempts for these, then codes without them).
   */
  async #encountersUsing(tenant: TenantId, resource: Resource): Promise<string[]> {
    const found = new Set<string>();
    if (resource.resourceType === 'Medication' && resource.id) {
      const administrations = await searchAll<MedicationAdministration>(
        this.#deps.store,
        tenant,
        'MedicationAdministration',
        [{ code: 'medication', kind: 'reference', values: [`Medication/${resource.id}`] }],
        RECOMPUTE_LIMIT,
      );
      for (const administration of administrations) {
        const encounter = encounterOf(administration);
        if (encounter) {
          found.add(encounter);
        }
      }
    } else if (resource.resourceType === 'Coverage') {
      const patient = normalizeReference(resource.beneficiary.reference ?? '');
      if (patient?.startsWith('Patient/')) {
        const page = await this.#deps.store.resources.search(tenant, {
          resourceType: 'Encounter',
          filters: [{ code: 'subject', kind: 'reference', values: [patient] }],
          sort: [{ code: '_lastUpdated', descending: true }],
          count: RECOMPUTE_LIMIT,
          offset: 0,
          total: false,
        });
        for (const encounter of page.resources) {
          found.add(`Encounter/${encounter.id}`);
        }
      }
    }
    return [...found].sort();
  }

  #recomputeFor(copy: Resource, encounters: readonly string[]): BatchOperation[] {
    if (encounters.length === 0) {
      return [];
    }
    const version = sourceVersionOf(copy).versionId ?? hashText(JSON.stringify({ ...copy, meta: undefined }));
    const cause = `${copy.resourceType}/${copy.id ?? ''}/_history/${version}`;
    return encounters.map((encounter): BatchOperation => {
      const event: EncounterChangedEvent = { encounter, causes: [cause] };
      return {
        op: 'enqueue',
        job: { queue: ENCOUNTER_CHANGED_QUEUE, key: encounterChangedKey(encounter, cause), payload: event },
      };
    });
  }

  #domainEvent(copy: Resource): BatchOperation[] {
    const encounter = encounterOf(copy);
    if (!encounter) {
      return [];
    }
    const version = sourceVersionOf(copy).versionId ?? hashText(JSON.stringify({ ...copy, meta: undefined }));
    const cause = `${copy.resourceType}/${copy.id ?? ''}/_history/${version}`;
    const event: EncounterChangedEvent = { encounter, causes: [cause] };
    return [
      {
        op: 'enqueue',
        job: { queue: ENCOUNTER_CHANGED_QUEUE, key: encounterChangedKey(encounter, cause), payload: event },
      },
    ];
  }

  async #enqueueCatchUp(
    binding: ConnectionBinding,
    topics: IngestTopic[],
    reason: string,
    eventRange?: { topic: IngestTopic; from: number; to: number; epoch?: string },
  ): Promise<void> {
    const job: IngestJob = {
      kind: 'catch-up',
      connectionId: binding.connection.id,
      topics,
      reason,
      ...(eventRange
        ? { eventRange: { topic: eventRange.topic, from: eventRange.from, to: eventRange.to } }
        : {}),
    };
    const id = eventRange
      ? `${eventRange.topic}|${eventRange.from}-${eventRange.to}|${eventRange.epoch ?? 'e0'}`
      : randomUUID();
    await this.#deps.store.jobs.enqueue(binding.tenant, {
      queue: INGEST_QUEUE,
      key: jobKeys.catchUp(binding.connection.id, id),
      payload: job,
    });
  }

  async #recoverIfGap(binding: ConnectionBinding, record: SubscriptionRecord): Promise<void> {
    const { gapGraceSeconds } = binding.connection;
    const graceMs =
      gapGraceSeconds !== undefined ? gapGraceSeconds * 1000 : (this.#deps.gapGraceMs ?? 10_000);
    if (!gapNeedsRecovery(record.tracker, this.#now(), graceMs)) {
      return;
    }
    // Fix: the key was topic|from-to only, and idempotency keys outlive finished jobs, so the same
    // range missing again after a counter reset or on a recreated subscription was never recovered.
    // The EHR subscription and the tracker's epoch make it another range.
    const epoch = `${record.ehrSubscriptionId ?? '-'}|e${record.tracker.epoch ?? 0}`;
    for (const range of missingRanges(record.tracker)) {
      await this.#enqueueCatchUp(binding, [record.topic], 'event-gap', {
        topic: record.topic,
        ...range,
        epoch,
      });
    }
  }

  async #catchUp(binding: ConnectionBinding, job: Extract<IngestJob, { kind: 'catch-up' }>): Promise<void> {
    const ehr = this.#deps.ehrFor(binding.connection);
    const startedAt = this.#now().toISOString();
    if (job.eventRange) {
      // Preferred recovery: ask the EHR to resend exactly the missing events.
      const record = await loadRecord(
        this.#deps.store,
        binding.tenant,
        binding.connection.id,
        job.eventRange.topic,
      );
      if (
        record?.ehrSubscriptionId &&
        (await this.#recoverWithEvents(binding, record, job.eventRange, ehr))
      ) {
        return;
      }
    }
    const locations = binding.connection.locations;
    for (const topic of job.topics) {
      const record = await loadRecord(this.#deps.store, binding.tenant, binding.connection.id, topic);
      const lastSync = record?.tracker.lastSync;
      // Oldest change first, so a search stopped at its page limit has covered everything up to
      // the last change it returned and the next window starts there.
      const params: Record<string, string> = {
        _count: String(this.#deps.catchUpPageSize ?? 100),
        _sort: '_lastUpdated',
      };
      if (job.continueFrom) {
        params._lastUpdated = `ge${job.continueFrom}`;
      } else if (lastSync) {
        const since = new Date(Date.parse(lastSync) - (this.#deps.catchUpOverlapMs ?? 5 * 60_000));
        params._lastUpdated = `gt${since.toISOString()}`;
      }
      if (topic === 'Encounter' && locations.length > 0) {
        params.location = locations.join(',');
      }
      let sorted = true;
      const { resources: changed, truncated } = await ehr
        .searchAll(topic, params)
        .catch(async (err: unknown) => {
          // An EHR that refuses _sort (4xx) is asked again without it: one window, no continuation.
          if (classifyEhrError(err) === 'retryable') {
            throw err;
          }
          sorted = false;
          const { _sort: _ignored, ...unsorted } = params;
          this.#deps.logger.warn(
            { connectionId: binding.connection.id, topic },
            'catch-up: the EHR refused _sort=_lastUpdated; searching unsorted',
          );
          return ehr.searchAll(topic, unsorted);
        });
      await this.#ingestResources(binding, changed, [], new Map());
      const reached = changed
        .map((r) => r.meta?.lastUpdated)
        .filter((t): t is string => t !== undefined && Number.isFinite(Date.parse(t)))
        .sort((a, b) => Date.parse(a) - Date.parse(b))
        .at(-1);
      if (truncated && sorted && reached && reached !== job.continueFrom) {
        // More changed than one catch-up reads: continue from the last change read, in a job of
        // its own (bounded work per job); recovery is recorded when the last window is done.
        const next: IngestJob = {
          kind: 'catch-up',
          connectionId: binding.connection.id,
          topics: [topic],
          reason: `${job.reason} (continued)`,
          continueFrom: reached,
          startedAt: job.startedAt ?? startedAt,
        };
        await this.#deps.store.jobs.enqueue(binding.tenant, {
          queue: INGEST_QUEUE,
          key: jobKeys.catchUp(
            binding.connection.id,
            `${topic}|from|${reached}|${job.startedAt ?? startedAt}`,
          ),
          payload: next,
        });
        this.#deps.logger.info(
          { connectionId: binding.connection.id, topic, continueFrom: reached },
          'catch-up continues in another window',
        );
        continue;
      }
      if (truncated) {
        this.#deps.logger.warn(
          { connectionId: binding.connection.id, topic, at: reached },
          sorted
            ? 'catch-up window made no progress (one instant holds more changes than a window reads)'
            : 'catch-up stopped at its page limit and the EHR cannot sort by _lastUpdated to continue',
        );
      }
      const coveredFrom = job.startedAt ?? startedAt;
      await this.#update(binding, topic, (r) => {
        const synced = recordSynced(r.tracker, coveredFrom);
        // A catch-up covers every event the sender had reported when it started.
        return { ...r, tracker: recordRecovered(synced, synced.reported, startedAt) };
      });
    }
  }

  /** $events for a range; false when the EHR does not offer it (fall back to a query). */
  async #recoverWithEvents(
    binding: ConnectionBinding,
    record: SubscriptionRecord,
    range: { topic: IngestTopic; from: number; to: number },
    ehr: EhrPort,
  ): Promise<boolean> {
    let bundle: Resource;
    try {
      bundle = await ehr.operation(`Subscription/${record.ehrSubscriptionId ?? ''}/$events`, {
        method: 'GET',
        params: { eventsSinceNumber: String(range.from), eventsUntilNumber: String(range.to) },
      });
    } catch (err) {
      if (classifyEhrError(err) === 'retryable') {
        throw err;
      }
      return false;
    }
    let parsed: TopicNotification;
    try {
      const result = parseNotification({
        method: 'POST',
        headers: {},
        body: JSON.stringify(bundle),
      });
      if (result.shape !== 'backport' && result.shape !== 'r5') {
        return false;
      }
      parsed = result;
    } catch {
      return false;
    }
    const carried = new Map(
      parsed.resources.map((r) => [`${r.resource.resourceType}/${r.resource.id ?? ''}`, r.resource]),
    );
    const focuses = parsed.events.map((e) => e.focus).filter((f): f is string => f !== undefined);
    const carriedFocus = focuses
      .map((f) => carried.get(normalizeReference(f) ?? ''))
      .filter((r): r is Resource => r !== undefined);
    const toFetch = focuses.filter((f) => !carried.has(normalizeReference(f) ?? ''));
    await this.#ingestResources(binding, carriedFocus, toFetch, carried);
    const now = this.#now().toISOString();
    await this.#update(binding, range.topic, (r) => {
      let tracker = r.tracker;
      for (const event of parsed.events) {
        if (event.eventNumber !== undefined) {
          tracker = recordEvent(tracker, event.eventNumber, now).state;
        }
      }
      // Numbers the EHR no longer has (or never matched) are as recovered as they will get.
      return { ...r, tracker: recordRecovered(tracker, range.to, now) };
    });
    return true;
  }

  async #maintain(binding: ConnectionBinding): Promise<void> {
    const { connection } = binding;
    const now = this.#now();
    if (connection.mode === 'poll') {
      await this.#catchUp(binding, {
        kind: 'catch-up',
        connectionId: connection.id,
        topics: [...INGEST_TOPICS],
        reason: 'poll',
      });
      return;
    }
    const rebuilt = await this.#deps.maintainer.ensure(binding);
    if (rebuilt.length > 0) {
      // Fix: a subscription recreated (gone from the EHR) or repaired here was not caught up, so
      // whatever changed while there was none was never stored.
      await this.#enqueueCatchUp(binding, [...rebuilt], 'subscription-rebuilt');
    }
    const ehr = this.#deps.ehrFor(connection);
    for (const topic of INGEST_TOPICS) {
      const record = await loadRecord(this.#deps.store, binding.tenant, connection.id, topic);
      if (!record?.ehrSubscriptionId) {
        continue;
      }
      if (
        connection.mode !== 'rest-hook' &&
        heartbeatOverdue(record.tracker, now, connection.heartbeatSeconds)
      ) {
        // Silence past the heartbeat period: ask the EHR how the subscription is doing.
        const status = await this.#subscriptionStatus(ehr, record.ehrSubscriptionId);
        const iso = now.toISOString();
        let reset = false;
        const updated = await this.#update(binding, topic, (r) => {
          const tracked =
            status.eventsSinceSubscriptionStart !== undefined
              ? recordReported(r.tracker, status.eventsSinceSubscriptionStart, iso)
              : undefined;
          reset = tracked?.reset ?? false;
          return {
            ...r,
            status: (status.status as SubscriptionRecord['status']) ?? r.status,
            tracker: tracked?.state ?? heard(r.tracker, iso),
          };
        });
        if (reset) {
          await this.#enqueueCatchUp(binding, [topic], 'counter-reset'); // as in #status
        }
        if (status.status === 'error' || status.status === 'off') {
          await this.#repair(binding, topic);
        }
        await this.#recoverIfGap(binding, updated);
      } else {
        await this.#recoverIfGap(binding, record);
      }
    }
  }

  async #subscriptionStatus(
    ehr: EhrPort,
    ehrSubscriptionId: string,
  ): Promise<{ status?: string; eventsSinceSubscriptionStart?: number }> {
    try {
      const bundle = await ehr.operation(`Subscription/${ehrSubscriptionId}/$status`, { method: 'GET' });
      const parsed = parseNotification({ method: 'POST', headers: {}, body: JSON.stringify(bundle) });
      if (parsed.shape === 'backport' || parsed.shape === 'r5') {
        return {
          ...(parsed.status ? { status: parsed.status } : {}),
          ...(parsed.eventsSinceSubscriptionStart !== undefined
            ? { eventsSinceSubscriptionStart: parsed.eventsSinceSubscriptionStart }
            : {}),
        };
      }
    } catch (err) {
      if (classifyEhrError(err) === 'retryable') {
        throw err;
      }
      if (classifyEhrError(err) === 'gone') {
        return { status: 'off' };
      }
    }
    return {};
  }
}
