/**
 * The routes an express app serves, read from its own router: every mounted router and route, as
 * (method, path template). The access log and the request metrics label a request with the
 * template its path matches (`/fhir/Patient/:id`, `unmatched` for none), so a label has as many
 * values as the app has routes, whatever clients send; tests walk the same table to reach every
 * route.
 *
 * Templates use express's `:name` parameters and static segments only (what Dripline's routes
 * use); a segment in any other path-to-regexp syntax is compared as written.
 */
import type { Express } from 'express';

export interface RouteEntry {
  /** Upper-case HTTP method, or `ALL` for `router.all`. */
  readonly method: string;
  /** Full path template from the app's root, e.g. `/api/claims/:claimId/override`. */
  readonly template: string;
}

export interface RouteTable {
  readonly routes: readonly RouteEntry[];
  /**
   * The template of the route this request path addresses: the route for its method with the
   * most static segments, else (a 405) the best route for any method; undefined when none.
   */
  match(method: string, path: string): string | undefined;
}

/** The parts of express 5's router (package `router` 2.x) this module reads. */
interface RouterLayer {
  readonly rawPath?: string | readonly string[];
  readonly route?: { readonly path: string | readonly string[]; readonly methods: Record<string, boolean> };
  readonly handle?: { readonly stack?: readonly RouterLayer[] };
}

function join(prefix: string, path: string): string {
  const joined = `${prefix}/${path}`.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
  return joined === '' ? '/' : joined;
}

function paths(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) {
    return ['/'];
  }
  return typeof value === 'string' ? [value] : value;
}

function collect(stack: readonly RouterLayer[], prefix: string, out: RouteEntry[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const methods = Object.entries(layer.route.methods)
        .filter(([, on]) => on)
        .map(([m]) => (m === '_all' ? 'ALL' : m.toUpperCase()));
      for (const path of paths(layer.route.path)) {
        for (const method of methods) {
          out.push({ method, template: join(prefix, path) });
        }
      }
    } else if (layer.handle?.stack) {
      for (const mount of paths(layer.rawPath)) {
        collect(layer.handle.stack, join(prefix, mount), out);
      }
    }
  }
}

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** Reads the app's routes. Call once every router is mounted. */
export function routeTable(app: Express): RouteTable {
  const out: RouteEntry[] = [];
  collect((app.router as unknown as { stack: readonly RouterLayer[] }).stack, '', out);
  const compiled = out.map((entry) => ({
    ...entry,
    parts: segments(entry.template).map((s) => (s.startsWith(':') ? undefined : s.toLowerCase())),
  }));

  return {
    routes: out,
    match(method, path) {
      const wanted = segments(path).map((s) => s.toLowerCase());
      const verb = method.toUpperCase();
      let best: { template: string; score: number } | undefined;
      for (const route of compiled) {
        if (route.parts.length !== wanted.length) {
          continue;
        }
        let statics = 0;
        let matches = true;
        for (let i = 0; i < wanted.length; i++) {
          const part = route.parts[i];
          if (part === undefined) {
            continue;
          }
          if (part !== wanted[i]) {
            matches = false;
            break;
          }
          statics++;
        }
        if (!matches) {
          continue;
        }
        // Express answers HEAD with the GET route. A route for another method still names the
        // path (its 405), below any route of the request's own method.
        const sameMethod =
          route.method === 'ALL' || route.method === verb || (verb === 'HEAD' && route.method === 'GET');
        const score = statics * 2 + (sameMethod ? 1 : 0);
        if (!best || score > best.score) {
          best = { template: route.template, score };
        }
      }
      return best?.template;
    },
  };
}
