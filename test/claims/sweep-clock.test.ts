/**
 * The claim sweep's interval is measured on the injected clock, and the worker counts the sweeps
 * it has finished: the sandbox day (scripts/sandbox-day.ts), once its queues are idle, moves its
 * clock by the interval and waits for the next sweep instead of sleeping through it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { DEFAULT_SWEEP_MS } from '../../src/claims/workflow/context.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { advancingClock } from '../../src/time/clock.ts';
import { officeTenant, sweepWorker } from './sweep-worker.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-sweep-clock-'));
let store: SqliteStore;

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a sweep is due when the sweep interval has passed on the injected clock, and each finished sweep is counted', async () => {
  const clock = advancingClock();
  const worker = sweepWorker(store, officeTenant('clinic'), clock.now);
  expect(worker.sweeps).toBe(0);
  await worker.runOnce();
  expect(worker.sweeps).toBe(1);
  // Far less than the interval has passed on the clock: no sweep.
  await worker.runOnce();
  expect(worker.sweeps).toBe(1);
  clock.advance(DEFAULT_SWEEP_MS);
  await worker.runOnce();
  expect(worker.sweeps).toBe(2);
});
