import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const METRICS_TOKEN = 'metrics-secret-0123456789';

describe('operations endpoints', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ METRICS_TOKEN });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('/healthz and /readyz', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', store: 'sqlite' });
  });

  test('/metrics needs the metrics token, compared exactly', async () => {
    expect(
      (await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } }))
        .status,
    ).toBe(401);
    await fetch(`${server.fhir}/metadata`);
    const res = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('dripline_http_request_duration_seconds_bucket');
    expect(text).toMatch(/route="\/fhir\/metadata"/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

describe('graceful shutdown', () => {
  test('an in-flight request finishes and is stored before the server stops; new connections are refused', async () => {
    const server = await startTestServer();
    const token = await server.token('sandbox', 'system/*.cruds');
    const body = JSON.stringify({
      resourceType: 'Patient',
      identifier: [{ system: 'urn:test', value: 'SHUTDOWN-1' }],
    });
    const { port } = new URL(server.url);

    // Send headers and half the body, then begin stopping, then send the rest.
    const responsePromise = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: Number(port),
          method: 'POST',
          path: '/fhir/Patient',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/fhir+json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let data = '';
          res.on('data', (c: Buffer) => (data += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 20));
      setTimeout(() => {
        stopPromise = server.running.stop();
        setTimeout(() => req.end(body.slice(20)), 150);
      }, 100);
    });
    let stopPromise: Promise<void> | undefined;
    const response = await responsePromise;
    expect(response.status).toBe(201);
    await stopPromise;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    // The write was durable: reopen the same data directory and find it.
    const reopened = await startTestServerOn(server);
    const token2 = await reopened.token('sandbox', 'system/*.cruds');
    const found = await fhirFetch(`${reopened.fhir}/Patient?identifier=SHUTDOWN-1`, token2);
    expect(found.body.total).toBe(1);
    await reopened.stop();
  });
});

async function startTestServerOn(previous: TestServer): Promise<TestServer> {
  return startTestServer({ DATA_DIR: previous.config.dataDir });
}
