/**
 * Appeals over HTTP on a running server (src/remittance/appeals/): a CO-4 denial posted from an
 * 835 becomes a work item; the appeal opened from it (once: the same request finds it) has the
 * payer's level and deadline; its packet is a PDF whose text names the provider, patient, claim
 * and payer numbers, the denied amount, the reason in the payer's codes with our words, the
 * documented facts and an index of attachments; the payer's next payment of the denied line
 * overturns it with the dollars recovered. Bad input: a claim that is not denied (422), a recovered
 * amount above what was appealed or a decision date before the decision appealed (400), a token
 * without the scopes (403).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Task } from '@medplum/fhirtypes';
import { searchAll } from '../../../src/store/search-all.ts';
import { carcInfo, rarcInfo } from '../../../src/remittance/codes.ts';
import { write835ToString } from '../../../src/x12/835/write835.ts';
import type { TestServer } from '../../support/harness.ts';
import { startTestServer } from '../../support/harness.ts';
import { pdfText } from '../../support/pdf-text.ts';
import { waitFor } from '../../support/wait.ts';
import { paymentOf, remittance, seedSubmittedClaims, TENANT, TENANTS, WRITE_OPTIONS } from '../support.ts';

// The server's clock stands at the fixtures' day (the 835 is dated 2026-12-03), whatever day the suite runs.
const NOW = Date.parse('2026-12-04T15:00:00Z');
const SCOPE = [
  'system/DocumentReference.c system/ExplanationOfBenefit.c system/PaymentReconciliation.c system/Claim.u',
  'system/Task.crus system/Claim.r system/Patient.r system/Coverage.r system/ExplanationOfBenefit.r system/ClaimResponse.r',
].join(' ');

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn', CLOCK_OFFSET_MS: String(NOW - Date.now()) },
    { ingest: false, chargeCapture: false, claims: false, claimWorkflow: { tenants: TENANTS } },
  );
  token = await server.token(TENANT, SCOPE);
});

afterAll(async () => {
  await server?.stop();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  bearer: string = token,
): Promise<{ status: number; body: any; type: string | null; bytes: Uint8Array }> {
  const response = await fetch(`${server.url}/api/remittance${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(typeof body === 'string' ? { 'content-type': 'application/edi-x12' } : {}),
      ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get('content-type');
  const text = type?.includes('json') ? new TextDecoder().decode(bytes) : '';
  return { status: response.status, body: text ? JSON.parse(text) : undefined, type, bytes };
}

describe('appeals', () => {
  let claimId = '';
  let workItem = '';
  let appealId = '';

  test('a denied line becomes a work item; the appeal opened from it has its level and deadline, once', async () => {
    const store = server.running.store;
    const [claim] = await seedSubmittedClaims(store, 1, 701);
    claimId = claim!.id;
    const text = await write835ToString(
      [remittance([paymentOf(claim!, { denyWaste: true })], { trace: 'APPEAL-1' })],
      WRITE_OPTIONS,
    );
    expect((await call('POST', '/835', text)).status).toBe(202);
    const items = await waitFor('the denial work item', async () => {
      const found = (await searchAll<Task>(store, TENANT, 'Task')).filter(
        (t) => t.focus?.reference === `Claim/${claimId}`,
      );
      return found.length > 0 ? found : undefined;
    });
    workItem = items[0]!.id!;

    const opened = await call('POST', '/appeals', { workItem, reason: 'waste documented' });
    expect(opened.status).toBe(201);
    // Acme is commercial: first level, 180 days from the payer's decision (the 835 of 2026-12-03).
    expect(opened.body.appeal).toMatchObject({
      level: 'first-level',
      outcome: 'open',
      claim: claimId,
      workItem,
      decided: '2026-12-03',
      deadline: '2027-06-01',
      denied: 198.02,
    });
    appealId = opened.body.appeal.id;
    const again = await call('POST', '/appeals', { claim: claimId });
    expect(again.status).toBe(200);
    expect(again.body.appeal.id).toBe(appealId);
    const listed = await call('GET', '/appeals?outcome=open');
    expect(listed.body.appeals.map((a: { id: string }) => a.id)).toEqual([appealId]);
  });

  test('the packet is a PDF naming the numbers, the denied amount, the codes with words, the facts and the attachments', async () => {
    const packet = await call('GET', `/appeals/${appealId}/packet`);
    expect(packet.status).toBe(200);
    expect(packet.type).toBe('application/pdf');
    const text = await pdfText(packet.bytes);
    const provider = TENANTS[0]!.billing!;
    for (const expected of [
      'Request for First-level appeal',
      provider.npi,
      provider.taxId,
      'Acme Health Plan (payer ID 60054)',
      `Our claim number: ${claimId}`,
      `Payer claim number: ICN-${claimId}`,
      'Amount appealed: $198.02',
      'Filing deadline: 2027-06-01',
      `CO-4: ${carcInfo('4').label}`,
      `N362: ${rarcInfo('N362').label ?? ''}`,
      'discarded (wasted) drug, JW',
      'Attachments',
      `(Claim/${claimId})`,
    ]) {
      // Compared without whitespace: a table cell or a long line wraps where it likes.
      expect(text.replace(/\s+/g, '')).toContain(expected.replace(/\s+/g, ''));
    }
    expect(text).toMatch(/J1745 Infliximab/);
  });

  test("the payer's next payment of the denied line decides the appeal (partly overturned) with the dollars recovered", async () => {
    const store = server.running.store;
    const claim = (await store.resources.read(TENANT, 'Claim', claimId)) as any;
    const paidAgain = paymentOf(claim, { payerClaimNumber: `ICN-${claimId}-R` });
    const text = await write835ToString([remittance([paidAgain], { trace: 'APPEAL-2' })], {
      ...WRITE_OPTIONS,
      controlNumbers: { isa: 102, gs: 102 },
    });
    expect((await call('POST', '/835', text)).status).toBe(202);
    const decided = await waitFor('the appeal decided', async () => {
      const got = await call('GET', `/appeals/${appealId}`);
      return got.body.outcome !== 'open' ? got.body : undefined;
    });
    // The JW line paid at 80 % of its $198.02 charge.
    expect(decided).toMatchObject({
      outcome: 'partly-overturned',
      recovered: 158.42,
      answeredOn: '2026-12-03',
    });
    // Entering the same answer again by hand conflicts with what the payer said.
    const other = await call('POST', `/appeals/${appealId}/outcome`, { outcome: 'upheld' });
    expect(other.status).toBe(409);
  });

  test('bad input: a claim not denied 422, no work item 404, recovered above the amount or a backwards date 400, no scope 403', async () => {
    const [paid] = await seedSubmittedClaims(server.running.store, 1, 801);
    const notDenied = await call('POST', '/appeals', { claim: paid!.id });
    expect(notDenied.status).toBe(422);
    expect(notDenied.body.resourceType).toBe('OperationOutcome');
    expect((await call('POST', '/appeals', { workItem: 'wi-none' })).status).toBe(404);
    expect((await call('POST', '/appeals', { nothing: true })).status).toBe(400);

    // A second claim's appeal, to enter outcomes on.
    const [claim] = await seedSubmittedClaims(server.running.store, 1, 901);
    const text = await write835ToString(
      [remittance([paymentOf(claim!, { denyWaste: true })], { trace: 'APPEAL-3' })],
      { ...WRITE_OPTIONS, controlNumbers: { isa: 103, gs: 103 } },
    );
    expect((await call('POST', '/835', text)).status).toBe(202);
    const opened = await waitFor('the second appeal', async () => {
      const got = await call('POST', '/appeals', { claim: claim!.id });
      return got.status === 201 ? got.body.appeal : undefined;
    });
    const tooMuch = await call('POST', `/appeals/${opened.id}/outcome`, {
      outcome: 'partly-overturned',
      recovered: 500,
    });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.resourceType).toBe('OperationOutcome');
    const backwards = await call('POST', `/appeals/${opened.id}/outcome`, {
      outcome: 'upheld',
      decided: '2026-11-01',
    });
    expect(backwards.status).toBe(400);
    expect(backwards.body.issue[0].details.text).toMatch(/outside the appeal's time/);
    const upheld = await call('POST', `/appeals/${opened.id}/outcome`, {
      outcome: 'upheld',
      decided: '2026-12-04',
    });
    expect(upheld.status).toBe(200);
    expect(upheld.body.appeal).toMatchObject({ outcome: 'upheld', recovered: 0 });
    // Upheld: the next level is the second level, 60 days from the first-level decision.
    const second = await call('POST', '/appeals', { claim: claim!.id });
    expect(second.status).toBe(201);
    expect(second.body.appeal).toMatchObject({
      level: 'second-level',
      deadline: '2027-02-02',
      previousAppeal: opened.id,
    });

    const readOnly = await server.token(TENANT, 'system/Claim.r');
    const forbidden = await call('POST', '/appeals', { claim: claim!.id }, readOnly);
    expect(forbidden.status).toBe(403);
    expect((await call('GET', `/appeals/${opened.id}/packet`, undefined, readOnly)).status).toBe(403);
  });

  test('every read of an appeal is audited', async () => {
    const events = await searchAll<any>(server.running.store, TENANT, 'AuditEvent');
    const about = events.filter((e) =>
      (e.entity ?? []).some((x: any) => x.what?.reference === `Task/${appealId}`),
    );
    expect(about.length).toBeGreaterThanOrEqual(3);
  });
});
