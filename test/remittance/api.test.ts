/**
 * `POST /api/remittance/835` over real HTTP on a running server: the payer's file is accepted
 * (202) and posted by the server's worker (EOBs, PaymentReconciliation, claims adjudicated); the
 * same remittance again is a 200 duplicate that changes nothing; bad input is a 4xx
 * OperationOutcome naming the rule and segment (unbalanced 422, not X12 400, too large 413, wrong
 * content type 415); no token 401, a token without the scopes 403.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, ExplanationOfBenefit, PaymentReconciliation, Task } from '@medplum/fhirtypes';
import { CS_WORK_QUEUE } from '../../src/contract/recovery.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import type { TestServer } from '../support/harness.ts';
import { startTestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { paymentOf, remittance, seedSubmittedClaims, TENANT, TENANTS, WRITE_OPTIONS } from './support.ts';

const SCOPE =
  'system/DocumentReference.c system/ExplanationOfBenefit.c system/PaymentReconciliation.c system/Claim.u';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    {
      ingest: false,
      chargeCapture: false,
      claims: false,
      claimWorkflow: { tenants: TENANTS },
      remittanceMaxBytes: 200_000,
    },
  );
  token = await server.token(TENANT, SCOPE);
});

afterAll(async () => {
  await server?.stop();
});

async function post(
  body: string,
  options: { token?: string | undefined; type?: string } = {},
): Promise<{ status: number; body: any }> {
  const bearer = 'token' in options ? options.token : token;
  const response = await fetch(`${server.url}/api/remittance/835`, {
    method: 'POST',
    headers: {
      'content-type': options.type ?? 'application/edi-x12',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe('POST /api/remittance/835', () => {
  test('posts a payer file: 202, then EOBs, a PaymentReconciliation and adjudicated claims; again: 200 duplicate', async () => {
    const store = server.running.store;
    const claims = await seedSubmittedClaims(store, 2, 101);
    const text = await write835ToString(
      [
        remittance(
          claims.map((c) => paymentOf(c)),
          { trace: 'API-1' },
        ),
      ],
      WRITE_OPTIONS,
    );
    const first = await post(text);
    expect(first.status).toBe(202);
    expect(first.body.document).toMatch(/^DocumentReference\/remit-/);
    expect(first.body.report.transactions.map((t: { action: string }) => t.action)).toEqual(['post']);

    const eobs = await waitFor('the posted EOBs', async () => {
      const found = await searchAll<ExplanationOfBenefit>(store, TENANT, 'ExplanationOfBenefit');
      return found.length === 2 ? found : undefined;
    });
    expect(eobs.map((e) => e.claim?.reference).sort()).toEqual(claims.map((c) => `Claim/${c.id}`).sort());
    const reconciliations = await waitFor('the PaymentReconciliation', async () => {
      const found = await searchAll<PaymentReconciliation>(store, TENANT, 'PaymentReconciliation');
      return found.length === 1 ? found : undefined;
    });
    expect(reconciliations[0]?.paymentIdentifier?.value).toBe('API-1');
    const stored = await searchAll<Claim>(store, TENANT, 'Claim');
    expect(stored.map((c) => claimStateOf(c))).toEqual(['adjudicated', 'adjudicated']);

    // The same remittance, with other line breaks: nothing changes.
    const again = await post(text.replace(/~/g, '~\r\n'));
    expect(again.status).toBe(200);
    expect(again.body.outcome).toBe('duplicate');
    expect(await searchAll<ExplanationOfBenefit>(store, TENANT, 'ExplanationOfBenefit')).toHaveLength(2);
  });

  test('a line the payer denies in the 835 (CO-4 on the JW line) becomes a coding work item in the posting', async () => {
    const store = server.running.store;
    const [claim] = await seedSubmittedClaims(store, 1, 301);
    if (!claim) {
      throw new Error('no claim seeded');
    }
    const text = await write835ToString(
      [remittance([paymentOf(claim, { denyWaste: true })], { trace: 'API-DENIED-JW' })],
      WRITE_OPTIONS,
    );
    expect((await post(text)).status).toBe(202);
    const items = await waitFor('the denial work item', async () => {
      const found = (await searchAll<Task>(store, TENANT, 'Task')).filter(
        (t) => t.focus?.reference === `Claim/${claim.id}`,
      );
      return found.length > 0 ? found : undefined;
    });
    expect(items).toHaveLength(1);
    const queue = items[0]?.code?.coding?.find((c) => c.system === CS_WORK_QUEUE)?.code;
    expect(queue).toBe('coding');
    expect(items[0]?.status).not.toBe('completed');
  });

  test('a transaction set that does not balance: 422 naming the rule, the segment and the amounts', async () => {
    const claims = await seedSubmittedClaims(server.running.store, 1, 201);
    const payment = paymentOf(claims[0] as Claim & { id: string });
    const text = await write835ToString(
      [remittance([{ ...payment, paid: payment.paid + 1 }], { trace: 'API-BAD' })],
      WRITE_OPTIONS,
    );
    const answer = await post(text);
    expect(answer.status).toBe(422);
    expect(answer.body.resourceType).toBe('OperationOutcome');
    const issue = answer.body.issue.find((i: any) => i.details?.coding?.[0]?.code === 'balance-claim');
    expect(issue).toBeDefined();
    expect(issue.expression[0]).toMatch(/^transaction set 1 \/ segment \d+ \(CLP\)/);
    expect(issue.diagnostics).toMatch(/\{.*\}/);
  });

  test('not X12, too large, another content type: 400, 413, 415, each an OperationOutcome', async () => {
    const notX12 = await post('hello, this is not an 835');
    expect(notX12.status).toBe(400);
    expect(notX12.body.resourceType).toBe('OperationOutcome');
    const huge = await post('ISA'.padEnd(300_000, '*'));
    expect(huge.status).toBe(413);
    expect(huge.body.resourceType).toBe('OperationOutcome');
    const json = await post('{}', { type: 'application/json' });
    expect(json.status).toBe(415);
    expect(json.body.resourceType).toBe('OperationOutcome');
  });

  test('no token: 401; a token without the scopes: 403', async () => {
    const none = await post('ISA', { token: undefined });
    expect(none.status).toBe(401);
    const readOnly = await server.token(TENANT, 'system/Claim.r');
    const forbidden = await post('ISA', { token: readOnly });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.resourceType).toBe('OperationOutcome');
  });
});
