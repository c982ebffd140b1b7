/**
 * Guards every request gets before any router sees it (mounted first in src/app.ts, so a route
 * added later has them by construction).
 *
 * - Percent-encoding: a URL whose `%XX` octets do not decode to UTF-8 (`%ED%A0%80`, a lone
 *   surrogate; `%C0%AF`, an overlong form; a lone `%`) is a 400 here. Left to the routers, the
 *   first route with a path parameter threw URIError while decoding it: a 500.
 *
 * Bodies are guarded where they are read: every JSON API body goes through strictJsonBody
 * (./json-body.ts: size, depth, forbidden keys, and the shape of ./body-shape.ts or, for FHIR routes, src/fhir/body-shape.ts); the EHR
 * notification receiver reads its raw bytes and parses them with its own strict parser
 * (src/ingest/notification-parser.ts); the token endpoint reads a form.
 */
import type { RequestHandler } from 'express';
import { HttpError, outcome } from './outcomes.ts';

/** Whether every `%XX` sequence of the URL's path and query decodes (RFC 3986 §2.1, UTF-8). */
export function percentEncodingValid(url: string): boolean {
  if (!url.includes('%')) {
    return true;
  }
  const q = url.indexOf('?');
  try {
    decodeURIComponent(q < 0 ? url : url.slice(0, q));
    if (q >= 0) {
      for (const part of url.slice(q + 1).split('&')) {
        decodeURIComponent(part);
      }
    }
    return true;
  } catch {
    return false;
  }
}

export const percentEncodingGuard: RequestHandler = (req, _res, next) => {
  if (!percentEncodingValid(req.originalUrl)) {
    next(
      new HttpError(
        400,
        outcome('invalid', 'The request URL has invalid percent-encoding (%XX octets must form UTF-8)'),
      ),
    );
    return;
  }
  next();
};
