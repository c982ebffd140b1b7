/**
 * The SMART launch logic (src/web/launch.ts) against a scripted EHR: an HTTP double that answers
 * only the calls a SMART App Launch 2.x client should make, checks what the client sends (PKCE
 * verifier against the challenge of the authorize URL, private_key_jwt assertion, redirect URI),
 * and fails the test on any other call. Each check Dripline must do itself — state, nonce, PKCE,
 * the id_token's signature and expiry — is broken once, the way a hostile or sloppy EHR would.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import type { CryptoKey, JWK, KeyObject } from 'jose';
import { SignJWT } from 'jose/jwt/sign';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { jwtVerify } from 'jose/jwt/verify';
import type { EhrLaunchConfig } from '../../src/config/config.ts';
import { LaunchError, SmartLaunchClient, launchTarget, redirectUri } from '../../src/web/launch.ts';
import type { LaunchTarget } from '../../src/web/launch.ts';
import type { PendingLaunch } from '../../src/web/sessions.ts';

const ISS = 'https://ehr.example.org/fhir';
const TOKEN_URL = 'https://ehr.example.org/oauth2/token';
const AUTHORIZE_URL = 'https://ehr.example.org/oauth2/authorize';
const JWKS_URL = 'https://ehr.example.org/oauth2/jwks';
const APP_URL = 'https://dripline.example.com';
const CLIENT_ID = 'dripline-billing';
const ROLE_SYSTEM = 'https://ehr.example.org/CodeSystem/staff-role';

let ehrKey: { privateKey: KeyObject | CryptoKey; publicKey: KeyObject | CryptoKey };
let forgerKey: { privateKey: KeyObject | CryptoKey };
let appPublicKey: KeyObject | CryptoKey;
let appPrivateJwk: JWK;

beforeAll(async () => {
  ehrKey = await generateKeyPair('RS256', { extractable: true });
  forgerKey = await generateKeyPair('RS256', { extractable: true });
  const app = await generateKeyPair('ES384', { extractable: true });
  appPublicKey = app.publicKey;
  appPrivateJwk = { ...(await exportJWK(app.privateKey)), alg: 'ES384', kid: 'app-1' };
});

interface IdTokenOptions {
  readonly fhirUser?: string;
  readonly nonce?: string;
  readonly expiresIn?: number;
  readonly signer?: 'ehr' | 'forger';
}

/**
 * One SMART EHR, scripted: the calls it expects, in the order a client makes them. Anything else
 * (another URL, method or a second token exchange) is recorded as unexpected and answered 599.
 */
class ScriptedEhr {
  readonly calls: string[] = [];
  readonly unexpected: string[] = [];
  smartConfiguration: Record<string, unknown> = {
    issuer: ISS,
    authorization_endpoint: AUTHORIZE_URL,
    token_endpoint: TOKEN_URL,
    jwks_uri: JWKS_URL,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    code_challenge_methods_supported: ['S256'],
    capabilities: ['launch-ehr', 'launch-standalone', 'context-ehr-encounter', 'openid', 'fhirUser', 'pkce'],
  };
  idToken: IdTokenOptions = {};
  roles: Record<string, string[]> = { 'Practitioner/p1': ['biller'] };
  /** The code_challenge of the authorize URL the client built, and the code the EHR hands back. */
  challenge?: string;
  nonce?: string;
  readonly code = randomUUID();
  tokenExchanges = 0;
  /** The EHR's clock (epoch ms): what it checks the client assertion's iat/exp against and stamps id_tokens with. */
  now: () => number = () => Date.now();

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? 'GET').toUpperCase();
    const call = `${method} ${url.origin}${url.pathname}`;
    this.calls.push(call);
    const json = (body: unknown, status = 200): Response =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (call === `GET ${ISS}/.well-known/smart-configuration`) {
      return json(this.smartConfiguration);
    }
    if (call === `GET ${JWKS_URL}`) {
      // One key, and the id_tokens carry no `kid`: the client must still pick it.
      return json({ keys: [{ ...(await exportJWK(ehrKey.publicKey)), alg: 'RS256', use: 'sig' }] });
    }
    if (call === `POST ${TOKEN_URL}` && this.tokenExchanges === 0) {
      this.tokenExchanges++;
      return json(
        ...(await this.#token(new URLSearchParams(init?.body instanceof URLSearchParams ? init.body : ''))),
      );
    }
    const token = new Headers(init?.headers).get('authorization');
    if (method === 'GET' && token === 'Bearer ehr-access-token') {
      if (url.href === `${ISS}/Practitioner/p1` || url.href === `${ISS}/Practitioner/p2`) {
        return json({
          resourceType: 'Practitioner',
          id: url.pathname.split('/').pop(),
          name: [{ given: ['Avery'], family: 'Okafor' }],
        });
      }
      if (url.pathname === '/fhir/PractitionerRole') {
        const who = url.searchParams.get('practitioner') ?? '';
        const entries = (this.roles[who] ?? []).map((code) => ({
          resource: {
            resourceType: 'PractitionerRole',
            active: true,
            code: [{ coding: [{ system: ROLE_SYSTEM, code }] }],
          },
        }));
        return json({ resourceType: 'Bundle', type: 'searchset', entry: entries });
      }
    }
    this.unexpected.push(call);
    return new Response('unexpected call', { status: 599 });
  };

  /** The authorize endpoint's side, as the browser would carry it: returns the callback URL. */
  authorize(url: URL, state = url.searchParams.get('state') ?? ''): URL {
    expect(`${url.origin}${url.pathname}`).toBe(AUTHORIZE_URL);
    this.challenge = url.searchParams.get('code_challenge') ?? undefined;
    this.nonce = url.searchParams.get('nonce') ?? undefined;
    const callback = new URL(redirectUri(APP_URL));
    callback.searchParams.set('code', this.code);
    callback.searchParams.set('state', state);
    return callback;
  }

  async #token(form: URLSearchParams): Promise<[unknown, number]> {
    const refuse = (error: string): [unknown, number] => [{ error }, 400];
    if (form.get('grant_type') !== 'authorization_code' || form.get('code') !== this.code) {
      return refuse('invalid_grant');
    }
    if (form.get('redirect_uri') !== redirectUri(APP_URL)) {
      return refuse('invalid_grant');
    }
    const verifier = form.get('code_verifier') ?? '';
    if (createHash('sha256').update(verifier).digest('base64url') !== this.challenge) {
      return refuse('invalid_grant');
    }
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return refuse('invalid_client');
    }
    try {
      await jwtVerify(form.get('client_assertion') ?? '', appPublicKey, {
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        audience: TOKEN_URL,
        currentDate: new Date(this.now()),
      });
    } catch {
      return refuse('invalid_client');
    }
    const options = this.idToken;
    const now = Math.floor(this.now() / 1000);
    const expiresIn = options.expiresIn ?? 300;
    const idToken = await new SignJWT({
      fhirUser: options.fhirUser ?? 'Practitioner/p1',
      nonce: options.nonce ?? this.nonce,
    })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(ISS)
      .setSubject('user-p1')
      .setAudience(CLIENT_ID)
      .setIssuedAt(Math.min(now, now + expiresIn - 60))
      .setExpirationTime(now + expiresIn)
      .sign(options.signer === 'forger' ? forgerKey.privateKey : ehrKey.privateKey);
    return [
      {
        access_token: 'ehr-access-token',
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'launch openid fhirUser user/Patient.rs',
        id_token: idToken,
        patient: 'pat-1',
        encounter: 'enc-9',
      },
      200,
    ];
  }
}

function target(overrides: Partial<EhrLaunchConfig> = {}): LaunchTarget {
  return {
    tenant: 'clinic',
    config: {
      iss: ISS,
      clientId: CLIENT_ID,
      privateKeyJwk: appPrivateJwk,
      roleCodes: { [`${ROLE_SYSTEM}|biller`]: 'biller', [`${ROLE_SYSTEM}|coder`]: 'coder' },
      ...overrides,
    },
  };
}

function client(ehr: ScriptedEhr): SmartLaunchClient {
  return new SmartLaunchClient({
    publicUrl: APP_URL,
    tenants: () => [],
    now: () => new Date(),
    fetch: ehr.fetch,
  });
}

const pendingOf = (p: Omit<PendingLaunch, 'expiresAt'>): PendingLaunch => ({
  ...p,
  expiresAt: Date.now() + 60_000,
});

async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof LaunchError) {
      return err.failure;
    }
    throw err;
  }
  throw new Error('the launch went through');
}

describe('an EHR launch', () => {
  test('after the shared clock moves forward (sandbox day, tests), the next launch signs its assertion on the moved clock', async () => {
    let leadMs = 0;
    const now = (): Date => new Date(Date.now() + leadMs);
    const onTheClock = (): ScriptedEhr => Object.assign(new ScriptedEhr(), { now: () => now().getTime() });
    let ehr = onTheClock();
    const app = new SmartLaunchClient({
      publicUrl: APP_URL,
      tenants: () => [],
      now,
      fetch: (input, init) => ehr.fetch(input, init),
    });
    const launch = async (): Promise<unknown> => {
      const { url, pending } = await app.begin(target(), undefined);
      return app.finish(target(), { ...pending, expiresAt: now().getTime() + 60_000 }, ehr.authorize(url));
    };
    await expect(launch()).resolves.toMatchObject({ fhirUser: 'Practitioner/p1' });
    // Three days later on the shared clock, within the discovery cache's five minutes of real time.
    leadMs = 72 * 3_600_000;
    ehr = onTheClock();
    await expect(launch()).resolves.toMatchObject({ fhirUser: 'Practitioner/p1' });
    expect(ehr.unexpected).toEqual([]);
  });

  test('asks for the code with PKCE S256, state, nonce, aud and the launch id; checks everything; yields the person', async () => {
    const ehr = new ScriptedEhr();
    const app = client(ehr);
    const { url, pending } = await app.begin(target(), 'launch-123');
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(CLIENT_ID);
    expect(q.get('redirect_uri')).toBe(`${APP_URL}/app/callback`);
    expect(q.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['launch', 'openid', 'fhirUser']));
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('state')).toBe(pending.state);
    expect(q.get('nonce')).toBe(pending.nonce);
    expect(q.get('aud')).toBe(ISS);
    expect(q.get('launch')).toBe('launch-123');
    expect(q.get('code_challenge')).toBe(
      createHash('sha256').update(pending.codeVerifier).digest('base64url'),
    );

    const person = await app.finish(target(), pendingOf(pending), ehr.authorize(url));
    expect(person).toEqual({
      fhirUser: 'Practitioner/p1',
      name: 'Avery Okafor',
      role: 'biller',
      patient: 'Patient/pat-1',
      encounter: 'Encounter/enc-9',
      accessToken: 'ehr-access-token',
    });
    expect(ehr.unexpected).toEqual([]);
    expect(ehr.tokenExchanges).toBe(1);
  });

  test('an absolute fhirUser under iss is the same person as a relative one; config may name the role', async () => {
    const ehr = new ScriptedEhr();
    ehr.idToken = { fhirUser: `${ISS}/Practitioner/p2` };
    const app = client(ehr);
    const config = target({ roles: { 'Practitioner/p2': 'coder' } });
    const { url, pending } = await app.begin(config, undefined);
    expect(url.searchParams.has('launch')).toBe(false);
    const person = await app.finish(config, pendingOf(pending), ehr.authorize(url));
    expect(person.fhirUser).toBe('Practitioner/p2');
    expect(person.role).toBe('coder');
    // Role by config: the EHR is not asked for PractitionerRoles.
    expect(ehr.calls.some((c) => c.includes('PractitionerRole'))).toBe(false);
    expect(ehr.unexpected).toEqual([]);
  });
});

describe('what a launch refuses', () => {
  test('an iss no tenant names is unknown (nothing is fetched from it)', () => {
    const tenants = () => [{ id: 'clinic', ehrLaunch: [target().config] }];
    expect(launchTarget({ tenants }, `${ISS}/`)?.tenant).toBe('clinic');
    expect(launchTarget({ tenants }, 'https://evil.example.net/fhir')).toBeUndefined();
  });

  test('an EHR that offers no PKCE S256: no authorize URL', async () => {
    const ehr = new ScriptedEhr();
    ehr.smartConfiguration = { ...ehr.smartConfiguration, code_challenge_methods_supported: ['plain'] };
    expect(await failureOf(client(ehr).begin(target(), 'l'))).toBe('no-pkce');
    expect(ehr.calls).toEqual([`GET ${ISS}/.well-known/smart-configuration`]);
  });

  test('a callback whose state is not the launch’s: the code is never exchanged', async () => {
    const ehr = new ScriptedEhr();
    const app = client(ehr);
    const { url, pending } = await app.begin(target(), 'l');
    expect(
      await failureOf(app.finish(target(), pendingOf(pending), ehr.authorize(url, 'forged-state'))),
    ).toBe('state');
    expect(ehr.tokenExchanges).toBe(0);
    expect(ehr.unexpected).toEqual([]);
  });

  test('the EHR said no (error at the callback): the code is never exchanged', async () => {
    const ehr = new ScriptedEhr();
    const app = client(ehr);
    const { pending } = await app.begin(target(), 'l');
    const callback = new URL(`${APP_URL}/app/callback?error=access_denied&state=${pending.state}`);
    expect(await failureOf(app.finish(target(), pendingOf(pending), callback))).toBe('authorization-denied');
    expect(ehr.tokenExchanges).toBe(0);
  });

  test('a PKCE verifier that is not the one behind the challenge: the EHR refuses the code', async () => {
    const ehr = new ScriptedEhr();
    const app = client(ehr);
    const { url, pending } = await app.begin(target(), 'l');
    const other = await app.begin(target(), 'l');
    const callback = ehr.authorize(url);
    expect(
      await failureOf(
        app.finish(target(), pendingOf({ ...pending, codeVerifier: other.pending.codeVerifier }), callback),
      ),
    ).toBe('token');
  });

  const idTokenCases: [string, IdTokenOptions][] = [
    ['a wrong nonce', { nonce: 'not-the-launch-nonce' }],
    ['an expired id_token', { expiresIn: -600 }],
    ['an id_token signed by another key', { signer: 'forger' }],
  ];
  test.each(idTokenCases)('%s: no session', async (_name, options) => {
    const ehr = new ScriptedEhr();
    ehr.idToken = options;
    const app = client(ehr);
    const { url, pending } = await app.begin(target(), 'l');
    expect(await failureOf(app.finish(target(), pendingOf(pending), ehr.authorize(url)))).toBe('id-token');
    // Neither the person nor their roles were looked up with a token from an unverified sign-in.
    expect(ehr.calls.some((c) => c.includes('/Practitioner'))).toBe(false);
    expect(ehr.unexpected).toEqual([]);
  });

  test('a person with no role at the EHR and none in config', async () => {
    const ehr = new ScriptedEhr();
    ehr.roles = {};
    const app = client(ehr);
    const { url, pending } = await app.begin(target(), 'l');
    expect(await failureOf(app.finish(target(), pendingOf(pending), ehr.authorize(url)))).toBe('no-role');
    expect(ehr.unexpected).toEqual([]);
  });

  test('an id_token without fhirUser', async () => {
    const ehr = new ScriptedEhr();
    ehr.idToken = { fhirUser: 'not a reference' };
    const app = client(ehr);
    const { url, pending } = await app.begin(target(), 'l');
    expect(await failureOf(app.finish(target(), pendingOf(pending), ehr.authorize(url)))).toBe(
      'no-fhir-user',
    );
  });
});
