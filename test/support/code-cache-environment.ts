/**
 * Jest's test environment (jest.config.js): Node's, with V8 code caches kept across the test files
 * a jest worker runs (test/support/code-cache.ts). Installed once per worker process.
 */
import { TestEnvironment } from 'jest-environment-node';
import vm from 'node:vm';
import { installCodeCaches } from './code-cache.ts';

const installed = Symbol.for('dripline.test.codeCaches');
const host = globalThis as { [installed]?: boolean };
if (host[installed] !== true) {
  host[installed] = true;
  installCodeCaches(vm);
}

export default TestEnvironment;
