/**
 * Jest's global setup (jest.config.js), run once before the workers start: Node's module compile
 * cache (https://nodejs.org/api/module.html#module-compile-cache) for every Node process the tests
 * start. The suite starts a few hundred: Dripline and the sandboxes as `npm start` runs them, the
 * CLI as a user runs it. Each one type-strips and compiles the same ~400 TypeScript modules, about
 * a CPU-second; with the cache the second and later starts reuse the stripped, compiled code
 * (test/support/child.test.ts measures that the children have it). The workers and their children
 * inherit NODE_COMPILE_CACHE from this process; Node checks each entry against the module's
 * source, so an edited file is compiled afresh.
 */
import { enableCompileCache } from 'node:module';

export default function globalSetup(): void {
  const { directory } = enableCompileCache();
  if (directory !== undefined && process.env['NODE_COMPILE_CACHE'] === undefined) {
    process.env['NODE_COMPILE_CACHE'] = directory;
  }
}
