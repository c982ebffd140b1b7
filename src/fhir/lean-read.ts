/**
 * The plain FHIR read, `GET /fhir/{type}/{id}`, as lean routes (src/http/lean-route.ts): answered
 * before the express stack's middleware, router walk and FHIR interaction dispatch, with what that
 * stack does for the same request (./routes.ts), in the same order and through the same code:
 *
 *   1. the app's `admit` (request id, access log and metrics under `/fhir/{type}/:id`, security
 *      headers, rate limit);
 *   2. the bearer token (authenticateBearer, as requireBearer: the same 401s and challenges);
 *      the AuthContext left in `res.locals.auth` for the access log;
 *   3. the scopes (accessPolicy: read on the type and on what it embeds, the same 403
 *      `insufficient_scope`);
 *   4. the tenant's resource and its AuditEvent (DriplineRepository.readResourceJson, as the
 *      stack's plain read: 404 when the tenant has no such resource);
 *   5. the stored text, with ETag and Last-Modified (storedJsonHeaders, as sendStoredJson).
 *
 * Only the plain form is served: an id that is a FHIR id, no conditional headers (express answers
 * `If-None-Match` / `If-Modified-Since` with a 304 when they match). Anything else, and every
 * type whose `/{type}/{id}` something before the interactions answers (OperationDefinition: the
 * definitions router, ./operations.ts), goes on to the stack. The tokens Dripline issues carry
 * `system/` scopes only (src/auth/scopes.ts): there is no patient context or compartment to apply.
 */
import type { Request } from 'express';
import { authenticateBearer } from '../auth/bearer.ts';
import type { TokenService } from '../auth/token-service.ts';
import { storedJsonHeaders } from '../http/fhir-response.ts';
import type { LeanRoute } from '../http/lean-route.ts';
import type { Store } from '../store/port.ts';
import { accessPolicy } from './access-policy.ts';
import type { AuditWriter } from './audit-writer.ts';
import { SUPPORTED_INTERACTIONS } from './capability.ts';
import { DriplineRepository } from './repository.ts';

/** Where src/app.ts mounts the FHIR routes. */
export const FHIR_MOUNT = '/fhir';

/** FHIR R4 `id` (https://hl7.org/fhir/R4/datatypes.html#id): `[A-Za-z0-9\-\.]{1,64}`. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Types whose `GET /{type}/{id}` a router before the FHIR interactions answers (./routes.ts). */
const READ_ANSWERED_BEFORE_INTERACTIONS: ReadonlySet<string> = new Set(['OperationDefinition']);

/** The types the lean read serves: every type with the read interaction the interactions answer. */
export function leanReadTypes(): string[] {
  return Object.entries(SUPPORTED_INTERACTIONS)
    .filter(
      ([type, interactions]) => interactions.includes('read') && !READ_ANSWERED_BEFORE_INTERACTIONS.has(type),
    )
    .map(([type]) => type);
}

export interface LeanReadDeps {
  readonly store: Store;
  readonly tokenService: Pick<TokenService, 'verifyAccessToken'>;
  /** The server's public base URL (the AuditEvents' source, the FHIR base URL under it). */
  readonly publicUrl: string;
  readonly now: () => Date;
  /** The read audits' group commit, the FHIR routes' own (./routes.ts `audit`). */
  readonly audit: AuditWriter;
}

/** A request the stack would answer otherwise: a conditional one (304 when it matches). */
function conditional(req: Request): boolean {
  return req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
}

/** One lean route per readable type (`/fhir/Patient/:id`, ...): each its own metrics label. */
export function leanReadRoutes(deps: LeanReadDeps): LeanRoute[] {
  // Read audits are group-committed per event-loop turn (./audit-writer.ts), with the stack's reads
  // (a query, a conditional header): one writer serves both.
  const { store, tokenService, publicUrl, now, audit } = deps;
  const fhirBaseUrl = `${publicUrl}${FHIR_MOUNT}`;
  return leanReadTypes().map((resourceType) => ({
    method: 'GET',
    template: `${FHIR_MOUNT}/${resourceType}/:id`,
    readsBody: false,
    accepts: ([id = ''], req) => FHIR_ID.test(id) && !conditional(req),
    async handle([id = ''], req, _body, res) {
      const auth = await authenticateBearer(tokenService, req.headers.authorization, now());
      res.locals.auth = auth;
      const access = accessPolicy(auth);
      // Before the repository, as the stack does: a refusal names the missing scopes.
      access.assert(resourceType, 'read');
      const repo = new DriplineRepository({
        store,
        audit,
        access,
        fhirBaseUrl,
        publicUrl,
        requestId: String(res.locals.requestId ?? ''),
        now,
      });
      const stored = await repo.readResourceJson(resourceType, id);
      return { status: 200, body: stored.json, headers: storedJsonHeaders(stored) };
    },
  }));
}
