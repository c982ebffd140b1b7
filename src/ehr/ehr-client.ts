/**
 * The SMART Backend Services client Dripline uses to read from an EHR (fetch-back of notification
 * focus resources, polling) and to manage its Subscriptions there.
 *
 * - Transport: fhir-kit-client, with the bearer token passed per call (never via the shared
 *   `client.bearerToken` setter, which would race between concurrent calls). fhir-kit-client
 *   always uses the global `fetch`, so the `fetch` option here reaches discovery and token
 *   requests only. Its HTTP errors carry `response.status`, `response.data` (parsed body) and
 *   `config.headers` (the response headers, where Retry-After lives), which is all the retry
 *   policy needs, so no call bypasses it.
 *   Do not run with DEBUG=fhir-kit-client:* in production: its debug logger prints request
 *   headers, Authorization included.
 * - References: only the connection's own FHIR base is ever contacted. Absolute URLs (focus
 *   references, `next` links) elsewhere raise ForeignReferenceError before any request: SMART
 *   Backend Services clients SHOULD NOT blindly follow references, and the token must never go
 *   to another server. fhir-kit-client's own `resolve()` would follow them, so it is not used.
 * - Failures: 401 → drop the token, retry once; 429/5xx/network/timeout → exponential backoff with
 *   jitter, honouring Retry-After, up to maxAttempts, then EhrUnavailableError; 404/410 →
 *   EhrNotFoundError; 403 → EhrForbiddenError; other 4xx → EhrRequestError. Every error has
 *   `retryable`.
 */
import type { Bundle, BundleEntry, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import type { Client, FhirResource } from 'fhir-kit-client';
import type { EhrConnectionConfig } from '../config/config.ts';
import { createTokenProvider, EhrError } from './token-provider.ts';
import {
  EhrForbiddenError,
  EhrNotFoundError,
  EhrRequestError,
  EhrUnavailableError,
  ForeignReferenceError,
} from './errors.ts';
import {
  backoffMs,
  isConnectionRefused,
  isKitHttpError,
  isNetworkError,
  isTimeout,
  outcomeTextOf,
  parseRetryAfter,
  retryAfterHeader,
} from './failures.ts';
import type { TokenProvider } from './token-provider.ts';

export type EhrConnection = Pick<
  EhrConnectionConfig,
  'id' | 'fhirBaseUrl' | 'tokenUrl' | 'clientId' | 'privateKeyJwk' | 'scope'
>;

export interface EhrClientOptions {
  readonly connection: EhrConnection;
  /** Used for SMART discovery and token requests (FHIR calls go through fhir-kit-client's global fetch). */
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Attempts per call for retryable failures (429, 5xx, network, timeout). Default 5. */
  readonly maxAttempts?: number;
  /** Per-attempt timeout, covering the response body. Default 15000. */
  readonly timeoutMs?: number;
  /** Longest Retry-After honoured in-process; a longer one ends the call with EhrUnavailableError. Default 60000. */
  readonly maxRetryAfterMs?: number;
  /** Share a token provider (e.g. one per connection across clients); built from `connection` otherwise. */
  readonly tokenProvider?: TokenProvider;
  /** Random source for jitter, [0, 1). */
  readonly random?: () => number;
}

export interface OperationOptions {
  readonly method: 'GET' | 'POST';
  /** POST body (a Parameters resource, usually). */
  readonly body?: Resource;
  readonly params?: Record<string, string>;
}

export interface SearchAllOptions {
  /** Pages fetched at most, the first included. Default 20. */
  readonly maxPages?: number;
}

export interface SearchAllResult<T extends Resource = Resource> {
  /** Resources of every page's entries, in order (matches and includes alike). */
  readonly resources: T[];
  readonly entries: BundleEntry<T>[];
  readonly pages: number;
  /** True when maxPages stopped the walk with a `next` link left; `next` is where to resume. */
  readonly truncated: boolean;
  readonly next?: string;
}

export interface EhrClient {
  readonly connectionId: string;
  readonly fhirBaseUrl: string;
  read<T extends Resource = Resource>(resourceType: T['resourceType'], id: string): Promise<T>;
  vread<T extends Resource = Resource>(
    resourceType: T['resourceType'],
    id: string,
    versionId: string,
  ): Promise<T>;
  /** `Type/id`, `Type/id/_history/v`, or an absolute URL under this connection's FHIR base. */
  readUrl<T extends Resource = Resource>(referenceOrUrl: string): Promise<T>;
  search<T extends Resource = Resource>(
    resourceType: T['resourceType'],
    params: Record<string, string>,
  ): Promise<Bundle<T>>;
  /** `search` plus its `next` links (each allow-list checked), at most `maxPages` pages. */
  searchAll<T extends Resource = Resource>(
    resourceType: T['resourceType'],
    params: Record<string, string>,
    options?: SearchAllOptions,
  ): Promise<SearchAllResult<T>>;
  /**
   * POST. Without `ifNoneExist` a create is not idempotent, so it is retried only after answers
   * that mean "not processed" (401, 429, 503); with it, like any other call.
   */
  create<T extends Resource>(resource: T, options?: { ifNoneExist?: string }): Promise<T>;
  /** PUT {type}/{id}; `resource.id` is required. */
  update<T extends Resource>(resource: T): Promise<T>;
  /** The server's CapabilityStatement (`GET [base]/metadata`): what it supports, e.g. which search parameters. */
  capabilities(): Promise<CapabilityStatement>;
  /** A FHIR operation, e.g. `Subscription/123/$status` or `Subscription/123/$events`. */
  operation<T extends Resource = Resource>(path: string, options: OperationOptions): Promise<T>;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
const DEFAULT_MAX_PAGES = 20;

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RELATIVE_REFERENCE =
  /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const OPERATION_PATH =
  /^(?:[A-Z][A-Za-z]{1,63}\/(?:[A-Za-z0-9\-.]{1,64}\/)?)?\$[A-Za-z][A-Za-z0-9\-_]{0,63}$/;

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** A call as fhir-kit-client should make it, given the options carrying the token and signal. */
type KitCall = (options: { headers: Record<string, string>; signal: AbortSignal }) => Promise<FhirResource>;

interface CallSpec {
  /** For error messages: METHOD path (no query). */
  readonly request: string;
  /** False for a non-idempotent create: only "not processed" answers are retried. */
  readonly idempotent: boolean;
  readonly call: KitCall;
}

// ---------------------------------------------------------------------------------------------

export function createEhrClient(options: EhrClientOptions): EhrClient {
  const { connection } = options;
  const connectionId = connection.id;
  const fhirBaseUrl = connection.fhirBaseUrl.replace(/\/+$/, '');
  const base = new URL(fhirBaseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new TypeError(`connection ${connectionId}: fhirBaseUrl must be http(s)`);
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  const now = options.now ?? ((): Date => new Date());
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const tokens =
    options.tokenProvider ??
    createTokenProvider({
      clientId: connection.clientId,
      privateKeyJwk: connection.privateKeyJwk,
      fhirBaseUrl,
      scope: connection.scope,
      ...(connection.tokenUrl !== undefined ? { tokenUrl: connection.tokenUrl } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
      timeoutMs,
    });
  // fhir-kit-client (with its HTTP agent and debug logger: ~50 ms CPU to load) is imported by the
  // first call: most processes build clients they never call (a server's payer and ingest ports).
  let kitClient: Promise<Client> | undefined;
  const kit = (): Promise<Client> =>
    (kitClient ??= import('fhir-kit-client').then(({ Client }) => new Client({ baseUrl: fhirBaseUrl })));

  /**
   * The path relative to the FHIR base of an absolute URL that lies under it, or
   * ForeignReferenceError. The URL is normalised first ("..", "%2e%2e"), as fetch would.
   */
  function pathUnderBase(absolute: string): string {
    let url: URL;
    try {
      url = new URL(absolute);
    } catch {
      throw new ForeignReferenceError(connectionId, 'a reference that is not a valid URL');
    }
    if (
      url.origin !== base.origin ||
      url.username !== '' ||
      url.password !== '' ||
      !url.pathname.startsWith(`${basePath}/`)
    ) {
      throw new ForeignReferenceError(connectionId, `a URL outside ${fhirBaseUrl}`);
    }
    return url.pathname.slice(basePath.length + 1) + url.search;
  }

  function resolveAgainstBase(link: string): string {
    try {
      return new URL(link, `${fhirBaseUrl}/`).href;
    } catch {
      throw new ForeignReferenceError(connectionId, 'a link that is not a valid URL');
    }
  }

  function failure(spec: CallSpec, err: unknown): EhrError | 'retry' | 'reauth' {
    if (err instanceof EhrError) {
      return err; // token provider failures are already classified
    }
    if (isKitHttpError(err)) {
      const { status, data } = err.response;
      const outcomeText = outcomeTextOf(data);
      if (status === 401) {
        return 'reauth';
      }
      if (status === 404 || status === 410) {
        return new EhrNotFoundError({ connectionId, status, request: spec.request });
      }
      if (status === 403) {
        return new EhrForbiddenError({
          connectionId,
          request: spec.request,
          ...(outcomeText !== undefined ? { outcomeText } : {}),
        });
      }
      if (status === 429 || status >= 500) {
        return 'retry';
      }
      if (status >= 200 && status < 300) {
        // fhir-kit-client throws for a 2xx whose body is not JSON.
        return new EhrRequestError({
          connectionId,
          status: 0,
          request: spec.request,
          message: `EHR ${connectionId} answered ${spec.request} with a body that is not JSON`,
        });
      }
      return new EhrRequestError({
        connectionId,
        status,
        request: spec.request,
        ...(outcomeText !== undefined ? { outcomeText } : {}),
      });
    }
    if (isTimeout(err) || isNetworkError(err)) {
      return 'retry';
    }
    throw err; // a programming error: let it surface unchanged
  }

  async function execute(spec: CallSpec): Promise<FhirResource> {
    let reauthenticated = false;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      let token: string | undefined;
      try {
        token = await tokens.getToken();
        return await spec.call({
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const verdict = failure(spec, err);
        if (verdict === 'reauth') {
          tokens.invalidate(token);
          if (reauthenticated) {
            throw new EhrRequestError({
              connectionId,
              status: 401,
              request: spec.request,
              message: `EHR ${connectionId} answered 401 to ${spec.request} with a freshly issued token`,
            });
          }
          reauthenticated = true;
          attempts -= 1; // a token refresh is not a failed attempt
          continue;
        }
        const status = isKitHttpError(err) ? err.response.status : undefined;
        const retryable = verdict === 'retry' || verdict.retryable;
        if (!retryable) {
          throw verdict;
        }
        // Answers (or failures) that mean the EHR did not act on the request, so even a plain create may repeat.
        const notProcessed =
          status === 429 || status === 503 || verdict instanceof EhrError || isConnectionRefused(err);
        const retryAfterMs = isKitHttpError(err) ? parseRetryAfter(retryAfterHeader(err), now()) : undefined;
        const reason =
          verdict instanceof EhrError
            ? verdict.message
            : status !== undefined
              ? `HTTP ${status}`
              : isTimeout(err)
                ? `no answer within ${timeoutMs} ms`
                : 'network error';
        const unavailable = (): EhrUnavailableError =>
          new EhrUnavailableError({
            connectionId,
            request: spec.request,
            attempts,
            reason,
            // fhir-kit-client's HTTP errors carry the full URL (search parameters can be PHI) and the
            // response body; only network/timeout/token failures are kept as the cause.
            ...(isKitHttpError(err) ? {} : { cause: err }),
            ...(status !== undefined ? { status } : {}),
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          });
        if (attempts >= maxAttempts || (!spec.idempotent && !notProcessed)) {
          throw unavailable();
        }
        if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) {
          throw unavailable(); // the worker reschedules the job instead of holding it here
        }
        await sleep(retryAfterMs ?? backoffMs(attempts, random()));
      }
    }
  }

  /** The answer, once it is known to be a resource of the expected type. */
  function checkType(resource: FhirResource, expected: string, spec: CallSpec): Resource {
    if ((resource as { resourceType?: unknown }).resourceType !== expected) {
      throw new EhrRequestError({
        connectionId,
        status: 0,
        request: spec.request,
        message: `EHR ${connectionId} answered ${spec.request} with something other than a ${expected}`,
      });
    }
    return resource as unknown as Resource;
  }

  function requireType(resourceType: string): void {
    if (!RESOURCE_TYPE.test(resourceType)) {
      throw new TypeError('invalid FHIR resource type');
    }
  }

  function requireId(id: string, what: string): void {
    if (!FHIR_ID.test(id)) {
      throw new TypeError(`invalid FHIR ${what}`);
    }
  }

  function getPath(path: string, request: string): CallSpec {
    return {
      request,
      idempotent: true,
      call: async (o) => (await kit()).request(path, { method: 'GET', options: o }),
    };
  }

  async function readRelative<T extends Resource>(relative: string): Promise<T> {
    const match = RELATIVE_REFERENCE.exec(relative);
    if (!match) {
      throw new ForeignReferenceError(connectionId, 'a reference that is not Type/id[/_history/version]');
    }
    const resourceType = match[1] ?? '';
    const spec = getPath(relative, `GET ${relative}`);
    return checkType(await execute(spec), resourceType, spec) as T;
  }

  async function fetchPage<T extends Resource>(spec: CallSpec): Promise<Bundle<T>> {
    return checkType(await execute(spec), 'Bundle', spec) as Bundle<T>;
  }

  function searchSpec(resourceType: string, params: Record<string, string>): CallSpec {
    requireType(resourceType);
    const query = new URLSearchParams(params).toString();
    return getPath(query === '' ? resourceType : `${resourceType}?${query}`, `GET ${resourceType}`);
  }

  const client: EhrClient = {
    connectionId,
    fhirBaseUrl,

    async read<T extends Resource>(resourceType: string, id: string): Promise<T> {
      requireType(resourceType);
      requireId(id, 'id');
      return readRelative<T>(`${resourceType}/${id}`);
    },

    async vread<T extends Resource>(resourceType: string, id: string, versionId: string): Promise<T> {
      requireType(resourceType);
      requireId(id, 'id');
      requireId(versionId, 'version id');
      return readRelative<T>(`${resourceType}/${id}/_history/${versionId}`);
    },

    async readUrl<T extends Resource>(referenceOrUrl: string): Promise<T> {
      // Absolute (any scheme) → must lie under the base; anything else must be Type/id[/_history/v].
      const relative = /^[a-z][a-z0-9+.-]*:/i.test(referenceOrUrl)
        ? pathUnderBase(referenceOrUrl)
        : referenceOrUrl;
      return readRelative<T>(relative);
    },

    async search<T extends Resource>(
      resourceType: string,
      params: Record<string, string>,
    ): Promise<Bundle<T>> {
      return fetchPage<T>(searchSpec(resourceType, params));
    },

    async searchAll<T extends Resource>(
      resourceType: string,
      params: Record<string, string>,
      searchOptions: SearchAllOptions = {},
    ): Promise<SearchAllResult<T>> {
      const maxPages = Math.max(1, searchOptions.maxPages ?? DEFAULT_MAX_PAGES);
      const entries: BundleEntry<T>[] = [];
      let page = await fetchPage<T>(searchSpec(resourceType, params));
      let pages = 1;
      const seen = new Set<string>();
      for (;;) {
        entries.push(...(page.entry ?? []));
        const nextUrl = page.link?.find((l) => l.relation === 'next')?.url;
        if (nextUrl === undefined) {
          break;
        }
        // Checked before anything else: a next link to another host is never requested. Relative
        // links resolve against the base first, so "../x" cannot climb out of it either.
        const relative = pathUnderBase(resolveAgainstBase(nextUrl));
        if (pages >= maxPages || seen.has(relative)) {
          return {
            resources: resourcesOf(entries),
            entries,
            pages,
            truncated: pages >= maxPages,
            ...(pages >= maxPages ? { next: nextUrl } : {}),
          };
        }
        seen.add(relative);
        page = await fetchPage<T>(getPath(relative, `GET ${resourceType} (page ${pages + 1})`));
        pages += 1;
      }
      return { resources: resourcesOf(entries), entries, pages, truncated: false };
    },

    async create<T extends Resource>(resource: T, createOptions: { ifNoneExist?: string } = {}): Promise<T> {
      requireType(resource.resourceType);
      const headers: Record<string, string> = { prefer: 'return=representation' };
      if (createOptions.ifNoneExist !== undefined) {
        headers['if-none-exist'] = createOptions.ifNoneExist;
      }
      const spec: CallSpec = {
        request: `POST ${resource.resourceType}`,
        idempotent: createOptions.ifNoneExist !== undefined,
        call: async (o) =>
          (await kit()).create({
            resourceType: resource.resourceType,
            body: resource as unknown as FhirResource,
            options: { ...o, headers: { ...headers, ...o.headers } },
          }),
      };
      return checkType(await execute(spec), resource.resourceType, spec) as T;
    },

    async update<T extends Resource>(resource: T): Promise<T> {
      requireType(resource.resourceType);
      const id = resource.id ?? '';
      requireId(id, 'id');
      const spec: CallSpec = {
        request: `PUT ${resource.resourceType}/${id}`,
        idempotent: true,
        call: async (o) =>
          (await kit()).update({
            resourceType: resource.resourceType,
            id,
            body: resource as unknown as FhirResource,
            options: { ...o, headers: { prefer: 'return=representation', ...o.headers } },
          }),
      };
      return checkType(await execute(spec), resource.resourceType, spec) as T;
    },

    async capabilities(): Promise<CapabilityStatement> {
      const spec = getPath('metadata', 'GET metadata');
      return checkType(await execute(spec), 'CapabilityStatement', spec) as CapabilityStatement;
    },

    async operation<T extends Resource>(path: string, op: OperationOptions): Promise<T> {
      const clean = path.replace(/^\//, '');
      if (!OPERATION_PATH.test(clean)) {
        throw new TypeError('operation path must be [Type/[id/]]$name');
      }
      const query = new URLSearchParams(op.params ?? {}).toString();
      const url = query === '' ? clean : `${clean}?${query}`;
      const spec: CallSpec = {
        request: `${op.method} ${clean}`,
        // $status/$events and friends are queries; a POST here carries Parameters, not a new resource.
        idempotent: true,
        call: async (o) =>
          (await kit()).request(url, {
            method: op.method,
            ...(op.body !== undefined ? { body: op.body } : {}),
            options: {
              ...o,
              headers:
                op.body !== undefined ? { 'content-type': 'application/fhir+json', ...o.headers } : o.headers,
            },
          }),
      };
      return (await execute(spec)) as unknown as T;
    },
  };
  return client;
}

function resourcesOf<T extends Resource>(entries: readonly BundleEntry<T>[]): T[] {
  return entries.map((e) => e.resource).filter((r): r is T => r !== undefined);
}
