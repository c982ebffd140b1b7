/**
 * Bearer-token protection of the FHIR API (RFC 6750). `requireBearer` authenticates the request
 * and leaves an `AuthContext` in `res.locals.auth`; handlers check scopes with `requireScope`,
 * which throws `InsufficientScopeError` (→ 403 + `WWW-Authenticate ... error="insufficient_scope"`).
 */
import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Interaction, ParsedScope } from './scopes.ts';
import { isAllowed, requiredScopeFor } from './scopes.ts';
import type { TokenService } from './token-service.ts';
import { InvalidAccessTokenError } from './token-service.ts';

export const BEARER_REALM = 'dripline';

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

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

function unauthorizedOutcome(diagnostics: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: 'unauthorized',
    issue: [{ severity: 'error', code: 'login', details: { text: 'Unauthorized' }, diagnostics }],
  };
}

function sendUnauthorized(res: Response, diagnostics: string, tokenPresented: boolean): void {
  const challenge = tokenPresented
    ? `Bearer realm=${quote(BEARER_REALM)}, error="invalid_token", error_description=${quote(diagnostics)}`
    : `Bearer realm=${quote(BEARER_REALM)}`;
  res
    .status(401)
    .set('WWW-Authenticate', challenge)
    .type('application/fhir+json')
    .send(JSON.stringify(unauthorizedOutcome(diagnostics)));
}

/**
 * Express middleware: verifies `Authorization: Bearer <token>` and sets `res.locals.auth`.
 * Without a usable token: 401, `WWW-Authenticate: Bearer realm="dripline"` (plus
 * `error="invalid_token"` when a token was presented) and an OperationOutcome.
 */
export function requireBearer(
  tokenService: Pick<TokenService, 'verifyAccessToken'>,
  options: RequireBearerOptions = {},
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') {
      sendUnauthorized(res, 'a bearer access token is required', false);
      return;
    }
    const m = BEARER_RE.exec(header);
    if (!m) {
      const bearerScheme = /^bearer(\s|$)/i.test(header.trim());
      sendUnauthorized(
        res,
        bearerScheme ? 'the bearer token is malformed' : 'a bearer access token is required',
        bearerScheme,
      );
      return;
    }
    let verified;
    try {
      verified = await tokenService.verifyAccessToken(m[1] ?? '', options.now?.() ?? new Date());
    } catch (err) {
      if (err instanceof InvalidAccessTokenError) {
        sendUnauthorized(res, err.message, true);
        return;
      }
      throw err;
    }
    const auth: AuthContext = {
      clientId: verified.clientId,
      tenant: verified.tenant,
      scopes: verified.scopes,
    };
    res.locals.auth = auth;
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

/**
 * 403 for a valid token without the needed scope. `outcome.id` is `forbidden`, so
 * `getStatus(err.outcome)` from @medplum/core gives 403; the error handler should also set
 * `WWW-Authenticate: err.wwwAuthenticate` (RFC 6750 §3.1) — or just call `sendInsufficientScope`.
 */
export class InsufficientScopeError extends OperationOutcomeError {
  readonly requiredScope: string;
  readonly status = 403;
  readonly wwwAuthenticate: string;
  constructor(requiredScope: string) {
    super({
      resourceType: 'OperationOutcome',
      id: 'forbidden',
      issue: [
        {
          severity: 'error',
          code: 'forbidden',
          details: { text: 'Forbidden' },
          diagnostics: `the access token lacks the scope ${requiredScope}`,
        },
      ],
    });
    this.name = 'InsufficientScopeError';
    this.requiredScope = requiredScope;
    this.wwwAuthenticate = `Bearer realm=${quote(BEARER_REALM)}, error="insufficient_scope", scope=${quote(requiredScope)}`;
  }
}

export function insufficientScopeError(requiredScope: string): InsufficientScopeError {
  return new InsufficientScopeError(requiredScope);
}

/** Throws InsufficientScopeError unless the caller's scopes allow the interaction on the type. */
export function requireScope(auth: AuthContext, resourceType: string, interaction: Interaction): void {
  if (!isAllowed(auth.scopes, resourceType, interaction)) {
    throw new InsufficientScopeError(requiredScopeFor(resourceType, interaction));
  }
}

/** Writes the 403 response of an InsufficientScopeError (for the app's error handler). */
export function sendInsufficientScope(res: Response, err: InsufficientScopeError): void {
  res
    .status(403)
    .set('WWW-Authenticate', err.wwwAuthenticate)
    .type('application/fhir+json')
    .send(JSON.stringify(err.outcome));
}
