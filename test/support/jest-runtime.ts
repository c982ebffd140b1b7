/**
 * Jest's runtime (jest.config.js `runtime`, https://jestjs.io/docs/configuration#runtime-string):
 * jest's own, with module sources kept across the test files a worker runs
 * (test/support/shared-sources.ts) instead of read from disk again for each file. Jest's runner
 * loads this with require(): the class is the module's `module.exports`.
 */
import type jestRuntimeExports from 'jest-runtime';
import { createRequire } from 'node:module';
import { SharedSourceMap, SharedSources } from './shared-sources.ts';

// The class jest's runner would use, from jest-runtime's CommonJS entry: its types describe that
// entry's `module.exports` (the ES entry re-exports the same class under other types).
const { default: Runtime } = createRequire(import.meta.url)('jest-runtime') as typeof jestRuntimeExports;

/** One per worker: the runner loads this module once per process. */
const sources = new SharedSources();

class SharedSourcesRuntime extends Runtime {
  constructor(...args: ConstructorParameters<typeof Runtime>) {
    // The fifth argument is the test file's file cache (jest's `cacheFS`).
    args[4] = new SharedSourceMap(sources, args[4]);
    super(...args);
  }
}

export { SharedSourcesRuntime as 'module.exports' };
