/**
 * bench:ingest's processes (./ingest.ts), each party in its own, as README "Running several
 * processes" lays Dripline out for load: the sandbox EHR (./ingest-ehr.ts: loopback HTTP, its own
 * SMART server) holds the patients, encounters, medications, coverage and — for id-only — the
 * MedicationAdministrations the notifications point at; a Dripline receiver (./ingest-node.ts
 * receiver, `WORKERS=none`: it authenticates, writes the job durably and acknowledges) and one
 * Dripline worker process (./ingest-node.ts worker: the ingest worker — fetch-back, copies) share
 * the embedded store in a temp DATA_DIR (the main file, and the inbox file the receiver writes the
 * jobs to). Two backport connections to the EHR, one per payload, have subscription records seeded
 * with known secrets before either process starts (as test/ingest/receiver.test.ts does), so the
 * bench posts the notifications itself; the scheduler does not run (maintenance would subscribe at
 * the EHR and replace the seeded secrets). Each process reports its CPU time over an IPC channel.
 * BENCH_CPU_PROF=<dir> writes the receiver's and the worker's CPU profiles there.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { defaultCompileCacheDirectory } from '../../src/compile-cache.ts';
import { freePort } from '../../src/http/free-port.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { sha256Hex, updateRecord } from '../../src/ingest/records.ts';
import { openStore } from '../../src/store/open.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { MEDICATIONS, PATIENTS, TENANT } from './ingest-load.ts';
import type { Payload } from './ingest-load.ts';

/**
 * The worker process's niceness, as README "Running several processes" advises for workers that
 * share a host with receivers: the receiver, which an EHR waits on, gets the CPU first.
 */
export const WORKER_NICENESS = 10;

const HOST = '127.0.0.1';

/**
 * A queue's ready and leased jobs, polled while a phase drains: each state a literal, so each count
 * seeks its partial index (src/store/sqlite/jobs.ts); `state IN (…)` would read every finished job.
 */
const PENDING_JOBS =
  "SELECT (SELECT count(*) FROM jobs WHERE queue = ? AND state = 'ready') + " +
  "(SELECT count(*) FROM jobs WHERE queue = ? AND state = 'leased') AS n";

/** The subscription records' secrets, seeded before the receiver starts; the load generator sends them. */
const SECRETS: Record<Payload, string> = {
  'full-resource': 'bench-secret-full-0123456789',
  'id-only': 'bench-secret-idonly-0123456789',
};
/** The id-only connection's Encounter subscription's (the day-shaped phase's encounter changes). */
const ENCOUNTER_SECRET = 'bench-secret-idonly-encounter-0123456789';

/** MedicationAdministrations the EHR holds before the bench starts: `<prefix>-0` … `<prefix>-<count − 1>`. */
export interface AdministrationBatch {
  readonly prefix: string;
  readonly count: number;
}

/** Where the bench posts one payload's notifications, with the secret its subscription record holds. */
export interface NotifyTarget {
  readonly url: string;
  readonly secret: string;
  readonly subscriptionUrl: string;
  readonly fhirBaseUrl: string;
}

/** Each process's CPU time so far (user + system, all its threads), in seconds. */
export interface ProcessCpu {
  readonly worker: number;
  readonly receiver: number;
  readonly ehr: number;
  /** The charge-capture processes', while they run (0 before they start). */
  readonly capture: number;
}

/** The started processes, as the bench's phases use them. */
export interface RunningRig {
  readonly ehrBaseUrl: string;
  /** The EHR's connection for Dripline's client (its SMART Backend Services key and scopes). */
  readonly ehrConnection: EhrConnectionConfig;
  /** This process's own connection to the files the receiver and the worker share. */
  readonly store: SqliteStore;
  /** Where one payload's notifications go; `topic` Encounter: the id-only connection's Encounter subscription. */
  target(payload: Payload, topic?: 'MedicationAdministration' | 'Encounter'): NotifyTarget;
  /** The EHR sets `count` visits of the day-shaped phase `prefix` to `status` (./ingest-ehr.ts). */
  advanceEhr(prefix: string, count: number, status: string): Promise<void>;
  /** Ingest jobs ready or leased in the inbox: what the worker has yet to do. */
  pendingJobs(): number;
  /** Ingest jobs dead-lettered. */
  deadJobs(): number;
  /** Charge-capture jobs ready or leased: encounters whose charges are yet to be recomputed. */
  pendingCaptureJobs(): number;
  /** ChargeItems stored (every tenant's: the bench has one). */
  chargeItems(): number;
  /** Resource versions written so far: rows of the current versions and of the superseded ones. */
  versionsWritten(): number;
  /** Starts `processes` charge-capture processes (WORKERS=none, charge capture only) beside the others. */
  startCapture(processes: number): Promise<void>;
  /** Stops it (its queue's jobs stay, unprocessed). */
  stopCapture(): Promise<void>;
  cpuSeconds(): Promise<ProcessCpu>;
  /** SIGSTOP / SIGCONT to the worker process (BENCH_PAUSE_WORKER). */
  pauseWorker(): void;
  resumeWorker(): void;
}

/**
 * Starts `script` on this Node as a child process and waits for the stdout line starting with
 * `marker` (the rest of the line is returned). The child is added to `children` at once, so the
 * caller's `finally` stops it whatever happens.
 */
export async function startChild(
  name: string,
  script: URL,
  args: readonly string[],
  env: Record<string, string>,
  marker: string,
  children: ChildProcess[],
  nodeArgs: readonly string[] = [],
  niceness = 0,
): Promise<{ child: ChildProcess; line: string }> {
  const command = [process.execPath, '--no-warnings', ...nodeArgs, fileURLToPath(script), ...args];
  // `nice` (coreutils) before exec: every thread of the process starts at that niceness.
  const [file = '', ...rest] = niceness > 0 ? ['nice', '-n', String(niceness), ...command] : command;
  const child = spawn(file, rest, {
    env,
    // The IPC channel answers `cpuSeconds` (./ingest-node.ts, ./ingest-ehr.ts).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-5000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not ready within 120 s: ${stderr}`)), 120_000);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.startsWith(marker)) {
        clearTimeout(timer);
        resolve({ child, line: line.slice(marker.length) });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${String(code ?? signal)}): ${stderr}`));
    });
  });
}

/**
 * The child's CPU time so far (user + system, all its threads), in seconds, as it reports it over
 * the IPC channel: the cost of its work whatever else runs on the machine.
 */
export function cpuSeconds(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('child did not report its CPU time within 60 s')),
      60_000,
    );
    child.once('message', (message: { cpu?: { user: number; system: number } }) => {
      clearTimeout(timer);
      resolve(((message.cpu?.user ?? Number.NaN) + (message.cpu?.system ?? Number.NaN)) / 1e6);
    });
    child.send('cpu');
  });
}

/** Asks the EHR child to set day-shaped visits' encounters to `status`; resolves once it has. */
function advance(child: ChildProcess, prefix: string, count: number, status: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the EHR did not advance its encounters within 120 s')),
      120_000,
    );
    child.once('message', (message: { advanced?: number }) => {
      clearTimeout(timer);
      if (message.advanced === count) {
        resolve();
      } else {
        reject(new Error(`the EHR answered ${JSON.stringify(message)} to an advance of ${count}`));
      }
    });
    child.send({ advance: { prefix, count, status } });
  });
}

/** SIGTERM (a graceful stop writes a --cpu-prof profile), SIGKILL after 15 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(timer);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/**
 * The EHR, the receiver and the worker in `dir`. Whatever `start` got as far as starting, `stop`
 * stops (call it in a `finally`).
 */
export class IngestRig {
  private readonly dir: string;
  private readonly progress: (message: string) => void;
  private readonly children: ChildProcess[] = [];
  private store: SqliteStore | undefined;

  constructor(dir: string, progress: (message: string) => void) {
    this.dir = dir;
    this.progress = progress;
  }

  /** Starts the EHR holding `administrations` (`perPhase` in each id-only phase's batch), then Dripline. */
  async start(administrations: readonly AdministrationBatch[], perPhase: number): Promise<RunningRig> {
    const { dir, children, progress } = this;
    const port = await freePort(HOST);

    // ---- The EHR, in its own process ---------------------------------------------------------
    progress(
      `sandbox EHR (own process): ${PATIENTS} patients with coverage and encounters, ${MEDICATIONS} medications` +
        `, ${perPhase} administrations per id-only phase`,
    );
    const ehrChild = await startChild(
      'ehr',
      new URL('./ingest-ehr.ts', import.meta.url),
      [JSON.stringify(administrations)],
      { PATH: process.env['PATH'] ?? '' },
      'READY ',
      children,
    );
    const base = (JSON.parse(ehrChild.line) as { connection: EhrConnectionConfig }).connection;
    const connections = {
      'full-resource': { ...base, id: 'bench-full', payload: 'full-resource' as const },
      'id-only': { ...base, id: 'bench-idonly', payload: 'id-only' as const },
    };
    const ehrBaseUrl = base.fhirBaseUrl;

    // ---- Dripline: a receiver and a worker process sharing the SQLite files ---------------------
    const configFile = join(dir, 'dripline.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        tenants: [{ id: TENANT, name: 'Bench clinic', connections: Object.values(connections) }],
        sandbox: false,
      }),
    );
    const dataDir = join(dir, 'data');
    const publicUrl = `http://${HOST}:${port}`;
    const env = (listen: number): Record<string, string> => ({
      PATH: process.env['PATH'] ?? '',
      // As `npm start` sets it (src/compile-cache.ts), for the processes and the threads they start.
      NODE_COMPILE_CACHE: process.env['NODE_COMPILE_CACHE'] ?? defaultCompileCacheDirectory(),
      DRIPLINE_CONFIG: configFile,
      DATA_DIR: dataDir,
      PORT: String(listen),
      HOST,
      PUBLIC_URL: publicUrl,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_PER_MINUTE: String(1_000_000_000),
      WORKERS: 'none',
    });
    // The subscription records with known secrets, written before either process starts (as
    // test/ingest/receiver.test.ts seeds them), so the bench posts the notifications itself.
    const store = (await openStore({ dataDir, mongodbDatabase: 'unused' })) as SqliteStore;
    this.store = store;
    for (const payload of ['full-resource', 'id-only'] as const) {
      await updateRecord(
        store,
        TENANT,
        connections[payload],
        'MedicationAdministration',
        `${publicUrl}/ehr/${connections[payload].id}/notify`,
        (r) => ({
          ...r,
          ehrSubscriptionId: `sub-${payload}`,
          secretSha256: sha256Hex(SECRETS[payload]),
          status: 'active',
        }),
      );
    }
    await updateRecord(
      store,
      TENANT,
      connections['id-only'],
      'Encounter',
      `${publicUrl}/ehr/${connections['id-only'].id}/notify`,
      (r) => ({
        ...r,
        ehrSubscriptionId: 'sub-id-only-encounter',
        secretSha256: sha256Hex(ENCOUNTER_SECRET),
        status: 'active',
      }),
    );
    const profile = process.env['BENCH_CPU_PROF'];
    const profileArgs = (name: string): string[] =>
      profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
    const { child: receiverChild } = await startChild(
      'receiver',
      new URL('./ingest-node.ts', import.meta.url),
      ['receiver'],
      env(port),
      'LISTENING ',
      children,
      profileArgs('receiver'),
    );
    const { child: workerChild } = await startChild(
      'worker',
      new URL('./ingest-node.ts', import.meta.url),
      ['worker'],
      env(await freePort(HOST)),
      'LISTENING ',
      children,
      profileArgs('worker'),
      WORKER_NICENESS,
    );
    progress(
      `Dripline receiver (WORKERS=none) at ${publicUrl} and an ingest worker process (scheduler off), ` +
        `sharing SQLite in ${dir}`,
    );

    const pendingJobs = (): number =>
      Number(store.inboxConnection.get(PENDING_JOBS, INGEST_QUEUE, INGEST_QUEUE)?.['n'] ?? 0);
    const deadJobs = (): number =>
      Number(
        store.inboxConnection.get(
          "SELECT count(*) AS n FROM jobs WHERE queue = ? AND state = 'dead'",
          INGEST_QUEUE,
        )?.['n'] ?? 0,
      );
    let captureChildren: ChildProcess[] = [];
    return {
      ehrBaseUrl,
      ehrConnection: base,
      store,
      target: (payload, topic) =>
        topic === 'Encounter'
          ? {
              url: `${publicUrl}/ehr/${connections['id-only'].id}/notify`,
              secret: ENCOUNTER_SECRET,
              subscriptionUrl: `${ehrBaseUrl}/Subscription/sub-id-only-encounter`,
              fhirBaseUrl: ehrBaseUrl,
            }
          : {
              url: `${publicUrl}/ehr/${connections[payload].id}/notify`,
              secret: SECRETS[payload],
              subscriptionUrl: `${ehrBaseUrl}/Subscription/sub-${payload}`,
              fhirBaseUrl: ehrBaseUrl,
            },
      advanceEhr: (prefix, count, status) => advance(ehrChild.child, prefix, count, status),
      pendingJobs,
      deadJobs,
      pendingCaptureJobs: () =>
        Number(
          store.connection.get(PENDING_JOBS, ENCOUNTER_CHANGED_QUEUE, ENCOUNTER_CHANGED_QUEUE)?.['n'] ?? 0,
        ),
      chargeItems: () =>
        Number(
          store.connection.get("SELECT count(*) AS n FROM resources WHERE type = 'ChargeItem'")?.['n'] ?? 0,
        ),
      versionsWritten: () =>
        Number(
          store.connection.get(
            'SELECT (SELECT count(*) FROM resources) + (SELECT count(*) FROM history) AS n',
          )?.['n'] ?? 0,
        ),
      startCapture: async (processes) => {
        for (let i = 0; i < processes; i++) {
          const { child } = await startChild(
            i === 0 ? 'capture' : `capture-${String(i + 1)}`,
            new URL('./ingest-node.ts', import.meta.url),
            ['capture'],
            env(await freePort(HOST)),
            'LISTENING ',
            children,
            profileArgs(i === 0 ? 'capture' : `capture-${String(i + 1)}`),
            WORKER_NICENESS,
          );
          captureChildren.push(child);
        }
      },
      stopCapture: async () => {
        await Promise.all(captureChildren.map(stopProcess));
        captureChildren = [];
      },
      cpuSeconds: async () => {
        const [worker = 0, receiver = 0, ehr = 0, ...captures] = await Promise.all(
          [workerChild, receiverChild, ehrChild.child, ...captureChildren].map(cpuSeconds),
        );
        return { worker, receiver, ehr, capture: captures.reduce((sum, s) => sum + s, 0) };
      },
      pauseWorker: () => {
        workerChild.kill('SIGSTOP');
      },
      resumeWorker: () => {
        workerChild.kill('SIGCONT');
      },
    };
  }

  async stop(): Promise<void> {
    // Gracefully (so a --cpu-prof profile is written), then SIGKILL whatever is left.
    await Promise.all(this.children.map((child) => stopProcess(child)));
    await this.store?.close();
  }
}
