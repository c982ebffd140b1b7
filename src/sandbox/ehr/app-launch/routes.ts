/**
 * SMART App Launch 2.x on the sandbox EHR (https://hl7.org/fhir/smart-app-launch/app-launch.html):
 * the authorize endpoint (GET and POST; PKCE S256 required, `aud` checked, EHR launch with a
 * launch context or standalone with a sign-in list of practitioners), the `authorization_code`
 * grant at the token endpoint (private_key_jwt client authentication, code bound to client,
 * redirect URI and code verifier, single use), RS256 id_tokens with `fhirUser` (signed without a
 * `kid`: the JWKS holds one key, a habit of real EHRs), the JWKS, and the chart page whose
 * "Billing" button opens the registered app in an iframe.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Encounter, Location, Patient, Practitioner, PractitionerRole } from '@medplum/fhirtypes';
import express from 'express';
import type { Request, Response, Router } from 'express';
import type { CryptoKey, JWK } from 'jose';
import { SignJWT } from 'jose/jwt/sign';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import {
  ClientAssertionError,
  CLIENT_ASSERTION_TYPE,
  verifyClientAssertion,
} from '../../../auth/client-assertion.ts';
import type { TokenService } from '../../../auth/token-service.ts';
import type { AuthStore } from '../../../store/port.ts';
import { SANDBOX_EHR_TENANT } from '../auth-store.ts';
import type { NotifyingRepository } from '../repository.ts';
import { appFramePage, chartPage, errorPage, signInPage } from './pages.ts';
import type { EncounterRow, PersonRow } from './pages.ts';
import type { AppLaunchRegistry } from './registry.ts';
import { grantScopes } from './registry.ts';
import { untilSuccess } from '../../../async/until-success.ts';

export interface AppLaunchDeps {
  readonly repo: NotifyingRepository;
  readonly authStore: AuthStore;
  readonly tokenService: TokenService;
  readonly registry: AppLaunchRegistry;
  /** The EHR's base URL (issuer of id_tokens) and FHIR base (`iss` of launches, `aud` of authorize). */
  readonly publicUrl: string;
  readonly fhirBaseUrl: string;
  readonly tokenUrl: string;
  readonly now: () => Date;
  /** `fhirUser` as an absolute URL (default) or relative (`Practitioner/123`), as EHRs differ. */
  readonly fhirUserForm?: 'absolute' | 'relative';
}

export const CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'context-ehr-patient',
  'context-ehr-encounter',
  'client-confidential-asymmetric',
  'sso-openid-connect',
  'openid',
  'fhirUser',
  'pkce',
  'permission-v1',
  'permission-v2',
  'permission-user',
];

/** The id_token signing key: RS256, as OpenID Connect requires every provider to support. */
export interface IdTokenKey {
  readonly privateKey: CryptoKey;
  readonly jwks: { keys: JWK[] };
}

export async function createIdTokenKey(): Promise<IdTokenKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), alg: 'RS256', use: 'sig', kid: 'ehr-id-token-1' };
  return { privateKey, jwks: { keys: [jwk] } };
}

/**
 * The id_token key, made when first asked for (an id_token signed, the JWKS read) and the same
 * from then on: an RSA key costs ~50 ms of CPU, and most EHR runs (every ingest test's) launch no
 * app. A failed attempt is not kept, so the next ask tries again.
 */
export function lazyIdTokenKey(
  create: () => Promise<IdTokenKey> = createIdTokenKey,
): () => Promise<IdTokenKey> {
  return untilSuccess(create);
}

/** The extra members of the EHR's `.well-known/smart-configuration` for app launch. */
export function appLaunchConfiguration(deps: Pick<AppLaunchDeps, 'publicUrl'>): Record<string, unknown> {
  return {
    authorization_endpoint: `${deps.publicUrl}/oauth2/authorize`,
    jwks_uri: `${deps.publicUrl}/.well-known/jwks.json`,
    grant_types_supported: ['authorization_code', 'client_credentials'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: [
      'openid',
      'fhirUser',
      'launch',
      'launch/patient',
      'launch/encounter',
      'user/*.rs',
      'user/*.read',
      'system/*.rs',
      'system/*.cruds',
    ],
    capabilities: CAPABILITIES,
  };
}

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });
const USER_COOKIE = 'ehr_session';

const nameOf = (r: Practitioner | Patient | undefined): string => {
  const n = r?.name?.[0];
  return n ? [...(n.given ?? []), n.family ?? ''].join(' ').trim() || (r.id ?? '') : (r?.id ?? '');
};

function single(source: Record<string, unknown>, name: string): string | undefined {
  const v = source[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      return v.join('=');
    }
  }
  return undefined;
}

export function createAppLaunchRouter(deps: AppLaunchDeps, idTokenKey: () => Promise<IdTokenKey>): Router {
  const router = express.Router();
  /** EHR sign-in sessions of the chart page: session id → "Practitioner/<id>". */
  const sessions = new Map<string, string>();

  async function people(): Promise<PersonRow[]> {
    const all = (await deps.repo.listAll('Practitioner')) as Practitioner[];
    const roles = (await deps.repo.listAll('PractitionerRole')) as PractitionerRole[];
    const roleOf = new Map(
      roles.map((r) => [r.practitioner?.reference ?? '', r.code?.[0]?.coding?.[0]?.display ?? '']),
    );
    return all
      .map((p) => ({ id: p.id ?? '', name: nameOf(p), role: roleOf.get(`Practitioner/${p.id ?? ''}`) ?? '' }))
      .map((p) => (p.role === '' ? { id: p.id, name: p.name } : p))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async function practitioner(id: string | undefined): Promise<Practitioner | undefined> {
    if (id === undefined || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) {
      return undefined;
    }
    return (await deps.repo.readCurrent('Practitioner', id)) as Practitioner | undefined;
  }

  const signedIn = (req: Request): string | undefined => {
    const id = cookie(req, USER_COOKIE);
    return id ? sessions.get(id) : undefined;
  };

  // ---- The chart -------------------------------------------------------------------------------

  router.get('/chart', async (req: Request, res: Response) => {
    const user = signedIn(req);
    if (!user) {
      res
        .type('html')
        .send(signInPage(await people(), { action: '/chart/login', heading: 'Sign in to the chart' }));
      return;
    }
    const who = nameOf(await practitioner(user.split('/')[1]));
    const encounters = (await deps.repo.listAll('Encounter')) as Encounter[];
    const patients = new Map(
      ((await deps.repo.listAll('Patient')) as Patient[]).map((p) => [`Patient/${p.id ?? ''}`, p]),
    );
    const locations = new Map(
      ((await deps.repo.listAll('Location')) as Location[]).map((l) => [
        `Location/${l.id ?? ''}`,
        l.name ?? '',
      ]),
    );
    const rows: EncounterRow[] = encounters
      .map((e) => ({
        id: e.id ?? '',
        patient: e.subject?.reference ?? '',
        patientName: nameOf(patients.get(e.subject?.reference ?? '')),
        start: e.period?.start ?? '',
        status: e.status,
        location: locations.get(e.location?.[0]?.location.reference ?? '') ?? '',
      }))
      .sort((a, b) => a.start.localeCompare(b.start));
    const day = rows[0]?.start.slice(0, 10) ?? deps.now().toISOString().slice(0, 10);
    res.type('html').send(chartPage(who, rows, day));
  });

  router.post('/chart/login', formParser, async (req: Request, res: Response) => {
    const found = await practitioner(single(req.body as Record<string, unknown>, 'practitioner'));
    if (!found?.id) {
      res.status(400).type('html').send(errorPage('Choose a practitioner from the list.'));
      return;
    }
    const id = randomBytes(24).toString('base64url');
    sessions.set(id, `Practitioner/${found.id}`);
    res.set('Set-Cookie', `${USER_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`).redirect(303, '/chart');
  });

  router.post('/chart/logout', (req: Request, res: Response) => {
    const id = cookie(req, USER_COOKIE);
    if (id) {
      sessions.delete(id);
    }
    res
      .set('Set-Cookie', `${USER_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`)
      .redirect(303, '/chart');
  });

  router.post('/chart/billing', formParser, async (req: Request, res: Response) => {
    const user = signedIn(req);
    const app = deps.registry.apps()[0];
    if (!user || !app) {
      res
        .status(user ? 409 : 401)
        .type('html')
        .send(errorPage(user ? 'No app is registered.' : 'Sign in first.'));
      return;
    }
    const encounterId = single(req.body as Record<string, unknown>, 'encounter');
    let encounter: Encounter | undefined;
    if (encounterId !== undefined) {
      encounter = /^[A-Za-z0-9\-.]{1,64}$/.test(encounterId)
        ? ((await deps.repo.readCurrent('Encounter', encounterId)) as Encounter | undefined)
        : undefined;
      if (!encounter) {
        res.status(404).type('html').send(errorPage('No such encounter.'));
        return;
      }
    }
    const patient = encounter?.subject?.reference;
    const launch = deps.registry.createLaunch({
      user,
      ...(patient ? { patient } : {}),
      ...(encounter?.id ? { encounter: `Encounter/${encounter.id}` } : {}),
    });
    const src = `${app.launchUrl}?${new URLSearchParams({ iss: deps.fhirBaseUrl, launch }).toString()}`;
    const patientName = patient
      ? nameOf((await deps.repo.readCurrent('Patient', patient.split('/')[1] ?? '')) as Patient | undefined)
      : '';
    const who = nameOf(await practitioner(user.split('/')[1]));
    res.type('html').send(appFramePage(who, patientName ? `Billing — ${patientName}` : 'Billing', src));
  });

  // ---- Authorize -------------------------------------------------------------------------------

  const authorize = async (req: Request, res: Response): Promise<void> => {
    const params = (req.method === 'POST' ? req.body : req.query) as Record<string, unknown>;
    const clientId = single(params, 'client_id');
    const redirectUri = single(params, 'redirect_uri');
    const app = clientId ? deps.registry.app(clientId) : undefined;
    // RFC 6749 §4.1.2.1: an unknown client or redirect URI is told to the user, never redirected to.
    if (!app || !redirectUri || !app.redirectUris.includes(redirectUri)) {
      res.status(400).type('html').send(errorPage('Unknown app or redirect URI.'));
      return;
    }
    const state = single(params, 'state');
    const fail = (error: string, description: string): void => {
      const url = new URL(redirectUri);
      url.searchParams.set('error', error);
      url.searchParams.set('error_description', description);
      if (state) {
        url.searchParams.set('state', state);
      }
      res.redirect(303, url.href);
    };
    if (single(params, 'response_type') !== 'code') {
      fail('unsupported_response_type', 'response_type must be code');
      return;
    }
    if (single(params, 'aud') !== deps.fhirBaseUrl) {
      fail('invalid_request', 'aud must be this EHR FHIR base URL');
      return;
    }
    const challenge = single(params, 'code_challenge');
    if (
      single(params, 'code_challenge_method') !== 'S256' ||
      !challenge ||
      !/^[A-Za-z0-9_-]{43}$/.test(challenge)
    ) {
      fail('invalid_request', 'PKCE is required: code_challenge with code_challenge_method S256');
      return;
    }
    const scope = grantScopes(single(params, 'scope') ?? '', app.scope);
    const launchId = single(params, 'launch');
    let user: string | undefined;
    let patient: string | undefined;
    let encounter: string | undefined;
    if (launchId !== undefined) {
      const launch = deps.registry.launch(launchId);
      if (!launch) {
        fail('invalid_request', 'unknown or expired launch');
        return;
      }
      ({ user, patient, encounter } = launch);
    } else {
      // Standalone launch: the person signs in here (POST back with their choice).
      const chosen = req.method === 'POST' ? await practitioner(single(params, 'practitioner')) : undefined;
      if (!chosen?.id) {
        const hidden = Object.fromEntries(
          Object.entries(params).filter(
            (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'practitioner',
          ),
        );
        res.type('html').send(
          signInPage(await people(), {
            action: '/oauth2/authorize',
            hidden,
            heading: `Sign in to open ${app.name}`,
          }),
        );
        return;
      }
      user = `Practitioner/${chosen.id}`;
    }
    const nonce = single(params, 'nonce');
    const code = deps.registry.issueCode({
      clientId: app.clientId,
      redirectUri,
      codeChallenge: challenge,
      scope,
      user,
      ...(scope.split(' ').includes('launch') || scope.includes('launch/patient') ? { patient } : {}),
      ...(scope.split(' ').includes('launch') || scope.includes('launch/encounter') ? { encounter } : {}),
      ...(nonce ? { nonce } : {}),
    });
    const url = new URL(redirectUri);
    url.searchParams.set('code', code);
    if (state) {
      url.searchParams.set('state', state);
    }
    res.redirect(303, url.href);
  };
  router.get('/oauth2/authorize', authorize);
  router.post('/oauth2/authorize', formParser, authorize);

  // ---- Token: the authorization_code grant (client_credentials goes on to the shared router) ----

  router.post('/oauth2/token', formParser, async (req: Request, res: Response, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.grant_type !== 'authorization_code') {
      next();
      return;
    }
    const oauthError = (status: number, error: string, description: string): void => {
      res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
    };
    const assertion = single(body, 'client_assertion');
    if (single(body, 'client_assertion_type') !== CLIENT_ASSERTION_TYPE || !assertion) {
      oauthError(401, 'invalid_client', 'private_key_jwt client authentication is required');
      return;
    }
    let clientId: string;
    try {
      const verified = await verifyClientAssertion(assertion, {
        authStore: deps.authStore,
        tokenUrl: deps.tokenUrl,
        additionalAudiences: [deps.publicUrl],
        now: deps.now(),
      });
      clientId = verified.client.clientId;
    } catch (err) {
      if (err instanceof ClientAssertionError) {
        oauthError(401, 'invalid_client', err.message);
        return;
      }
      throw err;
    }
    const grant = deps.registry.redeemCode(single(body, 'code') ?? '');
    const verifier = single(body, 'code_verifier') ?? '';
    if (
      !grant ||
      grant.clientId !== clientId ||
      grant.redirectUri !== single(body, 'redirect_uri') ||
      createHash('sha256').update(verifier).digest('base64url') !== grant.codeChallenge
    ) {
      oauthError(400, 'invalid_grant', 'the code is unknown, used, expired, or not bound to this request');
      return;
    }
    const at = deps.now();
    const userScopes = grant.scope.split(' ').filter((s) => s.startsWith('user/'));
    const issued = await deps.tokenService.issueAccessToken({
      clientId,
      tenant: SANDBOX_EHR_TENANT,
      scope: userScopes.join(' '),
      now: at,
    });
    const fhirUser = deps.fhirUserForm === 'relative' ? grant.user : `${deps.fhirBaseUrl}/${grant.user}`;
    const scopes = grant.scope.split(' ');
    const idToken = scopes.includes('openid')
      ? await new SignJWT({
          ...(scopes.includes('fhirUser') ? { fhirUser } : {}),
          ...(grant.nonce ? { nonce: grant.nonce } : {}),
        })
          // No kid: the JWKS holds one key (what several EHRs do; the app must cope).
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
          .setIssuer(deps.publicUrl)
          .setSubject(grant.user.split('/')[1] ?? grant.user)
          .setAudience(clientId)
          .setIssuedAt(Math.floor(at.getTime() / 1000))
          .setExpirationTime(Math.floor(at.getTime() / 1000) + 300)
          .sign((await idTokenKey()).privateKey)
      : undefined;
    res
      .status(200)
      .set('Cache-Control', 'no-store')
      .set('Pragma', 'no-cache')
      .json({
        access_token: issued.accessToken,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        scope: grant.scope,
        ...(idToken ? { id_token: idToken } : {}),
        ...(grant.patient ? { patient: grant.patient.split('/')[1] } : {}),
        ...(grant.encounter ? { encounter: grant.encounter.split('/')[1] } : {}),
        need_patient_banner: false,
      });
  });

  router.get('/.well-known/jwks.json', async (_req: Request, res: Response) => {
    res.json((await idTokenKey()).jwks);
  });
  return router;
}
