/**
 * Charge capture: takes `encounter-changed` jobs (emitted by ingest when an encounter's
 * documentation changed), recomputes that encounter's charges with the coding engine from the
 * tenant's stored copies, and reconciles them with the ChargeItems already stored:
 *
 * - a new line is created with its stable id, an unchanged one is left alone, a changed one is
 *   updated (If-Match), a billable charge no longer produced is voided (entered-in-error, with a
 *   note why) — so an administration entered in error voids its charges;
 * - every ChargeItem version written gets a Provenance (the administrations, encounter, medication
 *   and coverage versions it came from, and the rule) and an AuditEvent, in the same transaction;
 * - an encounter whose Claim was already submitted (status active) keeps its charges: the
 *   differences go to one "corrected claim needed" Task instead;
 * - documentation issues (held administrations, warnings) are kept in one "documentation issues"
 *   Task per encounter, completed when they are gone.
 *
 * The unit of work is the encounter's group: a home-infusion episode with its nursing visits, or
 * an office / hospital visit with the patient's other visits in the same setting that day (the
 * engine needs them together: second-encounter modifiers, per diems). Only finished visits (and
 * an open home episode) are coded; an encounter entered in error or cancelled has its charges voided.
 *
 * Idempotent and retry-safe: the same inputs give the same plan, an applied plan makes the next one
 * empty, writes are optimistic (If-Match / create-with-id) and each group's writes go in one batch;
 * after writing, what was written meanwhile is checked (or, where the store cannot tell, the inputs
 * are read again) and the group recomputed if its inputs moved.
 *
 * This module is the worker (jobs, retries, the settle loop). Reading a group is ./group.ts,
 * planning it ./plan-group.ts (with the pure ./reconcile.ts), its writes ./capture-writes.ts.
 */
import { OperationOutcomeError } from '@medplum/core';
import type { Encounter } from '@medplum/fhirtypes';
import type { CodingTables } from '../coding/tables/types.ts';
import type { TenantCodingOptions } from '../coding/types.ts';
import { loadFhirDefinitions } from '../fhir/definitions.ts';
import type { EncounterChangedEvent } from '../ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, encounterChangedKey } from '../ingest/jobs.ts';
import type { Logger } from '../logger.ts';
import type { Job, Store, StoredResource, TenantId, WriteMark, WrittenResource } from '../store/port.ts';
import { GroupCommit } from '../store/group-commit.ts';
import { retryDelayMs } from '../store/job-policy.ts';
import { normalizeReference } from '../store/search-index.ts';
import { LoopingWorker } from '../store/worker-loop.ts';
import type { GroupReader } from './group.ts';
import { codedWith, gatherGroup, groupReader, inputsMoved, isNotFound } from './group.ts';
import type { LeasedBatch } from './capture-lease.ts';
import { leaseCaptureBatch } from './capture-lease.ts';
import type { GroupSummary, PlanContext, PlannedGroup } from './group-planner.ts';
import { planEncounterGroup, planRequestFor } from './group-planner.ts';
import type { PlanThreadData } from './plan-thread.ts';
import { PlanningThread } from './planning-thread.ts';

export interface ChargeCaptureDeps {
  readonly store: Store;
  readonly tables: CodingTables;
  readonly logger: Logger;
  /** Base URL of this server (AuditEvent agent identifiers). */
  readonly publicUrl: string;
  /** Per-tenant coding options (340B modifier, the clinic's time zone or fixed UTC offset). */
  readonly codingOptions?: (tenant: TenantId) => TenantCodingOptions | undefined;
  readonly now?: () => Date;
  readonly leaseMs?: number;
  readonly batchSize?: number;
  /** Idle poll interval when no one notifies (default 250 ms). */
  readonly pollMs?: number;
  /**
   * A planning thread to start with the loop (./planning-thread.ts): batches are planned there
   * while the worker writes. Without one, each group is planned on the worker's thread.
   */
  readonly planningThread?: PlanThreadData;
}

/** What one run did for an encounter group (for logs and tests). */
export interface CaptureSummary {
  readonly encounter: string;
  /** The encounters of the group, by state ('ready' | 'void' | 'uncodable' | 'pending'). */
  readonly encounters: Readonly<Record<string, string>>;
  readonly created: number;
  readonly updated: number;
  readonly voided: number;
  readonly unchanged: number;
  /** Changes held back because the encounter's claim was submitted. */
  readonly deferred: number;
  readonly tasks: number;
}

const EMPTY_SUMMARY = (encounter: string): CaptureSummary => ({
  encounter,
  encounters: {},
  created: 0,
  updated: 0,
  voided: 0,
  unchanged: 0,
  deferred: 0,
  tasks: 0,
});

/** The inputs reference resources not stored yet; retried shortly (they normally follow within ms). */
export class IncompleteInputsError extends Error {
  readonly missing: readonly string[];

  constructor(missing: readonly string[]) {
    super(`charge inputs not stored yet: ${missing.length} reference(s)`);
    this.name = 'IncompleteInputsError';
    this.missing = missing;
  }
}

export interface ProcessOptions {
  /**
   * Where the store's writes stood before the batch began (the worker's runOnce): a first attempt
   * checks what was written since it, so the batch's groups share one look (see #writtenSince).
   */
  readonly since?: { readonly mark: WriteMark | undefined };
  /**
   * Code even when referenced resources are missing (unknown drugs then become documentation
   * issues). The worker waits a few attempts first; direct calls default to true.
   */
  readonly allowIncomplete?: boolean;
  /** The first attempt's plan, made ahead (on the planning thread) with the options above. */
  readonly planned?: Promise<PlannedGroup>;
}

/**
 * What charge capture itself writes (with the append-only AuditEvents and Provenances): never an
 * input of the charges, so not a sign that the inputs moved.
 */
const CAPTURE_OUTPUT_TYPES = ['ChargeItem', 'Task'] as const;
/** More resources than this written meanwhile: reading the group again is cheaper than sifting them. */
const WRITTEN_SINCE_LIMIT = 2000;

/**
 * Batches leased and being planned ahead of the one being written. With one, the writer and the
 * planning thread each sat idle about a quarter of the time, each waiting on the other's slower
 * batch (1,000 finished visits in a row: 1,050–1,200 µs of wall time a visit); with two, the
 * thread has the next batch queued (960–1,100 µs).
 */
const BATCHES_AHEAD = 2;

/** Attempts that wait for missing references before coding with what is there. */
const INCOMPLETE_ATTEMPTS = 4;

function isConflict(err: unknown): boolean {
  return (
    err instanceof OperationOutcomeError &&
    (err.outcome.id === 'precondition-failed' || err.outcome.id === 'conflict')
  );
}

export class ChargeCaptureWorker extends LoopingWorker {
  readonly #deps: ChargeCaptureDeps;
  readonly #now: () => Date;
  /** What each plan request is made with (./group-planner.ts planRequestFor). */
  readonly #planContext: PlanContext;
  /**
   * The groups of a batch run side by side and their writes share one transaction (one COMMIT for
   * the batch's charges instead of one per group); a write that fails is retried alone, so one
   * group's conflict is that group's alone (../store/group-commit.ts).
   */
  readonly #writes: GroupCommit;
  /** The next batches, leased and being planned while the batch in hand is written. */
  #ahead: Promise<LeasedBatch>[] = [];
  /** Whether batches are leased ahead: only while the loop runs with a planner (see `start`). */
  #leaseAhead = false;
  /** The planning thread, while the loop runs (see `start`). */
  #planner: PlanningThread | undefined;
  #plannedAhead = 0;
  /** The last look at what was written since a mark (#writtenSince). */
  #lastLook:
    | {
        readonly tenant: TenantId;
        readonly mark: WriteMark;
        readonly commits: number;
        readonly written: Promise<WrittenResource[] | undefined>;
      }
    | undefined;

  constructor(deps: ChargeCaptureDeps) {
    super({
      name: 'charge capture',
      logger: deps.logger,
      ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    });
    // Its retries wake its loop when due (LoopingWorker.ownStore), not at the next poll.
    this.#deps = { ...deps, store: this.ownStore(deps.store, [ENCOUNTER_CHANGED_QUEUE]) };
    this.#now = deps.now ?? (() => new Date());
    this.#planContext = {
      now: this.#now,
      publicUrl: deps.publicUrl,
      ...(deps.codingOptions ? { codingOptions: deps.codingOptions } : {}),
    };
    this.#writes = new GroupCommit(this.#deps.store);
    loadFhirDefinitions();
  }

  /**
   * Runs the loop; with a planning thread, under load (a full batch) each batch is leased and its
   * plans asked for while the batch before it is written (`runOnce`). A caller of `runOnce` alone
   * gets one batch per call, planned on this thread.
   */
  override start(): void {
    this.#leaseAhead = this.#deps.planningThread !== undefined;
    super.start();
  }

  /**
   * Finishes the batch in hand, then the batch leased ahead (it is this worker's until its leases
   * expire: left alone, it would wait that long for another worker), then stops.
   */
  override async stop(): Promise<void> {
    this.#leaseAhead = false;
    await super.stop();
    while (this.#ahead.length > 0) {
      try {
        await this.runOnce();
      } catch (err) {
        this.#deps.logger.error({ err: (err as Error).message }, 'charge capture batch leased ahead failed');
      }
    }
    const planner = this.#planner;
    this.#planner = undefined;
    await planner?.close();
  }

  /** The planning thread: not started (no load yet, or none configured), starting, ready, or failed. */
  get planningThread(): 'off' | PlanningThread['state'] {
    return this.#planner?.state ?? 'off';
  }

  /** Groups whose first plan was made ahead on the planning thread, so far (tests, diagnostics). */
  get plannedAhead(): number {
    return this.#plannedAhead;
  }

  /** Leases and processes one batch; returns how many jobs it handled. */
  async runOnce(): Promise<number> {
    const batch = await (this.#ahead.shift() ?? this.#leaseBatch());
    if (batch.jobs.length === 0) {
      return 0;
    }
    // A full batch says more is queued: the next one is leased and planned on the planning thread
    // while this one is written. Its plans may miss this batch's writes (a group in both, or a
    // patient's visit that day in each): such a plan's writes conflict (create-with-id, If-Match),
    // or its inputs are found moved after writing, and the group is planned again here.
    if (batch.full && this.#leaseAhead && this.#deps.planningThread) {
      // Started with the first full batch (load), not with the worker: a worker that never has
      // a full batch plans on its own thread and needs none.
      this.#planner ??= new PlanningThread(this.#deps.planningThread, (err) =>
        this.#deps.logger.error(
          { err: err.message },
          'charge capture planning thread failed; planning on the worker thread',
        ),
      );
      while (this.#ahead.length < BATCHES_AHEAD) {
        const next = this.#leaseBatch();
        // Awaited by a later runOnce; a lease that failed is that batch's error, not an unhandled one.
        next.catch(() => undefined);
        this.#ahead.push(next);
      }
    }
    // Side by side: each group reads and plans on its own, and their writes meet in one group
    // commit. Two groups that share encounters (a patient's visits that day) plan the same charges;
    // the second to write conflicts (If-Match, create-with-id), looks again and finds them written.
    const done: Job[] = [];
    await Promise.all(
      batch.groups.map(async ({ jobs, since, planned }) => {
        if (await this.#handle(jobs, since, planned)) {
          done.push(...jobs);
        }
      }),
    );
    // The batch's acks in one transaction instead of one per job: a crash before it re-runs the
    // batch's groups, whose recomputation finds their charges written and plans nothing.
    await this.#deps.store.jobs.ackMany(
      done.map((job) => ({ jobId: job.id, leaseToken: job.leaseToken ?? '' })),
    );
    return batch.jobs.length;
  }

  /** Leases a batch and asks the planning thread (when it is up) for its groups' plans (./capture-lease.ts). */
  #leaseBatch(): Promise<LeasedBatch> {
    return leaseCaptureBatch({
      store: this.#deps.store,
      limit: this.#deps.batchSize ?? 32,
      leaseMs: this.#deps.leaseMs ?? 60_000,
      ...this.#planContext,
      incompleteAttempts: INCOMPLETE_ATTEMPTS,
      ...(this.#planner?.ready ? { planner: this.#planner } : {}),
    });
  }

  /** Recomputes one encounter's group; true when its jobs are done (the caller acks them). */
  async #handle(
    jobs: readonly Job[],
    since: { mark: WriteMark | undefined } | undefined,
    planned?: Promise<PlannedGroup>,
  ): Promise<boolean> {
    const [first] = jobs;
    if (!first) {
      return false;
    }
    const payloads = jobs.map((j) => j.payload as Partial<EncounterChangedEvent> | undefined);
    const encounter = payloads[0]?.encounter;
    try {
      if (typeof encounter !== 'string' || !normalizeReference(encounter)?.startsWith('Encounter/')) {
        this.#deps.logger.warn({ job: first.id }, 'encounter-changed job without an encounter dropped');
      } else {
        const causes = [...new Set(payloads.flatMap((p) => p?.causes ?? []))].sort();
        const replaced = [...new Set(payloads.flatMap((p) => p?.replaced ?? []))].sort();
        const attempts = Math.max(...jobs.map((j) => j.attempts));
        const summary = await this.process(
          first.tenant,
          { encounter, causes },
          {
            allowIncomplete: attempts >= INCOMPLETE_ATTEMPTS,
            ...(since ? { since } : {}),
            ...(planned ? { planned } : {}),
          },
        );
        await this.#recomputeLeftBehind(first.tenant, encounter, replaced, Object.keys(summary.encounters));
        this.#deps.logger.debug({ ...summary, jobs: jobs.length }, 'charges captured');
      }
      return true;
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof IncompleteInputsError) {
        // Expected right after ingest: look again in 0.5, 1, 2 s.
        const retryAt = new Date(this.#now().getTime() + 500 * 2 ** Math.min(first.attempts - 1, 3));
        for (const job of jobs) {
          await this.#deps.store.jobs.fail(job.id, job.leaseToken ?? '', {
            error: message,
            retryable: true,
            now: this.#now(),
            retryAt: retryAt.toISOString(),
          });
        }
        this.#deps.logger.debug({ jobs: jobs.map((j) => j.id), attempts: first.attempts }, message);
        return false;
      }
      this.#deps.logger.warn(
        { jobs: jobs.map((j) => j.id), attempts: first.attempts, err: message },
        'charge capture job failed',
      );
      for (const job of jobs) {
        // The store's backoff (job-policy.ts), drawn here: the loop is told this instant without
        // reading the job back (./own-work.ts).
        const retryAt = new Date(this.#now().getTime() + retryDelayMs(job.attempts));
        await this.#deps.store.jobs.fail(job.id, job.leaseToken ?? '', {
          error: message,
          retryable: true,
          now: this.#now(),
          retryAt: retryAt.toISOString(),
        });
      }
      return false;
    }
  }

  /**
   * Recomputes and reconciles the charges of the event's encounter group (exposed for tests).
   * Throws to ask for a retry.
   */
  async process(
    tenant: TenantId,
    event: EncounterChangedEvent,
    options: ProcessOptions = {},
  ): Promise<CaptureSummary> {
    const encounter = normalizeReference(event.encounter);
    if (!encounter?.startsWith('Encounter/')) {
      return EMPTY_SUMMARY(event.encounter);
    }
    const coding = this.#deps.codingOptions?.(tenant);
    const zone = coding?.timeZone ?? coding?.utcOffset;
    let total = EMPTY_SUMMARY(encounter);
    for (let attempt = 0; attempt < 6; attempt++) {
      // The first attempt's plan may have been made ahead, on the planning thread; a retry (a
      // conflict, or inputs that moved) plans here, after what made it retry was written.
      const ahead = attempt === 0 && options.planned ? await this.#madeAhead(options.planned) : undefined;
      if (ahead) {
        this.#plannedAhead++;
      }
      const planned =
        ahead ??
        (await planEncounterGroup(
          this.#deps.store,
          this.#deps.tables,
          planRequestFor(this.#planContext, tenant, encounter, {
            // Where the store's writes stood before anything was read (see #inputsMoved).
            ...(attempt === 0 && options.since ? { since: options.since } : {}),
            allowIncomplete: options.allowIncomplete !== false,
          }),
        ));
      if (planned.kind === 'absent') {
        return total;
      }
      if (planned.kind === 'incomplete') {
        throw new IncompleteInputsError(planned.missing);
      }
      const { group, mark } = planned;
      total = {
        ...total,
        encounters: Object.fromEntries(
          group.members.map((m) => [
            `Encounter/${m.id}`,
            group.scopes.get(`Encounter/${m.id}`)?.state ?? 'pending',
          ]),
        ),
        unchanged: planned.unchanged,
        deferred: planned.deferred,
      };
      if (planned.operations.length === 0) {
        return total;
      }
      let committedBy: number;
      try {
        await this.#writes.write(tenant, planned.operations);
        committedBy = this.#writes.commits;
      } catch (err) {
        if (isConflict(err)) {
          continue; // another writer got there first: look again
        }
        throw err;
      }
      total = {
        ...total,
        created: total.created + planned.created,
        updated: total.updated + planned.updated,
        voided: total.voided + planned.voided,
        tasks: total.tasks + planned.tasks,
      };
      // Inputs that moved while we computed (a concurrent ingest) mean the plan may be stale: redo.
      const reader = groupReader(this.#deps.store, tenant, zone);
      if (
        mark &&
        !(await this.#inputsMoved(tenant, mark, committedBy, reader, group, new Set(planned.requested)))
      ) {
        return total;
      }
      const after = await gatherGroup(reader, encounter);
      if (!after || after.fingerprint === group.fingerprint) {
        return total;
      }
    }
    throw new Error(`charge capture for ${encounter} did not settle: inputs kept changing`);
  }

  /**
   * The visits an encounter was coded with before this change and is no longer with (its day,
   * patient or episode corrected) hold charges coded with it (a second visit's modifier 59, an
   * episode's per diems): each is announced, to be recomputed without it. Ingest names the exact
   * version replaced (EncounterChangedEvent.replaced); it is read and grouped as it was, its
   * fellow members as they are now. Announced after this run's write and before its ack, keyed by
   * that version: a crash in between runs it again and enqueues nothing twice.
   */
  async #recomputeLeftBehind(
    tenant: TenantId,
    encounter: string,
    replaced: readonly string[],
    groupNow: readonly string[],
  ): Promise<void> {
    if (replaced.length === 0) {
      return;
    }
    const coding = this.#deps.codingOptions?.(tenant);
    const reader = groupReader(this.#deps.store, tenant, coding?.timeZone ?? coding?.utcOffset);
    const still = new Set([normalizeReference(encounter) ?? encounter, ...groupNow]);
    const now = (await reader.read(encounter)) as Encounter | undefined;
    for (const version of replaced) {
      const [, id = '', , versionId = ''] = version.split('/');
      let before: StoredResource;
      try {
        before = await this.#deps.store.resources.vread(tenant, 'Encounter', id, versionId);
      } catch (err) {
        if (isNotFound(err)) {
          continue;
        }
        throw err;
      }
      for (const member of await codedWith(reader, before as Encounter & StoredResource, now)) {
        if (!still.has(member)) {
          const event: EncounterChangedEvent = { encounter: member, causes: [version] };
          await this.#deps.store.jobs.enqueue(tenant, {
            queue: ENCOUNTER_CHANGED_QUEUE,
            key: encounterChangedKey(member, `left|${version}`),
            payload: event,
          });
        }
      }
    }
  }

  /** A plan made ahead, or undefined when it failed (the planning thread gone): planned here instead. */
  async #madeAhead(planned: Promise<PlannedGroup>): Promise<PlannedGroup | undefined> {
    try {
      return await planned;
    } catch (err) {
      this.#deps.logger.warn({ err: (err as Error).message }, 'plan made ahead failed; planning again');
      return undefined;
    }
  }

  /**
   * Whether anything written since `mark` (before this run read its group; its own write included)
   * could be an input of the group. The settle loop's guard: another capture process may finish a
   * newer run of the group between this run's reads and its write — a create no If-Match catches —
   * and no later job would repair that. Asking the store what was written since is far cheaper than
   * reading the group again (six searches and a dozen reads); when it cannot tell (MongoDB, or too
   * much was written), the group is read again.
   */
  async #inputsMoved(
    tenant: TenantId,
    mark: WriteMark,
    committedBy: number,
    reader: GroupReader,
    gathered: GroupSummary,
    requested: ReadonlySet<string>,
  ): Promise<boolean> {
    const written = await this.#writtenSince(tenant, mark, committedBy);
    return written === undefined || (await inputsMoved(reader, gathered, requested, written));
  }

  /**
   * What was written since `mark`, asked once for the groups of a batch: a look taken after the
   * write transaction numbered `committedBy` (GroupCommit.commits) committed covers every write
   * up to it, so a group whose write went in that transaction or an earlier one reuses it; a later
   * one asks again.
   */
  #writtenSince(
    tenant: TenantId,
    mark: WriteMark,
    committedBy: number,
  ): Promise<WrittenResource[] | undefined> {
    const last = this.#lastLook;
    if (last?.tenant === tenant && last.mark === mark && last.commits >= committedBy) {
      return last.written;
    }
    const written = this.#deps.store.resources.writtenSince(tenant, mark, {
      exceptTypes: CAPTURE_OUTPUT_TYPES,
      limit: WRITTEN_SINCE_LIMIT,
    });
    this.#lastLook = { tenant, mark, commits: this.#writes.commits, written };
    return written;
  }
}
