/**
 * The app's browser-facing security: its cookies, its Content-Security-Policy and CSRF.
 *
 * Cookies. Inside an EHR the app is a cross-site iframe, where current Chromium keeps only cookies
 * marked `SameSite=None; Secure; Partitioned` (CHIPS: the cookie lives in a jar keyed by the EHR's
 * site, so it is no tracking cookie). `Secure` needs https — except on loopback, which browsers
 * treat as a secure context: `http://localhost` and `http://127.0.0.1` get the same cookies as
 * https, so the sandbox works in the EHR iframe over plain http. On any other plain-http address
 * a Secure cookie would be dropped; there the cookies are `SameSite=Lax` and the app works only
 * when opened on its own (a warning is logged at start). Always HttpOnly, Path=/app.
 *
 * CSRF. Every action is a POST whose `X-CSRF-Token` header must equal the session's token
 * (compared in constant time), sent only by the app's own script; a POST the browser marks as
 * coming from another site (`Sec-Fetch-Site: cross-site`) is refused before that.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'dripline_session';
export const LAUNCH_COOKIE = 'dripline_launch';

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Whether the app's cookies can be `Secure; SameSite=None; Partitioned` at this public URL. */
export function crossSiteCookies(publicUrl: string): boolean {
  const url = new URL(publicUrl);
  return url.protocol === 'https:' || isLoopbackHost(url.hostname);
}

export function cookieHeader(
  name: string,
  value: string,
  options: { publicUrl: string; maxAgeSeconds?: number },
): string {
  const attributes = crossSiteCookies(options.publicUrl)
    ? 'Secure; SameSite=None; Partitioned'
    : 'SameSite=Lax';
  const age = options.maxAgeSeconds !== undefined ? `; Max-Age=${options.maxAgeSeconds}` : '';
  return `${name}=${value}; Path=/app; HttpOnly; ${attributes}${age}`;
}

export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) {
      const value = part.slice(at + 1).trim();
      return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

export function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** The policy of every page of the app: its own script and styles only, framed only by its EHRs. */
export function contentSecurityPolicy(frameAncestors: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    `frame-ancestors 'self'${frameAncestors.map((o) => ` ${o}`).join('')}`,
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}
