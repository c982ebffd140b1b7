/**
 * Analytics benchmark: every endpoint under /api/analytics, over HTTP on a running Dripline, for a
 * year of a busy infusion clinic (./analytics-year.ts).
 *
 *   npm run bench:analytics             # BENCH_ANALYTICS=50000 claims (each with its remittance)
 *
 * The tenant holds N claims served through 2026 with their posted payments, drug charges, work
 * items, appeals and authorizations, in the embedded store Dripline is started on (no workers).
 * The endpoints are read off the analytics router itself: a route the bench has no question for
 * is printed as NOT BENCHMARKED and fails the run. Measured in the same run:
 * 1. the first answer (reads every claim, payment, Task, ClaimResponse and ChargeItem once);
 * 2. each question, ROUNDS times, with ten new payments posted before each round (so every answer
 *    also reads the changes): every measure over the whole year, unsliced and by payer and drug;
 *    a claim's denial risk; a month's what-if under another payer mix; the list of measures; and,
 *    in process, what the billers' app's analytics routes compute (the revenue view's measures and
 *    the claims behind a bar, src/analytics/drill.ts): p50, p95, max;
 * 3. baseline: the same answer from a reader that reads everything again each time (no kept facts).
 * Target: p95 < 1 s for every endpoint. Peak RSS at the end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { claimsBehind } from '../../src/analytics/drill.ts';
import { MEASURES } from '../../src/analytics/measures.ts';
import type { MeasureName } from '../../src/analytics/measures.ts';
import { parseMeasureQuery } from '../../src/analytics/query.ts';
import { createAnalyticsRoutes } from '../../src/analytics/routes.ts';
import { AnalyticsService } from '../../src/analytics/service.ts';
import { registerBackendClient } from '../../src/auth/client-registration.ts';
import { requestBackendToken } from '../../src/cli/token-command.ts';
import { loadConfig } from '../../src/config/config.ts';
import { freePort } from '../../src/http/free-port.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/server.ts';
import type { RunningServer } from '../../src/server.ts';
import type { BatchOperation } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { REVENUE_MEASURES } from '../../src/web/api/analytics.ts';
import { claimOf, extrasOf, PAYERS, paymentOf, tenant, TENANT } from './analytics-year.ts';
import { recordFigure } from './results.ts';

const N = Math.max(1000, Number(process.env['BENCH_ANALYTICS'] ?? 50_000));
const ROUNDS = Math.max(5, Number(process.env['BENCH_ANALYTICS_ROUNDS'] ?? 20));
/** Claims written together (with their payments and the rest), a minute of store time apart. */
const BATCH = 50;
const YEAR = 'from=2026-01-01&to=2026-12-31';

/** One question the bench asks: a name for the table, and how (an HTTP path, or a call in process). */
interface Question {
  readonly name: string;
  readonly path?: string;
  readonly call?: () => Promise<unknown>;
}

/** The analytics router's GET routes, read off a router built the way the server builds it. */
function analyticsRoutes(): string[] {
  const router = createAnalyticsRoutes({
    store: {} as never,
    service: {} as never,
    tokenService: { verifyAccessToken: () => Promise.reject(new Error('not used')) },
    tenants: () => [],
    publicUrl: 'http://localhost',
    now: () => new Date(),
  });
  const stack = (router as unknown as { stack: { route?: { path: string; methods?: object } }[] }).stack;
  return stack.flatMap((layer) => (layer.route ? [layer.route.path] : []));
}

/** The questions for one route of the router, or undefined when the bench has none. */
function questionsFor(route: string): Question[] | undefined {
  switch (route) {
    case '/':
      return [{ name: 'GET / (the measures served)', path: '/api/analytics/' }];
    case '/:measure':
      return MEASURES.flatMap((measure) =>
        (['', 'payer', 'drug'] as const).map((by) => ({
          name: `${measure}${by ? ` by ${by}` : ''}`,
          path: `/api/analytics/${measure}?${YEAR}${by ? `&by=${by}` : ''}`,
        })),
      );
    case '/denial-risk':
      // A denied claim and a paid one, of different payers.
      return [
        { name: 'denial-risk (denied claim)', path: `/api/analytics/denial-risk?claim=c${N - 7}` },
        { name: 'denial-risk (paid claim)', path: `/api/analytics/denial-risk?claim=c${N - 4}` },
      ];
    case '/what-if':
      return [
        {
          name: 'what-if (a month, another payer mix)',
          path: `/api/analytics/what-if?month=2026-06&mix=${encodeURIComponent('medicare:0.5,aetna:0.3,united:0.2')}`,
        },
      ];
    default:
      return undefined;
  }
}

const quantile = (xs: readonly number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-bench-analytics-'));
  // The history was stamped a batch a minute up to ten minutes ago; the measured run is stamped now.
  const historyStart = Date.now() - 600_000 - Math.ceil(N / BATCH) * 60_000;
  let clock = new Date(historyStart);
  const store = await openSqliteStore({ path: path.join(dir, 'dripline.sqlite'), now: () => clock });
  let dripline: RunningServer | undefined;
  let tick: NodeJS.Timeout | undefined;
  try {
    const started = performance.now();
    let written = 0;
    for (let from = 0; from < N; from += BATCH) {
      const ops: BatchOperation[] = [];
      for (let i = from; i < Math.min(N, from + BATCH); i++) {
        const claim = claimOf(i);
        for (const resource of [claim, paymentOf(claim, i), ...extrasOf(claim, i)]) {
          ops.push({ op: 'create', resource, options: { id: resource.id as string } });
        }
      }
      written += ops.length;
      clock = new Date(historyStart + (from / BATCH) * 60_000);
      await store.resources.writeBatch(TENANT, ops);
      if (from % 2500 === 0 || from + BATCH >= N) {
        process.stdout.write(`\rseeding: ${Math.min(N, from + BATCH)}/${N} claims (${written} resources)`);
      }
    }
    console.log(` in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    clock = new Date();
    tick = setInterval(() => (clock = new Date()), 1);

    // Dripline on that store: the bench tenant with its payers, no workers.
    const host = '127.0.0.1';
    const port = await freePort(host);
    const configFile = path.join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        sandbox: false,
        tenants: [
          {
            ...tenant,
            payers: PAYERS.map((id, k) => ({
              id,
              name: id,
              payerId: `9900${k}`,
              kind: id === 'medicare' ? 'medicare' : id === 'medicaid' ? 'medicaid' : 'commercial',
              channel: 'x12',
              usage: 'T',
              timelyFilingDays: 365,
            })),
          },
        ],
      }),
    );
    const config = loadConfig({
      PORT: String(port),
      HOST: host,
      PUBLIC_URL: `http://${host}:${port}`,
      DATA_DIR: dir,
      DRIPLINE_CONFIG: configFile,
      LOG_LEVEL: 'silent',
      WORKERS: 'none',
      RATE_LIMIT_PER_MINUTE: String(1_000_000_000),
    });
    let t = performance.now();
    dripline = await startServer(config, createLogger('silent'), { store });
    const client = await registerBackendClient(store.auth, {
      tenant: TENANT,
      scope:
        'system/Claim.rs system/ExplanationOfBenefit.rs system/Task.rs system/ClaimResponse.rs system/ChargeItem.rs',
      name: 'bench',
      now: new Date(),
      publicUrl: config.publicUrl,
    });
    let auth = `Bearer ${(await requestBackendToken(client)).access_token}`;
    const ask = async (question: Question): Promise<void> => {
      if (question.call) {
        await question.call();
        return;
      }
      const res = await fetch(`${(dripline as RunningServer).url}${question.path ?? ''}`, {
        headers: { authorization: auth, accept: 'application/json' },
      });
      const body = await res.text();
      if (res.status !== 200) {
        throw new Error(`${question.path ?? ''} answered ${res.status}: ${body.slice(0, 300)}`);
      }
    };
    // The first answer: the server's warm-up reads the year (denial forecast), or this question does.
    await ask({ name: 'first', path: `/api/analytics/clean-claim-rate?${YEAR}` });
    const coldMs = performance.now() - t;
    console.log(
      `Dripline started and answered its first question (reads the whole year once): ${coldMs.toFixed(0)} ms`,
    );

    const questions: Question[] = [];
    const missing: string[] = [];
    for (const route of analyticsRoutes()) {
      const asked = questionsFor(route);
      if (asked) {
        questions.push(...asked);
      } else {
        missing.push(route);
      }
    }
    // The billers' app's analytics routes (src/web/api/analytics.ts) answer from the same service
    // behind a browser session: asked in process, as those routes ask it.
    const service = new AnalyticsService({ store, now: () => new Date() });
    const today = service.today(tenant);
    await service.reader.data(TENANT, 'America/New_York');
    const year = { from: '2026-01-01', to: '2026-12-31' };
    const drill = (measure: MeasureName, part?: string): Question => ({
      name: `app: claims behind ${measure}${part ? ` (${part})` : ''}`,
      call: async () =>
        claimsBehind(await service.reader.data(TENANT, 'America/New_York'), measure, {
          ...parseMeasureQuery({ ...year, by: 'payer' }, today),
          slice: 'all',
          ...(part ? { part } : {}),
        }),
    });
    questions.push(
      {
        name: 'app: revenue view (9 measures by payer)',
        call: () => service.measures(tenant, REVENUE_MEASURES, { ...year, by: 'payer' }),
      },
      drill('denial-rate', 'denied'),
      drill('ar-aging', '120+'),
      drill('net-collection-rate'),
    );

    const times = new Map<string, number[]>();
    let extra = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Ten new payments posted since the last round: each answer reads them.
      const ops: BatchOperation[] = [];
      for (let k = 0; k < 10; k++, extra++) {
        const i = extra % N;
        ops.push({
          op: 'create',
          resource: paymentOf(claimOf(i), i + 1, `late${extra}`),
          options: { id: `late${extra}` },
        });
      }
      await store.resources.writeBatch(TENANT, ops);
      auth = `Bearer ${(await requestBackendToken(client)).access_token}`;
      for (const question of questions) {
        t = performance.now();
        await ask(question);
        times.set(question.name, [...(times.get(question.name) ?? []), performance.now() - t]);
      }
      process.stdout.write(`\rmeasuring: round ${round + 1}/${ROUNDS}`);
    }
    console.log('');

    // Baseline: no kept facts, every answer reads the year again.
    const baselineTimes: number[] = [];
    for (let k = 0; k < 3; k++) {
      const fresh = new AnalyticsService({ store, now: () => new Date() });
      t = performance.now();
      await fresh.measure(tenant, 'denial-rate', { ...year, by: 'payer' });
      baselineTimes.push(performance.now() - t);
    }
    clearInterval(tick);

    const [load1 = 0, load5 = 0] = loadavg();
    console.log(
      `\n${N} claims with remittances, ${written} resources, year 2026, ${ROUNDS} rounds, load average ${load1.toFixed(1)} / ${load5.toFixed(1)}:`,
    );
    console.log(
      `${'question'.padEnd(48)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
    );
    let worst = 0;
    for (const [key, xs] of times) {
      const p95 = quantile(xs, 0.95);
      worst = Math.max(worst, p95);
      console.log(
        `${key.padEnd(48)} ${quantile(xs, 0.5).toFixed(1).padStart(8)} ${p95.toFixed(1).padStart(8)} ${Math.max(
          ...xs,
        )
          .toFixed(1)
          .padStart(8)}`,
      );
    }
    for (const route of missing) {
      console.log(`NOT BENCHMARKED: GET /api/analytics${route} (the bench has no question for this route)`);
    }
    const baseline = quantile(baselineTimes, 0.5);
    const denialP95 = quantile(times.get('denial-rate by payer') ?? [], 0.95);
    console.log(
      `\nbaseline (reads everything each time, in process), denial-rate by payer: ${baseline.toFixed(0)} ms (median of 3)`,
    );
    console.log(`baseline ÷ kept facts over HTTP (p95, same measure): ${(baseline / denialP95).toFixed(1)}x`);
    console.log(
      `worst p95 over all questions: ${worst.toFixed(1)} ms (target < 1000 ms): ${worst < 1000 ? 'met' : 'NOT met'}`,
    );
    recordFigure({
      bench: 'analytics',
      figure: `worst p95 of every analytics endpoint and slice over HTTP, ${N} claims, a year`,
      value: Math.round(worst),
      unit: 'ms',
      baseline: {
        name: 're-reading the year each answer (denial-rate by payer)',
        value: Math.round(baseline),
      },
      target: '< 1000 ms',
      met: worst < 1000 && missing.length === 0,
    });
    recordFigure({
      bench: 'analytics',
      figure: 'start and first answer (reads the year once)',
      value: Math.round(coldMs),
      unit: 'ms',
    });
    if (missing.length > 0) {
      process.exitCode = 1;
    }
  } finally {
    clearInterval(tick);
    // The server does not close a store it was handed.
    await dripline?.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
