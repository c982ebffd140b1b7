/**
 * Request metrics are labelled by the route template a path matches, `unmatched` otherwise, so an
 * unauthenticated client inventing paths cannot add time series (issue: `/fhir/Patient/$card1`,
 * `$card2`, … each made a new one).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import { loadLazyRouters } from '../../src/http/lazy-router.ts';
import { routeTable } from '../../src/http/route-table.ts';
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const METRICS_TOKEN = 'metrics-secret-0123456789';
const SERIES = 'dripline_http_request_duration_seconds_count';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ METRICS_TOKEN }, { ingest: false, chargeCapture: false, claims: false });
});
afterAll(async () => {
  await server.stop();
});

/** The request-duration series, as their label sets. */
async function series(): Promise<Set<string>> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const text = await res.text();
  return new Set(
    text
      .split('\n')
      .filter((line) => line.startsWith(`${SERIES}{`))
      .map((line) => line.slice(SERIES.length, line.lastIndexOf('}') + 1)),
  );
}

/** Unknown or made-up paths of every kind a client can send without a token. */
function madeUp(i: number): { method: string; path: string } {
  const kinds = [
    { method: 'GET', path: `/fhir/Patient/$card${i}` },
    { method: 'GET', path: `/fhir/Spaceship${i}/x` },
    { method: 'GET', path: `/no-such-thing/${i}` },
    { method: 'POST', path: `/ehr/conn-${i}/notify` },
    { method: 'GET', path: `/api/claims/x12-batches/b${i}` },
    { method: 'DELETE', path: `/fhir/Claim/${i}/_history/${i}` },
    { method: 'GET', path: `/fhir/Patient/${i}/a/b/c` },
    { method: 'POST', path: `/api/claims/${i}/override` },
  ];
  return kinds[i % kinds.length]!;
}

describe('metrics labels', () => {
  test('a route built on its first request (src/http/lazy-router.ts) is labelled by its template from that request on', async () => {
    const app = server.running.server.listeners('request')[0] as Express;
    expect(routeTable(app).match('GET', '/api/analytics/denial-risk')).toBeUndefined(); // not built yet
    expect((await fetch(`${server.url}/api/analytics/denial-risk`)).status).toBe(401);
    expect(routeTable(app).match('GET', '/api/analytics/denial-risk')).toBe('/api/analytics/denial-risk');
    expect([...(await series())]).toContain('{method="GET",route="/api/analytics/denial-risk",status="401"}');
  });

  test('1,000 distinct unknown paths add no series', async () => {
    // One of each kind first, and a scrape: the series they fall into exist from then on.
    for (let i = 0; i < 8; i++) {
      const { method, path } = madeUp(i);
      await fetch(`${server.url}${path}`, { method });
    }
    await series();
    const before = await series();
    for (let start = 0; start < 1000; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => {
          const { method, path } = madeUp(1000 + start + k);
          return fetch(`${server.url}${path}`, { method }).then((r) => r.arrayBuffer());
        }),
      );
    }
    const after = await series();
    expect([...after].filter((s) => !before.has(s))).toEqual([]);
    const labels = [...after].join('\n');
    expect(labels).toContain('route="/fhir/Patient/:id"');
    expect(labels).toContain('route="unmatched"');
    expect(labels).toContain('route="/api/claims/:claimId/override"');
    expect(labels).not.toMatch(/card|Spaceship|conn-|no-such-thing/);
  });
});

describe('the route table', () => {
  const app = (): Express => server.running.server.listeners('request')[0] as Express;

  test('lists every route of the app as a template', async () => {
    // The routers a server builds on their first request (src/http/lazy-router.ts), built now.
    await loadLazyRouters(app().router);
    const templates = new Set(routeTable(app()).routes.map((r) => `${r.method} ${r.template}`));
    for (const expected of [
      'GET /healthz',
      'GET /metrics',
      'POST /oauth2/token',
      'GET /fhir/metadata',
      'ALL /fhir/Patient/:id',
      'ALL /fhir/Encounter/$infusion-charges',
      'GET /fhir/Claim/:id/$x12',
      'GET /fhir/Claim/$x12',
      'GET /api/claims/worklist',
      'POST /api/claims/:claimId/resubmit',
      'GET /api/claims/x12-batches/:id',
    ]) {
      expect(templates).toContain(expected);
    }
  });

  test.each([
    ['GET', '/fhir/Patient/123', '/fhir/Patient/:id'],
    ['GET', '/fhir/Claim/123/$x12', '/fhir/Claim/:id/$x12'],
    ['GET', '/fhir/Claim/$x12', '/fhir/Claim/$x12'],
    ['GET', '/fhir/Claim/abc', '/fhir/Claim/:id'],
    ['GET', '/fhir/Claim/abc/_history', '/fhir/Claim/:id/_history'],
    ['DELETE', '/fhir/Patient/1', '/fhir/Patient/:id'],
    ['HEAD', '/healthz', '/healthz'],
    ['PUT', '/ehr/abc/notify/Patient/1', '/ehr/:connectionId/notify/:type/:id'],
    ['GET', '/fhir/Spaceship/1', undefined],
    ['GET', '/', '/'], // opens the billers' app (303 to /app/)
    ['GET', '/nowhere', undefined],
  ])('%s %s → %s', (method, path, template) => {
    expect(routeTable(app()).match(method, path)).toBe(template);
  });
});
