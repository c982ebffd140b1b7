/**
 * The per-client-address request limit (RATE_LIMIT_PER_MINUTE): express-rate-limit for the express
 * stack, and the same count, headers and refusal for lean routes (./lean-route.ts), which answer
 * before that stack. Both share one store, so a client's requests count once whichever path
 * serves them.
 *
 * Headers: IETF draft-7 `RateLimit-Policy` / `RateLimit` on every answer, `Retry-After` on a 429
 * (what express-rate-limit sends with `standardHeaders: 'draft-7'`).
 */
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit } from 'express-rate-limit';
import { HttpError, outcome, sendOutcome } from './outcomes.ts';

export interface RateLimiter {
  /** The express middleware. */
  readonly middleware: RequestHandler;
  /**
   * Counts one request of a lean route against the same limit: sets the limit headers, and
   * throws HttpError 429 (with `Retry-After`) when the client is over it. `req` must be an express
   * request (its `ip` honours `trust proxy`, as the middleware's key does).
   */
  hit(req: Request, res: Response): Promise<void>;
}

const THROTTLED = (): ReturnType<typeof outcome> => outcome('throttled', 'Too many requests');

export function createRateLimiter(limit: number, windowMs = 60_000): RateLimiter {
  const store = new MemoryStore();
  const middleware = rateLimit({
    windowMs,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store,
    handler: (_req, res) => {
      sendOutcome(res, 429, THROTTLED());
    },
  });
  const windowSeconds = Math.ceil(windowMs / 1000);
  return {
    middleware,
    async hit(req, res) {
      // The middleware's default key: the client address, IPv6 by /56 subnet.
      const { totalHits, resetTime } = await store.increment(ipKeyGenerator(req.ip ?? ''));
      const resetSeconds =
        resetTime === undefined
          ? windowSeconds
          : Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000));
      res.setHeader('RateLimit-Policy', `${limit};w=${windowSeconds}`);
      res.setHeader(
        'RateLimit',
        `limit=${limit}, remaining=${Math.max(limit - totalHits, 0)}, reset=${resetSeconds}`,
      );
      if (totalHits > limit) {
        throw new HttpError(429, THROTTLED(), { 'Retry-After': String(resetSeconds) });
      }
    },
  };
}
