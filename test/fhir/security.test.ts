/**
 * Authentication, scopes per type and interaction, tenant isolation, audit trail, headers, and
 * no PHI in logs — all through HTTP.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { encounter, patient } from './fixtures.ts';

let server: TestServer;
let sandbox: string;
let clinicB: string;

beforeAll(async () => {
  server = await startTestServer();
  sandbox = await server.token('sandbox', 'system/*.cruds');
  clinicB = await server.token('clinic-b', 'system/*.cruds');
});
afterAll(async () => {
  await server.stop();
});

describe('authentication', () => {
  test('no token: 401 with a Bearer challenge and an OperationOutcome', async () => {
    const res = await fhirFetch(`${server.fhir}/Patient`, undefined);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="dripline"');
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('tampered token: 401 invalid_token', async () => {
    const [h, p, s] = sandbox.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, tenant: 'clinic-b' })).toString('base64url');
    const res = await fhirFetch(`${server.fhir}/Patient`, `${h}.${forged}.${s}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  test('health and metadata need no token; everything else does', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.fhir}/metadata`)).status).toBe(200);
    expect((await fetch(`${server.fhir}/Claim?status=active`)).status).toBe(401);
    expect((await fetch(`${server.fhir}/Patient/x/_history`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
  });
});

describe('scopes', () => {
  test('read-only Patient client can read and search Patients but not create them or touch Claims', async () => {
    const created = await fhirFetch(`${server.fhir}/Patient`, sandbox, {
      method: 'POST',
      body: patient('SCOPE-1'),
    });
    const readOnly = await server.token('sandbox', 'system/Patient.rs');
    expect((await fhirFetch(`${server.fhir}/Patient/${created.body.id}`, readOnly)).status).toBe(200);
    expect((await fhirFetch(`${server.fhir}/Patient?identifier=SCOPE-1`, readOnly)).status).toBe(200);

    const write = await fhirFetch(`${server.fhir}/Patient`, readOnly, {
      method: 'POST',
      body: patient('SCOPE-2'),
    });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toBe(
      'Bearer realm="dripline", error="insufficient_scope", scope="system/Patient.c"',
    );
    const claims = await fhirFetch(`${server.fhir}/Claim`, readOnly);
    expect(claims.status).toBe(403);
    expect(claims.headers.get('www-authenticate')).toContain('scope="system/Claim.s"');
  });

  test('_include / _revinclude of a type outside the scopes: 403 naming the scope, whatever is stored', async () => {
    const encOnly = await server.token('sandbox', 'system/Encounter.rs');
    const challenge = async (url: string): Promise<[number, string | null]> => {
      const res = await fhirFetch(url, encOnly);
      return [res.status, res.headers.get('www-authenticate')];
    };
    const include = `${server.fhir}/Encounter?_include=Encounter:patient`;
    const revinclude = `${server.fhir}/Encounter?_revinclude=Claim:encounter`;
    const refusedInclude = [
      403,
      'Bearer realm="dripline", error="insufficient_scope", scope="system/Patient.r"',
    ];
    const refusedRevinclude = [
      403,
      'Bearer realm="dripline", error="insufficient_scope", scope="system/Claim.s"',
    ];
    // Nothing to include yet: still refused (the answer must not depend on what is stored).
    expect(await challenge(`${include}&_id=nothing-here`)).toEqual(refusedInclude);
    expect(await challenge(`${revinclude}&_id=nothing-here`)).toEqual(refusedRevinclude);
    const p = await fhirFetch(`${server.fhir}/Patient`, sandbox, { method: 'POST', body: patient('INC-1') });
    await fhirFetch(`${server.fhir}/Encounter`, sandbox, {
      method: 'POST',
      body: encounter(p.body.id, '2026-11-20T10:00:00Z', '2026-11-20T11:00:00Z'),
    });
    expect(await challenge(`${include}&patient=${p.body.id}`)).toEqual(refusedInclude);
    expect(await challenge(`${revinclude}&patient=${p.body.id}`)).toEqual(refusedRevinclude);
    // With the scopes, both work.
    const both = await server.token('sandbox', 'system/Encounter.rs system/Patient.r system/Claim.s');
    const ok = await fhirFetch(`${include}&patient=${p.body.id}&_revinclude=Claim:encounter`, both);
    expect(ok.status).toBe(200);
    expect(ok.body.entry.map((e: any) => e.resource.resourceType).sort()).toEqual(['Encounter', 'Patient']);
  });
});

describe('tenant isolation', () => {
  test('a client of one tenant never sees or changes another tenant’s data', async () => {
    const created = await fhirFetch(`${server.fhir}/Patient`, sandbox, {
      method: 'POST',
      body: patient('TENANT-A-1'),
    });
    const id = created.body.id;

    expect((await fhirFetch(`${server.fhir}/Patient/${id}`, clinicB)).status).toBe(404);
    expect((await fhirFetch(`${server.fhir}/Patient/${id}/_history`, clinicB)).status).toBe(404);
    expect((await fhirFetch(`${server.fhir}/Patient/${id}/_history/1`, clinicB)).status).toBe(404);
    const search = await fhirFetch(`${server.fhir}/Patient?identifier=TENANT-A-1`, clinicB);
    expect(search.body.total).toBe(0);
    const overwrite = await fhirFetch(`${server.fhir}/Patient/${id}`, clinicB, {
      method: 'PUT',
      body: { ...created.body, name: [{ family: 'Hijacked' }] },
    });
    expect(overwrite.status).toBe(404);
    const audits = await fhirFetch(`${server.fhir}/AuditEvent?patient=Patient/${id}`, clinicB);
    expect(audits.body.total).toBe(0);

    const still = await fhirFetch(`${server.fhir}/Patient/${id}`, sandbox);
    expect(still.body.name[0].family).toBe('Alvarez');
    expect(still.body.meta.versionId).toBe('1');
  });
});

describe('audit trail', () => {
  test('reads, searches and writes of PHI leave AuditEvents naming the client and the patient', async () => {
    const registered = await server.client('sandbox', 'system/*.cruds');
    const { requestBackendToken } = await import('../../src/cli/token-command.ts');
    const token = (await requestBackendToken(registered)).access_token;
    const created = await fhirFetch(`${server.fhir}/Patient`, token, {
      method: 'POST',
      body: patient('AUDIT-1'),
    });
    const id = created.body.id;
    await fhirFetch(`${server.fhir}/Patient/${id}`, token);
    await fhirFetch(`${server.fhir}/Patient?identifier=AUDIT-1`, token);

    const audits = await fhirFetch(`${server.fhir}/AuditEvent?patient=Patient/${id}&_sort=date`, token);
    const events = audits.body.entry.map((e: any) => e.resource);
    expect(events.map((e: any) => `${e.action}:${e.subtype[0].code}`)).toEqual([
      'C:create',
      'R:read',
      'E:search-type',
    ]);
    for (const e of events) {
      expect(e.agent[0].who.identifier.value).toBe(registered.client_id);
      expect(e.outcome).toBe('0');
    }
    const query = events[2].entity.find((x: any) => x.query);
    expect(Buffer.from(query.query, 'base64').toString()).toContain('identifier=AUDIT-1');
  });
});

describe('headers and logs', () => {
  test('security headers are set and request ids are echoed', async () => {
    const res = await fetch(`${server.fhir}/metadata`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  test('no PHI, tokens or keys reach the logs', async () => {
    const secretName = 'Zyxwvutsonian';
    const p = await fhirFetch(`${server.fhir}/Patient`, sandbox, {
      method: 'POST',
      body: { ...patient('PHI-LOG-987654'), name: [{ family: secretName }] },
    });
    await fhirFetch(`${server.fhir}/Patient?name=${secretName}`, sandbox);
    await fhirFetch(`${server.fhir}/Patient/${p.body.id}`, sandbox);
    const logs = server.logs.join('');
    expect(logs).toContain('"route":"/fhir/Patient/:id"');
    expect(logs).not.toContain(secretName);
    expect(logs).not.toContain('PHI-LOG-987654');
    expect(logs).not.toContain(sandbox);
    expect(logs).not.toMatch(/"d":"/); // no private JWK material
  });
});
