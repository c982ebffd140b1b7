import { randomUUID } from 'node:crypto';

/**
 * The run loop every queue worker shares: run batches while there is work; when a batch finds
 * nothing, sleep until `notify()` (work was enqueued in this process) or the poll interval (work
 * enqueued by another process); `stop()` lets the batch in hand finish. A nudge that arrives while
 * a batch runs is remembered, so work enqueued mid-batch is not left waiting for the poll.
 */
export interface WorkerLoopOptions {
  /** Leases and processes one batch; returns how many jobs it handled. */
  readonly runOnce: () => Promise<number>;
  readonly onError: (err: unknown) => void;
  readonly pollMs?: number;
}

export class WorkerLoop {
  readonly #options: WorkerLoopOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #pendingWake = false;

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
  }

  notify(): void {
    if (this.#wake) {
      this.#wake();
    } else {
      this.#pendingWake = true;
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let handled = 0;
      try {
        handled = await this.#options.runOnce();
      } catch (err) {
        this.#options.onError(err);
      }
      if (handled > 0 || !this.#running) {
        continue;
      }
      if (this.#pendingWake) {
        this.#pendingWake = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.pollMs ?? 250);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
      this.#pendingWake = false;
    }
  }
}

/**
 * A queue worker: a subclass says how to run one batch (`runOnce`); the loop, start/stop and
 * nudges are this class's. Batch failures are logged with the worker's id and `name`.
 */
export abstract class LoopingWorker {
  readonly #loop: WorkerLoop;
  #handled = 0;

  protected constructor(options: {
    readonly name: string;
    readonly logger: { error(obj: object, msg?: string): void };
    readonly pollMs?: number;
  }) {
    const worker = randomUUID();
    this.#loop = new WorkerLoop({
      runOnce: async () => {
        const handled = await this.runOnce();
        this.#handled += handled;
        return handled;
      },
      onError: (err) => {
        options.logger.error({ err: (err as Error).message, worker }, `${options.name} batch failed`);
      },
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    });
  }

  /** Leases and processes one batch; returns how many jobs it handled. */
  abstract runOnce(): Promise<number>;

  start(): void {
    this.#loop.start();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** Nudge: work was enqueued in this process. */
  notify(): void {
    this.#loop.notify();
  }

  /** Jobs this worker's loop has handled since the process started (the jobs metric). */
  get handled(): number {
    return this.#handled;
  }
}
