/**
 * Jest's global teardown (jest.config.js): ends the compile cache warm-up child of the global setup
 * (./global-setup.ts) if it is still running, so that no process of the run outlives it. Killed, it
 * writes nothing; the next run warms the cache again.
 */
import type { ChildProcess } from 'node:child_process';
import { WARM_UP_CHILD } from './global-setup.ts';

export default function globalTeardown(): void {
  const warmUp = (globalThis as Record<symbol, unknown>)[WARM_UP_CHILD] as ChildProcess | undefined;
  if (warmUp !== undefined && warmUp.exitCode === null && warmUp.signalCode === null) {
    warmUp.kill('SIGKILL');
  }
}
