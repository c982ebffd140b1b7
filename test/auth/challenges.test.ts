/**
 * Every 401 and 403 carries its WWW-Authenticate challenge (RFC 7235 §3.1, RFC 6750 §3): the
 * bearer check, scope checks in routes and inside the FHIR repository (reached through
 * fhir-router), the metrics endpoint, and an outcome a library passes up bare.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { forbidden as forbiddenOutcome, OperationOutcomeError } from '@medplum/core';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorHandler } from '../../src/http/outcomes.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const METRICS_TOKEN = 'metrics-secret-0123456789';

let server: TestServer;
let patientOnly: string;

beforeAll(async () => {
  server = await startTestServer({ METRICS_TOKEN }, { ingest: false, chargeCapture: false, claims: false });
  patientOnly = await server.token('sandbox', 'system/Patient.rs');
});
afterAll(async () => {
  await server.stop();
});

async function answer(
  path: string,
  token: string | undefined,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; challenge: string | null; body: any }> {
  const res = await fhirFetch(`${server.url}${path}`, token, init);
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: res.body };
}

describe('401 and 403 of the FHIR API and /api', () => {
  test.each([
    ['/fhir/Patient', undefined, 'Bearer realm="dripline"'],
    ['/api/claims/worklist', undefined, 'Bearer realm="dripline"'],
    ['/fhir/Claim/x/$x12', 'not-a-jwt', 'Bearer realm="dripline", error="invalid_token"'],
    ['/api/claims/x12-batches/x', 'a.b.c', 'Bearer realm="dripline", error="invalid_token"'],
  ])('%s without a usable token: 401 with a challenge', async (path, token, challenge) => {
    const res = await answer(path, token);
    expect(res.status).toBe(401);
    expect(res.challenge?.startsWith(challenge)).toBe(true);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('a scope check in a route: 403 insufficient_scope naming the scope', async () => {
    const res = await answer('/api/claims/worklist', patientOnly);
    expect(res.status).toBe(403);
    expect(res.challenge).toMatch(/^Bearer realm="dripline", error="insufficient_scope", scope="[^"]+"$/);
  });

  test('a scope check inside the repository (reached through fhir-router): the same challenge', async () => {
    await fhirFetch(`${server.fhir}/Patient`, await server.token('sandbox', 'system/Patient.c'), {
      method: 'POST',
      body: { resourceType: 'Patient', name: [{ family: 'Revinclude' }] },
    });
    const res = await answer('/fhir/Patient?_revinclude=Encounter:patient', patientOnly);
    expect(res.status).toBe(403);
    expect(res.challenge).toBe(
      'Bearer realm="dripline", error="insufficient_scope", scope="system/Encounter.s"',
    );
    expect(res.body.issue[0].diagnostics).toContain('system/Encounter.s');
  });

  test('/metrics: 401 with the metrics realm, invalid_token for a wrong secret', async () => {
    const none = await fetch(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="dripline-metrics"');
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="dripline-metrics", error="invalid_token"/,
    );
  });
});

describe('the one error handler', () => {
  let bare: Server;
  let base = '';
  beforeAll(async () => {
    const app = express();
    // A library (fhir-router, @medplum/core helpers) may pass up a bare 403 or 401 outcome.
    app.get('/forbidden', () => {
      throw new OperationOutcomeError(forbiddenOutcome);
    });
    app.get('/unauthorized', () => {
      throw new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        id: 'unauthorized',
        issue: [{ severity: 'error', code: 'login', details: { text: 'Unauthorized' } }],
      });
    });
    app.use(errorHandler({ error: () => undefined }));
    bare = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => bare.once('listening', resolve));
    base = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => bare.close(resolve));
  });

  test('gives a bare 401 or 403 outcome the realm’s challenge', async () => {
    const f = await fetch(`${base}/forbidden`);
    expect(f.status).toBe(403);
    expect(f.headers.get('www-authenticate')).toBe('Bearer realm="dripline", error="insufficient_scope"');
    const u = await fetch(`${base}/unauthorized`);
    expect(u.status).toBe(401);
    expect(u.headers.get('www-authenticate')).toBe('Bearer realm="dripline"');
  });
});
