/**
 * `GET /api/analytics/{measure}` over real HTTP on a running server: the tenant's measure as JSON
 * and, for the standard ones, as a FHIR MeasureReport naming its Measure; bad ranges and parameters
 * are 400 OperationOutcomes, an unknown measure 404; no token 401, missing scopes 403; another
 * tenant sees none of it; every answer is audited; the key measures are Prometheus gauges labelled
 * by tenant and payer only.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditEvent, MeasureReport } from '@medplum/fhirtypes';
import { MEASURE_CLEAN_CLAIM_RATE } from '../../src/contract/analytics.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { localDate } from '../../src/time/zone.ts';
import type { TestServer } from '../support/harness.ts';
import { startTestServer } from '../support/harness.ts';
import { paidAndDenied } from './fixtures.ts';

const SCOPE =
  'system/Claim.rs system/ExplanationOfBenefit.rs system/Task.rs system/ClaimResponse.rs system/ChargeItem.rs';
const TENANT = 'metro';
const METRICS_TOKEN = 'metrics-token-0123456789';
let server: TestServer;
let token: string;
const NOV = 'from=2026-11-01&to=2026-11-30';
const MEDICARE = {
  id: 'medicare',
  name: 'Medicare',
  payerId: '12345',
  kind: 'medicare',
  channel: 'x12',
  usage: 'T',
  timelyFilingDays: 365,
};

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn', METRICS_TOKEN },
    { ingest: false, chargeCapture: false, claims: false },
    {
      tenants: [
        {
          id: 'rural',
          name: 'Rural infusion',
          timeZone: 'America/Chicago',
          payers: [MEDICARE],
        },
        {
          id: TENANT,
          name: 'Metro infusion',
          timeZone: 'America/New_York',
          payers: [MEDICARE],
        },
      ],
    },
  );
  const resources = paidAndDenied(
    { paid: 'c1', denied: 'c2', paidEob: 'e1', deniedEob: 'e2' },
    { served: ['2026-11-02', '2026-11-05'], remitted: ['2026-11-20', '2026-11-25'] },
  );
  for (const r of resources) {
    await server.running.store.resources.create(TENANT, r, { id: r.id as string });
  }
  token = await server.token(TENANT, SCOPE);
  // The gauges cover the last 30 days, whatever day the test runs: these were served two days ago.
  const recent = localDate(Date.now() - 2 * 86_400_000, 'America/Chicago');
  const gauges = paidAndDenied(
    { paid: 'g1', denied: 'g2', paidEob: 'ge1', deniedEob: 'ge2' },
    { served: [recent, recent], remitted: [recent, recent] },
  );
  for (const r of gauges) {
    await server.running.store.resources.create('rural', r, { id: r.id as string });
  }
});

afterAll(async () => {
  await server?.stop();
});

async function get(path: string, options: { token?: string | undefined; accept?: string } = {}) {
  const bearer = 'token' in options ? options.token : token;
  const response = await fetch(`${server.url}/api/analytics${path}`, {
    headers: {
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...(options.accept ? { accept: options.accept } : {}),
    },
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: text ? JSON.parse(text) : undefined,
  };
}

describe('GET /api/analytics', () => {
  test('a measure as JSON, sliced by payer', async () => {
    const r = await get(`/clean-claim-rate?${NOV}&by=payer`);
    expect(r.status).toBe(200);
    expect(r.body.total).toMatchObject({ value: 0.5, numerator: 1, denominator: 2 });
    expect(r.body.slices.map((s: { key: string; value: number }) => [s.key, s.value])).toEqual([
      ['aetna', 0],
      ['medicare', 1],
    ]);
    const list = await get('/');
    expect(list.body.measures.map((m: { name: string }) => m.name)).toContain('drug-units');
  });

  test('a standard measure as a FHIR MeasureReport', async () => {
    const r = await get(`/clean-claim-rate?${NOV}&by=payer`, { accept: 'application/fhir+json' });
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/application\/fhir\+json/);
    const report = r.body as MeasureReport;
    expect(report).toMatchObject({
      resourceType: 'MeasureReport',
      status: 'complete',
      type: 'summary',
      measure: MEASURE_CLEAN_CLAIM_RATE,
      period: { start: '2026-11-01', end: '2026-11-30' },
    });
    expect(report.group?.[0]?.measureScore?.value).toBe(0.5);
    expect(report.group?.[0]?.population?.map((p) => [p.code?.coding?.[0]?.code, p.count])).toEqual([
      ['numerator', 1],
      ['denominator', 2],
    ]);
    expect(report.group?.[0]?.stratifier?.[0]?.stratum?.map((s) => s.value?.text)).toEqual([
      'aetna',
      'medicare',
    ]);
    const aging = await get(`/ar-aging?${NOV}`, { accept: 'application/fhir+json' });
    expect(aging.status).toBe(406);
  });

  test('bad input is a 4xx OperationOutcome', async () => {
    const cases: [string, number, RegExp][] = [
      ['/denial-rate?from=2026-11-30&to=2026-11-01', 400, /backwards/],
      ['/denial-rate?from=2023-01-01&to=2026-11-01', 400, /at most 366 days/],
      ['/denial-rate?from=2026-13-01', 400, /must be a date/],
      ['/denial-rate?by=patient', 400, /is one of payer/],
      ['/denial-rate?from=2026-11-01&from=2026-11-02', 400, /given once/],
      ['/denial-rate?patient=Patient/1', 400, /Unknown parameter/],
      ['/no-such-measure', 404, /No measure/],
    ];
    for (const [path, status, message] of cases) {
      const r = await get(path);
      expect([path, r.status, r.body.resourceType]).toEqual([path, status, 'OperationOutcome']);
      expect(JSON.stringify(r.body.issue)).toMatch(message);
    }
  });

  test('no token 401; a token without the scopes 403; another tenant sees nothing of this one', async () => {
    expect((await get(`/denial-rate?${NOV}`, { token: undefined })).status).toBe(401);
    const narrow = await server.token(TENANT, 'system/Claim.rs');
    expect((await get(`/denial-rate?${NOV}`, { token: narrow })).status).toBe(403);
    const other = await server.token('clinic-b', SCOPE);
    const r = await get(`/denial-rate?${NOV}`, { token: other });
    expect(r.status).toBe(200);
    expect(r.body.total).toMatchObject({ numerator: 0, denominator: 0, value: null });
  });

  test('every answer is audited, naming no patient', async () => {
    await get(`/days-in-ar?${NOV}`);
    const audits = await searchAll<AuditEvent>(server.running.store, TENANT, 'AuditEvent');
    const queries = (a: AuditEvent): string[] =>
      (a.entity ?? []).map((e) => Buffer.from(e.query ?? '', 'base64').toString('utf8'));
    const mine = audits.filter((a) => queries(a).some((q) => q.startsWith('api/analytics/days-in-ar')));
    expect(mine.length).toBeGreaterThan(0);
    expect(JSON.stringify(mine)).not.toMatch(/Patient\//);
  });

  test('the key measures as gauges, labelled by tenant and configured payer only', async () => {
    const response = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toMatch(/dripline_analytics_denial_rate\{tenant="rural",payer="medicare"\} 0\n/);
    expect(text).toMatch(/dripline_analytics_denial_rate\{tenant="rural",payer="other"\} 1\n/);
    expect(text).toMatch(/dripline_analytics_clean_claim_rate\{tenant="rural"\} 0.5\n/);
    expect(text).toMatch(
      /dripline_analytics_ar_open_usd\{tenant="rural",payer="other",bucket="0-30"\} 2000\n/,
    );
    expect(text).not.toMatch(/Patient|p-g1|p-g2/);
  });
});
