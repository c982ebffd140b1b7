/** The store contract (./contract.ts): the job queue: listing, deferring, waking, run times, lease order, the inbox, purging, numbered keys. */
import { describe, expect } from '@jest/globals';
import type { Job, TenantId } from '../../src/store/port.ts';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import type { ContractTest } from './contract-support.ts';
import { newTenant, newQueue, past, future, sleep } from './contract-support.ts';

export function describeJobSchedulingContract(it: ContractTest): void {
  describe('job queue: scheduling', () => {
    it('listJobs with createdSince gives only the jobs created at or after it, oldest first', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const early = await store.jobs.enqueue(tenant, { queue, key: 'early', payload: 1 });
      const createdEarly = (await store.jobs.getJob(early.jobId))!.createdAt;
      await sleep(2); // distinct createdAt
      const late = await store.jobs.enqueue(tenant, { queue, key: 'late', payload: 2 });
      const createdLate = (await store.jobs.getJob(late.jobId))!.createdAt;
      expect(createdLate > createdEarly).toBe(true);
      const ids = async (createdSince: string, limit = 10): Promise<string[]> =>
        (await store.jobs.listJobs(tenant, queue, 'ready', limit, { createdSince })).map((j) => j.id);
      expect(await ids(createdEarly)).toEqual([early.jobId, late.jobId]);
      expect(await ids(createdLate)).toEqual([late.jobId]);
      // The limit counts from the bound, not from the queue's oldest job.
      expect(await ids(createdEarly, 1)).toEqual([early.jobId]);
      expect(await ids(new Date(Date.parse(createdLate) + 1).toISOString())).toEqual([]);
      // Another tenant's jobs are not listed however recent.
      expect(
        (await store.jobs.listJobs(newTenant(), queue, 'ready', 10, { createdSince: createdEarly })).length,
      ).toBe(0);
      await expect(
        store.jobs.listJobs(tenant, queue, 'ready', 10, { createdSince: 'yesterday' }),
      ).rejects.toMatchObject({
        outcome: { issue: [{ code: 'invalid' }] },
      });
    });

    it('defer puts a leased job back at runAt without spending an attempt; a stale lease cannot', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'waits',
        payload: null,
        runAt: past(),
        maxAttempts: 2,
      });
      let now = new Date();
      // Waiting ten times, more than its attempts allow, never dead-letters it.
      for (let i = 0; i < 10; i++) {
        const [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
        expect(job).toMatchObject({ id: jobId, attempts: 1 });
        const runAt = new Date(now.getTime() + 1000).toISOString();
        const wait = { runAt, reason: `waiting ${i}`, now };
        expect(await store.jobs.defer(jobId, 'not-the-lease', wait)).toBe(false);
        expect(await store.jobs.defer(jobId, job!.leaseToken!, wait)).toBe(true);
        expect(await store.jobs.defer(jobId, job!.leaseToken!, wait)).toBe(false);
        const waiting = await store.jobs.getJob(jobId);
        expect(waiting).toMatchObject({ state: 'ready', attempts: 0, runAt, lastError: `waiting ${i}` });
        expect(waiting?.leaseToken).toBeUndefined();
        expect(
          await store.jobs.lease({
            queue,
            leaseMs: 60_000,
            limit: 1,
            now: new Date(Date.parse(runAt) - 1),
          }),
        ).toEqual([]);
        now = new Date(runAt);
      }
      // Its two attempts are all still there: two failures dead-letter it, not one.
      let [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
      await store.jobs.fail(jobId, job!.leaseToken!, { error: 'first', retryable: true, now });
      expect((await store.jobs.getJob(jobId))?.state).toBe('ready');
      now = future(3_600_000);
      [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
      expect(job?.attempts).toBe(2);
      await store.jobs.fail(jobId, job!.leaseToken!, { error: 'second', retryable: true, now });
      expect(await store.jobs.getJob(jobId)).toMatchObject({ state: 'dead', attempts: 2 });
      // Nor can a finished job be deferred.
      expect(await store.jobs.defer(jobId, job!.leaseToken!, { runAt: past(), reason: 'late', now })).toBe(
        false,
      );
      expect((await store.jobs.getJob(jobId))?.state).toBe('dead');
    });

    it('wake makes due the ready jobs deferred on its key, in its tenant and queue only; leased, done and retrying jobs keep theirs', async (store) => {
      const tenant = newTenant();
      const otherTenant = newTenant();
      const queue = newQueue();
      const otherQueue = newQueue();
      const now = new Date();
      const later = new Date(now.getTime() + 60_000).toISOString();
      const soon = new Date(now.getTime() + 1_000);
      const leased = async (t: TenantId, q: string, key: string): Promise<Job> => {
        const { jobId } = await store.jobs.enqueue(t, { queue: q, key, payload: { key }, runAt: past() });
        const [job] = await store.jobs.lease({ queue: q, leaseMs: 60_000, limit: 1, now });
        expect(job?.id).toBe(jobId);
        return job!;
      };
      /** A job deferred until `runAt`, waiting on `waitKey` when given. */
      const deferred = async (
        t: TenantId,
        q: string,
        key: string,
        waitKey: string | undefined,
        runAt = later,
      ): Promise<string> => {
        const job = await leased(t, q, key);
        const wait = { runAt, reason: `${key} waits`, now, ...(waitKey === undefined ? {} : { waitKey }) };
        expect(await store.jobs.defer(job.id, job.leaseToken!, wait)).toBe(true);
        return job.id;
      };
      const waiting = [
        await deferred(tenant, queue, 'a', 'Patient/p'),
        await deferred(tenant, queue, 'b', 'Patient/p'),
      ];
      expect(await store.jobs.getJob(waiting[0]!)).toMatchObject({
        state: 'ready',
        attempts: 0,
        runAt: later,
        waitKey: 'Patient/p',
      });
      const untouched = [
        await deferred(tenant, queue, 'other key', 'Patient/q'),
        await deferred(tenant, queue, 'no key', undefined),
        await deferred(otherTenant, queue, 'other tenant', 'Patient/p'),
        await deferred(tenant, otherQueue, 'other queue', 'Patient/p'),
      ];
      // Jobs that waited on the key and have been leased again since: one still leased, one done,
      // one failed and waiting for its retry (a wake must not cut its backoff short).
      const again = [
        await deferred(tenant, queue, 'leased', 'Patient/p', soon.toISOString()),
        await deferred(tenant, queue, 'done', 'Patient/p', soon.toISOString()),
        await deferred(tenant, queue, 'retrying', 'Patient/p', soon.toISOString()),
      ];
      const leasedAgain = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now: soon });
      expect(leasedAgain.map((j) => j.id).sort()).toEqual([...again].sort());
      expect(leasedAgain.map((j) => j.waitKey)).toEqual([undefined, undefined, undefined]);
      const token = (id: string): string => leasedAgain.find((j) => j.id === id)!.leaseToken!;
      expect(await store.jobs.ack(again[1]!, token(again[1]!))).toBe(true);
      const retryAt = future(3_600_000).toISOString();
      expect(
        await store.jobs.fail(again[2]!, token(again[2]!), {
          error: 'payer down',
          retryable: true,
          now: soon,
          retryAt,
        }),
      ).toBe(true);
      const before = await Promise.all([...untouched, ...again].map((id) => store.jobs.getJob(id)));

      const wokenAt = new Date(soon.getTime() + 1);
      expect(await store.jobs.wake(tenant, queue, 'Patient/p', wokenAt)).toBe(2);
      for (const id of waiting) {
        expect(await store.jobs.getJob(id)).toMatchObject({
          state: 'ready',
          attempts: 0,
          runAt: wokenAt.toISOString(),
        });
      }
      expect(await Promise.all([...untouched, ...again].map((id) => store.jobs.getJob(id)))).toEqual(before);
      expect((await store.jobs.getJob(again[2]!))?.runAt).toBe(retryAt);
      // Idempotent: a second wake finds them due already.
      expect(await store.jobs.wake(tenant, queue, 'Patient/p', new Date(wokenAt.getTime() + 1))).toBe(0);
      // Due now, not at their deferred runAt; leased, they wait on nothing any more.
      const due = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now: wokenAt });
      expect(due.map((j) => j.id).sort()).toEqual([...waiting].sort());
      expect(due.map((j) => j.waitKey)).toEqual([undefined, undefined]);
      expect(await store.jobs.lease({ queue: otherQueue, leaseMs: 60_000, limit: 10, now: wokenAt })).toEqual(
        [],
      );
      expect(await store.jobs.wake(tenant, queue, 'Patient/p', new Date(wokenAt.getTime() + 2))).toBe(0);
    });

    it('a job enqueued to run later with a waitKey is made due by a wake of that key, and only then', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const now = new Date();
      const later = new Date(now.getTime() + 4 * 3_600_000).toISOString();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'fallback',
        payload: null,
        runAt: later,
        waitKey: 'case-1',
      });
      const { jobId: other } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'other',
        payload: null,
        runAt: later,
      });
      expect(await store.jobs.getJob(jobId)).toMatchObject({
        state: 'ready',
        runAt: later,
        waitKey: 'case-1',
      });
      expect(await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now })).toEqual([]);
      expect(await store.jobs.wake(tenant, queue, 'case-1', now)).toBe(1);
      const due = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now });
      expect(due.map((j) => [j.id, j.waitKey])).toEqual([[jobId, undefined]]);
      expect((await store.jobs.getJob(other))?.runAt).toBe(later);
    });

    it('a job whose runAt is in the future is not leased until then', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const runAt = future(60_000);
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'later',
        payload: null,
        runAt: runAt.toISOString(),
      });
      expect(await store.jobs.lease({ queue, leaseMs: 1000, limit: 10, now: new Date() })).toEqual([]);
      expect(
        await store.jobs.lease({ queue, leaseMs: 1000, limit: 10, now: new Date(runAt.getTime() - 1) }),
      ).toEqual([]);
      const [job] = await store.jobs.lease({ queue, leaseMs: 1000, limit: 10, now: runAt });
      expect(job?.id).toBe(jobId);
    });

    it('default runAt is "now" at enqueue time', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, { queue, key: 'now', payload: 'p' });
      const job = await store.jobs.getJob(jobId);
      expect(Math.abs(Date.parse(job!.runAt) - Date.now())).toBeLessThan(5000);
      const leased = await store.jobs.lease({ queue, leaseMs: 1000, limit: 10, now: future(1000) });
      expect(leased.map((j) => j.id)).toEqual([jobId]);
      expect(leased[0]?.payload).toBe('p');
    });

    it('lease respects limit, only touches its queue and hands out oldest runAt first', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const elsewhere = newQueue();
      const base = Date.now() - 60_000;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        await sleep(2); // distinct createdAt: listJobs is oldest first
        ids.push(
          (
            await store.jobs.enqueue(tenant, {
              queue,
              key: `k${i}`,
              payload: i,
              runAt: new Date(base + (5 - i) * 1000).toISOString(),
            })
          ).jobId,
        );
      }
      await store.jobs.enqueue(tenant, { queue: elsewhere, key: 'k0', payload: 'x', runAt: past() });
      const first = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 2, now: new Date() });
      expect(first.map((j) => j.id).sort()).toEqual([ids[4], ids[3]].sort());
      const rest = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now: new Date() });
      expect(rest.map((j) => j.id).sort()).toEqual([ids[0], ids[1], ids[2]].sort());
      expect(rest.every((j) => j.queue === queue)).toBe(true);
      expect((await store.jobs.listJobs(tenant, elsewhere, 'ready', 10)).map((j) => j.payload)).toEqual([
        'x',
      ]);
      expect((await store.jobs.listJobs(tenant, queue, 'leased', 10)).map((j) => j.id)).toEqual(ids);
    });

    it('two concurrent lease calls never share a job', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const all: string[] = [];
      for (let i = 0; i < 30; i++) {
        all.push(
          (await store.jobs.enqueue(tenant, { queue, key: `c${i}`, payload: i, runAt: past() })).jobId,
        );
      }
      const now = new Date();
      const [a, b, c] = await Promise.all([
        store.jobs.lease({ queue, leaseMs: 60_000, limit: 12, now }),
        store.jobs.lease({ queue, leaseMs: 60_000, limit: 12, now }),
        store.jobs.lease({ queue, leaseMs: 60_000, limit: 12, now }),
      ]);
      const leased = [...a, ...b, ...c].map((j: Job) => j.id);
      expect(leased).toHaveLength(30);
      expect(new Set(leased).size).toBe(30);
      expect([...leased].sort()).toEqual([...all].sort());
      const tokens = [...a, ...b, ...c].map((j) => j.leaseToken);
      expect(new Set(tokens).size).toBe(30);
    });

    it('the inbox queue is a queue like any other; its jobs batch with each other', async (store) => {
      // The only test on INBOX_QUEUE (lease() is cross-tenant): the embedded store keeps it in a
      // file of its own, and everything a receiver and an ingest worker do with it must still hold.
      const tenant = newTenant();
      const results = await store.resources.writeBatch(tenant, [
        { op: 'enqueue', job: { queue: INBOX_QUEUE, key: 'n1', payload: { n: 1 }, runAt: past() } },
        { op: 'enqueue', job: { queue: INBOX_QUEUE, key: 'n2', payload: { n: 2 }, runAt: past() } },
        { op: 'enqueue', job: { queue: INBOX_QUEUE, key: 'n1', payload: { n: 'again' } } },
      ]);
      const ids = results.map((r) => (r.op === 'enqueue' ? r.result : undefined));
      expect(ids.map((r) => r?.created)).toEqual([true, true, false]);
      expect(ids[2]?.jobId).toBe(ids[0]?.jobId);
      expect((await store.jobs.enqueue(tenant, { queue: INBOX_QUEUE, key: 'n2', payload: 0 })).created).toBe(
        false,
      );
      const leased = (
        await store.jobs.lease({ queue: INBOX_QUEUE, leaseMs: 60_000, limit: 100, now: new Date() })
      ).filter((j) => j.tenant === tenant);
      expect(leased.map((j) => j.payload)).toEqual([{ n: 1 }, { n: 2 }]);
      const [first, second] = leased;
      expect((await store.jobs.getJob(first!.id))?.state).toBe('leased');
      // A worker renews an inbox job's lease where the job is.
      const renewedUntil = future(120_000);
      expect(
        await store.jobs.extendLease(first!.id, first!.leaseToken!, {
          leaseMs: 60_000,
          now: new Date(renewedUntil.getTime() - 60_000),
        }),
      ).toBe(true);
      expect((await store.jobs.getJob(first!.id))?.leaseExpiresAt).toBe(renewedUntil.toISOString());
      expect(
        await store.jobs.extendLease(first!.id, 'not-the-token', { leaseMs: 60_000, now: new Date() }),
      ).toBe(false);
      expect(
        await store.jobs.fail(second!.id, second!.leaseToken!, {
          error: 'later',
          retryable: true,
          now: new Date(),
        }),
      ).toBe(true);
      expect(
        await store.jobs.ackMany([
          { jobId: first!.id, leaseToken: first!.leaseToken! },
          { jobId: second!.id, leaseToken: second!.leaseToken! },
        ]),
      ).toBe(1);
      expect((await store.jobs.listJobs(tenant, INBOX_QUEUE, 'done', 10)).map((j) => j.key)).toEqual(['n1']);
      expect((await store.jobs.listJobs(tenant, INBOX_QUEUE, 'ready', 10)).map((j) => j.key)).toEqual(['n2']);
      expect((await store.jobs.getJob(second!.id))?.lastError).toBe('later');
      // Finished inbox jobs are purged where they are; the purged key makes a new job.
      expect(await store.jobs.purgeDone(tenant, INBOX_QUEUE, future(1000).toISOString(), 10)).toBe(1);
      expect(await store.jobs.getJob(first!.id)).toBeUndefined();
      expect((await store.jobs.enqueue(tenant, { queue: INBOX_QUEUE, key: 'n1', payload: 0 })).created).toBe(
        true,
      );
    });

    it("purgeDone: only the tenant's finished jobs of the queue, finished before the instant, oldest first, up to the limit", async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      for (const key of ['a', 'b', 'c', 'dead', 'ready']) {
        await store.jobs.enqueue(tenant, { queue, key, payload: { key }, runAt: past() });
      }
      const other = newTenant();
      await store.jobs.enqueue(other, { queue, key: 'a', payload: {}, runAt: past() });
      const otherQueue = newQueue();
      await store.jobs.enqueue(tenant, { queue: otherQueue, key: 'a', payload: {}, runAt: past() });
      const now = new Date();
      const leased = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now });
      const byKey = new Map(leased.filter((j) => j.tenant === tenant).map((j) => [j.key, j]));
      const leaseOf = (key: string) => ({
        jobId: byKey.get(key)!.id,
        leaseToken: byKey.get(key)!.leaseToken!,
      });
      expect(await store.jobs.ackMany(['a', 'b', 'c'].map(leaseOf))).toBe(3);
      const dead = leaseOf('dead');
      await store.jobs.fail(dead.jobId, dead.leaseToken, { error: 'no', retryable: false, now });
      const otherTenantJob = leased.find((j) => j.tenant === other)!;
      await store.jobs.ack(otherTenantJob.id, otherTenantJob.leaseToken!);
      const [otherQueueJob] = await store.jobs.lease({ queue: otherQueue, leaseMs: 60_000, limit: 1, now });
      await store.jobs.ack(otherQueueJob!.id, otherQueueJob!.leaseToken!);
      expect(await store.jobs.purgeDone(tenant, queue, past(), 10)).toBe(0);
      const later = future(1000).toISOString();
      expect(await store.jobs.purgeDone(tenant, queue, later, 2)).toBe(2);
      expect(await store.jobs.purgeDone(tenant, queue, later, 2)).toBe(1);
      expect(await store.jobs.purgeDone(tenant, queue, later, 2)).toBe(0);
      for (const key of ['a', 'b', 'c']) {
        expect(await store.jobs.getJob(byKey.get(key)!.id)).toBeUndefined();
      }
      expect((await store.jobs.getJob(dead.jobId))?.state).toBe('dead');
      expect((await store.jobs.getJob(byKey.get('ready')!.id))?.state).toBe('leased');
      expect((await store.jobs.getJob(otherTenantJob.id))?.state).toBe('done');
      expect((await store.jobs.getJob(otherQueueJob!.id))?.state).toBe('done');
      const again = await store.jobs.enqueue(tenant, { queue, key: 'a', payload: {} });
      expect(again.created).toBe(true);
      expect(again.jobId).not.toBe(byKey.get('a')!.id);
      await expect(store.jobs.purgeDone(tenant, queue, 'yesterday', 10)).rejects.toMatchObject({
        outcome: { issue: [expect.objectContaining({ code: 'invalid' })] },
      });
    });

    it('purgeDone with a key prefix: only finished jobs keyed with it; the rest of the queue, dead and unfinished ones stay', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const prefix = 'hk|a.b|';
      // Keys with the prefix, and keys beside it: shorter, one character past its end, a greater
      // next character, and a key that merely contains it.
      const purgeable = [`${prefix}1`, `${prefix}2`, `${prefix}10`, prefix, `${prefix}\u{10ffff}`];
      const kept = ['hk|a.b', 'hk|a.b}', 'hk|a.c|1', `x${prefix}1`, 'order|1'];
      for (const key of [...purgeable, ...kept, `${prefix}dead`, `${prefix}ready`]) {
        await store.jobs.enqueue(tenant, { queue, key, payload: { key }, runAt: past() });
      }
      const other = newTenant();
      await store.jobs.enqueue(other, { queue, key: `${prefix}1`, payload: {}, runAt: past() });
      const otherQueue = newQueue();
      await store.jobs.enqueue(tenant, { queue: otherQueue, key: `${prefix}1`, payload: {}, runAt: past() });
      const now = new Date();
      const all = [
        ...(await store.jobs.lease({ queue, leaseMs: 60_000, limit: 50, now })),
        ...(await store.jobs.lease({ queue: otherQueue, leaseMs: 60_000, limit: 50, now })),
      ];
      const leased = all.filter((j) => j.tenant === tenant && j.queue === queue);
      const byKey = new Map(leased.map((j) => [j.key, j]));
      const beside = all.filter((j) => !leased.includes(j));
      expect(beside).toHaveLength(2);
      for (const job of all.filter((j) => ![`${prefix}dead`, `${prefix}ready`].includes(j.key))) {
        expect(await store.jobs.ack(job.id, job.leaseToken!)).toBe(true);
      }
      const dead = byKey.get(`${prefix}dead`)!;
      await store.jobs.fail(dead.id, dead.leaseToken!, { error: 'no', retryable: false, now });
      const later = future(1000).toISOString();
      const options = { keyPrefix: prefix };

      expect(await store.jobs.purgeDone(tenant, queue, past(), 10, options)).toBe(0);
      expect(await store.jobs.purgeDone(tenant, queue, later, 3, options)).toBe(3);
      expect(await store.jobs.purgeDone(tenant, queue, later, 3, options)).toBe(2);
      expect(await store.jobs.purgeDone(tenant, queue, later, 3, options)).toBe(0);
      for (const key of purgeable) {
        expect(await store.jobs.getJob(byKey.get(key)!.id)).toBeUndefined();
      }
      for (const key of kept) {
        expect((await store.jobs.getJob(byKey.get(key)!.id))?.state).toBe('done');
      }
      expect((await store.jobs.getJob(dead.id))?.state).toBe('dead');
      expect((await store.jobs.getJob(byKey.get(`${prefix}ready`)!.id))?.state).toBe('leased');
      expect((await store.jobs.listJobs(tenant, queue, 'done', 50)).map((j) => j.key).sort()).toEqual(
        [...kept].sort(),
      );
      // Another tenant's, another queue's: not touched.
      for (const job of beside) {
        expect((await store.jobs.getJob(job.id))?.state).toBe('done');
      }
      // The purged key makes a new job; without a prefix the rest of the queue goes.
      expect((await store.jobs.enqueue(tenant, { queue, key: `${prefix}1`, payload: {} })).created).toBe(
        true,
      );
      expect(await store.jobs.purgeDone(tenant, queue, later, 50)).toBe(kept.length);
      await expect(store.jobs.purgeDone(tenant, queue, 'yesterday', 10, options)).rejects.toMatchObject({
        outcome: { issue: [expect.objectContaining({ code: 'invalid' })] },
      });
    });

    it("highestNumbered: the tenant's job of the queue keyed the prefix and the highest number, in any state", async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const prefix = 'line|a.b|';
      expect(await store.jobs.highestNumbered(tenant, queue, prefix)).toBeUndefined();
      // 9 before 10 (numbers, not strings); 1..12 ended, then one more queued.
      for (let n = 1; n <= 12; n++) {
        await store.jobs.enqueue(tenant, { queue, key: `${prefix}${n}`, payload: { n }, runAt: past() });
      }
      const leased = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 20, now: new Date() });
      expect(leased).toHaveLength(12);
      for (const job of leased) {
        await store.jobs.fail(job.id, job.leaseToken!, { error: 'no', retryable: false, now: new Date() });
      }
      expect(await store.jobs.highestNumbered(tenant, queue, prefix)).toMatchObject({
        key: `${prefix}12`,
        payload: { n: 12 },
        state: 'dead',
      });
      // Not numbered after the prefix: other lines, other words, leading zeros, a regex's meaning.
      for (const key of [
        'line|a.b',
        `${prefix}099`,
        `${prefix}13x`,
        `${prefix}x13`,
        'line|aXb|99',
        `${prefix}7|100`,
      ]) {
        await store.jobs.enqueue(tenant, { queue, key, payload: {} });
      }
      // Nor other tenants' or queues'.
      await store.jobs.enqueue(newTenant(), { queue, key: `${prefix}500`, payload: {} });
      await store.jobs.enqueue(tenant, { queue: newQueue(), key: `${prefix}500`, payload: {} });
      expect((await store.jobs.highestNumbered(tenant, queue, prefix))?.key).toBe(`${prefix}12`);
      const { jobId } = await store.jobs.enqueue(tenant, { queue, key: `${prefix}13`, payload: { n: 13 } });
      expect(await store.jobs.highestNumbered(tenant, queue, prefix)).toMatchObject({
        id: jobId,
        state: 'ready',
      });
      expect((await store.jobs.highestNumbered(tenant, queue, 'line|a.b|7|'))?.key).toBe(`${prefix}7|100`);
      expect(await store.jobs.highestNumbered(tenant, queue, 'line|')).toBeUndefined();
    });
  });
}
