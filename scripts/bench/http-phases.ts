/**
 * bench:http's phases (./http.ts): each runs a warm-up, then measures req/s, latency and the
 * servers' CPU per request with autocannon, counting work a phase leaves for other threads (the
 * audit thread) until it drains; and the table the bench prints.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import type express from 'express';
import type { Store } from '../../src/store/port.ts';
import { journalRowCount } from '../../src/store/sqlite/audit-journal.ts';
import { pendingRowCount } from '../../src/store/sqlite/audit-pending.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

export async function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  server.closeAllConnections();
  await closed;
}

export interface Phase {
  readonly name: string;
  readonly options: autocannon.Options;
  /** Called before warm-up: refreshes per-phase state (a new bearer token) and returns headers to add. */
  readonly prepare?: () => Promise<Record<string, string>>;
  /**
   * Work the server left for other threads (Dripline's read audits, filed by the audit thread):
   * `cpuMicros` is their CPU so far, `drained` resolves once it is done. The phase counts both: its
   * requests over the load's time plus the wait for the drain, its CPU with theirs.
   */
  readonly background?: { cpuMicros(): Promise<number>; drained(): Promise<void> };
}

export interface PhaseResult {
  readonly name: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly statusCodes: string;
  readonly warmupFailures: number;
  /** Main-thread (server) CPU per request during the measurement, µs. */
  readonly cpuMicros: number;
}

function statusSummary(result: autocannon.Result): string {
  const stats = result.statusCodeStats ?? {};
  return Object.entries(stats)
    .map(([code, s]) => `${code}×${s.count ?? 0}`)
    .join(' ');
}

/** How every phase runs (the bench's environment) and where it reports. */
export interface PhaseSettings {
  readonly seconds: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  /** autocannon worker threads (0: the load runs on this thread). */
  readonly workers: number;
  readonly progress: (message: string) => void;
}

export async function runPhase(phase: Phase, settings: PhaseSettings): Promise<PhaseResult> {
  const {
    seconds: SECONDS,
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_SECONDS,
    workers: WORKERS,
    progress,
  } = settings;
  const extraHeaders = phase.prepare ? await phase.prepare() : {};
  const options: autocannon.Options = {
    connections: CONNECTIONS,
    ...(WORKERS > 0 ? { workers: WORKERS } : {}),
    ...phase.options,
    headers: { ...phase.options.headers, ...extraHeaders },
  };
  let warmupFailures = 0;
  if (WARMUP_SECONDS > 0) {
    progress(`${phase.name}: warm-up ${WARMUP_SECONDS}s`);
    const warm = await autocannon({ ...options, duration: WARMUP_SECONDS });
    warmupFailures = warm.non2xx + warm.errors;
    if (warmupFailures > 0) {
      progress(
        `${phase.name}: warm-up had ${warm.non2xx} non-2xx, ${warm.errors} errors (${statusSummary(warm)})`,
      );
    }
  }
  progress(`${phase.name}: measuring ${SECONDS}s at ${CONNECTIONS} connections`);
  const cpuBefore = process.threadCpuUsage();
  const backgroundBefore = (await phase.background?.cpuMicros()) ?? 0;
  const result = await autocannon({ ...options, duration: SECONDS, title: phase.name });
  const loadEnded = performance.now();
  await phase.background?.drained();
  const drainSeconds = (performance.now() - loadEnded) / 1000;
  const cpu = process.threadCpuUsage(cpuBefore);
  const backgroundCpu = ((await phase.background?.cpuMicros()) ?? 0) - backgroundBefore;
  if (phase.background) {
    progress(
      `${phase.name}: background work drained ${(drainSeconds * 1000).toFixed(0)} ms after the load, ` +
        `its CPU ${(backgroundCpu / 1000).toFixed(0)} ms`,
    );
  }
  const answered = result['2xx'] + result.non2xx;
  const out: PhaseResult = {
    name: phase.name,
    rps: phase.background ? answered / (result.duration + drainSeconds) : result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result['2xx'] + result.non2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes: statusSummary(result),
    warmupFailures,
    cpuMicros: (cpu.user + cpu.system + backgroundCpu) / Math.max(1, answered),
  };
  progress(
    `${phase.name}: ${out.rps.toFixed(0)} req/s, ${out.cpuMicros.toFixed(0)} µs server CPU each, ` +
      `p50 ${out.p50.toFixed(2)} ms, p99 ${out.p99.toFixed(2)} ms, ` +
      `${out.non2xx} non-2xx, ${out.errors} errors`,
  );
  return out;
}

/**
 * The audit thread's part of a read or a create (src/store/sqlite/audit-log.ts): its CPU, and the
 * wait until it has filed every event journaled (reads) or pending (creates) after the load stops.
 */
export function auditBackground(store: Store): Pick<Phase, 'background'> {
  if (store.kind !== 'sqlite') {
    return {};
  }
  const sqlite = store as SqliteStore;
  return {
    background: {
      cpuMicros: () => sqlite.auditLog.threadCpuMicros(),
      async drained(): Promise<void> {
        while (journalRowCount(sqlite.auditJournalConnection) + pendingRowCount(sqlite.connection) > 0) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
    },
  };
}

export function ratio(value: number, base: number): string {
  return base > 0 ? `${(value / base).toFixed(2)}x` : 'n/a';
}

export function printTable(results: readonly PhaseResult[], hello: PhaseResult): void {
  const header = [
    'phase',
    'req/s',
    'p50 ms',
    'p99 ms',
    'requests',
    'non-2xx',
    'errors',
    'CPU µs/req',
    'req/s vs hello',
    'p50 vs hello',
    'p99 vs hello',
  ];
  const rows = results.map((r) => [
    r.name,
    r.rps.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    String(r.total),
    String(r.non2xx),
    String(r.errors),
    r.cpuMicros.toFixed(0),
    ratio(r.rps, hello.rps),
    ratio(r.p50, hello.p50),
    ratio(r.p99, hello.p99),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    '| ' +
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ') +
    ' |';
  console.log('');
  console.log(line(header));
  console.log(
    '|' + widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|') + '|',
  );
  for (const row of rows) {
    console.log(line(row));
  }
  console.log(
    'autocannon records latency in whole milliseconds; ratios divide by the hello-world row; CPU µs/req is ' +
      "the servers' main-thread CPU per request (the load generator runs in a worker thread).",
  );
  console.log('');
}
