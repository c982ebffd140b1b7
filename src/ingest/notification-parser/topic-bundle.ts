/**
 * Topic-based notification Bundles [IG-NOTIF]: a `history` (R4 backport, R4B),
 * `subscription-notification` (R5) or `$status` `searchset` [IG-OPS] Bundle whose first entry is
 * the subscription status — a Parameters (`backport`, ./backport-status.ts) or a
 * SubscriptionStatus (`r5`, ./subscription-status.ts) — and whose other entries carry the
 * resources of full-resource payloads [IG-PAYLOAD].
 *
 * - [IG-NOTIF] https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html
 * - [IG-OPS] https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-status.html
 * - [IG-PAYLOAD] https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/payloads.html
 */
import type { Resource } from '@medplum/fhirtypes';
import type { StatusFields, TopicNotification } from '../notification.ts';
import { parseParametersStatus } from './backport-status.ts';
import type { JsonObject } from './json.ts';
import { fail, isObject, own, show } from './json.ts';
import { parseSubscriptionStatus } from './subscription-status.ts';

/** Bundle types that carry a subscription status as their first entry. */
const NOTIFICATION_BUNDLE_TYPES: ReadonlySet<string> = new Set([
  'history', // R4 backport [IG-NOTIF] and R4B
  'subscription-notification', // R5
  'searchset', // the body `$status` returns [IG-OPS]
]);

export function parseTopicBundle(bundle: JsonObject): TopicNotification {
  const bundleType = own(bundle, 'type');
  if (typeof bundleType !== 'string') {
    fail(
      'Bundle.type is missing: a notification Bundle is a history or subscription-notification Bundle',
      'Bundle.type',
    );
  }
  if (!NOTIFICATION_BUNDLE_TYPES.has(bundleType)) {
    // A transaction/batch/document/... Bundle is not a notification, and treating it as a classic
    // "changed resource" body would be ambiguous at best (Dripline never subscribes to Bundles).
    fail(
      `Unsupported notification shape: Bundle.type ${show(bundleType)}; expected history, subscription-notification or a $status searchset`,
      'Bundle.type',
    );
  }
  const entries = own(bundle, 'entry');
  if (entries === undefined || (Array.isArray(entries) && entries.length === 0)) {
    fail(
      'Notification Bundle has no entries: the subscription status must be the first entry',
      'Bundle.entry',
    );
  }
  if (!Array.isArray(entries)) {
    fail('Bundle.entry must be an array', 'Bundle.entry');
  }
  const first: unknown = entries[0];
  if (!isObject(first)) {
    fail('Bundle.entry[0] must be an object', 'Bundle.entry[0]');
  }
  // The status entry's request/response are deliberately not checked: the IG requires them
  // (history Bundle rules bdl-3/bdl-4) but real senders leave them out, and they carry nothing we use.
  const status = own(first, 'resource');
  const statusType = isObject(status) ? own(status, 'resourceType') : undefined;
  let fields: StatusFields;
  let shape: TopicNotification['shape'];
  if (isObject(status) && statusType === 'Parameters') {
    shape = 'backport';
    fields = parseParametersStatus(status, 'Bundle.entry[0].resource');
  } else if (isObject(status) && statusType === 'SubscriptionStatus') {
    shape = 'r5';
    fields = parseSubscriptionStatus(status, 'Bundle.entry[0].resource');
  } else {
    const found = !isObject(status)
      ? 'an entry without a resource'
      : typeof statusType === 'string'
        ? `a ${show(statusType)}`
        : 'a resource without resourceType';
    fail(
      `Bundle.entry[0] must hold the subscription status (a Parameters for the R4 backport, a SubscriptionStatus for R4B/R5), not ${found}`,
      'Bundle.entry[0].resource',
    );
  }

  const resources: { fullUrl?: string; resource: Resource }[] = [];
  for (let i = 1; i < entries.length; i++) {
    const entry: unknown = entries[i];
    const where = `Bundle.entry[${i}]`;
    if (!isObject(entry)) {
      fail(`${where} must be an object`, where);
    }
    const resource = own(entry, 'resource');
    if (resource === undefined) {
      // id-only payloads, or full-resource entries the server could not fill: only fullUrl +
      // request/response; the receiver fetches the focus itself [IG-PAYLOAD].
      continue;
    }
    if (!isObject(resource) || typeof own(resource, 'resourceType') !== 'string') {
      fail(`${where}.resource has no resourceType`, `${where}.resource`);
    }
    const fullUrl = own(entry, 'fullUrl');
    if (fullUrl !== undefined && typeof fullUrl !== 'string') {
      fail(`${where}.fullUrl must be a string`, `${where}.fullUrl`);
    }
    if (bundleType === 'searchset' && isStatusResource(resource)) {
      // Type-level $status returns one status per Subscription; the model holds exactly one.
      fail(
        `$status searchset holds more than one subscription status (${where}); parse one Subscription's status at a time`,
        where,
      );
    }
    resources.push({ ...(fullUrl ? { fullUrl } : {}), resource: resource as unknown as Resource });
  }

  return { shape, ...fields, resources };
}

function isStatusResource(resource: JsonObject): boolean {
  const type = own(resource, 'resourceType');
  return type === 'Parameters' || type === 'SubscriptionStatus';
}
