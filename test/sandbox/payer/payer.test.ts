/**
 * The sandbox payer over real HTTP: its own auth, Claim/$submit adjudication with amounts,
 * each denial rule's CARC, idempotency, bad input and injected unavailability.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startSandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import { amount, call, carcs, claim, rarcs, tokenFor } from './helpers.ts';

let payer: SandboxPayer;
let token: string;
/** A date `n` days before today (UTC), for dates of service. */
const daysAgo = (n: number): string => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  payer = await startSandboxPayer();
  token = await tokenFor(payer, 'system/Claim.c system/ClaimResponse.rs');
});

afterAll(async () => {
  await payer.stop();
});

const submit = (body: unknown, base = payer.fhirBaseUrl, headers: Record<string, string> = {}) =>
  call(base, token, 'Claim/$submit', { method: 'POST', body, headers });
const medicaid = (): string => `${payer.url}/medicaid/fhir`;
const commercial = (): string => `${payer.url}/commercial/fhir`;

describe('public endpoints and authorization', () => {
  test('metadata lists Claim $submit and the token endpoint', async () => {
    const res = await call(payer.fhirBaseUrl, undefined, 'metadata');
    expect(res.status).toBe(200);
    const claimResource = res.body.rest[0].resource.find((r: any) => r.type === 'Claim');
    expect(claimResource.operation.map((o: any) => o.name)).toEqual(['submit']);
    expect(JSON.stringify(res.body.rest[0].security)).toContain(payer.tokenUrl);
    expect((await call(medicaid(), undefined, 'metadata')).status).toBe(200);
  });

  test('$submit and reads need a bearer token with the right scope', async () => {
    const none = await call(payer.fhirBaseUrl, undefined, 'Claim/$submit', { method: 'POST', body: claim() });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await call(payer.fhirBaseUrl, 'garbage', 'ClaimResponse')).status).toBe(401);
    const readOnly = await tokenFor(payer, 'system/ClaimResponse.rs');
    const forbidden = await call(payer.fhirBaseUrl, readOnly, 'Claim/$submit', {
      method: 'POST',
      body: claim(),
    });
    expect(forbidden.status).toBe(403);
    const all = await tokenFor(payer, 'system/*.*');
    const ok = await call(payer.fhirBaseUrl, all, 'Claim/$submit', { method: 'POST', body: claim() });
    expect(ok.status).toBe(200);
  });
});

describe('clean claim', () => {
  test('adjudicates every line with fee-schedule amounts (Medicare 80/20)', async () => {
    const body = claim({
      lines: [
        { code: 'J1745', units: 35, modifiers: ['JZ'], ndc: '57894003001', charge: 2000 },
        { code: '96413', units: 1 },
        { code: '96415', units: 1 },
      ],
    });
    const res = await submit(body);
    expect(res.status).toBe(200);
    const cr = res.body;
    expect(cr.resourceType).toBe('ClaimResponse');
    expect(cr.status).toBe('active');
    expect(cr.use).toBe('claim');
    expect(cr.outcome).toBe('complete');
    expect(cr.request.reference).toBe(`Claim/${body.id}`);
    const [drug, initial, hour] = cr.item;
    // J1745: 35 units × $31.479 (ASP + 6 % payment limit) = 1101.765 → 1101.77
    expect(amount(drug, 'submitted')).toBe(2000);
    expect(amount(drug, 'eligible')).toBe(1101.77);
    expect(amount(drug, 'coinsurance')).toBe(220.35);
    expect(amount(drug, 'benefit')).toBe(881.42);
    expect(carcs(drug)).toEqual([]);
    // CO-45 for the charge above the allowed amount
    const co45 = drug.adjudication.find((a: any) => a.reason?.coding?.[0]?.code === '45');
    expect(co45.amount.value).toBe(898.23);
    // 96413 sandbox $135, submitted = allowed when no charge is sent
    expect(amount(initial, 'submitted')).toBe(135);
    expect(amount(initial, 'eligible')).toBe(135);
    expect(amount(initial, 'benefit')).toBe(108);
    expect(amount(hour, 'benefit')).toBe(24);
    const total = (code: string): number =>
      cr.total.find((t: any) => t.category.coding[0].code === code).amount.value;
    expect(total('submitted')).toBe(2165);
    expect(total('eligible')).toBe(1266.77);
    expect(total('benefit')).toBe(1013.42);
    expect(total('memberliability')).toBe(253.35);
    expect(cr.payment.amount.value).toBe(1013.42);
  });

  test('a PAS-style Bundle whose first entry is the Claim is accepted; Coverage may be an entry', async () => {
    const c = claim();
    const coverage = { ...c.contained[0], id: 'cov-1' };
    delete c.contained;
    c.insurance[0].coverage = { reference: 'Coverage/cov-1' };
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: c }, { resource: coverage }],
    };
    const res = await submit(bundle);
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('complete');
  });

  test('cost sharing is configurable (deductible, copay)', async () => {
    const other = await startSandboxPayer({
      costSharing: { medicare: { deductible: 100, copayPerLine: 5 } },
    });
    try {
      const t = await tokenFor(other, 'system/Claim.c');
      const res = await call(other.fhirBaseUrl, t, 'Claim/$submit', {
        method: 'POST',
        body: claim({
          lines: [
            { code: '96413', units: 1 },
            { code: '96415', units: 1 },
          ],
        }),
      });
      const [a, b] = res.body.item;
      // 96413: 135 − 100 deductible = 35; coinsurance 7; copay 5; benefit 23
      expect([
        amount(a, 'deductible'),
        amount(a, 'coinsurance'),
        amount(a, 'copay'),
        amount(a, 'benefit'),
      ]).toEqual([100, 7, 5, 23]);
      // 96415: 30, deductible met: coinsurance 6, copay 5, benefit 19
      expect(amount(b, 'deductible')).toBeUndefined();
      expect(amount(b, 'benefit')).toBe(19);
    } finally {
      await other.stop();
    }
  });
});

describe('denial rules', () => {
  test('missing prior auth (commercial): CARC 197; malformed number: CARC 15; a good number pays', async () => {
    const none = await submit(claim(), commercial());
    expect(carcs(none.body.item[0])).toEqual(['197']);
    expect(amount(none.body.item[0], 'benefit')).toBe(0);
    expect(none.body.outcome).toBe('partial');
    const bad = await submit(claim({ preAuth: ['x!'] }), commercial());
    expect(carcs(bad.body.item[0])).toEqual(['15']);
    const good = await submit(claim({ preAuth: ['PA-2026-0001'] }), commercial());
    expect(good.body.outcome).toBe('complete');
  });

  test('NCCI column-2 code without an allowed modifier: CARC 97; with 59 it pays; indicator 0: 234', async () => {
    const lines = (mods?: string[]) => [
      { code: '96413', units: 1 },
      { code: '96365', units: 1, ...(mods ? { modifiers: mods } : {}) },
    ];
    const res = await submit(claim({ lines: lines() }));
    expect(carcs(res.body.item[1])).toEqual(['97']);
    expect(carcs(res.body.item[0])).toEqual([]);
    expect((await submit(claim({ lines: lines(['59']) }))).body.outcome).toBe('complete');
    const flush = await submit(
      claim({
        lines: [
          { code: '96413', units: 1 },
          { code: '96523', units: 1, modifiers: ['59'] },
        ],
      }),
    );
    expect(carcs(flush.body.item[1])).toEqual(['234']);
  });

  test('missing NDC for Medicaid: CARC 16 + RARC M119', async () => {
    const res = await submit(
      claim({ lines: [{ code: 'J1745', units: 35 }], preAuth: ['PA123456'] }),
      medicaid(),
    );
    expect(carcs(res.body.item[0])).toEqual(['16']);
    expect(rarcs(res.body.item[0])).toEqual(['M119']);
    expect(res.body.outcome).toBe('error');
  });

  test('Medicare single-dose drug without JW/JZ: CARC 4', async () => {
    const res = await submit(claim({ lines: [{ code: 'J1745', units: 35 }] }));
    expect(carcs(res.body.item[0])).toEqual(['4']);
  });

  test('units above the MUE: CARC 151', async () => {
    const res = await submit(claim({ lines: [{ code: 'J1745', units: 151, modifiers: ['JZ'] }] }));
    expect(carcs(res.body.item[0])).toEqual(['151']);
  });

  test('diagnosis not supporting the drug: CARC 11; no diagnosis at all: CARC 16 + M76', async () => {
    const res = await submit(claim({ dx: ['I10'] }));
    expect(carcs(res.body.item[0])).toEqual(['11']);
    expect(carcs(res.body.item[1])).toEqual([]);
    const none = await submit(claim({ dx: [] }));
    expect(carcs(none.body.item[1])).toEqual(['16']);
    expect(rarcs(none.body.item[1])).toEqual(['M76']);
  });

  test('duplicate of a paid claim under a new key: CARC 18; a corrected claim (related) is not a duplicate', async () => {
    const lines = [{ code: '96365', units: 1, date: daysAgo(24) }];
    const patient = 'Patient/dup';
    const first = await submit(claim({ lines, patient }));
    expect(first.body.outcome).toBe('complete');
    const again = await submit(claim({ lines, patient }));
    expect(carcs(again.body.item[0])).toEqual(['18']);
    expect(
      again.body.item[0].adjudication.find((a: any) => a.reason?.coding?.[0]?.code === '18').category
        .coding[0].code,
    ).toBe('OA');
    const corrected = await submit(claim({ lines, patient, related: true }));
    expect(corrected.body.outcome).toBe('complete');
  });

  test('member id missing: CARC 31 on every line and a claim-level error', async () => {
    const res = await submit(claim({ memberId: null }));
    expect(res.body.outcome).toBe('error');
    for (const item of res.body.item) {
      expect(carcs(item)).toContain('31');
    }
    expect(res.body.error[0].code.coding[0].code).toBe('31');
  });

  test('late claim: CARC 29 (Medicare 365 days, commercial 90)', async () => {
    const old = [{ code: '96365', units: 1, date: daysAgo(366) }];
    expect(carcs((await submit(claim({ lines: old }))).body.item[0])).toEqual(['29']);
    const ninetyOne = [{ code: '96365', units: 1, date: daysAgo(91) }];
    expect(carcs((await submit(claim({ lines: ninetyOne }), commercial())).body.item[0])).toEqual(['29']);
    expect((await submit(claim({ lines: ninetyOne }))).body.outcome).toBe('complete');
  });

  test('the /fhir base takes the payer kind from the insurer identifier', async () => {
    const res = await submit(
      claim({ lines: [{ code: 'J1745', units: 35, modifiers: ['JZ'] }], insurer: 'SBX-COMMERCIAL' }),
    );
    expect(carcs(res.body.item[0])).toEqual(['197']);
  });
});

describe('idempotency and storage', () => {
  test('same claim + same Idempotency-Key answers the same ClaimResponse, adjudicated once', async () => {
    const body = claim();
    const before = (await payer.claimResponses()).length;
    const first = await submit(body, payer.fhirBaseUrl, { 'idempotency-key': 'k-1' });
    const [a, b] = await Promise.all([
      submit(body, payer.fhirBaseUrl, { 'idempotency-key': 'k-1' }),
      submit(body, payer.fhirBaseUrl, { 'idempotency-key': 'k-1' }),
    ]);
    expect(a.body).toEqual(first.body);
    expect(b.body).toEqual(first.body);
    expect(a.headers.get('idempotent-replayed')).toBe('true');
    expect((await payer.claimResponses()).length).toBe(before + 1);
    // Same key, different body: refused.
    const changed = { ...body, item: body.item.slice(0, 1) };
    expect((await submit(changed, payer.fhirBaseUrl, { 'idempotency-key': 'k-1' })).status).toBe(422);
    // A new key is a new submission: adjudicated again, and the paid lines are now duplicates.
    const second = await submit(body, payer.fhirBaseUrl, { 'idempotency-key': 'k-2' });
    expect(second.body.id).not.toBe(first.body.id);
    expect(carcs(second.body.item[0])).toEqual(['18']);
  });

  test('ClaimResponse read and search by request and by the claim identifier', async () => {
    const body = claim();
    const { body: cr } = await submit(body);
    const read = await call(payer.fhirBaseUrl, token, `ClaimResponse/${cr.id}`);
    expect(read.body).toEqual(cr);
    const search = await call(payer.fhirBaseUrl, token, `ClaimResponse?request=Claim/${body.id}`);
    expect(search.body.resourceType).toBe('Bundle');
    expect(search.body.entry.map((e: any) => e.resource.id)).toEqual([cr.id]);
    const ident = body.identifier[0];
    const byIdent = await call(
      payer.fhirBaseUrl,
      token,
      `ClaimResponse?identifier=${encodeURIComponent(`${ident.system}|${ident.value}`)}`,
    );
    expect(byIdent.body.entry.map((e: any) => e.resource.id)).toEqual([cr.id]);
    expect((await call(payer.fhirBaseUrl, token, 'ClaimResponse?patient=x')).status).toBe(400);
    expect((await call(payer.fhirBaseUrl, token, 'ClaimResponse/nope')).status).toBe(404);
  });
});

describe('bad input and faults', () => {
  test.each([
    ['not a resource', { hello: 1 }],
    ['a Patient', { resourceType: 'Patient' }],
    [
      'a Bundle not starting with a Claim',
      { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient' } }] },
    ],
    ['a draft claim', { ...claim(), status: 'draft' }],
    ['a claim without items', { ...claim(), item: [] }],
    ['an item with zero units', claim({ lines: [{ code: '96365', units: 0 }] })],
    ['an invalid FHIR element', { ...claim(), status: 42 }],
  ])('%s → 400 OperationOutcome', async (_name, body) => {
    const res = await submit(body);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('malformed JSON → 400', async () => {
    const res = await fetch(`${payer.fhirBaseUrl}/Claim/$submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: '{"resourceType":',
    });
    expect(res.status).toBe(400);
  });

  test('setBehaviour({ unavailable: 503 }) answers 503 everywhere until reset', async () => {
    payer.setBehaviour({ unavailable: 503 });
    try {
      const res = await submit(claim());
      expect(res.status).toBe(503);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect((await call(payer.fhirBaseUrl, undefined, 'metadata')).status).toBe(503);
    } finally {
      payer.setBehaviour({});
    }
    expect((await submit(claim())).status).toBe(200);
  });

  test('delayMs delays answers', async () => {
    payer.setBehaviour({ delayMs: 150 });
    try {
      const start = Date.now();
      await call(payer.fhirBaseUrl, undefined, 'metadata');
      expect(Date.now() - start).toBeGreaterThanOrEqual(140);
    } finally {
      payer.setBehaviour({});
    }
  });
});
