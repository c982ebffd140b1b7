// Native ESM Jest: sources are TypeScript run through @swc/jest (no type-check here; `npm run typecheck` does that).
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
    ],
  },
  testTimeout: 30000,
  testEnvironmentOptions: { globalsCleanup: 'on' },
};
