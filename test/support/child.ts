/**
 * Child processes of tests, and Dripline in a child process as `npm start` runs it (the kill -9
 * proofs): started with an environment, ready once it prints `LISTENING <url>`, killable with
 * SIGKILL and restartable on the same port and data.
 *
 * Every child started here is ended after its test file whatever happened (a failed assertion, a
 * timeout, a throw in beforeAll): SIGKILL, then its pipes are destroyed, so neither the process
 * nor an open pipe outlives the file and keeps Jest waiting. Tests still stop their children
 * themselves when they are done with them (`stopChild`); this is the net under that.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll } from '@jest/globals';
import { clockEnv } from './clock.ts';

export interface DriplineChild {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Children started through this module that have not been seen to exit. */
const live = new Set<ChildProcess>();

afterAll(async () => {
  await Promise.all([...live].map((child) => stopChild(child)));
});

/** `promise`, or `onTimeout()` after `ms`; the timer never outlives the race. */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => T | Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      Promise.resolve().then(onTimeout).then(resolve, reject);
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `script` on this Node (the project's Node 24) with `args`, its stdout and stderr piped (and
 * stdin when `stdin` is set). The child is tracked: stopped after the test file at the latest. A
 * given environment gets the run's NODE_COMPILE_CACHE (test/support/global-setup.ts) added: a
 * Node runtime knob, not Dripline configuration, so the child behaves the same, only starts faster.
 */
export function spawnChild(
  script: string,
  args: readonly string[] = [],
  options: { env?: NodeJS.ProcessEnv; stdin?: boolean } = {},
): ChildProcess {
  const child = spawn(process.execPath, ['--no-warnings', script, ...args], {
    ...(options.env ? { env: { ...compileCacheEnv(), ...options.env } } : {}),
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** NODE_COMPILE_CACHE of this run, for children started with an environment of their own. */
export function compileCacheEnv(): NodeJS.ProcessEnv {
  const directory = process.env['NODE_COMPILE_CACHE'];
  return directory === undefined ? {} : { NODE_COMPILE_CACHE: directory };
}

/** Whether the child is still running (no exit code and no signal seen yet). */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * SIGKILLs the child unless it already exited, waits (up to `ms`) for it to go, and destroys its
 * pipes so that nothing of it keeps the test process alive. Safe to call more than once.
 */
export async function stopChild(child: ChildProcess, ms = 10_000): Promise<void> {
  if (isRunning(child)) {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await within(gone, ms, () => undefined);
  }
  child.stdin?.destroy();
  child.stdout?.destroy();
  child.stderr?.destroy();
  live.delete(child);
}

/**
 * How long a Dripline child may take to listen. A deadline, not a wait: a healthy start takes a
 * few seconds, but loading the FHIR definitions alone takes over 10 s on two cores shared with
 * other test workers, and a 20 s deadline failed the kill -9 proofs there.
 */
export const CHILD_START_MS = 60_000;

/**
 * The environment a Dripline child runs from (as `npm start` reads it): its configuration file and
 * data folder, listening on 127.0.0.1:`port` and naming that as its public URL, logging warnings,
 * with no practical rate limit (the tests send bursts from one address). Tests add their knobs.
 */
export function driplineChildEnv(options: {
  readonly configFile: string;
  readonly dataDir: string;
  readonly port: number;
}): Record<string, string> {
  return {
    DRIPLINE_CONFIG: options.configFile,
    DATA_DIR: options.dataDir,
    PORT: String(options.port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${options.port}`,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '10000000',
  };
}

/**
 * Starts `script` (a Dripline entry printing `LISTENING <url>`) and waits until it listens (up to
 * `startMs`). The child runs on the test run's clock (test/support/clock.ts) unless `env` says
 * otherwise.
 */
export async function startDriplineChild(
  script: string,
  env: Record<string, string>,
  startMs = CHILD_START_MS,
): Promise<DriplineChild> {
  return untilListening(spawnDripline(script, env, false), startMs);
}

/** A Dripline child spawned ahead of need, holding before it reads its configuration. */
export interface HeldDriplineChild {
  /** Lets it go on (configuration, store, port) and waits until it listens (up to `startMs`). */
  start(startMs?: number): Promise<DriplineChild>;
  /** What it wrote to stderr so far (the last 20,000 characters). */
  stderr(): string;
}

/**
 * Spawns `script` with DRIPLINE_HELD_START=1: a script that honours it (test/ingest/kill9-server.ts)
 * loads its modules, then waits for a line on stdin before it reads its configuration, opens its
 * store or takes its port. Loading the modules is most of a start, so a test can have it done while
 * it does something else (writes the configuration file, inspects the store a killed child left).
 */
export function spawnHeldDriplineChild(script: string, env: Record<string, string>): HeldDriplineChild {
  const spawned = spawnDripline(script, { ...env, DRIPLINE_HELD_START: '1' }, true);
  return {
    start(startMs = CHILD_START_MS) {
      spawned.process.stdin?.end('start\n');
      return untilListening(spawned, startMs);
    },
    stderr: () => spawned.stderr(),
  };
}

function spawnDripline(script: string, env: Record<string, string>, stdin: boolean): DriplineChild {
  const child = spawnChild(script, [], {
    env: { PATH: process.env['PATH'] ?? '', ...clockEnv(), ...env },
    stdin,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { process: child, exited, stderr: () => stderr };
}

async function untilListening(spawned: DriplineChild, startMs: number): Promise<DriplineChild> {
  const { process: child, exited } = spawned;
  // Set when the deadline passed: the kill that follows must not be reported as a crash.
  let late = false;
  const tooLate = (): Error => new Error(`Dripline did not start within ${startMs} ms: ${spawned.stderr()}`);
  const listening = new Promise<void>((resolve, reject) => {
    if (!child.stdout) {
      reject(new Error('no stdout pipe'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('LISTENING ')) {
        resolve();
      }
    });
    void exited.then(({ code, signal }) =>
      reject(
        late
          ? tooLate()
          : new Error(`Dripline exited before listening (${String(code ?? signal)}): ${spawned.stderr()}`),
      ),
    );
  });
  await within(listening, startMs, async () => {
    late = true;
    await stopChild(child);
    throw tooLate();
  });
  return spawned;
}

/** What a finished CLI run printed, and its exit code. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/**
 * `npm run cli -- <args>` as a person runs it: Dripline's CLI in a child process with `env`,
 * waited for (a CLI that hangs past `ms` fails the test rather than outliving it) and stopped.
 */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv, ms = 60_000): Promise<CliRun> {
  const child = spawnChild(CLI_MAIN, args, { env });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  try {
    const code = await within(
      new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
      ms,
      () => {
        throw new Error(`cli ${args[0] ?? ''} did not finish within ${ms} ms: ${stderr}`);
      },
    );
    return { code, stdout, stderr };
  } finally {
    await stopChild(child);
  }
}
