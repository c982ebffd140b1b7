/**
 * The R4 Subscriptions Backport status: a Parameters profiled as backport-subscription-status-r4
 * [IG-STATUS], with its `notification-event` parameters.
 *
 * - [IG-STATUS] https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-backport-subscription-status-r4.html
 */
import type { NotificationEvent, StatusFields } from '../notification.ts';
import type { JsonObject } from './json.ts';
import { fail, optional, own } from './json.ts';
import type { Named } from './values.ts';
import {
  atMostOne,
  codesOf,
  countValue,
  groupByName,
  notificationType,
  optionalReference,
  requiredReference,
  stringValue,
  subscriptionIdOf,
} from './values.ts';

/** value[x] names accepted for `notification-event.timestamp`: valueInstant per profile; HAPI writes valueDate. */
const TIMESTAMP_VALUE_KEYS = ['valueInstant', 'valueDateTime', 'valueDate'] as const;

/** R4 backport status: a Parameters profiled as backport-subscription-status-r4 [IG-STATUS]. */
export function parseParametersStatus(parameters: JsonObject, base: string): StatusFields {
  const list = own(parameters, 'parameter');
  if (!Array.isArray(list)) {
    fail(`${base}.parameter is missing: the status Parameters has no parameters`, `${base}.parameter`);
  }
  const byName = groupByName(list, `${base}.parameter`, 'parameter');
  const single = (name: string): Named | undefined => atMostOne(byName, name, 'parameter');

  const subscriptionParam = single('subscription');
  if (!subscriptionParam) {
    fail(`Missing 'subscription' parameter in the status Parameters`, `${base}.parameter`);
  }
  const subscription = requiredReference(
    own(subscriptionParam.value, 'valueReference'),
    `Parameter 'subscription' needs valueReference.reference`,
    `${subscriptionParam.where}.valueReference`,
  );

  const typeParam = single('type');
  if (!typeParam) {
    fail(`Missing 'type' parameter in the status Parameters`, `${base}.parameter`);
  }
  const type = notificationType(
    stringValue(typeParam, ['valueCode', 'valueString'], `Parameter 'type'`),
    `${typeParam.where}.valueCode`,
  );

  const topicParam = single('topic');
  const statusParam = single('status');
  const countParam = single('events-since-subscription-start');

  const events = (byName.get('notification-event') ?? []).map((param, index) =>
    parseBackportEvent(param, index),
  );
  const errors = (byName.get('error') ?? []).flatMap((param) =>
    codesOf(own(param.value, 'valueCodeableConcept'), `${param.where}.valueCodeableConcept`),
  );

  return {
    type,
    subscription,
    subscriptionId: subscriptionIdOf(subscription, `${subscriptionParam.where}.valueReference.reference`),
    ...optional(
      'topic',
      topicParam && stringValue(topicParam, ['valueCanonical', 'valueUri'], `Parameter 'topic'`),
    ),
    ...optional(
      'status',
      statusParam && stringValue(statusParam, ['valueCode', 'valueString'], `Parameter 'status'`),
    ),
    ...optional(
      'eventsSinceSubscriptionStart',
      countParam && countValue(countParam, `Parameter 'events-since-subscription-start'`),
    ),
    events,
    errors,
  };
}

/** One `notification-event` parameter: parts event-number (1..1), timestamp, focus, additional-context. */
function parseBackportEvent(param: Named, index: number): NotificationEvent {
  const label = `notification-event[${index}]`;
  const parts = own(param.value, 'part');
  if (!Array.isArray(parts)) {
    fail(`${label} has no parts: event-number is required`, `${param.where}.part`);
  }
  const byName = groupByName(parts, `${param.where}.part`, `${label} part`);
  const eventNumberPart = atMostOne(byName, 'event-number', `${label} part`);
  if (!eventNumberPart) {
    // 1..1 in backport-subscription-status-r4 [IG-STATUS].
    fail(`${label} is missing event-number (required in the backport status profile)`, `${param.where}.part`);
  }
  const timestampPart = atMostOne(byName, 'timestamp', `${label} part`);
  const focusPart = atMostOne(byName, 'focus', `${label} part`);
  const additionalContext = (byName.get('additional-context') ?? []).flatMap((part) => {
    const reference = optionalReference(own(part.value, 'valueReference'), `${part.where}.valueReference`);
    return reference === undefined ? [] : [reference];
  });
  return {
    eventNumber: countValue(eventNumberPart, `${label} event-number`),
    ...optional(
      'timestamp',
      timestampPart && stringValue(timestampPart, TIMESTAMP_VALUE_KEYS, `${label} timestamp`),
    ),
    ...optional(
      'focus',
      focusPart &&
        optionalReference(own(focusPart.value, 'valueReference'), `${focusPart.where}.valueReference`),
    ),
    additionalContext,
  };
}
