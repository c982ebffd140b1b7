/**
 * What the sandbox EHR's notifications look like, in each shape a Subscription can ask for
 * (./subscriptions.ts parses which): the Backport IG's Bundle(history) led by a
 * SubscriptionStatus Parameters, R5's Bundle(subscription-notification) led by a SubscriptionStatus,
 * and the classic rest-hook body. Pure: the event log and the ids are given.
 */
import type {
  Bundle,
  BundleEntry,
  CodeableConcept,
  Parameters,
  ParametersParameter,
  Resource,
} from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { BACKPORT_NOTIFICATION_PROFILE, BACKPORT_STATUS_PROFILE } from './subscriptions.ts';
import type {
  NotificationType,
  PayloadContent,
  SubscriptionStatusCode,
  WriteInteraction,
} from './subscriptions.ts';

/** One event in a subscription's log. */
export interface NotificationEventRecord {
  readonly eventNumber: number;
  readonly timestamp: string;
  readonly interaction: WriteInteraction;
  readonly focus: { readonly resourceType: string; readonly id: string; readonly versionId?: string };
  /** The focus as written by this event (needed for full-resource content). */
  readonly resource?: Resource;
}

export interface RenderNotificationInput {
  /** The EHR's FHIR base, for absolute references. */
  readonly fhirBaseUrl: string;
  readonly subscriptionId: string;
  readonly topic?: string;
  readonly status: SubscriptionStatusCode;
  readonly type: NotificationType;
  readonly eventsSinceSubscriptionStart: number;
  readonly events?: readonly NotificationEventRecord[];
  readonly content: PayloadContent;
  /** Default backport. */
  readonly shape?: 'backport' | 'r5';
  /** Bundle.timestamp (ISO instant). */
  readonly timestamp: string;
  /** Why the subscription is in `error` (subscription-error codes and/or text). */
  readonly errors?: readonly CodeableConcept[];
  readonly newId?: () => string;
}

function focusUrl(base: string, focus: NotificationEventRecord['focus']): string {
  return `${base}/${focus.resourceType}/${focus.id}`;
}

/** The backport status Parameters (profile backport-subscription-status-r4). */
export function renderStatusParameters(input: RenderNotificationInput, id: string): Parameters {
  const parameter: ParametersParameter[] = [
    {
      name: 'subscription',
      valueReference: { reference: `${input.fhirBaseUrl}/Subscription/${input.subscriptionId}` },
    },
  ];
  if (input.topic && input.content !== 'empty') {
    parameter.push({ name: 'topic', valueCanonical: input.topic });
  }
  parameter.push(
    { name: 'status', valueCode: input.status },
    { name: 'type', valueCode: input.type },
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceSubscriptionStart) },
  );
  for (const event of input.events ?? []) {
    const part: ParametersParameter[] = [
      { name: 'event-number', valueString: String(event.eventNumber) },
      { name: 'timestamp', valueInstant: event.timestamp },
    ];
    if (input.content !== 'empty') {
      part.push({ name: 'focus', valueReference: { reference: focusUrl(input.fhirBaseUrl, event.focus) } });
    }
    parameter.push({ name: 'notification-event', part });
  }
  for (const error of input.errors ?? []) {
    parameter.push({ name: 'error', valueCodeableConcept: error });
  }
  return {
    resourceType: 'Parameters',
    id,
    meta: { profile: [BACKPORT_STATUS_PROFILE] },
    parameter,
  };
}

/** The R5 `SubscriptionStatus` (not an R4 resource, so plain JSON). */
export function renderSubscriptionStatusR5(
  input: RenderNotificationInput,
  id: string,
): Record<string, unknown> {
  return {
    resourceType: 'SubscriptionStatus',
    id,
    status: input.status,
    type: input.type,
    eventsSinceSubscriptionStart: String(input.eventsSinceSubscriptionStart),
    ...((input.events ?? []).length > 0
      ? {
          notificationEvent: (input.events ?? []).map((event) => ({
            eventNumber: String(event.eventNumber),
            timestamp: event.timestamp,
            ...(input.content === 'empty'
              ? {}
              : { focus: { reference: focusUrl(input.fhirBaseUrl, event.focus) } }),
          })),
        }
      : {}),
    subscription: { reference: `${input.fhirBaseUrl}/Subscription/${input.subscriptionId}` },
    ...(input.topic ? { topic: input.topic } : {}),
    ...((input.errors ?? []).length > 0 ? { error: input.errors } : {}),
  };
}

function focusEntries(input: RenderNotificationInput): BundleEntry[] {
  if (input.content === 'empty') {
    return [];
  }
  const entries: BundleEntry[] = [];
  const seen = new Set<string>();
  for (const event of input.events ?? []) {
    const fullUrl = focusUrl(input.fhirBaseUrl, event.focus);
    const key = `${fullUrl}|${event.focus.versionId ?? ''}`;
    if (seen.has(key)) {
      continue;
    }
    seen.add(key);
    const created = event.interaction === 'create';
    const request = {
      method: created ? ('POST' as const) : ('PUT' as const),
      url: created ? event.focus.resourceType : `${event.focus.resourceType}/${event.focus.id}`,
    };
    const response = {
      status: created ? '201' : '200',
      ...(event.focus.versionId ? { etag: `W/"${event.focus.versionId}"` } : {}),
      ...(event.resource?.meta?.lastUpdated ? { lastModified: event.resource.meta.lastUpdated } : {}),
    };
    if (input.content === 'full-resource' && event.resource) {
      entries.push({ fullUrl, resource: event.resource, request, response });
    } else {
      entries.push({ fullUrl, request, response });
    }
  }
  return entries;
}

/**
 * A notification (handshake, heartbeat, event-notification, query-event) or a `$status` answer
 * (query-status: a searchset Bundle holding only the status).
 */
export function renderNotification(input: RenderNotificationInput): Bundle {
  const newId = input.newId ?? randomUUID;
  const statusId = newId();
  if (input.type === 'query-status') {
    return {
      resourceType: 'Bundle',
      id: newId(),
      type: 'searchset',
      timestamp: input.timestamp,
      total: 1,
      entry: [
        {
          fullUrl: `urn:uuid:${statusId}`,
          resource: renderStatusParameters(input, statusId),
          search: { mode: 'match' },
        },
      ],
    };
  }
  if (input.shape === 'r5') {
    return {
      resourceType: 'Bundle',
      id: newId(),
      type: 'subscription-notification',
      timestamp: input.timestamp,
      entry: [
        {
          fullUrl: `urn:uuid:${statusId}`,
          resource: renderSubscriptionStatusR5(input, statusId) as unknown as Resource,
        },
        ...focusEntries(input),
      ],
    } as unknown as Bundle;
  }
  return {
    resourceType: 'Bundle',
    id: newId(),
    meta: { profile: [BACKPORT_NOTIFICATION_PROFILE] },
    type: 'history',
    timestamp: input.timestamp,
    entry: [
      {
        fullUrl: `urn:uuid:${statusId}`,
        resource: renderStatusParameters(input, statusId),
        request: { method: 'GET', url: `${input.fhirBaseUrl}/Subscription/${input.subscriptionId}/$status` },
        response: { status: '200' },
      },
      ...focusEntries(input),
    ],
  };
}
