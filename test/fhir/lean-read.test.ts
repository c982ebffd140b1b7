/**
 * The lean FHIR read (src/fhir/lean-read.ts) answers exactly what the express stack answers for
 * the same request. Two apps over one store and one token service, each listening: `lean` with the
 * lean read routes (watched: which requests they served) and `stack` without them. Every request
 * goes to both, in the same order (so their rate limit counts agree), and their status, body and
 * headers (all but Date and X-Request-Id) must be equal; each case also says what the answer is
 * and whether the lean route served it, so no case passes by both being wrong or by falling
 * through. (The server also mounts the Claim `$x12` router inside /fhir: its paths take no plain
 * read.) Then: the AuditEvent a lean read writes, the access log and metrics label, and that the
 * server wires the lean read in.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { createApp } from '../../src/app.ts';
import { disableClient } from '../../src/auth/client-registration.ts';
import { createTokenService } from '../../src/auth/token-service.ts';
import type { TokenService } from '../../src/auth/token-service.ts';
import { codingTablesOnFirstUse } from '../../src/coding/tables/load.ts';
import { AuditWriter } from '../../src/fhir/audit-writer.ts';
import { leanReadRoutes, leanReadTypes } from '../../src/fhir/lean-read.ts';
import { DriplineRepository } from '../../src/fhir/repository.ts';
import type { LeanRoute } from '../../src/http/lean-route.ts';
import { routeTable } from '../../src/http/route-table.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import type { Metrics } from '../../src/ops/metrics.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { encounter, patient } from './fixtures.ts';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

let server: TestServer;
let tokens: TokenService;
interface Running {
  readonly base: string;
  readonly server: Server;
  readonly logs: string[];
  readonly metrics: Metrics;
}
let lean: Running;
let stack: Running;
/** `{template} {id}` of each request the lean read routes served. */
const served: string[] = [];
let full: string;
let patientId: string;
let encounterId: string;

function listen(app: ReturnType<typeof createApp>): Promise<{ base: string; server: Server }> {
  return new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => {
      resolve({ base: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, server: s });
    });
  });
}

function buildApp(
  leanRoutes: readonly LeanRoute[],
  logs: string[],
  metrics: Metrics,
): ReturnType<typeof createApp> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  return createApp({
    config: server.config,
    store: server.running.store,
    tokenService: tokens,
    logger: createLogger('info', sink),
    metrics,
    codingTables: codingTablesOnFirstUse(),
    ...(leanRoutes.length > 0 ? { leanRoutes } : {}),
  });
}

/** A GET as written (node:http: no header added, unlike fetch's Cache-Control on conditional requests). */
function get(base: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What must be equal: all but the per-request Date and X-Request-Id, and the rate limit's reset second. */
function comparable(answer: Answer): object {
  const { date: _date, 'x-request-id': _id, ...headers } = answer.headers;
  const ratelimit = String(headers.ratelimit).replace(/reset=\d+/, 'reset=…');
  return { status: answer.status, body: answer.body, headers: { ...headers, ratelimit } };
}

/** The request to both apps; their answers must be equal; returns the lean app's. */
async function both(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const fromLean = await get(lean.base, path, headers);
  const fromStack = await get(stack.base, path, headers);
  expect(comparable(fromLean)).toEqual(comparable(fromStack));
  return fromLean;
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function mint(
  scope: string,
  tenant = 'sandbox',
  issuedAt = new Date(),
  service = tokens,
): Promise<string> {
  const client = await server.client(tenant, 'system/*.cruds');
  return (await service.issueAccessToken({ clientId: client.client_id, tenant, scope, now: issuedAt }))
    .accessToken;
}

beforeAll(async () => {
  server = await startTestServer(
    {},
    {
      ingest: false,
      chargeCapture: false,
      claims: false,
      remittance: false,
      authorizationLedger: false,
      priorAuth: false,
      eligibility: false,
    },
  );
  tokens = await createTokenService({
    authStore: server.running.store.auth,
    issuer: server.config.publicUrl,
    audience: `${server.config.publicUrl}/fhir`,
  });
  const routes = leanReadRoutes({
    store: server.running.store,
    tokenService: tokens,
    publicUrl: server.config.publicUrl,
    now: () => new Date(),
    audit: new AuditWriter(server.running.store),
  }).map((route): LeanRoute => ({
    ...route,
    handle: (params, req, body, res) => {
      served.push(`${route.template} ${params.join('/')}`);
      return route.handle(params, req, body, res);
    },
  }));
  const leanLogs: string[] = [];
  const stackLogs: string[] = [];
  const leanMetrics = createMetrics();
  const stackMetrics = createMetrics();
  lean = { ...(await listen(buildApp(routes, leanLogs, leanMetrics))), logs: leanLogs, metrics: leanMetrics };
  stack = {
    ...(await listen(buildApp([], stackLogs, stackMetrics))),
    logs: stackLogs,
    metrics: stackMetrics,
  };

  full = await server.token('sandbox', 'system/*.cruds');
  const p = await fhirFetch(`${server.fhir}/Patient`, full, { method: 'POST', body: patient('LEAN-1') });
  patientId = p.body.id;
  const e = await fhirFetch(`${server.fhir}/Encounter`, full, {
    method: 'POST',
    body: encounter(patientId, '2026-12-01T09:00:00Z', '2026-12-01T11:00:00Z'),
  });
  encounterId = e.body.id;
});
afterAll(async () => {
  for (const s of [lean?.server, stack?.server]) {
    s?.closeAllConnections();
    await new Promise((resolve) => s?.close(resolve));
  }
  await server.stop();
});
beforeEach(() => {
  served.length = 0;
});

describe('the lean read answers as the stack does', () => {
  test('a read: the stored resource with ETag, Last-Modified, Content-Type and the security headers', async () => {
    const res = await both(`/fhir/Patient/${patientId}`, bearer(full));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ resourceType: 'Patient', id: patientId });
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers['last-modified']).toMatch(/GMT$/);
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(served).toEqual([`/fhir/Patient/:id ${patientId}`]);

    const enc = await both(`/fhir/Encounter/${encounterId}`, bearer(full));
    expect(JSON.parse(enc.body)).toMatchObject({ resourceType: 'Encounter', id: encounterId });
  });

  test('an unknown id: 404 OperationOutcome', async () => {
    const res = await both('/fhir/Patient/no-such-patient', bearer(full));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'not-found' }],
    });
    expect(served).toEqual(['/fhir/Patient/:id no-such-patient']);
  });

  test('no token, a malformed one, another scheme: 401 with the same challenge', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, 'Bearer realm="dripline"'],
      [{ authorization: 'Bearer' }, 'Bearer realm="dripline", error="invalid_token"'],
      [{ authorization: 'Bearer not a token' }, 'Bearer realm="dripline", error="invalid_token"'],
      [{ authorization: 'Bearer abc.def.ghi' }, 'Bearer realm="dripline", error="invalid_token"'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 'Bearer realm="dripline"'],
    ];
    for (const [headers, challenge] of cases) {
      const res = await both(`/fhir/Patient/${patientId}`, headers);
      expect([headers, res.status, res.headers['www-authenticate']?.startsWith(challenge)]).toEqual([
        headers,
        401,
        true,
      ]);
      expect(res.body).not.toContain('Alvarez');
    }
    expect(served).toHaveLength(cases.length);
  });

  test('an expired token, one of a disabled client, one for another audience, one whose tenant was altered: 401 invalid_token', async () => {
    const expired = await mint('system/*.cruds', 'sandbox', new Date(Date.now() - 3_600_000));
    const elsewhere = await createTokenService({
      authStore: server.running.store.auth,
      issuer: server.config.publicUrl,
      audience: 'https://elsewhere.example/fhir',
    });
    const otherAudience = await mint('system/*.cruds', 'sandbox', new Date(), elsewhere);
    const [header, payload, signature] = full.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as object;
    const altered = Buffer.from(JSON.stringify({ ...claims, tenant: 'clinic-b' })).toString('base64url');
    const forged = `${header}.${altered}.${signature}`;
    const client = await server.client('sandbox', 'system/*.cruds');
    const revoked = (
      await tokens.issueAccessToken({
        clientId: client.client_id,
        tenant: 'sandbox',
        scope: 'system/*.cruds',
        now: new Date(),
      })
    ).accessToken;
    expect((await both(`/fhir/Patient/${patientId}`, bearer(revoked))).status).toBe(200);
    await disableClient(server.running.store.auth, client.client_id);

    for (const token of [expired, otherAudience, forged, revoked]) {
      const res = await both(`/fhir/Patient/${patientId}`, bearer(token));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="dripline", error="invalid_token"/);
    }
    expect(served).toHaveLength(5);
  });

  test("another tenant's token: 404, as for a resource that tenant does not have", async () => {
    const clinicB = await server.token('clinic-b', 'system/*.cruds');
    const res = await both(`/fhir/Patient/${patientId}`, bearer(clinicB));
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('Alvarez');
    expect(served).toHaveLength(1);
  });

  test('a token without read on the type (search, create, read of another type, a patient/ scope): 403 naming the scope', async () => {
    const cases: [string, string][] = [
      ['system/Patient.s', 'system/Patient.r'],
      ['system/Patient.c', 'system/Patient.r'],
      ['system/Encounter.r', 'system/Patient.r'],
      // Dripline never grants patient/ scopes (src/auth/scopes.ts); one minted anyway grants nothing.
      ['patient/Patient.rs', 'system/Patient.r'],
    ];
    for (const [scope, needed] of cases) {
      const res = await both(`/fhir/Patient/${patientId}`, bearer(await mint(scope)));
      expect([scope, res.status, res.headers['www-authenticate']]).toEqual([
        scope,
        403,
        `Bearer realm="dripline", error="insufficient_scope", scope="${needed}"`,
      ]);
      expect(res.body).not.toContain('Alvarez');
    }
    // A type whose content embeds others needs read on those too (src/auth/disclosure.ts).
    const doc = await both('/fhir/DocumentReference/any', bearer(await mint('system/DocumentReference.r')));
    expect(doc.status).toBe(403);
    expect(doc.headers['www-authenticate']).toContain('system/Claim.r system/Patient.r');
    expect(served).toHaveLength(cases.length + 1);
  });

  test('what the lean read leaves to the stack: wrong case, unsupported types, OperationDefinition, non-FHIR ids, conditional requests', async () => {
    for (const path of [
      `/fhir/patient/${patientId}`,
      '/fhir/Basic/1',
      '/fhir/OperationDefinition/Encounter-infusion-charges',
      `/fhir/Patient/${'a'.repeat(65)}`,
      '/fhir/Patient/a_b',
      '/fhir/Claim/$x12',
    ]) {
      const res = await both(path, bearer(full));
      expect([path, res.status < 500]).toEqual([path, true]);
    }
    expect((await both('/fhir/Basic/1', bearer(full))).status).toBe(404);
    // express answers a conditional read whose validator matches with a 304.
    const notModified = await both(`/fhir/Patient/${patientId}`, {
      ...bearer(full),
      'if-none-match': 'W/"1"',
    });
    expect(notModified.status).toBe(304);
    const modified = await both(`/fhir/Patient/${patientId}`, {
      ...bearer(full),
      'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT',
    });
    expect(modified.status).toBe(200);
    expect(served).toEqual([]);
  });
});

describe('what a lean read records', () => {
  test('the same AuditEvent as a read through the stack (agent, entities, outcome), with its own request id', async () => {
    await get(lean.base, `/fhir/Encounter/${encounterId}`, { ...bearer(full), 'x-request-id': 'audit-lean' });
    await get(stack.base, `/fhir/Encounter/${encounterId}`, {
      ...bearer(full),
      'x-request-id': 'audit-stack',
    });
    expect(served).toEqual([`/fhir/Encounter/:id ${encounterId}`]);

    const found = await fhirFetch(`${server.fhir}/AuditEvent?patient=Patient/${patientId}&_sort=date`, full);
    const reads = (found.body.entry as { resource: any }[])
      .map((e) => e.resource)
      .filter((a) => a.subtype?.[0]?.code === 'read' && JSON.stringify(a.extension ?? []).includes('audit-'));
    const requestIds = reads.map((a) => a.extension?.[0]?.valueString as string);
    expect(requestIds).toEqual(['audit-lean', 'audit-stack']);
    // Apart from what each event has of its own: id, meta, time, request id.
    const [fromLean, fromStack] = reads.map((a) => {
      const { id: _id, meta: _meta, recorded: _recorded, extension: _extension, ...rest } = a;
      return rest;
    });
    expect(fromLean).toEqual(fromStack);
    expect(fromLean).toMatchObject({
      outcome: '0',
      agent: [{ who: { identifier: { value: expect.any(String) } }, requestor: true }],
      entity: [
        { what: { reference: `Encounter/${encounterId}` } },
        { what: { reference: `Patient/${patientId}` } },
      ],
    });
  });

  test('the access log line and the metrics label are the route template, with the tenant and client', async () => {
    lean.logs.length = 0;
    stack.logs.length = 0;
    await both(`/fhir/Patient/${patientId}`, bearer(full));
    await both('/fhir/Patient/no-such-patient', {});
    const lines = (logs: string[]): object[] =>
      logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l['msg'] === 'request')
        .map(({ method, route, status, tenant, clientId }) => ({ method, route, status, tenant, clientId }));
    expect(lines(lean.logs)).toEqual(lines(stack.logs));
    expect(lines(lean.logs)).toMatchObject([
      {
        method: 'GET',
        route: '/fhir/Patient/:id',
        status: 200,
        tenant: 'sandbox',
        clientId: expect.any(String),
      },
      { method: 'GET', route: '/fhir/Patient/:id', status: 401 },
    ]);
    expect(JSON.stringify(lean.logs)).not.toContain(patientId);
    const series = async (m: Metrics): Promise<string[]> =>
      (await m.registry.metrics())
        .split('\n')
        .filter((l) => l.startsWith('dripline_http_request_duration_seconds_count'));
    expect(await series(lean.metrics)).toEqual(await series(stack.metrics));
    // (Counts of the whole file: every request so far went to both apps.)
    expect(await series(lean.metrics)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\{method="GET",route="\/fhir\/Patient\/:id",status="401"\} \d+$/),
      ]),
    );
    expect(served).toHaveLength(2);
  });
});

describe('the server', () => {
  test("every lean read template is, in the server's route table, the label of its requests and the only route they match", () => {
    const app = server.running.server.listeners('request')[0] as Express;
    const table = routeTable(app);
    /** Routes for GET whose template matches the path as express's case-sensitive router does. */
    const matching = (path: string): string[] =>
      table.routes
        .filter((r) => r.method === 'GET' || r.method === 'ALL')
        .map((r) => r.template)
        .filter((template) => {
          const want = path.split('/');
          const have = template.split('/');
          return (
            have.length === want.length && have.every((part, i) => part.startsWith(':') || part === want[i])
          );
        });
    expect(leanReadTypes().length).toBeGreaterThan(20);
    for (const type of leanReadTypes()) {
      expect(table.match('GET', `/fhir/${type}/an-id`)).toBe(`/fhir/${type}/:id`);
      expect(matching(`/fhir/${type}/an-id`)).toEqual([`/fhir/${type}/:id`]);
    }
    // Why OperationDefinition is left to the stack: its definitions router answers first.
    expect(leanReadTypes()).not.toContain('OperationDefinition');
    expect(matching('/fhir/OperationDefinition/an-id')).toHaveLength(2);
  });

  test('answers a plain read with the lean route, a conditional one through the stack', async () => {
    const callers: string[] = [];
    const original = Object.getOwnPropertyDescriptor(DriplineRepository.prototype, 'readResourceJson')
      ?.value as DriplineRepository['readResourceJson'];
    const spy = jest.spyOn(DriplineRepository.prototype, 'readResourceJson').mockImplementation(function (
      this: DriplineRepository,
      ...args
    ) {
      callers.push(new Error().stack ?? '');
      return original.apply(this, args);
    });
    try {
      expect((await fhirFetch(`${server.fhir}/Patient/${patientId}`, full)).status).toBe(200);
      expect(callers).toHaveLength(1);
      expect(callers[0]).toContain('lean-read.ts');
      expect(callers[0]).not.toContain('routes.ts');
      const conditional = await fhirFetch(`${server.fhir}/Patient/${patientId}`, full, {
        headers: { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' },
      });
      expect(conditional.status).toBe(200);
      expect(callers).toHaveLength(2);
      expect(callers[1]).toContain('routes.ts');
      expect(callers[1]).not.toContain('lean-read.ts');
    } finally {
      spy.mockRestore();
    }
  });
});
