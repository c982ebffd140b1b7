/**
 * The one error path: everything that goes wrong in a request ends here as an OperationOutcome
 * with the right status. Domain code throws OperationOutcomeError; only this module speaks HTTP.
 */
import { getStatus, isOperationOutcome, normalizeErrorString, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';

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

/** An error that carries its own HTTP status (for statuses @medplum/core's getStatus cannot derive). */
export class HttpError extends OperationOutcomeError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, body: OperationOutcome, headers: Record<string, string> = {}) {
    super(body);
    this.status = status;
    this.headers = headers;
  }
}

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

export function errorHandler(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof HttpError) {
      res.set(err.headers);
      sendOutcome(res, err.status, err.outcome);
      return;
    }
    if (err instanceof OperationOutcomeError) {
      // RFC 6750 §3.1: a 403 for missing scope names the scope in WWW-Authenticate.
      const challenge = (err as { wwwAuthenticate?: unknown }).wwwAuthenticate;
      if (typeof challenge === 'string') {
        res.set('WWW-Authenticate', challenge);
      }
      sendOutcome(res, statusOf(err.outcome), err.outcome);
      return;
    }
    if (isOperationOutcome(err)) {
      sendOutcome(res, statusOf(err), err);
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
