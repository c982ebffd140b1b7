/**
 * SMART on FHIR scopes (pure).
 *
 * Reference: SMART App Launch v2, "Scopes and Launch Context"
 * (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html), section
 * "Scopes for requesting FHIR Resources":
 *
 *   v2:  `<context>/<resourceType | *>.<permissions>` where permissions are the letters
 *        c (create), r (read, incl. vread and history), u (update), d (delete), s (search),
 *        each at most once and in this order (`system/Claim.rs`, `system/*.cruds`).
 *   v1:  `<context>/<resourceType | *>.<read | write | *>`, mapped to v2 as the spec says:
 *        read → rs, write → cud, * → cruds.
 *
 * Dripline is a SMART Backend Services server, so only the `system/` context is granted to its
 * clients (`patient/` and `user/` scopes need a launch context / end user it does not have).
 *
 * Finer-grained scopes with query parameters (`system/Observation.rs?category=laboratory`) are
 * NEVER granted — Dripline only enforces resource-level access. Rule:
 * - in a token request they are dropped from the grant (RFC 6749 §3.3 lets the server grant less
 *   than requested; the response's `scope` shows what was granted). Granting the coarser scope
 *   instead would widen access, so the narrower query scope is never widened;
 * - in a client registration they are rejected (registration must be exact);
 * - inside an already stored registration they cover nothing.
 */

export type Interaction = 'create' | 'read' | 'update' | 'delete' | 'search';

/** In SMART permission-letter order (c r u d s). */
export const INTERACTIONS: readonly Interaction[] = ['create', 'read', 'update', 'delete', 'search'];

const LETTERS: Readonly<Record<Interaction, string>> = {
  create: 'c',
  read: 'r',
  update: 'u',
  delete: 'd',
  search: 's',
};

export type ScopeContext = 'system' | 'user' | 'patient';

/** A resource-level SMART scope. */
export interface ParsedScope {
  readonly context: ScopeContext;
  /** A FHIR resource type, or `*` for all types. */
  readonly resourceType: string;
  /** Non-empty, in c r u d s order, without duplicates. */
  readonly interactions: readonly Interaction[];
  /** The scope text as written (v1 or v2). */
  readonly raw: string;
  readonly version: 1 | 2;
}

export type ScopeParseResult =
  | { readonly ok: true; readonly scope: ParsedScope }
  | {
      readonly ok: false;
      /**
       * - `not-resource-scope`: not of the form context/Type.permissions (e.g. `openid`, `launch`)
       * - `query-parameter`: a well-formed resource scope with a `?query` restriction
       * - `invalid`: looks like a resource scope but is malformed (bad letters, bad type, ...)
       */
      readonly reason: 'not-resource-scope' | 'query-parameter' | 'invalid';
      readonly message: string;
    };

const SCOPE_RE = /^(system|user|patient)\/([^./?]*)\.([^?]*)(\?.*)?$/;
const RESOURCE_TYPE_RE = /^[A-Z][A-Za-z]{0,63}$/;
const V2_PERMISSIONS_RE = /^c?r?u?d?s?$/;

const V1_MAPPING: Readonly<Record<string, readonly Interaction[]>> = {
  read: ['read', 'search'],
  write: ['create', 'update', 'delete'],
  '*': INTERACTIONS,
};

/** Parses one scope token. */
export function parseScope(raw: string): ScopeParseResult {
  const m = SCOPE_RE.exec(raw);
  if (!m) {
    return { ok: false, reason: 'not-resource-scope', message: `"${raw}" is not a SMART resource scope` };
  }
  const context = m[1] as ScopeContext;
  const resourceType = m[2] ?? '';
  const permissions = m[3] ?? '';
  const query = m[4];
  if (resourceType !== '*' && !RESOURCE_TYPE_RE.test(resourceType)) {
    return { ok: false, reason: 'invalid', message: `"${raw}": invalid resource type` };
  }
  let interactions: readonly Interaction[];
  let version: 1 | 2;
  const v1 = V1_MAPPING[permissions];
  if (v1 && Object.hasOwn(V1_MAPPING, permissions)) {
    interactions = v1;
    version = 1;
  } else if (permissions !== '' && V2_PERMISSIONS_RE.test(permissions)) {
    interactions = INTERACTIONS.filter((i) => permissions.includes(LETTERS[i]));
    version = 2;
  } else {
    return {
      ok: false,
      reason: 'invalid',
      message: `"${raw}": permissions must be letters of "cruds" in that order, or read, write, *`,
    };
  }
  if (query !== undefined) {
    return {
      ok: false,
      reason: 'query-parameter',
      message: `"${raw}": scopes restricted by query parameters are not supported`,
    };
  }
  return { ok: true, scope: { context, resourceType, interactions, raw, version } };
}

/** Splits a space-delimited scope string (RFC 6749 §3.3) into tokens, ignoring repeated spaces. */
export function splitScopeString(scope: string): string[] {
  return scope.split(' ').filter((s) => s !== '');
}

/** The v2 text of a scope: `system/Claim.rs`. */
export function formatScope(
  context: ScopeContext,
  resourceType: string,
  interactions: readonly Interaction[],
): string {
  const letters = INTERACTIONS.filter((i) => interactions.includes(i))
    .map((i) => LETTERS[i])
    .join('');
  return `${context}/${resourceType}.${letters}`;
}

/** The single v2 scope that allows one interaction on one type, e.g. `system/Claim.r` (for insufficient_scope). */
export function requiredScopeFor(resourceType: string, interaction: Interaction): string {
  return formatScope('system', resourceType, [interaction]);
}

/** FHIR RESTful interactions, mapped onto SMART permissions. */
export type FhirInteraction =
  | Interaction
  | 'vread'
  | 'history-instance'
  | 'history-type'
  | 'history'
  | 'patch'
  | 'search-type'
  | 'search-system';

/** vread / history count as read, patch as update, any search as search. */
export function toScopeInteraction(interaction: FhirInteraction): Interaction {
  switch (interaction) {
    case 'vread':
    case 'history':
    case 'history-instance':
    case 'history-type':
      return 'read';
    case 'patch':
      return 'update';
    case 'search-type':
    case 'search-system':
      return 'search';
    case 'create':
    case 'read':
    case 'update':
    case 'delete':
    case 'search':
      return interaction;
  }
}

/**
 * Whether the granted scopes allow `interaction` on `resourceType`. Only `system/` scopes count:
 * Dripline has no patient compartment or user to enforce `patient/` or `user/` scopes against.
 */
export function isAllowed(
  granted: readonly ParsedScope[],
  resourceType: string,
  interaction: Interaction,
): boolean {
  return granted.some(
    (s) =>
      s.context === 'system' &&
      (s.resourceType === '*' || s.resourceType === resourceType) &&
      s.interactions.includes(interaction),
  );
}

/**
 * Parses the scopes of an access token Dripline issued (or of a stored registration): keeps the
 * resource-level scopes, silently drops anything else (they grant nothing).
 */
export function parseGrantedScopes(scope: string): ParsedScope[] {
  const out: ParsedScope[] = [];
  for (const token of splitScopeString(scope)) {
    const r = parseScope(token);
    if (r.ok) {
      out.push(r.scope);
    }
  }
  return out;
}

export type RegisteredScopesResult =
  | { readonly ok: true; readonly scopes: ParsedScope[]; readonly scope: string }
  | { readonly ok: false; readonly message: string };

/**
 * Validates the scopes of a backend client registration: at least one, each a resource-level
 * `system/` scope (v1 or v2), no query parameters. `scope` is the normalized (deduplicated,
 * single-space separated) string to store.
 */
export function validateRegisteredScopes(scope: string): RegisteredScopesResult {
  const tokens = [...new Set(splitScopeString(scope))];
  if (tokens.length === 0) {
    return { ok: false, message: 'at least one scope is required, e.g. "system/Claim.cruds"' };
  }
  const scopes: ParsedScope[] = [];
  for (const token of tokens) {
    const r = parseScope(token);
    if (!r.ok) {
      return { ok: false, message: r.message };
    }
    if (r.scope.context !== 'system') {
      return { ok: false, message: `"${token}": backend service clients only get system/ scopes` };
    }
    scopes.push(r.scope);
  }
  return { ok: true, scopes, scope: tokens.join(' ') };
}

export type NarrowResult =
  | {
      readonly ok: true;
      /** What is granted (non-empty). */
      readonly granted: ParsedScope[];
      /** The granted scopes as a space-separated string, for the token and the response. */
      readonly scope: string;
      /** Requested scopes not granted at all (not registered, or query-parameter scopes). */
      readonly dropped: string[];
    }
  | { readonly ok: false; readonly message: string };

/**
 * Grants the intersection of the requested scopes with the client's registered scopes.
 *
 * - Each requested scope gets the interactions that registered scopes of the same type (or of
 *   `*`) allow: `system/*.rs` registered covers `system/Claim.r`; requesting `system/Claim.cruds`
 *   with only `system/Claim.rs` registered grants `system/Claim.rs`; requesting `system/*.rs` with
 *   only `system/Claim.r system/Coverage.rs` registered grants those two.
 * - A fully granted scope is returned as written (v1 stays v1); a narrowed one in v2 form.
 * - Rejected (ok: false → `invalid_scope`): an empty request; a malformed scope; a non-`system/`
 *   context; anything that is not a SMART resource scope (`openid`, `offline_access`, `launch`...);
 *   a request of which nothing can be granted.
 * - Dropped silently (reported in `dropped`): scopes that are not registered, and query-parameter
 *   scopes (see the file comment).
 */
export function narrowScopes(requested: string, registered: string): NarrowResult {
  const requestedTokens = [...new Set(splitScopeString(requested))];
  if (requestedTokens.length === 0) {
    return { ok: false, message: 'scope is required' };
  }
  const registeredScopes = parseGrantedScopes(registered).filter((s) => s.context === 'system');
  const grantedTexts: string[] = [];
  const dropped: string[] = [];

  for (const token of requestedTokens) {
    const r = parseScope(token);
    if (!r.ok) {
      if (r.reason === 'query-parameter' && token.startsWith('system/')) {
        dropped.push(token);
        continue;
      }
      return { ok: false, message: r.message };
    }
    const req = r.scope;
    if (req.context !== 'system') {
      return { ok: false, message: `"${token}": backend service clients can only be granted system/ scopes` };
    }
    const texts = grantFor(req, registeredScopes);
    if (texts.length === 0) {
      dropped.push(token);
    }
    grantedTexts.push(...texts);
  }

  const unique = [...new Set(grantedTexts)];
  if (unique.length === 0) {
    return { ok: false, message: 'none of the requested scopes is registered for this client' };
  }
  return { ok: true, granted: parseGrantedScopes(unique.join(' ')), scope: unique.join(' '), dropped };
}

function intersect(a: readonly Interaction[], b: readonly Interaction[]): Interaction[] {
  return INTERACTIONS.filter((i) => a.includes(i) && b.includes(i));
}

/** The scope texts granted for one requested system scope. */
function grantFor(req: ParsedScope, registered: readonly ParsedScope[]): string[] {
  // Interactions granted on exactly the requested type (a wildcard registration covers any type).
  const onRequestedType = new Set<Interaction>();
  for (const reg of registered) {
    if (reg.resourceType === '*' || reg.resourceType === req.resourceType) {
      for (const i of intersect(req.interactions, reg.interactions)) {
        onRequestedType.add(i);
      }
    }
  }
  const out: string[] = [];
  if (onRequestedType.size === req.interactions.length) {
    return [req.raw];
  }
  if (onRequestedType.size > 0) {
    out.push(formatScope('system', req.resourceType, [...onRequestedType]));
  }
  if (req.resourceType === '*') {
    // A wildcard request also gets what concrete registrations allow beyond the wildcard grant.
    const byType = new Map<string, Set<Interaction>>();
    for (const reg of registered) {
      if (reg.resourceType === '*') {
        continue;
      }
      const extra = intersect(req.interactions, reg.interactions).filter((i) => !onRequestedType.has(i));
      if (extra.length > 0) {
        const set = byType.get(reg.resourceType) ?? new Set<Interaction>();
        extra.forEach((i) => set.add(i));
        byType.set(reg.resourceType, set);
      }
    }
    for (const [type, set] of byType) {
      out.push(formatScope('system', type, [...set]));
    }
  }
  return out;
}
