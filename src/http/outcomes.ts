/**
 * The one error path: everything that goes wrong in a request ends here as an OperationOutcome
 * with the right status. Domain code throws OperationOutcomeError; only this module speaks HTTP.
 */
import { getStatus, isOperationOutcome, normalizeErrorString, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { fallbackChallenge } from './auth-errors.ts';
import { HttpError } from './http-error.ts';

export const FHIR_JSON = 'application/fhir+json';

export function outcome(
  code: NonNullable<OperationOutcome['issue']>[number]['code'],
  text: string,
  expression?: string,
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code, details: { text }, ...(expression ? { expression: [expression] } : {}) },
    ],
  };
}

export { HttpError };

export function sendOutcome(res: Response, status: number, body: OperationOutcome): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(body));
}

/** Status for an OperationOutcome thrown by @medplum/core helpers or by us. */
export function statusOf(body: OperationOutcome): number {
  if (body.id === 'method-not-allowed') {
    return 405;
  }
  if (body.id === 'unsupported-media-type') {
    return 415;
  }
  return getStatus(body);
}

interface BodyParserError {
  type?:
    | 'entity.too.large'
    | 'entity.parse.failed'
    | 'request.aborted'
    | 'request.size.invalid'
    | 'encoding.unsupported'
    | 'charset.unsupported'
    | (string & {});
  status?: number;
  expose?: boolean;
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendOutcome(res, 404, outcome('not-found', `No route for ${req.method} ${req.path}`));
};

/**
 * What an error answers: status, OperationOutcome and headers. Shared by the express error handler
 * below and the lean routes (./lean-route.ts), so every route answers the same error the same way.
 * A 401 or 403 always carries `WWW-Authenticate` (RFC 7235 §3.1, RFC 6750 §3): those made by
 * ./auth-errors.ts bring their own (in `headers`); one passed up bare by a library gets the realm's
 * challenge (`fallbackChallenge`, set unless the response already has one).
 */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: OperationOutcome;
  readonly headers: Readonly<Record<string, string>>;
  readonly fallbackChallenge?: string;
}

function errorOutcome(
  status: number,
  body: OperationOutcome,
  headers: Readonly<Record<string, string>> = {},
): ErrorAnswer {
  const fallback = fallbackChallenge(status);
  return { status, body, headers, ...(fallback !== undefined ? { fallbackChallenge: fallback } : {}) };
}

export function errorAnswer(
  err: unknown,
  log: { error: (obj: object, msg: string) => void },
  path: string,
): ErrorAnswer {
  if (err instanceof HttpError) {
    // Includes every 401/403 (./auth-errors.ts), whose headers carry the WWW-Authenticate challenge.
    return errorOutcome(err.status, err.outcome, err.headers);
  }
  if (err instanceof OperationOutcomeError) {
    return errorOutcome(statusOf(err.outcome), err.outcome);
  }
  if (isOperationOutcome(err)) {
    return errorOutcome(statusOf(err), err);
  }
  if (err instanceof URIError) {
    // The router's own path-parameter decoding (src/http/request-guards.ts answers first; this
    // is the same answer should a route decode something itself).
    return {
      status: 400,
      body: outcome('invalid', 'The request URL has invalid percent-encoding'),
      headers: {},
    };
  }
  const parserError = err as BodyParserError;
  switch (parserError.type) {
    case 'entity.too.large':
      return { status: 413, body: outcome('too-costly', 'Request body is too large'), headers: {} };
    case 'entity.parse.failed':
      return { status: 400, body: outcome('structure', 'Malformed JSON body'), headers: {} };
    case 'request.aborted':
    case 'request.size.invalid':
      return { status: 400, body: outcome('incomplete', 'Request body was incomplete'), headers: {} };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, body: outcome('not-supported', 'Unsupported body encoding'), headers: {} };
    case undefined:
    default:
      break;
  }
  if (parserError.expose === true && typeof parserError.status === 'number' && parserError.status < 500) {
    return { status: parserError.status, body: outcome('invalid', normalizeErrorString(err)), headers: {} };
  }
  // A bug: log it (no request body, no PHI) and answer with a generic outcome.
  log.error(
    { err: { message: normalizeErrorString(err), stack: (err as Error).stack }, path },
    'unhandled error',
  );
  return { status: 500, body: outcome('exception', 'Internal server error'), headers: {} };
}

export function errorHandler(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const answer = errorAnswer(err, log, req.path);
    res.set(answer.headers);
    if (answer.fallbackChallenge !== undefined && !res.hasHeader('WWW-Authenticate')) {
      res.set('WWW-Authenticate', answer.fallbackChallenge);
    }
    sendOutcome(res, answer.status, answer.body);
  };
}
