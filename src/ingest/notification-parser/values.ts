/**
 * Readers of the FHIR elements a notification is made of (Parameters parameters and parts,
 * value[x], counters, references, codes), each checking what it reads and failing with the
 * element's location.
 */
import type { NotificationType } from '../notification.ts';
import type { JsonObject } from './json.ts';
import { fail, isObject, own, show } from './json.ts';

const NOTIFICATION_TYPES: ReadonlySet<string> = new Set<NotificationType>([
  'handshake',
  'heartbeat',
  'event-notification',
  'query-status',
  'query-event',
]);

/** FHIR `id` datatype: https://hl7.org/fhir/R4/datatypes.html#id */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** value[x] names accepted for backport counters: the profile says valueString [IG-STATUS]; real senders use integers. */
const COUNT_VALUE_KEYS = [
  'valueString',
  'valueInteger64',
  'valueUnsignedInt',
  'valuePositiveInt',
  'valueInteger',
  'valueDecimal',
] as const;

/**
 * The Subscription's logical id from a reference as sent: the last path segment, after dropping any
 * `?query`/`#fragment` and a trailing `/_history/{vid}`. Works for absolute URLs
 * (`https://ehr/fhir/Subscription/123`) and relative references (`Subscription/123`). Returns
 * undefined unless the reference ends in `Subscription/{FHIR id}`.
 */
export function subscriptionIdFromReference(reference: string): string | undefined {
  const path = (reference.split(/[?#]/, 1)[0] ?? '').replace(/\/_history(\/[^/]*)?\/?$/, '');
  const segments = path.split('/');
  const id = segments.at(-1);
  const type = segments.at(-2);
  return type === 'Subscription' && id !== undefined && FHIR_ID.test(id) ? id : undefined;
}

/** A parameter or part with its name, value object and FHIRPath-ish location. */
export interface Named {
  readonly value: JsonObject;
  readonly where: string;
}

/** Groups Parameters.parameter / parameter.part entries by name; each must be an object with a string name. */
export function groupByName(list: unknown[], base: string, label: string): Map<string, Named[]> {
  const byName = new Map<string, Named[]>();
  list.forEach((value: unknown, index) => {
    const where = `${base}[${index}]`;
    if (!isObject(value)) {
      fail(`${label} ${index} must be an object`, where);
    }
    const name = own(value, 'name');
    if (typeof name !== 'string') {
      fail(`${label} ${index} has no name`, `${where}.name`);
    }
    const group = byName.get(name);
    if (group) {
      group.push({ value, where });
    } else {
      byName.set(name, [{ value, where }]);
    }
  });
  return byName;
}

export function atMostOne(byName: Map<string, Named[]>, name: string, label: string): Named | undefined {
  const group = byName.get(name);
  if (group && group.length > 1) {
    fail(`${label} '${name}' appears ${group.length} times; at most one is allowed`, group[1]?.where);
  }
  return group?.[0];
}

/** The first present value[x] of the given names, which must be a non-empty string. */
export function stringValue(named: Named, keys: readonly string[], label: string): string {
  for (const key of keys) {
    const value = own(named.value, key);
    if (value !== undefined) {
      if (typeof value !== 'string' || value === '') {
        fail(`${label} ${key} must be a non-empty string`, `${named.where}.${key}`);
      }
      return value;
    }
  }
  return fail(`${label} needs one of ${keys.join(', ')}`, named.where);
}

/** A backport counter (events-since-subscription-start, event-number) from any accepted value[x]. */
export function countValue(named: Named, label: string): number {
  for (const key of COUNT_VALUE_KEYS) {
    const value = own(named.value, key);
    if (value !== undefined) {
      return toCount(value, `${label} ${key}`, `${named.where}.${key}`);
    }
  }
  return fail(`${label} needs a value (valueString or an integer value[x])`, named.where);
}

/**
 * A non-negative safe integer from a JSON number (integer-valued; a decimal without fraction parses
 * to one) or a string of decimal digits (backport valueString, R4B string, R5 integer64).
 */
export function toCount(value: unknown, label: string, expression?: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    return value === 0 ? 0 : value; // normalizes -0
  }
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) {
      return n;
    }
  }
  return fail(`${label} must be a non-negative safe integer, got ${show(value)}`, expression ?? label);
}

export function notificationType(value: unknown, expression: string): NotificationType {
  if (typeof value === 'string' && NOTIFICATION_TYPES.has(value)) {
    return value as NotificationType;
  }
  return fail(
    `Unknown notification type ${show(value)}: expected handshake, heartbeat, event-notification, query-status or query-event`,
    expression,
  );
}

/** An optional string element of a SubscriptionStatus (or its notificationEvent). */
export function optionalString(
  obj: JsonObject,
  key: string,
  label: string,
  base: string,
): string | undefined {
  const value = own(obj, key);
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    fail(`${label}.${key} must be a non-empty string`, `${base}.${key}`);
  }
  return value;
}

/** Reference.reference of a required reference. */
export function requiredReference(value: unknown, message: string, expression: string): string {
  return optionalReference(value, expression) ?? fail(message, expression);
}

/**
 * Reference.reference, or undefined when the Reference has none (an identifier-only or
 * display-only Reference is legal FHIR; the receiver then treats the event like `empty` content).
 */
export function optionalReference(value: unknown, expression: string): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!isObject(value)) {
    fail(`${expression} must be a Reference object`, expression);
  }
  const reference = own(value, 'reference');
  if (reference === undefined) {
    return undefined;
  }
  if (typeof reference !== 'string' || reference === '') {
    fail(`${expression}.reference must be a non-empty string`, `${expression}.reference`);
  }
  return reference;
}

export function subscriptionIdOf(reference: string, expression: string): string {
  return (
    subscriptionIdFromReference(reference) ??
    fail(`Subscription reference ${show(reference)} does not end in Subscription/{id}`, expression)
  );
}

/** Codes of a CodeableConcept (`coding[].code`; its `text` when it has no code). */
export function codesOf(concept: unknown, expression: string): string[] {
  if (!isObject(concept)) {
    fail(`${expression} must be a CodeableConcept`, expression);
  }
  const coding = own(concept, 'coding');
  if (coding !== undefined && !Array.isArray(coding)) {
    fail(`${expression}.coding must be an array`, `${expression}.coding`);
  }
  const codes = (coding ?? []).flatMap((c: unknown) => {
    const code = isObject(c) ? own(c, 'code') : undefined;
    return typeof code === 'string' && code !== '' ? [code] : [];
  });
  const text = own(concept, 'text');
  return codes.length === 0 && typeof text === 'string' && text !== '' ? [text] : codes;
}
