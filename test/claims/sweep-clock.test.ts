/**
 * The claim sweep's interval is measured on the injected clock, the worker counts the sweeps it
 * has finished, and a sweep can be asked for (`sweepNow`): the sandbox day (scripts/sandbox-day.ts),
 * once its queues are idle, moves its clock by the interval and asks for the next sweep instead of
 * sleeping through it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { DEFAULT_SWEEP_MS } from '../../src/claims/workflow/context.ts';
import type { ClaimWorkflowWorker } from '../../src/claims/workflow/worker.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { advancingClock } from '../../src/time/clock.ts';
import { officeTenant, sweepWorker } from './sweep-worker.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-sweep-clock-'));
let store: SqliteStore;
/** Workers whose loop a test started: stopped after the file even when a test timed out. */
const looping: ClaimWorkflowWorker[] = [];

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
});
afterAll(async () => {
  await Promise.all(looping.map((worker) => worker.stop().catch(() => undefined)));
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

test('a sweep asked for (sweepNow) runs at the next turn although the interval is not due, and answers once it has finished', async () => {
  // A clock that never moves: the interval is never due again after the first sweep.
  const at = new Date('2026-03-02T15:00:00Z');
  const worker = sweepWorker(store, officeTenant('clinic'), () => at);
  await worker.runOnce();
  await worker.runOnce();
  expect(worker.sweeps).toBe(1);
  let answered = false;
  const swept = worker.sweepNow().then(() => {
    answered = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  expect(answered).toBe(false); // not before the loop's turn
  await worker.runOnce();
  await swept;
  expect(worker.sweeps).toBe(2);
  // Asked once, swept once: the turn after is the interval's again.
  await worker.runOnce();
  expect(worker.sweeps).toBe(2);
});

test('sweepNow through the running loop; a failed sweep rejects it, and so does a stop before the sweep', async () => {
  const at = new Date('2026-03-02T15:00:00Z');
  const running = sweepWorker(store, officeTenant('clinic'), () => at);
  looping.push(running);
  running.start();
  await running.sweepNow();
  await running.sweepNow();
  expect(running.sweeps).toBeGreaterThanOrEqual(2);
  await running.stop();

  // A store whose job listing fails: the sweep asked for fails, and says so to whoever asked.
  const failingJobs = new Proxy(store.jobs, {
    get: (target, key) =>
      key === 'listJobs' ? () => Promise.reject(new Error('the store is gone')) : Reflect.get(target, key),
  });
  const failing = new Proxy(store, {
    get: (target, key) => (key === 'jobs' ? failingJobs : Reflect.get(target, key)),
  });
  const broken = sweepWorker(failing, officeTenant('clinic'), () => at);
  const asked = broken.sweepNow();
  await expect(broken.runOnce()).rejects.toThrow('the store is gone');
  await expect(asked).rejects.toThrow('the store is gone');

  // Never started: stopping answers the caller instead of leaving it waiting.
  const idle = sweepWorker(store, officeTenant('clinic'), () => at);
  const unanswered = idle.sweepNow();
  await idle.stop();
  await expect(unanswered).rejects.toThrow(/stopped before the sweep/);
});
