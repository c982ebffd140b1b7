/**
 * `npm run bench:ingest`: notification ingest on the embedded store — acknowledgement throughput
 * and latency at concurrency 50, time from notification to stored copy, and bare store writes of
 * the same count measured in the same run, as ratios.
 *
 * Setup (./ingest-rig.ts), as README "Running several processes" lays Dripline out for load, each
 * party in its own process: the sandbox EHR (./ingest-ehr.ts), a Dripline receiver (`WORKERS=none`:
 * it authenticates, writes the job durably and acknowledges) and one Dripline worker process (the
 * ingest worker — fetch-back, copies; both ./ingest-node.ts) sharing the embedded store in a temp
 * DATA_DIR. The bench posts the notifications itself, from the load generator (./ingest-load.ts) in
 * a worker thread of this process with keep-alive HTTP/1.1 connections (./ingest-send.ts).
 *
 * Each notification is a Backport IG event-notification Bundle with one event and a unique event
 * number, about a MedicationAdministration never seen before (so every one is a new stored copy):
 * - full-resource: the Bundle carries the resource;
 * - id-only: the Bundle carries its URL; the worker fetches it back from the EHR.
 *
 * Phases (./ingest-phase.ts, which lists what each measures), BENCH_N notifications each:
 *   saturation  closed loop, 50 in flight: the most the receiver acknowledges; queue grows.
 *   overload    open loop at 1.2 × the rate the same payload's saturation phase stored (above what
 *               the workers sustain: they stay saturated and the queue grows while it sends), at
 *               most 50 in flight: ack latency while the workers are saturated, the senders
 *               sending as an EHR's backlog replay does rather than as fast as answers come back.
 *               The closed loop's latency is its own throughput's: with 50 in flight its mean is
 *               50 ÷ acks/s (Little's law) whatever the server does.
 *   paced       open loop at BENCH_RATE/s (default 500, the target), at most 50 in flight: ack
 *               latency and notification-to-stored time at the target rate.
 *   charges     id-only, closed loop, run first: each notification a visit of its own (an
 *               infliximab infusion), with a charge-capture process beside the worker; also
 *               measured until every visit's charges are recomputed (issue 17's "received →
 *               fetched back → stored → charges recomputed"). The worst case for charge capture.
 *   charges-day id-only, closed loop, second: the stream a clinic's day sends (./ingest-day-shape.ts:
 *               per visit three encounter changes and two or three administrations, each a new
 *               version, in waves each drained before the EHR makes the next changes), charges
 *               recomputed as the visits change; BENCH_N notifications about.
 * After the phases, beside id-only saturation: the least equivalent pipeline (./ingest-minimal.ts),
 * plain node:http and node:sqlite doing what "received → fetched back → stored" requires, on the
 * same EHR from the same senders: what stored/s can be here whatever the implementation.
 * After each phase the bench waits until the worker has drained the queue. Bare store writes of
 * the same count in the same run (./ingest-baselines.ts: bare enqueue, bare create) are what the
 * phases' rates are divided by. The report is printed (./ingest-tables.ts) and its headline
 * figures recorded for `npm run bench` (./ingest-figures.ts).
 *
 * Environment: BENCH_N (10,000), BENCH_CONCURRENCY (50), BENCH_RATE (500), BENCH_PHASES
 * (charges,charges-day,saturation,overload,paced), BENCH_PAYLOADS (full-resource,id-only: which payloads each phase sends; one
 * alone keeps a CPU profile to that path), BENCH_CPU_PROF=<dir> (the receiver's and the worker's CPU
 * profiles are written there), BENCH_CAPTURE_PROCESSES (1: charge-capture processes sharing the
 * store in the charge-capture phase; on 2 cores a second one made each visit dearer — lock waits,
 * a group's same-day visits planned twice — and charged no more). BENCH_PAUSE_WORKER=1 stops the worker process (SIGSTOP)
 * while each phase sends and resumes it to drain: the acks then have the machine without the
 * worker, which tells the worker's CPU and locks apart from the receiver's own cost (stored/s and
 * e2e are then meaningless). The worker is idle when stopped (the previous phase drained), so it
 * holds no lock. Exits 1 if a notification was not acknowledged with 200 or anything else
 * failed; a missed target is reported, not an error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureBaselines } from './ingest-baselines.ts';
import { recordFigures } from './ingest-figures.ts';
import { PATIENTS } from './ingest-load.ts';
import { measureMinimalPipeline, MINIMAL_PREFIX, MINIMAL_WARM_PREFIX } from './ingest-minimal.ts';
import type { MinimalPipelineResult } from './ingest-minimal.ts';
import { runDayPhase } from './ingest-day-phase.ts';
import { planPhases, runPhase } from './ingest-phase.ts';
import type { PhaseResult } from './ingest-phase.ts';
import { IngestRig } from './ingest-rig.ts';
import { NotificationSender, warmUp, warmUpPrefix } from './ingest-send.ts';
import { printTables } from './ingest-tables.ts';

/** A comma-separated choice among `allowed` (all of them, in order, when unset). */
function listEnv<T extends string>(name: string, allowed: readonly T[]): T[] {
  const chosen = (process.env[name] ?? allowed.join(','))
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  for (const v of chosen) {
    if (!allowed.includes(v as T)) {
      throw new Error(`${name}: unknown value "${v}" (${allowed.join(', ')})`);
    }
  }
  return chosen as T[];
}

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min} (got "${raw}")`);
  }
  return value;
}

async function main(): Promise<void> {
  const N = intEnv('BENCH_N', 10_000, 50);
  const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 50, 1);
  const RATE = intEnv('BENCH_RATE', 500, 1);
  const CAPTURE_PROCESSES = intEnv('BENCH_CAPTURE_PROCESSES', 1, 1);
  const PAUSE_WORKER = process.env['BENCH_PAUSE_WORKER'] === '1';
  const PHASES = listEnv('BENCH_PHASES', ['charges', 'charges-day', 'saturation', 'overload', 'paced']);
  const PAYLOADS = listEnv('BENCH_PAYLOADS', ['full-resource', 'id-only']);

  const startedAt = Date.now();
  const progress = (message: string): void => {
    const t = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(6);
    console.log(`[${t}s] ${message}`);
  };

  const dir = mkdtempSync(join(tmpdir(), 'dripline-bench-ingest-'));
  progress(
    `node ${process.version}, ${availableParallelism()} CPU (${cpus()[0]?.model ?? 'unknown CPU'}); ` +
      `BENCH_N=${N}, concurrency ${CONCURRENCY}, paced rate ${RATE}/s, phases ${PHASES.join('+')}`,
  );
  const [load1 = 0] = loadavg();
  if (load1 > availableParallelism() / 2) {
    progress(
      `warning: load average ${load1.toFixed(2)} on ${availableParallelism()} CPU: other work on this machine will skew the figures`,
    );
  }

  const rig = new IngestRig(dir, progress);
  let failed = false;
  let sender: NotificationSender | undefined;
  try {
    const phases = planPhases(PHASES, PAYLOADS, RATE);
    // Beside id-only saturation, the least equivalent pipeline (./ingest-minimal.ts) on the same EHR.
    const minimal = phases.some((p) => p.kind === 'saturation' && p.payload === 'id-only');
    // The EHR holds what the id-only notifications point at: the warm-up's and each id-only phase's.
    const running = await rig.start(
      [
        { prefix: warmUpPrefix('id-only'), count: PATIENTS },
        ...phases.filter((p) => p.payload === 'id-only').map((p) => ({ prefix: p.prefix, count: N })),
        ...(minimal
          ? [
              { prefix: MINIMAL_WARM_PREFIX, count: PATIENTS },
              { prefix: MINIMAL_PREFIX, count: N },
            ]
          : []),
      ],
      N,
    );
    sender = new NotificationSender(running, CONCURRENCY, progress);
    await warmUp(sender, progress);

    const baselines = await measureBaselines(dir, running.ehrBaseUrl, N, CONCURRENCY, progress);

    const settings = {
      n: N,
      concurrency: CONCURRENCY,
      rate: RATE,
      pauseWorker: PAUSE_WORKER,
      captureProcesses: CAPTURE_PROCESSES,
    };
    const results: PhaseResult[] = [];
    for (const phase of phases) {
      const result =
        phase.kind === 'charges-day'
          ? await runDayPhase(phase, running, sender, settings, progress)
          : await runPhase(phase, results, running, sender, settings, progress);
      failed ||=
        result.missing > 0 ||
        result.non200 > 0 ||
        (phase.kind === 'charges' && (result.chargeItems ?? 0) < 2 * N);
      results.push(result);
    }
    const dead = running.deadJobs();
    if (dead > 0) {
      failed = true;
      console.error(`FAIL: ${dead} ingest jobs dead-lettered`);
    }

    let leastPipeline: MinimalPipelineResult | undefined;
    if (minimal) {
      leastPipeline = await measureMinimalPipeline(dir, running, sender, N, CONCURRENCY, progress);
    }

    printTables(results, baselines, CONCURRENCY, leastPipeline);
    recordFigures(results, baselines, leastPipeline);
  } finally {
    progress('stopping');
    await sender?.close();
    await rig.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (failed) {
    process.exitCode = 1;
  } else {
    progress('done: every notification acknowledged with 200 and stored, no job dead-lettered');
  }
}

await main().catch((err: unknown) => {
  console.error(`bench:ingest failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
