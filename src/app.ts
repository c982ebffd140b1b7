/**
 * The HTTP application: middleware order, capability routers, and the one error path.
 * Everything it needs is passed in (config, store, token service, logger), so tests build it with a
 * temp-dir store and talk to it over real HTTP.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { createTokenRouter } from './auth/token-route.ts';
import type { TokenService } from './auth/token-service.ts';
import type { DriplineConfig } from './config/config.ts';
import type { AuditWriter } from './fhir/audit-writer.ts';
import { createFhirRoutes } from './fhir/routes.ts';
import { unauthorized } from './http/auth-errors.ts';
import { percentEncodingGuard } from './http/request-guards.ts';
import { leanRoutes } from './http/lean-route.ts';
import type { LeanRoute } from './http/lean-route.ts';
import { createRateLimiter } from './http/rate-limit.ts';
import { errorHandler, notFoundHandler } from './http/outcomes.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './ops/metrics.ts';
import { isLazyRouter } from './http/lazy-router.ts';
import { routeTable } from './http/route-table.ts';
import type { RouteTable } from './http/route-table.ts';
import type { Store } from './store/port.ts';
import type { CodingTables } from './coding/tables/types.ts';

export const VERSION = '0.1.0';

export interface AppDeps {
  readonly config: DriplineConfig;
  readonly store: Store;
  readonly tokenService: TokenService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly codingTables: CodingTables;
  readonly now?: () => Date;
  /**
   * Capability routers with their own authentication (e.g. the EHR notification receiver at /ehr),
   * or lazy routers (src/http/lazy-router.ts) that build them on their first request.
   */
  readonly routers?: readonly { readonly path: string; readonly router: express.RequestHandler }[];
  /** FHIR operation routers mounted inside /fhir behind bearer auth. */
  readonly fhirOperations?: readonly express.Router[];
  /**
   * Hot endpoints answered before the middleware stack (src/http/lean-route.ts): each must also be
   * served by a router above, which takes every request of it the lean route does not.
   */
  readonly leanRoutes?: readonly LeanRoute[];
  /** The FHIR read audits' group commit, when lean routes share it (src/fhir/routes.ts `audit`). */
  readonly fhirAudit?: AuditWriter;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Constant-time comparison of two secrets of any length (hash first so lengths do not leak). */
export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/**
 * The headers a middleware that only sets fixed headers (helmet with static directives) sets, read
 * once by running it against a recording response: lean routes send them without running it.
 */
function headersSetBy(middleware: RequestHandler): [string, string][] {
  const set: [string, string][] = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      set.push([name, Array.isArray(value) ? value.join(', ') : String(value)]);
    },
    removeHeader() {},
  };
  let passed = false;
  // A request it never reads (helmet sets the same headers whatever the request).
  const request = new IncomingMessage(new Socket()) as Request;
  middleware(request, recorder as unknown as Response, () => {
    passed = true;
  });
  if (!passed) {
    throw new Error('the security headers middleware did not finish synchronously');
  }
  return set;
}

export function createApp(deps: AppDeps): Express {
  const { config, logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);
  // Plain key=value query parsing: no nested objects from `a[b]=c`.
  app.set('query parser', 'simple');

  // The app's routes, read once every router is mounted (end of this function): requests are
  // labelled by the template they match, never by their raw path.
  const routes: { table?: RouteTable } = {};

  // Request id, access log and metrics. Only method, route template, status and timing are logged:
  // never bodies, raw paths or query strings (ids and search parameters can carry PHI).
  const observe = (req: Request, res: Response, template?: string): void => {
    const incoming = req.headers['x-request-id'];
    const requestId =
      typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // originalUrl: nested routers rewrite req.url while they run.
      const route =
        template ?? routes.table?.match(req.method, req.originalUrl.split('?')[0] ?? '') ?? 'unmatched';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      const auth = res.locals.auth as { tenant?: string; clientId?: string } | undefined;
      logger.info(
        {
          requestId,
          method: req.method,
          route,
          status: res.statusCode,
          ms: Math.round(seconds * 1000 * 10) / 10,
          ...(auth ? { tenant: auth.tenant, clientId: auth.clientId } : {}),
        },
        'request',
      );
    });
  };
  const security = helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  const rateLimiter = createRateLimiter(config.http.rateLimitPerMinute);

  // Lean routes first: they get what the stack below gives every request (request id, access log,
  // metrics, the security headers, the rate limit), then answer without the router's walk.
  if ((deps.leanRoutes ?? []).length > 0) {
    const securityHeaders = headersSetBy(security);
    // The ETag res.send gives a body that names none (express's `etag` setting).
    const etag = app.get('etag fn') as ((body: Buffer) => string) | undefined;
    app.use(
      leanRoutes({
        routes: deps.leanRoutes ?? [],
        maxBodyBytes: config.http.maxBodyBytes,
        log: logger,
        ...(etag ? { etag: (body: Buffer) => etag(body) } : {}),
        admit: async (req, res, template) => {
          observe(req, res, template);
          for (const [name, value] of securityHeaders) {
            res.setHeader(name, value);
          }
          await rateLimiter.hit(req, res);
        },
      }),
    );
  }

  app.use((req: Request, res: Response, next: NextFunction) => {
    observe(req, res);
    next();
  });
  app.use(security);
  app.use(rateLimiter.middleware);

  // Before any router: a URL that does not decode is a 400, whichever route it addresses.
  app.use(percentEncodingGuard);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await deps.store.ping();
      res.json({ status: 'ready', store: deps.store.kind });
    } catch {
      res.status(503).json({ status: 'unavailable', store: deps.store.kind });
    }
  });
  app.get('/metrics', async (req, res) => {
    const presented = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!config.metricsToken || presented === undefined || !secretsEqual(presented, config.metricsToken)) {
      throw unauthorized('The metrics endpoint needs METRICS_TOKEN as a bearer token', {
        realm: 'dripline-metrics',
        invalidToken: presented !== undefined,
      });
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(
    '/oauth2',
    createTokenRouter({
      authStore: deps.store.auth,
      tokenService: deps.tokenService,
      tokenUrl: `${config.publicUrl}/oauth2/token`,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.fhirAudit ? { audit: deps.fhirAudit } : {}),
    }),
  );
  app.use(
    '/fhir',
    createFhirRoutes({
      config,
      store: deps.store,
      tokenService: deps.tokenService,
      codingTables: deps.codingTables,
      ...(deps.fhirOperations ? { operations: deps.fhirOperations } : {}),
      version: VERSION,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );

  for (const { path, router } of deps.routers ?? []) {
    app.use(path, router);
  }

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  routes.table = routeTable(app);
  // A lazy router's routes join the table once it is built (on its first request).
  for (const { router } of deps.routers ?? []) {
    if (isLazyRouter(router)) {
      router.onLoad(() => {
        routes.table = routeTable(app);
      });
    }
  }
  return app;
}
