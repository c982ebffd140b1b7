/**
 * Patient statements over HTTP on a running server (src/remittance/statements/): the deductible
 * a payer leaves to the patient (PR-1 in the 835) becomes an itemized balance with aging; the
 * cycle's statement run writes an Invoice per patient and its PDF to the data folder, and a second
 * run finds the first statements unchanged; the PDF reads as a patient's statement (words, totals,
 * due date, how to pay, whom to ask); payments are recorded once per idempotency key, a payment
 * larger than the balance or dated out of order is refused; a reversal leaving a credit raises a
 * refund work item.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Account, ExplanationOfBenefit, Invoice, Task } from '@medplum/fhirtypes';
import { searchAll } from '../../../src/store/search-all.ts';
import { write835ToString } from '../../../src/x12/835/write835.ts';
import type { TestServer } from '../../support/harness.ts';
import { startTestServer } from '../../support/harness.ts';
import { pdfText } from '../../support/pdf-text.ts';
import { waitFor } from '../../support/wait.ts';
import {
  paymentOf,
  remittance,
  reversalOf,
  seedSubmittedClaims,
  TENANT,
  TENANTS,
  WRITE_OPTIONS,
} from '../support.ts';

const NOW = Date.parse('2026-12-04T15:00:00Z');
const SCOPE = [
  'system/DocumentReference.c system/ExplanationOfBenefit.c system/PaymentReconciliation.c system/Claim.u',
  'system/ExplanationOfBenefit.r system/Patient.r system/Invoice.cr system/Account.ru system/Task.c system/PaymentNotice.c',
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

async function call(method: string, path: string, body?: unknown, bearer: string = token) {
  const response = await fetch(`${server.url}/api/remittance${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body !== undefined
        ? { 'content-type': typeof body === 'string' ? 'application/edi-x12' : 'application/json' }
        : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get('content-type');
  const text = type?.includes('json') ? new TextDecoder().decode(bytes) : '';
  return { status: response.status, body: text ? JSON.parse(text) : undefined, type, bytes };
}

describe('patient statements', () => {
  const patient = 'Patient/pat-1101';
  let claims: Awaited<ReturnType<typeof seedSubmittedClaims>>;

  test("the patient's deductible becomes an itemized balance with aging", async () => {
    claims = await seedSubmittedClaims(server.running.store, 2, 1101);
    const text = await write835ToString(
      [
        remittance(
          claims.map((c) => paymentOf(c)),
          { trace: 'STMT-1' },
        ),
      ],
      WRITE_OPTIONS,
    );
    expect((await call('POST', '/835', text)).status).toBe(202);
    await waitFor('the EOBs', async () => {
      const eobs = await searchAll<ExplanationOfBenefit>(
        server.running.store,
        TENANT,
        'ExplanationOfBenefit',
      );
      return eobs.length === 2 ? eobs : undefined;
    });
    const account = await call('GET', `/accounts?patient=${patient}`);
    expect(account.status).toBe(200);
    expect(account.body.totals).toEqual({ charges: 50, payments: 0, adjustments: 0, balance: 50 });
    expect(account.body.aging).toEqual({ '0-30': 50, '31-60': 0, '61-90': 0, '91-120': 0, '120+': 0 });
    expect(account.body.status).toBe('current');
    expect(account.body.lines).toHaveLength(1);
    // 96365 billed $250: allowed $200 (paid $150, deductible $50), $50 adjusted off.
    expect(account.body.lines[0]).toMatchObject({
      serviceDate: '2026-11-02',
      code: '96365',
      billed: 250,
      insurancePaid: 150,
      adjustments: 50,
      patientOwes: 50,
    });
    expect(account.body.lines[0].description).not.toMatch(/^\d/);
  });

  test('a statement run writes one statement per patient and its PDF; run again, the first, unchanged', async () => {
    const first = await call('POST', '/statements/run', {});
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ cycle: '2026-11-27', date: '2026-12-04', due: '2026-12-25' });
    const mine = first.body.statements.filter((s: { patient: string }) =>
      s.patient.startsWith('Patient/pat-110'),
    );
    expect(mine).toHaveLength(2);
    expect(mine.every((s: { created: boolean; amountDue: number }) => s.created && s.amountDue === 50)).toBe(
      true,
    );
    expect(mine.every((s: { pdf: string }) => existsSync(s.pdf))).toBe(true);
    const stored = await searchAll<Invoice>(server.running.store, TENANT, 'Invoice');
    const versions = stored.map((i) => `${i.id}@${i.meta?.versionId}`).sort();

    const again = await call('POST', '/statements/run', {});
    expect(again.body.statements.map((s: { invoice: string }) => s.invoice).sort()).toEqual(
      first.body.statements.map((s: { invoice: string }) => s.invoice).sort(),
    );
    expect(again.body.statements.every((s: { created: boolean }) => !s.created)).toBe(true);
    const after = await searchAll<Invoice>(server.running.store, TENANT, 'Invoice');
    expect(after.map((i) => `${i.id}@${i.meta?.versionId}`).sort()).toEqual(versions);

    const invoice = mine.find((s: { patient: string }) => s.patient === patient).invoice;
    const pdf = await call('GET', `/statements/${invoice}/pdf`);
    expect(pdf.status).toBe(200);
    expect(pdf.type).toBe('application/pdf');
    const text = (await pdfText(pdf.bytes)).replace(/\s+/g, '');
    for (const expected of [
      'Amount due: $50.00',
      'Please pay by: 2026-12-25',
      '2026-11-02',
      'Drug infusion IV, first hour',
      'Insurance paid',
      'You owe',
      'How to pay',
      'Questions',
      '217-555-0100',
    ]) {
      expect(text).toContain(expected.replace(/\s+/g, ''));
    }
  });

  test('payments: once per key, never more than the balance, never dated out of order', async () => {
    const key = 'pay-1101-0001';
    const tooMuch = await call('POST', '/patient-payments', {
      patient,
      amount: 60,
      idempotencyKey: 'pay-too-much',
    });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.issue[0].details.text).toMatch(/larger than the balance/);
    const backwards = await call('POST', '/patient-payments', {
      patient,
      amount: 5,
      date: '2026-11-01',
      idempotencyKey: 'pay-backwards',
    });
    expect(backwards.status).toBe(400);
    const future = await call('POST', '/patient-payments', {
      patient,
      amount: 5,
      date: '2026-12-05',
      idempotencyKey: 'pay-future',
    });
    expect(future.status).toBe(400);

    const paid = await call('POST', '/patient-payments', { patient, amount: 20, idempotencyKey: key });
    expect(paid.status).toBe(201);
    expect(paid.body.balance).toBe(30);
    const retried = await call('POST', '/patient-payments', { patient, amount: 20, idempotencyKey: key });
    expect(retried.status).toBe(200);
    const reused = await call('POST', '/patient-payments', { patient, amount: 25, idempotencyKey: key });
    expect(reused.status).toBe(409);
    const account = await call('GET', `/accounts?patient=${patient}`);
    expect(account.body.totals).toMatchObject({ payments: 20, balance: 30 });
  });

  test('a reversal that leaves the patient in credit raises a refund work item and flags the account', async () => {
    const reversal = reversalOf(paymentOf(claims[0]!));
    const text = await write835ToString([remittance([reversal], { trace: 'STMT-REV' })], {
      ...WRITE_OPTIONS,
      controlNumbers: { isa: 111, gs: 111 },
    });
    expect((await call('POST', '/835', text)).status).toBe(202);
    await waitFor('the reversal posted', async () => {
      const got = await call('GET', `/accounts?patient=${patient}`);
      return got.body.totals.balance < 0 ? got.body : undefined;
    });
    const run = await call('POST', '/statements/run', {});
    expect(run.body.refunds).toEqual([expect.objectContaining({ patient, credit: 20 })]);
    const task = (await server.running.store.resources.read(
      TENANT,
      'Task',
      run.body.refunds[0].task,
    )) as Task;
    expect(task.status).toBe('ready');
    const accounts = await searchAll<Account>(server.running.store, TENANT, 'Account');
    const flagged = accounts.find((a) => a.subject?.[0]?.reference === patient);
    expect(flagged?.extension?.[0]?.valueCode).toBe('refund-due');
  });

  test('bad input and scopes: no patient 400, another tenant sees nothing, a token without the scopes 403', async () => {
    expect((await call('GET', '/accounts')).status).toBe(400);
    const other = await server.token('other-clinic', SCOPE);
    expect((await call('GET', `/accounts?patient=${patient}`, undefined, other)).status).toBe(404);
    const readOnly = await server.token(TENANT, 'system/Claim.r');
    const forbidden = await call('POST', '/statements/run', {}, readOnly);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.resourceType).toBe('OperationOutcome');
  });
});
