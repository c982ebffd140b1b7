/**
 * A router built on its first request. Every server start, and every test file that starts one,
 * loaded every route module (the billers' app, analytics, statements, appeals, estimates: ~50
 * modules, each ~1 ms of CPU to load) although most starts never serve most of them. Mounted in
 * place of the router, this imports and builds it when a request first reaches its mount path;
 * later requests go straight to it.
 *
 * The app's route table (./route-table.ts) reads a mounted router's `stack`: here the built
 * router's, empty until it is built, and `onLoad` tells the app to read the table again. The
 * request that builds it is labelled with its template (the table is read before the router runs).
 * A request answered before it reaches the mount path (429, a URL that does not decode) while the
 * router is not built yet is labelled `unmatched`, as any path the app does not serve.
 *
 * A build that fails (a module that does not load) answers that request through the app's error
 * handler (a 500: the server's fault, not the request's) and is tried again by the next request.
 */
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { untilSuccess } from '../async/until-success.ts';

export interface LazyRouter extends RequestHandler {
  /** The built router's layers (what the route table reads); none until it is built. */
  readonly stack: readonly unknown[];
  /** Builds the router now, if not built yet. */
  load(): Promise<void>;
  /** Calls `listener` once the router is built (at once if it is). */
  onLoad(listener: () => void): void;
}

export function lazyRouter(build: () => Promise<Router>): LazyRouter {
  let router: Router | undefined;
  const listeners: (() => void)[] = [];
  const load = untilSuccess(async (): Promise<Router> => {
    const built = await build();
    router = built;
    for (const listener of listeners.splice(0)) {
      listener();
    }
    return built;
  });
  const handler = (req: Request, res: Response, next: NextFunction): void => {
    if (router) {
      router(req, res, next);
      return;
    }
    load()
      .then((built) => built(req, res, next))
      .catch(next);
  };
  return Object.defineProperties(handler, {
    stack: { get: () => router?.stack ?? [] },
    load: {
      value: async (): Promise<void> => {
        await load();
      },
    },
    onLoad: {
      value: (listener: () => void): void => {
        if (router) {
          listener();
        } else {
          listeners.push(listener);
        }
      },
    },
  }) as LazyRouter;
}

export function isLazyRouter(handler: unknown): handler is LazyRouter {
  return typeof handler === 'function' && typeof (handler as Partial<LazyRouter>).onLoad === 'function';
}

/** The parts of express 5's router layers this module walks. */
interface Layer {
  readonly handle?: { readonly stack?: readonly Layer[] } & Partial<LazyRouter>;
}

/**
 * Builds every lazy router mounted in `root` (an app's or a router's layers), and those they mount:
 * for what must see every route at once (a test that walks them all).
 */
export async function loadLazyRouters(root: { readonly stack: readonly unknown[] }): Promise<void> {
  for (const layer of root.stack as readonly Layer[]) {
    const handle = layer.handle;
    if (isLazyRouter(handle)) {
      await handle.load();
    }
    if (handle?.stack) {
      await loadLazyRouters({ stack: handle.stack });
    }
  }
}
