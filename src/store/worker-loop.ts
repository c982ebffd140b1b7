import { randomUUID } from 'node:crypto';
import { ownWorkView } from './own-work.ts';
import type { Store } from './port.ts';

/**
 * The run loop every queue worker shares: run batches while there is work; when a batch finds
 * nothing, sleep until `notify()` (work was enqueued in this process), the earliest instant this
 * process said work becomes due (`notify(dueAt)`: a retry's backoff, a job enqueued to run later),
 * another process's commit (`watchCommits`, where the store can tell) or the poll interval (work
 * enqueued by another process, where it cannot); `stop()` lets the batch in hand finish.
 * A nudge that arrives while a batch runs is remembered, so work enqueued mid-batch is not left
 * waiting for the poll.
 */
export interface WorkerLoopOptions {
  /** Leases and processes one batch; returns how many jobs it handled. */
  readonly runOnce: () => Promise<number>;
  readonly onError: (err: unknown) => void;
  readonly pollMs?: number;
  /** The clock the worker's jobs are scheduled by (their `runAt`), to turn a due instant into a wait. */
  readonly now?: () => Date;
  /**
   * Calls the listener when another process commits to the store (`Store.watchCommits`); returns
   * the unsubscribe, or undefined where the store cannot tell. The loop listens while idle only.
   */
  readonly watchCommits?: (listener: () => void) => (() => void) | undefined;
}

/**
 * Due instants a loop remembers at most (a burst of retries): the earliest are kept; work due
 * after them is found by a batch run for another reason, or at the poll.
 */
const MAX_DUE_INSTANTS = 1024;

export class WorkerLoop {
  readonly #options: WorkerLoopOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #pendingWake = false;
  /** Instants (ms on the worker's clock) work this process scheduled becomes due, ascending. */
  readonly #due: number[] = [];
  /** While asleep: brings the wake forward to an earlier due instant. */
  #wakeBy: ((at: number) => void) | undefined;
  /** While idle: stops listening for other processes' commits (`watchCommits`). */
  #unwatch: (() => void) | undefined;

  constructor(options: WorkerLoopOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#running) {
      return;
    }
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#stopListening();
  }

  #stopListening(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /**
   * Work was enqueued in this process: due now, or at `dueAt` (on the worker's clock) — a job
   * failed for a retry after a backoff, or enqueued with a future `runAt`. The loop then sleeps no
   * longer than until `dueAt` instead of finding the job at its next poll.
   */
  notify(dueAt?: Date): void {
    const at = dueAt?.getTime();
    if (at !== undefined && Number.isFinite(at) && at > this.#now()) {
      this.#remember(at);
      return;
    }
    if (this.#wake) {
      this.#wake();
    } else {
      this.#pendingWake = true;
    }
  }

  #now(): number {
    return (this.#options.now?.() ?? new Date()).getTime();
  }

  #remember(at: number): void {
    const index = this.#due.findIndex((due) => due >= at);
    if (this.#due[index] === at) {
      return;
    }
    this.#due.splice(index === -1 ? this.#due.length : index, 0, at);
    if (this.#due.length > MAX_DUE_INSTANTS) {
      this.#due.pop();
    }
    if (this.#due[0] === at) {
      this.#wakeBy?.(at);
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      // Instants that have come are this batch's: the lease finds their jobs due.
      const now = this.#now();
      const future = this.#due.findIndex((due) => due > now);
      this.#due.splice(0, future === -1 ? this.#due.length : future);
      let handled = 0;
      try {
        handled = await this.#options.runOnce();
      } catch (err) {
        this.#options.onError(err);
      }
      if (handled > 0 || !this.#running) {
        // Busy: the batches find the work; no need to hear of others' commits meanwhile.
        this.#stopListening();
        continue;
      }
      if (this.#pendingWake) {
        this.#pendingWake = false;
        continue;
      }
      if (this.#unwatch === undefined && this.#options.watchCommits) {
        this.#unwatch = this.#options.watchCommits(() => this.notify());
        if (this.#unwatch) {
          // One more look now that it listens: a commit between the empty batch and the listening
          // would otherwise wait for the poll.
          continue;
        }
      }
      await new Promise<void>((resolve) => {
        let wakeAt = Math.min(this.#now() + (this.#options.pollMs ?? 250), this.#due[0] ?? Infinity);
        let timer = setTimeout(resolve, Math.max(0, wakeAt - this.#now()));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.#wakeBy = (at) => {
          if (at < wakeAt) {
            clearTimeout(timer);
            wakeAt = at;
            timer = setTimeout(resolve, Math.max(0, at - this.#now()));
          }
        };
      });
      this.#wake = undefined;
      this.#wakeBy = undefined;
      this.#pendingWake = false;
    }
  }
}

/**
 * A queue worker: a subclass says how to run one batch (`runOnce`); the loop, start/stop and
 * nudges are this class's. Batch failures are logged with the worker's id and `name`. A subclass
 * that works its queues through `ownStore(store, queues)` wakes for its own retries, defers and
 * later-due enqueues, and after a batch that threw, when the leases it left behind expire.
 */
export abstract class LoopingWorker {
  readonly #loop: WorkerLoop;
  #handled = 0;
  /** Jobs the batch in hand leased through `ownStore` and has not given back: id → lease expiry (ms). */
  readonly #held = new Map<string, number>();
  /**
   * The store's signal of other processes' commits, from `ownStore`: an idle worker also wakes
   * then, so a job another process enqueued (a receiver's notification, ingest's encounter event
   * for a charge-capture process) is leased at once, not at the next poll.
   */
  #watchCommits: Store['watchCommits'];

  protected constructor(options: {
    readonly name: string;
    readonly logger: { error(obj: object, msg?: string): void };
    readonly pollMs?: number;
    /** The clock the worker schedules its jobs by (`notify(dueAt)`); default the system clock. */
    readonly now?: () => Date;
  }) {
    const worker = randomUUID();
    this.#loop = new WorkerLoop({
      runOnce: async () => {
        this.#held.clear();
        const handled = await this.runOnce();
        this.#handled += handled;
        return handled;
      },
      onError: (err) => {
        options.logger.error({ err: (err as Error).message, worker }, `${options.name} batch failed`);
        this.#wakeWhenLeasesExpire();
      },
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      ...(options.now ? { now: options.now } : {}),
      watchCommits: (listener) => this.#watchCommits?.(listener),
    });
  }

  /** Leases and processes one batch; returns how many jobs it handled. */
  abstract runOnce(): Promise<number>;

  /**
   * `store` as this worker's own (./own-work.ts): a job it fails for a retry or defers through it,
   * or enqueues on one of `queues` with a later `runAt`, wakes this loop when it is due.
   */
  protected ownStore(store: Store, queues: readonly string[]): Store {
    this.#watchCommits = store.watchCommits;
    return ownWorkView(store, { queues, dueAt: (at) => this.notify(at), held: this.#held });
  }

  /**
   * The batch threw (an ack or a fail that did not reach the store, say) with jobs still leased:
   * nothing leases them again before their leases expire, and then only a batch would find them —
   * at the poll, up to `pollMs` later. Wake when the first of them expires instead.
   */
  #wakeWhenLeasesExpire(): void {
    const expires = Math.min(...this.#held.values());
    this.#held.clear();
    if (Number.isFinite(expires)) {
      this.notify(new Date(expires));
    }
  }

  start(): void {
    this.#loop.start();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** Nudge: work was enqueued in this process, due now or at `dueAt` (WorkerLoop.notify). */
  notify(dueAt?: Date): void {
    this.#loop.notify(dueAt);
  }

  /** Jobs this worker's loop has handled since the process started (the jobs metric). */
  get handled(): number {
    return this.#handled;
  }
}
