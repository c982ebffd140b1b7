/**
 * The R4B/R5 status: a SubscriptionStatus resource [R4B-SS] [R5-SS], whose counters are strings
 * (R4B) or integer64 (R5, a JSON string).
 *
 * - [R4B-SS] https://hl7.org/fhir/R4B/subscriptionstatus.html
 * - [R5-SS] https://hl7.org/fhir/R5/subscriptionstatus.html
 */
import type { NotificationEvent, StatusFields } from '../notification.ts';
import type { JsonObject } from './json.ts';
import { fail, isObject, optional, own } from './json.ts';
import {
  codesOf,
  notificationType,
  optionalReference,
  optionalString,
  requiredReference,
  subscriptionIdOf,
  toCount,
} from './values.ts';

/** R4B/R5 status: a SubscriptionStatus resource [R4B-SS] [R5-SS]. */
export function parseSubscriptionStatus(status: JsonObject, base: string): StatusFields {
  const subscription = requiredReference(
    own(status, 'subscription'),
    'SubscriptionStatus.subscription.reference is missing',
    `${base}.subscription`,
  );
  const rawType = own(status, 'type');
  if (rawType === undefined) {
    fail('SubscriptionStatus.type is missing', `${base}.type`);
  }
  const type = notificationType(rawType, `${base}.type`);
  const topic = optionalString(status, 'topic', 'SubscriptionStatus', base);
  const statusCode = optionalString(status, 'status', 'SubscriptionStatus', base);
  const rawCount = own(status, 'eventsSinceSubscriptionStart');

  const rawEvents = own(status, 'notificationEvent');
  if (rawEvents !== undefined && !Array.isArray(rawEvents)) {
    fail('SubscriptionStatus.notificationEvent must be an array', `${base}.notificationEvent`);
  }
  const events = (rawEvents ?? []).map((event: unknown, index): NotificationEvent => {
    const where = `${base}.notificationEvent[${index}]`;
    if (!isObject(event)) {
      fail(`SubscriptionStatus.notificationEvent[${index}] must be an object`, where);
    }
    const eventNumber = own(event, 'eventNumber');
    if (eventNumber === undefined) {
      // 1..1 in both R4B (string) and R5 (integer64).
      fail(`SubscriptionStatus.notificationEvent[${index}].eventNumber is missing`, `${where}.eventNumber`);
    }
    const context = own(event, 'additionalContext');
    if (context !== undefined && !Array.isArray(context)) {
      fail(
        `SubscriptionStatus.notificationEvent[${index}].additionalContext must be an array`,
        `${where}.additionalContext`,
      );
    }
    return {
      eventNumber: toCount(eventNumber, `SubscriptionStatus.notificationEvent[${index}].eventNumber`),
      ...optional(
        'timestamp',
        optionalString(event, 'timestamp', `SubscriptionStatus.notificationEvent[${index}]`, where),
      ),
      ...optional('focus', optionalReference(own(event, 'focus'), `${where}.focus`)),
      additionalContext: (context ?? []).flatMap((ref: unknown, i) => {
        const reference = optionalReference(ref, `${where}.additionalContext[${i}]`);
        return reference === undefined ? [] : [reference];
      }),
    };
  });

  const rawErrors = own(status, 'error');
  if (rawErrors !== undefined && !Array.isArray(rawErrors)) {
    fail('SubscriptionStatus.error must be an array', `${base}.error`);
  }
  const errors = (rawErrors ?? []).flatMap((concept: unknown, i) => codesOf(concept, `${base}.error[${i}]`));

  return {
    type,
    subscription,
    subscriptionId: subscriptionIdOf(subscription, `${base}.subscription.reference`),
    ...optional('topic', topic),
    ...optional('status', statusCode),
    ...optional(
      'eventsSinceSubscriptionStart',
      rawCount === undefined
        ? undefined
        : toCount(rawCount, 'SubscriptionStatus.eventsSinceSubscriptionStart'),
    ),
    events,
    errors,
  };
}
