/**
 * Dripline's access tokens: short-lived JWTs (RFC 9068 profile, `typ: at+jwt`) signed with the
 * server's own EC key. The key is generated once and kept in the store's shared settings
 * (`AuthStore.getOrInitSetting`, first writer wins), so every server process sharing the store
 * signs and verifies with the same key.
 *
 * A token is also only as good as its client's registration, checked on every use (the signature
 * check is cached; the registration is re-read whenever the store's client registry version moves):
 * a client disabled, removed or moved to another tenant stops working at once, and a token obtained with a client key that has since been replaced
 * (`dripline client rotate-key`: claim `client_key`, the key's kid or thumbprint) stops with it.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import * as errors from 'jose/errors';
import { SignJWT } from 'jose/jwt/sign';
import { calculateJwkThumbprint } from 'jose/jwk/thumbprint';
import { importJWK } from 'jose/key/import';
import { jwtVerify } from 'jose/jwt/verify';
import type { AuthStore } from '../store/port.ts';
import { clientKeyId } from './client-assertion.ts';
import type { ParsedScope } from './scopes.ts';
import { parseGrantedScopes } from './scopes.ts';

export const TOKEN_SIGNING_KEY_SETTING = 'token-signing-key';
/** SMART Backend Services: access tokens SHOULD NOT live longer than five minutes. */
export const MAX_ACCESS_TOKEN_LIFETIME_SECONDS = 300;
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export type TokenSigningAlg = 'ES256' | 'ES384';

export interface TokenServiceOptions {
  readonly authStore: AuthStore;
  /** `iss` of the tokens: the server's public base URL (also the OAuth issuer identifier). */
  readonly issuer: string;
  /** `aud` of the tokens: the FHIR base URL. */
  readonly audience: string;
  /** 1..300, default 300. */
  readonly lifetimeSeconds?: number;
  /** Algorithm of a newly generated key (default ES384); an existing stored key keeps its own. */
  readonly alg?: TokenSigningAlg;
  /** Tolerance when verifying exp/iat, default 5 s (tokens come from peer processes). */
  readonly clockSkewSeconds?: number;
}

export interface IssueAccessTokenInput {
  readonly clientId: string;
  readonly tenant: string;
  /** The granted scopes, space-separated. */
  readonly scope: string;
  /** The registered key that authenticated the client (clientKeyId): the token ends when it is replaced. */
  readonly clientKeyId?: string;
  readonly now: Date;
}

export interface IssuedAccessToken {
  readonly accessToken: string;
  /** Seconds, for the token response's `expires_in`. */
  readonly expiresIn: number;
  readonly expiresAt: Date;
  readonly scope: string;
  readonly jti: string;
}

export interface VerifiedAccessToken {
  readonly clientId: string;
  readonly tenant: string;
  readonly scopes: ParsedScope[];
  readonly scope: string;
  readonly expiresAt: Date;
  readonly jti: string;
  /** The client key it was obtained with, when the token names one. */
  readonly clientKeyId?: string;
}

/** Thrown by verifyAccessToken; `message` is safe to return to the client (it never contains the token). */
export class InvalidAccessTokenError extends Error {
  readonly reason: 'expired' | 'invalid' | 'revoked';
  constructor(reason: 'expired' | 'invalid' | 'revoked', message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidAccessTokenError';
    this.reason = reason;
  }
}

export interface TokenService {
  readonly issuer: string;
  readonly audience: string;
  readonly lifetimeSeconds: number;
  readonly alg: TokenSigningAlg;
  readonly kid: string;
  issueAccessToken(input: IssueAccessTokenInput): Promise<IssuedAccessToken>;
  /** Throws InvalidAccessTokenError. `now` defaults to the current time. */
  verifyAccessToken(token: string, now?: Date): Promise<VerifiedAccessToken>;
  /** The public key set (for a `jwks_uri`, if the lead wants to publish one). */
  publicJwks(): { keys: JWK[] };
}

interface StoredSigningKey {
  readonly alg: TokenSigningAlg;
  /** Private JWK (kty EC, crv, x, y, d). */
  readonly jwk: JWK;
}

const CURVES: Readonly<Record<TokenSigningAlg, string>> = { ES256: 'P-256', ES384: 'P-384' };

function generateSigningKey(alg: TokenSigningAlg): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: CURVES[alg] });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const stored: StoredSigningKey = { alg, jwk };
  return JSON.stringify(stored);
}

function parseStoredKey(text: string): StoredSigningKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Error(`setting ${TOKEN_SIGNING_KEY_SETTING} is not valid JSON`, { cause });
  }
  const v = value as Partial<StoredSigningKey> | null;
  if (
    !v ||
    (v.alg !== 'ES256' && v.alg !== 'ES384') ||
    typeof v.jwk !== 'object' ||
    v.jwk.kty !== 'EC' ||
    v.jwk.crv !== CURVES[v.alg] ||
    typeof v.jwk.d !== 'string'
  ) {
    throw new Error(`setting ${TOKEN_SIGNING_KEY_SETTING} does not hold an EC private JWK`);
  }
  return { alg: v.alg, jwk: v.jwk };
}

const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'tenant', 'scope'];

/** What a token check needs of its client's registration (tenant absent: not registered). */
interface Registration {
  readonly version: string | undefined;
  readonly tenant?: string;
  readonly disabled?: boolean;
  /** clientKeyId of each registered key. */
  readonly keyIds: ReadonlySet<string>;
}

/** Loads (or, for the first process, generates and stores) the signing key and returns the service. */
export async function createTokenService(options: TokenServiceOptions): Promise<TokenService> {
  const lifetimeSeconds = options.lifetimeSeconds ?? MAX_ACCESS_TOKEN_LIFETIME_SECONDS;
  if (
    !Number.isInteger(lifetimeSeconds) ||
    lifetimeSeconds < 1 ||
    lifetimeSeconds > MAX_ACCESS_TOKEN_LIFETIME_SECONDS
  ) {
    throw new RangeError(
      `access token lifetime must be an integer in 1..${MAX_ACCESS_TOKEN_LIFETIME_SECONDS} seconds`,
    );
  }
  const clockSkewSeconds = options.clockSkewSeconds ?? 5;
  const requestedAlg = options.alg ?? 'ES384';
  const stored = parseStoredKey(
    await options.authStore.getOrInitSetting(TOKEN_SIGNING_KEY_SETTING, () =>
      generateSigningKey(requestedAlg),
    ),
  );
  const { alg } = stored;
  const { kty, crv, x, y } = stored.jwk;
  const kid = await calculateJwkThumbprint({ kty, crv, x, y }, 'sha256');
  const publicJwk: JWK = { kty, crv, x, y, kid, alg, use: 'sig' };
  const privateKey = (await importJWK({ ...stored.jwk, alg }, alg)) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, alg)) as CryptoKey;
  const { issuer, audience } = options;
  // Verified tokens by their exact text. An ES384 signature check costs ~1 ms of CPU; a client
  // reuses its token for up to 5 minutes, so each token is verified once. Entries are bounded and
  // the expiry is still checked on every use.
  const verified = new Map<string, VerifiedAccessToken>();
  const MAX_CACHED_TOKENS = 10_000;

  // Registrations as last read, with the store's client registry version they were read under
  // (AuthStore.clientRegistryVersion): reused while that version is unchanged, so a request costs
  // one cheap version read instead of reading and parsing the registration. Any change to a client,
  // from this process or another, moves the version, and the next request reads it again: a
  // disabled or re-keyed client's tokens still stop at once.
  const registrations = new Map<string, Registration>();
  const MAX_CACHED_REGISTRATIONS = 10_000;

  async function registration(clientId: string): Promise<Registration> {
    // The version first: a registration read after it is at least as new as it.
    const version = await options.authStore.clientRegistryVersion();
    const cached = version === undefined ? undefined : registrations.get(clientId);
    if (cached && cached.version === version) {
      return cached;
    }
    const client = await options.authStore.getClient(clientId);
    const keys = client && Array.isArray(client.jwks.keys) ? client.jwks.keys : [];
    const read: Registration = {
      version,
      ...(client ? { tenant: client.tenant, disabled: client.disabled === true } : {}),
      keyIds: new Set(await Promise.all(keys.map((k) => clientKeyId(k)))),
    };
    if (version !== undefined) {
      registrations.delete(clientId);
      if (registrations.size >= MAX_CACHED_REGISTRATIONS) {
        const oldest = registrations.keys().next().value;
        if (oldest !== undefined) {
          registrations.delete(oldest);
        }
      }
      registrations.set(clientId, read);
    }
    return read;
  }

  /** The token's client as registered now: it must exist, be enabled, and still hold the token's key. */
  async function checkRegistration(token: VerifiedAccessToken): Promise<void> {
    const client = await registration(token.clientId);
    if (client.tenant === undefined || client.tenant !== token.tenant) {
      throw new InvalidAccessTokenError('revoked', 'the client of the access token is not registered');
    }
    if (client.disabled === true) {
      throw new InvalidAccessTokenError('revoked', 'the client of the access token is disabled');
    }
    if (token.clientKeyId !== undefined && !client.keyIds.has(token.clientKeyId)) {
      throw new InvalidAccessTokenError(
        'revoked',
        'the client key that obtained the access token was replaced',
      );
    }
  }

  return {
    issuer,
    audience,
    lifetimeSeconds,
    alg,
    kid,

    async issueAccessToken(input: IssueAccessTokenInput): Promise<IssuedAccessToken> {
      const iat = Math.floor(input.now.getTime() / 1000);
      const exp = iat + lifetimeSeconds;
      const jti = randomUUID();
      const accessToken = await new SignJWT({
        tenant: input.tenant,
        scope: input.scope,
        client_id: input.clientId,
        ...(input.clientKeyId !== undefined ? { client_key: input.clientKeyId } : {}),
      })
        .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(input.clientId)
        .setJti(jti)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(privateKey);
      return {
        accessToken,
        expiresIn: lifetimeSeconds,
        expiresAt: new Date(exp * 1000),
        scope: input.scope,
        jti,
      };
    },

    async verifyAccessToken(token: string, now: Date = new Date()): Promise<VerifiedAccessToken> {
      const cached = verified.get(token);
      if (cached) {
        if (now.getTime() < cached.expiresAt.getTime() + clockSkewSeconds * 1000) {
          await checkRegistration(cached);
          return cached;
        }
        verified.delete(token);
        throw new InvalidAccessTokenError('expired', 'the access token expired');
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, publicKey, {
          algorithms: [alg],
          issuer,
          audience,
          typ: ACCESS_TOKEN_TYPE,
          currentDate: now,
          clockTolerance: clockSkewSeconds,
          requiredClaims: REQUIRED_CLAIMS,
          maxTokenAge: MAX_ACCESS_TOKEN_LIFETIME_SECONDS + clockSkewSeconds,
        }));
      } catch (cause) {
        if (cause instanceof errors.JWTExpired) {
          throw new InvalidAccessTokenError('expired', 'the access token expired', { cause });
        }
        throw new InvalidAccessTokenError('invalid', 'the access token is invalid', { cause });
      }
      const { sub, tenant, scope, jti, exp, client_key: clientKey } = payload;
      if (
        typeof sub !== 'string' ||
        typeof tenant !== 'string' ||
        typeof scope !== 'string' ||
        typeof jti !== 'string' ||
        typeof exp !== 'number' ||
        (clientKey !== undefined && typeof clientKey !== 'string') ||
        sub === '' ||
        tenant === ''
      ) {
        throw new InvalidAccessTokenError('invalid', 'the access token is invalid');
      }
      const result: VerifiedAccessToken = {
        clientId: sub,
        tenant,
        scopes: parseGrantedScopes(scope),
        scope,
        expiresAt: new Date(exp * 1000),
        jti,
        ...(typeof clientKey === 'string' ? { clientKeyId: clientKey } : {}),
      };
      await checkRegistration(result);
      if (verified.size >= MAX_CACHED_TOKENS) {
        const oldest = verified.keys().next().value;
        if (oldest !== undefined) {
          verified.delete(oldest);
        }
      }
      verified.set(token, result);
      return result;
    },

    publicJwks(): { keys: JWK[] } {
      return { keys: [{ ...publicJwk }] };
    },
  };
}
