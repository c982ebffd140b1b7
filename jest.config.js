// Native ESM Jest: sources are TypeScript run through @swc/jest (no type-check here; `npm run typecheck` does that).
export default {
  // Node's environment, with V8 code caches kept across the files a worker runs
  // (test/support/code-cache.ts): jest compiles every module again for every test file.
  testEnvironment: '<rootDir>/test/support/code-cache-environment.ts',
  // Jest's runtime, with module sources read once per worker (test/support/shared-sources.ts).
  runtime: '<rootDir>/test/support/jest-runtime.ts',
  roots: ['<rootDir>/test', '<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
        // Source maps beside the code, not inlined in it (@swc/jest's default): jest keeps a
        // module's map in its cache either way and maps stack traces from there, and V8 takes
        // about twice as long to make a module from the code with its base64 map attached —
        // every module, in every test file.
        sourceMaps: true,
      },
    ],
  },
  // Every test file imports describe, expect, jest… from @jest/globals (the types have no globals):
  // nothing is put on the global object, nor a `jest` object made for each CommonJS module loaded.
  injectGlobals: false,
  testTimeout: 30000,
  // Node's compile cache for the Node processes the tests start (test/support/global-setup.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Two test files at once on a two-core machine: the files start their servers and child
  // processes on ephemeral ports with their own temp folders, so they don't interfere; the
  // deadlines of the process-heavy files allow for the shared cores (test/support/child.ts).
  maxWorkers: 2,
  testEnvironmentOptions: { globalsCleanup: 'on' },
};
