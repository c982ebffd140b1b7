/**
 * The EHR client against two honest HTTP peers: Dripline itself (a real SMART Backend Services
 * server with its own token endpoint) for the happy path, and a tiny scripted express "EHR" for
 * every way an EHR misbehaves.
 */
import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import type { Request, Response } from 'express';
import type { JWK } from 'jose';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { importJWK } from 'jose/key/import';
import { jwtVerify } from 'jose/jwt/verify';
import { createEhrClient } from '../../src/ehr/ehr-client.ts';
import {
  EhrForbiddenError,
  EhrNotFoundError,
  EhrRequestError,
  EhrTokenError,
  EhrUnavailableError,
  ForeignReferenceError,
} from '../../src/ehr/errors.ts';
import { parseRetryAfter } from '../../src/ehr/failures.ts';
import type { EhrClientOptions } from '../../src/ehr/ehr-client.ts';
import { createTokenProvider } from '../../src/ehr/token-provider.ts';
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { patient } from '../fhir/fixtures.ts';

const EHR_CLIENT_MODULE = fileURLToPath(new URL('../../src/ehr/ehr-client.ts', import.meta.url));

/** fetch that counts token-endpoint requests (every other request passes through untouched). */
function countingFetch(tokenPath: string): { fetch: typeof fetch; tokenRequests: () => number } {
  let count = 0;
  const wrapped: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (new URL(url).pathname === tokenPath) {
      count += 1;
    }
    return fetch(input, init);
  };
  return { fetch: wrapped, tokenRequests: () => count };
}

// ---------------------------------------------------------------------------------------------
// Happy path: Dripline as the EHR

describe('against Dripline as the EHR', () => {
  let server: TestServer;
  let registered: Awaited<ReturnType<TestServer['client']>>;
  /** How far the server's clock (and the client's, when it shares it) is moved ahead, ms. */
  let movedMs = 0;
  const movedClock = (): Date => new Date(Date.now() + movedMs);

  beforeAll(async () => {
    server = await startTestServer({}, { now: movedClock });
    registered = await server.client('sandbox', 'system/*.cruds');
  });
  afterAll(async () => {
    await server.stop();
  });

  function clientFor(extra: Partial<EhrClientOptions> = {}, withTokenUrl = true) {
    return createEhrClient({
      connection: {
        id: 'dripline-sandbox',
        fhirBaseUrl: registered.fhir_base_url,
        ...(withTokenUrl ? { tokenUrl: registered.token_url } : {}),
        clientId: registered.client_id,
        privateKeyJwk: registered.jwk,
        scope: 'system/*.cruds',
      },
      ...extra,
    });
  }

  test('create, read, vread, search, searchAll with one token, refreshed after expiry', async () => {
    const counter = countingFetch('/oauth2/token');
    // The client shares the server's clock, which the test moves (token lifetimes and assertion
    // dates both follow it); moved back for the other tests.
    const ehr = clientFor({ fetch: counter.fetch, now: movedClock });

    const created = await ehr.create(patient('MRN-EHR-1', 'Okafor'));
    expect(created.resourceType).toBe('Patient');
    expect(created.id).toBeDefined();
    const id = created.id!;

    const read = await ehr.read('Patient', id);
    expect(read).toMatchObject({ resourceType: 'Patient', id, name: [{ family: 'Okafor' }] });

    const version = await ehr.vread('Patient', id, created.meta!.versionId);
    expect(version.id).toBe(id);

    const updated = await ehr.update({ ...read, gender: 'other' } as typeof read);
    expect(updated.meta?.versionId).toBe('2');
    const v1 = await ehr.vread('Patient', id, '1');
    expect((v1 as { gender?: string }).gender).toBe('female');

    const bundle = await ehr.search('Patient', { family: 'Okafor' });
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry?.map((e) => e.resource?.id)).toContain(id);

    await ehr.create(patient('MRN-EHR-2', 'Okafor'));
    await ehr.create(patient('MRN-EHR-3', 'Okafor'));
    const all = await ehr.searchAll('Patient', { family: 'Okafor', _count: '1' });
    expect(all.pages).toBe(3);
    expect(all.truncated).toBe(false);
    expect(all.resources).toHaveLength(3);
    const bounded = await ehr.searchAll('Patient', { family: 'Okafor', _count: '1' }, { maxPages: 2 });
    expect(bounded).toMatchObject({ pages: 2, truncated: true });
    expect(bounded.next).toContain(registered.fhir_base_url);

    expect(await ehr.readUrl(`Patient/${id}`)).toMatchObject({ id });
    expect(await ehr.readUrl(`${registered.fhir_base_url}/Patient/${id}`)).toMatchObject({ id });
    expect(await ehr.readUrl(`Patient/${id}/_history/1`)).toMatchObject({ id, gender: 'female' });

    expect(counter.tokenRequests()).toBe(1);

    try {
      // Dripline issues 300 s tokens; 250 s later the cached one is still used (30 s margin) ...
      movedMs += 250_000;
      await ehr.read('Patient', id);
      expect(counter.tokenRequests()).toBe(1);
      // ... 280 s in, it is inside the refresh margin and a new token is fetched.
      movedMs += 30_000;
      await ehr.read('Patient', id);
      expect(counter.tokenRequests()).toBe(2);
    } finally {
      movedMs = 0;
    }
  });

  test('concurrent calls share one token request (single-flight)', async () => {
    const counter = countingFetch('/oauth2/token');
    const ehr = clientFor({ fetch: counter.fetch });
    const created = await createEhrClient({
      connection: {
        id: 'setup',
        fhirBaseUrl: registered.fhir_base_url,
        tokenUrl: registered.token_url,
        clientId: registered.client_id,
        privateKeyJwk: registered.jwk,
        scope: 'system/*.cruds',
      },
    }).create(patient('MRN-EHR-9'));
    const reads = await Promise.all(Array.from({ length: 8 }, () => ehr.read('Patient', created.id)));
    expect(reads.every((r) => r.id === created.id)).toBe(true);
    expect(counter.tokenRequests()).toBe(1);
  });

  test('discovers the token endpoint from .well-known/smart-configuration', async () => {
    const counter = countingFetch('/oauth2/token');
    const ehr = clientFor({ fetch: counter.fetch }, false);
    const bundle = await ehr.search('Patient', { _count: '1' });
    expect(bundle.resourceType).toBe('Bundle');
    expect(counter.tokenRequests()).toBe(1);
  });

  test('a missing resource is EhrNotFoundError; a scope the client lacks is EhrForbiddenError', async () => {
    const ehr = clientFor();
    await expect(ehr.read('Patient', 'does-not-exist')).rejects.toBeInstanceOf(EhrNotFoundError);
    const readOnly = await server.client('sandbox', 'system/Patient.rs');
    const limited = createEhrClient({
      connection: {
        id: 'limited',
        fhirBaseUrl: readOnly.fhir_base_url,
        tokenUrl: readOnly.token_url,
        clientId: readOnly.client_id,
        privateKeyJwk: readOnly.jwk,
        scope: 'system/Patient.rs',
      },
    });
    const err = await limited.create(patient('MRN-EHR-X')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrForbiddenError);
    expect(err).toMatchObject({ retryable: false, status: 403 });
  });

  test('a key Dripline does not know fails the token request terminally', async () => {
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), alg: 'ES384', kid: 'stranger' };
    const ehr = createEhrClient({
      connection: {
        id: 'stranger',
        fhirBaseUrl: registered.fhir_base_url,
        tokenUrl: registered.token_url,
        clientId: registered.client_id,
        privateKeyJwk: jwk,
        scope: 'system/*.rs',
      },
      sleep: () => Promise.resolve(),
    });
    const err = await ehr.read('Patient', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrTokenError);
    expect(err).toMatchObject({ retryable: false, oauthError: 'invalid_client' });
    expect(JSON.stringify(err)).not.toContain(jwk.d!);
  });
});

// ---------------------------------------------------------------------------------------------
// A misbehaving EHR

interface Step {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer. */
  hang?: boolean;
}

interface FakeEhr {
  url: string;
  fhir: string;
  tokenUrl: string;
  clientId: string;
  jwk: JWK;
  /** Answers for FHIR requests, consumed in order; then `fallback`, then a default 200. */
  script: Step[];
  fallback?: Step;
  fhirRequests: { method: string; path: string; authorization?: string; body?: unknown }[];
  tokensIssued: string[];
  assertionProblems: string[];
  smartConfiguration: Record<string, unknown> | undefined;
  close(): Promise<void>;
}

function defaultBody(req: Request): unknown {
  const [type, id] = req.path.split('/').filter(Boolean);
  if (type !== undefined && id !== undefined && !id.startsWith('$')) {
    return { resourceType: type, id };
  }
  return { resourceType: 'Bundle', type: 'searchset', entry: [] };
}

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}` });
    });
  });
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function startFakeEhr(alg: 'ES384' | 'RS384' = 'ES384'): Promise<FakeEhr> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), alg, kid: `key-${alg}` };
  const app = express();
  const fake: FakeEhr = {
    url: '',
    fhir: '',
    tokenUrl: '',
    clientId: 'dripline-at-fake-ehr',
    jwk,
    script: [],
    fhirRequests: [],
    tokensIssued: [],
    assertionProblems: [],
    smartConfiguration: undefined,
    close: () => Promise.resolve(),
  };
  app.get('/fhir/.well-known/smart-configuration', (_req, res) => {
    res.json(
      fake.smartConfiguration ?? {
        token_endpoint: fake.tokenUrl,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
        capabilities: ['client-confidential-asymmetric'],
      },
    );
  });
  app.post('/token', express.urlencoded({ extended: false }), async (req: Request, res: Response) => {
    const form = req.body as Record<string, string>;
    const problems: string[] = [];
    const assertion = form.client_assertion ?? '';
    try {
      const header = decodeProtectedHeader(assertion);
      if (header.alg !== alg) {
        problems.push(`alg ${String(header.alg)}`);
      }
      if (header.kid !== jwk.kid) {
        problems.push(`kid ${String(header.kid)}`);
      }
      const { payload } = await jwtVerify(assertion, publicKey, {
        algorithms: [alg],
        audience: fake.tokenUrl,
        issuer: fake.clientId,
        subject: fake.clientId,
        requiredClaims: ['exp', 'jti'],
      });
      if (typeof payload.aud !== 'string' && !(Array.isArray(payload.aud) && payload.aud.length === 1)) {
        problems.push('aud is not single-valued');
      }
    } catch (err) {
      problems.push(String(err));
    }
    if (form.grant_type !== 'client_credentials') {
      problems.push(`grant_type ${form.grant_type}`);
    }
    if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      problems.push('client_assertion_type');
    }
    if (problems.length > 0) {
      fake.assertionProblems.push(...problems);
      res.status(401).json({ error: 'invalid_client', error_description: problems.join('; ') });
      return;
    }
    const token = `token-${fake.tokensIssued.length + 1}`;
    fake.tokensIssued.push(token);
    res.json({ access_token: token, token_type: 'Bearer', expires_in: 300, scope: form.scope });
  });
  app.use('/fhir', express.json({ type: ['application/json', 'application/fhir+json'] }));
  app.use('/fhir', (req: Request, res: Response) => {
    fake.fhirRequests.push({
      method: req.method,
      path: req.url,
      ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
      ...(req.body !== undefined ? { body: req.body as unknown } : {}),
    });
    const step = fake.script.shift() ?? fake.fallback ?? { status: 200 };
    if (step.hang === true) {
      return; // never answers; the client's timeout has to deal with it
    }
    res.status(step.status);
    res.set(step.headers ?? {});
    res.type('application/fhir+json').send(JSON.stringify(step.body ?? defaultBody(req)));
  });
  const { server, url } = await listen(app);
  fake.url = url;
  fake.fhir = `${url}/fhir`;
  fake.tokenUrl = `${url}/token`;
  fake.close = () => close(server);
  return fake;
}

/** A host that must never be contacted: it records whatever reaches it. */
async function startEvilHost(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const app = express();
  app.use((req, res) => {
    hits.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.json({ resourceType: 'Patient', id: 'evil' });
  });
  const { server, url } = await listen(app);
  return { url, hits, close: () => close(server) };
}

describe('against a misbehaving EHR', () => {
  let ehrServer: FakeEhr;
  let sleeps: number[];

  beforeEach(async () => {
    ehrServer = await startFakeEhr();
    sleeps = [];
  });
  afterEach(async () => {
    await ehrServer.close();
  });

  function clientFor(extra: Partial<EhrClientOptions> = {}) {
    return createEhrClient({
      connection: {
        id: 'fake-ehr',
        fhirBaseUrl: ehrServer.fhir,
        clientId: ehrServer.clientId,
        privateKeyJwk: ehrServer.jwk,
        scope: 'system/Patient.rs system/Subscription.cruds',
      },
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
      ...extra,
    });
  }

  test('the token request is a well-formed private_key_jwt assertion (endpoint discovered)', async () => {
    const patientRead = await clientFor().read('Patient', 'p1');
    expect(patientRead).toEqual({ resourceType: 'Patient', id: 'p1' });
    expect(ehrServer.assertionProblems).toEqual([]);
    expect(ehrServer.tokensIssued).toEqual(['token-1']);
    expect(ehrServer.fhirRequests[0]).toMatchObject({
      method: 'GET',
      path: '/Patient/p1',
      authorization: 'Bearer token-1',
    });
  });

  test('429 with Retry-After: 1 waits one second, then succeeds', async () => {
    ehrServer.script = [{ status: 429, headers: { 'Retry-After': '1' }, body: {} }];
    await expect(clientFor().read('Patient', 'p1')).resolves.toMatchObject({ id: 'p1' });
    expect(sleeps).toEqual([1000]);
    expect(ehrServer.fhirRequests).toHaveLength(2);
  });

  test('Retry-After as an HTTP-date is measured from the injected clock', async () => {
    // A whole second of the real time (the client's assertions are dated by its clock too).
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    ehrServer.script = [
      { status: 503, headers: { 'Retry-After': new Date(now.getTime() + 7000).toUTCString() }, body: {} },
    ];
    await expect(clientFor({ now: () => now }).read('Patient', 'p1')).resolves.toMatchObject({ id: 'p1' });
    expect(sleeps).toEqual([7000]);
  });

  test('a Retry-After beyond the cap ends the call at once with the wait the EHR asked for', async () => {
    ehrServer.fallback = { status: 429, headers: { 'Retry-After': '3600' }, body: {} };
    const err = await clientFor()
      .read('Patient', 'p1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrUnavailableError);
    expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 3_600_000, attempts: 1 });
    expect(sleeps).toEqual([]);
  });

  test('503 twice then 200: exponential backoff with jitter', async () => {
    ehrServer.script = [
      { status: 503, body: {} },
      { status: 503, body: {} },
    ];
    await expect(clientFor().read('Patient', 'p1')).resolves.toMatchObject({ id: 'p1' });
    expect(ehrServer.fhirRequests).toHaveLength(3);
    // random 0.5 → 75% of 500 ms, then of 1000 ms
    expect(sleeps).toEqual([375, 750]);
  });

  test('401 once: the token is dropped, a new one fetched, the call retried', async () => {
    ehrServer.script = [{ status: 401, body: {} }];
    await expect(clientFor().read('Patient', 'p1')).resolves.toMatchObject({ id: 'p1' });
    expect(ehrServer.tokensIssued).toEqual(['token-1', 'token-2']);
    expect(ehrServer.fhirRequests.map((r) => r.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(sleeps).toEqual([]);
  });

  test('401 even with a fresh token is terminal', async () => {
    ehrServer.fallback = { status: 401, body: {} };
    const err = await clientFor()
      .read('Patient', 'p1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrRequestError);
    expect(err).toMatchObject({ status: 401, retryable: false });
    expect(ehrServer.fhirRequests).toHaveLength(2);
  });

  test('404 is EhrNotFoundError and not retried; 410 is gone', async () => {
    ehrServer.script = [
      { status: 404, body: {} },
      { status: 410, body: {} },
    ];
    const ehr = clientFor();
    const notFound = await ehr.read('Patient', 'p1').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(EhrNotFoundError);
    expect(notFound).toMatchObject({ status: 404, gone: false, retryable: false });
    expect(ehrServer.fhirRequests).toHaveLength(1);
    const gone = await ehr.readUrl('Patient/p1').catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(EhrNotFoundError);
    expect(gone).toMatchObject({ status: 410, gone: true, retryable: false });
    expect(ehrServer.fhirRequests).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  test('403 is EhrForbiddenError; 400 is EhrRequestError with the OperationOutcome text', async () => {
    ehrServer.script = [
      { status: 403, body: {} },
      {
        status: 400,
        body: {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'invalid', details: { text: 'Unknown search parameter foo' } }],
        },
      },
    ];
    const ehr = clientFor();
    await expect(ehr.read('Patient', 'p1')).rejects.toBeInstanceOf(EhrForbiddenError);
    const bad = await ehr.search('Patient', { foo: 'bar' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(EhrRequestError);
    expect(bad).toMatchObject({
      status: 400,
      retryable: false,
      outcomeText: 'Unknown search parameter foo',
    });
    expect((bad as Error).message).toContain('Unknown search parameter foo');
    expect(ehrServer.fhirRequests).toHaveLength(2);
  });

  test('500 forever: EhrUnavailableError after maxAttempts', async () => {
    ehrServer.fallback = { status: 500, body: {} };
    const err = await clientFor({ maxAttempts: 3 })
      .read('Patient', 'p1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrUnavailableError);
    expect(err).toMatchObject({ retryable: true, status: 500, attempts: 3 });
    expect(ehrServer.fhirRequests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  test('default maxAttempts is 5', async () => {
    ehrServer.fallback = { status: 502, body: '<html>bad gateway</html>' };
    await expect(clientFor().read('Patient', 'p1')).rejects.toBeInstanceOf(EhrUnavailableError);
    expect(ehrServer.fhirRequests).toHaveLength(5);
  });

  test('a hanging response times out and is retried', async () => {
    ehrServer.script = [{ status: 200, hang: true }];
    await expect(clientFor({ timeoutMs: 300 }).read('Patient', 'p1')).resolves.toMatchObject({ id: 'p1' });
    expect(ehrServer.fhirRequests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  test('a hang on every attempt ends as EhrUnavailableError', async () => {
    ehrServer.fallback = { status: 200, hang: true };
    const err = await clientFor({ timeoutMs: 150, maxAttempts: 2 })
      .read('Patient', 'p1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrUnavailableError);
    expect((err as Error).message).toContain('no answer within 150 ms');
  });

  test('a refused connection is retried, then EhrUnavailableError', async () => {
    await ehrServer.close();
    const err = await createEhrClient({
      connection: {
        id: 'down',
        fhirBaseUrl: ehrServer.fhir,
        tokenUrl: ehrServer.tokenUrl,
        clientId: ehrServer.clientId,
        privateKeyJwk: ehrServer.jwk,
        scope: 'system/Patient.rs',
      },
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      maxAttempts: 3,
    })
      .read('Patient', 'p1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrUnavailableError);
    expect(err).toMatchObject({ retryable: true, attempts: 3 });
    expect(sleeps).toHaveLength(2);
    ehrServer = await startFakeEhr(); // for afterEach
  });

  test('a non-idempotent create is not retried after a 500, but is after a 503', async () => {
    ehrServer.script = [{ status: 500, body: {} }];
    const ehr = clientFor();
    const sub = {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'r',
      criteria: 'Patient?',
      channel: { type: 'rest-hook' },
    } as const;
    const err = await ehr.create(sub).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrUnavailableError);
    expect(err).toMatchObject({ attempts: 1 });
    expect(ehrServer.fhirRequests).toHaveLength(1);

    ehrServer.script = [
      { status: 503, body: {} },
      { status: 201, body: { ...sub, id: 's1' } },
    ];
    await expect(ehr.create(sub)).resolves.toMatchObject({ id: 's1' });
    expect(ehrServer.fhirRequests).toHaveLength(3);
    expect(ehrServer.fhirRequests[2]).toMatchObject({ method: 'POST', path: '/Subscription', body: sub });

    ehrServer.script = [
      { status: 500, body: {} },
      { status: 201, body: { ...sub, id: 's2' } },
    ];
    await expect(ehr.create(sub, { ifNoneExist: 'identifier=x' })).resolves.toMatchObject({ id: 's2' });
  });

  test('update PUTs to Type/id; operation reaches $status and $events', async () => {
    const ehr = clientFor();
    ehrServer.script = [
      { status: 200, body: { resourceType: 'Subscription', id: 's1', status: 'off' } },
      { status: 200, body: { resourceType: 'Bundle', type: 'history' } },
      { status: 200, body: { resourceType: 'Bundle', type: 'history' } },
    ];
    await ehr.update({
      resourceType: 'Subscription',
      id: 's1',
      status: 'off',
      reason: 'r',
      criteria: 'Patient?',
      channel: { type: 'rest-hook' },
    });
    await ehr.operation('Subscription/s1/$status', { method: 'GET' });
    await ehr.operation('Subscription/s1/$events', {
      method: 'POST',
      body: { resourceType: 'Parameters', parameter: [{ name: 'eventsSinceNumber', valueString: '3' }] },
      params: { _format: 'json' },
    });
    expect(ehrServer.fhirRequests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /Subscription/s1',
      'GET /Subscription/s1/$status',
      'POST /Subscription/s1/$events?_format=json',
    ]);
    expect(ehrServer.fhirRequests[2]?.body).toMatchObject({ resourceType: 'Parameters' });
    await expect(ehr.operation('../admin/$status', { method: 'GET' })).rejects.toThrow(TypeError);
  });

  test('a 200 that is not the asked-for resource is EhrRequestError', async () => {
    ehrServer.script = [{ status: 200, body: { resourceType: 'Observation', id: 'o1' } }];
    const err = await clientFor()
      .read('Patient', 'p1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhrRequestError);
    expect(err).toMatchObject({ retryable: false });
  });

  test('an RS384 key signs RS384 assertions', async () => {
    const rsa = await startFakeEhr('RS384');
    try {
      const ehr = createEhrClient({
        connection: {
          id: 'rsa',
          fhirBaseUrl: rsa.fhir,
          clientId: rsa.clientId,
          privateKeyJwk: rsa.jwk,
          scope: 'system/Patient.rs',
        },
      });
      await expect(ehr.read('Patient', 'p1')).resolves.toMatchObject({ id: 'p1' });
      expect(rsa.assertionProblems).toEqual([]);
      expect(rsa.tokensIssued).toHaveLength(1);
    } finally {
      await rsa.close();
    }
  });

  test('a discovered token_endpoint must be an absolute http(s) URL', async () => {
    for (const token_endpoint of ['/token', 'ftp://127.0.0.1/token', 42]) {
      ehrServer.smartConfiguration = { token_endpoint };
      const err = await clientFor()
        .read('Patient', 'p1')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EhrTokenError);
      expect(err).toMatchObject({ retryable: false });
    }
    expect(ehrServer.fhirRequests).toHaveLength(0);
  });

  describe('references', () => {
    let evil: Awaited<ReturnType<typeof startEvilHost>>;
    beforeEach(async () => {
      evil = await startEvilHost();
    });
    afterEach(async () => {
      await evil.close();
    });

    test('an absolute URL on another host is refused before any request', async () => {
      const ehr = clientFor();
      for (const url of [
        'https://evil.example.com/fhir/Patient/1',
        `${evil.url}/fhir/Patient/1`,
        `${ehrServer.url}/fhir-other/Patient/1`,
        `${ehrServer.fhir}/../admin/Patient/1`,
        `${ehrServer.fhir}/%2e%2e/admin/Patient/1`,
        `${ehrServer.fhir.replace('http://', 'http://user:pw@')}/Patient/1`,
        `${ehrServer.fhir.replace('http:', 'https:')}/Patient/1`,
        'urn:uuid:4a7c0c1e-1111-4a4a-9b9b-123456789abc',
        '//evil.example.com/fhir/Patient/1',
        'Patient/1/../../admin',
        '#contained',
      ]) {
        const err = await ehr.readUrl(url).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ForeignReferenceError);
        expect(err).toMatchObject({ retryable: false });
      }
      expect(evil.hits).toEqual([]);
      expect(ehrServer.fhirRequests).toEqual([]);
      expect(ehrServer.tokensIssued).toEqual([]);
    });

    test('an absolute URL under the base and a relative reference are read', async () => {
      const ehr = clientFor();
      await expect(ehr.readUrl(`${ehrServer.fhir}/Patient/1`)).resolves.toMatchObject({ id: '1' });
      await expect(ehr.readUrl('Patient/1')).resolves.toMatchObject({ id: '1' });
      await expect(ehr.readUrl(`${ehrServer.fhir}/Patient/1/_history/4`)).resolves.toBeDefined();
      expect(ehrServer.fhirRequests.map((r) => r.path)).toEqual([
        '/Patient/1',
        '/Patient/1',
        '/Patient/1/_history/4',
      ]);
    });

    test('searchAll follows next links under the base and refuses one to another host', async () => {
      const ehr = clientFor();
      const page = (id: string, next?: string) => ({
        status: 200,
        body: {
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [{ resource: { resourceType: 'Patient', id } }],
          link: next === undefined ? [] : [{ relation: 'next', url: next }],
        },
      });
      ehrServer.script = [
        page('a', `${ehrServer.fhir}/Patient?page=2`),
        page('b', 'Patient?page=3'),
        page('c'),
      ];
      const all = await ehr.searchAll('Patient', { name: 'x' });
      expect(all.resources.map((r) => r.id)).toEqual(['a', 'b', 'c']);
      expect(ehrServer.fhirRequests.map((r) => r.path)).toEqual([
        '/Patient?name=x',
        '/Patient?page=2',
        '/Patient?page=3',
      ]);

      ehrServer.fhirRequests.length = 0;
      ehrServer.script = [page('a', `${evil.url}/fhir/Patient?page=2`)];
      await expect(ehr.searchAll('Patient', { name: 'x' })).rejects.toBeInstanceOf(ForeignReferenceError);
      ehrServer.script = [page('a', '../../elsewhere?page=2')];
      await expect(ehr.searchAll('Patient', { name: 'x' })).rejects.toBeInstanceOf(ForeignReferenceError);
      expect(evil.hits).toEqual([]);
      expect(ehrServer.fhirRequests).toHaveLength(2);
    });

    test('a next link that repeats stops the walk', async () => {
      ehrServer.fallback = {
        status: 200,
        body: {
          resourceType: 'Bundle',
          type: 'searchset',
          link: [{ relation: 'next', url: 'Patient?page=2' }],
        },
      };
      const all = await clientFor().searchAll('Patient', {});
      expect(all.pages).toBe(2);
      expect(ehrServer.fhirRequests).toHaveLength(2);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Token provider and helpers on their own

describe('token provider', () => {
  let ehrServer: FakeEhr;
  beforeAll(async () => {
    ehrServer = await startFakeEhr();
  });
  afterAll(async () => {
    await ehrServer.close();
  });

  test('single-flight, cache, invalidate(token) only drops that token', async () => {
    const provider = createTokenProvider({
      clientId: ehrServer.clientId,
      privateKeyJwk: ehrServer.jwk,
      tokenUrl: ehrServer.tokenUrl,
      fhirBaseUrl: ehrServer.fhir,
      scope: 'system/Patient.rs',
    });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => provider.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(ehrServer.tokensIssued).toHaveLength(1);
    provider.invalidate('some-older-token');
    expect(await provider.getToken()).toBe(tokens[0]);
    provider.invalidate(tokens[0]);
    expect(await provider.getToken()).not.toBe(tokens[0]);
    expect(ehrServer.tokensIssued).toHaveLength(2);
  });

  test('rejects keys that are not RS384/ES384 private keys', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const es256 = await exportJWK(privateKey);
    for (const jwk of [es256, { ...ehrServer.jwk, alg: 'RS256' }, { ...ehrServer.jwk, d: undefined }]) {
      const provider = createTokenProvider({
        clientId: 'x',
        privateKeyJwk: jwk,
        tokenUrl: ehrServer.tokenUrl,
        fhirBaseUrl: ehrServer.fhir,
        scope: 's',
      });
      await expect(provider.getToken()).rejects.toBeInstanceOf(EhrTokenError);
    }
    expect(await importJWK(ehrServer.jwk, 'ES384')).toBeDefined();
  });

  test('parseRetryAfter handles seconds, HTTP-dates, the past and garbage', () => {
    const now = new Date('2026-03-02T10:00:00Z');
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter('Mon, 02 Mar 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon, 02 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('loading', () => {
  test('fhir-kit-client is loaded by the first call of a client, not by building it', () => {
    // In a fresh process: the test process has it loaded already.
    const script = `
      import { createServer } from 'node:http';
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ load: (url, context, next) => (loaded.push(url), next(url, context)) });
      const { createEhrClient } = await import(${JSON.stringify(EHR_CLIENT_MODULE)});
      const kitLoaded = () => loaded.some((url) => url.includes('/fhir-kit-client/'));
      const ehr = createServer((req, res) => {
        res.setHeader('content-type', 'application/fhir+json');
        res.end(JSON.stringify({ resourceType: 'CapabilityStatement', status: 'active', kind: 'instance' }));
      });
      await new Promise((resolve) => ehr.listen(0, '127.0.0.1', resolve));
      const client = createEhrClient({
        connection: { id: 'ehr', fhirBaseUrl: 'http://127.0.0.1:' + ehr.address().port + '/fhir', clientId: 'c', privateKeyJwk: {}, scope: 's' },
        tokenProvider: { getToken: async () => 'token', invalidate: () => {} },
      });
      const before = kitLoaded();
      const answer = await client.capabilities();
      console.log(JSON.stringify({ before, after: kitLoaded(), resourceType: answer.resourceType }));
      ehr.close();
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      before: false,
      after: true,
      resourceType: 'CapabilityStatement',
    });
  });
});
