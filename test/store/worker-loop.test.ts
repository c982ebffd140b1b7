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
/** Due instants are 0.1–1 s away; the rest is room for a loaded machine. */
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

/**
 * A batch ran at or after `from` (and before `to`). A timer may fire a millisecond or two before
 * its instant by Date.now() (Node schedules from the event loop's cached time): the loop's batch
 * then finds nothing due and it sleeps the rest, so an extra early batch is allowed.
 */
const ranBetween = (batches: readonly number[], from: Date, to = Infinity): boolean =>
  batches.some((at) => at >= from.getTime() && at < to);

test('a sleeping loop wakes at each instant it was told work becomes due, in order', async () => {
  const { loop, batches } = idleLoop();
  loop.start();
  try {
    await waitFor('the first batch', () => batches.length === 1);
    const later = inMs(1_000);
    const sooner = inMs(100);
    loop.notify(later);
    loop.notify(sooner);
    await waitFor('a batch at the later instant', () => ranBetween(batches, later), DEADLINE_MS);
    expect(ranBetween(batches, sooner, later.getTime())).toBe(true);
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
    await waitFor('a batch at the sooner instant', () => ranBetween(batches, soon), DEADLINE_MS);
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

test("an idle loop listens for other processes' commits and wakes on one; a busy one stops listening", async () => {
  const batches: number[] = [];
  let work = 0;
  const listeners = new Set<() => void>();
  let subscriptions = 0;
  const loop = new WorkerLoop({
    runOnce: () => {
      batches.push(Date.now());
      if (work > 0) {
        work--;
        return Promise.resolve(1);
      }
      return Promise.resolve(0);
    },
    onError: (err) => {
      throw err;
    },
    pollMs: POLL_MS,
    watchCommits: (listener) => {
      subscriptions++;
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
  loop.start();
  try {
    // The empty first batch, then listening, then one more look (a commit in between is not missed).
    await waitFor(
      'listening after an empty batch and a second look',
      () => listeners.size === 1 && batches.length === 2,
    );
    // Another process commits: the sleeping loop runs a batch at once, not at its 60 s poll.
    work = 1;
    for (const listener of listeners) {
      listener();
    }
    await waitFor('a batch woken by the commit', () => work === 0, DEADLINE_MS);
    // That batch found work: the loop stopped listening; idle again, it listens anew.
    await waitFor(
      'listening again once idle',
      () => subscriptions === 2 && listeners.size === 1,
      DEADLINE_MS,
    );
  } finally {
    await loop.stop();
  }
  expect(listeners.size).toBe(0);
});
