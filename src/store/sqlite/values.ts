/** Small value helpers shared by the SQLite adapter modules. */
import { badRequest, OperationOutcomeError } from '@medplum/core';

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
const RESOURCE_TYPE_PATTERN = /^[A-Z][A-Za-z]{0,63}$/;
const CANONICAL_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export function assertValidId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new OperationOutcomeError(badRequest(`Invalid resource id: ${JSON.stringify(id) ?? 'undefined'}`));
  }
}

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export function assertValidResourceType(resourceType: unknown): asserts resourceType is string {
  if (typeof resourceType !== 'string' || !RESOURCE_TYPE_PATTERN.test(resourceType)) {
    throw new OperationOutcomeError(badRequest('Missing or invalid resourceType'));
  }
}

/**
 * The canonical form every instant is stored and compared in: `YYYY-MM-DDTHH:mm:ss.sssZ`, which
 * orders lexicographically like time. Returns undefined for an unparseable value.
 */
export function canonicalInstant(value: string): string | undefined {
  if (CANONICAL_INSTANT.test(value)) {
    return value;
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    return undefined;
  }
  const iso = new Date(ms).toISOString();
  // Years outside 0000-9999 serialize as +/-YYYYYY and would not sort lexicographically.
  return CANONICAL_INSTANT.test(iso) ? iso : undefined;
}

/** canonicalInstant, or 400 for a caller-supplied value. */
export function requireInstant(value: string, what: string): string {
  const canonical = canonicalInstant(value);
  if (canonical === undefined) {
    throw new OperationOutcomeError(badRequest(`Invalid ${what}: ${value}`));
  }
  return canonical;
}

/**
 * Exclusive upper bound of the strings that start with `prefix` under SQLite's BINARY collation
 * (UTF-8 byte order = code point order): the prefix with its last code point incremented.
 * Returns undefined when no such bound exists (empty prefix or last code point U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = Array.from(prefix);
  const last = codePoints.pop();
  if (last === undefined) {
    return undefined;
  }
  let next = (last.codePointAt(0) ?? 0) + 1;
  if (next >= 0xd800 && next <= 0xdfff) {
    next = 0xe000; // skip the surrogate range, which has no UTF-8 encoding
  }
  if (next > 0x10ffff) {
    return undefined;
  }
  return codePoints.join('') + String.fromCodePoint(next);
}
