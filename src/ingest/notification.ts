/**
 * The normalized form of everything an EHR can push at the receiver. `parseNotification`
 * (notification-parser.ts, pure) turns an HTTP request's method, path, headers and raw body into
 * one of these, or throws OperationOutcomeError(badRequest) for malformed or unknown shapes.
 *
 * Shapes (see ../shared/research/subscriptions-smart.md §1):
 * - backport: R4 Subscriptions Backport IG — Bundle.type `history`, first entry a `Parameters`
 *   (backport-subscription-status-r4).
 * - r5: R4B/R5 topic-based — Bundle.type `subscription-notification` (R5) or `history` whose first
 *   entry is a `SubscriptionStatus` resource (R4B).
 * - classic: classic R4 rest-hook — the changed resource itself (Medplum: POST, `{}` on delete with
 *   X-Medplum-Interaction / X-Medplum-Deleted-Resource headers; HAPI: PUT/DELETE {base}/{Type}/{id}).
 * - ping: an empty body (HAPI classic without payload): "something changed, go look".
 */
import type { Resource } from '@medplum/fhirtypes';

export type NotificationType =
  'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

export interface NotificationEvent {
  /** Event number as a safe integer (senders use valueString, valueInteger, valueUnsignedInt or integer64 strings). */
  readonly eventNumber?: number;
  /** ISO instant/dateTime/date as sent (HAPI sends valueDate). */
  readonly timestamp?: string;
  /** The focus reference exactly as sent (absolute URL or relative Type/id); absent for `empty` content. */
  readonly focus?: string;
  readonly additionalContext: readonly string[];
}

export interface TopicNotification {
  readonly shape: 'backport' | 'r5';
  readonly type: NotificationType;
  /** Reference to the EHR's Subscription exactly as sent (e.g. "https://ehr/fhir/Subscription/123" or "Subscription/123"). */
  readonly subscription: string;
  /** The Subscription's logical id (last path segment of `subscription`). */
  readonly subscriptionId: string;
  readonly topic?: string;
  /** requested | active | error | off | entered-in-error */
  readonly status?: string;
  readonly eventsSinceSubscriptionStart?: number;
  readonly events: readonly NotificationEvent[];
  /**
   * Resources carried in the bundle (full-resource content), keyed by their fullUrl when present and
   * also by "Type/id". Entries with only request/response (resource not included) are not here.
   */
  readonly resources: readonly { readonly fullUrl?: string; readonly resource: Resource }[];
  /** error codes from the status (`error` parameter / SubscriptionStatus.error) */
  readonly errors: readonly string[];
}

/** The status fields common to the Parameters (backport) and SubscriptionStatus (R4B/R5) forms. */
export interface StatusFields {
  readonly type: NotificationType;
  readonly subscription: string;
  readonly subscriptionId: string;
  readonly topic?: string;
  readonly status?: string;
  readonly eventsSinceSubscriptionStart?: number;
  readonly events: readonly NotificationEvent[];
  readonly errors: readonly string[];
}

export interface ClassicNotification {
  readonly shape: 'classic';
  readonly interaction: 'create' | 'update' | 'delete';
  /** Present for create/update. */
  readonly resource?: Resource;
  /** What changed: from the resource, the PUT/DELETE path, or X-Medplum-Deleted-Resource. */
  readonly target: { readonly resourceType: string; readonly id: string; readonly versionId?: string };
  /** X-Medplum-Subscription or similar, when the sender names its subscription. */
  readonly subscriptionId?: string;
}

export interface PingNotification {
  readonly shape: 'ping';
  readonly subscriptionId?: string;
}

export type ParsedNotification = TopicNotification | ClassicNotification | PingNotification;

/** What the parser needs from the HTTP request. */
export interface NotificationRequest {
  readonly method: 'POST' | 'PUT' | 'DELETE';
  /** For PUT/DELETE /ehr/{connection}/notify/{type}/{id}: the type and id from the path. */
  readonly pathTarget?: { readonly resourceType: string; readonly id: string };
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw body text ('' when empty). */
  readonly body: string;
}
