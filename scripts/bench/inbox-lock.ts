/**
 * `npm run bench:inbox-lock`: what a worker's writes to the main file cost a receiver's
 * acknowledgement, on the embedded store, without HTTP or an EHR (bench:ingest has both, and on a
 * shared 2-core machine their CPU drowns this effect).
 *
 * A receiver's durable write is the group commit of its notification jobs
 * (src/store/group-commit.ts, 50 in flight, as the receiver does). A worker process drains the
 * same queue as the ingest worker does: lease 16, store a copy of each in the main file (one
 * transaction), ack the 16. Measured per enqueue: latency p50/p99, in three phases of BENCH_N each,
 * alternating so that other load on the machine falls on all of them alike:
 *   alone        no worker: the baseline;
 *   inbox        the jobs on the inbox queue (their own file: src/store/sqlite/inbox.ts);
 *   main file    the same jobs on a queue kept in the main file, as ingest's were before: the
 *                receiver's commits take the lock the worker's copies hold;
 *   no jobs      jobs on the inbox queue, the worker writing the same copies without leasing or
 *                acking any: what is left is its CPU and I/O, not the inbox's lock.
 * Ratios: each phase's p99 ÷ alone's p99 of the same round. Environment: BENCH_N (3000),
 * BENCH_ROUNDS (2).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GroupCommit } from '../../src/store/group-commit.ts';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import type { Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { administration, TENANT } from './ingest-load.ts';
import { recordFigure } from './results.ts';

/** A queue name the embedded store keeps in the main file (any but the inbox's). */
const MAIN_FILE_QUEUE = 'ingest-in-main-file';
/** The worker argument for copies without jobs. */
const NO_QUEUE = '-';

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

// ---------------------------------------------------------------------------------------------
// The worker process: lease 16, copy each into the main file in one transaction, ack them
// ---------------------------------------------------------------------------------------------

async function workerMain(path: string, queue: string): Promise<void> {
  const store = await openSqliteStore({ path });
  let stopping = false;
  process.once('SIGTERM', () => {
    stopping = true;
  });
  process.stdout.write('READY\n');
  let copies = 0;
  while (!stopping) {
    if (queue === NO_QUEUE) {
      // The same copies without taking jobs: the worker's CPU and main-file writes alone.
      await store.resources.writeBatch(
        TENANT,
        Array.from({ length: 16 }, () => {
          const { meta: _meta, ...resource } = administration('copy', copies++);
          return { op: 'create' as const, resource };
        }),
      );
      await new Promise<void>((resolve) => setImmediate(resolve));
      continue;
    }
    const jobs = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 16, now: new Date() });
    if (jobs.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      continue;
    }
    await store.resources.writeBatch(
      TENANT,
      jobs.map((job) => {
        const { meta: _meta, ...resource } = (job.payload as { resource: ReturnType<typeof administration> })
          .resource;
        return { op: 'create' as const, resource: { ...resource, id: `copy-${job.id}` } };
      }),
    );
    await store.jobs.ackMany(jobs.map((job) => ({ jobId: job.id, leaseToken: job.leaseToken ?? '' })));
    // Its turn of the event loop, as the ingest worker takes between jobs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await store.close();
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The receiver side
// ---------------------------------------------------------------------------------------------

async function startWorker(path: string, queue: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--no-warnings', fileURLToPath(import.meta.url), 'worker', path, queue],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line === 'READY') {
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${String(code)})`)));
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await gone;
}

/** BENCH_N enqueues through a group commit, 50 in flight: latencies in ms. */
async function enqueueLoad(store: Store, queue: string, n: number, prefix: string): Promise<number[]> {
  const commits = new GroupCommit(store);
  const latency: number[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const resource = administration(prefix, i);
      const started = performance.now();
      await commits.write(TENANT, [
        { op: 'enqueue', job: { queue, key: `${prefix}-${i}`, payload: { kind: 'event', resource } } },
      ]);
      latency.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: 50 }, lane));
  return latency;
}

async function main(): Promise<void> {
  const n = Number(process.env['BENCH_N'] ?? 3000);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
  const dir = mkdtempSync(join(tmpdir(), 'dripline-bench-inbox-lock-'));
  const path = join(dir, 'dripline.sqlite');
  const store = await openSqliteStore({ path });
  const rows: string[] = [];
  const figures: Record<string, number[]> = { alone: [], inbox: [], 'main file': [], 'no jobs': [] };
  try {
    for (let round = 0; round < rounds; round++) {
      const alone = await enqueueLoad(store, MAIN_FILE_QUEUE, n, `alone${round}`);
      // The jobs written alone are drained by the next worker, not measured.
      const results: [string, number[]][] = [['alone', alone]];
      for (const [name, queue, workerQueue] of [
        ['inbox', INBOX_QUEUE, INBOX_QUEUE],
        ['main file', MAIN_FILE_QUEUE, MAIN_FILE_QUEUE],
        ['no jobs', INBOX_QUEUE, NO_QUEUE],
      ] as const) {
        const worker = await startWorker(path, workerQueue);
        // The worker busy first (a backlog of copies), as at saturation.
        await enqueueLoad(store, queue, n, `${name}-warm${round}`);
        const measured = await enqueueLoad(store, queue, n, `${name}${round}`);
        await stopWorker(worker);
        results.push([name, measured]);
      }
      const baseP99 = percentile(alone, 99);
      for (const [name, latency] of results) {
        figures[name]?.push(percentile(latency, 99));
        rows.push(
          `| ${String(round + 1)} | ${name.padEnd(9)} | ${percentile(latency, 50).toFixed(2).padStart(7)} | ` +
            `${percentile(latency, 99).toFixed(2).padStart(7)} | ${(percentile(latency, 99) / baseP99).toFixed(2).padStart(5)} |`,
        );
      }
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`BENCH_N=${n} enqueues per phase, 50 in flight, group commit; ${rounds} rounds`);
  console.log('| round | phase     | p50 ms  | p99 ms  | ÷ alone p99 |');
  console.log('|------:|:----------|--------:|--------:|------------:|');
  for (const row of rows) {
    console.log(row);
  }
  const median = (values: number[]): number => percentile(values, 50);
  for (const name of ['inbox', 'main file'] as const) {
    recordFigure({
      bench: 'inbox-lock',
      figure: `receiver enqueue p99 with a worker copying, jobs in the ${name}`,
      value: Number(median(figures[name] ?? []).toFixed(2)),
      unit: 'ms',
      baseline: {
        name: 'the same enqueues without a worker',
        value: Number(median(figures.alone ?? []).toFixed(2)),
      },
    });
  }
}

if (process.argv[2] === 'worker') {
  await workerMain(process.argv[3] ?? '', process.argv[4] ?? INBOX_QUEUE);
} else {
  await main();
}
