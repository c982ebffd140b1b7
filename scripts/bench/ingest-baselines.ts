/**
 * bench:ingest's baselines (./ingest.ts): the bare store writes a notification requires, measured
 * in the same run on a fresh SQLite file with the store's default settings, BENCH_N each,
 * sequentially and with 50 in flight:
 *   bare enqueue   store.jobs.enqueue of the very job the receiver writes for a notification: the
 *                  one durable write an acknowledgement requires. ratio = acks/s ÷ this.
 *   bare create    store.resources.create of the same MedicationAdministration: the one write a
 *                  stored copy requires. ratio = stored/s ÷ this.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { INGEST_QUEUE, jobKeys } from '../../src/ingest/jobs.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { administration, TENANT } from './ingest-load.ts';
import { percentile } from './ingest-phase.ts';

export interface Baseline {
  name: string;
  opsPerSecond: number;
  p50: number;
  p99: number;
  /** This process's CPU time per operation, µs (nothing else runs in it meanwhile). */
  cpuMicros: number;
}

export interface Baselines {
  readonly enqueueSequential: Baseline;
  readonly enqueueConcurrent: Baseline;
  readonly createSequential: Baseline;
  readonly createConcurrent: Baseline;
}

/** The four, in the order they ran (and are printed). */
export function baselineList(b: Baselines): Baseline[] {
  return [b.enqueueSequential, b.enqueueConcurrent, b.createSequential, b.createConcurrent];
}

/** Ratios divide by the faster of each pair. */
export function bestEnqueue(b: Baselines): number {
  return Math.max(b.enqueueSequential.opsPerSecond, b.enqueueConcurrent.opsPerSecond);
}

export function bestCreate(b: Baselines): number {
  return Math.max(b.createSequential.opsPerSecond, b.createConcurrent.opsPerSecond);
}

/**
 * Runs the four baselines, `n` operations each, on `baseline.sqlite` in `dir` (closed afterwards).
 * The jobs' focus URLs point at `ehrBaseUrl`, as a notification's do.
 */
export async function measureBaselines(
  dir: string,
  ehrBaseUrl: string,
  n: number,
  concurrency: number,
  progress: (message: string) => void,
): Promise<Baselines> {
  const bareStore = await openSqliteStore({ path: join(dir, 'baseline.sqlite') });
  try {
    const sampleJob = (i: number): { key: string; payload: unknown } => ({
      key: jobKeys.event('baseline', 'MedicationAdministration', i, 'baseline-subscription'),
      payload: {
        kind: 'event',
        connectionId: 'baseline',
        topic: 'MedicationAdministration',
        eventNumber: i,
        eventsSinceSubscriptionStart: i,
        focus: `${ehrBaseUrl}/MedicationAdministration/b-${i}`,
        additionalContext: [],
        resources: [administration('b', i)],
        receivedAt: new Date().toISOString(),
      },
    });
    const baseline = async (
      name: string,
      lanes: number,
      op: (i: number) => Promise<unknown>,
    ): Promise<Baseline> => {
      const latency = new Array<number>(n).fill(0);
      let next = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const lane = async (): Promise<void> => {
        while (next < n) {
          const i = next++;
          const s = performance.now();
          await op(i);
          latency[i] = performance.now() - s;
        }
      };
      await Promise.all(Array.from({ length: lanes }, lane));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const result = {
        name,
        opsPerSecond: n / seconds,
        p50: percentile(latency, 50),
        p99: percentile(latency, 99),
        cpuMicros: (cpu.user + cpu.system) / n,
      };
      progress(
        `${name}: ${result.opsPerSecond.toFixed(0)} ops/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, ` +
          `${result.cpuMicros.toFixed(0)} µs CPU each`,
      );
      return result;
    };
    progress(`baselines: ${n} bare writes each, on a fresh SQLite file (${join(dir, 'baseline.sqlite')})`);
    // Each run writes new keys and ids: `offset` moves on by `n` after each.
    let offset = 0;
    const enqueueOp = (i: number) => {
      const { key, payload } = sampleJob(offset + i);
      return bareStore.jobs.enqueue(TENANT, { queue: INGEST_QUEUE, key, payload });
    };
    const createOp = (i: number) => {
      const { meta: _meta, ...resource } = administration(`b${offset}`, i);
      return bareStore.resources.create(TENANT, resource, { id: resource.id });
    };
    const enqueueSequential = await baseline('bare enqueue, sequential', 1, enqueueOp);
    offset += n;
    const enqueueConcurrent = await baseline(
      `bare enqueue, ${concurrency} in flight`,
      concurrency,
      enqueueOp,
    );
    offset += n;
    const createSequential = await baseline('bare create, sequential', 1, createOp);
    offset += n;
    const createConcurrent = await baseline(`bare create, ${concurrency} in flight`, concurrency, createOp);
    return { enqueueSequential, enqueueConcurrent, createSequential, createConcurrent };
  } finally {
    await bareStore.close();
  }
}
