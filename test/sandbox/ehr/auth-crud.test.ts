/**
 * The sandbox EHR over real HTTP: public metadata, its own token endpoint, bearer + scope checks,
 * and the FHIR REST interactions it serves.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseSearchRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Patient } from '@medplum/fhirtypes';
import { NotifyingRepository } from '../../../src/sandbox/ehr/repository.ts';
import { startSandboxEhr } from '../../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../../src/sandbox/ehr/server.ts';
import { backportSubscription, fhir, MA_TOPIC, tokenFor } from './helpers.ts';

let ehr: SandboxEhr;
let reader: string;
let writer: string;

beforeAll(async () => {
  ehr = await startSandboxEhr({ seed: { date: '2026-11-26', patients: 3, seed: 7 } });
  reader = await tokenFor(ehr, 'system/*.rs');
  writer = await tokenFor(ehr, 'system/*.cruds');
});

afterAll(async () => {
  await ehr.stop();
});

describe('public endpoints', () => {
  test('metadata lists resources and Subscription with the backport profile and operations', async () => {
    const res = await fhir(ehr, undefined, 'metadata');
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('CapabilityStatement');
    const resources = res.body.rest[0].resource;
    expect(resources.map((r: any) => r.type)).toEqual(
      expect.arrayContaining(['Patient', 'Encounter', 'MedicationAdministration', 'Subscription']),
    );
    const subscription = resources.find((r: any) => r.type === 'Subscription');
    expect(subscription.supportedProfile).toEqual([
      'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription',
    ]);
    expect(subscription.operation.map((o: any) => o.name)).toEqual(['status', 'events']);
    expect(subscription.extension.map((e: any) => e.valueCanonical)).toContain(MA_TOPIC);
  });

  test('smart-configuration names the sandbox token endpoint', async () => {
    const res = await fetch(`${ehr.fhirBaseUrl}/.well-known/smart-configuration`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['token_endpoint']).toBe(ehr.tokenUrl);
    expect(body['token_endpoint_auth_methods_supported']).toEqual(['private_key_jwt']);
  });

  test('the JWKS is one RS256 public key, the same to every caller, the first ones at once included', async () => {
    const read = async (): Promise<Record<string, unknown>[]> => {
      const res = await fetch(`${ehr.url}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { keys: Record<string, unknown>[] }).keys;
    };
    const [first, ...others] = await Promise.all([read(), read(), read()]);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(first[0]).not.toHaveProperty('d');
    for (const keys of [...others, await read()]) {
      expect(keys).toEqual(first);
    }
  });
});

describe('authorization', () => {
  test('FHIR routes need a bearer token from the sandbox', async () => {
    const res = await fhir(ehr, undefined, 'Patient');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fhir(ehr, 'not-a-token', 'Patient')).status).toBe(401);
  });

  test('scopes are checked per type and interaction', async () => {
    const patientsOnly = await tokenFor(ehr, 'system/Patient.rs');
    expect((await fhir(ehr, patientsOnly, 'Patient')).status).toBe(200);
    const forbidden = await fhir(ehr, patientsOnly, 'Encounter');
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toContain('insufficient_scope');
    const create = await fhir(ehr, reader, 'Patient', { method: 'POST', body: { resourceType: 'Patient' } });
    expect(create.status).toBe(403);
    const subscription = await fhir(ehr, reader, 'Subscription', {
      method: 'POST',
      body: backportSubscription({ endpoint: 'http://127.0.0.1:9/hook' }),
    });
    expect(subscription.status).toBe(403);
  });

  test('a client cannot get scopes it was not registered for', async () => {
    await expect(tokenFor(ehr, 'patient/*.rs')).rejects.toThrow();
  });
});

describe('FHIR REST', () => {
  test('seeded reference data is readable and searchable', async () => {
    const patients = await fhir(ehr, reader, 'Patient');
    expect(patients.status).toBe(200);
    expect(patients.body.type).toBe('searchset');
    expect(patients.body.entry).toHaveLength(3);
    expect((await ehr.listResources('Patient')).length).toBe(3);
    const id = patients.body.entry[0].resource.id;
    const one = await fhir(ehr, reader, `Patient/${id}`);
    expect(one.status).toBe(200);
    expect(one.headers.get('etag')).toMatch(/^W\/"/);
  });

  test('searches are paged with next links and absolute fullUrls', async () => {
    const all = (await ehr.listResources('Practitioner')).map((r) => r.id);
    expect(all.length).toBeGreaterThan(5);
    const seen: string[] = [];
    let url: string | undefined = `${ehr.fhirBaseUrl}/Practitioner?_count=5`;
    while (url) {
      const page = await fhir(ehr, reader, url.slice(ehr.fhirBaseUrl.length + 1));
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(all.length);
      expect(page.body.entry.length).toBeLessThanOrEqual(5);
      for (const e of page.body.entry) {
        expect(e.fullUrl).toBe(`${ehr.fhirBaseUrl}/Practitioner/${e.resource.id}`);
        seen.push(e.resource.id);
      }
      url = page.body.link.find((l: any) => l.relation === 'next')?.url;
    }
    expect(seen).toEqual(all);
  });

  test('sorted searches answer what MemoryRepository answers: order (ties in write order), totals, pages', async () => {
    // Instants with ties, offsets and a later day; families to sort on as a second key.
    const stamps = ['2026-11-26T10:00:00.000Z', '2026-11-26T09:00:00.000Z', '2026-11-26T10:00:00.000Z'];
    stamps.push('2026-11-26T05:30:00.000-05:00', '2026-11-27T00:00:00.000Z', '2026-11-26T09:00:00.000Z');
    const patients: Patient[] = stamps.map((lastUpdated, i) => ({
      resourceType: 'Patient',
      id: `p${i}`,
      meta: { versionId: `v${i}`, lastUpdated },
      name: [{ family: ['Ortiz', 'Abe', 'Ng'][i % 3] ?? '' }],
    }));
    const sandbox = new NotifyingRepository();
    const reference = new MemoryRepository();
    for (const repo of [sandbox, reference]) {
      await repo.withSeeding(async () => {
        for (const p of patients) {
          await repo.createResource(p, undefined, true);
        }
      });
    }
    const queries = [
      '_sort=_lastUpdated',
      '_sort=-_lastUpdated',
      '_sort=_lastUpdated&_count=2',
      '_sort=_lastUpdated&_count=2&_offset=2',
      '_sort=-_lastUpdated&_count=4&_offset=4',
      '_sort=_lastUpdated&_lastUpdated=gt2026-11-26T09:00:00Z&_count=3',
      '_sort=family,-_lastUpdated',
      '_sort=_lastUpdated&family=Ng',
      '_sort=_lastUpdated&_id=p5,p1,p0&_count=2',
      '_sort=_lastUpdated&family=Nobody',
    ];
    for (const query of queries) {
      const request = parseSearchRequest(`Patient?${query}`);
      const [ours, theirs] = await Promise.all([sandbox.search(request), reference.search(request)]);
      const summary = (b: typeof ours) => ({
        query,
        total: b.total,
        ids: (b.entry ?? []).map((e) => e.resource?.id),
      });
      expect(summary(ours)).toEqual(summary(theirs));
    }
    // The comparison says something: pages differ, and ties keep the order they were written in.
    const tie = await sandbox.search(parseSearchRequest('Patient?_sort=_lastUpdated'));
    expect((tie.entry ?? []).map((e) => e.resource?.id)).toEqual(['p3', 'p1', 'p5', 'p0', 'p2', 'p4']);
  });

  test('_id takes a comma-separated list (any of them), with other parameters and paging', async () => {
    const all = (await ehr.listResources('Practitioner')).map((r) => r.id!);
    const [a, b, c] = all as [string, string, string];
    const found = await fhir(ehr, reader, `Practitioner?_id=${a},${c},no-such-id`);
    expect(found.status).toBe(200);
    expect(found.body.total).toBe(2);
    expect(found.body.entry.map((e: any) => e.resource.id).sort()).toEqual([a, c].sort());
    expect(found.body.entry[0].fullUrl).toMatch(new RegExp(`${ehr.fhirBaseUrl}/Practitioner/(${a}|${c})$`));
    // The comma as a URL-encoded %2C is the same list.
    expect((await fhir(ehr, reader, `Practitioner?_id=${a}%2C${b}`)).body.total).toBe(2);
    // Combined with another parameter (AND), and paged with next links.
    const family = (await ehr.readResource('Practitioner', a)) as any;
    const narrowed = await fhir(
      ehr,
      reader,
      `Practitioner?_id=${a},${b}&family=${encodeURIComponent(family.name[0].family)}`,
    );
    expect(narrowed.body.entry.map((e: any) => e.resource.id)).toContain(a);
    const first = await fhir(ehr, reader, `Practitioner?_id=${a},${b},${c}&_count=2`);
    expect(first.body.entry).toHaveLength(2);
    const next = first.body.link.find((l: any) => l.relation === 'next')?.url as string;
    const second = await fhir(ehr, reader, next.slice(ehr.fhirBaseUrl.length + 1));
    expect([...first.body.entry, ...second.body.entry].map((e: any) => e.resource.id).sort()).toEqual(
      [a, b, c].sort(),
    );
  });

  test('an _id list that is not ids is a 400 with an OperationOutcome', async () => {
    const [a] = (await ehr.listResources('Practitioner')).map((r) => r.id!);
    for (const list of [`${a},,x`, `${a},`, '', 'a%20b', 'x'.repeat(65), 'a%5C,b']) {
      const res = await fhir(ehr, reader, `Practitioner?_id=${list}`);
      expect({ list, status: res.status }).toEqual({ list, status: 400 });
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].details.text).toMatch(/_id/);
    }
  });

  test('metadata declares the _id search parameter, and leaves it out when _id is unsupported', async () => {
    const declared = (await fhir(ehr, undefined, 'metadata')).body.rest[0].resource;
    for (const type of ['MedicationAdministration', 'Encounter', 'Patient']) {
      expect(declared.find((r: any) => r.type === type).searchParam).toContainEqual(
        expect.objectContaining({ name: '_id', type: 'token' }),
      );
    }
    const without = await startSandboxEhr({ seed: false, unsupportedSearchParameters: ['_id'] });
    try {
      const resources = (await fhir(without, undefined, 'metadata')).body.rest[0].resource;
      expect(resources.some((r: any) => (r.searchParam ?? []).some((p: any) => p.name === '_id'))).toBe(
        false,
      );
      const token = await tokenFor(without, 'system/*.rs');
      expect((await fhir(without, token, 'Patient?_id=a,b')).status).toBe(400);
    } finally {
      await without.stop();
    }
  });

  test('create, update, read, vread, history and search', async () => {
    const created = await fhir(ehr, writer, 'Patient', {
      method: 'POST',
      body: { resourceType: 'Patient', name: [{ family: 'Nguyen' }], gender: 'female' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const v1 = created.body.meta.versionId;
    expect(created.headers.get('location')).toBe(`${ehr.fhirBaseUrl}/Patient/${id}/_history/${v1}`);

    const updated = await fhir(ehr, writer, `Patient/${id}`, {
      method: 'PUT',
      body: { ...created.body, gender: 'other' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.meta.versionId).not.toBe(v1);

    expect((await fhir(ehr, reader, `Patient/${id}`)).body.gender).toBe('other');
    expect((await fhir(ehr, reader, `Patient/${id}/_history/${v1}`)).body.gender).toBe('female');
    const history = await fhir(ehr, reader, `Patient/${id}/_history`);
    expect(history.body.type).toBe('history');
    expect(history.body.entry).toHaveLength(2);
    const found = await fhir(ehr, reader, 'Patient?family=Nguyen');
    expect(found.body.entry.map((e: any) => e.resource.id)).toEqual([id]);
    expect((await ehr.readResource('Patient', id)).id).toBe(id);
  });

  test('unsupported interactions and unknown ids', async () => {
    expect((await fhir(ehr, writer, 'Patient/nope')).status).toBe(404);
    const patients = await fhir(ehr, reader, 'Patient');
    const id = patients.body.entry[0].resource.id;
    expect((await fhir(ehr, writer, `Patient/${id}`, { method: 'DELETE' })).status).toBe(405);
    const bad = await fhir(ehr, writer, 'Patient', { method: 'POST', body: [1, 2] });
    expect(bad.status).toBe(400);
  });

  test('Subscriptions the sandbox cannot serve are refused with 400', async () => {
    const subscriber = await tokenFor(ehr, 'system/Subscription.cruds');
    const unknownTopic = await fhir(ehr, subscriber, 'Subscription', {
      method: 'POST',
      body: backportSubscription({
        endpoint: 'http://127.0.0.1:9/hook',
        topic: 'https://example.org/topic/x',
      }),
    });
    expect(unknownTopic.status).toBe(400);
    const badFilter = await fhir(ehr, subscriber, 'Subscription', {
      method: 'POST',
      body: backportSubscription({ endpoint: 'http://127.0.0.1:9/hook', filters: ['Encounter?location=x'] }),
    });
    expect(badFilter.status).toBe(400);
    const websocket = backportSubscription({ endpoint: 'http://127.0.0.1:9/hook' });
    websocket.channel.type = 'websocket';
    expect((await fhir(ehr, subscriber, 'Subscription', { method: 'POST', body: websocket })).status).toBe(
      400,
    );
  });
});
