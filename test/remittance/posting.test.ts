/**
 * Posting 835s (src/remittance): a remittance for claims waiting in `submitted` becomes an
 * ExplanationOfBenefit per claim payment and a PaymentReconciliation per remittance, moves each
 * claim to adjudicated with its payment status, records the patient's responsibility and calls the
 * posted-payment hooks; sent again (other delimiters, line breaks, envelopes) it changes nothing;
 * a conflicting re-send, an unbalanced transaction set and another provider's remittance post
 * nothing; unknown claims go to the unmatched queue; reversals name what they take back; claims
 * that share a CLP01 stay apart; a crash mid-file resumes without posting anything twice.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { validateResource } from '@medplum/core';
import type { Claim, ExplanationOfBenefit, PaymentReconciliation, Task } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileOf, receiveRemittance } from '../../src/remittance/intake.ts';
import { REMITTANCE_POST_QUEUE, UNMATCHED_TASK } from '../../src/remittance/jobs.ts';
import { matchUnmatchedPayment } from '../../src/remittance/manual-match.ts';
import { postRemittanceFile } from '../../src/remittance/post-file.ts';
import { RemittanceWorker } from '../../src/remittance/worker.ts';
import { EXT_CLAIM_PAYMENT_STATUS } from '../../src/contract/remittance.ts';
import { searchAll } from '../../src/store/search-all.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import type { PostingFixture } from './support.ts';
import {
  openPostingFixture,
  paymentOf,
  remittance,
  reversalOf,
  SECONDARY,
  seedSubmittedClaims,
  TENANT,
  WRITE_OPTIONS,
} from './support.ts';

loadFhirDefinitions();

let fx: PostingFixture;

beforeEach(async () => {
  fx = await openPostingFixture();
});

afterEach(async () => {
  await fx.close();
});

/** Runs the posting jobs until the queue is empty. */
async function drain(f: PostingFixture = fx): Promise<void> {
  const worker = new RemittanceWorker({ ...f.posting, leaseMs: 60_000 });
  while ((await worker.runOnce()) > 0) {
    // next job
  }
  expect(await f.store.jobs.listJobs(TENANT, REMITTANCE_POST_QUEUE, 'dead', 10)).toEqual([]);
}

async function receive(text: string, f: PostingFixture = fx): ReturnType<typeof receiveRemittance> {
  return receiveRemittance(f.intake, TENANT, [text], { source: 'test' });
}

const all = <T extends ExplanationOfBenefit | PaymentReconciliation | Task | Claim>(
  type: T['resourceType'],
  f: PostingFixture = fx,
): Promise<(T & StoredResource)[]> => searchAll<T>(f.store, TENANT, type);

const amountOf = (eob: ExplanationOfBenefit, code: string): number | undefined =>
  eob.total?.find((t) => t.category.coding?.[0]?.code === code)?.amount.value;

describe('a remittance for claims in an X12 batch', () => {
  test('is posted: an EOB per claim payment, one PaymentReconciliation, claims adjudicated with their payment status', async () => {
    const claims = await seedSubmittedClaims(fx.store, 3);
    const payments = claims.map((c, i) => paymentOf(c, { denyWaste: i === 1 }));
    const text = await write835ToString(
      [remittance(payments, { plb: [{ reason: 'L6', amount: -1.5 }] })],
      WRITE_OPTIONS,
    );
    const result = await receive(text);
    expect(result.outcome).toBe('accepted');
    expect(result.report.transactions.map((t) => t.action)).toEqual(['post']);
    await drain();

    const eobs = await all<ExplanationOfBenefit>('ExplanationOfBenefit');
    expect(eobs).toHaveLength(3);
    for (const eob of eobs) {
      expect(() => validateResource(eob)).not.toThrow();
    }
    const byClaim = new Map(eobs.map((e) => [e.claim?.reference, e]));
    const first = byClaim.get(`Claim/${claims[0]?.id ?? ''}`) as ExplanationOfBenefit;
    expect(amountOf(first, 'submitted')).toBe(payments[0]?.charge);
    expect(amountOf(first, 'benefit')).toBe(payments[0]?.paid);
    expect(amountOf(first, 'memberliability')).toBe(50);
    expect(first.outcome).toBe('complete');
    expect(first.payment?.type?.coding?.[0]?.code).toBe('paid');
    // Line 1: submitted, allowed, deductible, member liability, paid, and each CAS by group and CARC.
    const line = first.item?.[0];
    expect(line?.sequence).toBe(1);
    expect(line?.extension?.find((e) => e.url.endsWith('/remittance-line-match'))?.valueCode).toBe(
      'line-item-control-number',
    );
    expect(
      line?.adjudication?.map((a) => [
        a.category.coding?.[0]?.code,
        a.reason?.coding?.[0]?.code,
        a.amount?.value,
      ]),
    ).toEqual([
      ['submitted', undefined, 250],
      ['eligible', undefined, 200],
      ['deductible', undefined, 50],
      ['memberliability', undefined, 50],
      ['benefit', undefined, 150],
      ['CO', '45', 50],
      ['PR', '1', 50],
    ]);
    const denied = byClaim.get(`Claim/${claims[1]?.id ?? ''}`) as ExplanationOfBenefit;
    expect(denied.outcome).toBe('partial');
    const waste = denied.item?.find((i) => i.sequence === 4);
    expect(
      waste?.adjudication?.find((a) => a.category.coding?.[0]?.code === 'CO')?.reason?.coding?.[0]?.code,
    ).toBe('4');
    expect(waste?.extension?.find((e) => e.url.endsWith('/remittance-remark'))?.valueCoding?.code).toBe(
      'N362',
    );

    const [reconciliation] = await all<PaymentReconciliation>('PaymentReconciliation');
    const total = payments.reduce((s, p) => s + Math.round(p.paid * 100), 0) / 100 + 1.5;
    expect(reconciliation?.paymentAmount.value).toBe(total);
    expect(reconciliation?.paymentIdentifier?.value).toBe('EFT-0001');
    expect(reconciliation?.paymentDate).toBe('2026-12-03');
    // Details add up to the payment: three claim payments and the interest (PLB L6 −1.50 → +1.50).
    const details = reconciliation?.detail ?? [];
    expect(details.map((d) => d.type.coding?.[0]?.code)).toEqual([
      'payment',
      'payment',
      'payment',
      'adjustment',
    ]);
    expect(details.reduce((s, d) => s + Math.round((d.amount?.value ?? 0) * 100), 0) / 100).toBe(total);
    // Each claim payment's detail names the Claim it pays (request) beside the EOB (response).
    expect(details.map((d) => d.request?.reference)).toEqual([
      ...claims.map((c) => `Claim/${c.id}`),
      undefined,
    ]);
    expect(() => validateResource(reconciliation as PaymentReconciliation)).not.toThrow();

    const stored = await all<Claim>('Claim');
    expect(
      stored.map((c) => [
        claimStateOf(c),
        c.extension?.find((e) => e.url === EXT_CLAIM_PAYMENT_STATUS)?.valueCode,
      ]),
    ).toEqual([
      ['adjudicated', 'paid'],
      ['adjudicated', 'partially-paid'],
      ['adjudicated', 'paid'],
    ]);
    // The hooks saw each posted payment once, with its lines matched and their CAS and RARCs.
    expect(fx.hookCalls.map((c) => [c.payment.claim, c.payment.outcome])).toEqual([
      [claims[0]?.id, 'paid'],
      [claims[1]?.id, 'partially-paid'],
      [claims[2]?.id, 'paid'],
    ]);
    const posted = fx.hookCalls[1]?.payment;
    expect(posted?.lines.map((l) => [l.itemSequence, l.matchedBy, l.paid, l.remarks])).toEqual([
      [1, 'line-item-control-number', 150, []],
      [2, 'line-item-control-number', 112, []],
      [3, 'line-item-control-number', 3168.4, []],
      [4, 'line-item-control-number', 0, ['N362']],
    ]);
    expect(posted?.patientResponsibility).toEqual({
      deductible: 50,
      coinsurance: 0,
      copay: 0,
      other: 0,
      total: 50,
    });
    expect(fx.hookCalls[1]?.claim.meta?.versionId).toBe('2');
  });

  test('sent again, with other delimiters, line breaks and envelope numbers, changes nothing', async () => {
    const claims = await seedSubmittedClaims(fx.store, 2);
    const input = remittance(claims.map((c) => paymentOf(c)));
    await receive(await write835ToString([input], WRITE_OPTIONS));
    await drain();
    const before = {
      eobs: (await all<ExplanationOfBenefit>('ExplanationOfBenefit')).map((e) => e.meta.versionId),
      claims: (await all<Claim>('Claim')).map((c) => c.meta.versionId),
      prs: (await all<PaymentReconciliation>('PaymentReconciliation')).length,
    };
    const again = await write835ToString([input], {
      ...WRITE_OPTIONS,
      controlNumbers: { isa: 555, gs: 556 },
      delimiters: { element: '|', component: '>', repetition: '{', segment: '\n' },
    });
    const result = await receive(again);
    expect(result.outcome).toBe('duplicate');
    expect(result.report.transactions.map((t) => t.action)).toEqual(['duplicate']);
    await drain();
    expect({
      eobs: (await all<ExplanationOfBenefit>('ExplanationOfBenefit')).map((e) => e.meta.versionId),
      claims: (await all<Claim>('Claim')).map((c) => c.meta.versionId),
      prs: (await all<PaymentReconciliation>('PaymentReconciliation')).length,
    }).toEqual(before);
    expect(fx.hookCalls).toHaveLength(2);
  });

  test('the same payer and trace number with other amounts is a conflict: rejected, nothing posted', async () => {
    const claims = await seedSubmittedClaims(fx.store, 2);
    await receive(
      await write835ToString([remittance([paymentOf(claims[0] as Claim & { id: string })])], WRITE_OPTIONS),
    );
    await drain();
    const result = await receive(
      await write835ToString([remittance(claims.map((c) => paymentOf(c)))], WRITE_OPTIONS),
    );
    expect(result.outcome).toBe('rejected');
    expect(result.report.transactions[0]?.findings[0]).toMatchObject({ rule: 'conflict' });
    await drain();
    expect(await all<ExplanationOfBenefit>('ExplanationOfBenefit')).toHaveLength(1);
  });

  test('a transaction set that does not balance is not posted; the others of the file are', async () => {
    const claims = await seedSubmittedClaims(fx.store, 2);
    const good = remittance([paymentOf(claims[0] as Claim & { id: string })], { trace: 'GOOD' });
    const badPayment = paymentOf(claims[1] as Claim & { id: string });
    const bad = remittance([{ ...badPayment, paid: badPayment.paid + 1 }], { trace: 'BAD' });
    const result = await receive(await write835ToString([good, bad], WRITE_OPTIONS));
    expect(result.outcome).toBe('accepted');
    expect(result.report.transactions.map((t) => [t.trace, t.action, t.findings[0]?.rule])).toEqual([
      ['GOOD', 'post', undefined],
      ['BAD', 'rejected', 'balance-claim'],
    ]);
    await drain();
    expect((await all<ExplanationOfBenefit>('ExplanationOfBenefit')).map((e) => e.claim?.reference)).toEqual([
      `Claim/${claims[0]?.id ?? ''}`,
    ]);
    expect(claimStateOf((await all<Claim>('Claim'))[1] as Claim)).toBe('submitted');
  });

  test("another provider's remittance, or an unknown payer's, is rejected whole", async () => {
    const claims = await seedSubmittedClaims(fx.store, 1);
    const payments = claims.map((c) => paymentOf(c));
    const otherPayee = await receive(
      await write835ToString([remittance(payments, { payeeNpi: '1245319599' })], WRITE_OPTIONS),
    );
    expect(otherPayee.outcome).toBe('rejected');
    expect(otherPayee.report.transactions[0]?.findings[0]?.rule).toBe('payee');
    const unknownPayer = await receive(
      await write835ToString([remittance(payments, { payerId: 'NOBODY' })], WRITE_OPTIONS),
    );
    expect(unknownPayer.report.transactions[0]?.findings[0]?.rule).toBe('payer');
    await drain();
    expect(await all<ExplanationOfBenefit>('ExplanationOfBenefit')).toEqual([]);
  });
});

describe('matching', () => {
  test('a claim Dripline does not know goes to the unmatched queue, never dropped', async () => {
    const [known] = await seedSubmittedClaims(fx.store, 1);
    const stranger = { ...paymentOf(known as Claim & { id: string }), patientControlNumber: 'NOT-OURS-42' };
    await receive(await write835ToString([remittance([stranger])], WRITE_OPTIONS));
    await drain();
    const [eob] = await all<ExplanationOfBenefit>('ExplanationOfBenefit');
    expect(eob?.status).toBe('draft');
    expect(eob?.claim).toBeUndefined();
    expect(() => validateResource(eob as ExplanationOfBenefit)).not.toThrow();
    const tasks = (await all<Task>('Task')).filter((t) => t.code?.coding?.[0]?.code === UNMATCHED_TASK.code);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.focus?.reference).toBe(`ExplanationOfBenefit/${eob?.id ?? ''}`);
    expect(tasks[0]?.description).toContain('NOT-OURS-42');
    // It keeps the payment as received (for a person to match it later), as valid FHIR.
    expect(tasks[0]?.input?.map((i) => i.valueAttachment?.contentType).filter(Boolean)).toEqual([
      'application/json',
    ]);
    expect(() => validateResource(tasks[0] as Task)).not.toThrow();
    // Its reconciliation detail names no claim (none was matched), only the EOB.
    const [reconciliation] = await all<PaymentReconciliation>('PaymentReconciliation');
    expect(reconciliation?.detail?.map((d) => [d.request, d.response?.reference])).toEqual([
      [undefined, `ExplanationOfBenefit/${eob?.id ?? ''}`],
    ]);
    expect(claimStateOf((await all<Claim>('Claim'))[0] as Claim)).toBe('submitted');
    expect(fx.hookCalls).toEqual([]);
  });

  test('a payment a biller matches while its remittance is still being posted: the reconciliation names the claim', async () => {
    // The biller matches the first payment (unmatched, already written) while the posting job
    // prepares the second one (the hook runs then), before the transaction set's end.
    let match: (() => Promise<unknown>) | undefined;
    const f = await openPostingFixture({
      batchSize: 1,
      hooks: [
        async () => {
          const run = match;
          match = undefined;
          await run?.();
          return [];
        },
      ],
    });
    try {
      const [lost, paid] = await seedSubmittedClaims(f.store, 2);
      if (!lost || !paid) {
        throw new Error('no claims seeded');
      }
      let answer: unknown;
      match = async () => {
        const [task] = (await all<Task>('Task', f)).filter(
          (t) => t.code?.coding?.[0]?.code === UNMATCHED_TASK.code,
        );
        answer = await matchUnmatchedPayment(
          { ...f.posting, hooks: [] },
          TENANT,
          task?.id,
          { claim: lost.id },
          { clientId: 'biller' },
        );
      };
      const garbled = { ...paymentOf(lost), patientControlNumber: 'GARBLED-1' };
      await receive(await write835ToString([remittance([garbled, paymentOf(paid)])], WRITE_OPTIONS), f);
      await drain(f);
      expect(answer).toMatchObject({ status: 200 });
      const [reconciliation] = await all<PaymentReconciliation>('PaymentReconciliation', f);
      expect(reconciliation?.detail?.map((d) => d.request?.reference)).toEqual([
        `Claim/${lost.id}`,
        `Claim/${paid.id}`,
      ]);
    } finally {
      await f.close();
    }
  });

  test('claims that share a CLP01 in one remittance are told apart by position', async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    const c = claim as Claim & { id: string };
    const paid = paymentOf(c, { payerClaimNumber: 'ICN-A' });
    const again = { ...paymentOf(c, { payerClaimNumber: 'ICN-B' }), status: '2' };
    await receive(await write835ToString([remittance([paid, again])], WRITE_OPTIONS));
    await drain();
    const eobs = await all<ExplanationOfBenefit>('ExplanationOfBenefit');
    expect(eobs).toHaveLength(2);
    expect(
      new Set(eobs.map((e) => e.identifier?.find((i) => i.system?.includes('payer-claim-number'))?.value)),
    ).toEqual(new Set(['ICN-A', 'ICN-B']));
    expect((await all<Claim>('Claim'))[0]?.meta.versionId).toBe('3');
  });

  test('lines without REF*6R are matched by code and charge, never twice', async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    await receive(
      await write835ToString(
        [remittance([paymentOf(claim as Claim & { id: string }, { echoLineNumbers: false })])],
        WRITE_OPTIONS,
      ),
    );
    await drain();
    expect(fx.hookCalls[0]?.payment.lines.map((l) => [l.itemSequence, l.matchedBy])).toEqual([
      [1, 'code-and-charge'],
      [2, 'code-and-charge'],
      [3, 'code-and-charge'],
      [4, 'code-and-charge'],
    ]);
  });

  test('a reversal (CLP02 22) names the payment it takes back, and the correction that follows stands', async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    const c = claim as Claim & { id: string };
    const original = paymentOf(c, { payerClaimNumber: 'ICN-1' });
    await receive(await write835ToString([remittance([original], { trace: 'EFT-1' })], WRITE_OPTIONS));
    await drain();
    const [first] = await all<ExplanationOfBenefit>('ExplanationOfBenefit');
    const corrected = paymentOf(c, { payerClaimNumber: 'ICN-2', denyWaste: true });
    await receive(
      await write835ToString(
        [remittance([reversalOf(original), corrected], { trace: 'EFT-2' })],
        WRITE_OPTIONS,
      ),
    );
    await drain();
    const eobs = await all<ExplanationOfBenefit>('ExplanationOfBenefit');
    const reversal = eobs.find((e) => e.extension?.some((x) => x.valueCoding?.code === '22'));
    expect(
      reversal?.extension?.find((x) => x.url.endsWith('/remittance-reverses'))?.valueReference?.reference,
    ).toBe(`ExplanationOfBenefit/${first?.id ?? ''}`);
    expect(reversal?.related?.[0]?.reference?.value).toBe('ICN-1');
    expect(reversal?.payment?.amount?.value).toBe(-original.paid);
    expect(fx.hookCalls.map((h) => [h.payment.outcome, h.payment.reverses])).toEqual([
      ['paid', undefined],
      ['reversed', first?.id],
      ['partially-paid', undefined],
    ]);
    const stored = (await all<Claim>('Claim'))[0] as Claim;
    expect(stored.extension?.find((e) => e.url === EXT_CLAIM_PAYMENT_STATUS)?.valueCode).toBe(
      'partially-paid',
    );
  });

  test("another payer's payment of the claim (a secondary) is posted on it without moving it", async () => {
    const [claim] = await seedSubmittedClaims(fx.store, 1);
    const payment = { ...paymentOf(claim as Claim & { id: string }), status: '2' };
    await receive(
      await write835ToString([remittance([payment], { payerId: SECONDARY.payerId })], WRITE_OPTIONS),
    );
    await drain();
    const [eob] = await all<ExplanationOfBenefit>('ExplanationOfBenefit');
    expect(eob?.claim?.reference).toBe(`Claim/${claim?.id ?? ''}`);
    expect(eob?.insurer.identifier?.value).toBe(SECONDARY.id);
    expect(claimStateOf((await all<Claim>('Claim'))[0] as Claim)).toBe('submitted');
    expect(fx.hookCalls[0]?.payment.payer).toBe(SECONDARY.id);
  });
});

describe('durability', () => {
  test('a large file is posted in resumable steps; a step run twice posts nothing twice', async () => {
    const small = await openPostingFixture({ paymentsPerJob: 4, batchSize: 3 });
    try {
      const claims = await seedSubmittedClaims(small.store, 10);
      const result = await receive(
        await write835ToString([remittance(claims.map((c) => paymentOf(c)))], WRITE_OPTIONS),
        small,
      );
      if (result.outcome !== 'accepted') {
        throw new Error(result.outcome);
      }
      // The first step, as if its process died after writing and before acknowledging: run twice.
      const first = await postRemittanceFile(small.posting, TENANT, { document: result.document });
      expect([first.posted, first.next]).toEqual([
        4,
        {
          document: result.document,
          from: {
            transaction: 1,
            position: 5,
            resume: expect.objectContaining({ transaction: 1, claims: 4 }),
          },
        },
      ]);
      const again = await postRemittanceFile(small.posting, TENANT, { document: result.document });
      expect([again.posted, again.already]).toEqual([0, 4]);
      await drain(small);
      expect(await all<ExplanationOfBenefit>('ExplanationOfBenefit', small)).toHaveLength(10);
      const [reconciliation] = await all<PaymentReconciliation>('PaymentReconciliation', small);
      expect(reconciliation?.detail).toHaveLength(10);
      // Payments posted by an earlier step, or already posted, still name their claims.
      expect(reconciliation?.detail?.map((d) => d.request?.reference)).toEqual(
        claims.map((c) => `Claim/${c.id}`),
      );
      expect(small.hookCalls).toHaveLength(10);
      expect((await all<Claim>('Claim', small)).every((c) => c.meta.versionId === '2')).toBe(true);
    } finally {
      await small.close();
    }
  });

  test('each step reads the file from where the one before stopped, not from its start', async () => {
    const small = await openPostingFixture({ paymentsPerJob: 4, batchSize: 3 });
    try {
      const claims = await seedSubmittedClaims(small.store, 10);
      const text = await write835ToString([remittance(claims.map((c) => paymentOf(c)))], WRITE_OPTIONS);
      const result = await receive(text, small);
      if (result.outcome !== 'accepted') {
        throw new Error(result.outcome);
      }
      const first = await postRemittanceFile(small.posting, TENANT, { document: result.document });
      const resume = first.next?.from?.resume;
      expect(resume).toMatchObject({ transaction: 1, claims: 4 });
      // The payments the first step posted are spoiled in the kept file: a step that read the file
      // from its start again would meet them (a syntax error) and fail.
      const file = fileOf(small.intake.remittanceDir, TENANT, result.document);
      const bytes = readFileSync(file);
      const second = bytes.indexOf('CLP*', bytes.indexOf('CLP*') + 1);
      expect(second).toBeGreaterThan(0);
      bytes.fill('~', second, resume?.at);
      writeFileSync(file, bytes);
      await drain(small);
      expect(await all<ExplanationOfBenefit>('ExplanationOfBenefit', small)).toHaveLength(10);
      const [reconciliation] = await all<PaymentReconciliation>('PaymentReconciliation', small);
      // The details of the payments earlier steps posted are read back from their EOBs.
      expect(
        reconciliation?.detail?.map((d) => [d.request?.reference, d.identifier?.value, d.amount?.value]),
      ).toEqual(
        claims.map((c, i) => [`Claim/${c.id}`, c.id, paymentOf(claims[i] as Claim & { id: string }).paid]),
      );
    } finally {
      await small.close();
    }
  });

  test("a hook's operations are written with the payment; a failing hook posts nothing", async () => {
    let fail = true;
    const hooked = await openPostingFixture({
      hooks: [
        (ctx) => {
          if (fail) {
            throw new Error('triage unavailable');
          }
          return [
            {
              op: 'create',
              resource: {
                resourceType: 'Task',
                status: 'requested',
                intent: 'order',
                focus: { reference: `ExplanationOfBenefit/${ctx.eob.id}` },
              },
            },
          ];
        },
      ],
    });
    try {
      const claims = await seedSubmittedClaims(hooked.store, 1);
      const result = await receive(
        await write835ToString([remittance(claims.map((c) => paymentOf(c)))], WRITE_OPTIONS),
        hooked,
      );
      if (result.outcome !== 'accepted') {
        throw new Error(result.outcome);
      }
      await expect(postRemittanceFile(hooked.posting, TENANT, { document: result.document })).rejects.toThrow(
        'triage unavailable',
      );
      expect(await all<ExplanationOfBenefit>('ExplanationOfBenefit', hooked)).toEqual([]);
      expect(claimStateOf((await all<Claim>('Claim', hooked))[0] as Claim)).toBe('submitted');
      fail = false;
      await postRemittanceFile(hooked.posting, TENANT, { document: result.document });
      const [eob] = await all<ExplanationOfBenefit>('ExplanationOfBenefit', hooked);
      const tasks = await all<Task>('Task', hooked);
      expect(tasks.map((t) => t.focus?.reference)).toEqual([`ExplanationOfBenefit/${eob?.id ?? ''}`]);
    } finally {
      await hooked.close();
    }
  });
});
