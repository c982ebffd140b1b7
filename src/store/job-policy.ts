/**
 * Retry policy shared by every JobQueue adapter (port.ts: "exponential from 1 s, doubling, capped
 * at 1 h, ±20% jitter"), so SQLite and MongoDB back off identically.
 */
export const DEFAULT_MAX_ATTEMPTS = 8;
const BASE_MS = 1000;
const CAP_MS = 3_600_000;
const JITTER = 0.2;

/**
 * Delay before the next attempt after `attempts` failed ones (attempts >= 1): 1 s, 2 s, 4 s, ...
 * with ±20% jitter so a burst of failures does not retry in lockstep; never above 1 h.
 * `random` is in [0, 1).
 */
export function retryDelayMs(attempts: number, random: number = Math.random()): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 32);
  const base = Math.min(BASE_MS * 2 ** exponent, CAP_MS);
  return Math.round(Math.min(base * (1 - JITTER + 2 * JITTER * random), CAP_MS));
}

/**
 * Thrown by a job's step when it must wait for other work before it can go on (a check whose
 * answer it needs): the worker defers the job (`JobQueue.defer`) by `waitMs` instead of failing it,
 * so the wait spends none of its attempts. With a `waitKey` naming that work, its end makes the job
 * due at once (`JobQueue.wake`), and `waitMs` is only the fallback. The step bounds its own waiting.
 */
export class JobMustWait extends Error {
  readonly waitMs: number;
  readonly waitKey: string | undefined;

  constructor(reason: string, waitMs: number, waitKey?: string) {
    super(reason);
    this.name = 'JobMustWait';
    this.waitMs = waitMs;
    this.waitKey = waitKey;
  }
}
