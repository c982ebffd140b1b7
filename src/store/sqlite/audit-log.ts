/**
 * The SQLite adapter's AuditLog: read audits written straight into the main file while reads are
 * few, and through the audit journal (./audit-journal.ts) with a thread filing them once reads
 * are many. FHIR writes' AuditEvents follow the same switch: filed with the write while events are
 * few, kept pending in the write's transaction (./audit-pending.ts) for the thread once many.
 *
 * - Direct: an append is a group-committed create of each event (as every other write).
 * - Journaled: once `threadAtEventsPerSecond` events arrive within a second, a thread
 *   (./audit-thread.ts) starts; when it is ready, appends go to the journal (durable when they
 *   resolve) and the thread files them. Starting a thread costs ~100 ms of CPU (it loads the search
 *   index code), which a store read a few times an hour — every test's store — should not pay.
 * - Reading AuditEvents: the resource store calls `settle()` first, which files whatever the
 *   journal holds (from any process) in this thread, so a read or search sees every event
 *   appended before it.
 * - The thread may lag at most `maxBacklog` events: an append beyond that waits for it, so the
 *   read rate the API sustains is the rate at which events are filed, not the journal's.
 * - A thread that fails is not started again: appends go direct, and what it left in the journal
 *   is filed here.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { AuditLog, StoredResource, TenantId } from '../port.ts';
import { appendJournaledInTx, journalHasRows, moveJournaled } from './audit-journal.ts';
import { movePending, pendingHasRows } from './audit-pending.ts';
import type { AuditThreadData, AuditThreadMessage } from './audit-thread.ts';
import type { SqliteConnection } from './db.ts';
import type { AuditLogHooks, SqliteResourceStore } from './resources.ts';
import { assertValidId } from './values.ts';

export interface AuditLogOptions {
  /** Events appended within one second that start the thread. Default 1,000; 0: at the first append. */
  readonly threadAtEventsPerSecond?: number;
  /** Events the thread may have left to file before appends wait for it. Default 4,096. */
  readonly maxBacklog?: number;
  /** Events the thread files per transaction. Default 128. */
  readonly batchSize?: number;
  /** How long the journal stays empty before the thread stops looking at it (ms). Default 1,000. */
  readonly threadSleepAfterMs?: number;
  /** Told when the thread fails (it is not started again). */
  readonly onError?: (err: Error) => void;
  /** The thread's module: ./audit-thread.ts (another only to show what a failed thread leaves). */
  readonly threadModule?: URL;
}

const AUDIT_THREAD = new URL('./audit-thread.ts', import.meta.url);
const SETTLE_BATCH = 512;
/**
 * The thread looks at the journal this often while it is written (ms): ~120 reads' events at
 * 8,000/s. Larger batches file cheaper (a filing micro-benchmark, best of 12 runs: 55.2 µs an event
 * in batches of 32, 45.4 in batches of 128), and no reader waits for them (`settle`).
 */
const THREAD_POLL_MS = 15;
/** …and stops looking once it stayed empty this long (ms), until an append wakes it. */
const THREAD_SLEEP_AFTER_MS = 1000;

export class SqliteAuditLog implements AuditLog, AuditLogHooks {
  readonly #main: SqliteConnection;
  readonly #journal: SqliteConnection;
  readonly #resources: SqliteResourceStore;
  readonly #now: () => Date;
  readonly #busyTimeoutMs: number;
  readonly #threadAt: number;
  readonly #maxBacklog: number;
  readonly #batchSize: number;
  readonly #sleepAfterMs: number;
  readonly #onError: (err: Error) => void;
  readonly #threadModule: URL;
  #thread: Worker | undefined;
  #ready = false;
  #failed = false;
  #stopped = false;
  #windowStart = 0;
  #windowEvents = 0;
  /**
   * Events in the journal not yet filed: as the thread last counted them, plus those journaled
   * here since (an estimate: it bounds the thread's lag, no correctness rests on it).
   */
  #backlog = 0;
  #filed = 0;
  #waiters: (() => void)[] = [];
  /** The thread stopped looking at the journal (./audit-thread.ts): an append must wake it. */
  #threadSleeping = false;
  /** Rows journaled since the thread's last message. */
  #appendedSinceHeard = false;

  constructor(
    deps: {
      main: SqliteConnection;
      journal: SqliteConnection;
      resources: SqliteResourceStore;
      now: () => Date;
      busyTimeoutMs: number;
    },
    options: AuditLogOptions = {},
  ) {
    this.#main = deps.main;
    this.#journal = deps.journal;
    this.#resources = deps.resources;
    this.#now = deps.now;
    this.#busyTimeoutMs = deps.busyTimeoutMs;
    this.#threadAt = options.threadAtEventsPerSecond ?? 1000;
    this.#maxBacklog = options.maxBacklog ?? 4096;
    this.#batchSize = options.batchSize ?? 128;
    this.#sleepAfterMs = options.threadSleepAfterMs ?? THREAD_SLEEP_AFTER_MS;
    this.#onError = options.onError ?? ((): void => undefined);
    this.#threadModule = options.threadModule ?? AUDIT_THREAD;
  }

  /** Whether appends go through the journal now (the thread is running and ready). */
  get journaling(): boolean {
    return this.#ready && this.#thread !== undefined;
  }

  /** CPU time the thread has used (µs), for benchmarks that count every thread's work; 0 without one. */
  async threadCpuMicros(): Promise<number> {
    const usage = await this.#thread?.cpuUsage();
    return usage ? usage.user + usage.system : 0;
  }

  /** Whether the thread has stopped looking at the journal until an append wakes it. */
  get threadSleeping(): boolean {
    return this.#threadSleeping;
  }

  /** Events the thread has filed since it started. */
  get filedByThread(): number {
    return this.#filed;
  }

  async append(tenant: TenantId, events: readonly (AuditEvent & { id: string })[]): Promise<void> {
    if (events.length === 0) {
      return;
    }
    for (const event of events) {
      assertValidId(event.id);
    }
    if (!this.journaling) {
      this.#countTowardsThread(events.length);
      await this.#resources.writeBatch(
        tenant,
        events.map((resource) => ({ op: 'create' as const, resource, options: { id: resource.id } })),
      );
      return;
    }
    const lastUpdated = this.#now().toISOString();
    const stamped = events.map((event): StoredResource => ({
      ...event,
      meta: { ...event.meta, versionId: '1', lastUpdated },
    }));
    await this.#journal.transactionOffLoop(() => appendJournaledInTx(this.#journal, tenant, stamped));
    await this.#queued(stamped.length);
  }

  /** FHIR writes' AuditEvents are kept pending (./audit-pending.ts) while the thread files them. */
  get pending(): boolean {
    return this.journaling;
  }

  written(filed: number, pended: number): Promise<void> | undefined {
    if (filed > 0) {
      this.#countTowardsThread(filed);
    }
    return pended > 0 ? this.#queued(pended) : undefined;
  }

  /** `count` events now wait for the thread (journaled or pending): it must look, and may lag too far. */
  async #queued(count: number): Promise<void> {
    this.#backlog += count;
    this.#appendedSinceHeard = true;
    if (this.#threadSleeping) {
      this.#wake();
    }
    if (this.#backlog > this.#maxBacklog && this.journaling) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /**
   * Files every event the journal and the pending table hold, here and now (a reader of
   * AuditEvents calls it first). Two probes when both are empty.
   */
  settle(): void {
    while (journalHasRows(this.#journal)) {
      moveJournaled(this.#main, this.#journal, SETTLE_BATCH);
    }
    while (pendingHasRows(this.#main)) {
      movePending(this.#main, SETTLE_BATCH);
    }
    this.#backlog = 0;
    this.#release();
  }

  /** Stops the thread and files what it left. Appends after this go direct. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const thread = this.#thread;
    this.#thread = undefined;
    this.#ready = false;
    if (thread) {
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.ref();
      thread.postMessage('stop');
      await exited;
    }
    this.#release();
    this.settle();
  }

  #countTowardsThread(count: number): void {
    if (this.#thread || this.#failed || this.#stopped) {
      return;
    }
    const now = performance.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowEvents = 0;
    }
    this.#windowEvents += count;
    if (this.#windowEvents >= this.#threadAt) {
      this.#start();
    }
  }

  #start(): void {
    const data: AuditThreadData = {
      mainPath: this.#main.path,
      journalPath: this.#journal.path,
      synchronous: this.#main.synchronous,
      busyTimeoutMs: this.#busyTimeoutMs,
      batchSize: this.#batchSize,
      pollMs: THREAD_POLL_MS,
      sleepAfterMs: this.#sleepAfterMs,
    };
    const thread = new Worker(this.#threadModule, { workerData: data });
    this.#thread = thread;
    thread.on('message', (message: AuditThreadMessage) => {
      if (this.#thread !== thread) {
        return;
      }
      const appended = this.#appendedSinceHeard;
      this.#appendedSinceHeard = false;
      if ('ready' in message) {
        this.#ready = true;
      } else if ('sleeping' in message) {
        this.#threadSleeping = true;
        this.#backlog = 0;
        this.#release();
        if (appended) {
          // Journaled after the thread's last look, perhaps: it must look once more.
          this.#wake();
        }
      } else {
        this.#filed += message.moved;
        this.#backlog = message.remaining;
        if (this.#backlog <= this.#maxBacklog) {
          this.#release();
        }
      }
    });
    thread.on('error', (err: Error) => this.#onError(err));
    thread.on('exit', () => {
      if (this.#thread !== thread) {
        return; // stopped
      }
      // A thread that cannot run would fail again: appends go direct from now on, and what it
      // left in the journal is filed here.
      this.#thread = undefined;
      this.#ready = false;
      this.#failed = true;
      this.#release();
      try {
        this.settle();
      } catch (err) {
        this.#onError(err as Error);
      }
    });
    // Idle, the thread must not keep the process alive (close() stops it).
    thread.unref();
  }

  #wake(): void {
    this.#threadSleeping = false;
    this.#thread?.postMessage('appended');
  }

  /** Lets every append waiting for the thread's lag go on. */
  #release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) {
      resolve();
    }
  }
}
