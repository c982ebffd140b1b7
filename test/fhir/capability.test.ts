/**
 * The CapabilityStatement says what the server does, no more and no less: every search parameter
 * it lists for a type is answered (not 404 or 400), and every operation Dripline serves is listed,
 * with an OperationDefinition that the server returns.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { validateResource } from '@medplum/core';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

let server: TestServer;
let token: string;
let rest: any;

beforeAll(async () => {
  loadFhirDefinitions();
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    { ingest: false, chargeCapture: false, claims: false },
  );
  token = await server.token('sandbox', 'system/*.cruds');
  rest = (await fhirFetch(`${server.fhir}/metadata`, undefined)).body.rest[0];
});
afterAll(async () => {
  await server.stop();
});

/** A value of the right shape for a search parameter type. */
function sampleValue(type: string): string {
  switch (type) {
    case 'date':
      return 'ge2026-01-01';
    case 'reference':
      return 'Patient/x'; // Dripline asks for Type/id (any type: nothing matches, which is an answer)
    case 'number':
      return '1';
    default:
      return 'x';
  }
}

describe('search', () => {
  test('every search parameter listed for a type is answered', async () => {
    const failures: string[] = [];
    let asked = 0;
    for (const resource of rest.resource) {
      const searchable = (resource.interaction ?? []).some((i: any) => i.code === 'search-type');
      expect({ type: resource.type, params: searchable || resource.searchParam === undefined }).toEqual({
        type: resource.type,
        params: true,
      });
      if (!searchable) {
        continue;
      }
      const queries = [
        '_count=1',
        ...(resource.searchParam ?? []).map(
          (p: any) => `${p.name}=${encodeURIComponent(sampleValue(p.type))}`,
        ),
      ];
      for (const query of queries) {
        asked++;
        const res = await fhirFetch(`${server.fhir}/${resource.type}?${query}`, token);
        if (res.status !== 200) {
          failures.push(
            `${resource.type}?${query} → ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
    expect(asked).toBeGreaterThan(100);
  });

  test('the server-wide search parameters are answered', async () => {
    const samples: Record<string, string> = {
      _count: '1',
      _offset: '0',
      _sort: '-_lastUpdated',
      _total: 'accurate',
      _include: 'Encounter:patient',
      _revinclude: 'Provenance:target',
    };
    expect(rest.searchParam.map((p: any) => p.name).sort()).toEqual(Object.keys(samples).sort());
    for (const [name, value] of Object.entries(samples)) {
      const res = await fhirFetch(`${server.fhir}/Encounter?${name}=${value}`, token);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
    }
  });

  test('the listed _include / _revinclude targets are answered', async () => {
    const failures: string[] = [];
    for (const resource of rest.resource) {
      for (const include of resource.searchInclude ?? []) {
        const res = await fhirFetch(`${server.fhir}/${resource.type}?_include=${include}&_count=1`, token);
        if (res.status !== 200) {
          failures.push(`${resource.type}?_include=${include} → ${res.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

test('every type listed as readable is served (an unknown id is not found, the type is known)', async () => {
  const failures: string[] = [];
  for (const resource of rest.resource) {
    if (!(resource.interaction ?? []).some((i: any) => i.code === 'read')) {
      continue;
    }
    const res = await fhirFetch(`${server.fhir}/${resource.type}/no-such-id`, token);
    const text = JSON.stringify(res.body);
    if (res.status !== 404 || /Unsupported resource type|not supported/.test(text)) {
      failures.push(`${resource.type}/no-such-id → ${res.status} ${text.slice(0, 160)}`);
    }
  }
  expect(failures).toEqual([]);
});

describe('operations', () => {
  const listed = (): { type: string; name: string; definition: string }[] =>
    rest.resource.flatMap((r: any) =>
      (r.operation ?? []).map((o: any) => ({ type: r.type, name: o.name, definition: o.definition })),
    );

  test('every operation Dripline serves is listed on its type', () => {
    expect(
      listed()
        .map((o) => `${o.type}/$${o.name}`)
        .sort(),
    ).toEqual(['Claim/$x12', 'Encounter/$infusion-charges']);
  });

  test('each names an OperationDefinition that the server returns, matching the listing', async () => {
    for (const op of listed()) {
      const id = op.definition.split('/').pop();
      const res = await fhirFetch(`${server.fhir}/OperationDefinition/${id}`, token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        resourceType: 'OperationDefinition',
        url: op.definition,
        code: op.name,
        resource: [op.type],
        status: 'active',
        kind: 'operation',
      });
    }
    for (const id of ['infusion-charges', 'x12']) {
      const res = await fhirFetch(`${server.fhir}/OperationDefinition/${id}`, token);
      expect(() => validateResource(res.body)).not.toThrow(); // valid R4
    }
    const create = await fhirFetch(`${server.fhir}/OperationDefinition`, token, {
      method: 'POST',
      body: { resourceType: 'OperationDefinition' },
    });
    expect(create.status).toBe(405);
    const opDefs = rest.resource.find((r: any) => r.type === 'OperationDefinition');
    expect(opDefs.interaction.map((i: any) => i.code)).toEqual(['read']);
    const unknown = await fhirFetch(`${server.fhir}/OperationDefinition/nope`, token);
    expect(unknown.status).toBe(404);
    expect(unknown.body.resourceType).toBe('OperationOutcome');
    const anonymous = await fhirFetch(`${server.fhir}/OperationDefinition/x12`, undefined);
    expect(anonymous.status).toBe(401);
  });

  test('a listed operation is served at the level the definition says (not 404)', async () => {
    const charges = await fhirFetch(`${server.fhir}/Encounter/$infusion-charges`, token, {
      method: 'POST',
      body: { resourceType: 'Parameters', parameter: [] },
    });
    expect(charges.status).toBe(400);
    const x12 = await fhirFetch(`${server.fhir}/Claim/nope/$x12`, token);
    expect(x12.status).toBe(404);
    expect(x12.body.issue[0].diagnostics ?? x12.body.issue[0].details?.text).toMatch(/Claim\/nope/);
    const batch = await fhirFetch(`${server.fhir}/Claim/$x12?kind=837P`, token);
    expect(batch.status).toBe(404);
    expect(JSON.stringify(batch.body)).toMatch(/No claims match/);
  });
});
