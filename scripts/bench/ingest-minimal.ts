/**
 * bench:ingest's least equivalent ingest pipeline: what any implementation of "received → fetched
 * back from the EHR in its own process → stored" must do, done as plainly as node:http and
 * node:sqlite allow (./ingest-minimal-node.ts), measured in the same run as Dripline's id-only
 * saturation phase, against the same sandbox EHR process, from the same load generator, with the
 * same 50 senders and the same process layout (a receiver, and a worker at the workers' niceness,
 * sharing an inbox file and a store file).
 *
 * It is the baseline that says how much of "stored ÷ bare creates" is the requirement and how much
 * is Dripline: a notification needs an HTTP exchange with the sender, a durable job, an HTTP read
 * at the EHR, a durable copy findable by search and an AuditEvent findable by patient — on one
 * machine's cores — while a bare create is the one write, on one core, nothing else running.
 *
 * What it leaves out is what Dripline adds on purpose: subscription records and event-number
 * gaps, FHIR validation, the references a claim needs (patient, encounter, coverage), version
 * history, leases and retries (one consumer deletes after commit), the domain events charge
 * capture runs on, metrics.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { ChildProcess } from 'node:child_process';
import { PATIENTS } from './ingest-load.ts';
import type { LoadSpec } from './ingest-load.ts';
import { machineCpu } from './ingest-phase.ts';
import { cpuSeconds, startChild, stopProcess, WORKER_NICENESS } from './ingest-rig.ts';
import type { RunningRig } from './ingest-rig.ts';
import type { NotificationSender } from './ingest-send.ts';

/** The EHR holds these administrations for it (./ingest.ts seeds them). */
export const MINIMAL_WARM_PREFIX = 'ma-minimal-warm';
export const MINIMAL_PREFIX = 'ma-minimal';

const SECRET = 'bench-secret-minimal-0123456789';
const SCRIPT = new URL('./ingest-minimal-node.ts', import.meta.url);

export interface MinimalPipelineResult {
  readonly storedPerSecond: number;
  /** CPU per notification, µs: the minimal receiver, the minimal worker, the EHR, the load generator. */
  readonly cpuMicros: {
    readonly receiver: number;
    readonly worker: number;
    readonly ehr: number;
    readonly bench: number;
  };
  readonly machineBusy: number | undefined;
}

export async function measureMinimalPipeline(
  dir: string,
  rig: RunningRig,
  sender: NotificationSender,
  n: number,
  concurrency: number,
  progress: (message: string) => void,
): Promise<MinimalPipelineResult> {
  const children: ChildProcess[] = [];
  const inboxPath = join(dir, 'minimal-inbox.sqlite');
  const storePath = join(dir, 'minimal-store.sqlite');
  const env = { PATH: process.env['PATH'] ?? '' };
  try {
    const receiver = await startChild(
      'minimal receiver',
      SCRIPT,
      ['receiver', inboxPath, createHash('sha256').update(SECRET).digest('hex')],
      env,
      'LISTENING ',
      children,
    );
    const worker = await startChild(
      'minimal worker',
      SCRIPT,
      ['worker', inboxPath, storePath, JSON.stringify(rig.ehrConnection)],
      env,
      'READY',
      children,
      [],
      WORKER_NICENESS,
    );
    const store = new DatabaseSync(storePath, { readOnly: true });
    const stored = (): number =>
      Number(store.prepare('SELECT count(*) AS n FROM resources').get()?.['n'] ?? 0);
    let nextEvent = 1;
    const spec = (prefix: string, count: number): LoadSpec => {
      const s: LoadSpec = {
        url: receiver.line,
        secret: SECRET,
        subscriptionUrl: `${rig.ehrBaseUrl}/Subscription/sub-minimal`,
        fhirBaseUrl: rig.ehrBaseUrl,
        payload: 'id-only',
        prefix,
        count,
        firstEvent: nextEvent,
        concurrency,
        rate: 0,
      };
      nextEvent += count;
      return s;
    };
    const waitStored = async (count: number, label: string): Promise<void> => {
      const deadline = Date.now() + 300_000;
      while (stored() < count) {
        if (Date.now() > deadline) {
          throw new Error(`${label}: ${String(stored())} of ${String(count)} stored after 300 s`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    progress('least equivalent pipeline (plain node:http + node:sqlite, same EHR): warm-up');
    await sender.send(spec(MINIMAL_WARM_PREFIX, PATIENTS));
    await waitStored(PATIENTS, 'least equivalent pipeline warm-up');

    const cpu = async (): Promise<{ receiver: number; worker: number; ehr: number }> => {
      const [r, w] = await Promise.all([cpuSeconds(receiver.child), cpuSeconds(worker.child)]);
      return { receiver: r, worker: w, ehr: (await rig.cpuSeconds()).ehr };
    };
    const before = await cpu();
    const benchBefore = process.cpuUsage();
    const machineBefore = machineCpu();
    const load = await sender.send(spec(MINIMAL_PREFIX, n));
    const non200 = n - (load.statuses['200'] ?? 0);
    if (non200 > 0) {
      throw new Error(
        `least equivalent pipeline: ${String(non200)} not answered 200 (${load.errors.join('; ')})`,
      );
    }
    await waitStored(PATIENTS + n, 'least equivalent pipeline');
    const seconds = (Date.now() - load.firstSend) / 1000;
    const after = await cpu();
    const bench = process.cpuUsage(benchBefore);
    const machineAfter = machineCpu();
    store.close();
    const per = (s: number): number => (s * 1e6) / n;
    const result: MinimalPipelineResult = {
      storedPerSecond: n / seconds,
      cpuMicros: {
        receiver: per(after.receiver - before.receiver),
        worker: per(after.worker - before.worker),
        ehr: per(after.ehr - before.ehr),
        bench: (bench.user + bench.system) / n,
      },
      machineBusy:
        machineBefore && machineAfter && machineAfter.total > machineBefore.total
          ? (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)
          : undefined,
    };
    const c = result.cpuMicros;
    progress(
      `least equivalent pipeline, id-only, closed loop, ${String(concurrency)} in flight: ` +
        `${result.storedPerSecond.toFixed(0)} stored/s; CPU per notification: receiver ${c.receiver.toFixed(0)} µs, ` +
        `worker ${c.worker.toFixed(0)} µs, EHR ${c.ehr.toFixed(0)} µs, bench ${c.bench.toFixed(0)} µs; machine ` +
        (result.machineBusy === undefined
          ? 'busy unknown'
          : `${(result.machineBusy * 100).toFixed(0)} % busy`),
    );
    return result;
  } finally {
    await Promise.all(children.map((child) => stopProcess(child)));
  }
}
