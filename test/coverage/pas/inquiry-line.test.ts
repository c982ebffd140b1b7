/**
 * What a pend or an ask costs a case whose inquiry rounds ran for months: its next round is found
 * from the line's latest, not by trying every round the case ever had (two store calls each), and
 * the line's rules hold — at most one round ready or leased, an ask after a dead round makes a new
 * one, a round never reuses a number. The case's rounds are made through the job store's API; the
 * follow-up is given a store that counts the calls made on it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import type { FollowUpContext } from '../../../src/coverage/pas/follow-up.ts';
import { followUp } from '../../../src/coverage/pas/follow-up.ts';
import { enqueueInLine } from '../../../src/coverage/pas/jobs.ts';
import { PRIOR_AUTH_QUEUE } from '../../../src/coverage/pas/records.ts';
import { createLogger } from '../../../src/logger.ts';
import type { Job, Store } from '../../../src/store/port.ts';
import { openSqliteStore } from '../../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { overriding } from '../../../src/store/view.ts';

const TENANT = 't';
const CASE = 'case-1';
const INQUIRE_MINUTES = 240;
/** Rounds a case pended for about a month at 240 minutes a round has used. */
const USED = 200;
/** The most store calls a pend or an ask may make, however many rounds the case has used. */
const MOST_CALLS = 4;
const NOW = new Date('2026-12-06T15:00:00Z');
const MINUTE = 60_000;

const payer: PayerEndpoint = {
  id: 'buckeye',
  name: 'Buckeye Health Plan',
  payerId: 'BKY01',
  kind: 'commercial',
  channel: 'fhir',
  fhirBaseUrl: 'http://payer.test/fhir',
  timelyFilingDays: 90,
  pas: {
    fhirBaseUrl: 'http://payer.test/pas',
    subscription: 'off',
    inquireMinutes: INQUIRE_MINUTES,
    courseDays: 180,
  },
};

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-inquiry-line-'));
let store: SqliteStore;
let stores = 0;
/** The store calls made through `counted` since the last `calls.length = 0`. */
const calls: string[] = [];
let counted: Store;

/** `target` with each method call recorded in `calls` as `{name}.{method}`. */
function countingView<T extends object>(target: T, name: string): T {
  return new Proxy(target, {
    get(object, prop) {
      const value: unknown = Reflect.get(object, prop);
      if (typeof value !== 'function') {
        return value;
      }
      return (...args: unknown[]): unknown => {
        calls.push(`${name}.${String(prop)}`);
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

beforeEach(async () => {
  store = await openSqliteStore({ path: path.join(dir, `store-${++stores}.db`), now: () => NOW });
  counted = overriding<Store>(store, {
    jobs: countingView(store.jobs, 'jobs'),
    resources: countingView(store.resources, 'resources'),
  });
  calls.length = 0;
});
afterEach(async () => {
  await store.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const unused = (): never => {
  throw new Error('not used by a follow-up');
};

const ctx = (): FollowUpContext => ({
  store: counted,
  publicUrl: 'http://dripline.test',
  now: () => NOW,
  logger: createLogger('silent'),
  tenant: unused,
  port: unused,
  answers: unused,
});

const roundKey = (round: number): string => `inquire|${CASE}|${round}`;

/**
 * The case's rounds 1..count as they end up after months pended: each inquired and finished (done),
 * the last dead (the payer unavailable through its attempts).
 */
async function usedRounds(count: number): Promise<void> {
  for (let round = 1; round <= count; round++) {
    await store.jobs.enqueue(TENANT, {
      queue: PRIOR_AUTH_QUEUE,
      key: roundKey(round),
      payload: { kind: 'inquire', caseId: CASE, round },
      runAt: new Date(NOW.getTime() - MINUTE).toISOString(),
    });
  }
  const leased = await store.jobs.lease({ queue: PRIOR_AUTH_QUEUE, leaseMs: MINUTE, limit: count, now: NOW });
  expect(leased).toHaveLength(count);
  const last = leased.find((job) => job.key === roundKey(count))!;
  const finished = leased.filter((job) => job !== last);
  expect(await store.jobs.ackMany(finished.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken! })))).toBe(
    count - 1,
  );
  expect(
    await store.jobs.fail(last.id, last.leaseToken!, {
      error: 'payer unavailable',
      retryable: false,
      now: NOW,
    }),
  ).toBe(true);
  calls.length = 0;
}

/** The case's rounds still to run (ready or leased). */
async function roundsToRun(): Promise<Job[]> {
  const jobs = [
    ...(await store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, 'ready', 1000)),
    ...(await store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, 'leased', 1000)),
  ];
  return jobs.filter((job) => job.key.startsWith(`inquire|${CASE}|`));
}

describe('a case pended for months', () => {
  test("a person's ask queues the next round, due now, in a few store calls", async () => {
    await usedRounds(USED);
    expect(await followUp(ctx(), TENANT, payer, CASE, { asked: true, person: true })).toBe(true);
    const [round, ...more] = await roundsToRun();
    expect(more).toEqual([]);
    expect(round).toMatchObject({
      key: roundKey(USED + 1),
      payload: { kind: 'inquire', caseId: CASE, round: USED + 1 },
      runAt: NOW.toISOString(),
      state: 'ready',
    });
    expect(calls.length).toBeLessThanOrEqual(MOST_CALLS);
  });

  test('a new pend queues the next round inquireMinutes on; a second pend or ask adds none, the ask makes it due', async () => {
    await usedRounds(USED);
    expect(await followUp(ctx(), TENANT, payer, CASE, { pendedAt: NOW })).toBe(true);
    const due = new Date(NOW.getTime() + INQUIRE_MINUTES * MINUTE).toISOString();
    expect((await roundsToRun()).map((j) => [j.key, j.runAt])).toEqual([[roundKey(USED + 1), due]]);
    expect(calls.length).toBeLessThanOrEqual(MOST_CALLS);

    calls.length = 0;
    expect(await followUp(ctx(), TENANT, payer, CASE, { pendedAt: NOW })).toBe(false);
    expect(await followUp(ctx(), TENANT, payer, CASE, { asked: true })).toBe(false);
    expect(calls.length).toBeLessThanOrEqual(2 * MOST_CALLS);
    expect((await roundsToRun()).map((j) => [j.key, j.runAt])).toEqual([[roundKey(USED + 1), due]]);

    calls.length = 0;
    expect(await followUp(ctx(), TENANT, payer, CASE, { asked: true, person: true })).toBe(true);
    expect(calls.length).toBeLessThanOrEqual(MOST_CALLS + 1);
    expect((await roundsToRun()).map((j) => [j.key, j.runAt])).toEqual([
      [roundKey(USED + 1), NOW.toISOString()],
    ]);
  });

  test('a round in flight queues its successor; a pend meanwhile adds none; after a dead round an ask makes a new one', async () => {
    await usedRounds(USED);
    await followUp(ctx(), TENANT, payer, CASE, { asked: true });
    const [inFlight] = await store.jobs.lease({
      queue: PRIOR_AUTH_QUEUE,
      leaseMs: MINUTE,
      limit: 10,
      now: NOW,
    });
    expect(inFlight?.key).toBe(roundKey(USED + 1));

    // A Claim Update pended while the round is in flight: the round in flight is the case's.
    calls.length = 0;
    expect(await followUp(ctx(), TENANT, payer, CASE, { pendedAt: NOW })).toBe(false);
    expect(calls.length).toBeLessThanOrEqual(MOST_CALLS);

    // The round, answered "still pended", queues the next.
    calls.length = 0;
    expect(await followUp(ctx(), TENANT, payer, CASE, { after: USED + 1, pendedAt: NOW })).toBe(true);
    expect(calls.length).toBeLessThanOrEqual(MOST_CALLS);
    expect(await store.jobs.ack(inFlight!.id, inFlight!.leaseToken!)).toBe(true);
    const next = await roundsToRun();
    expect(next.map((j) => j.key)).toEqual([roundKey(USED + 2)]);

    // That one dies (the payer unavailable): an ask makes a new round, never reusing a number.
    const [dying] = await store.jobs.lease({
      queue: PRIOR_AUTH_QUEUE,
      leaseMs: MINUTE,
      limit: 10,
      now: new Date(next[0]!.runAt),
    });
    await store.jobs.fail(dying!.id, dying!.leaseToken!, { error: 'down', retryable: false, now: NOW });
    expect(await roundsToRun()).toEqual([]);
    calls.length = 0;
    expect(await followUp(ctx(), TENANT, payer, CASE, { asked: true, person: true })).toBe(true);
    expect(calls.length).toBeLessThanOrEqual(MOST_CALLS);
    expect((await roundsToRun()).map((j) => j.key)).toEqual([roundKey(USED + 3)]);
  });
});

describe('a line of one key (a send, a subscribe)', () => {
  const KEY = 'send|case-2-1';
  const send = { kind: 'send', caseId: 'case-2', claim: 'case-2-1', document: 'doc' } as const;

  test('after many dead sends an ask makes the next in a few calls; while it is queued, none', async () => {
    // Sends 1..40 of the kept request, each dead (the payer unavailable through its attempts).
    for (let n = 1; n <= 40; n++) {
      expect(await enqueueInLine(counted, TENANT, KEY, send)).toBe(true);
      const [job] = await store.jobs.lease({ queue: PRIOR_AUTH_QUEUE, leaseMs: MINUTE, limit: 1, now: NOW });
      expect(job?.key).toBe(n === 1 ? KEY : `${KEY}|${n}`);
      await store.jobs.fail(job!.id, job!.leaseToken!, { error: 'down', retryable: false, now: NOW });
    }
    calls.length = 0;
    expect(await enqueueInLine(counted, TENANT, KEY, send)).toBe(true);
    expect(calls.length).toBeLessThanOrEqual(MOST_CALLS);
    calls.length = 0;
    expect(await enqueueInLine(counted, TENANT, KEY, send)).toBe(false);
    expect(calls.length).toBeLessThanOrEqual(MOST_CALLS);
    const queued = await store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, 'ready', 10);
    expect(queued.map((j) => j.key)).toEqual([`${KEY}|41`]);
  });
});
