/**
 * Property: any remittance Dripline's 835 writer produces for claims Dripline sent — random CAS
 * groups and reasons at claim and line level, denied claims, provider-level adjustments, any
 * delimiters and line breaks, several remittances in one file — is read back, balances, and posts
 * to exactly the amounts written: per EOB the submitted, paid and patient totals, every line's
 * charge and payment, every CAS triplet as an adjudication with its group and CARC; per
 * PaymentReconciliation the payment amount (BPR02) and a detail per claim payment and PLB.
 */
import { describe, expect, test } from '@jest/globals';
import type { Claim, ExplanationOfBenefit, PaymentReconciliation } from '@medplum/fhirtypes';
import { receiveRemittance } from '../../src/remittance/intake.ts';
import { REMITTANCE_POST_QUEUE } from '../../src/remittance/jobs.ts';
import { RemittanceWorker } from '../../src/remittance/worker.ts';
import { searchAll } from '../../src/store/search-all.ts';
import type { ClaimPaymentInput, RemittanceInput } from '../../src/x12/835/write835.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import type { Delimiters } from '../../src/x12/delimiters.ts';
import { lineItemControlNumber } from '../../src/x12/837/lines-2400.ts';
import { openPostingFixture, remittance, seedSubmittedClaims, TENANT, WRITE_OPTIONS } from './support.ts';

/** mulberry32: deterministic, so a failing case replays from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DELIMITER_SETS: readonly { delimiters: Delimiters; lineBreak: '' | '\n' | '\r\n' }[] = [
  { delimiters: { element: '*', component: ':', repetition: '^', segment: '~' }, lineBreak: '' },
  { delimiters: { element: '|', component: '>', repetition: '{', segment: '\n' }, lineBreak: '' },
  { delimiters: { element: '^', component: '\\', repetition: '}', segment: '~' }, lineBreak: '\r\n' },
  { delimiters: { element: '!', component: '@', repetition: '#', segment: "'" }, lineBreak: '\n' },
];

const cents = (x: number): number => Math.round(x * 100);
const dollars = (c: number): number => c / 100;

/** A payment of a stored claim that balances by construction: random CAS, paid = charge − Σ CAS. */
function randomPayment(rand: () => number, claim: Claim & { id: string }): ClaimPaymentInput {
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
  const denied = rand() < 0.2;
  const services = (claim.item ?? []).map((item) => {
    const charge = cents(item.net?.value ?? 0);
    let left = charge;
    const adjustments = denied
      ? [{ group: 'CO', reason: pick(['4', '16', '197', '29']), amount: dollars(charge) }]
      : Array.from({ length: int(0, 3) }, () => {
          const amount = int(0, Math.floor(left / 2));
          left -= amount;
          return {
            group: pick(['CO', 'PR', 'OA', 'PI']),
            reason: pick(['1', '2', '3', '45', '253', '23', 'A2']),
            amount: dollars(amount),
          };
        });
    const paid = denied ? 0 : left;
    return {
      procedure: {
        qualifier: 'HC',
        code: item.productOrService.coding?.[0]?.code ?? '',
        modifiers: (item.modifier ?? []).map((m) => m.coding?.[0]?.code ?? ''),
      },
      charge: dollars(charge),
      paid: dollars(paid),
      units: item.quantity?.value ?? 1,
      dates: [{ qualifier: '472', value: item.servicedDate ?? '2026-11-02' }],
      adjustments,
      references: [{ qualifier: '6R', value: lineItemControlNumber(claim.id, item) }],
      amounts: [],
      quantities: [],
      remarks: denied ? [pick(['N362', 'N290', 'M62'])] : [],
      pharmacyRejects: [],
    };
  });
  // A claim-level CAS now and then (an interest credit is negative: it adds to the payment).
  const claimAdjustments =
    !denied && rand() < 0.3
      ? [{ group: pick(['CO', 'OA']), reason: pick(['45', '225', 'A2']), amount: dollars(int(-500, 500)) }]
      : [];
  const charge = services.reduce((s, l) => s + cents(l.charge), 0);
  const paid =
    services.reduce((s, l) => s + cents(l.paid), 0) -
    claimAdjustments.reduce((s, a) => s + cents(a.amount), 0);
  const pr = [...claimAdjustments, ...services.flatMap((s) => s.adjustments)]
    .filter((a) => a.group === 'PR')
    .reduce((s, a) => s + cents(a.amount), 0);
  return {
    patientControlNumber: claim.id,
    status: denied ? '4' : pick(['1', '2']),
    charge: dollars(charge),
    paid: dollars(paid),
    patientResponsibility: dollars(pr),
    filingIndicator: 'CI',
    payerClaimNumber: `ICN${int(100000, 999999)}`,
    facilityType: '11',
    frequency: '1',
    adjustments: claimAdjustments,
    names: [{ entity: 'QC', entityType: '1', last: 'DOE', first: 'JANE', idQualifier: 'MI', id: 'M1' }],
    references: [],
    dates: [{ qualifier: '232', value: '2026-11-02' }],
    amounts: [],
    quantities: [],
    services,
  };
}

type Triplet = [string, string, number];
const triplets = (adjudication: NonNullable<ExplanationOfBenefit['adjudication']> | undefined): Triplet[] =>
  (adjudication ?? [])
    .filter((a) => ['CO', 'PR', 'OA', 'PI'].includes(a.category.coding?.[0]?.code ?? ''))
    .map((a): Triplet => [
      a.category.coding?.[0]?.code ?? '',
      a.reason?.coding?.[0]?.code ?? '',
      a.amount?.value ?? 0,
    ])
    .sort();
const casOf = (adjustments: readonly { group: string; reason: string; amount: number }[]): Triplet[] =>
  adjustments.map((a): Triplet => [a.group, a.reason, a.amount]).sort();
const totalOf = (eob: ExplanationOfBenefit, code: string): number | undefined =>
  eob.total?.find((t) => t.category.coding?.[0]?.code === code)?.amount.value;
const benefitOf = (item: NonNullable<ExplanationOfBenefit['item']>[number] | undefined): number | undefined =>
  item?.adjudication?.find((a) => a.category.coding?.[0]?.code === 'benefit')?.amount?.value;

describe('835 round trip: written by our writer, read, balanced and posted to the same figures', () => {
  test('property: 24 random files (1–2 remittances of 1–4 claim payments, PLBs, any delimiters)', async () => {
    for (let seed = 1; seed <= 24; seed++) {
      const rand = prng(seed);
      const fx = await openPostingFixture();
      try {
        const claims = await seedSubmittedClaims(fx.store, 1 + Math.floor(rand() * 6));
        const remittances: { input: RemittanceInput; payments: ClaimPaymentInput[] }[] = [];
        let next = 0;
        for (let r = 0; r < 1 + Math.floor(rand() * 2) && next < claims.length; r++) {
          const count = Math.min(claims.length - next, 1 + Math.floor(rand() * 4));
          const payments = claims.slice(next, next + count).map((c) => randomPayment(rand, c));
          next += count;
          const plb = Array.from({ length: Math.floor(rand() * 3) }, (_, i) => ({
            reason: ['WO', 'L6', 'FB', 'CS'][Math.floor(rand() * 4)] as string,
            reference: `REF${seed}${i}`,
            amount: dollars(Math.floor(rand() * 20000) - 10000),
          }));
          remittances.push({ input: remittance(payments, { trace: `EFT-${seed}-${r}`, plb }), payments });
        }
        const { delimiters, lineBreak } = DELIMITER_SETS[seed % DELIMITER_SETS.length]!;
        const text = await write835ToString(
          remittances.map((r) => r.input),
          { ...WRITE_OPTIONS, delimiters, lineBreak },
        );
        const received = await receiveRemittance(fx.intake, TENANT, [text], { source: 'round-trip' });
        expect([seed, received.outcome]).toEqual([seed, 'accepted']);
        const worker = new RemittanceWorker({ ...fx.posting, leaseMs: 60_000 });
        while ((await worker.runOnce()) > 0) {
          // next job
        }
        expect(await fx.store.jobs.listJobs(TENANT, REMITTANCE_POST_QUEUE, 'dead', 10)).toEqual([]);

        const eobs = await searchAll<ExplanationOfBenefit>(fx.store, TENANT, 'ExplanationOfBenefit');
        const written = remittances.flatMap((r) => r.payments);
        expect(eobs.length).toBe(written.length);
        for (const payment of written) {
          const eob = eobs.find((e) => e.claim?.reference === `Claim/${payment.patientControlNumber}`);
          const where = `seed ${seed}, claim ${payment.patientControlNumber}`;
          expect({ where, status: eob?.status }).toEqual({ where, status: 'active' });
          expect([
            where,
            totalOf(eob!, 'submitted'),
            totalOf(eob!, 'benefit'),
            totalOf(eob!, 'memberliability'),
          ]).toEqual([where, payment.charge, payment.paid, payment.patientResponsibility]);
          expect([where, triplets(eob!.adjudication)]).toEqual([where, casOf(payment.adjustments)]);
          payment.services.forEach((line, i) => {
            const item = eob!.item?.find((it) => it.sequence === i + 1);
            const submitted = item?.adjudication?.find((a) => a.category.coding?.[0]?.code === 'submitted')
              ?.amount?.value;
            expect([where, i + 1, submitted, benefitOf(item), triplets(item?.adjudication)]).toEqual([
              where,
              i + 1,
              line.charge,
              line.paid,
              casOf(line.adjustments),
            ]);
          });
        }
        const reconciliations = await searchAll<PaymentReconciliation>(
          fx.store,
          TENANT,
          'PaymentReconciliation',
        );
        expect(reconciliations.length).toBe(remittances.length);
        for (const { input, payments } of remittances) {
          const rec = reconciliations.find((p) => p.paymentIdentifier?.value === input.header.trace.number);
          const signed =
            input.header.payment.creditDebit === 'D'
              ? -input.header.payment.amount
              : input.header.payment.amount;
          expect([seed, rec?.paymentAmount.value]).toEqual([seed, signed]);
          const details = rec?.detail ?? [];
          expect(details.length).toBe(payments.length + input.providerAdjustments().length);
          expect(dollars(details.reduce((s, d) => s + cents(d.amount?.value ?? 0), 0))).toBe(signed);
        }
      } finally {
        await fx.close();
      }
    }
  }, 120_000);
});
