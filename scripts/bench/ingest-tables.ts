/**
 * bench:ingest's printed report (./ingest.ts): Markdown tables of the phases' throughput and
 * latency against the same-run baselines, the baselines themselves, each process's CPU per
 * notification against the machine's CPU ceiling, and the targets with their verdicts.
 */
import { availableParallelism } from 'node:os';
import { baselineList, bestCreate, bestEnqueue } from './ingest-baselines.ts';
import type { Baselines } from './ingest-baselines.ts';
import { allCpuMicros, cpuCeiling } from './ingest-phase.ts';
import type { PhaseResult } from './ingest-phase.ts';
import type { MinimalPipelineResult } from './ingest-minimal.ts';

const mark = (ok: boolean): string => (ok ? 'PASS' : 'MISS');

const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');

/** A Markdown table: the first column left-aligned, the others right-aligned. */
function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    '| ' +
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ') +
    ' |';
  console.log(line(header));
  console.log(
    '|' + widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|') + '|',
  );
  for (const row of rows) {
    console.log(line(row));
  }
}

/** Prints the four tables; `concurrency` is BENCH_CONCURRENCY (the closed loop's senders). */
export function printTables(
  results: readonly PhaseResult[],
  baselines: Baselines,
  concurrency: number,
  leastPipeline?: MinimalPipelineResult,
): void {
  const enqueueBest = bestEnqueue(baselines);
  const createBest = bestCreate(baselines);
  console.log('');
  table(
    [
      'phase',
      'acks/s',
      'ack p50 ms',
      'ack p99 ms',
      'stored/s',
      'e2e p50 ms',
      'e2e p95 ms',
      'acks ÷ bare enqueue',
      'stored ÷ bare create',
      'non-200',
    ],
    results.map((r) => [
      r.name,
      r.acksPerSecond.toFixed(0),
      r.ackP50.toFixed(1),
      r.ackP99.toFixed(1),
      r.storedPerSecond.toFixed(0),
      r.e2eP50.toFixed(0),
      r.e2eP95.toFixed(0),
      ratio(r.acksPerSecond, enqueueBest),
      ratio(r.storedPerSecond, createBest),
      String(r.non200),
    ]),
  );
  console.log('');
  table(
    ['baseline (same run, fresh file)', 'ops/s', 'p50 ms', 'p99 ms', 'CPU µs/op'],
    baselineList(baselines).map((b) => [
      b.name,
      b.opsPerSecond.toFixed(0),
      b.p50.toFixed(3),
      b.p99.toFixed(3),
      b.cpuMicros.toFixed(0),
    ]),
  );
  console.log(
    'Ratios divide by the faster of each baseline pair. acks/s: receiver throughput; stored/s: the whole pipeline ' +
      '(notification → copy committed), which is what can be sustained; e2e: send → copy meta.lastUpdated.',
  );
  console.log('');
  // CPU time is what a notification costs whatever else shares the machine (throughput is not).
  const bareCreateCpu = baselines.createSequential.cpuMicros;
  const cores = availableParallelism();
  table(
    [
      'phase: CPU per notification (µs)',
      'worker',
      'receiver',
      'EHR',
      'capture',
      'bench',
      'all',
      'machine busy',
      'CPU ceiling/s',
      'stored ÷ ceiling',
      'worker ÷ bare create',
      'worker stored/CPU-s',
    ],
    results.map((r) => [
      r.name,
      r.cpuMicros.worker.toFixed(0),
      r.cpuMicros.receiver.toFixed(0),
      r.cpuMicros.ehr.toFixed(0),
      r.cpuMicros.capture.toFixed(0),
      r.cpuMicros.bench.toFixed(0),
      allCpuMicros(r).toFixed(0),
      r.machineBusy === undefined ? 'n/a' : `${(r.machineBusy * 100).toFixed(0)} %`,
      cpuCeiling(r).toFixed(0),
      ratio(r.storedPerSecond, cpuCeiling(r)),
      ratio(r.cpuMicros.worker, bareCreateCpu),
      (1e6 / r.cpuMicros.worker).toFixed(0),
    ]),
  );
  console.log(
    `Each process's CPU (all threads) from the first send to the queue drained, ÷ notifications; bench: this ` +
      `process (load generator thread, drain polling); CPU ceiling: ${cores} cores ÷ all; bare create, ` +
      `sequential: ${bareCreateCpu.toFixed(0)} µs CPU each (same run).`,
  );
  console.log('');
  const rows: string[][] = [];
  for (const r of results) {
    const saturated = r.rate === 0;
    rows.push([
      `${r.name}: ack p99 ≤ 50 ms`,
      `${r.ackP99.toFixed(1)} ms`,
      mark(r.ackP99 <= 50),
      saturated ? `closed loop: mean latency ≈ ${concurrency} ÷ acks/s` : `at ${r.rate}/s offered`,
    ]);
    rows.push([
      `${r.name}: ≥ 500 notifications/s acknowledged`,
      `${r.acksPerSecond.toFixed(0)}/s`,
      mark(r.acksPerSecond >= 500 * 0.98),
      saturated ? 'receiver maximum' : `offered ${r.rate}/s (2% slack)`,
    ]);
    rows.push([
      `${r.name}: ≥ 500 notifications/s stored`,
      `${r.storedPerSecond.toFixed(0)}/s`,
      mark(r.storedPerSecond >= 500 * 0.98),
      'sustained = the worker keeps up',
    ]);
    if (r.chargedPerSecond !== undefined) {
      rows.push([
        `${r.name}: ≥ 2,000 notifications/s stored and charges recomputed`,
        `${r.chargedPerSecond.toFixed(0)}/s`,
        mark(r.chargedPerSecond >= 2000),
        `${r.chargeItems ?? 0} ChargeItems for the phase's visits`,
      ]);
    }
  }
  rows.push([
    'ratio acks/s ÷ bare enqueue/s (reported)',
    results.map((r) => ratio(r.acksPerSecond, enqueueBest)).join(' / '),
    'n/a',
    results.map((r) => r.name).join(' / '),
  ]);
  table(['target', 'measured', 'verdict', 'note'], rows);
  console.log('');
  const idOnly = results.find((r) => r.kind === 'saturation' && r.payload === 'id-only');
  if (leastPipeline && idOnly) {
    const c = leastPipeline.cpuMicros;
    const all = c.receiver + c.worker + c.ehr + c.bench;
    table(
      [
        'id-only, closed loop',
        'stored/s',
        'CPU µs/notification',
        'machine busy',
        '÷ bare create',
        'Dripline ÷ this',
      ],
      [
        [
          'least equivalent pipeline (./ingest-minimal.ts)',
          leastPipeline.storedPerSecond.toFixed(0),
          all.toFixed(0),
          leastPipeline.machineBusy === undefined
            ? 'n/a'
            : `${(leastPipeline.machineBusy * 100).toFixed(0)} %`,
          ratio(leastPipeline.storedPerSecond, createBest),
          ratio(idOnly.storedPerSecond, leastPipeline.storedPerSecond),
        ],
      ],
    );
    console.log(
      `The least equivalent pipeline: plain node:http and node:sqlite, same EHR, same senders, same layout; CPU: ` +
        `receiver ${c.receiver.toFixed(0)}, worker ${c.worker.toFixed(0)}, EHR ${c.ehr.toFixed(0)}, bench ${c.bench.toFixed(0)} µs.`,
    );
    console.log('');
  }
}
