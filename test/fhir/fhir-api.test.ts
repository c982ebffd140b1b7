import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { administration, encounter, patient } from './fixtures.ts';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token('sandbox', 'system/*.cruds');
});
afterAll(async () => {
  await server.stop();
});

async function create(resource: any): Promise<any> {
  const res = await fhirFetch(`${server.fhir}/${resource.resourceType}`, token, {
    method: 'POST',
    body: resource,
  });
  expect(res.status).toBe(201);
  return res.body;
}

describe('public endpoints', () => {
  test('metadata lists exactly the supported types, interactions and search parameters', async () => {
    const res = await fhirFetch(`${server.fhir}/metadata`, undefined);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/fhir+json');
    const rest = res.body.rest[0];
    const types = rest.resource.map((r: any) => r.type);
    expect(types).toEqual(
      expect.arrayContaining(['Patient', 'Claim', 'ChargeItem', 'AuditEvent', 'Provenance']),
    );
    const audit = rest.resource.find((r: any) => r.type === 'AuditEvent');
    expect(audit.interaction.map((i: any) => i.code)).toEqual(['read', 'vread', 'search-type']);
    const ma = rest.resource.find((r: any) => r.type === 'MedicationAdministration');
    expect(ma.searchParam.map((p: any) => p.name)).toEqual(
      expect.arrayContaining(['patient', 'encounter', 'status', 'date']),
    );
    expect(rest.security.service[0].coding[0].code).toBe('SMART-on-FHIR');
  });

  test('smart-configuration advertises backend services', async () => {
    const res = await fhirFetch(`${server.fhir}/.well-known/smart-configuration`, undefined);
    expect(res.status).toBe(200);
    expect(res.body.token_endpoint).toBe(`${server.url}/oauth2/token`);
    expect(res.body.token_endpoint_auth_signing_alg_values_supported).toEqual(['RS384', 'ES384']);
    expect(res.body.capabilities).toContain('client-confidential-asymmetric');
  });
});

describe('CRUD and versioning', () => {
  test('create, read, vread, update with If-Match, history', async () => {
    const created = await create(patient('MRN-1001'));
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.meta.versionId).toBe('1');

    const read = await fhirFetch(`${server.fhir}/Patient/${created.id}`, token);
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('W/"1"');
    expect(read.body.name[0].family).toBe('Alvarez');

    const updated = await fhirFetch(`${server.fhir}/Patient/${created.id}`, token, {
      method: 'PUT',
      body: { ...read.body, name: [{ family: 'Alvarez-Ruiz' }] },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.meta.versionId).toBe('2');

    const stale = await fhirFetch(`${server.fhir}/Patient/${created.id}`, token, {
      method: 'PUT',
      body: { ...read.body, name: [{ family: 'Lost update' }] },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');

    const v1 = await fhirFetch(`${server.fhir}/Patient/${created.id}/_history/1`, token);
    expect(v1.status).toBe(200);
    expect(v1.body.name[0].family).toBe('Alvarez');

    const history = await fhirFetch(`${server.fhir}/Patient/${created.id}/_history`, token);
    expect(history.status).toBe(200);
    expect(history.body.type).toBe('history');
    expect(history.body.entry.map((e: any) => e.resource.meta.versionId)).toEqual(['2', '1']);
  });

  test('a read answers the current version with its ETag and Last-Modified, audited naming its patient', async () => {
    const p = await create(patient('MRN-READ-AUDIT'));
    const e = await create(encounter(p.id, '2024-05-01T09:00:00Z', '2024-05-01T11:00:00Z'));
    const updated = await fhirFetch(`${server.fhir}/Encounter/${e.id}`, token, {
      method: 'PUT',
      body: { ...e, status: 'cancelled' },
    });
    expect(updated.status).toBe(200);
    for (const [resource, type] of [
      [p, 'Patient'],
      [updated.body, 'Encounter'],
    ] as const) {
      const plain = await fhirFetch(`${server.fhir}/${type}/${resource.id}`, token);
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toContain('application/fhir+json');
      expect(plain.body).toEqual(resource);
      expect(plain.headers.get('etag')).toBe(`W/"${resource.meta.versionId}"`);
      expect(plain.headers.get('last-modified')).toBe(new Date(resource.meta.lastUpdated).toUTCString());
      // With a query string the read goes through fhir-router: the same answer.
      const viaRouter = await fhirFetch(`${server.fhir}/${type}/${resource.id}?_format=json`, token);
      expect(viaRouter.status).toBe(200);
      expect(viaRouter.body).toEqual(plain.body);
      expect(viaRouter.headers.get('etag')).toBe(plain.headers.get('etag'));
      expect(viaRouter.headers.get('last-modified')).toBe(plain.headers.get('last-modified'));
    }
    const audits = await fhirFetch(
      `${server.fhir}/AuditEvent?entity=Encounter/${e.id},Patient/${p.id}`,
      token,
    );
    const reads = audits.body.entry
      .map((x: any) => x.resource)
      .filter((a: any) => a.subtype[0].code === 'read');
    expect(reads).toHaveLength(4);
    for (const a of reads) {
      const what = a.entity.find((x: any) => x.type.code === '2').what.reference;
      expect([`Patient/${p.id}`, `Encounter/${e.id}`]).toContain(what);
      expect(a.entity.filter((x: any) => x.role?.code === '1').map((x: any) => x.what.reference)).toEqual([
        `Patient/${p.id}`,
      ]);
      expect(a.agent[0].who.identifier.value).toBeDefined();
      expect(a.action).toBe('R');
    }
    const missing = await fhirFetch(`${server.fhir}/Patient/no-such-patient`, token);
    expect(missing.status).toBe(404);
    expect(missing.body.resourceType).toBe('OperationOutcome');
  });

  test('update of an unknown id is 404 (no update-as-create)', async () => {
    const res = await fhirFetch(`${server.fhir}/Patient/does-not-exist`, token, {
      method: 'PUT',
      body: { ...patient('X'), id: 'does-not-exist' },
    });
    expect(res.status).toBe(404);
  });

  test('conditional create by identifier returns the existing resource', async () => {
    const body = patient('MRN-COND-1');
    const ifNoneExist = { 'if-none-exist': `identifier=${body.identifier[0].system}|MRN-COND-1` };
    const first = await fhirFetch(`${server.fhir}/Patient`, token, {
      method: 'POST',
      body,
      headers: ifNoneExist,
    });
    const second = await fhirFetch(`${server.fhir}/Patient`, token, {
      method: 'POST',
      body,
      headers: ifNoneExist,
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    const search = await fhirFetch(`${server.fhir}/Patient?identifier=MRN-COND-1`, token);
    expect(search.body.total).toBe(1);
  });
});

describe('search', () => {
  let patientId: string;
  let encounterIds: string[];

  beforeAll(async () => {
    patientId = (await create(patient('MRN-SEARCH', 'Nguyễn'))).id;
    encounterIds = [];
    for (const day of ['2026-11-02', '2026-11-09', '2026-11-16']) {
      const enc = await create(encounter(patientId, `${day}T13:00:00Z`, `${day}T16:00:00Z`));
      encounterIds.push(enc.id);
      await create(administration(patientId, enc.id, `${day}T13:30:00Z`, `${day}T15:30:00Z`));
    }
    await create(encounter(patientId, '2026-11-23T13:00:00Z', undefined, 'in-progress'));
  });

  test('by patient, status and date with prefixes', async () => {
    const all = await fhirFetch(`${server.fhir}/Encounter?patient=Patient/${patientId}`, token);
    expect(all.body.total).toBe(4);
    const finished = await fhirFetch(`${server.fhir}/Encounter?patient=${patientId}&status=finished`, token);
    expect(finished.body.total).toBe(3);
    const onDay = await fhirFetch(`${server.fhir}/Encounter?patient=${patientId}&date=2026-11-09`, token);
    expect(onDay.body.entry.map((e: any) => e.resource.id)).toEqual([encounterIds[1]]);
    const after = await fhirFetch(`${server.fhir}/Encounter?patient=${patientId}&date=ge2026-11-10`, token);
    expect(after.body.total).toBe(2);
  });

  test('dates before 1901 are searchable, each on its own day', async () => {
    // Fix: Date.UTC read the year 1 as 1901, so every date before 1901 was indexed (and searched)
    // as the same empty range at 0001-01-01: a search for one such day found all of them.
    const born1899 = (await create({ ...patient('MRN-1899', 'Oldest'), birthDate: '1899-03-04' })).id;
    const born1850 = (await create({ ...patient('MRN-1850', 'Oldest'), birthDate: '1850-07-01' })).id;
    const ids = async (query: string): Promise<string[]> =>
      (await fhirFetch(`${server.fhir}/Patient?family=Oldest&${query}`, token)).body.entry?.map(
        (e: any) => e.resource.id,
      ) ?? [];
    expect(await ids('birthdate=1899-03-04')).toEqual([born1899]);
    expect(await ids('birthdate=1850')).toEqual([born1850]);
    expect(await ids('birthdate=lt1860')).toEqual([born1850]);
    expect((await ids('birthdate=ge1899')).sort()).toEqual([born1899]);
  });

  test('string search ignores case and accents', async () => {
    const res = await fhirFetch(`${server.fhir}/Patient?name=NGUYEN`, token);
    expect(res.body.total).toBe(1);
    expect(res.body.entry[0].resource.id).toBe(patientId);
  });

  test('_count, _sort and paging links', async () => {
    const page1 = await fhirFetch(
      `${server.fhir}/Encounter?patient=${patientId}&_sort=-date&_count=2`,
      token,
    );
    expect(page1.body.entry).toHaveLength(2);
    expect(page1.body.entry[0].resource.period.start).toBe('2026-11-23T13:00:00Z');
    const next = page1.body.link.find((l: any) => l.relation === 'next');
    expect(next.url).toContain('_offset=2');
    const page2 = await fhirFetch(next.url, token);
    expect(page2.body.entry.map((e: any) => e.resource.period.start)).toEqual([
      '2026-11-09T13:00:00Z',
      '2026-11-02T13:00:00Z',
    ]);
    expect(page2.body.link.find((l: any) => l.relation === 'next')).toBeUndefined();
  });

  test('_include and _revinclude', async () => {
    const inc = await fhirFetch(
      `${server.fhir}/MedicationAdministration?encounter=Encounter/${encounterIds[0]}&_include=MedicationAdministration:encounter`,
      token,
    );
    const modes = inc.body.entry.map((e: any) => `${e.resource.resourceType}:${e.search.mode}`);
    expect(modes).toEqual(['MedicationAdministration:match', 'Encounter:include']);
    const rev = await fhirFetch(
      `${server.fhir}/Encounter?_id=${encounterIds[2]}&_revinclude=MedicationAdministration:encounter`,
      token,
    );
    expect(rev.body.entry.map((e: any) => e.resource.resourceType)).toEqual([
      'Encounter',
      'MedicationAdministration',
    ]);
  });

  test('_lastUpdated', async () => {
    const res = await fhirFetch(
      `${server.fhir}/Encounter?patient=${patientId}&_lastUpdated=gt2020-01-01`,
      token,
    );
    expect(res.body.total).toBe(4);
    const none = await fhirFetch(
      `${server.fhir}/Encounter?patient=${patientId}&_lastUpdated=lt2020-01-01`,
      token,
    );
    expect(none.body.total).toBe(0);
  });
});
