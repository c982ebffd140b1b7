/**
 * How bench:ingest (./ingest.ts) sends notifications: each batch runs the load generator
 * (./ingest-load.ts) in a worker thread of this process (one for the run), with keep-alive HTTP/1.1 connections,
 * each connection's event numbers going on from the previous batch's (every notification a new
 * event); the wait until the worker process has drained the ingest queue; and the warm-up before
 * any measurement.
 */
import { Worker } from 'node:worker_threads';
import { PATIENTS } from './ingest-load.ts';
import type { LoadResult, LoadSpec, Payload } from './ingest-load.ts';
import type { RunningRig } from './ingest-rig.ts';

export class NotificationSender {
  private readonly rig: RunningRig;
  private readonly concurrency: number;
  private readonly progress: (message: string) => void;
  /** Each subscription's next event number: its events go on across batches. */
  private readonly nextEvent: Record<Payload, number> = { 'full-resource': 1, 'id-only': 1 };
  /** The id-only connection's Encounter subscription's (the day-shaped phase's encounter waves). */
  private nextEncounterEvent = 1;
  /** The load generator's thread, from the first batch to `close`. */
  private worker: Worker | undefined;

  constructor(rig: RunningRig, concurrency: number, progress: (message: string) => void) {
    this.rig = rig;
    this.concurrency = concurrency;
    this.progress = progress;
  }

  /** The next batch: `count` notifications about `<prefix>-<i>`, closed loop when `rate` is 0. */
  nextSpec(payload: Payload, prefix: string, count: number, rate: number): LoadSpec {
    const spec: LoadSpec = {
      ...this.rig.target(payload),
      payload,
      prefix,
      count,
      firstEvent: this.nextEvent[payload],
      concurrency: this.concurrency,
      rate,
    };
    this.nextEvent[payload] += count;
    return spec;
  }

  /** An id-only batch about `focus.ids` (one wave of the day-shaped phase), on that type's subscription. */
  nextFocusSpec(focus: NonNullable<LoadSpec['focus']>): LoadSpec {
    const encounter = focus.type === 'Encounter';
    const spec: LoadSpec = {
      ...this.rig.target('id-only', focus.type),
      payload: 'id-only',
      prefix: '',
      count: focus.ids.length,
      firstEvent: encounter ? this.nextEncounterEvent : this.nextEvent['id-only'],
      concurrency: this.concurrency,
      rate: 0,
      focus,
    };
    if (encounter) {
      this.nextEncounterEvent += focus.ids.length;
    } else {
      this.nextEvent['id-only'] += focus.ids.length;
    }
    return spec;
  }

  /**
   * Sends the batch from the load generator's thread and resolves with its timings. One thread
   * sends every batch of the run, one after the other (as one EHR's sender would): a thread
   * started per batch paid its start and JIT warm-up again each time — in the day-shaped phase,
   * six times — and its teardown overlapped the batch's drain, on the same two cores.
   */
  send(spec: LoadSpec): Promise<LoadResult> {
    const worker = (this.worker ??= new Worker(new URL('./ingest-load.ts', import.meta.url)));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        worker.off('message', onMessage);
        this.worker = undefined;
        reject(err);
      };
      const onMessage = (message: { result?: LoadResult; error?: string }): void => {
        worker.off('error', onError);
        if (message.result) {
          resolve(message.result);
        } else {
          reject(new Error(`load generator: ${message.error ?? 'no result'}`));
        }
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.postMessage(spec);
    });
  }

  /** Ends the load generator's thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  /** Resolves once no ingest job is pending; throws after `timeoutMs`. */
  async drain(label: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastReport = Date.now();
    for (;;) {
      const pending = this.rig.pendingJobs();
      if (pending === 0) {
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`${label}: ${pending} ingest jobs still pending after ${timeoutMs / 1000} s`);
      }
      if (Date.now() - lastReport >= 2000) {
        this.progress(`${label}: worker draining, ${pending} jobs pending`);
        lastReport = Date.now();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The warm-up's administrations (the EHR holds the id-only ones). */
export function warmUpPrefix(payload: Payload): string {
  return `ma-warm-${payload === 'id-only' ? 'idonly' : 'full'}`;
}

/**
 * One notification per patient on each connection, outside the measurements: JIT, the token for
 * fetch-back, and each patient's coverage and encounter fetched once.
 */
export async function warmUp(sender: NotificationSender, progress: (message: string) => void): Promise<void> {
  progress('warm-up: one notification per connection, fetch-back of patients, coverage, encounters');
  for (const payload of ['full-resource', 'id-only'] as const) {
    const warm = await sender.send(sender.nextSpec(payload, warmUpPrefix(payload), PATIENTS, 0));
    if ((warm.statuses['200'] ?? 0) !== PATIENTS) {
      throw new Error(
        `warm-up (${payload}) answered ${JSON.stringify(warm.statuses)} ${warm.errors.join('; ')}`,
      );
    }
  }
  await sender.drain('warm-up', 60_000);
}
