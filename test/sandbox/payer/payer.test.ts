/**
 * The sandbox payer over real HTTP: its own auth, Claim/$submit adjudication with amounts,
 * each denial rule's CARC, idempotency per submission, replacements and voids, bad input and
 * injected unavailability.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { buildVoidClaim } from '../../../src/claims/build.ts';
import { startSandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import {
  amount,
  call,
  carcs,
  claim,
  CLAIM_ID_SYSTEM,
  claimNumber,
  rarcs,
  SUBMISSION_SYSTEM,
  tokenAt,
  tokenFor,
  total,
} from './helpers.ts';

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

  test('Medicare: the administered amount without a modifier beside its JW line is paid; JW with JZ is not', async () => {
    // CMS: administered amount on one line, the discarded amount on a separate JW line (JZ only when nothing was discarded).
    const split = await submit(
      claim({
        lines: [
          { code: 'J1745', units: 35, ndc: '57894003001' },
          { code: 'J1745', units: 5, modifiers: ['JW'], ndc: '57894003001' },
          { code: '96413', units: 1 },
        ],
      }),
    );
    expect(split.body.item.map((i: unknown) => carcs(i))).toEqual([[], [], []]);
    const both = await submit(claim({ lines: [{ code: 'J1745', units: 35, modifiers: ['JW', 'JZ'] }] }));
    expect(carcs(both.body.item[0])).toEqual(['4']);
    const contradicting = await submit(
      claim({
        lines: [
          { code: 'J1745', units: 35, modifiers: ['JZ'] },
          { code: 'J1745', units: 5, modifiers: ['JW'] },
        ],
      }),
    );
    expect(carcs(contradicting.body.item[0])).toEqual(['4']);
    expect(carcs(contradicting.body.item[1])).toEqual([]);
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

  test('duplicate of a paid claim under a new key: CARC 18; a replacement (frequency 7) of it is not a duplicate', async () => {
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
    // `related` alone does not make a claim a replacement: frequency 1 (or none) is an original.
    const related = await submit(
      claim({ lines, patient, replaces: { claimNumber: claimNumber(first.body) } }),
    );
    expect(carcs(related.body.item[0])).toEqual(['18']);
    const corrected = await submit(
      claim({ lines, patient, frequency: '7', replaces: { claimNumber: claimNumber(first.body) } }),
    );
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

describe('idempotency per submission (the Claim identifiers)', () => {
  /** A claim as Dripline sends it: its claim id and the submission key `<id>-v<version>`. */
  const dripline = (id: string, version: number, options: Parameters<typeof claim>[0] = {}): any =>
    claim({
      ...options,
      id,
      identifier: [
        { system: CLAIM_ID_SYSTEM, value: id },
        { system: SUBMISSION_SYSTEM, value: `${id}-v${version}` },
      ],
    });

  test('the same submission twice is replayed; a fixed resubmission (new submission identifier) is adjudicated anew', async () => {
    const id = `dl-${Math.random().toString(36).slice(2, 10)}`;
    const patient = 'Patient/resubmit';
    const before = (await payer.claimResponses()).length;
    // Version 1 lacks the member id: denied as a whole (Dripline calls that rejected).
    const v1 = dripline(id, 1, { patient, memberId: null });
    const first = await submit(v1);
    expect(first.status).toBe(200);
    expect(first.body.outcome).toBe('error');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The same submission again (no Idempotency-Key header, as Dripline sends it): replayed.
    const replay = await submit(v1);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    // The same identifiers with another body: refused.
    const conflict = await submit({ ...v1, item: v1.item.slice(0, 1) });
    expect(conflict.status).toBe(422);
    expect(conflict.body.resourceType).toBe('OperationOutcome');
    // Fixed and resubmitted: same claim id, new submission identifier, new body → a new adjudication.
    const v2 = dripline(id, 2, { patient });
    const second = await submit(v2);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(second.body.id).not.toBe(first.body.id);
    expect(claimNumber(second.body)).not.toBe(claimNumber(first.body));
    expect(second.body.outcome).toBe('complete');
    expect((await payer.claimResponses()).length).toBe(before + 2);
    // And version 2 again is a replay of version 2.
    const replay2 = await submit(v2);
    expect(replay2.headers.get('idempotent-replayed')).toBe('true');
    expect(replay2.body.id).toBe(second.body.id);

    // Search by any of the claim's identifiers (and by request) finds the right responses.
    const search = async (query: string): Promise<string[]> =>
      (await call(payer.fhirBaseUrl, token, `ClaimResponse?${query}`)).body.entry
        .map((e: any) => e.resource.id)
        .sort();
    const both = [first.body.id, second.body.id].sort();
    expect(await search(`identifier=${encodeURIComponent(`${CLAIM_ID_SYSTEM}|${id}`)}`)).toEqual(both);
    expect(await search(`identifier=${encodeURIComponent(`${SUBMISSION_SYSTEM}|${id}-v2`)}`)).toEqual([
      second.body.id,
    ]);
    expect(await search(`identifier=${encodeURIComponent(`${SUBMISSION_SYSTEM}|${id}-v1`)}`)).toEqual([
      first.body.id,
    ]);
    expect(await search(`identifier=${encodeURIComponent(claimNumber(second.body))}`)).toEqual([
      second.body.id,
    ]);
    expect(await search(`request=Claim/${id}`)).toEqual(both);
  });
});

describe('replacement claims (frequency 7)', () => {
  test('a replacement reverses the original: the amounts add up and its lines are released for the duplicate check', async () => {
    const patient = 'Patient/replace-1';
    const drug = { code: 'J1745', units: 35, modifiers: ['JZ'], ndc: '57894003001' };
    const original = await submit(claim({ patient }));
    expect(original.body.outcome).toBe('complete');
    const paid = original.body.payment.amount.value;
    expect(paid).toBe(1013.42);
    expect(original.body.payment.adjustment).toBeUndefined();

    // The corrected claim bills a second hour (96415 × 2) and names the original by its claim number.
    const lines = [drug, { code: '96413', units: 1 }, { code: '96415', units: 2 }];
    const replacement = await submit(
      claim({ patient, lines, frequency: '7', replaces: { claimNumber: claimNumber(original.body) } }),
    );
    const cr = replacement.body;
    expect(cr.outcome).toBe('complete');
    for (const item of cr.item) {
      expect(carcs(item)).toEqual([]); // the original's lines are no duplicates
    }
    // New benefit 881.42 + 108 + 2 × 24 = 1037.42; the original's 1013.42 is taken back: 24 paid.
    expect(total(cr, 'benefit')).toBe(1037.42);
    expect(cr.payment.adjustment.value).toBe(-paid);
    expect(cr.payment.amount.value).toBe(24);
    const adjustment: number = cr.payment.adjustment.value;
    expect(cr.payment.amount.value).toBeCloseTo(total(cr, 'benefit')! + adjustment, 2);
    expect(cr.payment.adjustmentReason.coding[0].code).toBe('a001');
    expect(cr.payment.adjustmentReason.text).toContain(claimNumber(original.body));
    expect(cr.disposition).toContain(claimNumber(original.body));

    // Released: the original's 96415 × 1 is billable again; the replacement's drug line is not.
    const lateHour = await submit(claim({ patient, lines: [{ code: '96415', units: 1 }] }));
    expect(lateHour.body.outcome).toBe('complete');
    const drugAgain = await submit(claim({ patient, lines: [drug] }));
    expect(carcs(drugAgain.body.item[0])).toEqual(['18']);

    // A second replacement of the (already replaced) original: denied as a duplicate, nothing moves.
    const second = await submit(
      claim({ patient, lines, frequency: '7', replaces: { claimNumber: claimNumber(original.body) } }),
    );
    expect(second.body.outcome).toBe('error');
    expect(second.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['18']);
    for (const item of second.body.item) {
      expect(carcs(item)).toEqual(['18']);
    }
    expect(second.body.payment.adjustment).toBeUndefined();
    expect(second.body.payment.amount.value).toBe(0);

    // The replacement itself can be replaced (found here by our claim id, no claim number):
    // without the second hour, 1037.42 is reversed and 989.42 paid: −48.
    const third = await submit(
      claim({
        patient,
        lines: [drug, { code: '96413', units: 1 }],
        frequency: '7',
        replaces: { claimId: replacement.body.request.reference.split('/')[1] },
      }),
    );
    expect(third.body.outcome).toBe('complete');
    expect(third.body.payment.adjustment.value).toBe(-1037.42);
    expect(total(third.body, 'benefit')).toBe(989.42);
    expect(third.body.payment.amount.value).toBe(-48);
  });

  test('a replacement of a claim the payer does not know is denied as a whole: CARC 129 (M47)', async () => {
    const res = await submit(claim({ frequency: '7', replaces: { claimNumber: 'SBX-NOT-OURS' } }));
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('error');
    expect(res.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['129']);
    for (const item of res.body.item) {
      expect(carcs(item)).toEqual(['129']);
      expect(rarcs(item)).toEqual(['M47']);
    }
    expect(res.body.payment.adjustment).toBeUndefined();
    // Without any `related`, a replacement names nothing: also 129.
    const none = await submit(claim({ frequency: '7' }));
    expect(none.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['129']);
  });

  test("an original of another payer kind or another patient is not this replacement's original", async () => {
    const original = await submit(claim({ patient: 'Patient/replace-2' }));
    const number = claimNumber(original.body);
    const otherKind = await submit(
      claim({
        patient: 'Patient/replace-2',
        frequency: '7',
        replaces: { claimNumber: number },
        preAuth: ['PA12345'],
      }),
      commercial(),
    );
    expect(otherKind.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['129']);
    const otherPatient = await submit(claim({ frequency: '7', replaces: { claimNumber: number } }));
    expect(otherPatient.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['129']);
  });
});

describe('voids (frequency 8)', () => {
  test('a void reverses the original: zero on every line, no CARC, the payment taken back; lines released', async () => {
    const patient = 'Patient/void-1';
    const body = claim({ patient });
    const original = await submit(body);
    const paid = original.body.payment.amount.value;
    expect(paid).toBe(1013.42);
    // The void as Dripline builds it: the original's lines, frequency 8, related → the original.
    const voidClaim = buildVoidClaim(body, {
      id: `void-${body.id}`,
      now: new Date(),
      replaces: { claimId: body.id, payerClaimNumber: claimNumber(original.body) },
    });
    const res = await submit(voidClaim);
    expect(res.status).toBe(200);
    const cr = res.body;
    expect(cr.outcome).toBe('complete');
    expect(cr.error).toBeUndefined();
    expect(cr.item).toHaveLength(body.item.length);
    for (const item of cr.item) {
      expect(amount(item, 'benefit')).toBe(0);
      expect(amount(item, 'eligible')).toBe(0);
      expect(item.adjudication.filter((a: any) => a.reason)).toEqual([]);
    }
    expect(total(cr, 'benefit')).toBe(0);
    expect(cr.payment.amount.value).toBe(-paid);
    expect(cr.payment.adjustment.value).toBe(-paid);
    expect(cr.payment.adjustmentReason.coding[0].code).toBe('a001');
    expect(cr.disposition).toContain(claimNumber(original.body));

    // The original's lines no longer count as paid: the service can be billed again.
    const rebilled = await submit(claim({ patient }));
    expect(rebilled.body.outcome).toBe('complete');

    // Voiding the voided original again, or replacing it: denied (CARC 18, OA), nothing moves.
    const again = await submit({
      ...voidClaim,
      id: `void2-${body.id}`,
      identifier: [{ value: `void2-${body.id}` }],
    });
    expect(again.body.outcome).toBe('error');
    expect(again.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['18']);
    expect(again.body.payment.amount.value).toBe(0);
    expect(again.body.payment.adjustment).toBeUndefined();
    const replaced = await submit(
      claim({ patient, frequency: '7', replaces: { claimNumber: claimNumber(original.body) } }),
    );
    expect(replaced.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['18']);
  });

  test('a void of an unknown claim is denied: CARC 129 (M47)', async () => {
    const body = claim();
    const voidClaim = buildVoidClaim(body, {
      id: `void-${body.id}`,
      now: new Date(),
      replaces: { claimId: body.id, payerClaimNumber: 'SBX-NEVER-ISSUED' },
    });
    const res = await submit(voidClaim);
    expect(res.body.outcome).toBe('error');
    expect(res.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['129']);
    for (const item of res.body.item) {
      expect(carcs(item)).toEqual(['129']);
      expect(rarcs(item)).toEqual(['M47']);
    }
    expect(res.body.payment.amount.value).toBe(0);
    // Named by our claim id only (no claim number): unknown too.
    const byId = await submit({
      ...voidClaim,
      id: `void-b-${body.id}`,
      identifier: [{ value: `void-b-${body.id}` }],
      related: [{ claim: { reference: `Claim/${body.id}` } }],
    });
    expect(byId.body.error.map((e: any) => e.code.coding[0].code)).toEqual(['129']);
  });

  test('a void is not denied for what would deny an original: timely filing, prior authorization, member id', async () => {
    let offsetMs = 0;
    const clocked = await startSandboxPayer({ now: () => new Date(Date.now() + offsetMs) });
    try {
      const scope = 'system/Claim.c';
      const base = `${clocked.url}/commercial/fhir`;
      const post = (t: string, body: unknown) => call(base, t, 'Claim/$submit', { method: 'POST', body });
      const body = claim({ patient: 'Patient/void-late', preAuth: ['PA-2026-0001'] });
      const original = await post(await tokenFor(clocked, scope), body);
      expect(original.body.outcome).toBe('complete');
      const paid = original.body.payment.amount.value;
      expect(paid).toBeGreaterThan(0);

      // 120 days later (commercial timely filing: 90 days after the date of service).
      offsetMs = 120 * 86_400_000;
      const late = await tokenAt(clocked, scope, new Date(Date.now() + offsetMs));
      const lateOriginal = await post(late, claim({ patient: 'Patient/void-late-2' }));
      expect(carcs(lateOriginal.body.item[0])).toEqual(['29', '197']);

      // The void: no prior authorization and no member id either; it only takes the money back.
      const voidClaim = buildVoidClaim(body, {
        id: `void-${body.id}`,
        now: new Date(Date.now() + offsetMs),
        replaces: { claimId: body.id, payerClaimNumber: claimNumber(original.body) },
      }) as any;
      delete voidClaim.insurance[0].preAuthRef;
      delete voidClaim.contained[0].subscriberId;
      const res = await post(late, voidClaim);
      expect(res.body.outcome).toBe('complete');
      for (const item of res.body.item) {
        expect(carcs(item)).toEqual([]);
      }
      expect(res.body.payment.amount.value).toBe(-paid);
    } finally {
      await clocked.stop();
    }
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
