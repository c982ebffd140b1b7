/**
 * Reading a failed call: Retry-After, the backoff schedule, and what kind of failure fhir-kit-client
 * or fetch reported (an HTTP answer with its OperationOutcome, a refused or broken connection, a
 * timeout). Pure functions; the retry policy that uses them is in ehr-client.ts.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10_000;

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) {
    return undefined;
  }
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number(trimmed) * 1000;
  }
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) {
    return undefined;
  }
  return Math.max(0, date - now.getTime());
}

/** Delay after `failures` failed attempts: 0.5 s, 1 s, 2 s ... capped at 10 s, half of it jittered. */
export function backoffMs(failures: number, random: number): number {
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(Math.max(failures - 1, 0), 20));
  return Math.round(base / 2 + (base / 2) * random);
}

/** The shape of fhir-kit-client's HTTP errors (http-client.js buildResponseError). */
export interface KitHttpError {
  response: { status: number; data: unknown };
  config: { headers?: unknown };
}

export function isKitHttpError(err: unknown): err is KitHttpError {
  if (!(err instanceof Error)) {
    return false;
  }
  const response = (err as Partial<KitHttpError>).response;
  return typeof response === 'object' && response !== null && typeof response.status === 'number';
}

export function retryAfterHeader(err: KitHttpError): string | null {
  const headers = err.config.headers;
  return headers instanceof Headers ? headers.get('retry-after') : null;
}

export function outcomeTextOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) {
    return undefined;
  }
  const outcome = data as Partial<OperationOutcome>;
  if (outcome.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) {
    return undefined;
  }
  const texts = outcome.issue
    .map((issue) => issue.details?.text ?? issue.diagnostics)
    .filter((t): t is string => typeof t === 'string' && t !== '');
  return texts.length > 0 ? texts.join('; ').slice(0, 500) : undefined;
}

/** fetch rejects with TypeError('fetch failed', { cause }) when the connection fails or breaks. */
export function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError && (err.message === 'fetch failed' || err.cause !== undefined);
}

export function isConnectionRefused(err: unknown): boolean {
  if (!(err instanceof TypeError)) {
    return false;
  }
  const cause: unknown = err.cause;
  return typeof cause === 'object' && cause !== null && (cause as { code?: unknown }).code === 'ECONNREFUSED';
}

export function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
}
