/**
 * Jest's global setup (jest.config.js), run once before the workers start: Node's module compile
 * cache (https://nodejs.org/api/module.html#module-compile-cache) for every Node process the tests
 * start. The suite starts a few hundred: Dripline and the sandboxes as `npm start` runs them, the
 * CLI as a user runs it. Each one type-strips and compiles the same ~400 TypeScript modules, about
 * a CPU-second; with the cache the second and later starts reuse the stripped, compiled code
 * (test/support/child.test.ts measures that the children have it). The workers and their children
 * inherit NODE_COMPILE_CACHE from this process; Node checks each entry against the module's
 * source, so an edited file is compiled afresh.
 *
 * Node writes the cache only when a process exits, and the tests kill their server children: a
 * child of this setup fills it with every server-side module (./warm-compile-cache.ts) beside the
 * first test files rather than before them (a second or two of wall time that a one-file run
 * should not wait for); the global teardown ends it if the run was shorter than it.
 */
import { spawn } from 'node:child_process';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where the teardown (./global-teardown.ts, same process) finds the warm-up child. */
export const WARM_UP_CHILD = Symbol.for('dripline.test.compileCacheWarmUp');

export default function globalSetup(): void {
  const { directory } = enableCompileCache();
  if (directory !== undefined && process.env['NODE_COMPILE_CACHE'] === undefined) {
    process.env['NODE_COMPILE_CACHE'] = directory;
  }
  const cache = process.env['NODE_COMPILE_CACHE'];
  if (cache === undefined) {
    return;
  }
  const warmUp = spawn(
    process.execPath,
    ['--no-warnings', fileURLToPath(new URL('./warm-compile-cache.ts', import.meta.url))],
    { env: { PATH: process.env['PATH'] ?? '', NODE_COMPILE_CACHE: cache }, stdio: 'ignore' },
  );
  // A cache that stays cold only costs time; never keep Jest waiting for it.
  warmUp.on('error', () => undefined);
  warmUp.unref();
  (globalThis as Record<symbol, unknown>)[WARM_UP_CHILD] = warmUp;
}
