/**
 * Verification of `private_key_jwt` client assertions, as SMART Backend Services
 * (https://hl7.org/fhir/smart-app-launch/backend-services.html, "Authenticating to the token
 * endpoint") and RFC 7523 §3 / RFC 7521 §4.2 require:
 *
 * - header `alg` RS384 or ES384 (the two SMART mandates); everything else — HS*, RS256, none — is refused;
 * - the verification key comes from the client's registered JWK Set only (header `jku`/`jwk`/`x5u`
 *   are ignored), chosen by `kid` when the header has one, otherwise every registered key that fits `alg`;
 * - `iss` = `sub` = client_id;
 * - `aud` = the token endpoint URL, compared exactly. The issuer identifier is accepted as well when
 *   the caller lists it: that is what RFC 7523bis (draft-ietf-oauth-rfc7523bis) prescribes and what
 *   current generic clients send (openid-client/oauth4webapi). `aud` must be single-valued
 *   (a string or a one-element array), which closes the "audience injection" hole 7523bis fixes;
 * - `exp` required, not in the past, and at most five minutes in the future;
 * - `jti` required and never seen before for this client (recorded until `exp`);
 * - `nbf`/`iat`, when present, not in the future; a small clock skew is tolerated everywhere.
 *
 * Signature comparison is done by WebCrypto through `jose` (no secrets are compared here).
 */
import type { CryptoKey, JWK, JWTPayload, ProtectedHeaderParameters } from 'jose';
import * as errors from 'jose/errors';
import { calculateJwkThumbprint } from 'jose/jwk/thumbprint';
import { decodeJwt } from 'jose/jwt/decode';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { importJWK } from 'jose/key/import';
import { jwtVerify } from 'jose/jwt/verify';
import type { AuthStore, ClientRecord } from '../store/port.ts';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const CLIENT_ASSERTION_ALGS = ['RS384', 'ES384'] as const;
export type ClientAssertionAlg = (typeof CLIENT_ASSERTION_ALGS)[number];
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
export const DEFAULT_ASSERTION_CLOCK_SKEW_SECONDS = 30;
const MAX_ASSERTION_LENGTH = 16_384;
const MAX_JTI_LENGTH = 256;
const MAX_CANDIDATE_KEYS = 10;

export interface VerifyClientAssertionOptions {
  readonly authStore: AuthStore;
  /** The token endpoint URL; `aud` must equal it exactly. */
  readonly tokenUrl: string;
  /** Other exact `aud` values accepted (the server's issuer identifier, see the file comment). */
  readonly additionalAudiences?: readonly string[];
  readonly now: Date;
  /** When the request also carried `client_id`, it must equal the assertion's `iss`/`sub`. */
  readonly expectedClientId?: string;
  /** Default 30. */
  readonly clockSkewSeconds?: number;
}

export interface VerifiedClientAssertion {
  readonly client: ClientRecord;
  readonly jti: string;
  readonly expiresAt: Date;
  /** Which registered key verified the assertion (clientKeyId): tokens it obtains live as long as that key. */
  readonly keyId: string;
}

/**
 * Dates a client assertion's claims (`iat`, `nbf`, `exp`) by `now`, keeping the lifetime its
 * builder gave it: for a client whose clock is not the system clock (openid-client dates by the
 * system clock). Claims the builder left out stay out.
 */
export function datedBy(payload: JWTPayload, now: Date): void {
  const seconds = Math.floor(now.getTime() / 1000);
  const lifetime =
    typeof payload.exp === 'number' && typeof payload.iat === 'number' ? payload.exp - payload.iat : 60;
  if (payload.iat !== undefined) {
    payload.iat = seconds;
  }
  if (payload.nbf !== undefined) {
    payload.nbf = seconds;
  }
  payload.exp = seconds + lifetime;
}

/** A registered public key's id: its `kid`, else its RFC 7638 thumbprint. */
export async function clientKeyId(jwk: Readonly<Record<string, unknown>>): Promise<string> {
  const { kid } = jwk;
  if (typeof kid === 'string' && kid !== '') {
    return kid;
  }
  return calculateJwkThumbprint(jwk, 'sha256');
}

/**
 * Authentication failed. `message` is a description safe to return as `error_description`
 * (it never contains the assertion). `oauthError` is always `invalid_client` (RFC 6749 §5.2).
 */
export class ClientAssertionError extends Error {
  readonly oauthError = 'invalid_client';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ClientAssertionError';
  }
}

function fail(message: string, cause?: unknown): never {
  throw new ClientAssertionError(message, cause === undefined ? undefined : { cause });
}

function isAllowedAlg(alg: unknown): alg is ClientAssertionAlg {
  return typeof alg === 'string' && (CLIENT_ASSERTION_ALGS as readonly string[]).includes(alg);
}

/** Registered keys usable for this alg (and kid, when given). */
function candidateKeys(client: ClientRecord, alg: ClientAssertionAlg, kid: string | undefined): JWK[] {
  const keys = Array.isArray(client.jwks?.keys) ? client.jwks.keys : [];
  return keys
    .map((k) => k as JWK)
    .filter((k) => {
      if (alg === 'RS384' ? k.kty !== 'RSA' : k.kty !== 'EC' || k.crv !== 'P-384') {
        return false;
      }
      if (k.alg !== undefined && k.alg !== alg) {
        return false;
      }
      if (k.use !== undefined && k.use !== 'sig') {
        return false;
      }
      if (k.key_ops !== undefined && !(Array.isArray(k.key_ops) && k.key_ops.includes('verify'))) {
        return false;
      }
      if (typeof k.d === 'string') {
        return false; // never verify with a private key that slipped into a registration
      }
      return kid === undefined || k.kid === kid;
    })
    .slice(0, MAX_CANDIDATE_KEYS);
}

function checkAudience(aud: unknown, accepted: readonly string[]): void {
  if (aud === undefined) {
    fail('client assertion aud is required');
  }
  const single = Array.isArray(aud) && aud.length === 1 ? (aud[0] as unknown) : aud;
  if (typeof single !== 'string') {
    fail('client assertion aud must be a single value: the token endpoint URL');
  }
  if (!accepted.includes(single)) {
    fail('client assertion aud must be the token endpoint URL');
  }
}

/** Verifies a client assertion and records its jti. Throws ClientAssertionError when authentication fails. */
export async function verifyClientAssertion(
  assertion: string,
  options: VerifyClientAssertionOptions,
): Promise<VerifiedClientAssertion> {
  const skew = options.clockSkewSeconds ?? DEFAULT_ASSERTION_CLOCK_SKEW_SECONDS;
  const nowSeconds = Math.floor(options.now.getTime() / 1000);

  if (
    assertion.length === 0 ||
    assertion.length > MAX_ASSERTION_LENGTH ||
    assertion.split('.').length !== 3
  ) {
    fail('client_assertion is not a compact JWS');
  }
  let header: ProtectedHeaderParameters;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(assertion);
    unverified = decodeJwt(assertion);
  } catch (cause) {
    fail('client_assertion is not a valid JWT', cause);
  }
  const { alg } = header;
  if (!isAllowedAlg(alg)) {
    fail('client assertion alg must be RS384 or ES384');
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') {
    fail('client assertion kid must be a string');
  }
  const { iss, sub } = unverified;
  if (typeof iss !== 'string' || iss === '' || iss !== sub) {
    fail('client assertion iss and sub must both be the client_id');
  }
  if (options.expectedClientId !== undefined && options.expectedClientId !== iss) {
    fail('client_id does not match the client assertion');
  }

  const client = await options.authStore.getClient(iss);
  if (!client) {
    fail('unknown client');
  }
  if (client.disabled === true) {
    fail('client is disabled');
  }

  const candidates = candidateKeys(client, alg, header.kid);
  if (candidates.length === 0) {
    fail(
      header.kid === undefined
        ? `no registered key of the client can verify ${alg}`
        : `no registered key of the client matches the assertion's kid for ${alg}`,
    );
  }

  let payload: JWTPayload | undefined;
  let verifiedWith: JWK | undefined;
  for (const jwk of candidates) {
    let key: CryptoKey;
    try {
      key = (await importJWK(jwk, alg)) as CryptoKey;
    } catch {
      continue; // an unusable registered key cannot verify anything
    }
    try {
      ({ payload } = await jwtVerify(assertion, key, {
        algorithms: [alg],
        issuer: iss,
        subject: iss,
        currentDate: options.now,
        clockTolerance: skew,
        requiredClaims: ['exp', 'jti'],
      }));
      verifiedWith = jwk;
      break;
    } catch (cause) {
      if (cause instanceof errors.JWSSignatureVerificationFailed) {
        continue;
      }
      if (cause instanceof errors.JWTExpired) {
        fail('client assertion expired', cause);
      }
      if (cause instanceof errors.JWTClaimValidationFailed) {
        fail(`client assertion claim "${cause.claim}" is invalid: ${cause.reason}`, cause);
      }
      fail('client assertion could not be verified', cause);
    }
  }
  if (!payload || !verifiedWith) {
    fail('client assertion signature does not verify with the registered keys');
  }

  checkAudience(payload.aud, [options.tokenUrl, ...(options.additionalAudiences ?? [])]);
  const { exp, iat, jti } = payload;
  if (typeof exp !== 'number') {
    fail('client assertion exp is required');
  }
  if (exp > nowSeconds + MAX_ASSERTION_LIFETIME_SECONDS + skew) {
    fail('client assertion exp must be at most five minutes in the future');
  }
  if (iat !== undefined && iat > nowSeconds + skew) {
    fail('client assertion iat is in the future');
  }
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
    fail(`client assertion jti must be a non-empty string of at most ${MAX_JTI_LENGTH} characters`);
  }
  // Remember the jti as long as the assertion could still be accepted (exp + skew).
  const rememberUntil = new Date((exp + skew) * 1000);
  const fresh = await options.authStore.recordJti(
    client.clientId,
    jti,
    rememberUntil.toISOString(),
    options.now,
  );
  if (!fresh) {
    fail('client assertion jti was already used');
  }
  return { client, jti, expiresAt: new Date(exp * 1000), keyId: await clientKeyId(verifiedWith) };
}
