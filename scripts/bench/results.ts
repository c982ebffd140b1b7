/**
 * What a benchmark reports beyond its own printout: each headline figure with the baseline it was
 * measured against in the same run, the ratio, and the target, so `npm run bench` (all.ts) can
 * gather every benchmark's figures into one table. A benchmark run on its own prints as before;
 * the figures go to the file named by BENCH_RESULTS (JSON lines) only when it is set.
 *
 * Importing this module also prints the process's peak resident set size when it exits, so every
 * benchmark reports its memory the same way.
 */
import { appendFileSync } from 'node:fs';

export interface BenchFigure {
  /** The benchmark's name (bench:<name>). */
  readonly bench: string;
  /** What was measured, in a few words ("engine, 5 administrations"). */
  readonly figure: string;
  readonly value: number;
  /** The unit of value and baseline ("encounters/s", "ms", "MB"). */
  readonly unit: string;
  /** The same-run baseline: its name and value, in the same unit. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** The target in words, as the issue states it ("≥ 20,000/s", "≤ 1 ms"). */
  readonly target?: string;
  /** Whether the target is met; absent when the figure has no target. */
  readonly met?: boolean;
}

/** The process's peak resident set size so far, in MB (getrusage: the kernel's high-water mark). */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Records one figure for the combined table (when BENCH_RESULTS is set). */
export function recordFigure(figure: BenchFigure): void {
  const file = process.env['BENCH_RESULTS'];
  if (file === undefined || file === '') {
    return;
  }
  appendFileSync(file, `${JSON.stringify({ ...figure, peakRssMb: peakRssMb() })}\n`);
}

process.once('exit', () => {
  console.log(`peak RSS: ${peakRssMb()} MB`);
});
