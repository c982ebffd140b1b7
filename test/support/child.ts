/**
 * Dripline in a child process, as `npm start` runs it, for the kill -9 proofs: started with an
 * environment, ready once it prints `LISTENING <url>`, killable with SIGKILL and restartable on the
 * same port and data.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface DriplineChild {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

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

/** Starts `script` (a Dripline entry printing `LISTENING <url>`) and waits until it listens. */
export async function startDriplineChild(
  script: string,
  env: Record<string, string>,
): Promise<DriplineChild> {
  const child = spawn(process.execPath, ['--no-warnings', script], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const listening = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('LISTENING ')) {
        resolve();
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`Dripline exited before listening (${String(code ?? signal)}): ${stderr}`)),
    );
  });
  await within(listening, 20_000, () => {
    child.kill('SIGKILL');
    throw new Error(`Dripline did not start within 20 s: ${stderr}`);
  });
  return { process: child, exited, stderr: () => stderr };
}
