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
import type { MedicationAdministration } from '@medplum/fhirtypes';
import type { CodingTables } from '../coding/tables/types.ts';
import type { TenantCodingOptions } from '../coding/types.ts';
import { loadFhirDefinitions } from '../fhir/definitions.ts';
import type { EncounterChangedEvent } from '../ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, ENCOUNTER_KEY_SEPARATOR, encounterChangedKey } from '../ingest/jobs.ts';
import type { Logger } from '../logger.ts';
import type { Job, Store, StoredResource, TenantId, WriteMark, WrittenResource } from '../store/port.ts';
import { GroupCommit } from '../store/group-commit.ts';
import { retryDelayMs } from '../store/job-policy.ts';
import { normalizeReference } from '../store/search-index.ts';
import { LoopingWorker } from '../store/worker-loop.ts';
import { captureOperations } from './capture-writes.ts';
import type { GroupInputs, GroupReader } from './group.ts';
import { gatherGroup, groupReader, inputsMoved, isNotFound, refOf } from './group.ts';
import { planGroup } from './plan-group.ts';

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
}

/**
 * What charge capture itself writes (with the append-only AuditEvents and Provenances): never an
 * input of the charges, so not a sign that the inputs moved.
 */
const CAPTURE_OUTPUT_TYPES = ['ChargeItem', 'Task'] as const;
/** More resources than this written meanwhile: reading the group again is cheaper than sifting them. */
const WRITTEN_SINCE_LIMIT = 2000;

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
  /**
   * The groups of a batch run side by side and their writes share one transaction (one COMMIT for
   * the batch's charges instead of one per group); a write that fails is retried alone, so one
   * group's conflict is that group's alone (../store/group-commit.ts).
   */
  readonly #writes: GroupCommit;
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
    this.#writes = new GroupCommit(this.#deps.store);
    loadFhirDefinitions();
  }

  /** Leases and processes one batch; returns how many jobs it handled. */
  async runOnce(): Promise<number> {
    const jobs = await this.#deps.store.jobs.lease({
      queue: ENCOUNTER_CHANGED_QUEUE,
      leaseMs: this.#deps.leaseMs ?? 60_000,
      limit: this.#deps.batchSize ?? 32,
      now: this.#now(),
      // With each change, the encounter's other changes due, however far apart they were enqueued
      // (ingest stores an administration and, a batch later, its encounter): one recomputation
      // covers them all, since every change committed before this lease is in what it reads.
      siblingsBy: ENCOUNTER_KEY_SEPARATOR,
    });
    // Several changes to one encounter collapse into one recomputation.
    const groups = new Map<string, Job[]>();
    for (const job of jobs) {
      const payload = job.payload as Partial<EncounterChangedEvent> | undefined;
      const key = `${job.tenant}|${payload?.encounter ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), job]);
    }
    // Where the store's writes stood before any group read: each group's first look at what was
    // written meanwhile starts here, so the batch's groups share one look (#writtenSince).
    const marks = new Map<TenantId, { mark: WriteMark | undefined }>();
    for (const job of jobs) {
      if (!marks.has(job.tenant)) {
        marks.set(job.tenant, { mark: await this.#deps.store.resources.writeMark(job.tenant) });
      }
    }
    // Side by side: each group reads and plans on its own, and their writes meet in one group
    // commit. Two groups that share encounters (a patient's visits that day) plan the same charges;
    // the second to write conflicts (If-Match, create-with-id), looks again and finds them written.
    const done: Job[] = [];
    await Promise.all(
      [...groups.values()].map(async (group) => {
        if (await this.#handle(group, marks.get(group[0]?.tenant ?? ''))) {
          done.push(...group);
        }
      }),
    );
    // The batch's acks in one transaction instead of one per job: a crash before it re-runs the
    // batch's groups, whose recomputation finds their charges written and plans nothing.
    await this.#deps.store.jobs.ackMany(
      done.map((job) => ({ jobId: job.id, leaseToken: job.leaseToken ?? '' })),
    );
    return jobs.length;
  }

  /** Recomputes one encounter's group; true when its jobs are done (the caller acks them). */
  async #handle(jobs: readonly Job[], since: { mark: WriteMark | undefined } | undefined): Promise<boolean> {
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
        const attempts = Math.max(...jobs.map((j) => j.attempts));
        const summary = await this.process(
          first.tenant,
          { encounter, causes },
          { allowIncomplete: attempts >= INCOMPLETE_ATTEMPTS, ...(since ? { since } : {}) },
        );
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
    await this.#followMovedAdministrations(tenant, event.causes);
    const coding = this.#deps.codingOptions?.(tenant);
    const zone = coding?.timeZone ?? coding?.utcOffset;
    let total = EMPTY_SUMMARY(encounter);
    for (let attempt = 0; attempt < 6; attempt++) {
      // Where the store's writes stood before anything was read (see #inputsMoved).
      const mark =
        attempt === 0 && options.since
          ? options.since.mark
          : await this.#deps.store.resources.writeMark(tenant);
      const requested = new Set<string>();
      const reader = groupReader(this.#deps.store, tenant, zone, requested);
      const gathered = await gatherGroup(reader, encounter);
      if (!gathered) {
        return total;
      }
      if (gathered.missing.length > 0 && options.allowIncomplete === false) {
        throw new IncompleteInputsError(gathered.missing);
      }
      const plan = await planGroup(reader, gathered, {
        tables: this.#deps.tables,
        ...(coding ? { coding } : {}),
        now: this.#now,
      });
      total = {
        ...total,
        encounters: Object.fromEntries(
          gathered.members.map((m) => [
            `Encounter/${m.id}`,
            gathered.scopes.get(`Encounter/${m.id}`)?.state ?? 'pending',
          ]),
        ),
        unchanged: plan.unchanged,
        deferred: [...plan.deferred.values()].reduce((n, list) => n + list.length, 0),
      };
      if (plan.changes.length === 0 && plan.tasks.length === 0) {
        return total;
      }
      let committedBy: number;
      try {
        await this.#writes.write(
          tenant,
          captureOperations(gathered, plan, this.#now(), this.#deps.publicUrl),
        );
        committedBy = this.#writes.commits;
      } catch (err) {
        if (isConflict(err)) {
          continue; // another writer got there first: look again
        }
        throw err;
      }
      total = {
        ...total,
        created: total.created + plan.changes.filter((c) => c.kind === 'create').length,
        updated: total.updated + plan.changes.filter((c) => c.kind === 'update').length,
        voided: total.voided + plan.changes.filter((c) => c.kind === 'void').length,
        tasks: total.tasks + plan.tasks.length,
      };
      // Inputs that moved while we computed (a concurrent ingest) mean the plan may be stale: redo.
      if (mark && !(await this.#inputsMoved(tenant, mark, committedBy, reader, gathered, requested))) {
        return total;
      }
      const after = await gatherGroup(reader, encounter);
      if (!after || after.fingerprint === gathered.fingerprint) {
        return total;
      }
    }
    throw new Error(`charge capture for ${encounter} did not settle: inputs kept changing`);
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
    gathered: GroupInputs,
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

  /**
   * An administration moved to another encounter (context corrected) leaves charges on the old
   * one; ingest only announces the new one, so announce the old one too.
   */
  async #followMovedAdministrations(tenant: TenantId, causes: readonly string[]): Promise<void> {
    for (const cause of causes) {
      const ref = normalizeReference(cause);
      if (!ref?.startsWith('MedicationAdministration/')) {
        continue;
      }
      const id = ref.split('/')[1] ?? '';
      let versions: StoredResource[];
      try {
        // A first version has no earlier encounter to leave charges on: one read, not a history.
        const current = await this.#deps.store.resources.read(tenant, 'MedicationAdministration', id);
        if (current.meta.versionId === '1') {
          continue;
        }
        versions = (
          await this.#deps.store.resources.history(tenant, 'MedicationAdministration', id, { count: 2 })
        ).resources;
      } catch (err) {
        if (isNotFound(err)) {
          continue;
        }
        throw err;
      }
      const [current, previous] = versions as (MedicationAdministration & StoredResource)[];
      const before = refOf(previous?.context);
      const now = refOf(current?.context);
      if (current && before?.startsWith('Encounter/') && before !== now) {
        const event: EncounterChangedEvent = {
          encounter: before,
          causes: [`${ref}/_history/${current.meta.versionId}`],
        };
        await this.#deps.store.jobs.enqueue(tenant, {
          queue: ENCOUNTER_CHANGED_QUEUE,
          key: encounterChangedKey(before, `moved|${ref}/${current.meta.versionId}`),
          payload: event,
        });
      }
    }
  }
}
