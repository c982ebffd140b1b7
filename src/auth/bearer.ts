/**
 * Bearer-token protection of the FHIR API (RFC 6750). `requireBearer` authenticates the request
 * and leaves an `AuthContext` in `res.locals.auth`; handlers check scopes with `requireScope`,
 * which throws `InsufficientScopeError` (→ 403 + `WWW-Authenticate ... error="insufficient_scope"`).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { InsufficientScopeError, unauthorized } from '../http/auth-errors.ts';
import type { Interaction, ParsedScope } from './scopes.ts';
import { isAllowed, requiredScopeFor } from './scopes.ts';
import type { TokenService } from './token-service.ts';
import { InvalidAccessTokenError } from './token-service.ts';

export { BEARER_REALM, InsufficientScopeError } from '../http/auth-errors.ts';

/** Who is calling: set by requireBearer as `res.locals.auth`. */
export interface AuthContext {
  readonly clientId: string;
  readonly tenant: string;
  readonly scopes: readonly ParsedScope[];
}

export interface RequireBearerOptions {
  readonly now?: () => Date;
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER_RE = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Verifies an `Authorization` header value: the caller's AuthContext, or a 401 AuthError
 * (`WWW-Authenticate: Bearer realm="dripline"`, plus `error="invalid_token"` when a token was
 * presented). The one bearer check: requireBearer below and the lean FHIR read
 * (src/fhir/lean-read.ts) both call it.
 */
export async function authenticateBearer(
  tokenService: Pick<TokenService, 'verifyAccessToken'>,
  header: string | undefined,
  now: Date,
): Promise<AuthContext> {
  if (header === undefined || header.trim() === '') {
    throw unauthorized('a bearer access token is required');
  }
  const m = BEARER_RE.exec(header);
  if (!m) {
    const bearerScheme = /^bearer(\s|$)/i.test(header.trim());
    throw bearerScheme
      ? unauthorized('the bearer token is malformed', { invalidToken: true })
      : unauthorized('a bearer access token is required');
  }
  let verified;
  try {
    verified = await tokenService.verifyAccessToken(m[1] ?? '', now);
  } catch (err) {
    if (err instanceof InvalidAccessTokenError) {
      throw unauthorized(err.message, { invalidToken: true });
    }
    throw err;
  }
  return { clientId: verified.clientId, tenant: verified.tenant, scopes: verified.scopes };
}

/**
 * Express middleware: verifies `Authorization: Bearer <token>` (authenticateBearer) and sets
 * `res.locals.auth`.
 */
export function requireBearer(
  tokenService: Pick<TokenService, 'verifyAccessToken'>,
  options: RequireBearerOptions = {},
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    res.locals.auth = await authenticateBearer(
      tokenService,
      req.headers.authorization,
      options.now?.() ?? new Date(),
    );
    next();
  };
}

/** The AuthContext that requireBearer stored; throws when the route is not behind requireBearer. */
export function getAuthContext(res: Response): AuthContext {
  const auth = res.locals.auth as AuthContext | undefined;
  if (!auth) {
    throw new Error('no AuthContext: the route is not behind requireBearer');
  }
  return auth;
}

export function insufficientScopeError(requiredScope: string): InsufficientScopeError {
  return new InsufficientScopeError([requiredScope]);
}

/** Throws InsufficientScopeError unless the caller's scopes allow the interaction on the type. */
export function requireScope(auth: AuthContext, resourceType: string, interaction: Interaction): void {
  if (!isAllowed(auth.scopes, resourceType, interaction)) {
    throw new InsufficientScopeError([requiredScopeFor(resourceType, interaction)]);
  }
}
