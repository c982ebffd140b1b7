/** The store contract (./contract.ts): resources: create, read, update, history, append-only types, narrowed references, conditional create, tenant isolation. */
import { describe, expect } from '@jest/globals';
import type { ChargeItem, Encounter, Patient, Resource } from '@medplum/fhirtypes';
import type { StoredResource, StoreFilter, StoreQuery } from '../../src/store/port.ts';
import {
  ACT_CODE_SYSTEM,
  auditEvent,
  coverage,
  encounter,
  MRN_SYSTEM,
  organization,
  patient,
} from './fixtures.ts';
import type { ContractTest } from './contract-support.ts';
import {
  newTenant,
  newQueue,
  past,
  sleep,
  query,
  ref,
  dateFilter,
  statusOf,
  expectStatus,
} from './contract-support.ts';

export function describeResourceContract(it: ContractTest): void {
  describe('resources: create / read / vread / update', () => {
    it('create assigns a uuid id, versionId 1 and lastUpdated; read returns the same content', async (store) => {
      const tenant = newTenant();
      const before = Date.now();
      const { resource, created } = await store.resources.create(
        tenant,
        patient({ mrn: 'MRN-1', family: 'Okafor' }),
      );
      expect(created).toBe(true);
      expect(resource.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(resource.meta.versionId).toBe('1');
      expect(resource.meta.lastUpdated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(resource.meta.lastUpdated)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(resource.meta.lastUpdated)).toBeLessThanOrEqual(Date.now() + 1000);
      // Other meta fields are kept.
      expect(resource.meta).toMatchObject({
        profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'],
      });
      expect((resource as Patient).name?.[0]?.family).toBe('Okafor');

      const read = await store.resources.read(tenant, 'Patient', resource.id);
      expect(read).toEqual(resource);
    });

    it('create honours options.id and ignores an id in the body', async (store) => {
      const tenant = newTenant();
      const withOption = await store.resources.create(tenant, patient({ mrn: 'A' }), {
        id: 'pat-stable.1',
      });
      expect(withOption.resource.id).toBe('pat-stable.1');
      const body = { ...patient({ mrn: 'B' }), id: 'from-body' };
      const generated = await store.resources.create(tenant, body);
      expect(generated.resource.id).not.toBe('from-body');
      expect((await store.resources.read(tenant, 'Patient', 'pat-stable.1')).id).toBe('pat-stable.1');
    });

    it('create with an existing explicit id is a 409 and changes nothing', async (store) => {
      const tenant = newTenant();
      await store.resources.create(tenant, patient({ mrn: 'A', family: 'First' }), { id: 'dup' });
      await expectStatus(
        store.resources.create(tenant, patient({ mrn: 'B', family: 'Second' }), { id: 'dup' }),
        409,
      );
      const current = (await store.resources.read(tenant, 'Patient', 'dup')) as Patient & StoredResource;
      expect(current.name?.[0]?.family).toBe('First');
      expect(current.meta.versionId).toBe('1');
    });

    it('rejects invalid ids and missing resourceType with 400', async (store) => {
      const tenant = newTenant();
      await expectStatus(store.resources.create(tenant, patient({ mrn: 'A' }), { id: 'has space' }), 400);
      await expectStatus(store.resources.create(tenant, patient({ mrn: 'A' }), { id: 'x'.repeat(65) }), 400);
      await expectStatus(store.resources.create(tenant, patient({ mrn: 'A' }), { id: '' }), 400);
      await expectStatus(store.resources.update(tenant, { ...patient({ mrn: 'A' }), id: 'a/b' }), 400);
      await expectStatus(store.resources.create(tenant, { name: [] } as unknown as Resource), 400);
      await expect(
        store.resources.create(tenant, patient({ mrn: 'A' }), { id: 'x'.repeat(64) }),
      ).resolves.toBeDefined();
    });

    it('read / vread of missing resources and versions are 404', async (store) => {
      const tenant = newTenant();
      await expectStatus(store.resources.read(tenant, 'Patient', 'nope'), 404);
      const { resource } = await store.resources.create(tenant, patient({ mrn: 'A' }));
      await expectStatus(store.resources.vread(tenant, 'Patient', resource.id, '2'), 404);
      await expectStatus(store.resources.vread(tenant, 'Patient', resource.id, '0'), 404);
      await expectStatus(store.resources.vread(tenant, 'Patient', resource.id, 'abc'), 404);
      await expectStatus(store.resources.vread(tenant, 'Patient', 'nope', '1'), 404);
      // Same id under another type is a different resource.
      await expectStatus(store.resources.read(tenant, 'Encounter', resource.id), 404);
    });

    it('readJson: the current version as read returns it, as text with its version and lastUpdated', async (store) => {
      const tenant = newTenant();
      const v1 = (await store.resources.create(tenant, patient({ mrn: 'JSON-1', family: 'Before' })))
        .resource;
      const first = await store.resources.readJson(tenant, 'Patient', v1.id);
      expect(JSON.parse(first.json)).toEqual(await store.resources.read(tenant, 'Patient', v1.id));
      expect(first).toMatchObject({ versionId: '1', lastUpdated: v1.meta.lastUpdated });
      const v2 = (
        await store.resources.update(tenant, {
          ...(v1 as Patient & StoredResource),
          name: [{ family: 'After' }],
        })
      ).resource;
      const second = await store.resources.readJson(tenant, 'Patient', v1.id);
      expect(JSON.parse(second.json)).toEqual(v2);
      expect(second).toMatchObject({ versionId: '2', lastUpdated: v2.meta.lastUpdated });
      await expectStatus(store.resources.readJson(tenant, 'Patient', 'nope'), 404);
      await expectStatus(store.resources.readJson(tenant, 'Encounter', v1.id), 404);
      await expectStatus(store.resources.readJson(newTenant(), 'Patient', v1.id), 404);
    });

    it('update writes a new version; vread keeps every version; meta is set by the store', async (store) => {
      const tenant = newTenant();
      const v1 = (await store.resources.create(tenant, patient({ mrn: 'A', family: 'Before' }))).resource;
      await sleep(3);
      const next = { ...(v1 as Patient & StoredResource), name: [{ family: 'After' }] };
      // A stale meta in the body is ignored.
      next.meta = { ...next.meta, versionId: '99', lastUpdated: '2000-01-01T00:00:00.000Z' };
      const v2 = await store.resources.update(tenant, next);
      expect(v2.created).toBe(true);
      expect(v2.resource.id).toBe(v1.id);
      expect(v2.resource.meta.versionId).toBe('2');
      expect(v2.resource.meta.lastUpdated > v1.meta.lastUpdated).toBe(true);
      const read = (await store.resources.read(tenant, 'Patient', v1.id)) as Patient & StoredResource;
      expect(read.name?.[0]?.family).toBe('After');
      expect(read.meta.versionId).toBe('2');
      expect(await store.resources.vread(tenant, 'Patient', v1.id, '1')).toEqual(v1);
      expect(await store.resources.vread(tenant, 'Patient', v1.id, '2')).toEqual(v2.resource);
    });

    it('If-Match: matching version succeeds, stale version is a 412 that writes nothing', async (store) => {
      const tenant = newTenant();
      const v1 = (await store.resources.create(tenant, patient({ mrn: 'A', family: 'One' }))).resource;
      const v2 = await store.resources.update(
        tenant,
        { ...(v1 as Patient & StoredResource), name: [{ family: 'Two' }] },
        { ifMatchVersion: '1' },
      );
      expect(v2.resource.meta.versionId).toBe('2');
      await expectStatus(
        store.resources.update(
          tenant,
          { ...(v1 as Patient & StoredResource), name: [{ family: 'Three' }] },
          { ifMatchVersion: '1' },
        ),
        412,
      );
      const current = (await store.resources.read(tenant, 'Patient', v1.id)) as Patient & StoredResource;
      expect(current.meta.versionId).toBe('2');
      expect(current.name?.[0]?.family).toBe('Two');
      expect((await store.resources.history(tenant, 'Patient', v1.id)).total).toBe(2);
    });

    it('concurrent If-Match updates of the same version: exactly one wins', async (store) => {
      const tenant = newTenant();
      const v1 = (await store.resources.create(tenant, patient({ mrn: 'A' }))).resource as Patient &
        StoredResource;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          store.resources.update(tenant, { ...v1, name: [{ family: `W${i}` }] }, { ifMatchVersion: '1' }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(statusOf(o.reason)).toBe(412);
        }
      }
      expect((await store.resources.read(tenant, 'Patient', v1.id)).meta.versionId).toBe('2');
    });

    it('update of a missing id: upsert (default) creates version 1, upsert:false is a 404', async (store) => {
      const tenant = newTenant();
      await expectStatus(
        store.resources.update(tenant, { ...patient({ mrn: 'A' }), id: 'not-there' }, { upsert: false }),
        404,
      );
      await expectStatus(store.resources.read(tenant, 'Patient', 'not-there'), 404);
      const up = await store.resources.update(tenant, { ...patient({ mrn: 'A' }), id: 'made-by-put' });
      expect(up.created).toBe(true);
      expect(up.resource.id).toBe('made-by-put');
      expect(up.resource.meta.versionId).toBe('1');
      expect((await store.resources.read(tenant, 'Patient', 'made-by-put')).meta.versionId).toBe('1');
    });
  });

  describe('history', () => {
    it('is append-only, newest first, with count / offset / since and a total', async (store) => {
      const tenant = newTenant();
      const v1 = (await store.resources.create(tenant, patient({ mrn: 'H', family: 'V1' }))).resource;
      const versions: StoredResource[] = [v1];
      for (let i = 2; i <= 5; i++) {
        await sleep(3);
        const prev = versions[versions.length - 1] as Patient & StoredResource;
        versions.push(
          (await store.resources.update(tenant, { ...prev, name: [{ family: `V${i}` }] })).resource,
        );
      }
      const all = await store.resources.history(tenant, 'Patient', v1.id);
      expect(all.total).toBe(5);
      expect(all.resources.map((r) => r.meta.versionId)).toEqual(['5', '4', '3', '2', '1']);
      expect(all.resources[4]).toEqual(v1);
      expect(all.resources.map((r) => (r as Patient).name?.[0]?.family)).toEqual([
        'V5',
        'V4',
        'V3',
        'V2',
        'V1',
      ]);

      const page = await store.resources.history(tenant, 'Patient', v1.id, { count: 2, offset: 1 });
      expect(page.total).toBe(5);
      expect(page.resources.map((r) => r.meta.versionId)).toEqual(['4', '3']);

      const since = versions[2]!.meta.lastUpdated; // version 3
      const recent = await store.resources.history(tenant, 'Patient', v1.id, { since });
      expect(recent.resources.map((r) => r.meta.versionId)).toEqual(['5', '4', '3']);
      expect(recent.total).toBe(3);
    });

    it('of a missing resource is a 404', async (store) => {
      await expectStatus(store.resources.history(newTenant(), 'Patient', 'missing'), 404);
    });

    it('pages across the current version and the superseded ones; vread finds every version', async (store) => {
      const tenant = newTenant();
      const v1 = (await store.resources.create(tenant, patient({ mrn: 'HP', family: 'V1' }))).resource;
      let latest: StoredResource = v1;
      for (let i = 2; i <= 4; i++) {
        await sleep(3);
        latest = (
          await store.resources.update(tenant, {
            ...(latest as Patient & StoredResource),
            name: [{ family: `V${i}` }],
          })
        ).resource;
      }
      const versions = async (options: {
        count?: number;
        offset?: number;
        since?: string;
      }): Promise<string[]> =>
        (await store.resources.history(tenant, 'Patient', v1.id, options)).resources.map(
          (r) => r.meta.versionId,
        );
      expect(await versions({ count: 1 })).toEqual(['4']);
      expect(await versions({ count: 1, offset: 1 })).toEqual(['3']);
      expect(await versions({ count: 3, offset: 2 })).toEqual(['2', '1']);
      expect(await versions({ offset: 3 })).toEqual(['1']);
      expect(await versions({ offset: 4 })).toEqual([]);
      const none = await store.resources.history(tenant, 'Patient', v1.id, { count: 0 });
      expect(none).toEqual({ resources: [], total: 4 });
      const future = await store.resources.history(tenant, 'Patient', v1.id, {
        since: '2999-01-01T00:00:00Z',
      });
      expect(future).toEqual({ resources: [], total: 0 });
      for (const v of ['1', '2', '3', '4']) {
        expect((await store.resources.vread(tenant, 'Patient', v1.id, v)).meta.versionId).toBe(v);
      }
      expect((await store.resources.vread(tenant, 'Patient', v1.id, '4')).meta.lastUpdated).toBe(
        latest.meta.lastUpdated,
      );
      await expectStatus(store.resources.vread(tenant, 'Patient', v1.id, '5'), 404);
    });

    it('paging that is not a count and an offset is a 400, not a server error', async (store) => {
      const tenant = newTenant();
      const { resource } = await store.resources.create(tenant, patient({ mrn: 'MRN-PG', family: 'Paged' }));
      for (const options of [
        { count: 1.5 },
        { count: -1 },
        { offset: -1 },
        { offset: 0.5 },
        { count: Number.NaN },
      ]) {
        await expectStatus(store.resources.history(tenant, 'Patient', resource.id, options), 400);
      }
    });
  });

  describe('what was written since a mark (writeMark / writtenSince)', () => {
    it("lists the tenant's creates and updates after the mark once each, with their references", async (store) => {
      const tenant = newTenant();
      const earlier = (await store.resources.create(tenant, patient({ mrn: 'WS-0', family: 'Earlier' })))
        .resource as Patient & StoredResource;
      const pat = (await store.resources.create(tenant, patient({ mrn: 'WS-1', family: 'Before' })))
        .resource as Patient & StoredResource;
      const mark = await store.resources.writeMark(tenant);
      if (mark === undefined) {
        return; // the adapter cannot tell (MongoDB): its callers read again
      }
      const visit = (await store.resources.create(tenant, encounter({ patientId: pat.id }))).resource;
      await store.resources.update(tenant, { ...pat, name: [{ family: 'After' }] });
      await store.resources.update(tenant, { ...pat, name: [{ family: 'Again' }] });
      // Not listed: another tenant's write, an excepted type, an append-only type.
      await store.resources.create(newTenant(), patient({ mrn: 'WS-2', family: 'Elsewhere' }));
      await store.resources.create(tenant, {
        resourceType: 'Task',
        status: 'ready',
        intent: 'order',
        for: { reference: `Patient/${pat.id}` },
      });
      await store.resources.create(tenant, {
        resourceType: 'Provenance',
        target: [{ reference: `Patient/${pat.id}` }],
        recorded: '2026-03-01T10:00:00.000Z',
        agent: [{ who: { reference: 'Device/d1' } }],
      });
      const options = { exceptTypes: ['Task'], limit: 10 };
      const written = await store.resources.writtenSince(tenant, mark, options);
      expect(written?.map((w) => w.reference).sort()).toEqual(
        [`Encounter/${visit.id ?? ''}`, `Patient/${pat.id}`].sort(),
      );
      expect(written?.find((w) => w.reference.startsWith('Encounter/'))?.references).toContain(
        `Patient/${pat.id}`,
      );
      expect(written?.map((w) => w.reference)).not.toContain(`Patient/${earlier.id}`);
      // More than the limit: the caller is told to read again.
      expect(await store.resources.writtenSince(tenant, mark, { ...options, limit: 1 })).toBeUndefined();
      const now = await store.resources.writeMark(tenant);
      expect(now).toBeDefined();
      expect(await store.resources.writtenSince(tenant, now!, options)).toEqual([]);
    });
  });

  describe('append-only types', () => {
    it('an AuditEvent or Provenance that exists is never replaced (409); its index still answers searches', async (store) => {
      const tenant = newTenant();
      const event = {
        resourceType: 'AuditEvent' as const,
        id: 'ae-1',
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
        recorded: '2026-03-01T10:00:00.000Z',
        agent: [{ who: { reference: 'Device/d1' }, requestor: true }],
        source: { observer: { display: 'test' } },
        entity: [{ what: { reference: 'Patient/p-ae' } }],
      };
      const created = await store.resources.update(tenant, event);
      expect(created.resource.meta.versionId).toBe('1');
      await expectStatus(store.resources.update(tenant, { ...event, outcome: '8' }), 409);
      await expectStatus(
        store.resources.writeBatch(tenant, [{ op: 'update', resource: { ...event, outcome: '8' } }]),
        409,
      );
      const provenance = (
        await store.resources.create(tenant, {
          resourceType: 'Provenance',
          target: [{ reference: 'Patient/p-ae' }],
          recorded: '2026-03-01T10:00:00.000Z',
          agent: [{ who: { reference: 'Device/d1' } }],
        })
      ).resource;
      await expectStatus(
        store.resources.update(tenant, { ...provenance, policy: ['urn:x'] } as typeof provenance),
        409,
      );
      const read = await store.resources.read(tenant, 'AuditEvent', 'ae-1');
      expect(read.meta.versionId).toBe('1');
      expect((read as { outcome?: string }).outcome).toBeUndefined();
      expect((await store.resources.history(tenant, 'AuditEvent', 'ae-1')).total).toBe(1);
      const found = await store.resources.search(
        tenant,
        query('AuditEvent', [{ code: 'patient', kind: 'reference', values: ['Patient/p-ae'] }]),
      );
      expect(found.resources.map((r) => r.id)).toEqual(['ae-1']);
    });
  });

  /** A RESTful AuditEvent naming one Patient, recorded on 2026-03-02. */
  const restAuditEvent = (id: string, patientId: string, action: 'C' | 'R') => ({
    resourceType: 'AuditEvent' as const,
    id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    action,
    recorded: '2026-03-02T10:00:00.000Z',
    agent: [{ who: { reference: 'Device/d1' }, requestor: true }],
    source: { observer: { display: 'test' } },
    entity: [{ what: { reference: `Patient/${patientId}` } }],
  });

  describe('audit log', () => {
    it('appended events are AuditEvents at once: read, history, searched by patient and date', async (store) => {
      const tenant = newTenant();
      const event = (id: string, patientId: string) => restAuditEvent(id, patientId, 'R');
      await store.auditLog.append(tenant, [event('log-1', 'p-log'), event('log-2', 'p-other')]);
      await store.auditLog.append(tenant, [event('log-3', 'p-log')]);
      const read = await store.resources.read(tenant, 'AuditEvent', 'log-2');
      expect(read.meta.versionId).toBe('1');
      expect((await store.resources.history(tenant, 'AuditEvent', 'log-1')).total).toBe(1);
      const byPatient = await store.resources.search(
        tenant,
        query('AuditEvent', [{ code: 'patient', kind: 'reference', values: ['Patient/p-log'] }]),
      );
      expect(byPatient.resources.map((r) => r.id).sort()).toEqual(['log-1', 'log-3']);
      const byDate = await store.resources.search(
        tenant,
        query('AuditEvent', [
          dateFilter('date', 'eq', '2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z'),
        ]),
      );
      expect(byDate.resources).toHaveLength(3);
      // Append-only as any AuditEvent.
      await expectStatus(store.resources.update(tenant, { ...event('log-1', 'p-log'), outcome: '8' }), 409);
    });

    it("a write's AuditEvent indexed later is found at once, and commits with the write or not at all", async (store) => {
      const tenant = newTenant();
      const event = (id: string, patientId: string) => restAuditEvent(id, patientId, 'C');
      const [created, audited] = await store.resources.writeBatch(tenant, [
        { op: 'create', resource: { resourceType: 'Patient' }, options: { id: 'p-later' } },
        { op: 'create', resource: event('later-1', 'p-later'), options: { id: 'later-1', indexLater: true } },
      ]);
      expect(created?.op === 'create' && created.result.created).toBe(true);
      expect(audited?.op === 'create' ? audited.result.resource.meta.versionId : undefined).toBe('1');
      expect((await store.resources.read(tenant, 'AuditEvent', 'later-1')).id).toBe('later-1');
      const byPatient = await store.resources.search(
        tenant,
        query('AuditEvent', [{ code: 'patient', kind: 'reference', values: ['Patient/p-later'] }]),
      );
      expect(byPatient.resources.map((r) => r.id)).toEqual(['later-1']);
      // The same Patient again is a conflict: the batch fails, and its event is not kept either.
      await expectStatus(
        store.resources.writeBatch(tenant, [
          {
            op: 'create',
            resource: event('later-2', 'p-later'),
            options: { id: 'later-2', indexLater: true },
          },
          { op: 'create', resource: { resourceType: 'Patient' }, options: { id: 'p-later' } },
        ]),
        409,
      );
      await expectStatus(store.resources.read(tenant, 'AuditEvent', 'later-2'), 404);
      const after = await store.resources.search(
        tenant,
        query('AuditEvent', [{ code: 'patient', kind: 'reference', values: ['Patient/p-later'] }]),
      );
      expect(after.resources.map((r) => r.id)).toEqual(['later-1']);
    });
  });

  describe("a batch's version check (a condition on a resource the batch only read)", () => {
    it('commits the batch while the resource is at that version, and fails all of it (412) otherwise', async (store) => {
      const tenant = newTenant();
      const queue = newQueue();
      const visit = (
        await store.resources.create(tenant, encounter({ patientId: 'p-check', status: 'in-progress' }))
      ).resource;
      const batch = (versionId: string, n: number) =>
        store.resources.writeBatch(tenant, [
          { op: 'create', resource: { resourceType: 'Patient' }, options: { id: `p-check-${n}` } },
          { op: 'check', resourceType: 'Encounter', id: visit.id, versionId },
          { op: 'enqueue', job: { queue, key: `k-${n}`, payload: { n } } },
        ]);
      const results = await batch('1', 1);
      expect(results.map((r) => r.op)).toEqual(['create', 'check', 'enqueue']);
      expect((await store.jobs.listJobs(tenant, queue, 'ready', 10)).map((j) => j.key)).toEqual(['k-1']);

      await store.resources.update(tenant, { ...(visit as Encounter & { id: string }), status: 'finished' });
      await expectStatus(batch('1', 2), 412);
      // Nothing of the failed batch is kept: not the write before the check, not the job after it.
      await expectStatus(store.resources.read(tenant, 'Patient', 'p-check-2'), 404);
      expect((await store.jobs.listJobs(tenant, queue, 'ready', 10)).map((j) => j.key)).toEqual(['k-1']);
      expect((await batch('2', 3)).map((r) => r.op)).toEqual(['create', 'check', 'enqueue']);

      // A resource that is not stored is at no version; another tenant's is not this tenant's.
      await expectStatus(
        store.resources.writeBatch(tenant, [
          { op: 'check', resourceType: 'Encounter', id: 'absent', versionId: '1' },
        ]),
        412,
      );
      await expectStatus(
        store.resources.writeBatch(newTenant(), [
          { op: 'check', resourceType: 'Encounter', id: visit.id, versionId: '2' },
        ]),
        412,
      );
      // The check wrote nothing: the resource's version and history are as they were.
      expect((await store.resources.read(tenant, 'Encounter', visit.id)).meta.versionId).toBe('2');
      expect((await store.resources.history(tenant, 'Encounter', visit.id)).total).toBe(2);
    });
  });

  describe('a reference parameter narrowed to some target types (patient beside subject, entity, target)', () => {
    it('matches exactly the resources whose wider parameter holds a reference of those types', async (store) => {
      const tenant = newTenant();
      await store.resources.create(tenant, auditEvent('ae-a', ['Patient/a']), { id: 'ae-a' });
      await store.resources.create(tenant, auditEvent('ae-b', ['Claim/c', 'Patient/b']), { id: 'ae-b' });
      await store.resources.create(tenant, auditEvent('ae-c', ['Claim/c']), { id: 'ae-c' });
      const ids = async (resourceType: string, filters: StoreFilter[]): Promise<string[]> =>
        (await store.resources.search(tenant, query(resourceType, filters))).resources
          .map((r) => r.id)
          .sort();
      expect(await ids('AuditEvent', [ref('patient', ['Patient/a'])])).toEqual(['ae-a']);
      expect(await ids('AuditEvent', [ref('patient', ['Patient/a', 'Patient/b'])])).toEqual(['ae-a', 'ae-b']);
      expect(await ids('AuditEvent', [ref('entity', ['Claim/c'])])).toEqual(['ae-b', 'ae-c']);
      // A value of another type is no patient: it matches nothing, as it never did.
      expect(await ids('AuditEvent', [ref('patient', ['Claim/c'])])).toEqual([]);
      expect(await ids('AuditEvent', [ref('patient', ['Claim/c', 'Patient/b'])])).toEqual(['ae-b']);
      expect(await ids('AuditEvent', [ref('patient', ['Patient/b']), ref('entity', ['Claim/c'])])).toEqual([
        'ae-b',
      ]);
      expect(await ids('AuditEvent', [ref('patient', ['Patient/b']), ref('entity', ['Patient/a'])])).toEqual(
        [],
      );

      const inGroup = await store.resources.create(tenant, {
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: ACT_CODE_SYSTEM, code: 'AMB' },
        subject: { reference: 'Group/g' },
      });
      const ofPatient = await store.resources.create(
        tenant,
        encounter({ patientId: 'a', period: { start: '2024-03-10T10:00:00Z' } }),
      );
      expect(await ids('Encounter', [ref('patient', ['Patient/a'])])).toEqual([ofPatient.resource.id]);
      expect(await ids('Encounter', [ref('subject', ['Group/g'])])).toEqual([inGroup.resource.id]);
      expect(await ids('Encounter', [ref('patient', ['Group/g'])])).toEqual([]);
    });
  });

  describe('an alias (date beside occurrence on ChargeItem, effective-time on MedicationAdministration)', () => {
    it('filters and sorts as the parameter it is answered from', async (store) => {
      const tenant = newTenant();
      const charge = (id: string, day: string): ChargeItem & { id: string } => ({
        resourceType: 'ChargeItem',
        id,
        status: 'billable',
        code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '96365' }] },
        subject: { reference: 'Patient/a' },
        occurrenceDateTime: day,
      });
      for (const [id, day] of [
        ['ci-2', '2026-03-02'],
        ['ci-1', '2026-03-01'],
        ['ci-3', '2026-03-03'],
      ] as const) {
        await store.resources.create(tenant, charge(id, day), { id });
      }
      const ids = async (filters: StoreFilter[], extra?: Partial<StoreQuery>): Promise<string[]> =>
        (await store.resources.search(tenant, query('ChargeItem', filters, extra))).resources.map(
          (r) => r.id,
        );
      const from = (code: string): StoreFilter => ({
        code,
        kind: 'date',
        prefix: 'ge',
        start: '2026-03-02T00:00:00.000Z',
        end: '2026-03-02T23:59:59.999Z',
      });
      expect((await ids([from('date')])).sort()).toEqual(['ci-2', 'ci-3']);
      expect((await ids([from('occurrence')])).sort()).toEqual(['ci-2', 'ci-3']);
      expect(await ids([], { sort: [{ code: 'date', descending: true }] })).toEqual(['ci-3', 'ci-2', 'ci-1']);
      expect(await ids([], { sort: [{ code: 'date', descending: false }] })).toEqual([
        'ci-1',
        'ci-2',
        'ci-3',
      ]);
    });
  });

  describe('conditional create (ifNoneExistIdentifier)', () => {
    it('a hit returns the existing resource with created=false and writes nothing', async (store) => {
      const tenant = newTenant();
      const first = await store.resources.create(tenant, patient({ mrn: 'COND-1', family: 'Original' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'COND-1' },
      });
      expect(first.created).toBe(true);
      const again = await store.resources.create(tenant, patient({ mrn: 'COND-1', family: 'Duplicate' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'COND-1' },
      });
      expect(again.created).toBe(false);
      expect(again.resource).toEqual(first.resource);
      const found = await store.resources.search(tenant, query('Patient', [], { total: true }));
      expect(found.total).toBe(1);
      expect((await store.resources.history(tenant, 'Patient', first.resource.id)).total).toBe(1);
    });

    it('matches on system and value; without system matches any system', async (store) => {
      const tenant = newTenant();
      const first = await store.resources.create(tenant, patient({ mrn: 'COND-2' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'COND-2' },
      });
      const otherSystem = await store.resources.create(tenant, patient({ mrn: 'COND-2' }), {
        ifNoneExistIdentifier: { system: 'urn:other', value: 'COND-2' },
      });
      expect(otherSystem.created).toBe(true);
      const anySystem = await store.resources.create(
        tenant,
        coverage({ patientId: 'x', payorId: 'y', memberId: 'Z' }),
        {
          ifNoneExistIdentifier: { value: 'Z' },
        },
      );
      expect(anySystem.created).toBe(true);
      const anySystemHit = await store.resources.create(
        tenant,
        coverage({ patientId: 'x', payorId: 'y', memberId: 'Z' }),
        { ifNoneExistIdentifier: { value: 'Z' } },
      );
      expect(anySystemHit.created).toBe(false);
      expect(anySystemHit.resource.id).toBe(anySystem.resource.id);
      // Another type with the same identifier is not a hit.
      const otherType = await store.resources.create(
        tenant,
        { ...organization('Acme', 'COND-2') },
        { ifNoneExistIdentifier: { value: 'COND-2' } },
      );
      expect(otherType.created).toBe(true);
      expect(first.resource.id).not.toBe(otherSystem.resource.id);
    });

    it('uses the current version: an identifier removed by an update no longer matches', async (store) => {
      const tenant = newTenant();
      const created = (
        await store.resources.create(tenant, patient({ mrn: 'OLD' }), {
          ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'OLD' },
        })
      ).resource as Patient & StoredResource;
      await store.resources.update(tenant, {
        ...created,
        identifier: [{ system: MRN_SYSTEM, value: 'NEW' }],
      });
      const old = await store.resources.create(tenant, patient({ mrn: 'OLD' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'OLD' },
      });
      expect(old.created).toBe(true);
      const renamed = await store.resources.create(tenant, patient({ mrn: 'NEW' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'NEW' },
      });
      expect(renamed.created).toBe(false);
      expect(renamed.resource.id).toBe(created.id);
    });

    it('concurrent conditional creates of one identifier yield exactly one resource', async (store) => {
      const tenant = newTenant();
      const results = await Promise.all(
        Array.from({ length: 12 }, () =>
          store.resources.create(tenant, patient({ mrn: 'RACE-1' }), {
            ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'RACE-1' },
          }),
        ),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.resource.id)).size).toBe(1);
      const found = await store.resources.search(
        tenant,
        query(
          'Patient',
          [{ code: 'identifier', kind: 'token', values: [{ system: MRN_SYSTEM, value: 'RACE-1' }] }],
          {
            total: true,
          },
        ),
      );
      expect(found.total).toBe(1);
    });
  });

  describe('tenant isolation', () => {
    it('tenant B can never read, vread, history, search or update tenant A data', async (store) => {
      const a = newTenant();
      const b = newTenant();
      const pa = (await store.resources.create(a, patient({ mrn: 'ISO-1', family: 'Tenanta' }))).resource;
      const ea = (
        await store.resources.create(
          a,
          encounter({
            patientId: pa.id,
            period: { start: '2024-05-01T09:00:00Z', end: '2024-05-01T11:00:00Z' },
          }),
        )
      ).resource;

      await expectStatus(store.resources.read(b, 'Patient', pa.id), 404);
      await expectStatus(store.resources.readJson(b, 'Patient', pa.id), 404);
      await expectStatus(store.resources.vread(b, 'Patient', pa.id, '1'), 404);
      await expectStatus(store.resources.history(b, 'Patient', pa.id), 404);
      await expectStatus(
        store.resources.update(b, { ...(pa as Patient & StoredResource) }, { upsert: false }),
        404,
      );

      const searches: StoreQuery[] = [
        query('Patient', []),
        query('Patient', [{ code: '_id', kind: 'token', values: [{ value: pa.id }] }]),
        query('Patient', [
          { code: 'identifier', kind: 'token', values: [{ system: MRN_SYSTEM, value: 'ISO-1' }] },
        ]),
        query('Patient', [{ code: 'name', kind: 'string', values: ['tenanta'] }]),
        query('Encounter', [{ code: 'patient', kind: 'reference', values: [`Patient/${pa.id}`] }]),
        query('Encounter', [
          dateFilter('date', 'ge', '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z'),
        ]),
        query('Encounter', [
          { code: 'status', kind: 'token', values: [{ value: 'in-progress' }], not: true },
        ]),
      ];
      for (const q of searches) {
        const inB = await store.resources.search(b, { ...q, total: true });
        expect(inB.resources).toEqual([]);
        expect(inB.total).toBe(0);
        expect((await store.resources.search(a, { ...q, total: true })).total).toBe(1);
      }

      // Conditional create in B does not see A's identifier.
      const inB = await store.resources.create(b, patient({ mrn: 'ISO-1' }), {
        ifNoneExistIdentifier: { system: MRN_SYSTEM, value: 'ISO-1' },
      });
      expect(inB.created).toBe(true);

      // An upsert in B with A's id creates B's own resource and leaves A's untouched.
      const upsertB = await store.resources.update(b, {
        ...(pa as Patient & StoredResource),
        name: [{ family: 'Tenantb' }],
      });
      expect(upsertB.resource.meta.versionId).toBe('1');
      const stillA = (await store.resources.read(a, 'Patient', pa.id)) as Patient & StoredResource;
      expect(stillA.name?.[0]?.family).toBe('Tenanta');
      expect(stillA.meta.versionId).toBe('1');
      expect((await store.resources.read(a, 'Encounter', ea.id)).id).toBe(ea.id);

      // writeBatch in B cannot update A's resource either.
      await expectStatus(
        store.resources.writeBatch(b, [
          { op: 'update', resource: { ...(ea as Encounter & StoredResource) }, options: { upsert: false } },
        ]),
        404,
      );
    });

    it('jobs: same key in two tenants are two jobs; lists are per tenant; leases carry the tenant', async (store) => {
      const a = newTenant();
      const b = newTenant();
      const queue = newQueue();
      const ja = await store.jobs.enqueue(a, { queue, key: 'k', payload: { for: 'a' }, runAt: past() });
      const jb = await store.jobs.enqueue(b, { queue, key: 'k', payload: { for: 'b' }, runAt: past() });
      expect(ja.created && jb.created).toBe(true);
      expect(ja.jobId).not.toBe(jb.jobId);
      expect((await store.jobs.listJobs(a, queue, 'ready', 10)).map((j) => j.id)).toEqual([ja.jobId]);
      expect((await store.jobs.listJobs(b, queue, 'ready', 10)).map((j) => j.id)).toEqual([jb.jobId]);
      const leased = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now: new Date() });
      expect(leased).toHaveLength(2);
      const byId = new Map(leased.map((j) => [j.id, j]));
      expect(byId.get(ja.jobId)?.tenant).toBe(a);
      expect(byId.get(ja.jobId)?.payload).toEqual({ for: 'a' });
      expect(byId.get(jb.jobId)?.tenant).toBe(b);
      expect(byId.get(jb.jobId)?.payload).toEqual({ for: 'b' });
      expect((await store.jobs.getJob(ja.jobId))?.tenant).toBe(a);
    });
  });
}
