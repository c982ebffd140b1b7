/**
 * Guarded reading of an untrusted notification body and the parser's one failure path: every read
 * goes through `own` (own properties only) and a `typeof` check, every failure through `fail`
 * (an OperationOutcomeError(badRequest) with a FHIRPath-ish location), and messages quote the
 * body only through `show` (primitives, truncated), never whole.
 */
import { badRequest, OperationOutcomeError } from '@medplum/core';
import { findForbiddenKey } from '../../http/json-body.ts';

export type JsonObject = Record<string, unknown>;

/** Parses body text that must be a JSON object (a leading byte-order mark is tolerated). */
export function parseJsonObject(body: string): JsonObject {
  let json: unknown;
  try {
    json = JSON.parse(body.startsWith('\uFEFF') ? body.slice(1) : body);
  } catch {
    // The SyntaxError text quotes the body, which may be PHI: say only what is wrong.
    fail('Malformed JSON body');
  }
  if (!isObject(json)) {
    fail(`Notification body must be a JSON object, not ${describe(json)}`);
  }
  const forbidden = findForbiddenKey(json);
  if (forbidden !== undefined) {
    fail(`Forbidden property name "${forbidden}"`);
  }
  return json;
}

export function header(headers: JsonObject, name: string): string | undefined {
  const value = own(headers, name);
  if (typeof value !== 'string') {
    return undefined;
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** `{ key: value }` when value is defined, `{}` otherwise (keeps absent fields absent). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only: a hostile body must not reach anything on Object.prototype. */
export function own(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function isBlank(body: string): boolean {
  return /^\s*$/.test(body);
}

/** A short, safe rendering of an untrusted value for messages (primitives only; strings truncated). */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  return describe(value);
}

function describe(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  if (value === null) {
    return 'null';
  }
  if (typeof value === 'object') {
    return 'an object';
  }
  return typeof value === 'string' ? `a ${show(value)}` : `a ${typeof value}`;
}

export function fail(message: string, expression?: string): never {
  throw new OperationOutcomeError(badRequest(message, expression));
}
