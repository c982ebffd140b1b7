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

/**
 * Sends an error outcome. A 401 or 403 always carries `WWW-Authenticate` (RFC 7235 §3.1, RFC 6750
 * §3): those made by ./auth-errors.ts bring their own; one passed up bare by a library gets the
 * realm's challenge.
 */
function sendErrorOutcome(res: Response, status: number, body: OperationOutcome): void {
  const fallback = fallbackChallenge(status);
  if (fallback !== undefined && !res.hasHeader('WWW-Authenticate')) {
    res.set('WWW-Authenticate', fallback);
  }
  sendOutcome(res, status, body);
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendOutcome(res, 404, outcome('not-found', `No route for ${req.method} ${req.path}`));
};

export function errorHandler(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof HttpError) {
      // Includes every 401/403 (./auth-errors.ts), whose headers carry the WWW-Authenticate challenge.
      res.set(err.headers);
      sendErrorOutcome(res, err.status, err.outcome);
      return;
    }
    if (err instanceof OperationOutcomeError) {
      sendErrorOutcome(res, statusOf(err.outcome), err.outcome);
      return;
    }
    if (isOperationOutcome(err)) {
      sendErrorOutcome(res, statusOf(err), err);
      return;
    }
    if (err instanceof URIError) {
      // The router's own path-parameter decoding (src/http/request-guards.ts answers first; this
      // is the same answer should a route decode something itself).
      sendOutcome(res, 400, outcome('invalid', 'The request URL has invalid percent-encoding'));
      return;
    }
    const parserError = err as BodyParserError;
    switch (parserError.type) {
      case 'entity.too.large':
        sendOutcome(res, 413, outcome('too-costly', 'Request body is too large'));
        return;
      case 'entity.parse.failed':
        sendOutcome(res, 400, outcome('structure', 'Malformed JSON body'));
        return;
      case 'request.aborted':
      case 'request.size.invalid':
        sendOutcome(res, 400, outcome('incomplete', 'Request body was incomplete'));
        return;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        sendOutcome(res, 415, outcome('not-supported', 'Unsupported body encoding'));
        return;
      case undefined:
      default:
        break;
    }
    if (parserError.expose === true && typeof parserError.status === 'number' && parserError.status < 500) {
      sendOutcome(res, parserError.status, outcome('invalid', normalizeErrorString(err)));
      return;
    }
    // A bug: log it (no request body, no PHI) and answer with a generic outcome.
    log.error(
      { err: { message: normalizeErrorString(err), stack: (err as Error).stack }, path: req.path },
      'unhandled error',
    );
    sendOutcome(res, 500, outcome('exception', 'Internal server error'));
  };
}
