/**
 * What-if reimbursement (src/remittance/contracts/what-if.ts, src/analytics/what-if.ts) over real
 * HTTP and the CLI's parser, on hand-priced fee schedules:
 *
 * Contracts: acme-2026 (acme: J1745 $30/unit, 96365 $150), medicare-2026 (medicare: J1745 $20,
 * 96365 $100), acme-proposed (acme, from 2027: J1745 $33, 96365 $160).
 * November claims in force: c1 acme J1745×10 + 96365×1 (450), c2 medicare J1745×5 (100), c3 acme
 * J9999×1 (no term prices it). Left out: a void, a replaced claim, a December claim.
 * - As billed: 450 + 100 = 550, 1 line not priced; acme 3 of 4 lines, medicare 1.
 * - mix medicare:0.5,acme:0.5: J1745×10 (300+200)/2 = 250, 96365 (150+100)/2 = 125, J1745×5
 *   (150+100)/2 = 125 → 500 (acme 300, medicare 200), difference −50.
 * - contract acme:acme-proposed: 330 + 160 + 100 = 590, difference +40.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, Resource } from '@medplum/fhirtypes';
import type { TestServer } from '../support/harness.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import { claim } from './fixtures.ts';

const TENANT = 'metro';
const SCOPE = 'system/Claim.rs';
let server: TestServer;
let token: string;
const payer = (id: string, kind: string) => ({
  id,
  name: id,
  payerId: id.toUpperCase(),
  kind,
  channel: 'fhir',
});

function withEncounter(c: Claim & { id: string }, encounter: string): Claim & { id: string } {
  return { ...c, item: c.item?.map((i) => ({ ...i, encounter: [{ reference: `Encounter/${encounter}` }] })) };
}

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-what-if-'));
  const contracts = path.join(dir, 'contracts.json');
  const fees = (id: string, rates: Record<string, number>) => [{ id, kind: 'fee-schedule', rates }];
  writeFileSync(
    contracts,
    JSON.stringify({
      title: 'What-if test contracts',
      contracts: [
        {
          id: 'acme-2026',
          payer: 'acme',
          name: 'Acme PPO',
          effective: '2026-01-01',
          through: '2026-12-31',
          source: 'test',
          terms: fees('fees', { J1745: 30, '96365': 150 }),
        },
        {
          id: 'medicare-2026',
          payer: 'medicare',
          name: 'Medicare',
          effective: '2026-01-01',
          source: 'test',
          terms: fees('fees', { J1745: 20, '96365': 100 }),
        },
        {
          id: 'acme-proposed',
          payer: 'acme',
          name: 'Acme PPO 2027 offer',
          effective: '2027-01-01',
          source: 'test',
          terms: fees('fees', { J1745: 33, '96365': 160 }),
        },
      ],
    }),
  );
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    { ingest: false, chargeCapture: false, claims: false },
    {
      tenants: [
        {
          id: TENANT,
          name: 'Metro infusion',
          timeZone: 'America/New_York',
          payers: [payer('acme', 'commercial'), payer('medicare', 'medicare')],
          contracts: { file: contracts },
        },
      ],
    },
  );
  const nov = '2026-11-03';
  const resources: Resource[] = [
    withEncounter(
      claim('c1', {
        payer: 'acme',
        date: nov,
        lines: [
          { code: 'J1745', units: 10, net: 1000 },
          { code: '96365', units: 1, net: 300 },
        ],
      }),
      'e1',
    ),
    claim('c2', { payer: 'medicare', date: '2026-11-30', lines: [{ code: 'J1745', units: 5, net: 500 }] }),
    claim('c3', { payer: 'acme', date: '2026-11-01', lines: [{ code: 'J9999', units: 1, net: 50 }] }),
    claim('c4', {
      payer: 'acme',
      date: nov,
      frequency: '8',
      lines: [{ code: 'J1745', units: 10, net: 1000 }],
    }),
    claim('c5', {
      payer: 'acme',
      date: nov,
      replacedBy: 'c1',
      lines: [{ code: 'J1745', units: 9, net: 900 }],
    }),
    claim('c6', { payer: 'acme', date: '2026-12-01', lines: [{ code: 'J1745', units: 10, net: 1000 }] }),
  ];
  for (const r of resources) {
    await server.running.store.resources.create(TENANT, r, { id: r.id as string });
  }
  token = await server.token(TENANT, SCOPE);
});

afterAll(async () => {
  await server?.stop();
});

const get = (q: string, t: string | undefined = token) =>
  fhirFetch(`${server.url}/api/analytics/what-if?${q}`, t, { headers: { accept: 'application/json' } });

describe('GET /api/analytics/what-if', () => {
  test('a month under another payer mix: every line priced by each payer, weighted', async () => {
    const res = await get('month=2026-11&mix=medicare:0.5,acme:0.5');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      month: '2026-11',
      claims: 3,
      lines: 4,
      billed: 1850,
      current: {
        allowed: 550,
        notPriced: 1,
        byPayer: [
          { payer: 'acme', share: 0.75, allowed: 450, notPriced: 1 },
          { payer: 'medicare', share: 0.25, allowed: 100, notPriced: 0 },
        ],
      },
      scenario: {
        allowed: 500,
        notPriced: 1,
        byPayer: [
          { payer: 'acme', share: 0.5, allowed: 300, notPriced: 1 },
          { payer: 'medicare', share: 0.5, allowed: 200, notPriced: 1 },
        ],
      },
      difference: -50,
      claimIds: ['c1', 'c2', 'c3'],
    });
  });

  test('other contract terms: a proposed contract of the same file prices the payer’s lines', async () => {
    const res = await get('month=2026-11&contract=acme:acme-proposed');
    expect(res.status).toBe(200);
    expect(res.body.current.allowed).toBe(550);
    expect(res.body.scenario.allowed).toBe(590);
    expect(res.body.difference).toBe(40);
  });

  test('one encounter: only its claims', async () => {
    const res = await get('encounter=e1&mix=medicare:1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ encounter: 'e1', claimIds: ['c1'], lines: 2 });
    expect(res.body.current.allowed).toBe(450);
    expect(res.body.scenario.allowed).toBe(300);
  });

  test('bad input is a 400 OperationOutcome; no token 401; a token without Claim search 403', async () => {
    for (const q of [
      'month=2026-13&mix=acme:1',
      'month=2026-11',
      'encounter=e1&month=2026-11&mix=acme:1',
      'mix=acme:1',
      'month=2026-11&mix=acme:0.5,medicare:0.4',
      'month=2026-11&mix=aetna:1',
      'month=2026-11&mix=acme:x',
      'month=2026-11&contract=acme:nope',
      'month=2026-11&contract=aetna:acme-2026',
      'month=2026-11&mix=acme:1&mix=acme:1',
      'month=2026-11&mix=acme:1&other=1',
    ]) {
      const res = await get(q);
      expect([q, res.status, res.body.resourceType]).toEqual([q, 400, 'OperationOutcome']);
    }
    expect((await get('month=2026-11&mix=acme:1', '')).status).toBe(401);
    const narrow = await server.token(TENANT, 'system/Task.rs');
    expect((await get('month=2026-11&mix=acme:1', narrow)).status).toBe(403);
  });
});
