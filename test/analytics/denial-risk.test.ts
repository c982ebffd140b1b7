/**
 * The denial forecast over the tenant's stored history: the history counted from posted payments
 * (first adjudication only, patient responsibility is not a denial, voids left out),
 * `GET /api/analytics/denial-risk?claim=` over real HTTP (hand-computed figures, 400/401/403/404,
 * tenants apart, audited), and the scrub step holding a claim above the tenant's threshold.
 *
 * History of tenant metro, payer acme (the same counts as test/claims/denial-model.test.ts, scaled
 * down): J1745 billed on 4 claims, 2 denied CO-197; 96365 on 4 claims, none denied (one paid 0 with
 * PR-1 deductible only: not a denial). 8 lines, 2 denied; m = 5:
 *   p(all) = 3/10; p(acme) = (2 + 1.5)/13 = 7/26;
 *   p(acme, J1745) = (2 + 35/26)/9 = 29/78; p(acme, J1745, –) = (2 + 5·29/78)/9 = 301/702 ≈ 0.4288.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditEvent, Claim, Resource } from '@medplum/fhirtypes';
import { AnalyticsService } from '../../src/analytics/service.ts';
import { lineOutcomes } from '../../src/analytics/denial-history.ts';
import { denialRiskOf } from '../../src/claims/workflow/denial-risk.ts';
import type { WorkflowContext } from '../../src/claims/workflow/context.ts';
import type { TenantConfig } from '../../src/config/config.ts';
import { searchAll } from '../../src/store/search-all.ts';
import type { TestServer } from '../support/harness.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import { claim, payment } from './fixtures.ts';

const SCOPE = 'system/Claim.rs system/ExplanationOfBenefit.rs';
const TENANT = 'metro';
const ACME = {
  id: 'acme',
  name: 'Acme Health',
  payerId: '60054',
  kind: 'commercial',
  channel: 'x12',
  usage: 'T',
  timelyFilingDays: 180,
};
let server: TestServer;
let token: string;

const co = (carc: string, amount: number) => ({ group: 'CO', carc, amount });

function history(): Resource[] {
  const out: Resource[] = [];
  for (let i = 1; i <= 4; i++) {
    const c = claim(`j${i}`, {
      payer: 'acme',
      date: `2026-10-0${i}`,
      lines: [{ code: 'J1745', units: 10, net: 1000 }],
    });
    const denied = i <= 2;
    out.push(
      c,
      payment(`ej${i}`, c, {
        date: '2026-10-20',
        lines: [
          {
            code: 'J1745',
            units: 10,
            submitted: 1000,
            paid: denied ? 0 : 800,
            adjustments: [denied ? co('197', 1000) : co('45', 200)],
          },
        ],
      }),
    );
  }
  for (let i = 1; i <= 4; i++) {
    const c = claim(`a${i}`, {
      payer: 'acme',
      date: `2026-10-1${i}`,
      lines: [{ code: '96365', units: 1, net: 300 }],
    });
    out.push(
      c,
      payment(`ea${i}`, c, {
        date: '2026-10-25',
        lines: [
          i === 4
            ? {
                code: '96365',
                units: 1,
                submitted: 300,
                paid: 0,
                adjustments: [{ group: 'PR', carc: '1', amount: 300 }],
              }
            : { code: '96365', units: 1, submitted: 300, paid: 250, adjustments: [co('45', 50)] },
        ],
      }),
    );
  }
  // A void bills nothing and is not counted.
  const v = claim('v1', {
    payer: 'acme',
    date: '2026-10-05',
    frequency: '8',
    lines: [{ code: 'J1745', units: 10, net: 1000 }],
  });
  out.push(
    v,
    payment('ev1', v, {
      date: '2026-10-21',
      lines: [{ code: 'J1745', units: 10, submitted: 1000, paid: 0, adjustments: [co('197', 1000)] }],
    }),
  );
  // The claim to score, not yet adjudicated.
  out.push(
    claim('new', {
      payer: 'acme',
      date: '2026-11-02',
      state: 'built',
      lines: [{ code: 'J1745', units: 10, net: 1000 }],
    }),
  );
  return out;
}

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    { ingest: false, chargeCapture: false, claims: false },
    {
      tenants: [
        {
          id: TENANT,
          name: 'Metro infusion',
          timeZone: 'America/New_York',
          payers: [ACME],
          denialRisk: { holdAbove: 0.4 },
        },
        { id: 'rural', name: 'Rural infusion', timeZone: 'America/Chicago', payers: [ACME] },
      ],
    },
  );
  for (const r of history()) {
    await server.running.store.resources.create(TENANT, r, { id: r.id as string });
  }
  token = await server.token(TENANT, SCOPE);
});

afterAll(async () => {
  await server?.stop();
});

const tenantOf = (id: string): TenantConfig => server.config.tenants.find((t) => t.id === id) as TenantConfig;

describe('denial forecast history', () => {
  test('first adjudications only: PR is not a denial, voids are left out', async () => {
    const service = new AnalyticsService({ store: server.running.store, now: () => new Date() });
    const data = await service.reader.data(TENANT, 'America/New_York');
    const outcomes = lineOutcomes(data);
    expect(outcomes).toHaveLength(8);
    expect(outcomes.filter((o) => o.denied)).toEqual([
      { payer: 'acme', code: 'J1745', modifiers: [], denied: true, carcs: ['197'] },
      { payer: 'acme', code: 'J1745', modifiers: [], denied: true, carcs: ['197'] },
    ]);
  });
});

describe('GET /api/analytics/denial-risk', () => {
  const url = (q: string): string => `${server.url}/api/analytics/denial-risk${q}`;

  test("scores the claim from the tenant's history, hand-computed, with the counts and reasons", async () => {
    const res = await fhirFetch(url('?claim=new'), token, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      claim: 'new',
      payer: 'acme',
      historyLines: 8,
      priorWeight: 5,
      holdAbove: 0.4,
      risk: 0.4288,
      held: true,
      reasons: [{ carc: '197', weight: 0.4288, lines: [1] }],
    });
    expect(res.body.lines[0].basis).toEqual([
      { level: 'all', lines: 8, denied: 2, probability: 0.3 },
      { level: 'payer', lines: 8, denied: 2, probability: 0.2692 },
      { level: 'payer-code', lines: 4, denied: 2, probability: 0.3718 },
      { level: 'payer-code-modifiers', lines: 4, denied: 2, probability: 0.4288 },
    ]);
    const audits = await searchAll<AuditEvent>(server.running.store, TENANT, 'AuditEvent');
    expect(audits.some((a) => a.entity?.some((e) => e.what?.reference === 'Claim/new'))).toBe(true);
  });

  test('the model is counted again once a payment is posted or taken back: the next answer counts it', async () => {
    const json = { headers: { accept: 'application/json' } };
    const history = async (): Promise<[number, number]> => {
      const res = await fhirFetch(url('?claim=new'), token, json);
      expect(res.status).toBe(200);
      const all = res.body.lines[0].basis[0] as { lines: number; denied: number };
      return [res.body.historyLines, all.denied];
    };
    expect(await history()).toEqual([8, 2]);
    const late = claim('late', {
      payer: 'acme',
      date: '2026-10-25',
      lines: [{ code: 'J1745', units: 10, net: 1000 }],
    });
    const denied = payment('late-e', late, {
      date: '2026-11-05',
      lines: [{ code: 'J1745', units: 10, submitted: 1000, paid: 0, adjustments: [co('197', 1000)] }],
    });
    const store = server.running.store;
    await store.resources.create(TENANT, late, { id: 'late' });
    await store.resources.create(TENANT, denied, { id: 'late-e' });
    expect(await history()).toEqual([9, 3]);
    await store.resources.update(TENANT, { ...denied, status: 'entered-in-error' });
    expect(await history()).toEqual([8, 2]);
  });

  test('bad input: 400 without or with a bad claim, unknown parameter; 404 unknown claim; other tenant sees nothing', async () => {
    const json = { headers: { accept: 'application/json' } };
    for (const q of ['', '?claim=', '?claim=a&claim=b', '?claim=new&x=1', '?claim=%2F..']) {
      const res = await fhirFetch(url(q), token, json);
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
    expect((await fhirFetch(url('?claim=nope'), token, json)).status).toBe(404);
    const rural = await server.token('rural', SCOPE);
    expect((await fhirFetch(url('?claim=new'), rural, json)).status).toBe(404);
    expect((await fhirFetch(url('?claim=new'), undefined, json)).status).toBe(401);
    const narrow = await server.token(TENANT, 'system/Claim.rs');
    expect((await fhirFetch(url('?claim=new'), narrow, json)).status).toBe(403);
  });
});

describe('the scrub step', () => {
  test("holds a claim above the tenant's threshold; without a threshold the risk is information", async () => {
    const service = new AnalyticsService({ store: server.running.store, now: () => new Date() });
    const ctx = {
      deps: { denialModel: (t: TenantConfig) => service.denialModel(t) },
    } as unknown as WorkflowContext;
    const stored = (await server.running.store.resources.read(TENANT, 'Claim', 'new')) as Claim;
    const held = await denialRiskOf(ctx, tenantOf(TENANT), stored, 'acme');
    expect(held.map((f) => [f.ruleId, f.severity])).toEqual([['denial-risk-hold', 'error']]);
    const relaxed = { ...tenantOf(TENANT), denialRisk: { holdAbove: 0.5 } };
    const info = await denialRiskOf(ctx, relaxed, stored, 'acme');
    expect(info.map((f) => [f.ruleId, f.severity])).toEqual([['denial-risk', 'information']]);
    const noPort = { deps: {} } as unknown as WorkflowContext;
    expect(await denialRiskOf(noPort, tenantOf(TENANT), stored, 'acme')).toEqual([]);
  });
});
