/**
 * One bench:ingest phase (./ingest.ts says what each is): it sends BENCH_N notifications, waits
 * until the worker has drained the queue, reads every stored copy back and measures:
 *   acks/s            BENCH_N / (last acknowledgement − first send)
 *   ack p50/p99       per request, send → complete 200 response, in the load generator
 *   stored/s          BENCH_N / (last copy stored − first send): what the whole pipeline sustains
 *   e2e p50/p95       per notification, send → the stored copy's meta.lastUpdated (the commit
 *                     that made it readable; same clock, millisecond resolution)
 *   CPU/notification  each process's CPU time (user + system, all threads, reported over an IPC
 *                     channel) from the phase's first send until its queue drained, ÷ BENCH_N:
 *                     what the work costs whatever else shares the machine. The worker's is set
 *                     against the CPU of one bare create (./ingest-baselines.ts) in the same run.
 *                     This process's own (the load generator's thread, the drain's polling) is
 *                     counted too.
 *   CPU ceiling       the machine's cores ÷ the CPU per notification of all four processes: the
 *                     most this machine can store per second with that code; with /proc/stat, the
 *                     share of the machine busy over the phase (near 100 %: CPU-bound).
 * The charge-capture phase (`charges`, closed loop, run first) sends visits (./ingest-load.ts
 * VISIT_PREFIX) with a charge-capture process running beside the worker, and also measures
 *   charged/s         BENCH_N / (capture queue drained − first send): received → fetched back →
 *                     stored → charges recomputed, the whole of what a notification sets off; the
 *                     capture process's CPU counts among the processes' (started before, stopped
 *                     after the phase, so no other phase's encounters are coded).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DAY_PREFIX } from './ingest-day-shape.ts';
import { TENANT, VISIT_PREFIX } from './ingest-load.ts';
import type { LoadResult, Payload } from './ingest-load.ts';
import type { RunningRig } from './ingest-rig.ts';
import type { NotificationSender } from './ingest-send.ts';

export type PhaseKind = 'charges' | 'charges-day' | 'saturation' | 'overload' | 'paced';

export interface PhaseSpec {
  /** `<payload> <kind>`, as the tables and the recorded figures name the phase. */
  readonly name: string;
  readonly payload: Payload;
  readonly kind: PhaseKind;
  /** Paced: BENCH_RATE; otherwise 0 (overload's rate follows from the saturation phase's result). */
  readonly rate: number;
  /** The phase's administrations are `<prefix>-0` … (the EHR holds the id-only ones beforehand). */
  readonly prefix: string;
}

const capturing = (kind: PhaseKind): boolean => kind === 'charges' || kind === 'charges-day';

/** The phase's name in the tables and the recorded figures. */
function phaseName(kind: PhaseKind, payload: Payload): string {
  if (kind === 'charges') {
    return `${payload} with charge capture`;
  }
  return kind === 'charges-day' ? `${payload} day-shaped with charge capture` : `${payload} ${kind}`;
}

/**
 * Each kind with each payload, in that order; the charge-capture phases first (their capture
 * process must not find the other phases' encounter jobs), with id-only (the payload that fetches
 * back) only.
 */
export function planPhases(
  kinds: readonly PhaseKind[],
  payloads: readonly Payload[],
  rate: number,
): PhaseSpec[] {
  const order: PhaseKind[] = ['charges', 'charges-day', 'saturation', 'overload', 'paced'];
  const ordered = [...kinds].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return ordered
    .flatMap((kind) =>
      (capturing(kind) ? payloads.filter((p) => p === 'id-only') : payloads).map((payload) => ({
        kind,
        payload,
      })),
    )
    .map(({ kind, payload }, index) => ({
      name: phaseName(kind, payload),
      payload,
      kind,
      rate: kind === 'paced' ? rate : 0,
      prefix:
        kind === 'charges'
          ? `${VISIT_PREFIX}-p${index}`
          : kind === 'charges-day'
            ? `${DAY_PREFIX}-p${index}`
            : `ma-p${index}`,
    }));
}

export interface PhaseSettings {
  /** BENCH_N */
  readonly n: number;
  /** BENCH_CONCURRENCY */
  readonly concurrency: number;
  /** BENCH_RATE */
  readonly rate: number;
  /** BENCH_PAUSE_WORKER */
  readonly pauseWorker: boolean;
  /** BENCH_CAPTURE_PROCESSES: charge-capture processes in the charge-capture phase. */
  readonly captureProcesses: number;
}

export interface PhaseResult {
  name: string;
  payload: Payload;
  kind: PhaseKind;
  rate: number;
  acksPerSecond: number;
  /** Jobs in the queue when the last notification was acknowledged (the workers behind). */
  pendingAtLastAck: number;
  ackP50: number;
  ackP99: number;
  storedPerSecond: number;
  /** The charge-capture phase: notifications per second, first send → charges recomputed for all. */
  chargedPerSecond?: number;
  /** The charge-capture phase: ChargeItems the phase's visits got. */
  chargeItems?: number;
  /**
   * The day-shaped phase: resource versions the store wrote per notification (copies, charges,
   * Provenance, Tasks, AuditEvents), each under the one write lock SQLite has.
   */
  versionsPerNotification?: number;
  e2eP50: number;
  e2eP95: number;
  non200: number;
  /** Administrations not stored after the queue drained. */
  missing: number;
  statuses: string;
  /**
   * CPU time per notification of the phase, µs, by process (sending through draining); `bench`
   * is this process: the load generator's thread and the drain's polling.
   */
  cpuMicros: { worker: number; receiver: number; ehr: number; capture: number; bench: number };
  /** The share of the machine's CPU time that was busy from the first send to the queue drained. */
  machineBusy: number | undefined;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * The machine's CPU time so far from /proc/stat (jiffies, all cores): busy (everything but idle and
 * iowait) and total. Undefined where /proc/stat is not there (the figures that need it are skipped).
 */
export function machineCpu(): { busy: number; total: number } | undefined {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  } catch {
    return undefined;
  }
  const fields = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) {
    return undefined;
  }
  // user nice system idle iowait irq softirq steal …: guest time is already counted in user.
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU per notification of all four processes, µs. */
export function allCpuMicros(r: PhaseResult): number {
  return (
    r.cpuMicros.worker + r.cpuMicros.receiver + r.cpuMicros.ehr + r.cpuMicros.capture + r.cpuMicros.bench
  );
}

/**
 * Every notification costs CPU in all four processes, which share this machine's cores: the most
 * the machine can store per second is its cores' time over that sum (the CPU ceiling).
 */
export function cpuCeiling(r: PhaseResult): number {
  return (availableParallelism() * 1e6) / allCpuMicros(r);
}

/** Resolves once no charge-capture job is pending; throws after 300 s. */
export async function captureDrained(rig: RunningRig, label: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (rig.pendingCaptureJobs() > 0) {
    if (Date.now() > deadline) {
      throw new Error(`${label}: ${rig.pendingCaptureJobs()} charge-capture jobs still pending after 300 s`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** 1.2 × what the workers stored at saturation (the payload's), or 4 × BENCH_RATE without one. */
function overloadRate(earlier: readonly PhaseResult[], payload: Payload, rate: number): number {
  const saturated = earlier.find((r) => r.payload === payload && r.kind === 'saturation');
  return Math.ceil(saturated ? 1.2 * saturated.storedPerSecond : 4 * rate);
}

/**
 * Runs `phase` and measures it. A notification not acknowledged with 200 or not stored is printed
 * as a FAIL (counted in `non200` and `missing`); the phase still reports its figures.
 */
export async function runPhase(
  phase: PhaseSpec,
  earlier: readonly PhaseResult[],
  rig: RunningRig,
  sender: NotificationSender,
  settings: PhaseSettings,
  progress: (message: string) => void,
): Promise<PhaseResult> {
  const { n: N, concurrency: CONCURRENCY, pauseWorker } = settings;
  const rate = phase.kind === 'overload' ? overloadRate(earlier, phase.payload, settings.rate) : phase.rate;
  const spec = sender.nextSpec(phase.payload, phase.prefix, N, rate);
  progress(
    `${phase.name}: ${N} notifications, ` +
      (rate > 0 ? `${rate}/s, at most ${CONCURRENCY} in flight` : `${CONCURRENCY} in flight`),
  );
  let sending = true;
  const ticker = setInterval(() => {
    if (sending) {
      progress(`${phase.name}: sending; ${rig.pendingJobs()} jobs pending in the queue`);
    }
  }, 2000);
  let load: LoadResult;
  const charges = phase.kind === 'charges';
  if (charges) {
    await rig.startCapture(settings.captureProcesses);
  }
  const chargeItemsBefore = charges ? rig.chargeItems() : 0;
  const versionsBefore = charges ? rig.versionsWritten() : 0;
  const cpuBefore = await rig.cpuSeconds();
  const benchBefore = process.cpuUsage();
  const machineBefore = machineCpu();
  try {
    if (pauseWorker) {
      rig.pauseWorker();
    }
    load = await sender.send(spec);
  } finally {
    sending = false;
    clearInterval(ticker);
    if (pauseWorker) {
      rig.resumeWorker();
    }
  }
  const acked = load.statuses['200'] ?? 0;
  const acksPerSecond = N / ((load.lastAck - load.firstSend) / 1000);
  const pendingAtLastAck = rig.pendingJobs();
  progress(
    `${phase.name}: ${acked}/${N} acknowledged at ${acksPerSecond.toFixed(0)}/s; ack p50 ` +
      `${percentile(load.latency, 50).toFixed(1)} ms, p99 ${percentile(load.latency, 99).toFixed(1)} ms; ` +
      `${pendingAtLastAck} jobs pending`,
  );
  await sender.drain(phase.name, 300_000);
  let chargedAt = 0;
  if (charges) {
    await captureDrained(rig, phase.name);
    chargedAt = Date.now();
  }
  const cpuAfter = await rig.cpuSeconds();
  if (charges) {
    await rig.stopCapture();
  }
  const chargeItems = charges ? rig.chargeItems() - chargeItemsBefore : 0;
  const versions = charges ? rig.versionsWritten() - versionsBefore : 0;
  const benchUsed = process.cpuUsage(benchBefore);
  const machineAfter = machineCpu();
  const perNotification = (name: keyof typeof cpuAfter): number =>
    ((cpuAfter[name] - cpuBefore[name]) * 1e6) / N;
  const workerCpu = perNotification('worker');
  const receiverCpu = perNotification('receiver');
  const ehrCpu = perNotification('ehr');
  const captureCpu = perNotification('capture');
  const benchCpu = (benchUsed.user + benchUsed.system) / N;
  const machineBusy =
    machineBefore && machineAfter && machineAfter.total > machineBefore.total
      ? (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)
      : undefined;
  // The copies: their commit instants against the send instants.
  const e2e: number[] = [];
  let lastStored = 0;
  let missing = 0;
  for (let i = 0; i < N; i++) {
    try {
      const copy = await rig.store.resources.read(TENANT, 'MedicationAdministration', `${phase.prefix}-${i}`);
      const stored = Date.parse(copy.meta.lastUpdated);
      e2e.push(stored - (load.sentAt[i] ?? 0));
      lastStored = Math.max(lastStored, stored);
    } catch {
      missing++;
    }
  }
  if (missing > 0) {
    console.error(`FAIL ${phase.name}: ${missing} administrations not stored after the queue drained`);
  }
  // Each visit is one infusion: a drug line and an administration line at least.
  if (charges && chargeItems < 2 * N) {
    console.error(
      `FAIL ${phase.name}: ${chargeItems} ChargeItems for ${N} visits (at least ${2 * N} expected)`,
    );
  }
  const non200 = N - acked;
  if (non200 > 0) {
    console.error(
      `FAIL ${phase.name}: ${non200} notifications not acknowledged with 200 (${JSON.stringify(load.statuses)}) ${load.errors.join('; ')}`,
    );
  }
  const result: PhaseResult = {
    name: phase.name,
    payload: phase.payload,
    kind: phase.kind,
    rate,
    acksPerSecond,
    pendingAtLastAck,
    ackP50: percentile(load.latency, 50),
    ackP99: percentile(load.latency, 99),
    storedPerSecond: N / ((lastStored - load.firstSend) / 1000),
    ...(charges
      ? {
          chargedPerSecond: N / ((chargedAt - load.firstSend) / 1000),
          chargeItems,
          versionsPerNotification: versions / N,
        }
      : {}),
    e2eP50: percentile(e2e, 50),
    e2eP95: percentile(e2e, 95),
    non200,
    missing,
    statuses: Object.entries(load.statuses)
      .map(([code, count]) => `${code}×${count}`)
      .join(' '),
    cpuMicros: {
      worker: workerCpu,
      receiver: receiverCpu,
      ehr: ehrCpu,
      capture: captureCpu,
      bench: benchCpu,
    },
    machineBusy,
  };
  progress(
    `${phase.name}: stored ${N - missing} copies at ${result.storedPerSecond.toFixed(0)}/s; ` +
      `notification → stored p50 ${result.e2eP50.toFixed(0)} ms, p95 ${result.e2eP95.toFixed(0)} ms; ` +
      `CPU per notification: worker ${workerCpu.toFixed(0)} µs, receiver ${receiverCpu.toFixed(0)} µs, ` +
      `EHR ${ehrCpu.toFixed(0)} µs, ` +
      (charges
        ? `capture ${captureCpu.toFixed(0)} µs (${chargeItems} ChargeItems, all charged at ${(result.chargedPerSecond ?? 0).toFixed(0)}/s), `
        : '') +
      `bench ${benchCpu.toFixed(0)} µs; machine ` +
      (machineBusy === undefined ? 'busy unknown' : `${(machineBusy * 100).toFixed(0)} % busy`),
  );
  return result;
}
