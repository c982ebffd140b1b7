/**
 * What a sandbox EHR Subscription asks for and whether a write matches it (what its notifications
 * look like is ./notification-render.ts). Pure except for `matchesSubscription`, which may look up the focus's
 * Encounter through the resolver it is given.
 *
 * Shapes (see ../shared/research/subscriptions-smart.md §1):
 * - backport: R4 Subscriptions Backport IG. `criteria` is a topic canonical, filters in
 *   `_criteria.extension[backport-filter-criteria]`, content in
 *   `channel._payload.extension[backport-payload-content]`, heartbeat/max-count/timeout as
 *   channel extensions. Notification = Bundle(history) with a status Parameters first.
 * - r5: the same R4 Subscription with the extension EXT_SANDBOX_NOTIFICATION_SHAPE valueCode `r5` (or an
 *   R5-shaped Subscription with `topic`/`filterBy`/`content`), notified with
 *   Bundle(subscription-notification) whose first entry is a `SubscriptionStatus` (plain JSON).
 * - classic: R4 rest-hook with a search-string `criteria`; the body is the changed resource
 *   itself (Medplum style headers), or empty when `channel.payload` is absent (HAPI style).
 */
import { getSearchParameter, matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Extension, Resource, Subscription } from '@medplum/fhirtypes';
import {
  EXT_SANDBOX_NOTIFICATION_SHAPE,
  TOPIC_ENCOUNTER,
  TOPIC_MEDICATION_ADMINISTRATION,
} from '../../contract/canonical.ts';

export const BACKPORT_SD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const BACKPORT_EXTENSIONS = {
  filterCriteria: `${BACKPORT_SD}/backport-filter-criteria`,
  payloadContent: `${BACKPORT_SD}/backport-payload-content`,
  heartbeatPeriod: `${BACKPORT_SD}/backport-heartbeat-period`,
  maxCount: `${BACKPORT_SD}/backport-max-count`,
  timeout: `${BACKPORT_SD}/backport-timeout`,
} as const;
export const BACKPORT_SUBSCRIPTION_PROFILE = `${BACKPORT_SD}/backport-subscription`;
export const BACKPORT_STATUS_PROFILE = `${BACKPORT_SD}/backport-subscription-status-r4`;
export const BACKPORT_NOTIFICATION_PROFILE = `${BACKPORT_SD}/backport-subscription-notification-r4`;
export const SUBSCRIPTION_ERROR_SYSTEM = 'http://terminology.hl7.org/CodeSystem/subscription-error';

export interface TopicDefinition {
  readonly url: string;
  readonly resourceType: string;
  readonly triggers: readonly WriteInteraction[];
  readonly description: string;
}

export const TOPICS: readonly TopicDefinition[] = [
  {
    url: TOPIC_MEDICATION_ADMINISTRATION,
    resourceType: 'MedicationAdministration',
    triggers: ['create', 'update'],
    description: 'A MedicationAdministration is created or updated',
  },
  {
    url: TOPIC_ENCOUNTER,
    resourceType: 'Encounter',
    triggers: ['create', 'update'],
    description: 'An Encounter is created or updated',
  },
];

export type WriteInteraction = 'create' | 'update';
export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
export type SubscriptionStatusCode = 'requested' | 'active' | 'error' | 'off';
export type NotificationShape = 'backport' | 'r5' | 'classic';
export type NotificationType =
  'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

/**
 * One filter parameter; its values (comma-separated) are OR-ed and clauses are AND-ed, as the
 * Backport IG says of backport-filter-criteria ("logical AND") and FHIR search of commas.
 */
export interface FilterClause {
  readonly code: string;
  readonly values: readonly string[];
}

/** A Subscription as the sandbox understands it. */
export interface SubscriptionSpec {
  readonly shape: NotificationShape;
  /** Topic canonical (backport, r5). */
  readonly topic?: string;
  /** The focus type: the topic's resource type, or the classic criteria's type. */
  readonly resourceType: string;
  readonly filters: readonly FilterClause[];
  readonly endpoint: string;
  /** From `channel.header` ("Name: value") or R5 `parameter`. */
  readonly headers: readonly (readonly [string, string])[];
  readonly content: PayloadContent;
  /** `channel.payload` (MIME type); classic without it is delivered with an empty body. */
  readonly payloadMimeType?: string;
  readonly heartbeatPeriodSeconds?: number;
  readonly maxCount?: number;
  readonly timeoutSeconds?: number;
}

export type ParseSubscriptionResult =
  { readonly ok: true; readonly spec: SubscriptionSpec } | { readonly ok: false; readonly message: string };

const CONTENT_CODES: readonly string[] = ['empty', 'id-only', 'full-resource'];
/** Search parameters FHIR R4 defines for every resource type (R4 search.html §3.1.1.1). */
const COMMON_SEARCH_PARAMETERS = new Set(['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source']);

/**
 * Whether FHIR R4 defines `code` (modifier aside) as a search parameter of `resourceType`. Classic
 * criteria are R4 searches, and the sandbox's topics offer no filter keys of their own, so this is
 * every filter the sandbox accepts: `MedicationAdministration?location=` is refused, as a strict
 * EHR does (R4 has no such parameter; an administration's place is its encounter's).
 */
export function isR4SearchParameter(resourceType: string, code: string): boolean {
  const base = code.split(':')[0] ?? code;
  return COMMON_SEARCH_PARAMETERS.has(base) || getSearchParameter(resourceType, base) !== undefined;
}

function extensionsOf(element: unknown): Extension[] {
  const ext = (element as { extension?: unknown } | undefined)?.extension;
  return Array.isArray(ext) ? (ext as Extension[]) : [];
}

function findExtension(element: unknown, url: string): Extension | undefined {
  return extensionsOf(element).find((e) => e.url === url);
}

function nonNegativeInt(ext: Extension | undefined): number | undefined {
  const v = ext?.valueUnsignedInt ?? ext?.valuePositiveInt ?? ext?.valueInteger;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

export function topicByUrl(url: string): TopicDefinition | undefined {
  return TOPICS.find((t) => t.url === url);
}

/**
 * Parses one filter string. Accepted forms: `Type?code=v1,v2&code2=v` (Dripline, IG STU 1.1),
 * `Type.code=v` (Inferno's samples) and `code=v`.
 */
export function parseFilterString(
  text: string,
  resourceType: string,
): { ok: true; clauses: FilterClause[] } | { ok: false; message: string } {
  let query = text.trim();
  const q = query.indexOf('?');
  if (q >= 0) {
    const type = query.slice(0, q);
    if (type !== '' && type !== resourceType) {
      return { ok: false, message: `filter "${text}" names ${type}, but the topic is about ${resourceType}` };
    }
    query = query.slice(q + 1);
  } else {
    const dotted = /^([A-Z][A-Za-z]+)\.(.*)$/.exec(query);
    if (dotted) {
      if (dotted[1] !== resourceType) {
        return {
          ok: false,
          message: `filter "${text}" names ${dotted[1] ?? ''}, but the topic is about ${resourceType}`,
        };
      }
      query = dotted[2] ?? '';
    }
  }
  const clauses: FilterClause[] = [];
  for (const [code, value] of new URLSearchParams(query)) {
    if (code === '') {
      continue;
    }
    const values = value.split(',').filter((v) => v !== '');
    if (values.length === 0) {
      return { ok: false, message: `filter "${text}" has no value for ${code}` };
    }
    if (!isR4SearchParameter(resourceType, code)) {
      return {
        ok: false,
        message: `unsupported filter parameter "${code}": not a FHIR R4 search parameter of ${resourceType}`,
      };
    }
    clauses.push({ code, values });
  }
  return { ok: true, clauses };
}

function headerPairs(lines: readonly string[]): (readonly [string, string])[] | string {
  const out: (readonly [string, string])[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      return `channel.header "${line.slice(0, 40)}" is not "Name: value"`;
    }
    out.push([name, line.slice(colon + 1).trim()]);
  }
  return out;
}

function checkEndpoint(endpoint: unknown): string | undefined {
  if (typeof endpoint !== 'string' || endpoint === '') {
    return 'channel.endpoint is required';
  }
  try {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return 'channel.endpoint must be an http(s) URL';
    }
  } catch {
    return 'channel.endpoint must be an absolute URL';
  }
  return undefined;
}

/** Reads what a Subscription asks for, or says why the sandbox cannot serve it. */
export function parseSubscription(resource: Subscription): ParseSubscriptionResult {
  const r5 = resource as unknown as R5SubscriptionJson;
  if (typeof r5.topic === 'string' && resource.criteria === undefined) {
    return parseR5Subscription(r5);
  }
  const criteria = resource.criteria;
  if (typeof criteria !== 'string' || criteria === '') {
    return { ok: false, message: 'Subscription.criteria is required (a topic canonical or a search string)' };
  }
  const channel = resource.channel as Subscription['channel'] | undefined;
  if (channel?.type !== 'rest-hook') {
    return { ok: false, message: 'only channel.type rest-hook is supported by this server' };
  }
  const endpointError = checkEndpoint(channel.endpoint);
  if (endpointError) {
    return { ok: false, message: endpointError };
  }
  const headers = headerPairs(channel.header ?? []);
  if (typeof headers === 'string') {
    return { ok: false, message: headers };
  }
  const endpoint = channel.endpoint ?? '';
  const topic = topicByUrl(criteria);
  if (!topic) {
    if (/^[a-z]+:\/\//i.test(criteria)) {
      return { ok: false, message: `unknown SubscriptionTopic ${criteria}` };
    }
    // Classic R4: criteria is a search string.
    const type = criteria.split('?')[0] ?? '';
    if (!/^[A-Z][A-Za-z]+$/.test(type)) {
      return { ok: false, message: `criteria "${criteria}" is neither a topic nor a search string` };
    }
    const parsed = parseFilterString(criteria, type);
    if (!parsed.ok) {
      return parsed;
    }
    return {
      ok: true,
      spec: {
        shape: 'classic',
        resourceType: type,
        filters: parsed.clauses,
        endpoint,
        headers,
        content: channel.payload ? 'full-resource' : 'empty',
        ...(channel.payload ? { payloadMimeType: channel.payload } : {}),
      },
    };
  }
  const filters: FilterClause[] = [];
  for (const ext of extensionsOf((resource as { _criteria?: unknown })._criteria)) {
    if (ext.url !== BACKPORT_EXTENSIONS.filterCriteria) {
      continue;
    }
    const parsed = parseFilterString(ext.valueString ?? '', topic.resourceType);
    if (!parsed.ok) {
      return parsed;
    }
    filters.push(...parsed.clauses);
  }
  const contentCode = findExtension(
    (channel as { _payload?: unknown })._payload,
    BACKPORT_EXTENSIONS.payloadContent,
  )?.valueCode;
  if (contentCode !== undefined && !CONTENT_CODES.includes(contentCode)) {
    return { ok: false, message: `unknown payload content "${contentCode}"` };
  }
  const shapeCode = findExtension(resource, EXT_SANDBOX_NOTIFICATION_SHAPE)?.valueCode;
  if (shapeCode !== undefined && shapeCode !== 'r5' && shapeCode !== 'backport') {
    return { ok: false, message: `unknown notification shape "${shapeCode}" (r5 or backport)` };
  }
  const heartbeat = nonNegativeInt(findExtension(channel, BACKPORT_EXTENSIONS.heartbeatPeriod));
  const maxCount = nonNegativeInt(findExtension(channel, BACKPORT_EXTENSIONS.maxCount));
  const timeout = nonNegativeInt(findExtension(channel, BACKPORT_EXTENSIONS.timeout));
  return {
    ok: true,
    spec: {
      shape: shapeCode === 'r5' ? 'r5' : 'backport',
      topic: topic.url,
      resourceType: topic.resourceType,
      filters,
      endpoint,
      headers,
      content: (contentCode ?? 'empty') as PayloadContent,
      ...(channel.payload ? { payloadMimeType: channel.payload } : {}),
      ...(heartbeat ? { heartbeatPeriodSeconds: heartbeat } : {}),
      ...(maxCount ? { maxCount } : {}),
      ...(timeout ? { timeoutSeconds: timeout } : {}),
    },
  };
}

/** The R5 Subscription elements the sandbox reads when a client posts an R5-shaped Subscription. */
interface R5SubscriptionJson {
  readonly topic?: string;
  readonly filterBy?: readonly { resourceType?: string; filterParameter?: string; value?: string }[];
  readonly channelType?: { code?: string };
  readonly endpoint?: string;
  readonly parameter?: readonly { name?: string; value?: string }[];
  readonly heartbeatPeriod?: number;
  readonly timeout?: number;
  readonly content?: string;
  readonly contentType?: string;
  readonly maxCount?: number;
}

function parseR5Subscription(s: R5SubscriptionJson): ParseSubscriptionResult {
  const topic = topicByUrl(s.topic ?? '');
  if (!topic) {
    return { ok: false, message: `unknown SubscriptionTopic ${s.topic ?? ''}` };
  }
  if (s.channelType?.code !== 'rest-hook') {
    return { ok: false, message: 'only channelType rest-hook is supported by this server' };
  }
  const endpointError = checkEndpoint(s.endpoint);
  if (endpointError) {
    return { ok: false, message: endpointError };
  }
  if (s.content !== undefined && !CONTENT_CODES.includes(s.content)) {
    return { ok: false, message: `unknown content "${s.content}"` };
  }
  const filters: FilterClause[] = [];
  for (const f of s.filterBy ?? []) {
    const parsed = parseFilterString(`${f.filterParameter ?? ''}=${f.value ?? ''}`, topic.resourceType);
    if (!parsed.ok) {
      return parsed;
    }
    filters.push(...parsed.clauses);
  }
  return {
    ok: true,
    spec: {
      shape: 'r5',
      topic: topic.url,
      resourceType: topic.resourceType,
      filters,
      endpoint: s.endpoint ?? '',
      headers: (s.parameter ?? [])
        .filter((p) => typeof p.name === 'string' && p.name !== '')
        .map((p) => [p.name ?? '', p.value ?? ''] as const),
      content: (s.content ?? 'empty') as PayloadContent,
      payloadMimeType: s.contentType ?? 'application/fhir+json',
      ...(s.heartbeatPeriod ? { heartbeatPeriodSeconds: s.heartbeatPeriod } : {}),
      ...(s.maxCount ? { maxCount: s.maxCount } : {}),
      ...(s.timeout ? { timeoutSeconds: s.timeout } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

/** "Type/id" from a relative or absolute reference (a versioned one loses its version). */
export function relativeReference(reference: string, defaultType?: string): string {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  if (m) {
    return `${m[1] ?? ''}/${m[2] ?? ''}`;
  }
  return defaultType && !reference.includes('/') ? `${defaultType}/${reference}` : reference;
}

function refOf(value: unknown): string | undefined {
  const ref = (value as { reference?: unknown } | undefined)?.reference;
  return typeof ref === 'string' ? relativeReference(ref) : undefined;
}

export interface MatchContext {
  /** Reads a resource by "Type/id"; undefined when it does not exist. */
  resolve(reference: string): Promise<Resource | undefined>;
}

function encounterLocations(encounter: Resource | undefined): string[] {
  if (encounter?.resourceType !== 'Encounter') {
    return [];
  }
  return (encounter.location ?? []).map((l) => refOf(l.location)).filter((r) => r !== undefined);
}

function clauseMatches(clause: FilterClause, resource: Resource): boolean {
  const wanted = (type: string): string[] => clause.values.map((v) => relativeReference(v, type));
  const r = resource as Resource & { subject?: unknown; patient?: unknown; context?: unknown };
  // Reference parameters compare by Type/id whatever the form (relative, absolute, versioned).
  switch (clause.code) {
    case '_id':
      return clause.values.includes(resource.id ?? '');
    case 'patient':
    case 'subject': {
      const ref = refOf(r.subject) ?? refOf(r.patient);
      return ref !== undefined && wanted('Patient').includes(ref);
    }
    case 'context': {
      const ref = refOf(r.context);
      return ref !== undefined && wanted('Encounter').includes(ref);
    }
    case 'location': {
      // Encounter-location (an administration has no location parameter in R4: refused at parse).
      const want = wanted('Location');
      return encounterLocations(resource).some((l) => want.includes(l));
    }
    default: {
      const search = parseSearchRequest(
        `${resource.resourceType}?${new URLSearchParams([[clause.code, clause.values.join(',')]]).toString()}`,
      );
      return matchesSearchRequest(resource, search);
    }
  }
}

/**
 * Whether a written resource is an event for the subscription (type, trigger and filters). `_ctx`
 * resolves references for filters that need another resource; the R4 parameters accepted today
 * need none.
 */
export function matchesSubscription(
  spec: SubscriptionSpec,
  resource: Resource,
  interaction: WriteInteraction,
  _ctx: MatchContext,
): Promise<boolean> {
  if (resource.resourceType !== spec.resourceType) {
    return Promise.resolve(false);
  }
  if (spec.topic && !(topicByUrl(spec.topic)?.triggers.includes(interaction) ?? false)) {
    return Promise.resolve(false);
  }
  return Promise.resolve(spec.filters.every((clause) => clauseMatches(clause, resource)));
}
