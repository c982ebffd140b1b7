/** The store contract (./contract.ts): the job queue: enqueue, leases, acks, renewals, retries, dead letters; writeBatch. */
import { randomUUID } from 'node:crypto';
import { describe, expect } from '@jest/globals';
import type { Patient } from '@medplum/fhirtypes';
import type { StoredResource, StoreFilter } from '../../src/store/port.ts';
import { encounter, MRN_SYSTEM, patient } from './fixtures.ts';
import type { ContractTest } from './contract-support.ts';
import {
  newTenant,
  newQueue,
  past,
  future,
  sleep,
  query,
  token,
  str,
  dateFilter,
  expectStatus,
} from './contract-support.ts';

export function describeJobLeaseContract(it: ContractTest): void {
  describe('writeBatch', () => {
    it('applies create, update and enqueue together and returns results in order', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const existing = (await store.resources.create(tenant, patient({ mrn: 'WB-1', family: 'Before' })))
        .resource as Patient & StoredResource;
      const results = await store.resources.writeBatch(tenant, [
        { op: 'create', resource: encounter({ patientId: existing.id }) },
        {
          op: 'update',
          resource: { ...existing, name: [{ family: 'After' }] },
          options: { ifMatchVersion: '1' },
        },
        { op: 'enqueue', job: { queue, key: 'claim-WB-1', payload: { patient: existing.id } } },
      ]);
      expect(results.map((r) => r.op)).toEqual(['create', 'update', 'enqueue']);
      const [created, updated, enqueued] = results;
      expect(created?.op === 'create' && created.result.created).toBe(true);
      expect(updated?.op === 'update' && updated.result.resource.meta.versionId).toBe('2');
      expect(enqueued?.op === 'enqueue' && enqueued.result.created).toBe(true);
      if (created?.op === 'create') {
        const id = created.result.resource.id;
        expect((await store.resources.read(tenant, 'Encounter', id)).id).toBe(id);
      }
      expect(await store.jobs.listJobs(tenant, queue, 'ready', 10)).toHaveLength(1);
    });

    it('listing with a limit that is not a count is a 400, not a server error', async (store) => {
      const tenant = newTenant();
      for (const limit of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectStatus(store.jobs.listJobs(tenant, newQueue(), 'ready', limit), 400);
      }
    });

    it('a failing operation (If-Match mismatch) leaves no trace of the earlier ones, jobs included', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const existing = (await store.resources.create(tenant, patient({ mrn: 'WB-2', family: 'Stable' })))
        .resource as Patient & StoredResource;
      const other = (await store.resources.create(tenant, patient({ mrn: 'WB-3', family: 'Other' })))
        .resource as Patient & StoredResource;
      await expectStatus(
        store.resources.writeBatch(tenant, [
          { op: 'create', resource: encounter({ patientId: existing.id, visitNumber: 'V-WB' }) },
          {
            op: 'create',
            resource: patient({ mrn: 'WB-NEW' }),
            options: { ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'WB-NEW' } },
          },
          { op: 'update', resource: { ...other, name: [{ family: 'Changed' }] } },
          { op: 'enqueue', job: { queue, key: 'k1', payload: 1 } },
          {
            op: 'update',
            resource: { ...existing, name: [{ family: 'Lost' }] },
            options: { ifMatchVersion: '7' },
          },
        ]),
        412,
      );
      expect((await store.resources.search(tenant, query('Encounter', [], { total: true }))).total).toBe(0);
      expect((await store.resources.search(tenant, query('Patient', [], { total: true }))).total).toBe(2);
      const otherNow = (await store.resources.read(tenant, 'Patient', other.id)) as Patient & StoredResource;
      expect(otherNow.meta.versionId).toBe('1');
      expect(otherNow.name?.[0]?.family).toBe('Other');
      expect((await store.resources.history(tenant, 'Patient', other.id)).total).toBe(1);
      expect(await store.jobs.listJobs(tenant, queue, 'ready', 10)).toEqual([]);
      expect(await store.jobs.lease({ queue, leaseMs: 1000, limit: 10, now: future(60_000) })).toEqual([]);
      // The key was never taken, the identifier was never recorded.
      expect((await store.jobs.enqueue(tenant, { queue, key: 'k1', payload: 1 })).created).toBe(true);
      const retry = await store.resources.create(tenant, patient({ mrn: 'WB-NEW' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'WB-NEW' },
      });
      expect(retry.created).toBe(true);
    });

    it('a failing create (invalid id) rolls back an earlier enqueue', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      await expectStatus(
        store.resources.writeBatch(tenant, [
          { op: 'enqueue', job: { queue, key: 'k', payload: null } },
          { op: 'create', resource: patient({ mrn: 'X' }), options: { id: 'bad id' } },
        ]),
        400,
      );
      expect(await store.jobs.listJobs(tenant, queue, 'ready', 10)).toEqual([]);
    });

    it('a conditional create sees the identifier an earlier create of the batch recorded', async (store) => {
      const tenant = newTenant();
      const results = await store.resources.writeBatch(tenant, [
        { op: 'create', resource: patient({ mrn: 'WB-SAME', family: 'First' }) },
        {
          op: 'create',
          resource: patient({ mrn: 'WB-SAME', family: 'Second' }),
          options: { ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'WB-SAME' } },
        },
      ]);
      const [first, second] = results;
      expect(first?.op === 'create' && first.result.created).toBe(true);
      expect(second?.op === 'create' && second.result.created).toBe(false);
      expect(second?.op === 'create' && second.result.resource.id).toBe(
        first?.op === 'create' ? first.result.resource.id : 'no first result',
      );
      expect((await store.resources.search(tenant, query('Patient', [], { total: true }))).total).toBe(1);
    });

    it('an update of a resource the batch created leaves only the new version searchable', async (store) => {
      const tenant = newTenant();
      const id = randomUUID();
      const created = patient({ mrn: 'WB-OLD', family: 'Older' });
      await store.resources.writeBatch(tenant, [
        { op: 'create', resource: created, options: { id } },
        { op: 'update', resource: { ...patient({ mrn: 'WB-NEW-MRN', family: 'Newer' }), id } },
      ]);
      const ids = async (filter: StoreFilter): Promise<string[]> =>
        (await store.resources.search(tenant, query('Patient', [filter]))).resources.map((r) => r.id);
      expect(await ids(token('identifier', [{ system: MRN_SYSTEM, value: 'WB-OLD' }]))).toEqual([]);
      expect(await ids(str('family', ['Older']))).toEqual([]);
      expect(await ids(token('identifier', [{ system: MRN_SYSTEM, value: 'WB-NEW-MRN' }]))).toEqual([id]);
      expect(await ids(str('family', ['Newer']))).toEqual([id]);
      const retry = await store.resources.create(tenant, patient({ mrn: 'WB-OLD' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'WB-OLD' },
      });
      expect(retry.created).toBe(true);
    });

    it('a batch of many resources indexes every one (more index rows than one statement takes)', async (store) => {
      const tenant = newTenant();
      const count = 150;
      const results = await store.resources.writeBatch(
        tenant,
        Array.from({ length: count }, (_, i) => ({
          op: 'create' as const,
          resource: patient({ mrn: `WB-MANY-${i}`, family: `Many${i}`, birthDate: '1970-01-02' }),
        })),
      );
      const ids = results.map((r) => (r.op === 'create' ? r.result.resource.id : ''));
      for (const i of [0, 63, 64, 65, 127, 128, 149]) {
        const byMrn = await store.resources.search(
          tenant,
          query('Patient', [token('identifier', [{ system: MRN_SYSTEM, value: `WB-MANY-${i}` }])]),
        );
        expect(byMrn.resources.map((r) => r.id)).toEqual([ids[i]]);
        const byName = await store.resources.search(
          tenant,
          query('Patient', [str('family', [`Many${i}`], true)]),
        );
        expect(byName.resources.map((r) => r.id)).toEqual([ids[i]]);
        const again = await store.resources.create(tenant, patient({ mrn: `WB-MANY-${i}` }), {
          ifNoneExistIdentifier: { system: MRN_SYSTEM, value: `WB-MANY-${i}` },
        });
        expect(again.created).toBe(false);
      }
      const born = await store.resources.search(
        tenant,
        query(
          'Patient',
          [dateFilter('birthdate', 'ge', '1970-01-01T00:00:00.000Z', '1970-01-02T00:00:00.000Z')],
          {
            count: 1000,
            total: true,
          },
        ),
      );
      expect(born.total).toBe(count);
      const sorted = await store.resources.search(
        tenant,
        query('Patient', [], { sort: [{ code: 'family', descending: false }], count: 1000 }),
      );
      const byFamily = ids
        .map((id, i) => ({ id, family: `Many${i}` }))
        .sort((a, b) => (a.family < b.family ? -1 : 1))
        .map((p) => p.id);
      expect(sorted.resources.map((r) => r.id)).toEqual(byFamily);
    });
  });

  describe('job queue', () => {
    it('enqueue is idempotent per (tenant, queue, key), in any state', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const first = await store.jobs.enqueue(tenant, {
        queue,
        key: 'claim:123',
        payload: { claim: '123' },
        runAt: past(),
      });
      const second = await store.jobs.enqueue(tenant, {
        queue,
        key: 'claim:123',
        payload: { claim: 'other' },
      });
      expect(first.created).toBe(true);
      expect(second).toEqual({ jobId: first.jobId, created: false });
      const job = await store.jobs.getJob(first.jobId);
      expect(job).toMatchObject({
        id: first.jobId,
        tenant,
        queue,
        key: 'claim:123',
        payload: { claim: '123' },
        state: 'ready',
        attempts: 0,
        maxAttempts: 8,
      });
      expect(job?.leaseToken).toBeUndefined();
      const [leased] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now: new Date() });
      expect(await store.jobs.ack(leased!.id, leased!.leaseToken!)).toBe(true);
      const afterDone = await store.jobs.enqueue(tenant, { queue, key: 'claim:123', payload: {} });
      expect(afterDone).toEqual({ jobId: first.jobId, created: false });
      expect((await store.jobs.getJob(first.jobId))?.state).toBe('done');
      // Same key on another queue is another job.
      const otherQueue = await store.jobs.enqueue(tenant, {
        queue: newQueue(),
        key: 'claim:123',
        payload: {},
      });
      expect(otherQueue.created).toBe(true);
    });

    it('lease with siblingsBy also leases the due ready jobs sharing the key up to the separator', async (store) => {
      const tenant = newTenant();
      const otherTenant = newTenant();
      const queue = newQueue();
      // Due one millisecond apart, in enqueue order: a lease takes the earliest due first.
      let due = Date.now() - 60_000;
      const enqueue = async (
        t: string,
        key: string,
        runAt = new Date(due++).toISOString(),
      ): Promise<string> => (await store.jobs.enqueue(t, { queue, key, payload: { key }, runAt })).jobId;
      const first = await enqueue(tenant, 'Encounter/e1|MedicationAdministration/a/_history/1');
      await enqueue(tenant, 'Encounter/e2|MedicationAdministration/b/_history/1');
      const sibling = await enqueue(tenant, 'Encounter/e1|Encounter/e1/_history/2');
      // Not siblings: not due yet; another tenant's; a key that only starts like the prefix.
      await enqueue(tenant, 'Encounter/e1|later', new Date(Date.now() + 3_600_000).toISOString());
      await enqueue(otherTenant, 'Encounter/e1|x');
      await enqueue(tenant, 'Encounter/e10|y');
      const now = new Date();
      const leased = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now, siblingsBy: '|' });
      expect(leased.map((job) => job.id).sort()).toEqual([first, sibling].sort());
      for (const job of leased) {
        expect(job).toMatchObject({ state: 'leased', attempts: 1 });
        expect(job.leaseToken).toEqual(expect.any(String));
        expect(await store.jobs.ack(job.id, job.leaseToken!)).toBe(true);
      }
      // Without the option a lease takes `limit` jobs and nothing more.
      const plain = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
      expect(plain.map((job) => job.key)).toEqual(['Encounter/e2|MedicationAdministration/b/_history/1']);
      const rest = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now, siblingsBy: '|' });
      expect(rest.map((job) => job.key).sort()).toEqual(['Encounter/e10|y', 'Encounter/e1|x']);
    });

    it('lease with siblingsBy over several prefixes takes the siblings of those that have them', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      let due = Date.now() - 60_000;
      const enqueue = async (key: string): Promise<string> =>
        (
          await store.jobs.enqueue(tenant, {
            queue,
            key,
            payload: { key },
            runAt: new Date(due++).toISOString(),
          })
        ).jobId;
      // Leased first (the earliest due): one job of each of three encounters.
      await enqueue('Encounter/a|1');
      await enqueue('Encounter/b|1');
      await enqueue('Encounter/c|1');
      // Later: a sibling of the second encounter and of the third, and a job of a fourth.
      const bSibling = await enqueue('Encounter/b|2');
      const cSibling = await enqueue('Encounter/c|2');
      await enqueue('Encounter/d|1');
      const leased = await store.jobs.lease({
        queue,
        leaseMs: 60_000,
        limit: 3,
        now: new Date(),
        siblingsBy: '|',
      });
      expect(leased.map((job) => job.key).sort()).toEqual([
        'Encounter/a|1',
        'Encounter/b|1',
        'Encounter/b|2',
        'Encounter/c|1',
        'Encounter/c|2',
      ]);
      expect(leased.filter((job) => job.id === bSibling || job.id === cSibling)).toHaveLength(2);
    });

    it('lease / ack: attempts, token, expiry; ack with a stale token is false and changes nothing', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'a',
        payload: { n: 1 },
        runAt: past(),
      });
      const now = new Date();
      const [job] = await store.jobs.lease({ queue, leaseMs: 30_000, limit: 5, now });
      expect(job).toMatchObject({ id: jobId, state: 'leased', attempts: 1, tenant, payload: { n: 1 } });
      expect(job!.leaseToken).toEqual(expect.any(String));
      expect(Date.parse(job!.leaseExpiresAt!)).toBe(now.getTime() + 30_000);
      // Leased and unexpired: not leased again.
      expect(
        await store.jobs.lease({ queue, leaseMs: 30_000, limit: 5, now: new Date(now.getTime() + 1000) }),
      ).toEqual([]);
      expect(await store.jobs.ack(jobId, 'not-the-token')).toBe(false);
      expect((await store.jobs.getJob(jobId))?.state).toBe('leased');
      expect(await store.jobs.ack(jobId, job!.leaseToken!)).toBe(true);
      const done = await store.jobs.getJob(jobId);
      expect(done?.state).toBe('done');
      expect(await store.jobs.ack(jobId, job!.leaseToken!)).toBe(false);
      expect(await store.jobs.lease({ queue, leaseMs: 30_000, limit: 5, now: future(3_600_000) })).toEqual(
        [],
      );
      expect(await store.jobs.getJob('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('ackMany acks every job with a current lease in one call; stale tokens and other states change nothing', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const ids: string[] = [];
      for (const key of ['a', 'b', 'c', 'd', 'e']) {
        ids.push((await store.jobs.enqueue(tenant, { queue, key, payload: { key }, runAt: past() })).jobId);
      }
      const t0 = new Date();
      const leased = await store.jobs.lease({ queue, leaseMs: 1000, limit: 5, now: t0 });
      expect(leased.map((j) => j.id).sort()).toEqual([...ids].sort());
      const byId = new Map(leased.map((j) => [j.id, j]));
      const token = (id: string): string => byId.get(id)!.leaseToken!;
      const [a, b, c, d, e] = ids as [string, string, string, string, string];
      expect(await store.jobs.ack(a, token(a))).toBe(true); // done before ackMany names it
      expect(await store.jobs.ackMany([])).toBe(0);
      expect(
        await store.jobs.ackMany([
          { jobId: a, leaseToken: token(a) },
          { jobId: b, leaseToken: token(b) },
          { jobId: c, leaseToken: 'not-the-token' },
          { jobId: e, leaseToken: token(e) },
          { jobId: '00000000-0000-4000-8000-000000000000', leaseToken: token(b) },
        ]),
      ).toBe(2);
      expect((await store.jobs.getJob(a))?.state).toBe('done');
      expect(await store.jobs.getJob(b)).toMatchObject({ state: 'done', attempts: 1 });
      expect((await store.jobs.getJob(b))?.leaseToken).toBeUndefined();
      expect(await store.jobs.getJob(c)).toMatchObject({ state: 'leased', leaseToken: token(c) });
      expect((await store.jobs.getJob(e))?.state).toBe('done');
      expect((await store.jobs.getJob(d))?.state).toBe('leased');
      // c and d are still leased; once their leases expire, another worker takes them: the first tokens are stale.
      const retaken = await store.jobs.lease({
        queue,
        leaseMs: 1000,
        limit: 5,
        now: new Date(t0.getTime() + 5000),
      });
      expect(retaken.map((j) => j.id).sort()).toEqual([c, d].sort());
      const stale = retaken.map((j) => ({ jobId: j.id, leaseToken: token(j.id) }));
      expect(await store.jobs.ackMany(stale)).toBe(0);
      expect(await store.jobs.ackMany(retaken.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken! })))).toBe(
        2,
      );
      expect(await store.jobs.listJobs(tenant, queue, 'done', 10)).toHaveLength(5);
      // Acked twice: nothing more.
      expect(await store.jobs.ackMany(retaken.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken! })))).toBe(
        0,
      );
    });

    it('an expired lease is leased again with attempts+1 and a new token; the old token is stale', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'crashy',
        payload: null,
        runAt: past(),
      });
      const t0 = new Date();
      const [first] = await store.jobs.lease({ queue, leaseMs: 1000, limit: 1, now: t0 });
      expect(first?.attempts).toBe(1);
      const [second] = await store.jobs.lease({
        queue,
        leaseMs: 1000,
        limit: 1,
        now: new Date(t0.getTime() + 5000),
      });
      expect(second?.id).toBe(jobId);
      expect(second?.attempts).toBe(2);
      expect(second?.leaseToken).not.toBe(first?.leaseToken);
      expect(await store.jobs.ack(jobId, first!.leaseToken!)).toBe(false);
      expect(
        await store.jobs.fail(jobId, first!.leaseToken!, {
          error: 'late',
          retryable: true,
          now: new Date(),
        }),
      ).toBe(false);
      expect(await store.jobs.ack(jobId, second!.leaseToken!)).toBe(true);
    });

    it('extendLease moves the expiry of a lease still held, never back; another worker does not take it at the old expiry', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'slow',
        payload: null,
        runAt: past(),
      });
      const t0 = new Date();
      const [job] = await store.jobs.lease({ queue, leaseMs: 1000, limit: 1, now: t0 });
      const token = job!.leaseToken!;
      const at = (ms: number): Date => new Date(t0.getTime() + ms);
      expect(await store.jobs.extendLease(jobId, token, { leaseMs: 1000, now: at(600) })).toBe(true);
      expect(await store.jobs.getJob(jobId)).toMatchObject({
        state: 'leased',
        attempts: 1,
        leaseToken: token,
        leaseExpiresAt: at(1600).toISOString(),
      });
      // At the old expiry, and up to the new one, the job is still its holder's.
      expect(await store.jobs.lease({ queue, leaseMs: 1000, limit: 1, now: at(1000) })).toEqual([]);
      expect(await store.jobs.lease({ queue, leaseMs: 1000, limit: 1, now: at(1599) })).toEqual([]);
      // A shorter renewal does not bring the expiry back.
      expect(await store.jobs.extendLease(jobId, token, { leaseMs: 100, now: at(700) })).toBe(true);
      expect((await store.jobs.getJob(jobId))?.leaseExpiresAt).toBe(at(1600).toISOString());
      // A renewal with another token is not the holder's: false, nothing changes.
      expect(await store.jobs.extendLease(jobId, 'not-the-token', { leaseMs: 60_000, now: at(800) })).toBe(
        false,
      );
      expect((await store.jobs.getJob(jobId))?.leaseExpiresAt).toBe(at(1600).toISOString());
      // Expired but taken by nobody: still the holder's, and renewed.
      expect(await store.jobs.extendLease(jobId, token, { leaseMs: 1000, now: at(2000) })).toBe(true);
      expect(await store.jobs.lease({ queue, leaseMs: 1000, limit: 1, now: at(2500) })).toEqual([]);
      // Expired and taken by another lease: the first holder can no longer renew it.
      const [retaken] = await store.jobs.lease({ queue, leaseMs: 1000, limit: 1, now: at(3000) });
      expect(retaken).toMatchObject({ id: jobId, attempts: 2 });
      expect(await store.jobs.extendLease(jobId, token, { leaseMs: 60_000, now: at(3100) })).toBe(false);
      expect((await store.jobs.getJob(jobId))?.leaseExpiresAt).toBe(at(4000).toISOString());
      expect(
        await store.jobs.extendLease(jobId, retaken!.leaseToken!, { leaseMs: 1000, now: at(3500) }),
      ).toBe(true);
      // Finished: nothing to renew.
      expect(await store.jobs.ack(jobId, retaken!.leaseToken!)).toBe(true);
      expect(
        await store.jobs.extendLease(jobId, retaken!.leaseToken!, { leaseMs: 1000, now: at(3600) }),
      ).toBe(false);
      expect(await store.jobs.getJob(jobId)).toMatchObject({ state: 'done' });
      expect((await store.jobs.getJob(jobId))?.leaseExpiresAt).toBeUndefined();
    });

    it('extendLease: failed, deferred and unknown jobs cannot renew; a negative leaseMs is a 400', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      for (const key of ['failed', 'deferred']) {
        await store.jobs.enqueue(tenant, { queue, key, payload: null, runAt: past() });
      }
      const now = new Date();
      const leased = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 2, now });
      const [failed, deferred] = ['failed', 'deferred'].map((key) => leased.find((j) => j.key === key)!);
      await expect(
        store.jobs.extendLease(failed!.id, failed!.leaseToken!, { leaseMs: -1, now }),
      ).rejects.toMatchObject({ outcome: { issue: [expect.objectContaining({ code: 'invalid' })] } });
      expect(
        await store.jobs.fail(failed!.id, failed!.leaseToken!, { error: 'down', retryable: true, now }),
      ).toBe(true);
      expect(
        await store.jobs.defer(deferred!.id, deferred!.leaseToken!, { runAt: past(), reason: 'w', now }),
      ).toBe(true);
      for (const job of [failed!, deferred!]) {
        expect(await store.jobs.extendLease(job.id, job.leaseToken!, { leaseMs: 60_000, now })).toBe(false);
        expect(await store.jobs.getJob(job.id)).toMatchObject({ state: 'ready' });
      }
      expect(
        await store.jobs.extendLease('00000000-0000-4000-8000-000000000000', 'x', { leaseMs: 1000, now }),
      ).toBe(false);
    });

    it('a lease that expires on the final attempt dead-letters the job', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'k',
        payload: null,
        runAt: past(),
        maxAttempts: 1,
      });
      const t0 = new Date();
      expect(await store.jobs.lease({ queue, leaseMs: 1000, limit: 1, now: t0 })).toHaveLength(1);
      expect(
        await store.jobs.lease({ queue, leaseMs: 1000, limit: 1, now: new Date(t0.getTime() + 5000) }),
      ).toEqual([]);
      const job = await store.jobs.getJob(jobId);
      expect(job?.state).toBe('dead');
      expect(job?.attempts).toBe(1);
    });

    it('fail (retryable) moves runAt forward by an exponential backoff with jitter', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'retry',
        payload: null,
        runAt: past(),
      });
      let now = new Date();
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 4; attempt++) {
        const [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
        expect(job?.attempts).toBe(attempt);
        expect(
          await store.jobs.fail(jobId, job!.leaseToken!, {
            error: `boom ${attempt}`,
            retryable: true,
            now,
          }),
        ).toBe(true);
        const after = await store.jobs.getJob(jobId);
        expect(after?.state).toBe('ready');
        expect(after?.lastError).toBe(`boom ${attempt}`);
        expect(after?.leaseToken).toBeUndefined();
        const delay = Date.parse(after!.runAt) - now.getTime();
        delays.push(delay);
        // Not leasable before runAt.
        expect(
          await store.jobs.lease({
            queue,
            leaseMs: 60_000,
            limit: 1,
            now: new Date(Date.parse(after!.runAt) - 1),
          }),
        ).toEqual([]);
        now = new Date(Date.parse(after!.runAt));
      }
      const bases = [1000, 2000, 4000, 8000];
      delays.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(bases[i]! * 0.8 - 1);
        expect(d).toBeLessThanOrEqual(bases[i]! * 1.2 + 1);
      });
    });

    it('fail with retryAt uses it; the backoff never exceeds one hour', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'r',
        payload: null,
        runAt: past(),
        maxAttempts: 30,
      });
      let now = new Date();
      let [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
      const retryAt = new Date(now.getTime() + 123_456).toISOString();
      expect(
        await store.jobs.fail(jobId, job!.leaseToken!, {
          error: 'rate limited',
          retryable: true,
          now,
          retryAt,
        }),
      ).toBe(true);
      expect((await store.jobs.getJob(jobId))?.runAt).toBe(retryAt);
      // Drive attempts up: attempt 20 would be 2^19 s without the cap.
      for (let i = 0; i < 18; i++) {
        now = new Date(Date.parse((await store.jobs.getJob(jobId))!.runAt));
        [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
        await store.jobs.fail(jobId, job!.leaseToken!, { error: 'again', retryable: true, now });
      }
      const after = await store.jobs.getJob(jobId);
      expect(after?.attempts).toBe(19);
      expect(Date.parse(after!.runAt) - now.getTime()).toBeLessThanOrEqual(3_600_000);
      expect(Date.parse(after!.runAt) - now.getTime()).toBeGreaterThanOrEqual(3_600_000 * 0.8 - 1);
    });

    it('dead-letters after maxAttempts, and at once when not retryable', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const { jobId } = await store.jobs.enqueue(tenant, {
        queue,
        key: 'x',
        payload: null,
        runAt: past(),
        maxAttempts: 2,
      });
      let now = new Date();
      let [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
      await store.jobs.fail(jobId, job!.leaseToken!, { error: 'first', retryable: true, now });
      expect((await store.jobs.getJob(jobId))?.state).toBe('ready');
      now = future(3_600_000);
      [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now });
      expect(job?.attempts).toBe(2);
      expect(await store.jobs.fail(jobId, job!.leaseToken!, { error: 'second', retryable: true, now })).toBe(
        true,
      );
      const dead = await store.jobs.getJob(jobId);
      expect(dead).toMatchObject({ state: 'dead', attempts: 2, lastError: 'second' });
      expect(await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now: future(7_200_000) })).toEqual(
        [],
      );
      expect((await store.jobs.listJobs(tenant, queue, 'dead', 10)).map((j) => j.id)).toEqual([jobId]);

      await sleep(2);
      const other = await store.jobs.enqueue(tenant, { queue, key: 'y', payload: null, runAt: past() });
      [job] = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 1, now: new Date() });
      expect(job?.id).toBe(other.jobId);
      expect(
        await store.jobs.fail(other.jobId, job!.leaseToken!, {
          error: '400 from payer',
          retryable: false,
          now: new Date(),
        }),
      ).toBe(true);
      expect(await store.jobs.getJob(other.jobId)).toMatchObject({
        state: 'dead',
        attempts: 1,
        lastError: '400 from payer',
      });
      expect((await store.jobs.listJobs(tenant, queue, 'dead', 10)).map((j) => j.id)).toEqual([
        jobId,
        other.jobId,
      ]);
      expect(await store.jobs.listJobs(tenant, queue, 'dead', 1)).toHaveLength(1);
    });
  });
}
