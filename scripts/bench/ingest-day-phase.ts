/**
 * Runs bench:ingest's day-shaped charge-capture phase (./ingest-day-shape.ts says what it sends and
 * why in waves) and measures it as ./ingest-phase.ts measures the others, over the waves' summed
 * time (each wave: first send → the ingest and charge-capture queues drained):
 *   charged/s         notifications ÷ that time: received → fetched back → stored → charges recomputed
 *   stored/s          notifications ÷ the waves' time to the ingest queue drained
 *   acks/s, ack p50/p99, e2e (send → the administration's stored copy), CPU per notification by
 *   process (the EHR's changes between the waves left out, as its users' work would be).
 * Checked after the last wave: every visit's encounter copy finished, every administration stored,
 * and each visit's charges (at least its infusion, its push and their two drugs).
 */
import type { Encounter } from '@medplum/fhirtypes';
import { dayAdministrations, dayVisits, dayWaves } from './ingest-day-shape.ts';
import { TENANT } from './ingest-load.ts';
import type { LoadResult } from './ingest-load.ts';
import { captureDrained, machineCpu, percentile } from './ingest-phase.ts';
import type { PhaseResult, PhaseSettings, PhaseSpec } from './ingest-phase.ts';
import type { ProcessCpu, RunningRig } from './ingest-rig.ts';
import type { NotificationSender } from './ingest-send.ts';

/** Lines each visit is charged at least: the infusion, the push, infliximab and diphenhydramine. */
const LINES_PER_VISIT = 4;

export async function runDayPhase(
  phase: PhaseSpec,
  rig: RunningRig,
  sender: NotificationSender,
  settings: PhaseSettings,
  progress: (message: string) => void,
): Promise<PhaseResult> {
  const visits = dayVisits(settings.n);
  const waves = dayWaves(phase.prefix, visits);
  const total = waves.reduce((n, w) => n + w.ids.length, 0);
  progress(
    `${phase.name}: ${visits} visits, ${total} notifications in ${waves.length} waves, ` +
      `${settings.concurrency} in flight`,
  );
  await rig.startCapture(settings.captureProcesses);
  const chargeItemsBefore = rig.chargeItems();
  const versionsBefore = rig.versionsWritten();
  const cpu: { -readonly [K in keyof ProcessCpu]: number } = { worker: 0, receiver: 0, ehr: 0, capture: 0 };
  let benchMicros = 0;
  let busy = 0;
  let ticks = 0;
  let sendMs = 0;
  let storedMs = 0;
  let chargedMs = 0;
  let pendingAtLastAck = 0;
  const latency: number[] = [];
  const statuses: Record<string, number> = {};
  const errors: string[] = [];
  const administrationSent = new Map<string, number>();
  for (const wave of waves) {
    if (wave.advanceTo) {
      await rig.advanceEhr(phase.prefix, visits, wave.advanceTo);
    }
    const cpuBefore = await rig.cpuSeconds();
    const benchBefore = process.cpuUsage();
    const machineBefore = machineCpu();
    const load: LoadResult = await sender.send(sender.nextFocusSpec({ type: wave.focusType, ids: wave.ids }));
    pendingAtLastAck = Math.max(pendingAtLastAck, rig.pendingJobs());
    await sender.drain(`${phase.name} (${wave.label})`, 300_000);
    const stored = Date.now();
    await captureDrained(rig, `${phase.name} (${wave.label})`);
    const charged = Date.now();
    const cpuAfter = await rig.cpuSeconds();
    const benchUsed = process.cpuUsage(benchBefore);
    const machineAfter = machineCpu();
    const waveCpu: string[] = [];
    for (const name of ['worker', 'receiver', 'ehr', 'capture'] as const) {
      const used = cpuAfter[name] - cpuBefore[name];
      cpu[name] += used;
      waveCpu.push(`${name} ${((used * 1e6) / wave.ids.length).toFixed(0)}`);
    }
    benchMicros += benchUsed.user + benchUsed.system;
    waveCpu.push(`bench ${((benchUsed.user + benchUsed.system) / wave.ids.length).toFixed(0)}`);
    let waveBusy = '';
    if (machineBefore && machineAfter) {
      busy += machineAfter.busy - machineBefore.busy;
      ticks += machineAfter.total - machineBefore.total;
      const waveTicks = machineAfter.total - machineBefore.total;
      waveBusy =
        waveTicks > 0
          ? `, machine ${((100 * (machineAfter.busy - machineBefore.busy)) / waveTicks).toFixed(0)} % busy`
          : '';
    }
    sendMs += load.lastAck - load.firstSend;
    storedMs += stored - load.firstSend;
    chargedMs += charged - load.firstSend;
    latency.push(...load.latency);
    for (const [code, count] of Object.entries(load.statuses)) {
      statuses[code] = (statuses[code] ?? 0) + count;
    }
    errors.push(...load.errors);
    if (wave.focusType === 'MedicationAdministration') {
      wave.ids.forEach((id, i) => administrationSent.set(id, load.sentAt[i] ?? 0));
    }
    progress(
      `${phase.name}: wave "${wave.label}", ${wave.ids.length} notifications, charged in ` +
        `${((charged - load.firstSend) / 1000).toFixed(2)} s (stored in ${((stored - load.firstSend) / 1000).toFixed(2)} s); ` +
        `CPU µs per notification: ${waveCpu.join(', ')}${waveBusy}`,
    );
  }
  await rig.stopCapture();
  const chargeItems = rig.chargeItems() - chargeItemsBefore;
  const versions = rig.versionsWritten() - versionsBefore;

  // What the day left: every visit finished, every administration stored, every visit charged.
  let missing = 0;
  const e2e: number[] = [];
  for (let i = 0; i < visits; i++) {
    try {
      const encounter = (await rig.store.resources.read(
        TENANT,
        'Encounter',
        `${phase.prefix}-enc-${i}`,
      )) as Encounter;
      if (encounter.status !== 'finished') {
        missing++;
      }
    } catch {
      missing++;
    }
    for (const administration of dayAdministrations(phase.prefix, i)) {
      try {
        const copy = await rig.store.resources.read(TENANT, 'MedicationAdministration', administration.id);
        e2e.push(Date.parse(copy.meta.lastUpdated) - (administrationSent.get(administration.id) ?? 0));
      } catch {
        missing++;
      }
    }
  }
  if (missing > 0) {
    console.error(`FAIL ${phase.name}: ${missing} encounters not finished or administrations not stored`);
  }
  if (chargeItems < LINES_PER_VISIT * visits) {
    console.error(
      `FAIL ${phase.name}: ${chargeItems} ChargeItems for ${visits} visits (at least ${LINES_PER_VISIT * visits} expected)`,
    );
    missing += visits;
  }
  const acked = statuses['200'] ?? 0;
  if (acked !== total) {
    console.error(
      `FAIL ${phase.name}: ${total - acked} notifications not acknowledged with 200 (${JSON.stringify(statuses)}) ${errors.slice(0, 10).join('; ')}`,
    );
  }
  const per = (seconds: number): number => (seconds * 1e6) / total;
  const result: PhaseResult = {
    name: phase.name,
    payload: phase.payload,
    kind: phase.kind,
    rate: 0,
    acksPerSecond: total / (sendMs / 1000),
    pendingAtLastAck,
    ackP50: percentile(latency, 50),
    ackP99: percentile(latency, 99),
    storedPerSecond: total / (storedMs / 1000),
    chargedPerSecond: total / (chargedMs / 1000),
    chargeItems,
    versionsPerNotification: versions / total,
    e2eP50: percentile(e2e, 50),
    e2eP95: percentile(e2e, 95),
    non200: total - acked,
    missing,
    statuses: Object.entries(statuses)
      .map(([code, count]) => `${code}×${count}`)
      .join(' '),
    cpuMicros: {
      worker: per(cpu.worker),
      receiver: per(cpu.receiver),
      ehr: per(cpu.ehr),
      capture: per(cpu.capture),
      bench: benchMicros / total,
    },
    machineBusy: ticks > 0 ? busy / ticks : undefined,
  };
  progress(
    `${phase.name}: ${total} notifications charged at ${(result.chargedPerSecond ?? 0).toFixed(0)}/s ` +
      `(stored at ${result.storedPerSecond.toFixed(0)}/s; ${chargeItems} ChargeItems for ${visits} visits; ` +
      `${(versions / total).toFixed(2)} resource versions written per notification); ` +
      `CPU per notification: worker ${result.cpuMicros.worker.toFixed(0)} µs, receiver ` +
      `${result.cpuMicros.receiver.toFixed(0)} µs, EHR ${result.cpuMicros.ehr.toFixed(0)} µs, capture ` +
      `${result.cpuMicros.capture.toFixed(0)} µs, bench ${result.cpuMicros.bench.toFixed(0)} µs; machine ` +
      (result.machineBusy === undefined ? 'busy unknown' : `${(result.machineBusy * 100).toFixed(0)} % busy`),
  );
  return result;
}
