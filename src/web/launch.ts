/**
 * SMART App Launch 2.x for the billers' app, Dripline being the confidential client
 * (https://hl7.org/fhir/smart-app-launch/app-launch.html): `iss` checked against the tenants'
 * `ehrLaunch` list before anything is fetched from it; discovery from
 * `{iss}/.well-known/smart-configuration`; the authorization code flow with PKCE S256, `state`,
 * `nonce` and `aud`; the code exchanged with a private_key_jwt assertion; and every check done
 * here, never left to the EHR: state (the pending launch is bound to the browser's cookie and
 * compared), PKCE (our verifier), the id_token's signature against the EHR's JWKS (a token
 * without `kid` is verified with the JWKS's only key), issuer, audience, expiry and nonce
 * (openid-client with non-repudiation checks on). Then the person: `fhirUser` (relative or
 * absolute), their name and their role (config, else their PractitionerRoles at the EHR).
 */
import type { Practitioner, PractitionerRole, Bundle } from '@medplum/fhirtypes';
import type { JWK } from 'jose';
import { importJWK } from 'jose/key/import';
import * as oidc from 'openid-client';
import type { AppRole, EhrLaunchConfig, TenantConfig } from '../config/config.ts';
import { normalizeFhirUser, roleByConfig, roleByPractitionerRoles } from './roles.ts';
import { sameSecret } from './security.ts';
import type { PendingLaunch } from './sessions.ts';

export const DEFAULT_APP_SCOPE =
  'launch openid fhirUser user/Practitioner.rs user/PractitionerRole.rs user/Patient.rs user/Encounter.rs';

export type LaunchFailure =
  | 'unknown-iss'
  | 'discovery'
  | 'no-pkce'
  | 'authorization-denied'
  | 'state'
  | 'token'
  | 'id-token'
  | 'no-fhir-user'
  | 'no-role';

/** A launch that cannot go on; `message` is for the person (no tokens, no PHI). */
export class LaunchError extends Error {
  readonly failure: LaunchFailure;
  constructor(failure: LaunchFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.failure = failure;
  }
}

export interface LaunchTarget {
  readonly tenant: string;
  readonly config: EhrLaunchConfig;
}

export interface LaunchDeps {
  readonly publicUrl: string;
  /** Tenants with their `ehrLaunch` (plus any added at run time, e.g. the sandbox EHR's). */
  readonly tenants: () => readonly Pick<TenantConfig, 'id' | 'ehrLaunch'>[];
  readonly now: () => Date;
  /** HTTP to EHRs (default: fetch with a 10 s timeout). */
  readonly fetch?: typeof fetch;
}

export interface LaunchedPerson {
  readonly fhirUser: string;
  readonly name: string;
  readonly role: AppRole;
  readonly patient?: string;
  readonly encounter?: string;
  readonly accessToken: string;
}

export const redirectUri = (publicUrl: string): string => `${publicUrl}/app/callback`;

/** The tenant whose config names this `iss` (exactly, after trailing slashes), if any. */
export function launchTarget(deps: Pick<LaunchDeps, 'tenants'>, iss: string): LaunchTarget | undefined {
  const wanted = iss.replace(/\/+$/, '');
  for (const tenant of deps.tenants()) {
    const config = tenant.ehrLaunch?.find((l) => l.iss.replace(/\/+$/, '') === wanted);
    if (config) {
      return { tenant: tenant.id, config };
    }
  }
  return undefined;
}

type SmartConfiguration = oidc.ServerMetadata & {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
  readonly id_token_signing_alg_values_supported?: string[];
};

function absoluteUrl(value: unknown, base: string): string | undefined {
  if (typeof value !== 'string' || value === '') {
    return undefined;
  }
  try {
    const url = new URL(value, base.endsWith('/') ? base : `${base}/`);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const isLoopback = (url: URL): boolean =>
  url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);

export class SmartLaunchClient {
  readonly #deps: LaunchDeps;
  readonly #fetch: typeof fetch;
  readonly #configs = new Map<
    string,
    { at: number; skewSeconds: number; config: Promise<oidc.Configuration> }
  >();

  constructor(deps: LaunchDeps) {
    this.#deps = deps;
    this.#fetch =
      deps.fetch ??
      ((input, init) => fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(10_000) }));
  }

  /** Where to send the browser to authorize, and what to remember until it comes back. */
  async begin(
    target: LaunchTarget,
    launch: string | undefined,
  ): Promise<{ url: URL; pending: Omit<PendingLaunch, 'expiresAt'> }> {
    const config = await this.#configuration(target);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri(this.#deps.publicUrl),
      scope: target.config.scope ?? DEFAULT_APP_SCOPE,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      aud: target.config.iss,
      ...(launch !== undefined ? { launch } : {}),
    });
    return {
      url,
      pending: {
        tenant: target.tenant,
        iss: target.config.iss,
        state,
        nonce,
        codeVerifier,
        ...(launch !== undefined ? { launch } : {}),
      },
    };
  }

  /** The EHR's answer at our redirect URI: checked, exchanged, and turned into a person with a role. */
  async finish(target: LaunchTarget, pending: PendingLaunch, callback: URL): Promise<LaunchedPerson> {
    // State first, by us: an answer to another browser's launch (or a forged one) goes no further.
    if (!sameSecret(callback.searchParams.get('state') ?? '', pending.state)) {
      throw new LaunchError('state', 'The launch does not match this browser (state check failed).');
    }
    const error = callback.searchParams.get('error');
    if (error !== null) {
      throw new LaunchError(
        'authorization-denied',
        `The EHR did not authorize the app (${error.slice(0, 64)}).`,
      );
    }
    const config = await this.#configuration(target);
    let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (cause) {
      throw this.#tokenFailure(cause);
    }
    const claims = tokens.claims();
    const rawUser = claims?.fhirUser;
    const fhirUser = typeof rawUser === 'string' ? normalizeFhirUser(rawUser, target.config.iss) : undefined;
    if (!fhirUser) {
      throw new LaunchError('no-fhir-user', 'The EHR did not say who you are (no fhirUser in the id_token).');
    }
    const accessToken = tokens.access_token;
    const role =
      roleByConfig(target.config, fhirUser) ?? (await this.#roleAtEhr(target, fhirUser, accessToken));
    if (!role) {
      throw new LaunchError('no-role', 'You have no role in Dripline. Ask an administrator for access.');
    }
    const patient = typeof tokens.patient === 'string' ? tokens.patient : undefined;
    const encounter = typeof tokens.encounter === 'string' ? tokens.encounter : undefined;
    const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;
    return {
      fhirUser,
      name: await this.#nameAtEhr(target, fhirUser, accessToken),
      role,
      ...(patient && idPattern.test(patient) ? { patient: `Patient/${patient}` } : {}),
      ...(encounter && idPattern.test(encounter) ? { encounter: `Encounter/${encounter}` } : {}),
      accessToken,
    };
  }

  #tokenFailure(cause: unknown): LaunchError {
    const code = (cause as { code?: unknown }).code;
    // openid-client wraps oauth4webapi's error, whose message names the check that failed.
    const inner = (cause as { cause?: unknown }).cause;
    const text = [cause, inner].map((e) => (e instanceof Error ? e.message : '')).join(' ');
    if (/state/i.test(text)) {
      return new LaunchError('state', 'The launch does not match this browser (state check failed).', {
        cause,
      });
    }
    if (
      code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' ||
      code === 'OAUTH_JWS_SIGNATURE_VERIFICATION_FAILED' ||
      code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' ||
      code === 'OAUTH_MISSING_REQUIRED_PARAMETER' ||
      /id_token|nonce|signature|"exp"|"iat"|"iss"|"aud"/i.test(text)
    ) {
      return new LaunchError('id-token', 'The EHR identity token could not be verified.', { cause });
    }
    return new LaunchError('token', 'The EHR refused to complete the sign-in.', { cause });
  }

  async #configuration(target: LaunchTarget): Promise<oidc.Configuration> {
    const key = `${target.tenant}|${target.config.iss}`;
    const cached = this.#configs.get(key);
    const at = Date.now();
    // The injected clock's lead on the system's, which the client assertion's iat/exp and the
    // id_token checks are made with: a clock moved forward (the sandbox day's, a test's) makes a
    // new configuration, else the EHR on that clock finds the assertion expired.
    const skewSeconds = Math.round((this.#deps.now().getTime() - at) / 1000);
    if (cached && at - cached.at < 5 * 60_000 && Math.abs(cached.skewSeconds - skewSeconds) <= 1) {
      return cached.config;
    }
    const config = this.#discover(target, skewSeconds);
    this.#configs.set(key, { at, skewSeconds, config });
    config.catch(() => this.#configs.delete(key));
    return config;
  }

  async #discover(target: LaunchTarget, skewSeconds: number): Promise<oidc.Configuration> {
    const iss = target.config.iss.replace(/\/+$/, '');
    let document: Record<string, unknown>;
    try {
      const response = await this.#fetch(`${iss}/.well-known/smart-configuration`, {
        headers: { accept: 'application/json' },
      });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      document = (await response.json()) as Record<string, unknown>;
    } catch (cause) {
      throw new LaunchError('discovery', 'The EHR SMART configuration could not be read.', { cause });
    }
    const methods = document.code_challenge_methods_supported;
    if (!Array.isArray(methods) || !methods.includes('S256')) {
      // SMART 2.x: PKCE S256 is required of every server; without it the launch is not safe.
      throw new LaunchError(
        'no-pkce',
        'The EHR does not offer PKCE (S256); the app will not launch without it.',
      );
    }
    const metadata: SmartConfiguration | undefined = (() => {
      const authorization = absoluteUrl(document.authorization_endpoint, iss);
      const token = absoluteUrl(document.token_endpoint, iss);
      const jwks = absoluteUrl(document.jwks_uri, iss);
      const issuer = typeof document.issuer === 'string' ? document.issuer : undefined;
      return authorization && token && jwks && issuer
        ? {
            issuer,
            authorization_endpoint: authorization,
            token_endpoint: token,
            jwks_uri: jwks,
            ...(Array.isArray(document.id_token_signing_alg_values_supported)
              ? {
                  id_token_signing_alg_values_supported:
                    document.id_token_signing_alg_values_supported as string[],
                }
              : {}),
          }
        : undefined;
    })();
    if (!metadata) {
      throw new LaunchError(
        'discovery',
        'The EHR SMART configuration lacks authorization_endpoint, token_endpoint, issuer or jwks_uri.',
      );
    }
    const jwk = target.config.privateKeyJwk as JWK;
    const alg = jwk.alg === 'RS384' ? 'RS384' : 'ES384';
    const key = await importJWK(jwk, alg);
    if (!(key instanceof CryptoKey)) {
      throw new LaunchError('discovery', 'The app private key cannot be used.');
    }
    const tokenEndpoint = metadata.token_endpoint;
    const algs = metadata.id_token_signing_alg_values_supported;
    const config = new oidc.Configuration(
      metadata,
      target.config.clientId,
      {
        [oidc.clockSkew]: skewSeconds,
        ...(algs && algs.length > 0 && !algs.includes('RS256')
          ? { id_token_signed_response_alg: algs[0] }
          : {}),
      },
      oidc.PrivateKeyJwt(typeof jwk.kid === 'string' ? { key, kid: jwk.kid } : { key }, {
        // SMART: the assertion's aud is the token endpoint URL (openid-client defaults to the issuer).
        [oidc.modifyAssertion]: (_header, payload) => {
          payload.aud = tokenEndpoint;
        },
      }),
    );
    config[oidc.customFetch] = (url, init) => this.#fetch(url, init);
    // Verify the id_token's signature against the EHR's JWKS (openid-client otherwise trusts TLS).
    oidc.enableNonRepudiationChecks(config);
    const endpoints = [iss, metadata.authorization_endpoint, tokenEndpoint, metadata.jwks_uri].map(
      (u) => new URL(u),
    );
    if (endpoints.some((u) => u.protocol === 'http:')) {
      if (!endpoints.every((u) => u.protocol === 'https:' || isLoopback(u))) {
        throw new LaunchError(
          'discovery',
          'The EHR endpoints must be https (plain http is allowed on loopback only).',
        );
      }
      // A sandbox or test EHR on this machine.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      oidc.allowInsecureRequests(config);
    }
    return config;
  }

  async #readAtEhr<T>(target: LaunchTarget, path: string, accessToken: string): Promise<T | undefined> {
    const base = target.config.iss.replace(/\/+$/, '');
    try {
      const response = await this.#fetch(`${base}/${path}`, {
        headers: { accept: 'application/fhir+json', authorization: `Bearer ${accessToken}` },
      });
      return response.ok ? ((await response.json()) as T) : undefined;
    } catch {
      return undefined;
    }
  }

  async #roleAtEhr(
    target: LaunchTarget,
    fhirUser: string,
    accessToken: string,
  ): Promise<AppRole | undefined> {
    if (!target.config.roleCodes || fhirUser.startsWith('http')) {
      return undefined;
    }
    if (fhirUser.startsWith('PractitionerRole/')) {
      const role = await this.#readAtEhr<PractitionerRole>(target, fhirUser, accessToken);
      return role ? roleByPractitionerRoles(target.config, [role]) : undefined;
    }
    if (!fhirUser.startsWith('Practitioner/')) {
      return undefined;
    }
    const bundle = await this.#readAtEhr<Bundle<PractitionerRole>>(
      target,
      `PractitionerRole?practitioner=${encodeURIComponent(fhirUser)}`,
      accessToken,
    );
    const roles = (bundle?.entry ?? []).flatMap((e) =>
      e.resource?.resourceType === 'PractitionerRole' ? [e.resource] : [],
    );
    return roleByPractitionerRoles(target.config, roles);
  }

  async #nameAtEhr(target: LaunchTarget, fhirUser: string, accessToken: string): Promise<string> {
    if (fhirUser.startsWith('http')) {
      return fhirUser;
    }
    const person = await this.#readAtEhr<Practitioner>(target, fhirUser, accessToken);
    const name = person?.name?.[0];
    const text = name ? (name.text ?? [...(name.given ?? []), name.family ?? ''].join(' ').trim()) : '';
    return text !== '' ? text.slice(0, 200) : fhirUser;
  }
}
