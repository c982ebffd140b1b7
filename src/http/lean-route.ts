/**
 * Lean routes: an endpoint that must answer fast under load (the EHR notification receiver, whose
 * acknowledgement latency is what EHRs wait on) answered by its own handler at the very front of
 * the express app, before the general middleware stack and the router walk every other request
 * takes. The app's `admit` hook gives it the same request id, access log, metrics, security
 * headers and rate limit as every other route (src/app.ts), the body is read under the same size
 * limit, and every error goes through the one error path (./outcomes.ts `errorAnswer`).
 *
 * A lean route serves only the plain form of its requests: its method, a path of the template's
 * shape with no query string and no percent-encoding, no Content-Encoding, and whatever else its
 * `accepts` asks. Anything else (a query, `%XX`, a compressed body, another method, a trailing
 * slash) falls through to the express stack, where the same endpoint is also mounted and answers
 * as before. Its answers are sent as express's `res.send` sends them: Content-Type, Content-Length
 * and, unless the answer names one, the ETag the app's `etag fn` makes of the body.
 */
import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { errorAnswer, FHIR_JSON } from './outcomes.ts';

export interface LeanAnswer {
  readonly status: number;
  /** A JSON text (sent as `application/fhir+json; charset=utf-8`). */
  readonly body: string;
  /** Headers of the answer (e.g. ETag, Last-Modified); set after those of the app's `admit`. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LeanRoute {
  readonly method: string;
  /**
   * The path template, as the route table names the same route in the express stack (metrics
   * label): static segments and `:name` parameters, e.g. `/ehr/:connectionId/notify`.
   */
  readonly template: string;
  /**
   * Whether this route serves the request (`params` in template order); false passes it on to the
   * express stack. Checked before `admit`. Absent: every request of the template's shape.
   */
  accepts?(params: readonly string[], req: Request): boolean;
  /**
   * Whether the body is read (under the size limit, 413 above it) before `handle`; default true.
   * A route whose stack counterpart ignores bodies (a GET) says false: `handle` gets an empty one.
   */
  readonly readsBody?: boolean;
  /**
   * Answers one request: `params` in template order, `body` the raw bytes (empty when none); `res`
   * for what `admit` left in `res.locals` (the request id) and what the access log reads there.
   */
  handle(params: readonly string[], req: Request, body: Buffer, res: Response): Promise<LeanAnswer>;
}

export interface LeanRoutesOptions {
  readonly routes: readonly LeanRoute[];
  readonly maxBodyBytes: number;
  readonly log: { error: (obj: object, msg: string) => void };
  /**
   * The ETag express's `res.send` gives a body when the answer names none (the app's
   * `etag fn`); absent: no ETag.
   */
  readonly etag?: (body: Buffer) => string | undefined;
  /**
   * What every request gets before its route (request id, access log and metrics on finish,
   * security headers, the rate limit): sets headers on `res`, throws an error to refuse.
   */
  admit(req: Request, res: Response, template: string): Promise<void>;
}

interface CompiledRoute {
  readonly route: LeanRoute;
  readonly pattern: RegExp;
}

function compile(route: LeanRoute): CompiledRoute {
  const source = route.template
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '([^/]+)' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`) };
}

/** A body-parser-shaped error, so ./outcomes.ts answers it as it answers express.raw's. */
function bodyError(type: 'entity.too.large' | 'request.aborted'): Error {
  return Object.assign(new Error(type), { type });
}

/** The request's bytes, at most `limit` (413 above it: by Content-Length at once, or as they come). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      // Node discards the unread body once the answer is sent (keep-alive stays usable).
      reject(bodyError('entity.too.large'));
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const settle = (): void => {
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > limit) {
        settle();
        req.resume();
        reject(bodyError('entity.too.large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      settle();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
    };
    const onError = (): void => {
      if (!settled) {
        settle();
        reject(bodyError('request.aborted'));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

const NO_BODY = Buffer.alloc(0);

type Etag = LeanRoutesOptions['etag'];

function send(res: Response, status: number, body: string, etag: Etag): void {
  res.statusCode = status;
  res.setHeader('Content-Type', `${FHIR_JSON}; charset=utf-8`);
  if (etag === undefined || res.hasHeader('ETag')) {
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
    return;
  }
  const bytes = Buffer.from(body);
  const tag = etag(bytes);
  if (tag !== undefined) {
    res.setHeader('ETag', tag);
  }
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}

/** The express middleware (mounted first) that serves `routes` and passes everything else on. */
export function leanRoutes(options: LeanRoutesOptions): RequestHandler {
  const compiled = options.routes.map(compile);

  const serve = async (route: LeanRoute, params: string[], req: Request, res: Response): Promise<void> => {
    try {
      await options.admit(req, res, route.template);
      const body = route.readsBody === false ? NO_BODY : await readBody(req, options.maxBodyBytes);
      const answer = await route.handle(params, req, body, res);
      for (const [name, value] of Object.entries(answer.headers ?? {})) {
        res.setHeader(name, value);
      }
      send(res, answer.status, answer.body, options.etag);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const answer = errorAnswer(err, options.log, route.template);
      for (const [name, value] of Object.entries(answer.headers)) {
        res.setHeader(name, value);
      }
      if (answer.fallbackChallenge !== undefined && !res.hasHeader('WWW-Authenticate')) {
        res.setHeader('WWW-Authenticate', answer.fallbackChallenge);
      }
      send(res, answer.status, JSON.stringify(answer.body), options.etag);
    }
  };

  return (req, res, next) => {
    const url = req.url;
    if (compiled.length === 0 || url.includes('?') || url.includes('%')) {
      next();
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      next();
      return;
    }
    for (const { route, pattern } of compiled) {
      if (req.method !== route.method) {
        continue;
      }
      const match = pattern.exec(url);
      if (match) {
        const params = match.slice(1);
        if (route.accepts !== undefined && !route.accepts(params, req)) {
          next();
          return;
        }
        // serve answers every error itself; should answering fail too, the connection is cut.
        serve(route, params, req, res).catch(() => res.destroy());
        return;
      }
    }
    next();
  };
}
