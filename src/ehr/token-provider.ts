/**
 * Access tokens for one EHR connection, obtained the SMART Backend Services way
 * (https://hl7.org/fhir/smart-app-launch/backend-services.html): `client_credentials` with a
 * `private_key_jwt` client assertion signed RS384 or ES384 (from the JWK's `alg`), `kid` in the
 * header and `aud` = the token endpoint URL. The token endpoint comes from the connection config
 * or is discovered from `{fhirBaseUrl}/.well-known/smart-configuration`.
 *
 * Tokens are cached until shortly before they expire (30 s, or 10% of the lifetime for short-lived
 * tokens) and concurrent callers share one in-flight request. Nothing here logs, and no error
 * message carries a token, an assertion or key material.
 */
import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { CryptoKey, JWK } from 'jose';
import { importJWK } from 'jose/key/import';
import * as oidc from 'openid-client';
import { datedBy } from '../auth/client-assertion.ts';
import { untilSuccess } from '../async/until-success.ts';

export type TokenAssertionAlg = 'RS384' | 'ES384';

export interface TokenProviderOptions {
  readonly clientId: string;
  /** Private JWK (RS384 or ES384; `kid` recommended, it goes into the assertion header). */
  readonly privateKeyJwk: Readonly<Record<string, unknown>>;
  /** Token endpoint; discovered from {fhirBaseUrl}/.well-known/smart-configuration when absent. */
  readonly tokenUrl?: string;
  readonly fhirBaseUrl: string;
  /** Space-separated scopes asked for. */
  readonly scope: string;
  /** Clock used for expiry bookkeeping (tests inject one). */
  readonly now?: () => Date;
  /** Used for discovery and token requests (openid-client's customFetch). */
  readonly fetch?: typeof fetch;
  /** Timeout of the discovery and token requests. Default 15000. */
  readonly timeoutMs?: number;
}

export interface TokenProvider {
  /** A valid access token: cached, or fetched (one request shared by concurrent callers). */
  getToken(): Promise<string>;
  /**
   * Drops the cached token (call on a 401). When `token` is given, only drops the cache if it
   * still holds that token, so N requests failing with the same stale token cause one refresh.
   */
  invalidate(token?: string): void;
}

/**
 * Base of every error the EHR client raises. `retryable` tells the ingest worker whether trying
 * the same job again later can succeed. The outcome never contains tokens or PHI beyond the
 * request path.
 */
export class EhrError extends OperationOutcomeError {
  readonly retryable: boolean;
  constructor(outcome: OperationOutcome, retryable: boolean, options?: ErrorOptions) {
    super(outcome, options);
    this.name = 'EhrError';
    this.retryable = retryable;
  }
}

export function ehrOutcome(
  code: NonNullable<OperationOutcome['issue']>[number]['code'],
  text: string,
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

/**
 * Getting a token failed. Retryable for network errors, timeouts, 429 and 5xx; terminal for
 * misconfiguration (bad key, bad token URL) and OAuth errors such as invalid_client/invalid_scope.
 */
export class EhrTokenError extends EhrError {
  /** HTTP status of the token endpoint (or discovery document), when there was a response. */
  readonly status?: number;
  /** OAuth 2.0 `error` code from the token endpoint, when it sent one. */
  readonly oauthError?: string;
  constructor(
    message: string,
    retryable: boolean,
    details: { status?: number; oauthError?: string; cause?: unknown } = {},
  ) {
    super(
      ehrOutcome(retryable ? 'transient' : 'security', message),
      retryable,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = 'EhrTokenError';
    if (details.status !== undefined) {
      this.status = details.status;
    }
    if (details.oauthError !== undefined) {
      this.oauthError = details.oauthError;
    }
  }
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** Assumed lifetime when the token response has no expires_in (the SMART maximum it SHOULD NOT exceed). */
const DEFAULT_LIFETIME_SECONDS = 300;
const MAX_REFRESH_MARGIN_MS = 30_000;
const MAX_DISCOVERY_BYTES = 256 * 1024;

/** RS384 for RSA keys, ES384 for P-384 keys; the JWK's `alg`, when present, must be one of them. */
export function assertionAlgFor(jwk: Readonly<Record<string, unknown>>): TokenAssertionAlg {
  const { alg, kty, crv } = jwk;
  if (alg !== undefined) {
    if (alg === 'RS384' && kty === 'RSA') {
      return 'RS384';
    }
    if (alg === 'ES384' && kty === 'EC' && crv === 'P-384') {
      return 'ES384';
    }
    throw new EhrTokenError('the private JWK alg must be RS384 (RSA) or ES384 (EC P-384)', false);
  }
  if (kty === 'RSA') {
    return 'RS384';
  }
  if (kty === 'EC' && crv === 'P-384') {
    return 'ES384';
  }
  throw new EhrTokenError('the private JWK must be an RSA or EC P-384 key', false);
}

/** Parses and checks an absolute http(s) URL; `what` names it in the error. */
function absoluteHttpUrl(value: unknown, what: string): URL {
  if (typeof value !== 'string' || value === '') {
    throw new EhrTokenError(`${what} is missing`, false);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EhrTokenError(`${what} is not an absolute URL`, false);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new EhrTokenError(`${what} must be an http(s) URL`, false);
  }
  if (url.username !== '' || url.password !== '') {
    throw new EhrTokenError(`${what} must not carry credentials`, false);
  }
  return url;
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** HTTP status carried by an openid-client/oauth4webapi error, if any. */
function statusOfOidcError(err: unknown): number | undefined {
  if (err instanceof oidc.ResponseBodyError) {
    return err.status;
  }
  if (err instanceof Error) {
    const cause: unknown = err.cause;
    if (cause instanceof Response) {
      return cause.status;
    }
  }
  return undefined;
}

export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const now = options.now ?? ((): Date => new Date());
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fhirBaseUrl = options.fhirBaseUrl.replace(/\/+$/, '');

  let cached: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  async function discoverTokenUrl(): Promise<URL> {
    const base = absoluteHttpUrl(fhirBaseUrl, 'the FHIR base URL');
    const wellKnown = `${fhirBaseUrl}/.well-known/smart-configuration`;
    let response: Response;
    try {
      response = await doFetch(wellKnown, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new EhrTokenError('SMART configuration discovery failed (network)', true, { cause });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new EhrTokenError(
        `SMART configuration discovery answered HTTP ${response.status}`,
        isRetryableStatus(response.status),
        { status: response.status },
      );
    }
    let document: unknown;
    try {
      const text = await response.text();
      if (text.length > MAX_DISCOVERY_BYTES) {
        throw new Error('too large');
      }
      document = JSON.parse(text);
    } catch (cause) {
      throw new EhrTokenError('the SMART configuration is not a JSON document', false, { cause });
    }
    const tokenEndpoint =
      typeof document === 'object' && document !== null
        ? (document as Record<string, unknown>).token_endpoint
        : undefined;
    const url = absoluteHttpUrl(tokenEndpoint, 'the discovered token_endpoint');
    if (base.protocol === 'https:' && url.protocol !== 'https:') {
      // Never downgrade: an https EHR advertising an http token endpoint is refused.
      throw new EhrTokenError('the discovered token_endpoint must be https for an https FHIR base', false);
    }
    return url;
  }

  async function buildConfiguration(): Promise<oidc.Configuration> {
    const alg = assertionAlgFor(options.privateKeyJwk);
    if (typeof options.privateKeyJwk.d !== 'string') {
      throw new EhrTokenError('the connection JWK is not a private key', false);
    }
    let key: CryptoKey;
    try {
      const imported = await importJWK(options.privateKeyJwk as JWK, alg);
      if (!(imported instanceof CryptoKey)) {
        throw new Error('not a CryptoKey');
      }
      key = imported;
    } catch {
      // The cause is deliberately dropped: it could describe the key material.
      throw new EhrTokenError('the connection private JWK cannot be imported', false);
    }
    const tokenUrl =
      options.tokenUrl !== undefined
        ? absoluteHttpUrl(options.tokenUrl, 'the token URL')
        : await discoverTokenUrl();
    const kid = typeof options.privateKeyJwk.kid === 'string' ? options.privateKeyJwk.kid : undefined;
    const config = new oidc.Configuration(
      { issuer: tokenUrl.origin, token_endpoint: tokenUrl.href },
      options.clientId,
      {},
      oidc.PrivateKeyJwt(kid === undefined ? { key } : { key, kid }, {
        [oidc.modifyAssertion]: (_header, payload) => {
          // SMART Backend Services: aud is the token endpoint URL (openid-client defaults to the issuer).
          payload.aud = tokenUrl.href;
          // openid-client dates its assertions by the system clock: date each one by ours, read
          // now, since the injected clock can move against the system one during a run (the
          // sandbox day's advancing clock, src/time/clock.ts). Its lifetime stays openid-client's.
          datedBy(payload, now());
        },
      }),
    );
    config[oidc.customFetch] = (url, init) => doFetch(url, init);
    config.timeout = Math.max(1, Math.ceil(timeoutMs / 1000));
    if (tokenUrl.protocol === 'http:') {
      // The config schema allows http (local sandboxes, tests); openid-client makes it an explicit opt-in.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      oidc.allowInsecureRequests(config);
    }
    return config;
  }

  // A failed discovery is tried again next time.
  const configuration = untilSuccess(buildConfiguration);

  async function requestToken(): Promise<string> {
    const config = await configuration();
    const requestedAt = now().getTime();
    let response: oidc.TokenEndpointResponse;
    try {
      response = await oidc.clientCredentialsGrant(config, { scope: options.scope });
    } catch (cause) {
      const status = statusOfOidcError(cause);
      const oauthError = cause instanceof oidc.ResponseBodyError ? cause.error : undefined;
      const retryable =
        status === undefined ? !(cause instanceof oidc.ResponseBodyError) : isRetryableStatus(status);
      const what =
        oauthError !== undefined ? ` (${oauthError})` : status !== undefined ? ` (HTTP ${status})` : '';
      throw new EhrTokenError(`the token endpoint refused the client_credentials grant${what}`, retryable, {
        ...(status !== undefined ? { status } : {}),
        ...(oauthError !== undefined ? { oauthError } : {}),
        // openid-client errors describe the response, never the assertion; keep them for diagnosis.
        cause,
      });
    }
    if (response.token_type.toLowerCase() !== 'bearer') {
      throw new EhrTokenError('the token endpoint issued a non-Bearer token', false);
    }
    const lifetimeMs =
      (typeof response.expires_in === 'number' && response.expires_in > 0
        ? response.expires_in
        : DEFAULT_LIFETIME_SECONDS) * 1000;
    const margin = Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs / 10);
    cached = { token: response.access_token, refreshAt: requestedAt + lifetimeMs - margin };
    return response.access_token;
  }

  return {
    getToken(): Promise<string> {
      if (cached && now().getTime() < cached.refreshAt) {
        return Promise.resolve(cached.token);
      }
      inflight ??= requestToken().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate(token?: string): void {
      if (token === undefined || cached?.token === token) {
        cached = undefined;
      }
    },
  };
}
