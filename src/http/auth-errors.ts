/**
 * Every 401 and 403 Dripline answers is made here, so each one carries the challenge the
 * specifications ask for:
 *
 * - RFC 7235 §3.1: a 401 MUST carry `WWW-Authenticate`.
 * - RFC 6750 §3 (bearer tokens): `Bearer realm="…"` alone when no credential was presented;
 *   `error="invalid_token"` (401) for a credential that is expired, revoked or malformed;
 *   `error="insufficient_scope"` (403) with `scope="…"` naming the scopes the request needs.
 *
 * Routes throw these errors; the one error handler (./outcomes.ts) sets the header and sends the
 * OperationOutcome. Nothing else writes a 401 or 403.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { HttpError } from './http-error.ts';

/** The realm of Dripline's FHIR API and `/api` routes (bearer access tokens). */
export const BEARER_REALM = 'dripline';

/**
 * A quoted-string auth-param value (RFC 7235 §2.1) in the characters RFC 6750 §3 allows in
 * `error_description` (printable ASCII without `"` and `\`): anything else is dropped, so no
 * message can break the header.
 */
function quote(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}"`;
}

function challenge(realm: string, params: Readonly<Record<string, string | undefined>> = {}): string {
  const parts = [`realm=${quote(realm)}`];
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) {
      parts.push(`${name}=${quote(value)}`);
    }
  }
  return `Bearer ${parts.join(', ')}`;
}

function authOutcome(code: 'login' | 'forbidden', text: string, diagnostics: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: code === 'login' ? 'unauthorized' : 'forbidden',
    issue: [{ severity: 'error', code, details: { text }, diagnostics }],
  };
}

/** A 401 or 403 with its `WWW-Authenticate` challenge. */
export class AuthError extends HttpError {
  readonly challenge: string;

  constructor(status: 401 | 403, body: OperationOutcome, challengeValue: string) {
    super(status, body, { 'WWW-Authenticate': challengeValue });
    this.name = 'AuthError';
    this.challenge = challengeValue;
  }
}

/**
 * 401. Without `invalidToken` the challenge only names the realm (no credential was presented,
 * RFC 6750 §3.1: no error code then); with it, `error="invalid_token"` and the reason.
 */
export function unauthorized(
  diagnostics: string,
  options: { readonly realm?: string; readonly invalidToken?: boolean } = {},
): AuthError {
  const realm = options.realm ?? BEARER_REALM;
  return new AuthError(
    401,
    authOutcome('login', 'Unauthorized', diagnostics),
    options.invalidToken === true
      ? challenge(realm, { error: 'invalid_token', error_description: diagnostics })
      : challenge(realm),
  );
}

/** 403 `insufficient_scope` naming every scope the request needs and the token lacks. */
export class InsufficientScopeError extends AuthError {
  /** The missing scopes, e.g. `system/Patient.r`. */
  readonly requiredScopes: readonly string[];
  /** The missing scopes as one space-separated string (RFC 6750 `scope`). */
  readonly requiredScope: string;
  /** The challenge (kept under its earlier name for callers that read it). */
  readonly wwwAuthenticate: string;

  constructor(requiredScopes: readonly string[], options: { readonly realm?: string } = {}) {
    const scope = requiredScopes.join(' ');
    const head = challenge(options.realm ?? BEARER_REALM, { error: 'insufficient_scope', scope });
    super(
      403,
      authOutcome(
        'forbidden',
        'Forbidden',
        requiredScopes.length === 1
          ? `the access token lacks the scope ${scope}`
          : `the access token lacks the scopes ${scope}`,
      ),
      head,
    );
    this.name = 'InsufficientScopeError';
    this.requiredScopes = [...requiredScopes];
    this.requiredScope = scope;
    this.wwwAuthenticate = head;
  }
}

/**
 * 403 for a valid credential that may not do this (no scope names it, e.g. a notification secret
 * used for another subscription): `error="insufficient_scope"` and the reason.
 */
export function forbidden(diagnostics: string, options: { readonly realm?: string } = {}): AuthError {
  return new AuthError(
    403,
    authOutcome('forbidden', 'Forbidden', diagnostics),
    challenge(options.realm ?? BEARER_REALM, { error: 'insufficient_scope', error_description: diagnostics }),
  );
}

/**
 * The token endpoint's challenge (RFC 6749 §5.2): a client that tried to authenticate with the
 * `Authorization` header gets a 401 challenging with the scheme it used. Without that header a
 * failed client authentication is a 400 `invalid_client` (Dripline's clients authenticate with a
 * private_key_jwt assertion in the body, which has no HTTP authentication scheme to challenge with,
 * and RFC 7235 §3.1 allows no 401 without one). Returns undefined for the 400 case.
 */
export function tokenEndpointChallenge(authorization: string | undefined): string | undefined {
  const trimmed = authorization?.trim() ?? '';
  if (trimmed === '') {
    return undefined;
  }
  // Echo the scheme only when it is an RFC 7230 token; anything else is challenged as Basic.
  const scheme = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?=\s|$)/.exec(trimmed)?.[0] ?? 'Basic';
  return `${scheme} realm=${quote(BEARER_REALM)}`;
}

/**
 * The challenge for a 401/403 that reached the error handler without one (an outcome passed up by a
 * library): the realm, and `insufficient_scope` for a 403. Keeps RFC 7235 §3.1 true for every answer.
 */
export function fallbackChallenge(status: number): string | undefined {
  if (status === 401) {
    return challenge(BEARER_REALM);
  }
  if (status === 403) {
    return challenge(BEARER_REALM, { error: 'insufficient_scope' });
  }
  return undefined;
}
