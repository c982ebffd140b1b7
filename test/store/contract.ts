/**
 * The storage contract: every Store adapter (embedded SQLite, MongoDB) must pass this suite, which
 * talks to the adapter through the port (src/store/port.ts) only.
 *
 * Isolation inside one store: each test works in its own random tenant and its own random job
 * queue, so tests never see each other's data (lease() is cross-tenant, hence the per-test queue).
 *
 * Behaviour pinned here where port.ts leaves room (see each test):
 * - `ifNoneExistIdentifier` without `system` matches the value under any system (FHIR token rule).
 * - create with an explicit id that already exists → 409.
 * - a lease that expires on the job's final attempt dead-letters the job on the next lease() call.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { Encounter, Patient, Resource } from '@medplum/fhirtypes';
import type {
  ClientRecord,
  DatePrefix,
  Job,
  StoredResource,
  Store,
  StoreFilter,
  StoreQuery,
  StoreSearchResult,
  TenantId,
} from '../../src/store/port.ts';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import {
  ACT_CODE_SYSTEM,
  auditEvent,
  claim,
  coverage,
  encounter,
  medicationAdministration,
  MEMBER_SYSTEM,
  MRN_SYSTEM,
  organization,
  patient,
  RXNORM,
} from './fixtures.ts';

const warned = new Set<string>();

function warnOnce(message: string): void {
  if (!warned.has(message)) {
    warned.add(message);
    console.warn(message);
  }
}

export function describeStoreContract(
  name: string,
  open: () => Promise<Store | undefined>,
  skipReason?: string,
): void {
  if (skipReason !== undefined) {
    const message = `${name} contract skipped: ${skipReason}`;
    describe(`${name} store contract`, () => {
      warnOnce(message);
      test.skip(message, () => undefined);
    });
    return;
  }

  describe(`${name} store contract`, () => {
    let opened: Store | undefined;
    let unavailable = false;

    beforeAll(async () => {
      opened = await open();
      if (!opened) {
        unavailable = true;
        warnOnce(`${name} contract skipped: open() yielded no store`);
      }
    });

    afterAll(async () => {
      await opened?.close();
    });

    /** A test that becomes a no-op (after one warning) when the store could not be opened. */
    function it(title: string, fn: (store: Store) => Promise<void>): void {
      test(title, async () => {
        if (unavailable || !opened) {
          return;
        }
        await fn(opened);
      });
    }

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
        await expectStatus(
          store.resources.create(tenant, patient({ mrn: 'A' }), { id: 'x'.repeat(65) }),
          400,
        );
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
        expect(await ids('AuditEvent', [ref('patient', ['Patient/a', 'Patient/b'])])).toEqual([
          'ae-a',
          'ae-b',
        ]);
        expect(await ids('AuditEvent', [ref('entity', ['Claim/c'])])).toEqual(['ae-b', 'ae-c']);
        // A value of another type is no patient: it matches nothing, as it never did.
        expect(await ids('AuditEvent', [ref('patient', ['Claim/c'])])).toEqual([]);
        expect(await ids('AuditEvent', [ref('patient', ['Claim/c', 'Patient/b'])])).toEqual(['ae-b']);
        expect(await ids('AuditEvent', [ref('patient', ['Patient/b']), ref('entity', ['Claim/c'])])).toEqual([
          'ae-b',
        ]);
        expect(
          await ids('AuditEvent', [ref('patient', ['Patient/b']), ref('entity', ['Patient/a'])]),
        ).toEqual([]);

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

    describe('search', () => {
      /** One tenant with a small infusion clinic's worth of data, shared by the search tests. */
      let tenant: TenantId;
      const ids: Record<string, string> = {};

      beforeAll(async () => {
        const store = opened;
        if (!store) {
          return;
        }
        tenant = newTenant();
        const create = async (key: string, resource: Resource, id?: string): Promise<void> => {
          ids[key] = (await store.resources.create(tenant, resource, id ? { id } : undefined)).resource.id;
        };
        await create(
          'muller',
          patient({ mrn: 'S-1', family: 'Müller', given: ['Zoë'], birthDate: '1980-05', gender: 'female' }),
        );
        await create(
          'nguyen',
          patient({ mrn: 'S-2', family: 'Nguyen', given: ['Anh'], birthDate: '1975-11-30', gender: 'male' }),
        );
        await create(
          'mullins',
          patient({ mrn: 'S-3', family: 'MULLINS', given: ['José'], birthDate: '1990', gender: 'other' }),
        );
        // A patient whose gender is coded with a system (to tell "|code" from "code").
        await create('ostergaard', {
          resourceType: 'Patient',
          identifier: [{ value: 'S-4-NO-SYSTEM' }],
          name: [{ family: 'Østergaard' }],
        });
        const muller = ids['muller']!;
        const nguyen = ids['nguyen']!;
        // Encounters with ids chosen so the id tie-breaker is predictable.
        await create(
          'e1',
          encounter({
            patientId: muller,
            period: { start: '2024-03-10T10:00:00Z', end: '2024-03-10T12:00:00Z' },
            visitNumber: 'V-1',
          }),
          'enc-b',
        );
        await create(
          'e2',
          encounter({
            patientId: muller,
            period: { start: '2024-03-12', end: '2024-03-12' },
            classCode: 'IMP',
            status: 'in-progress',
          }),
          'enc-d',
        );
        await create(
          'e3',
          encounter({
            patientId: nguyen,
            period: { start: '2024-03-01T08:00:00Z', end: '2024-03-01T09:00:00Z' },
            status: 'cancelled',
          }),
          'enc-c',
        );
        await create(
          'e4',
          encounter({ patientId: nguyen, period: { start: '2024-03-05T00:00:00Z' } }),
          'enc-a',
        );
        await create('e5', encounter({ patientId: nguyen, status: 'planned' }), 'enc-e'); // no period
        // Same start as e1, to exercise the id tie-breaker.
        await create(
          'e6',
          encounter({
            patientId: nguyen,
            period: { start: '2024-03-10T10:00:00Z', end: '2024-03-10T11:00:00Z' },
          }),
          'enc-0',
        );
        await create(
          'ma1',
          medicationAdministration({
            patientId: muller,
            encounterId: 'enc-b',
            effectivePeriod: { start: '2024-03-10T10:15:00-05:00', end: '2024-03-10T11:45:00-05:00' },
          }),
        );
        await create(
          'ma2',
          medicationAdministration({
            patientId: nguyen,
            encounterId: 'enc-c',
            effectivePeriod: { start: '2024-03-01T08:10:00Z', end: '2024-03-01T08:50:00Z' },
            rxnorm: '1defunct',
            status: 'stopped',
          }),
        );
        await create('payer', organization('Blue Prairie Health Plan', '1234567893'));
        await create('cov1', coverage({ patientId: muller, payorId: ids['payer']!, memberId: 'MEM-001' }));
        await create(
          'claim1',
          claim({
            patientId: muller,
            encounterId: 'enc-b',
            coverageId: ids['cov1']!,
            billablePeriod: { start: '2024-03-10', end: '2024-03-10' },
            created: '2024-03-11T15:04:05Z',
            claimNumber: 'CLM-0001',
          }),
        );
      });

      async function find(q: StoreQuery): Promise<string[]> {
        const store = opened!;
        return (await store.resources.search(tenant, q)).resources.map((r) => r.id);
      }

      function key(id: string): string {
        return Object.entries(ids).find(([, v]) => v === id)?.[0] ?? id;
      }

      async function findKeys(q: StoreQuery): Promise<string[]> {
        return (await find(q)).map(key).sort();
      }

      it('token: code without system, with system, |code, identifier, several values OR-ed', async () => {
        expect(await findKeys(query('Encounter', [token('status', [{ value: 'finished' }])]))).toEqual([
          'e1',
          'e4',
          'e6',
        ]);
        expect(
          await findKeys(query('Encounter', [token('class', [{ system: ACT_CODE_SYSTEM, value: 'IMP' }])])),
        ).toEqual(['e2']);
        expect(
          await findKeys(query('Encounter', [token('class', [{ system: 'urn:wrong', value: 'IMP' }])])),
        ).toEqual([]);
        expect(await findKeys(query('Encounter', [token('class', [{ value: 'IMP' }])]))).toEqual(['e2']);
        // "|IMP": only codes without a system; the class coding has one.
        expect(
          await findKeys(query('Encounter', [token('class', [{ system: null, value: 'IMP' }])])),
        ).toEqual([]);
        // gender is a plain code: no system, so "|female" matches.
        expect(
          await findKeys(query('Patient', [token('gender', [{ system: null, value: 'female' }])])),
        ).toEqual(['muller']);
        expect(
          await findKeys(query('Patient', [token('identifier', [{ system: null, value: 'S-4-NO-SYSTEM' }])])),
        ).toEqual(['ostergaard']);
        expect(
          await findKeys(query('Patient', [token('identifier', [{ system: null, value: 'S-1' }])])),
        ).toEqual([]);
        expect(
          await findKeys(query('Patient', [token('identifier', [{ system: MRN_SYSTEM, value: 'S-2' }])])),
        ).toEqual(['nguyen']);
        expect(
          await findKeys(
            query('Encounter', [
              token('status', [{ value: 'cancelled' }, { value: 'planned' }, { value: 'nope' }]),
            ]),
          ),
        ).toEqual(['e3', 'e5']);
        expect(
          await findKeys(
            query('MedicationAdministration', [token('code', [{ system: RXNORM, value: '1791701' }])]),
          ),
        ).toEqual(['ma1']);
        expect(
          await findKeys(
            query('Coverage', [token('identifier', [{ system: MEMBER_SYSTEM, value: 'MEM-001' }])]),
          ),
        ).toEqual(['cov1']);
      });

      it('token :not excludes resources having a matching entry (and keeps those without the code)', async () => {
        expect(
          await findKeys(
            query('Encounter', [token('status', [{ value: 'finished' }, { value: 'planned' }], true)]),
          ),
        ).toEqual(['e2', 'e3']);
        expect(await findKeys(query('Patient', [token('gender', [{ value: 'female' }], true)]))).toEqual([
          'mullins',
          'nguyen',
          'ostergaard',
        ]);
      });

      it('reference: exact "Type/id", several values OR-ed, combined with other filters', async () => {
        const muller = ids['muller']!;
        const nguyen = ids['nguyen']!;
        expect(await findKeys(query('Encounter', [ref('patient', [`Patient/${muller}`])]))).toEqual([
          'e1',
          'e2',
        ]);
        expect(
          await findKeys(query('Encounter', [ref('subject', [`Patient/${muller}`, `Patient/${nguyen}`])])),
        ).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
        expect(
          await findKeys(query('Encounter', [ref('patient', [`Patient/${muller.slice(0, 8)}`])])),
        ).toEqual([]);
        expect(
          await findKeys(query('MedicationAdministration', [ref('encounter', ['Encounter/enc-b'])])),
        ).toEqual(['ma1']);
        expect(
          await findKeys(query('MedicationAdministration', [ref('context', ['Encounter/enc-c'])])),
        ).toEqual(['ma2']);
        expect(await findKeys(query('Claim', [ref('encounter', ['Encounter/enc-b'])]))).toEqual(['claim1']);
        expect(await findKeys(query('Coverage', [ref('payor', [`Organization/${ids['payer']!}`])]))).toEqual([
          'cov1',
        ]);
        expect(
          await findKeys(
            query('Encounter', [
              ref('patient', [`Patient/${nguyen}`]),
              token('status', [{ value: 'finished' }]),
              dateFilter('date', 'ge', '2024-03-06T00:00:00.000Z', '2024-03-07T00:00:00.000Z'),
            ]),
          ),
        ).toEqual(['e4', 'e6']);
      });

      // Entry ranges: e1 [03-10T10, 03-10T12), e2 [03-12, 03-13), e3 [03-01T08, 03-01T09),
      // e4 [03-05, ∞), e6 [03-10T10, 03-10T11), e5 has no period.
      const day = { start: '2024-03-10T00:00:00.000Z', end: '2024-03-11T00:00:00.000Z' };
      const dateCases: [DatePrefix, string[]][] = [
        ['eq', ['e1', 'e6']],
        ['ne', ['e2', 'e3', 'e4']],
        ['lt', ['e3', 'e4']],
        ['gt', ['e2', 'e4']],
        ['le', ['e1', 'e3', 'e4', 'e6']],
        ['ge', ['e1', 'e2', 'e4', 'e6']],
        ['sa', ['e2']],
        ['eb', ['e3']],
      ];
      for (const [prefix, expected] of dateCases) {
        it(`date ${prefix}2024-03-10 on Encounter.period`, async () => {
          expect(
            await findKeys(query('Encounter', [dateFilter('date', prefix, day.start, day.end)])),
          ).toEqual(expected);
        });
      }

      it('date prefixes at the exact boundaries of half-open ranges', async () => {
        const store = opened!;
        const t = newTenant();
        // before = [03-09, 03-10), exact = [03-10, 03-11), after = [03-11, 03-12); value = [03-10, 03-11).
        const mk = async (id: string, d: string): Promise<void> => {
          await store.resources.create(t, encounter({ patientId: 'p', period: { start: d, end: d } }), {
            id,
          });
        };
        await mk('before', '2024-03-09');
        await mk('exact', '2024-03-10');
        await mk('after', '2024-03-11');
        const expected: Record<DatePrefix, string[]> = {
          eq: ['exact'],
          ne: ['after', 'before'],
          lt: ['before'],
          gt: ['after'],
          le: ['before', 'exact'],
          ge: ['after', 'exact'],
          sa: ['after'],
          eb: ['before'],
        };
        for (const [prefix, ids] of Object.entries(expected) as [DatePrefix, string[]][]) {
          const found = await store.resources.search(
            t,
            query('Encounter', [dateFilter('date', prefix, day.start, day.end)]),
          );
          expect({ prefix, ids: found.resources.map((r) => r.id).sort() }).toEqual({ prefix, ids });
        }
      });

      it('date: partial dates (month, year), instants with offsets, Period and partial-date resource values', async () => {
        const month = ['2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z'] as const;
        expect(await findKeys(query('Encounter', [dateFilter('date', 'eq', ...month)]))).toEqual([
          'e1',
          'e2',
          'e3',
          'e6',
        ]);
        expect(await findKeys(query('Encounter', [dateFilter('date', 'ge', ...month)]))).toEqual([
          'e1',
          'e2',
          'e3',
          'e4',
          'e6',
        ]);
        // birthDate 1980-05 covers May 1980: eq 1980 matches, eq 1980-05-10 does not, ge 1980-05-10 does.
        const y1980 = ['1980-01-01T00:00:00.000Z', '1981-01-01T00:00:00.000Z'] as const;
        const may10 = ['1980-05-10T00:00:00.000Z', '1980-05-11T00:00:00.000Z'] as const;
        expect(await findKeys(query('Patient', [dateFilter('birthdate', 'eq', ...y1980)]))).toEqual([
          'muller',
        ]);
        expect(await findKeys(query('Patient', [dateFilter('birthdate', 'eq', ...may10)]))).toEqual([]);
        expect(await findKeys(query('Patient', [dateFilter('birthdate', 'ge', ...may10)]))).toEqual([
          'muller',
          'mullins',
        ]);
        expect(await findKeys(query('Patient', [dateFilter('birthdate', 'lt', ...y1980)]))).toEqual([
          'nguyen',
        ]);
        // ma1 is 10:15-11:45 at -05:00, i.e. 15:15Z-16:45Z.
        const hour15 = ['2024-03-10T15:00:00.000Z', '2024-03-10T16:00:00.000Z'] as const;
        expect(
          await findKeys(query('MedicationAdministration', [dateFilter('effective-time', 'ge', ...hour15)])),
        ).toEqual(['ma1']);
        expect(
          await findKeys(query('MedicationAdministration', [dateFilter('effective-time', 'eq', ...hour15)])),
        ).toEqual([]);
        expect(
          await findKeys(query('MedicationAdministration', [dateFilter('date', 'eq', day.start, day.end)])),
        ).toEqual(['ma1']);
        // Claim.billablePeriod and Claim.created.
        expect(await findKeys(query('Claim', [dateFilter('date', 'eq', day.start, day.end)]))).toEqual([
          'claim1',
        ]);
        expect(await findKeys(query('Claim', [dateFilter('created', 'sa', day.start, day.end)]))).toEqual([
          'claim1',
        ]);
        // Two date filters AND-ed: a range.
        expect(
          await findKeys(
            query('Encounter', [
              dateFilter('date', 'ge', '2024-03-09T00:00:00.000Z', '2024-03-10T00:00:00.000Z'),
              dateFilter('date', 'lt', '2024-03-11T00:00:00.000Z', '2024-03-12T00:00:00.000Z'),
            ]),
          ),
        ).toEqual(['e1', 'e4', 'e6']);
      });

      it('string: prefix by default, exact on request; case- and accent-insensitive; values OR-ed', async () => {
        expect(await findKeys(query('Patient', [str('name', ['mul'])]))).toEqual(['muller', 'mullins']);
        expect(await findKeys(query('Patient', [str('name', ['MÜL'])]))).toEqual(['muller', 'mullins']);
        expect(await findKeys(query('Patient', [str('family', ['muller'])]))).toEqual(['muller']);
        expect(await findKeys(query('Patient', [str('family', ['Müller'], true)]))).toEqual(['muller']);
        expect(await findKeys(query('Patient', [str('family', ['mull'], true)]))).toEqual([]);
        expect(await findKeys(query('Patient', [str('given', ['zoe'])]))).toEqual(['muller']);
        expect(await findKeys(query('Patient', [str('given', ['JOSE'], true)]))).toEqual(['mullins']);
        expect(await findKeys(query('Patient', [str('name', ['anh', 'zo'])]))).toEqual(['muller', 'nguyen']);
        // name covers family and given.
        expect(await findKeys(query('Patient', [str('name', ['jos'])]))).toEqual(['mullins']);
        expect(await findKeys(query('Patient', [str('name', ['xyz'])]))).toEqual([]);
        expect(await findKeys(query('Organization', [str('name', ['blue prairie'])]))).toEqual(['payer']);
        // Ø has no decomposition; it must still match itself case-insensitively.
        expect(await findKeys(query('Patient', [str('family', ['øster'])]))).toEqual(['ostergaard']);
      });

      it('_id: values OR-ed, :not, combined with another filter', async () => {
        expect(
          await findKeys(query('Encounter', [token('_id', [{ value: 'enc-a' }, { value: 'enc-c' }])])),
        ).toEqual(['e3', 'e4']);
        expect(
          await findKeys(
            query('Encounter', [
              token('_id', [{ value: 'enc-a' }, { value: 'enc-c' }]),
              token('status', [{ value: 'finished' }]),
            ]),
          ),
        ).toEqual(['e4']);
        expect(
          await findKeys(query('Encounter', [token('_id', [{ value: 'enc-a' }, { value: 'enc-b' }], true)])),
        ).toEqual(['e2', 'e3', 'e5', 'e6']);
        expect(await findKeys(query('Encounter', [token('_id', [{ value: ids['muller']! }])]))).toEqual([]);
      });

      it('sort: date asc/desc with resources lacking the value first asc and last desc; id breaks ties', async () => {
        // e5 has no date; e6 (enc-0) and e1 (enc-b) share the earliest start 03-10T10:00.
        expect(await find(query('Encounter', [], { sort: [{ code: 'date', descending: false }] }))).toEqual([
          'enc-e',
          'enc-c',
          'enc-a',
          'enc-0',
          'enc-b',
          'enc-d',
        ]);
        expect(await find(query('Encounter', [], { sort: [{ code: 'date', descending: true }] }))).toEqual([
          'enc-d',
          'enc-0',
          'enc-b',
          'enc-a',
          'enc-c',
          'enc-e',
        ]);
        expect(await find(query('Encounter', [], { sort: [{ code: '_id', descending: true }] }))).toEqual([
          'enc-e',
          'enc-d',
          'enc-c',
          'enc-b',
          'enc-a',
          'enc-0',
        ]);
        expect(await find(query('Encounter', []))).toEqual([
          'enc-0',
          'enc-a',
          'enc-b',
          'enc-c',
          'enc-d',
          'enc-e',
        ]);
        // Two sort keys: status, then date descending.
        expect(
          await find(
            query('Encounter', [], {
              sort: [
                { code: 'status', descending: false },
                { code: 'date', descending: true },
              ],
            }),
          ),
        ).toEqual(['enc-c', 'enc-0', 'enc-b', 'enc-a', 'enc-d', 'enc-e']);
        // String sort on normalized family names.
        expect(
          (await find(query('Patient', [], { sort: [{ code: 'family', descending: false }] }))).map(key),
        ).toEqual(['muller', 'mullins', 'nguyen', 'ostergaard']);
      });

      it('sort by _lastUpdated follows write order', async () => {
        const store = opened!;
        const t = newTenant();
        const written: string[] = [];
        for (let i = 0; i < 3; i++) {
          written.push((await store.resources.create(t, patient({ mrn: `LU-${i}` }))).resource.id);
          await sleep(3);
        }
        // Touch the first one: it becomes the most recent.
        const first = await store.resources.read(t, 'Patient', written[0]!);
        await store.resources.update(t, first);
        const asc = (
          await store.resources.search(
            t,
            query('Patient', [], { sort: [{ code: '_lastUpdated', descending: false }] }),
          )
        ).resources.map((r) => r.id);
        expect(asc).toEqual([written[1], written[2], written[0]]);
        const desc = (
          await store.resources.search(
            t,
            query('Patient', [], { sort: [{ code: '_lastUpdated', descending: true }] }),
          )
        ).resources.map((r) => r.id);
        expect(desc).toEqual([written[0], written[2], written[1]]);
      });

      it('count / offset / total', async () => {
        const store = opened!;
        const sorted = ['enc-0', 'enc-a', 'enc-b', 'enc-c', 'enc-d', 'enc-e'];
        const page1 = await store.resources.search(tenant, query('Encounter', [], { count: 4, total: true }));
        expect(page1.resources.map((r) => r.id)).toEqual(sorted.slice(0, 4));
        expect(page1.total).toBe(6);
        const page2 = await store.resources.search(
          tenant,
          query('Encounter', [], { count: 4, offset: 4, total: true }),
        );
        expect(page2.resources.map((r) => r.id)).toEqual(sorted.slice(4));
        expect(page2.total).toBe(6);
        const beyond = await store.resources.search(
          tenant,
          query('Encounter', [], { count: 4, offset: 10, total: true }),
        );
        expect(beyond.resources).toEqual([]);
        expect(beyond.total).toBe(6);
        const countOnly = await store.resources.search(
          tenant,
          query('Encounter', [token('status', [{ value: 'finished' }])], { count: 0, total: true }),
        );
        expect(countOnly.resources).toEqual([]);
        expect(countOnly.total).toBe(3);
        const noTotal: StoreSearchResult = await store.resources.search(
          tenant,
          query('Encounter', [], { count: 2 }),
        );
        expect(noTotal.resources).toHaveLength(2);
        expect(noTotal.total).toBeUndefined();
      });

      it('returns the current version of each resource, with its meta', async () => {
        const store = opened!;
        const t = newTenant();
        const v1 = (await store.resources.create(t, patient({ mrn: 'CUR', family: 'Old' })))
          .resource as Patient & StoredResource;
        const v2 = (await store.resources.update(t, { ...v1, name: [{ family: 'New' }] })).resource;
        expect(
          (await store.resources.search(t, query('Patient', [str('family', ['old'])]))).resources,
        ).toEqual([]);
        const found = await store.resources.search(t, query('Patient', [str('family', ['new'])]));
        expect(found.resources).toEqual([v2]);
      });

      it('_lastUpdated filters on the store-assigned instant', async () => {
        const store = opened!;
        const t = newTenant();
        const a = (await store.resources.create(t, patient({ mrn: 'LUA' }))).resource;
        await sleep(5);
        const b = (await store.resources.create(t, patient({ mrn: 'LUB' }))).resource;
        expect(b.meta.lastUpdated > a.meta.lastUpdated).toBe(true);
        const at = (r: StoredResource): [string, string] => [
          r.meta.lastUpdated,
          new Date(Date.parse(r.meta.lastUpdated) + 1).toISOString(),
        ];
        const lu = async (prefix: DatePrefix, range: [string, string]): Promise<string[]> =>
          (
            await store.resources.search(t, query('Patient', [dateFilter('_lastUpdated', prefix, ...range)]))
          ).resources
            .map((r) => (r.id === a.id ? 'a' : r.id === b.id ? 'b' : r.id))
            .sort();
        expect(await lu('eq', at(a))).toEqual(['a']);
        expect(await lu('ne', at(a))).toEqual(['b']);
        expect(await lu('ge', at(b))).toEqual(['b']);
        expect(await lu('gt', at(a))).toEqual(['b']);
        expect(await lu('lt', at(b))).toEqual(['a']);
        expect(await lu('le', at(a))).toEqual(['a']);
        expect(await lu('sa', at(a))).toEqual(['b']);
        expect(await lu('eb', at(b))).toEqual(['a']);
        const wide: [string, string] = ['2000-01-01T00:00:00.000Z', '2100-01-01T00:00:00.000Z'];
        expect(await lu('eq', wide)).toEqual(['a', 'b']);
      });

      it('keyset paging: afterId continues after the last id seen, with filters, to the end', async () => {
        const store = opened!;
        const t = newTenant();
        const ids = ['k-01', 'k-02', 'k-03', 'k-04', 'k-05', 'k-06', 'k-07'];
        for (const [i, id] of ids.entries()) {
          await store.resources.create(
            t,
            patient({ mrn: `KS${i}`, gender: i % 2 === 0 ? 'female' : 'male' }),
            {
              id,
            },
          );
        }
        const byId = { sort: [{ code: '_id', descending: false }], count: 3 } as const;
        const pages: string[][] = [];
        let afterId: string | undefined;
        for (;;) {
          const page = await store.resources.search(
            t,
            query('Patient', [], { ...byId, ...(afterId !== undefined ? { afterId } : {}) }),
          );
          if (page.resources.length === 0) {
            break;
          }
          pages.push(page.resources.map((r) => r.id));
          afterId = page.resources.at(-1)?.id;
        }
        expect(pages).toEqual([['k-01', 'k-02', 'k-03'], ['k-04', 'k-05', 'k-06'], ['k-07']]);
        const women = await store.resources.search(
          t,
          query('Patient', [token('gender', [{ value: 'female' }])], { ...byId, afterId: 'k-03' }),
        );
        expect(women.resources.map((r) => r.id)).toEqual(['k-05', 'k-07']);
        const past = await store.resources.search(t, query('Patient', [], { ...byId, afterId: 'k-07' }));
        expect(past.resources).toEqual([]);
      });

      it('a type with nothing stored, or an unknown parameter, finds nothing', async () => {
        expect(await find(query('ExplanationOfBenefit', []))).toEqual([]);
        expect(await find(query('Encounter', [token('no-such-param', [{ value: 'x' }])]))).toEqual([]);
      });
    });

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
        const otherNow = (await store.resources.read(tenant, 'Patient', other.id)) as Patient &
          StoredResource;
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
        expect(
          await store.jobs.ackMany(retaken.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken! }))),
        ).toBe(2);
        expect(await store.jobs.listJobs(tenant, queue, 'done', 10)).toHaveLength(5);
        // Acked twice: nothing more.
        expect(
          await store.jobs.ackMany(retaken.map((j) => ({ jobId: j.id, leaseToken: j.leaseToken! }))),
        ).toBe(0);
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
        expect(
          await store.jobs.fail(jobId, job!.leaseToken!, { error: 'second', retryable: true, now }),
        ).toBe(true);
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
        expect(await Promise.all([...untouched, ...again].map((id) => store.jobs.getJob(id)))).toEqual(
          before,
        );
        expect((await store.jobs.getJob(again[2]!))?.runAt).toBe(retryAt);
        // Idempotent: a second wake finds them due already.
        expect(await store.jobs.wake(tenant, queue, 'Patient/p', new Date(wokenAt.getTime() + 1))).toBe(0);
        // Due now, not at their deferred runAt; leased, they wait on nothing any more.
        const due = await store.jobs.lease({ queue, leaseMs: 60_000, limit: 10, now: wokenAt });
        expect(due.map((j) => j.id).sort()).toEqual([...waiting].sort());
        expect(due.map((j) => j.waitKey)).toEqual([undefined, undefined]);
        expect(
          await store.jobs.lease({ queue: otherQueue, leaseMs: 60_000, limit: 10, now: wokenAt }),
        ).toEqual([]);
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
        expect(
          (await store.jobs.enqueue(tenant, { queue: INBOX_QUEUE, key: 'n2', payload: 0 })).created,
        ).toBe(false);
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
        expect((await store.jobs.listJobs(tenant, INBOX_QUEUE, 'done', 10)).map((j) => j.key)).toEqual([
          'n1',
        ]);
        expect((await store.jobs.listJobs(tenant, INBOX_QUEUE, 'ready', 10)).map((j) => j.key)).toEqual([
          'n2',
        ]);
        expect((await store.jobs.getJob(second!.id))?.lastError).toBe('later');
        // Finished inbox jobs are purged where they are; the purged key makes a new job.
        expect(await store.jobs.purgeDone(tenant, INBOX_QUEUE, future(1000).toISOString(), 10)).toBe(1);
        expect(await store.jobs.getJob(first!.id)).toBeUndefined();
        expect(
          (await store.jobs.enqueue(tenant, { queue: INBOX_QUEUE, key: 'n1', payload: 0 })).created,
        ).toBe(true);
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

    describe('auth store', () => {
      it('creates and reads OAuth clients', async (store) => {
        const tenant = newTenant();
        const clientId = `client-${randomUUID()}`;
        const client = {
          clientId,
          tenant,
          name: 'Billing bot',
          scope: 'system/Claim.rs system/Patient.r',
          jwks: {
            keys: [
              {
                kty: 'EC',
                crv: 'P-256',
                x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
                y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
                kid: 'k1',
              },
            ],
          },
          createdAt: new Date().toISOString(),
        };
        await store.auth.createClient(client);
        expect(await store.auth.getClient(clientId)).toEqual(client);
        expect(await store.auth.getClient(`missing-${randomUUID()}`)).toBeUndefined();
        const disabled = { ...client, clientId: `${clientId}-2`, disabled: true };
        await store.auth.createClient(disabled);
        expect(await store.auth.getClient(disabled.clientId)).toEqual(disabled);
      });

      it('lists clients by tenant, oldest first; updates disable a client and replace its keys', async (store) => {
        const tenant = newTenant();
        const key = (kid: string): Record<string, unknown> => ({
          kty: 'EC',
          crv: 'P-256',
          x: 'x',
          y: 'y',
          kid,
        });
        const make = (n: number): ClientRecord => ({
          clientId: `client-${n}-${randomUUID()}`,
          tenant,
          scope: 'system/Claim.rs',
          jwks: { keys: [key(`k${n}`)] },
          createdAt: new Date(Date.UTC(2026, 11, 4, 10, 0, n)).toISOString(),
        });
        const [second, first] = [make(2), make(1)];
        await store.auth.createClient(second);
        await store.auth.createClient(first);
        await store.auth.createClient({ ...make(3), tenant: newTenant() });
        expect((await store.auth.listClients(tenant)).map((c) => c.clientId)).toEqual([
          first.clientId,
          second.clientId,
        ]);
        const all = (await store.auth.listClients()).map((c) => c.clientId);
        expect(all).toEqual(expect.arrayContaining([first.clientId, second.clientId]));
        expect(all.length).toBeGreaterThanOrEqual(3);

        const disabled = await store.auth.updateClient(first.clientId, { disabled: true });
        expect(disabled).toEqual({ ...first, disabled: true });
        expect(await store.auth.getClient(first.clientId)).toEqual({ ...first, disabled: true });
        const rotated = await store.auth.updateClient(first.clientId, { jwks: { keys: [key('k9')] } });
        expect(rotated).toEqual({ ...first, disabled: true, jwks: { keys: [key('k9')] } });
        expect(await store.auth.getClient(second.clientId)).toEqual(second);
        expect(await store.auth.updateClient(`missing-${randomUUID()}`, { disabled: true })).toBeUndefined();
      });

      it('clientRegistryVersion: steady without changes, new after every client change (or undefined)', async (store) => {
        const client: ClientRecord = {
          clientId: `client-${randomUUID()}`,
          tenant: newTenant(),
          scope: 'system/Patient.rs',
          jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] },
          createdAt: new Date().toISOString(),
        };
        const before = await store.auth.clientRegistryVersion();
        await store.auth.getClient(client.clientId);
        const steady = await store.auth.clientRegistryVersion();
        await store.auth.createClient(client);
        const created = await store.auth.clientRegistryVersion();
        await store.auth.updateClient(client.clientId, { disabled: true });
        const disabled = await store.auth.clientRegistryVersion();
        await store.auth.updateClient(client.clientId, {
          jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k2' }] },
        });
        const rekeyed = await store.auth.clientRegistryVersion();
        if (before === undefined) {
          // A store without the signal: every value is undefined, callers always read.
          expect([steady, created, disabled, rekeyed]).toEqual([undefined, undefined, undefined, undefined]);
          return;
        }
        expect(steady).toBe(before);
        expect(new Set([before, created, disabled, rekeyed]).size).toBe(4);
      });

      it('recordJti: fresh once, replay false, scoped per client; an expired entry no longer blocks', async (store) => {
        const clientId = `client-${randomUUID()}`;
        const jti = randomUUID();
        const now = new Date();
        const expiresAt = new Date(now.getTime() + 300_000).toISOString();
        expect(await store.auth.recordJti(clientId, jti, expiresAt, now)).toBe(true);
        expect(await store.auth.recordJti(clientId, jti, expiresAt, now)).toBe(false);
        expect(await store.auth.recordJti(clientId, jti, expiresAt, new Date(now.getTime() + 299_000))).toBe(
          false,
        );
        expect(await store.auth.recordJti(`${clientId}-other`, jti, expiresAt, now)).toBe(true);
        const later = new Date(now.getTime() + 600_000);
        expect(
          await store.auth.recordJti(clientId, jti, new Date(later.getTime() + 300_000).toISOString(), later),
        ).toBe(true);
        const concurrent = await Promise.all(
          Array.from({ length: 8 }, () => store.auth.recordJti(clientId, 'same-jti', expiresAt, now)),
        );
        expect(concurrent.filter(Boolean)).toHaveLength(1);
      });

      it('getOrInitSetting: the first writer wins', async (store) => {
        const key = `signing-key-${randomUUID()}`;
        expect(await store.auth.getOrInitSetting(key, () => 'first')).toBe('first');
        let called = false;
        expect(
          await store.auth.getOrInitSetting(key, () => {
            called = true;
            return 'second';
          }),
        ).toBe('first');
        expect(called).toBe(false);
        const key2 = `race-${randomUUID()}`;
        const values = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.auth.getOrInitSetting(key2, () => `candidate-${i}`)),
        );
        expect(new Set(values).size).toBe(1);
      });
    });

    describe('sequences', () => {
      it('next: 1, 2, 3 … per tenant and name', async (store) => {
        const tenant = newTenant();
        const other = newTenant();
        expect(await store.sequences.next(tenant, 'isa|A|B')).toBe(1);
        expect(await store.sequences.next(tenant, 'isa|A|B')).toBe(2);
        expect(await store.sequences.next(tenant, 'isa|A|C')).toBe(1);
        expect(await store.sequences.next(other, 'isa|A|B')).toBe(1);
        expect(await store.sequences.next(tenant, 'isa|A|B')).toBe(3);
      });

      it('next: concurrent callers never get the same value, and none is skipped', async (store) => {
        const tenant = newTenant();
        const values = await Promise.all(
          Array.from({ length: 40 }, () => store.sequences.next(tenant, 'gs|A')),
        );
        expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      });
    });

    describe('lifecycle', () => {
      it('ping resolves', async (store) => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function newTenant(): TenantId {
  return `tenant-${randomUUID()}`;
}

function newQueue(): string {
  return `queue-${randomUUID()}`;
}

function past(): string {
  return new Date(Date.now() - 60_000).toISOString();
}

function future(ms: number): Date {
  return new Date(Date.now() + ms);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function query(resourceType: string, filters: StoreFilter[], extra?: Partial<StoreQuery>): StoreQuery {
  return { resourceType, filters, sort: [], count: 100, offset: 0, total: false, ...extra };
}

function token(
  code: string,
  values: { system?: string | null; value: string }[],
  not?: boolean,
): StoreFilter {
  return { code, kind: 'token', values, ...(not ? { not } : {}) };
}

function ref(code: string, values: string[]): StoreFilter {
  return { code, kind: 'reference', values };
}

function str(code: string, values: string[], exact?: boolean): StoreFilter {
  return { code, kind: 'string', values, ...(exact ? { exact } : {}) };
}

function dateFilter(code: string, prefix: DatePrefix, start: string, end: string): StoreFilter {
  return { code, kind: 'date', prefix, start, end };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof OperationOutcomeError ? getStatus(err.outcome) : undefined;
}

async function expectStatus(promise: Promise<unknown>, status: number): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  if (error === undefined) {
    throw new Error(`Expected an OperationOutcomeError with status ${status}, but the call succeeded`);
  }
  if (!(error instanceof OperationOutcomeError)) {
    throw error instanceof Error ? error : new Error('non-Error thrown', { cause: error });
  }
  expect(getStatus(error.outcome)).toBe(status);
}
