/**
 * The worker loop's wake: besides `notify()` (work due now) and its poll, it sleeps no longer than
 * the earliest instant it was told work becomes due (`notify(dueAt)`: a retry's backoff, a job
 * enqueued to run later), and remembers the later instants for after it. The poll here is 60 s, so
 * every batch before a deadline below was woken by a due instant.
 */
import { expect, test } from '@jest/globals';
import { WorkerLoop } from '../../src/store/worker-loop.ts';
import { waitFor } from '../support/wait.ts';

const POLL_MS = 60_000;
/** Due instants are 0.1–0.3 s away; the rest is room for a loaded machine. */
const DEADLINE_MS = 5_000;

/** A loop whose batches find nothing, recording when each ran (ms, system clock). */
function idleLoop(): { loop: WorkerLoop; batches: number[] } {
  const batches: number[] = [];
  const loop = new WorkerLoop({
    runOnce: () => {
      batches.push(Date.now());
      return Promise.resolve(0);
    },
    onError: (err) => {
      throw err;
    },
    pollMs: POLL_MS,
  });
  return { loop, batches };
}

const inMs = (ms: number): Date => new Date(Date.now() + ms);

test('a sleeping loop wakes at each instant it was told work becomes due, in order', async () => {
  const { loop, batches } = idleLoop();
  loop.start();
  try {
    await waitFor('the first batch', () => batches.length === 1);
    const later = inMs(300);
    const sooner = inMs(100);
    loop.notify(later);
    loop.notify(sooner);
    await waitFor('a batch at each due instant', () => batches.length >= 3, DEADLINE_MS);
    expect(batches[1]).toBeGreaterThanOrEqual(sooner.getTime());
    expect(batches[2]).toBeGreaterThanOrEqual(later.getTime());
  } finally {
    await loop.stop();
  }
});

test('an instant told while the loop waits for a later one brings its wake forward', async () => {
  const { loop, batches } = idleLoop();
  loop.start();
  try {
    await waitFor('the first batch', () => batches.length === 1);
    loop.notify(inMs(30_000));
    const soon = inMs(100);
    loop.notify(soon);
    await waitFor('a batch at the sooner instant', () => batches.length >= 2, DEADLINE_MS);
    expect(batches[1]).toBeGreaterThanOrEqual(soon.getTime());
  } finally {
    await loop.stop();
  }
});

test('an instant already past wakes the loop at once, as a plain notify does', async () => {
  const { loop, batches } = idleLoop();
  loop.start();
  try {
    await waitFor('the first batch', () => batches.length === 1);
    loop.notify(inMs(-1_000));
    await waitFor('a batch at once', () => batches.length >= 2, DEADLINE_MS);
  } finally {
    await loop.stop();
  }
});
