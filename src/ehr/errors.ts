/**
 * What a call to an EHR (or a payer's FHIR server) can fail with: each error says whether it is
 * retryable, and carries the connection and the request (METHOD and path, never the query string,
 * which may hold PHI) but never a token.
 */
import { EhrError, ehrOutcome } from './token-provider.ts';

export { EhrError, EhrTokenError } from './token-provider.ts';

interface EhrHttpDetails {
  readonly connectionId: string;
  readonly status?: number;
  /** The request, as METHOD and path relative to the FHIR base, without the query string. */
  readonly request: string;
  readonly cause?: unknown;
}

function errorOptions(cause: unknown): ErrorOptions | undefined {
  return cause === undefined ? undefined : { cause };
}

/** 404 or 410 (`gone`). Terminal: the resource is not there (deleted, or never existed). */
export class EhrNotFoundError extends EhrError {
  readonly connectionId: string;
  readonly status: 404 | 410;
  readonly gone: boolean;
  readonly request: string;
  constructor(details: EhrHttpDetails & { status: 404 | 410 }) {
    super(
      ehrOutcome(
        details.status === 410 ? 'deleted' : 'not-found',
        `EHR ${details.connectionId} answered ${details.status} to ${details.request}`,
      ),
      false,
    );
    this.name = 'EhrNotFoundError';
    this.connectionId = details.connectionId;
    this.status = details.status;
    this.gone = details.status === 410;
    this.request = details.request;
  }
}

/** 403: the client is not allowed (scopes, consent, EHR policy). Terminal until someone changes that. */
export class EhrForbiddenError extends EhrError {
  readonly connectionId: string;
  readonly status = 403;
  readonly request: string;
  readonly outcomeText?: string;
  constructor(details: EhrHttpDetails & { outcomeText?: string }) {
    super(
      ehrOutcome(
        'forbidden',
        `EHR ${details.connectionId} answered 403 to ${details.request}${suffix(details.outcomeText)}`,
      ),
      false,
    );
    this.name = 'EhrForbiddenError';
    this.connectionId = details.connectionId;
    this.request = details.request;
    if (details.outcomeText !== undefined) {
      this.outcomeText = details.outcomeText;
    }
  }
}

/** Any other refusal (400, 409, 412, 422, a second 401, a malformed answer ...). Terminal. */
export class EhrRequestError extends EhrError {
  readonly connectionId: string;
  /** HTTP status; 0 when the answer was unusable although successful (e.g. not JSON). */
  readonly status: number;
  readonly request: string;
  /** The text of the EHR's OperationOutcome, when it sent one. */
  readonly outcomeText?: string;
  constructor(details: EhrHttpDetails & { status: number; outcomeText?: string; message?: string }) {
    super(
      ehrOutcome(
        'processing',
        details.message ??
          `EHR ${details.connectionId} answered ${details.status} to ${details.request}${suffix(details.outcomeText)}`,
      ),
      false,
      errorOptions(details.cause),
    );
    this.name = 'EhrRequestError';
    this.connectionId = details.connectionId;
    this.status = details.status;
    this.request = details.request;
    if (details.outcomeText !== undefined) {
      this.outcomeText = details.outcomeText;
    }
  }
}

/** Retries exhausted (or Retry-After too long) on 429/5xx/network/timeout. Retryable later. */
export class EhrUnavailableError extends EhrError {
  readonly connectionId: string;
  /** Last HTTP status seen; absent for network errors and timeouts. */
  readonly status?: number;
  readonly attempts: number;
  readonly request: string;
  /** What the EHR asked for in its last Retry-After, when it sent one. */
  readonly retryAfterMs?: number;
  constructor(details: EhrHttpDetails & { attempts: number; retryAfterMs?: number; reason: string }) {
    super(
      ehrOutcome(
        'transient',
        `EHR ${details.connectionId} unavailable for ${details.request} after ${details.attempts} attempt(s): ${details.reason}`,
      ),
      true,
      errorOptions(details.cause),
    );
    this.name = 'EhrUnavailableError';
    this.connectionId = details.connectionId;
    this.attempts = details.attempts;
    this.request = details.request;
    if (details.status !== undefined) {
      this.status = details.status;
    }
    if (details.retryAfterMs !== undefined) {
      this.retryAfterMs = details.retryAfterMs;
    }
  }
}

/**
 * An absolute URL outside the connection's FHIR base (or not a FHIR reference at all). No request
 * was made. Terminal.
 */
export class ForeignReferenceError extends EhrError {
  readonly connectionId: string;
  constructor(connectionId: string, reason: string) {
    super(ehrOutcome('security', `EHR ${connectionId}: refusing to follow ${reason}`), false);
    this.name = 'ForeignReferenceError';
    this.connectionId = connectionId;
  }
}

function suffix(text: string | undefined): string {
  return text === undefined || text === '' ? '' : `: ${text}`;
}
