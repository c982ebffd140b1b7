/**
 * End to end: a real express app on an ephemeral port, a real SQLite store in a temp dir, clients
 * registered with registerBackendClient, and openid-client as an unmodified standard SMART client.
 * Negative cases craft assertions with jose and post them over HTTP.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Request, Response } from 'express';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { SignJWT } from 'jose/jwt/sign';
import { decodeJwt } from 'jose/jwt/decode';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { importJWK } from 'jose/key/import';
import * as oidc from 'openid-client';
import { getAuthContext, requireBearer, requireScope } from '../../src/auth/bearer.ts';
import { errorHandler } from '../../src/http/outcomes.ts';
import { registerBackendClient } from '../../src/auth/client-registration.ts';
import type { RegisteredBackendClient } from '../../src/auth/client-registration.ts';
import { createTokenRouter, smartConfiguration } from '../../src/auth/token-route.ts';
import { createTokenService, InvalidAccessTokenError } from '../../src/auth/token-service.ts';
import type { TokenService } from '../../src/auth/token-service.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { createTokenProvider } from '../../src/ehr/token-provider.ts';
import { requestBackendToken } from '../../src/cli/token-command.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 'acme';
const FORM = 'application/x-www-form-urlencoded';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let dir: string;
let store: SqliteStore;
let server: Server;
let base: string;
let tokenUrl: string;
let fhirBase: string;
let tokenService: TokenService;
/** Server clock offset (ms), to expire access tokens without waiting. */
let offsetMs = 0;
const serverNow = (): Date => new Date(Date.now() + offsetMs);

let es: RegisteredBackendClient;
let rs: RegisteredBackendClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dripline-auth-'));
  store = await openSqliteStore({ path: join(dir, 'dripline.db') });
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenUrl = `${base}/oauth2/token`;
  fhirBase = `${base}/fhir`;
  tokenService = await createTokenService({ authStore: store.auth, issuer: base, audience: fhirBase });

  const app = express();
  app.use('/oauth2', createTokenRouter({ authStore: store.auth, tokenService, tokenUrl, now: serverNow }));
  app.get('/fhir/.well-known/smart-configuration', (_req, res) => {
    res.json(smartConfiguration({ issuer: base, tokenUrl, jwksUri: `${base}/oauth2/jwks` }));
  });
  app.use('/fhir', requireBearer(tokenService, { now: serverNow }));
  app.get('/fhir/:type/:id', (req: Request, res: Response) => {
    const auth = getAuthContext(res);
    requireScope(auth, String(req.params['type']), 'read');
    res.json({ clientId: auth.clientId, tenant: auth.tenant, scopes: auth.scopes.map((s) => s.raw) });
  });
  // Dripline's one error path: every 401/403 the bearer check or a scope check throws gets its challenge there.
  app.use(errorHandler({ error: () => undefined }));
  server.on('request', app);

  const now = new Date();
  es = await registerBackendClient(store.auth, {
    tenant: TENANT,
    scope: 'system/Claim.cruds system/Coverage.rs',
    name: 'ES client',
    now,
    publicUrl: base,
  });
  rs = await registerBackendClient(store.auth, {
    tenant: TENANT,
    scope: 'system/*.rs',
    alg: 'RS384',
    now,
    publicUrl: base,
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function privateKey(reg: RegisteredBackendClient): Promise<CryptoKey> {
  return (await importJWK(reg.jwk, reg.alg)) as CryptoKey;
}

async function smartClient(reg: RegisteredBackendClient): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(`${fhirBase}/.well-known/smart-configuration`),
    reg.client_id,
    { token_endpoint_auth_method: 'private_key_jwt' },
    oidc.PrivateKeyJwt({ key: await privateKey(reg), kid: reg.jwk.kid }),
    // plain http on 127.0.0.1 in tests only
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    { execute: [oidc.allowInsecureRequests] },
  );
}

interface AssertionOptions {
  claims?: JWTPayload;
  omit?: string[];
  header?: Record<string, unknown>;
  key?: CryptoKey | Uint8Array;
  alg?: string;
}

/** A SMART Backend Services client assertion as the spec describes it (aud = token URL). */
async function assertion(reg: RegisteredBackendClient, options: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const all: JWTPayload = {
    iss: reg.client_id,
    sub: reg.client_id,
    aud: tokenUrl,
    exp: now + 240,
    iat: now,
    jti: randomUUID(),
    ...options.claims,
  };
  const omit = options.omit ?? [];
  const claims = Object.fromEntries(Object.entries(all).filter(([name]) => !omit.includes(name)));
  const alg = options.alg ?? reg.alg;
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: reg.jwk.kid, typ: 'JWT', ...options.header })
    .sign(options.key ?? (await privateKey(reg)));
}

interface TokenReply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function postToken(
  form: Record<string, string | string[]>,
  contentType = FORM,
  headers: Record<string, string> = {},
): Promise<TokenReply> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) {
    for (const value of Array.isArray(v) ? v : [v]) {
      params.append(k, value);
    }
  }
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: contentType === FORM ? params.toString() : JSON.stringify(form),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

function tokenForm(clientAssertion: string, scope = 'system/Claim.rs'): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: clientAssertion,
    scope,
  };
}

async function expectOAuthError(
  reply: Promise<TokenReply>,
  error: string,
  status?: number,
): Promise<TokenReply> {
  const r = await reply;
  expect(r.body['error']).toBe(error);
  expect(typeof r.body['error_description']).toBe('string');
  // RFC 6749 §5.2: 400, also for invalid_client when the client did not use the Authorization
  // header (a 401 must carry a challenge, RFC 7235 §3.1, and private_key_jwt has no scheme).
  expect(r.status).toBe(status ?? 400);
  expect(r.headers.get('www-authenticate')).toBeNull();
  expect(r.headers.get('cache-control')).toBe('no-store');
  expect(r.body['access_token']).toBeUndefined();
  return r;
}

async function getClaim(token: string | undefined, authorization?: string): Promise<globalThis.Response> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) {
    headers['authorization'] = authorization;
  } else if (token !== undefined) {
    headers['authorization'] = `Bearer ${token}`;
  }
  return fetch(`${fhirBase}/Claim/1`, { headers });
}

describe('registration', () => {
  test('stores only the public key and returns the private one', async () => {
    const record = await store.auth.getClient(es.client_id);
    expect(record).toMatchObject({
      clientId: es.client_id,
      tenant: TENANT,
      name: 'ES client',
      scope: es.scope,
    });
    expect(record?.jwks.keys).toHaveLength(1);
    expect(record?.jwks.keys[0]?.['d']).toBeUndefined();
    expect(es.jwk).toMatchObject({
      kty: 'EC',
      crv: 'P-384',
      alg: 'ES384',
      use: 'sig',
      kid: es.jwks.keys[0]?.kid,
    });
    expect(typeof es.jwk.d).toBe('string');
    expect(rs.jwk).toMatchObject({ kty: 'RSA', alg: 'RS384', use: 'sig' });
    expect(es.token_url).toBe(tokenUrl);
    expect(es.fhir_base_url).toBe(fhirBase);
  });

  test('rejects invalid scopes', async () => {
    await expect(
      registerBackendClient(store.auth, {
        tenant: TENANT,
        scope: 'patient/Claim.rs',
        now: new Date(),
        publicUrl: base,
      }),
    ).rejects.toThrow(/system\//);
  });
});

describe('openid-client as a standard SMART backend client', () => {
  test.each([
    ['ES384', (): RegisteredBackendClient => es, 'system/Claim.rs'],
    ['RS384', (): RegisteredBackendClient => rs, 'system/Claim.rs system/Patient.r'],
  ])('%s: obtains a token and calls the FHIR API', async (_alg, reg, scope) => {
    const config = await smartClient(reg());
    const tokens = await oidc.clientCredentialsGrant(config, { scope });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe(scope);
    expect(tokens.expires_in).toBeLessThanOrEqual(300);
    expect(tokens.expires_in).toBeGreaterThan(0);
    const claims = decodeJwt(tokens.access_token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(300);
    expect(claims).toMatchObject({ iss: base, aud: fhirBase, sub: reg().client_id, tenant: TENANT, scope });

    const res = await getClaim(tokens.access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ clientId: reg().client_id, tenant: TENANT, scopes: scope.split(' ') });
  });

  test("Dripline's clients date each assertion by their injected clock, read when they ask, so a clock moved forward during a run is followed", async () => {
    // The sandbox day's parties share a clock that moves forward while they run (src/time/clock.ts);
    // a server on that clock refuses an assertion dated by the system clock once it is minutes behind.
    try {
      const provider = createTokenProvider({
        clientId: es.client_id,
        privateKeyJwk: es.jwk,
        tokenUrl,
        fhirBaseUrl: fhirBase,
        scope: 'system/Claim.rs',
        now: serverNow,
      });
      const first = await provider.getToken();
      expect((await getClaim(first)).status).toBe(200);
      offsetMs = 10 * 60_000;
      // The cached token expired on the moved clock: a new one is asked for, with a new assertion.
      const second = await provider.getToken();
      expect(second).not.toBe(first);
      expect((await getClaim(second)).status).toBe(200);
      const cli = await requestBackendToken(
        { client_id: es.client_id, token_url: tokenUrl, scope: 'system/Claim.rs', jwk: es.jwk },
        undefined,
        serverNow,
      );
      expect((await getClaim(cli.access_token)).status).toBe(200);
    } finally {
      offsetMs = 0;
    }
  });

  test('the granted scope is narrowed to the registration', async () => {
    const tokens = await oidc.clientCredentialsGrant(await smartClient(es), {
      scope: 'system/Claim.cruds system/Patient.rs',
    });
    expect(tokens.scope).toBe('system/Claim.cruds');
    const narrowed = await oidc.clientCredentialsGrant(await smartClient(rs), { scope: 'system/*.cruds' });
    expect(narrowed.scope).toBe('system/*.rs');
  });

  test('an unregistered scope is refused with invalid_scope', async () => {
    await expect(
      oidc.clientCredentialsGrant(await smartClient(es), { scope: 'system/Patient.rs' }),
    ).rejects.toMatchObject({
      error: 'invalid_scope',
      status: 400,
    });
  });
});

describe('token endpoint', () => {
  test('accepts an assertion with aud = token endpoint URL (SMART)', async () => {
    const r = await postToken(tokenForm(await assertion(es)));
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/Claim.rs' });
    expect(Object.keys(r.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
  });

  test('accepts a matching client_id parameter, rejects a different one', async () => {
    const ok = await postToken({ ...tokenForm(await assertion(es)), client_id: es.client_id });
    expect(ok.status).toBe(200);
    await expectOAuthError(
      postToken({ ...tokenForm(await assertion(es)), client_id: rs.client_id }),
      'invalid_client',
    );
  });

  test('replayed jti', async () => {
    const a = await assertion(es);
    expect((await postToken(tokenForm(a))).status).toBe(200);
    const r = await expectOAuthError(postToken(tokenForm(a)), 'invalid_client');
    expect(r.body['error_description']).toMatch(/jti/);
    // the same jti in a freshly signed assertion is still a replay
    const jti = decodeJwt(a).jti!;
    await expectOAuthError(postToken(tokenForm(await assertion(es, { claims: { jti } }))), 'invalid_client');
    // ... but jtis are per client
    expect((await postToken(tokenForm(await assertion(rs, { claims: { jti } })))).status).toBe(200);
  });

  test('expired assertion', async () => {
    const now = Math.floor(Date.now() / 1000);
    const r = await expectOAuthError(
      postToken(tokenForm(await assertion(es, { claims: { exp: now - 120, iat: now - 300 } }))),
      'invalid_client',
    );
    expect(r.body['error_description']).toMatch(/expired/);
  });

  test('exp more than five minutes in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    const r = await expectOAuthError(
      postToken(tokenForm(await assertion(es, { claims: { exp: now + 600 } }))),
      'invalid_client',
    );
    expect(r.body['error_description']).toMatch(/five minutes/);
    // exactly five minutes is fine
    expect((await postToken(tokenForm(await assertion(es, { claims: { exp: now + 300 } })))).status).toBe(
      200,
    );
  });

  test('iat in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectOAuthError(
      postToken(tokenForm(await assertion(es, { claims: { iat: now + 200 } }))),
      'invalid_client',
    );
  });

  test.each([
    ['another server', 'https://other.example/oauth2/token'],
    ['token URL with a trailing slash', 'TOKEN/'],
    ['the FHIR base', 'FHIR'],
    ['several audiences', ['TOKEN', 'https://other.example/token']],
  ])('wrong aud: %s', async (_label, aud) => {
    const resolve = (v: string): string => v.replace('TOKEN', tokenUrl).replace('FHIR', fhirBase);
    const value = Array.isArray(aud) ? aud.map(resolve) : resolve(aud);
    await expectOAuthError(
      postToken(tokenForm(await assertion(es, { claims: { aud: value } }))),
      'invalid_client',
    );
  });

  test('wrong alg: HS256', async () => {
    const secret = new TextEncoder().encode('a-shared-secret-that-is-long-enough-for-hs256!');
    const r = await expectOAuthError(
      postToken(tokenForm(await assertion(es, { alg: 'HS256', key: secret }))),
      'invalid_client',
    );
    expect(r.body['error_description']).toMatch(/RS384 or ES384/);
  });

  test('wrong alg: RS256 with the registered RSA key', async () => {
    const key = (await importJWK(rs.jwk, 'RS256')) as CryptoKey;
    await expectOAuthError(
      postToken(tokenForm(await assertion(rs, { alg: 'RS256', key }))),
      'invalid_client',
    );
  });

  test('wrong alg: ES384 header on an RSA-registered client', async () => {
    await expectOAuthError(
      postToken(tokenForm(await assertion(rs, { alg: 'ES384', key: await privateKey(es) }))),
      'invalid_client',
    );
  });

  test('alg none', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({
        iss: es.client_id,
        sub: es.client_id,
        aud: tokenUrl,
        exp: Math.floor(Date.now() / 1000) + 60,
        jti: randomUUID(),
      }),
    ).toString('base64url');
    await expectOAuthError(postToken(tokenForm(`${header}.${payload}.`)), 'invalid_client');
  });

  test('unknown client', async () => {
    const id = randomUUID();
    const r = await expectOAuthError(
      postToken(tokenForm(await assertion(es, { claims: { iss: id, sub: id } }))),
      'invalid_client',
    );
    expect(r.body['error_description']).toMatch(/unknown client/);
  });

  test('disabled client', async () => {
    const { publicKey, privateKey: key } = await generateKeyPair('ES384', { extractable: true });
    const pub: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
    const clientId = `disabled-${randomUUID()}`;
    await store.auth.createClient({
      clientId,
      tenant: TENANT,
      scope: 'system/Claim.rs',
      jwks: { keys: [{ ...pub }] },
      createdAt: new Date().toISOString(),
      disabled: true,
    });
    const fake = {
      ...es,
      client_id: clientId,
      jwk: { ...pub, d: 'unused' },
      alg: 'ES384',
    } as RegisteredBackendClient;
    const r = await expectOAuthError(postToken(tokenForm(await assertion(fake, { key }))), 'invalid_client');
    expect(r.body['error_description']).toMatch(/disabled/);
  });

  test('signature by another key (same kid)', async () => {
    const { privateKey: other } = await generateKeyPair('ES384');
    const r = await expectOAuthError(
      postToken(tokenForm(await assertion(es, { key: other }))),
      'invalid_client',
    );
    expect(r.body['error_description']).toMatch(/signature/);
  });

  test('unknown kid', async () => {
    await expectOAuthError(
      postToken(tokenForm(await assertion(es, { header: { kid: 'nope' } }))),
      'invalid_client',
    );
  });

  test('no kid: any registered key of the right type is tried', async () => {
    const r = await postToken(tokenForm(await assertion(es, { header: { kid: undefined } })));
    expect(r.status).toBe(200);
  });

  test('tampered assertion payload', async () => {
    const [h, , s] = (await assertion(es)).split('.');
    const forged = Buffer.from(
      JSON.stringify({
        iss: es.client_id,
        sub: es.client_id,
        aud: tokenUrl,
        exp: Math.floor(Date.now() / 1000) + 60,
        jti: randomUUID(),
      }),
    ).toString('base64url');
    await expectOAuthError(postToken(tokenForm(`${h}.${forged}.${s}`)), 'invalid_client');
  });

  test.each([
    [['jti'], /jti/],
    [['exp'], /exp/],
    [['iss'], /iss/],
    [['sub'], /sub/],
    [['aud'], /aud/],
  ])('assertion without %p', async (omit, message) => {
    const r = await expectOAuthError(postToken(tokenForm(await assertion(es, { omit }))), 'invalid_client');
    expect(r.body['error_description']).toMatch(message);
  });

  test('iss different from sub', async () => {
    await expectOAuthError(
      postToken(tokenForm(await assertion(es, { claims: { sub: rs.client_id } }))),
      'invalid_client',
    );
  });

  test('missing form fields', async () => {
    const a = await assertion(es);
    const full = tokenForm(a);
    const without = (name: string): Record<string, string> =>
      Object.fromEntries(Object.entries(full).filter(([k]) => k !== name));
    await expectOAuthError(postToken(without('grant_type')), 'invalid_request');
    await expectOAuthError(postToken(without('client_assertion')), 'invalid_client');
    await expectOAuthError(postToken(without('client_assertion_type')), 'invalid_client');
    await expectOAuthError(postToken(without('scope')), 'invalid_scope');
    await expectOAuthError(postToken({}), 'invalid_request');
  });

  test('bad client authentication', async () => {
    const a = await assertion(es);
    await expectOAuthError(
      postToken({ ...tokenForm(a), client_assertion_type: 'urn:other' }),
      'invalid_client',
    );
    await expectOAuthError(postToken(tokenForm('not-a-jwt')), 'invalid_client');
    await expectOAuthError(postToken(tokenForm('a.b.c')), 'invalid_client');
    await expectOAuthError(postToken({ ...tokenForm(a), client_secret: 'x' }), 'invalid_client');
  });

  test('client authentication in the Authorization header: 401 challenging with the scheme it used', async () => {
    const basic = await postToken(tokenForm(await assertion(es)), FORM, {
      authorization: `Basic ${Buffer.from(`${es.client_id}:secret`).toString('base64')}`,
    });
    expect(basic.status).toBe(401);
    expect(basic.body['error']).toBe('invalid_client');
    expect(basic.headers.get('www-authenticate')).toBe('Basic realm="dripline"');
    const odd = await postToken(tokenForm(await assertion(es)), FORM, { authorization: '"x" y' });
    expect(odd.status).toBe(401);
    expect(odd.headers.get('www-authenticate')).toBe('Basic realm="dripline"');
  });

  test('unsupported grant type', async () => {
    const a = await assertion(es);
    await expectOAuthError(
      postToken({ ...tokenForm(a), grant_type: 'authorization_code' }),
      'unsupported_grant_type',
    );
    await expectOAuthError(postToken({ ...tokenForm(a), grant_type: 'password' }), 'unsupported_grant_type');
  });

  test('scope not registered, or not grantable', async () => {
    await expectOAuthError(postToken(tokenForm(await assertion(es), 'system/Patient.rs')), 'invalid_scope');
    await expectOAuthError(postToken(tokenForm(await assertion(es), 'patient/Claim.rs')), 'invalid_scope');
    await expectOAuthError(
      postToken(tokenForm(await assertion(es), 'openid system/Claim.rs')),
      'invalid_scope',
    );
    await expectOAuthError(
      postToken(tokenForm(await assertion(es), 'system/Claim.rs?status=active')),
      'invalid_scope',
    );
  });

  test('malformed requests are 400, never 500', async () => {
    const a = await assertion(es);
    await expectOAuthError(postToken(tokenForm(a), 'application/json'), 'invalid_request');
    await expectOAuthError(
      postToken({ ...tokenForm(a), scope: ['system/Claim.r', 'system/Claim.s'] }),
      'invalid_request',
    );
    const big = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: `grant_type=client_credentials&scope=${'x'.repeat(100_000)}`,
    });
    expect(big.status).toBe(400);
    expect(await big.json()).toMatchObject({ error: 'invalid_request' });
    const badCharset = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': `${FORM}; charset=koi8-r` },
      body: 'grant_type=client_credentials',
    });
    expect(badCharset.status).toBe(400);
    const get = await fetch(tokenUrl);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});

describe('bearer protection', () => {
  async function token(reg: RegisteredBackendClient = es, scope = 'system/Claim.rs'): Promise<string> {
    const r = await postToken(tokenForm(await assertion(reg), scope));
    expect(r.status).toBe(200);
    return String(r.body['access_token']);
  }

  test('no Authorization header: 401 with a WWW-Authenticate challenge and an OperationOutcome', async () => {
    const res = await getClaim(undefined);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="dripline"');
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(await res.json()).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'login' }],
    });
  });

  test('another scheme is not a bearer token', async () => {
    const res = await getClaim(undefined, 'Basic dXNlcjpwYXNz');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="dripline"');
  });

  test.each([
    ['garbage', 'Bearer not-a-token'],
    ['empty', 'Bearer '],
    ['bad characters', 'Bearer a b c'],
  ])('malformed token (%s): 401 invalid_token', async (_label, authorization) => {
    const res = await getClaim(undefined, authorization);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="dripline", error="invalid_token"/);
  });

  test('tampered access token', async () => {
    const t = await token();
    const [h, p, s] = t.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(
      JSON.stringify({ ...claims, scope: 'system/*.cruds', tenant: 'other' }),
    ).toString('base64url');
    const res = await getClaim(`${h}.${widened}.${s}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(await res.json()).toMatchObject({ resourceType: 'OperationOutcome' });
  });

  test('access token signed by another key with the same kid', async () => {
    const claims = decodeJwt(await token());
    const { privateKey: other } = await generateKeyPair('ES384');
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES384', kid: tokenService.kid, typ: 'at+jwt' })
      .sign(other);
    expect((await getClaim(forged)).status).toBe(401);
  });

  test('expired access token', async () => {
    const t = await token();
    expect((await getClaim(t)).status).toBe(200);
    offsetMs = 301_000 + 10_000;
    try {
      const res = await getClaim(t);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        'Bearer realm="dripline", error="invalid_token", error_description="the access token expired"',
      );
    } finally {
      offsetMs = 0;
    }
  });

  test('a client assertion is not an access token', async () => {
    expect((await getClaim(await assertion(es))).status).toBe(401);
  });

  test('insufficient scope: 403 with the required scope', async () => {
    const t = await token(es, 'system/Coverage.rs');
    const res = await getClaim(t);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="dripline", error="insufficient_scope", scope="system/Claim.r"',
    );
    expect(await res.json()).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'forbidden' }],
    });
  });
});

describe('token service', () => {
  test('lifetime is at most 300 s and can be lowered', async () => {
    await expect(
      createTokenService({ authStore: store.auth, issuer: base, audience: fhirBase, lifetimeSeconds: 301 }),
    ).rejects.toThrow(RangeError);
    await expect(
      createTokenService({ authStore: store.auth, issuer: base, audience: fhirBase, lifetimeSeconds: 0 }),
    ).rejects.toThrow(RangeError);
    const short = await createTokenService({
      authStore: store.auth,
      issuer: base,
      audience: fhirBase,
      lifetimeSeconds: 60,
    });
    const now = new Date();
    const issued = await short.issueAccessToken({
      clientId: es.client_id,
      tenant: TENANT,
      scope: 'system/Claim.r',
      now,
    });
    expect(issued.expiresIn).toBe(60);
    const claims = decodeJwt(issued.accessToken);
    expect(claims.exp! - claims.iat!).toBe(60);
    await expect(
      short.verifyAccessToken(issued.accessToken, new Date(now.getTime() + 59_000)),
    ).resolves.toMatchObject({
      clientId: es.client_id,
      tenant: TENANT,
    });
    await expect(
      short.verifyAccessToken(issued.accessToken, new Date(now.getTime() + 70_000)),
    ).rejects.toMatchObject({
      reason: 'expired',
    });
  });

  test('processes sharing a store share the signing key', async () => {
    const other = await createTokenService({
      authStore: store.auth,
      issuer: base,
      audience: fhirBase,
      alg: 'ES256',
    });
    expect(other.kid).toBe(tokenService.kid);
    expect(other.alg).toBe(tokenService.alg);
    const issued = await other.issueAccessToken({
      clientId: es.client_id,
      tenant: TENANT,
      scope: 'system/Claim.r',
      now: new Date(),
    });
    await expect(tokenService.verifyAccessToken(issued.accessToken)).resolves.toMatchObject({
      clientId: es.client_id,
      tenant: TENANT,
      scope: 'system/Claim.r',
    });
    expect(tokenService.publicJwks().keys).toEqual([
      expect.objectContaining({ kid: tokenService.kid, use: 'sig' }),
    ]);
    expect(tokenService.publicJwks().keys[0]?.d).toBeUndefined();
  });

  test('tokens for another audience or issuer are refused', async () => {
    const elsewhere = await createTokenService({
      authStore: store.auth,
      issuer: base,
      audience: 'https://other.example/fhir',
    });
    const issued = await elsewhere.issueAccessToken({
      clientId: 'c',
      tenant: TENANT,
      scope: 'system/Claim.r',
      now: new Date(),
    });
    await expect(tokenService.verifyAccessToken(issued.accessToken)).rejects.toBeInstanceOf(
      InvalidAccessTokenError,
    );
    const otherIssuer = await createTokenService({
      authStore: store.auth,
      issuer: 'https://evil.example',
      audience: fhirBase,
    });
    const t2 = await otherIssuer.issueAccessToken({
      clientId: 'c',
      tenant: TENANT,
      scope: 'system/Claim.r',
      now: new Date(),
    });
    await expect(tokenService.verifyAccessToken(t2.accessToken)).rejects.toBeInstanceOf(
      InvalidAccessTokenError,
    );
  });

  test('a fresh store generates its key once', async () => {
    const fresh = await openSqliteStore({ path: join(dir, 'fresh.db') });
    try {
      const [a, b] = await Promise.all([
        createTokenService({ authStore: fresh.auth, issuer: base, audience: fhirBase, alg: 'ES256' }),
        createTokenService({ authStore: fresh.auth, issuer: base, audience: fhirBase, alg: 'ES256' }),
      ]);
      expect(a.kid).toBe(b.kid);
      expect(a.alg).toBe('ES256');
      expect(a.kid).not.toBe(tokenService.kid);
    } finally {
      await fresh.close();
    }
  });
});
