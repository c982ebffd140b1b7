/**
 * `POST /ehr/{connection}/notify` is answered by a lean route before the express stack
 * (src/http/lean-route.ts, src/app.ts): through a real server, its answers carry what every other
 * route's do — the request id, the security headers, the rate limit headers, one access log line
 * and one metrics series by route template — the rate limit counts its requests and the stack's
 * together, and a notification the lean route passes on (a compressed body) is still received.
 * (test/ingest/receiver.test.ts covers what the receiver accepts and refuses.)
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { sha256Hex, updateRecord } from '../../src/ingest/records.ts';
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { unreachableEhrConnection } from '../support/ehr-connection.ts';
import { backportNotification } from '../support/backport-notification.ts';

const SECRET = 'lean-secret-0123456789abcdef';
const METRICS_TOKEN = 'metrics-secret-0123456789';
/** Requests per minute: enough for every test before the rate limit's, which uses up the rest. */
const LIMIT = 12;
const connection = unreachableEhrConnection('ehr-lean');

let server: TestServer;
let nextEvent = 1;

/** A Backport IG event notification (one event, a fresh event number each time). */
function notification(): string {
  const n = nextEvent++;
  return JSON.stringify(
    backportNotification('Subscription/sub-lean', 'event-notification', String(n), [
      { n, focus: `http://127.0.0.1:9/fhir/MedicationAdministration/ma-${n}` },
    ]),
  );
}

function notify(body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/ehr/ehr-lean/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${SECRET}`, ...headers },
    body,
  });
}

async function jobCount(): Promise<number> {
  return (await server.running.store.jobs.listJobs('sandbox', INGEST_QUEUE, 'ready', 1000)).length;
}

/** The headers helmet sets (src/app.ts), from an answer. */
function securityHeaders(res: Response): Record<string, string | null> {
  const names = [
    'content-security-policy',
    'cross-origin-opener-policy',
    'cross-origin-resource-policy',
    'origin-agent-cluster',
    'referrer-policy',
    'strict-transport-security',
    'x-content-type-options',
    'x-dns-prefetch-control',
    'x-download-options',
    'x-frame-options',
    'x-permitted-cross-domain-policies',
    'x-xss-protection',
  ];
  return Object.fromEntries(names.map((name) => [name, res.headers.get(name)]));
}

beforeAll(async () => {
  server = await startTestServer(
    { RATE_LIMIT_PER_MINUTE: String(LIMIT), METRICS_TOKEN },
    { ingest: false, extraConnections: [{ tenant: 'sandbox', connection }] },
  );
  await updateRecord(
    server.running.store,
    'sandbox',
    connection,
    'MedicationAdministration',
    'http://x',
    (r) => ({
      ...r,
      ehrSubscriptionId: 'sub-lean',
      secretSha256: sha256Hex(SECRET),
      status: 'active',
    }),
  );
});
afterAll(async () => {
  await server.stop();
});

describe('the lean notification route', () => {
  test('its answer carries the request id, the security headers of every route, and the rate limit headers', async () => {
    const before = await jobCount();
    const res = await notify(notification(), { 'x-request-id': 'ehr-req-17' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'informational' }],
    });
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBe('ehr-req-17');
    expect(await jobCount()).toBe(before + 1);

    const stack = await fetch(`${server.url}/healthz`);
    const headers = securityHeaders(res);
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers).toEqual(securityHeaders(stack));
    expect(res.headers.get('ratelimit-policy')).toBe(`${LIMIT};w=60`);
    expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^limit=${LIMIT}, remaining=\\d+, reset=\\d+$`));

    // Without an acceptable request id of its own, it gets a fresh one.
    const fresh = await notify(notification(), { 'x-request-id': 'not acceptable!' });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('it is logged and measured by its route template, never its raw path or secret', async () => {
    const logsBefore = server.logs.length;
    const res = await notify(notification(), { 'x-request-id': 'ehr-req-log' });
    expect(res.status).toBe(200);
    const lines = server.logs.slice(logsBefore).filter((line) => line.includes('"ehr-req-log"'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      msg: 'request',
      method: 'POST',
      route: '/ehr/:connectionId/notify',
      status: 200,
    });
    expect(lines[0]).not.toContain('ehr-lean');
    expect(lines[0]).not.toContain(SECRET);

    const metrics = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(await metrics.text()).toMatch(
      /dripline_http_request_duration_seconds_count\{method="POST",route="\/ehr\/:connectionId\/notify",status="200"\} \d+/,
    );
  });

  test('a notification it passes on (gzip-compressed) is received by the router as before', async () => {
    const before = await jobCount();
    const res = await notify(gzipSync(notification()), { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(await jobCount()).toBe(before + 1);
  });

  test('the rate limit counts its requests and the stack’s together, and refuses both with a 429 OperationOutcome', async () => {
    const first = await notify(notification());
    let remaining = Number(/remaining=(\d+)/.exec(first.headers.get('ratelimit') ?? '')?.[1]);
    expect(remaining).toBeGreaterThan(2);
    // Use up what is left, alternating the lean route and the stack: each counts once.
    let lean = true;
    while (remaining > 0) {
      const res = lean ? await notify(notification()) : await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      const now = Number(/remaining=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1]);
      expect(now).toBe(remaining - 1);
      remaining = now;
      lean = !lean;
    }
    const before = await jobCount();
    const refused = await notify(notification());
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'throttled' }],
    });
    expect(await jobCount()).toBe(before);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(429);
  });
});
