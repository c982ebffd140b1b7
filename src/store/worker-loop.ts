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
