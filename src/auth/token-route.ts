/**
 * The OAuth 2.0 token endpoint of SMART Backend Services
 * (https://hl7.org/fhir/smart-app-launch/backend-services.html): `client_credentials` grant,
 * client authenticated by a `private_key_jwt` assertion (RFC 7523 §2.2), scopes narrowed to the
 * client's registration. Errors follow RFC 6749 §5.2. Assertions and tokens are never logged.
 */
import type { CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import type { AuthStore } from '../store/port.ts';
import {
  CLIENT_ASSERTION_ALGS,
  CLIENT_ASSERTION_TYPE,
  ClientAssertionError,
  verifyClientAssertion,
} from './client-assertion.ts';
import { tokenEndpointChallenge } from '../http/auth-errors.ts';
import { narrowScopes } from './scopes.ts';
import type { TokenService } from './token-service.ts';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

export interface TokenRouterDeps {
  readonly authStore: AuthStore;
  readonly tokenService: TokenService;
  /** The public URL of this endpoint; client assertions must name it as `aud`. */
  readonly tokenUrl: string;
  readonly now?: () => Date;
  /** Clock skew tolerated on client assertions, default 30 s. */
  readonly clockSkewSeconds?: number;
}

export interface TokenResponseBody {
  readonly access_token: string;
  readonly token_type: 'bearer';
  readonly expires_in: number;
  readonly scope: string;
}

class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  constructor(code: OAuthErrorCode, description: string, status?: number) {
    super(description);
    this.code = code;
    this.status = status ?? 400;
  }
}

function sendOAuthError(res: Response, error: OAuthError, req?: Request): void {
  // invalid_client is a 400, or a 401 with a challenge when the client used the Authorization
  // header (RFC 6749 §5.2; the challenge comes from the one place every 401 does).
  const challenge =
    error.code === 'invalid_client' ? tokenEndpointChallenge(req?.headers.authorization) : undefined;
  if (challenge !== undefined) {
    res.status(401).set('WWW-Authenticate', challenge);
  } else {
    res.status(error.status);
  }
  res
    .set('Cache-Control', 'no-store')
    .set('Pragma', 'no-cache')
    .json({ error: error.code, error_description: error.message });
}

/** One form parameter: absent → undefined; repeated → invalid_request (RFC 6749 §3.2). */
function param(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw new OAuthError('invalid_request', `parameter ${name} must be included only once`);
  }
  return value === '' ? undefined : value;
}

const formParser = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 50 });

/** `POST /token` (mount the router at `/oauth2`). */
export function createTokenRouter(deps: TokenRouterDeps): Router {
  const router = express.Router();
  const now = deps.now ?? ((): Date => new Date());

  router.post('/token', formParser, async (req: Request, res: Response): Promise<void> => {
    try {
      if (!req.is('application/x-www-form-urlencoded')) {
        throw new OAuthError('invalid_request', 'the request body must be application/x-www-form-urlencoded');
      }
      const body = (req.body ?? {}) as Record<string, unknown>;

      const grantType = param(body, 'grant_type');
      if (grantType === undefined) {
        throw new OAuthError('invalid_request', 'grant_type is required');
      }
      if (grantType !== 'client_credentials') {
        throw new OAuthError('unsupported_grant_type', 'only grant_type=client_credentials is supported');
      }
      if (req.headers.authorization !== undefined || param(body, 'client_secret') !== undefined) {
        throw new OAuthError('invalid_client', 'only private_key_jwt client authentication is supported');
      }
      const assertionType = param(body, 'client_assertion_type');
      const assertion = param(body, 'client_assertion');
      if (assertionType === undefined || assertion === undefined) {
        throw new OAuthError(
          'invalid_client',
          'client authentication is required: client_assertion_type and client_assertion (private_key_jwt)',
        );
      }
      if (assertionType !== CLIENT_ASSERTION_TYPE) {
        throw new OAuthError('invalid_client', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
      }
      const clientIdParam = param(body, 'client_id');
      const scope = param(body, 'scope');
      const at = now();

      let client;
      let keyId;
      try {
        ({ client, keyId } = await verifyClientAssertion(assertion, {
          authStore: deps.authStore,
          tokenUrl: deps.tokenUrl,
          additionalAudiences: [deps.tokenService.issuer],
          now: at,
          expectedClientId: clientIdParam,
          clockSkewSeconds: deps.clockSkewSeconds,
        }));
      } catch (err) {
        if (err instanceof ClientAssertionError) {
          throw new OAuthError('invalid_client', err.message);
        }
        throw err;
      }

      if (scope === undefined) {
        throw new OAuthError('invalid_scope', 'scope is required, e.g. "system/Claim.rs"');
      }
      const narrowed = narrowScopes(scope, client.scope);
      if (!narrowed.ok) {
        throw new OAuthError('invalid_scope', narrowed.message);
      }

      const issued = await deps.tokenService.issueAccessToken({
        clientId: client.clientId,
        tenant: client.tenant,
        scope: narrowed.scope,
        clientKeyId: keyId,
        now: at,
      });
      const response: TokenResponseBody = {
        access_token: issued.accessToken,
        token_type: 'bearer',
        expires_in: issued.expiresIn,
        scope: issued.scope,
      };
      res.status(200).set('Cache-Control', 'no-store').set('Pragma', 'no-cache').json(response);
    } catch (err) {
      if (err instanceof OAuthError) {
        sendOAuthError(res, err, req);
        return;
      }
      throw err; // store failures etc.: the app's error handler (express 5 forwards rejections)
    }
  });

  router.all('/token', (_req: Request, res: Response): void => {
    res.set('Allow', 'POST');
    sendOAuthError(res, new OAuthError('invalid_request', 'the token endpoint only accepts POST', 405));
  });

  // Body-parser failures (malformed form, too large, bad charset) are bad input, not server errors.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendOAuthError(res, new OAuthError('invalid_request', 'the request body could not be parsed'));
      return;
    }
    next(err);
  });

  return router;
}

export interface SmartConfigurationOptions {
  /** The server's public base URL (OAuth issuer identifier). */
  readonly issuer: string;
  readonly tokenUrl: string;
  /** Published if the lead serves `tokenService.publicJwks()`. */
  readonly jwksUri?: string;
}

/**
 * The `rest.security` of a CapabilityStatement served by a SMART Backend Services server: the
 * SMART-on-FHIR service and the token endpoint (extension oauth-uris).
 */
export function smartRestSecurity(
  tokenUrl: string,
  options: { cors?: boolean } = {},
): CapabilityStatementRestSecurity {
  return {
    ...(options.cors !== undefined ? { cors: options.cors } : {}),
    service: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
        ],
      },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [{ url: 'token', valueUri: tokenUrl }],
      },
    ],
  };
}

/**
 * A `.well-known/smart-configuration` document for this token endpoint (SMART App Launch v2,
 * "Conformance"; backend services need token_endpoint, the private_key_jwt auth method and its
 * algorithms, `client-confidential-asymmetric` and the supported scopes).
 */
export function smartConfiguration(options: SmartConfigurationOptions): Record<string, unknown> {
  return {
    issuer: options.issuer,
    ...(options.jwksUri === undefined ? {} : { jwks_uri: options.jwksUri }),
    token_endpoint: options.tokenUrl,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    grant_types_supported: ['client_credentials'],
    scopes_supported: ['system/*.cruds', 'system/*.rs', 'system/*.read', 'system/*.write', 'system/*.*'],
    capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
  };
}
