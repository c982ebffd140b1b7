/**
 * The sandbox X12 payer's claims office (src/sandbox/payer/x12/): Dripline's 837 batch, read from
 * the wire (read837), adjudicated by the payer's own rules, answered with an 835 written by the
 * 835 writer — CAS in several groups (CO-45, PR deductible/coinsurance, a CO-197 denial; CO-129
 * with RARC M47 in LQ), a reversal (CLP02 22) followed by its correction, a PLB (interest) — which Dripline's
 * intake finds balanced and posts: one EOB per claim payment, amounts as the payer computed them.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { Claim, ExplanationOfBenefit, PaymentReconciliation } from '@medplum/fhirtypes';
import { officeInfusionContext, SAMPLE_PAYER } from '../../../src/claims/x12-samples.ts';
import { claimStateOf } from '../../../src/claims/workflow/state.ts';
import { receiveRemittance } from '../../../src/remittance/intake.ts';
import { RemittanceWorker } from '../../../src/remittance/worker.ts';
import { X12Adjudicator } from '../../../src/sandbox/payer/x12/adjudicator.ts';
import { read837 } from '../../../src/sandbox/payer/x12/read837.ts';
import { remittanceOf } from '../../../src/sandbox/payer/x12/remit.ts';
import { buildPayerTables } from '../../../src/sandbox/payer/tables.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import type { ClaimPaymentInput } from '../../../src/x12/835/write835.ts';
import { write835ToString } from '../../../src/x12/835/write835.ts';
import { write837ToString } from '../../../src/x12/837/write837.ts';
import { parseX12 } from '../../../src/x12/parse.ts';
import type { PostingFixture } from '../../remittance/support.ts';
import { NOW, openPostingFixture, TENANT, TENANTS, WRITE_OPTIONS } from '../../remittance/support.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../../../src/contract/canonical.ts';

const tables = buildPayerTables();
let fx: PostingFixture;

beforeEach(async () => {
  fx = await openPostingFixture();
});
afterEach(async () => {
  await fx.close();
});

const ENVELOPE = {
  sender: { id: 'DRIPLINE', name: 'Dripline' },
  receiver: { id: 'CLEARINGHOUSE', name: 'Clearinghouse' },
  controlNumbers: { isa: 7, gs: 7 },
  usage: 'T' as const,
};

/** Three office claims in `submitted`, the third without its authorization number; their 837. */
async function submittedBatch(): Promise<string> {
  const contexts = [officeInfusionContext(401), officeInfusionContext(402), officeInfusionContext(403, null)];
  for (const ctx of contexts) {
    await fx.store.resources.create(
      TENANT,
      {
        ...ctx.claim,
        extension: [
          { url: EXT_CLAIM_STATE, valueCode: 'submitted' },
          { url: EXT_CLAIM_PAYER, valueString: SAMPLE_PAYER.id },
        ],
      },
      { id: ctx.claim.id },
    );
  }
  return write837ToString(contexts, { ...ENVELOPE, kind: '837P', now: NOW });
}

async function segmentsOf(text: string): Promise<string[]> {
  const out: string[] = [];
  for await (const s of parseX12([text])) {
    out.push([s.id, ...s.elements].join('*'));
  }
  return out;
}

describe('the sandbox X12 payer answers an 837 batch with an 835 Dripline posts', () => {
  test('CAS groups, RARC, a denial, a reversal and its correction, a PLB: balanced and posted', async () => {
    const batch = await submittedBatch();
    const received = await read837(batch);
    expect(received.map((r) => r.patientControlNumber)).toEqual([
      'clm-office-401',
      'clm-office-402',
      'clm-office-403',
    ]);
    expect(received[0]?.claim.item?.map((i) => i.productOrService.coding?.[0]?.code)).toEqual([
      '96365',
      '96366',
      'J1745',
      'J1745',
    ]);
    expect(received[0]?.lineControlNumbers.get(3)).toBe('clm-office-401.3');

    const payer = new X12Adjudicator({
      tables,
      payerIds: { [SAMPLE_PAYER.payerId]: 'commercial' },
      claimNumberPrefix: 'X12P',
    });
    const payments: ClaimPaymentInput[] = received.flatMap((r) => payer.answer(r, '2026-12-03'));
    const first = payments[0]!;
    const reworked = payer.reprocess(first.payerClaimNumber ?? '', '2026-12-03') ?? [];
    expect(reworked.map((p) => p.status)).toEqual(['22', '1']);
    const text = await write835ToString(
      [
        remittanceOf({
          payerName: 'ACME HEALTH PLAN',
          payerId: SAMPLE_PAYER.payerId,
          payeeName: 'RIVERBEND INFUSION CENTER',
          payeeNpi: TENANTS[0]!.billing!.npi,
          trace: 'X12P-TRACE-1',
          paymentDate: '2026-12-03',
          claims: [...payments, ...reworked],
          providerAdjustments: [{ reason: 'L6', amount: -2.5, reference: first.payerClaimNumber ?? '' }],
        }),
      ],
      WRITE_OPTIONS,
    );
    const segments = await segmentsOf(text);
    // CAS in several groups, the denial's RARC, the reversal and the interest.
    expect(segments.some((s) => s.startsWith('CAS*CO*45*'))).toBe(true);
    expect(segments.some((s) => s.startsWith('CAS*PR*'))).toBe(true);
    expect(segments.some((s) => s.startsWith('CAS*CO*197*'))).toBe(true);
    expect(segments.filter((s) => s.startsWith('CLP*clm-office-401*22*'))).toHaveLength(1);
    expect(segments.some((s) => /^PLB\*.*\*L6:.*\*-2\.5$/.test(s))).toBe(true);
    // The denied claim: CLP02 4 is "denied" only when nothing was paid; here the drug line alone.
    const denied = payments.find((p) => p.patientControlNumber === 'clm-office-403')!;
    const deniedLine = denied.services.find((s) => s.adjustments[0]?.reason === '197');
    expect(deniedLine?.paid).toBe(0);

    const intake = await receiveRemittance(fx.intake, TENANT, [text], { source: 'sandbox-x12-payer' });
    expect(intake.outcome).toBe('accepted');
    expect(intake.report.transactions.every((t) => t.findings.every((f) => f.severity !== 'error'))).toBe(
      true,
    );
    const worker = new RemittanceWorker({ ...fx.posting, leaseMs: 60_000 });
    while ((await worker.runOnce()) > 0) {
      // next job
    }
    const eobs = await searchAll<ExplanationOfBenefit>(fx.store, TENANT, 'ExplanationOfBenefit');
    // One per claim payment: three answers, the reversal and the correction.
    expect(eobs).toHaveLength(5);
    const paidOf = (eob: ExplanationOfBenefit): number => eob.payment?.amount?.value ?? 0;
    const cents = (x: number): number => Math.round(x * 100);
    const expected = [...payments, ...reworked].reduce((s, p) => s + cents(p.paid), 0);
    expect(eobs.reduce((s, e) => s + cents(paidOf(e)), 0)).toBe(expected);
    const [reconciliation] = await searchAll<PaymentReconciliation>(
      fx.store,
      TENANT,
      'PaymentReconciliation',
    );
    expect(cents(reconciliation?.paymentAmount.value ?? 0)).toBe(expected + 250);
    for (const id of ['clm-office-401', 'clm-office-402', 'clm-office-403']) {
      const claim = (await fx.store.resources.read(TENANT, 'Claim', id)) as Claim;
      expect(claimStateOf(claim)).toBe('adjudicated');
    }
  });

  test('a replacement naming its claim number reverses the payment it replaces', async () => {
    const payer = new X12Adjudicator({
      tables,
      payerIds: { [SAMPLE_PAYER.payerId]: 'commercial' },
      claimNumberPrefix: 'X12P',
    });
    const [original] = await read837(
      await write837ToString([officeInfusionContext(404)], { ...ENVELOPE, kind: '837P', now: NOW }),
    );
    const [paid] = payer.answer(original!, '2026-12-03');
    const replacement = officeInfusionContext(404);
    const corrected = {
      ...replacement,
      claim: {
        ...replacement.claim,
        id: 'clm-office-404-c',
        related: [
          {
            claim: { reference: 'Claim/clm-office-404' },
            relationship: { coding: [{ code: 'prior' }] },
            reference: { value: paid!.payerClaimNumber ?? '' },
          },
        ],
      },
    };
    const text = await write837ToString([corrected], { ...ENVELOPE, kind: '837P', now: NOW });
    expect(text).toContain(`REF*F8*${paid!.payerClaimNumber ?? ''}~`);
    const [received] = await read837(text);
    const answer = payer.answer(received!, '2026-12-04');
    expect(answer.map((p) => [p.patientControlNumber, p.status])).toEqual([
      ['clm-office-404', '22'],
      ['clm-office-404-c', '1'],
    ]);
    expect(answer[0]?.paid).toBe(-(paid?.paid ?? 0));
    expect(answer[1]?.frequency).toBe('7');

    // A replacement naming a claim number the payer never gave: CO-129 on every line, RARC M47 in LQ.
    const stray = {
      ...corrected,
      claim: {
        ...corrected.claim,
        id: 'clm-office-404-d',
        related: [{ relationship: { coding: [{ code: 'prior' }] }, reference: { value: 'X12P-NO-SUCH' } }],
      },
    };
    const [strayReceived] = await read837(
      await write837ToString([stray], { ...ENVELOPE, kind: '837P', now: NOW }),
    );
    const [refused] = payer.answer(strayReceived!, '2026-12-04');
    expect(refused?.status).toBe('4');
    const segments = await segmentsOf(
      await write835ToString(
        [
          remittanceOf({
            payerName: 'ACME HEALTH PLAN',
            payerId: SAMPLE_PAYER.payerId,
            payeeName: 'RIVERBEND INFUSION CENTER',
            payeeNpi: TENANTS[0]!.billing!.npi,
            trace: 'X12P-TRACE-2',
            paymentDate: '2026-12-04',
            claims: [refused!],
          }),
        ],
        WRITE_OPTIONS,
      ),
    );
    expect(segments.filter((x) => x.startsWith('CAS*CO*129*'))).toHaveLength(4);
    expect(segments.filter((x) => x === 'LQ*HE*M47')).toHaveLength(4);
    expect(segments.find((x) => x.startsWith('BPR*'))).toMatch(/^BPR\*H\*0\*C\*NON\*/);
  });
});
