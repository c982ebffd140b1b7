/**
 * The pure notification parser: one HTTP request (method, path target, headers, raw body text) in,
 * one normalized `ParsedNotification` out (model in ./notification.ts), or an
 * `OperationOutcomeError(badRequest(...))` saying precisely what is wrong. No I/O, no clock, no
 * global state; nothing but OperationOutcomeError is ever thrown for bad input, and every value read
 * from the body is checked with `typeof` guards first (the body is attacker-controlled until the
 * caller has authenticated the sender, and even then it is untrusted data).
 *
 * Shape detection (../shared/research/subscriptions-smart.md §1 and the §2 feature table):
 *
 * | request                                                    | result                              |
 * | ---------------------------------------------------------- | ----------------------------------- |
 * | POST, empty or whitespace-only body                        | `ping` (HAPI classic, no payload)   |
 * | POST Bundle `history` / `subscription-notification` /      | `backport` when the first entry is  |
 * |   `searchset` (what `$status` returns)                     | a Parameters, `r5` when it is a     |
 * |                                                            | SubscriptionStatus                  |
 * | POST any other Bundle (transaction, batch, document, ...)  | 400 unsupported notification shape  |
 * | POST another resource                                      | `classic` (Medplum rest-hook)       |
 * | POST `{}` + X-Medplum-Deleted-Resource                     | `classic` delete (Medplum)          |
 * | PUT {Type}/{id} + resource body                            | `classic` (HAPI, payload set)       |
 * | DELETE {Type}/{id}                                         | `classic` delete (HAPI)             |
 *
 * The parts, in ./notification-parser/: topic-bundle.ts (the Bundle around a topic-based status),
 * backport-status.ts (R4 backport Parameters), subscription-status.ts (R4B/R5 SubscriptionStatus),
 * classic.ts (classic rest-hook bodies, PUTs and DELETEs), values.ts (FHIR element readers),
 * json.ts (guarded reads and the one failure path), resource-types.ts (the type names).
 *
 * Specifications cited in the parts:
 * - [IG-NOTIF] Subscriptions R5 Backport IG, Notifications:
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html
 * - [IG-STATUS] backport-subscription-status-r4 profile:
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-backport-subscription-status-r4.html
 * - [IG-PAYLOAD] Payload types (empty / id-only / full-resource):
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/payloads.html
 * - [IG-OPS] `$status` operation (returns a searchset of status Parameters):
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-status.html
 * - [R4B-SS] https://hl7.org/fhir/R4B/subscriptionstatus.html (eventNumber and
 *   eventsSinceSubscriptionStart are `string`)
 * - [R5-SS] https://hl7.org/fhir/R5/subscriptionstatus.html (they are `integer64`, a JSON string)
 * - [R4-SUB] Classic rest-hook: https://hl7.org/fhir/R4/subscription.html#2.46.7.1
 */
import type { NotificationRequest, ParsedNotification, PingNotification } from './notification.ts';
import {
  parseClassicResource,
  parseDelete,
  parseMedplumDelete,
  parsePut,
  subscriptionHeader,
} from './notification-parser/classic.ts';
import type { JsonObject } from './notification-parser/json.ts';
import { fail, isBlank, isObject, own, parseJsonObject, show } from './notification-parser/json.ts';
import { parseTopicBundle } from './notification-parser/topic-bundle.ts';

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/**
 * Parses one notification request. Throws OperationOutcomeError(badRequest) — and nothing else —
 * for anything malformed, unknown or inconsistent.
 */
export function parseNotification(req: NotificationRequest): ParsedNotification {
  if (!isObject(req)) {
    fail('Notification request is missing');
  }
  const headers: JsonObject = isObject(req.headers) ? req.headers : {};
  const body = typeof req.body === 'string' ? req.body : '';
  switch (req.method) {
    case 'POST':
      return parsePost(body, headers);
    case 'PUT':
      return parsePut(req.pathTarget, body, headers);
    case 'DELETE':
      return parseDelete(req.pathTarget, headers);
    default:
      return fail(`Unsupported notification method ${show(req.method)}: expected POST, PUT or DELETE`);
  }
}

// ---------------------------------------------------------------------------------------------
// POST: ping, topic-based Bundle, or classic resource body
// ---------------------------------------------------------------------------------------------

function parsePost(body: string, headers: JsonObject): ParsedNotification {
  // HAPI classic rest-hook without `channel.payload` POSTs an empty body: "something changed".
  if (isBlank(body)) {
    const subscriptionId = subscriptionHeader(headers);
    const ping: PingNotification = { shape: 'ping', ...(subscriptionId ? { subscriptionId } : {}) };
    return ping;
  }
  const json = parseJsonObject(body);
  const resourceType = own(json, 'resourceType');
  if (resourceType === undefined) {
    // Medplum deletes: body `{}`, X-Medplum-Interaction: delete, X-Medplum-Deleted-Resource: Type/id.
    return parseMedplumDelete(headers, subscriptionHeader(headers));
  }
  if (typeof resourceType !== 'string') {
    fail('resourceType must be a string', 'resourceType');
  }
  if (resourceType === 'Bundle') {
    return parseTopicBundle(json);
  }
  if (resourceType === 'Parameters' || resourceType === 'SubscriptionStatus') {
    fail(
      `Unsupported notification shape: a bare ${resourceType}; a subscription status must be the first entry of a notification Bundle`,
      'resourceType',
    );
  }
  // Topic-based notifications name their subscription in the status; only classic bodies use the header.
  return parseClassicResource(json, headers, subscriptionHeader(headers));
}
