/**
 * Charge capture's planning thread, from the worker's side: a leased batch's plan requests go to
 * the thread (./plan-thread.ts) in one message, answered with each group's plan in one message.
 * The worker asks as it leases the batch, and writes one batch while the thread plans the next
 * (./capture.ts).
 *
 * A thread that fails or exits answers nothing more: its open requests and every later one are
 * rejected, and the worker plans those groups on its own thread (as it does without one).
 */
import { Worker } from 'node:worker_threads';
import type { PlannedGroup, PlanRequest } from './group-planner.ts';
import type { PlanOutcome, PlanThreadAnswer, PlanThreadData, PlanThreadRequest } from './plan-thread.ts';

const PLAN_THREAD = new URL('./plan-thread.ts', import.meta.url);

export class PlanningThread {
  readonly #thread: Worker;
  readonly #waiting = new Map<
    number,
    { resolve: (outcomes: readonly PlanOutcome[]) => void; reject: (e: Error) => void }
  >();
  #next = 0;
  #failure: Error | undefined;
  #ready = false;
  #closing = false;
  readonly #onFailure: (err: Error) => void;
  readonly #exited: Promise<void>;

  /** @param onFailure told once, when the thread fails or exits unasked (the worker logs it). */
  constructor(data: PlanThreadData, onFailure: (err: Error) => void = () => undefined) {
    this.#onFailure = onFailure;
    this.#thread = new Worker(PLAN_THREAD, { workerData: data });
    // Idle, it keeps no process alive (the worker closes it when it stops).
    this.#thread.unref();
    this.#thread.on('message', (answer: PlanThreadAnswer) => {
      if ('ready' in answer) {
        this.#ready = true;
        return;
      }
      const waiting = this.#waiting.get(answer.id);
      this.#waiting.delete(answer.id);
      waiting?.resolve(answer.outcomes);
    });
    this.#thread.on('error', (err: Error) => this.#fail(err));
    this.#exited = new Promise((resolve) => {
      this.#thread.once('exit', () => {
        this.#fail(new Error('charge capture planning thread exited'));
        resolve();
      });
    });
  }

  /**
   * Whether the thread has loaded and may be asked: until then (a few hundred ms after it is
   * started) and after it failed, the worker plans on its own thread rather than wait.
   */
  get ready(): boolean {
    return this.state === 'ready';
  }

  get state(): 'starting' | 'ready' | 'failed' {
    return this.#failure ? 'failed' : this.#ready ? 'ready' : 'starting';
  }

  /** The plans of a batch's groups, in the order asked: each one's, or the reason it failed. */
  planBatch(requests: readonly PlanRequest[]): Promise<Promise<PlannedGroup>[]> {
    const outcomes = this.#ask(requests);
    return outcomes.then(
      (list) =>
        list.map((outcome) =>
          'planned' in outcome ? Promise.resolve(outcome.planned) : Promise.reject(new Error(outcome.error)),
        ),
      (err: unknown) => requests.map(() => Promise.reject(err as Error)),
    );
  }

  #ask(requests: readonly PlanRequest[]): Promise<readonly PlanOutcome[]> {
    if (this.#failure) {
      return Promise.reject(this.#failure);
    }
    const id = this.#next++;
    return new Promise<readonly PlanOutcome[]>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#thread.ref();
      this.#thread.postMessage({ id, requests } satisfies PlanThreadRequest);
    }).finally(() => {
      if (this.#waiting.size === 0) {
        this.#thread.unref();
      }
    });
  }

  /** Closes the thread's store and ends it; open requests are rejected. */
  async close(): Promise<void> {
    this.#closing = true;
    if (!this.#failure) {
      // Kept alive until it has exited, which this process waits for.
      this.#thread.ref();
      this.#thread.postMessage('close');
    }
    await this.#exited;
  }

  #fail(err: Error): void {
    if (!this.#failure && !this.#closing) {
      this.#onFailure(err);
    }
    this.#failure ??= err;
    for (const waiting of this.#waiting.values()) {
      waiting.reject(this.#failure);
    }
    this.#waiting.clear();
  }
}
