/**
 * How the sandbox payer's injected faults shape an answer of its PAS endpoint (./server.ts,
 * ./subscription-routes.ts): refused as a real server refuses, or held after the work is done.
 */
import type { Response } from 'express';
import { outcome, sendOutcome } from '../../../http/outcomes.ts';

/** A refusal as a real server answers it: 405 names what the resource does allow. */
export function refuse(res: Response, status: number, what: string): void {
  if (status === 405) {
    res.set('Allow', 'GET, POST, PUT');
  }
  const code =
    status === 405 || status === 501 ? 'not-supported' : status === 404 ? 'not-found' : 'forbidden';
  sendOutcome(res, status, outcome(code, `${what} refused`));
}

/**
 * The answer leaves `holdMs` after the work it answers is done and kept (a slow payer): every
 * answer leaves through res.end (send included).
 */
export function holdAnswer(res: Response, holdMs: number | undefined): void {
  if (!holdMs || holdMs <= 0) {
    return;
  }
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    setTimeout(() => end(...args), holdMs);
    return res;
  }) as Response['end'];
}
