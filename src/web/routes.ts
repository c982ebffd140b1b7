/**
 * The billers' app at `/app` (mounted by src/app.ts): SMART launch (`/app/launch`, `/app/callback`),
 * the session (`/app/logout`), the pages (`/app/` and readable error pages), the bundle
 * (`/app/assets/…`) and the app's API (`/app/api`, ./api/routes.ts). Every page carries the app's
 * Content-Security-Policy and may be framed only by the configured EHRs.
 */
import express from 'express';
import type { AnalyticsService } from '../analytics/service.ts';
import type { AuthorizationRequirement } from '../coverage/ledger-alerts.ts';
import type { EligibilityRoutesDeps } from '../coverage/eligibility/routes.ts';
import type { NextFunction, Request, Response, Router } from 'express';
import type { TenantConfig } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/port.ts';
import type { ClaimWorkflowWorker } from '../claims/workflow/worker.ts';
import type { ClaimContext } from '../claims/types.ts';
import type { X12Envelope } from '../claims/x12-routes.ts';
import { buildAppBundle } from './assets.ts';
import { createAppApi } from './api/routes.ts';
import { homeRouter } from './home.ts';
import { LaunchError, SmartLaunchClient, launchTarget } from './launch.ts';
import type { LaunchDeps } from './launch.ts';
import { noticePage, shellPage } from './pages.ts';
import type { NoticePage } from './pages.ts';
import {
  LAUNCH_COOKIE,
  SESSION_COOKIE,
  contentSecurityPolicy,
  cookieHeader,
  readCookie,
  sameSecret,
} from './security.ts';
import { LAUNCH_TTL_MS, SessionStore } from './sessions.ts';
import { untilSuccess } from '../async/until-success.ts';

export interface WebDeps {
  readonly store: Store;
  readonly publicUrl: string;
  readonly tenants: () => readonly TenantConfig[];
  readonly now: () => Date;
  readonly logger: Logger;
  readonly workflow: Pick<ClaimWorkflowWorker, 'override' | 'resubmit'>;
  /** The 837 preview: a claim's context and an envelope (the same as `Claim/$x12`). */
  readonly x12: {
    readonly loadClaimContext: (tenant: string, claimId: string) => Promise<ClaimContext | undefined>;
    readonly envelope: (tenant: string, kind: '837P' | '837I', payer?: string) => Promise<X12Envelope>;
  };
  /** HTTP to EHRs (tests). */
  readonly fetch?: typeof fetch;
  /** The scrubber's prior authorization rule (the authorization ledger's "given without one"). */
  readonly requirement: (tenant: TenantConfig) => AuthorizationRequirement;
  /** The eligibility worker (a person asks the payers again from the app). */
  readonly eligibility: EligibilityRoutesDeps['worker'];
  /** Nudges the prior authorization worker (a person asks for an order's authorization). */
  readonly notifyPriorAuth: () => void;
  /** The revenue measures of the analytics view (the same service as `/api/analytics`). */
  readonly analytics: AnalyticsService;
}

export interface WebApp {
  /** Mounted at /app. */
  readonly router: Router;
  /** Mounted at /: the server's root opens the app (people type the bare address). */
  readonly home: Router;
  readonly sessions: SessionStore;
}

export function createWebApp(deps: WebDeps): WebApp {
  const router = express.Router();
  const sessions = new SessionStore(deps.now);
  const launchDeps: LaunchDeps = {
    publicUrl: deps.publicUrl,
    tenants: deps.tenants,
    now: deps.now,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  const client = new SmartLaunchClient(launchDeps);
  const log = deps.logger.child({ component: 'web' });
  // A failed build is tried again by the next page.
  const bundle = untilSuccess(buildAppBundle);
  // Built ahead of the first page when a tenant can launch the app (an EHR launch configured);
  // without one nothing can open it, so a server (or a test) that never serves it never pays the
  // build (~0.3–0.5 CPU-s of esbuild); a notice page still builds it on demand.
  if (deps.tenants().some((t) => (t.ehrLaunch ?? []).length > 0)) {
    void bundle().catch((err: unknown) => log.error({ err: (err as Error).message }, 'app bundle failed'));
  }

  const frameAncestors = (): string[] => [
    ...new Set(deps.tenants().flatMap((t) => (t.ehrLaunch ?? []).map((l) => new URL(l.iss).origin))),
  ];

  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.set('Content-Security-Policy', contentSecurityPolicy(frameAncestors()));
    // frame-ancestors decides who may frame the app; X-Frame-Options would forbid every EHR.
    res.removeHeader('X-Frame-Options');
    res.set('Cache-Control', 'no-store');
    next();
  });

  const notice = async (res: Response, status: number, page: NoticePage): Promise<void> => {
    res
      .status(status)
      .type('html')
      .send(noticePage(await bundle(), page));
  };
  const signInLinks = (): { label: string; href: string }[] =>
    deps.tenants().flatMap((t) =>
      (t.ehrLaunch ?? []).map((l) => ({
        label: `Sign in through ${t.name}'s EHR`,
        href: `/app/launch?${new URLSearchParams({ iss: l.iss }).toString()}`,
      })),
    );

  router.get('/assets/:name', async (req: Request, res: Response) => {
    const file = (await bundle()).files.get(String(req.params['name']));
    if (!file) {
      await notice(res, 404, { title: 'Not found', message: 'There is no such file.' });
      return;
    }
    res
      .set('Cache-Control', 'public, max-age=31536000, immutable')
      .type(file.type)
      .send(Buffer.from(file.body));
  });

  router.get('/launch', async (req: Request, res: Response) => {
    const iss = typeof req.query['iss'] === 'string' ? req.query['iss'] : '';
    const launch = typeof req.query['launch'] === 'string' ? req.query['launch'] : undefined;
    const target = iss ? launchTarget(launchDeps, iss) : undefined;
    if (!target || (launch !== undefined && (launch.length === 0 || launch.length > 2048))) {
      // Nothing is fetched from an iss that is not configured (no SSRF, no token phishing).
      log.warn(
        { event: 'app-launch-refused', failure: target ? 'bad-launch' : 'unknown-iss' },
        'app launch refused',
      );
      await notice(res, 400, {
        title: 'Launch failed',
        message: target
          ? 'The launch request is not valid. Open Dripline again from the EHR.'
          : 'This EHR is not connected to Dripline. Ask an administrator to add it.',
      });
      return;
    }
    try {
      const { url, pending } = await client.begin(target, launch);
      const id = sessions.beginLaunch(pending);
      res
        .set(
          'Set-Cookie',
          cookieHeader(LAUNCH_COOKIE, id, { publicUrl: deps.publicUrl, maxAgeSeconds: LAUNCH_TTL_MS / 1000 }),
        )
        .redirect(303, url.href);
    } catch (err) {
      const failure = err instanceof LaunchError ? err.failure : 'discovery';
      log.warn({ event: 'app-launch-refused', failure, tenant: target.tenant }, 'app launch refused');
      await notice(res, 502, {
        title: 'Launch failed',
        message: err instanceof LaunchError ? err.message : 'The EHR could not be reached.',
      });
    }
  });

  router.get('/callback', async (req: Request, res: Response) => {
    const pending = sessions.takeLaunch(readCookie(req, LAUNCH_COOKIE) ?? '');
    res.append(
      'Set-Cookie',
      cookieHeader(LAUNCH_COOKIE, '', { publicUrl: deps.publicUrl, maxAgeSeconds: 0 }),
    );
    const state = typeof req.query['state'] === 'string' ? req.query['state'] : '';
    const refuse = async (failure: string, message: string, tenant?: string): Promise<void> => {
      log.warn({ event: 'app-launch-refused', failure, ...(tenant ? { tenant } : {}) }, 'app launch refused');
      await notice(res, failure === 'no-role' ? 403 : 400, {
        title: failure === 'no-role' ? 'No access' : 'Launch failed',
        message,
      });
    };
    // Our own check first: the answer must come back to the browser that started the launch, once.
    if (!pending || !sameSecret(state, pending.state)) {
      await refuse(
        'state',
        'This sign-in does not belong to this browser, was already used, or has expired. Open Dripline again from the EHR.',
      );
      return;
    }
    const target = launchTarget(launchDeps, pending.iss);
    if (!target || target.tenant !== pending.tenant) {
      await refuse('unknown-iss', 'This EHR is no longer connected to Dripline.');
      return;
    }
    try {
      const person = await client.finish(target, pending, new URL(req.originalUrl, deps.publicUrl));
      const session = sessions.create({
        tenant: target.tenant,
        iss: target.config.iss,
        fhirUser: person.fhirUser,
        name: person.name,
        role: person.role,
        ...(person.patient ? { patient: person.patient } : {}),
        ...(person.encounter ? { encounter: person.encounter } : {}),
        ehrAccessToken: person.accessToken,
      });
      log.info({ event: 'app-signed-in', tenant: target.tenant, role: person.role }, 'app session started');
      res.append('Set-Cookie', cookieHeader(SESSION_COOKIE, session.id, { publicUrl: deps.publicUrl }));
      res.redirect(303, '/app/');
    } catch (err) {
      if (err instanceof LaunchError) {
        await refuse(err.failure, err.message, target.tenant);
        return;
      }
      throw err;
    }
  });

  router.get('/', async (req: Request, res: Response) => {
    const session = sessions.get(readCookie(req, SESSION_COOKIE));
    if (!session) {
      const hadOne = readCookie(req, SESSION_COOKIE) !== undefined;
      await notice(res, hadOne ? 401 : 200, {
        title: hadOne ? 'Session expired' : 'Dripline billing',
        message: hadOne
          ? 'Your session has ended. Open Dripline again from the EHR, or sign in below.'
          : 'Open Dripline from a patient chart in your EHR, or sign in below.',
        links: signInLinks(),
      });
      return;
    }
    res.type('html').send(shellPage(await bundle()));
  });

  router.get('/signed-out', async (_req: Request, res: Response) => {
    await notice(res, 200, {
      title: 'Signed out',
      message: 'You have signed out of Dripline.',
      links: signInLinks(),
    });
  });

  router.use(
    '/api',
    createAppApi({
      ...deps,
      sessions,
      logger: log,
      clearSession: (res) =>
        res.append(
          'Set-Cookie',
          cookieHeader(SESSION_COOKIE, '', { publicUrl: deps.publicUrl, maxAgeSeconds: 0 }),
        ),
    }),
  );

  router.use(async (_req: Request, res: Response) => {
    await notice(res, 404, { title: 'Not found', message: 'There is no such page in Dripline.' });
  });
  return { router, home: homeRouter(), sessions };
}
