/**
 * A remittance as a FHIR R4 PaymentReconciliation (pure): the payment (BPR02, negative for a
 * debit; BPR16 date; BPR04 method and BPR01 handling as an extension), the check or EFT trace
 * number (TRN02) as `paymentIdentifier`, the payer as `paymentIssuer`, one `detail` per claim payment
 * (type payment: the CLP01 it was sent under, CLP04, the Claim it pays as `request` when it was
 * matched to one, the ExplanationOfBenefit it was posted as `response`)
 * and one per provider-level adjustment (type adjustment: the PLB reason and reference, its amount
 * negated — a PLB amount reduces the payment, a detail amount adds to it — so that
 * paymentAmount = Σ detail.amount). ../shared/research/market.md §1.4.
 */
import type { PaymentReconciliation, PaymentReconciliationDetail } from '@medplum/fhirtypes';
import type { Header835, ProviderAdjustment835 } from '../x12/835/types.ts';
import {
  EXT_PAYMENT_METHOD,
  ID_PATIENT_CONTROL_NUMBER,
  ID_PAYMENT_TRACE,
  PAYMENT_TYPE_SYSTEM,
  ID_REMITTANCE_AMOUNTS,
  ID_REMITTANCE,
  ID_TENANT_PAYER,
} from '../contract/remittance.ts';

/** What the reconciliation lists of one claim payment. */
export interface ClaimPaymentDetail {
  readonly eob: string;
  /** The Claim it pays, when the payment was matched to one (an unmatched payment names none). */
  readonly claim?: string;
  readonly patientControlNumber: string;
  readonly paid: number;
}

export interface ReconciliationInput {
  readonly id: string;
  readonly key: string;
  readonly amountsKey: string;
  readonly header: Pick<Header835, 'payment' | 'trace' | 'payer'>;
  readonly payer: { readonly id: string; readonly name: string };
  readonly claims: readonly ClaimPaymentDetail[];
  readonly providerAdjustments: readonly ProviderAdjustment835[];
  /** The received file (DocumentReference) it came in. */
  readonly file?: string;
  readonly created: string;
}

const money = (value: number): { value: number; currency: 'USD' } => ({
  value: Math.round(value * 100) / 100 + 0,
  currency: 'USD',
});

export function buildPaymentReconciliation(
  input: ReconciliationInput,
): PaymentReconciliation & { id: string } {
  const { payment, trace } = input.header;
  const signed = payment.creditDebit === 'D' ? -payment.amount : payment.amount;
  const details: PaymentReconciliationDetail[] = [
    ...input.claims.map((c): PaymentReconciliationDetail => ({
      identifier: { system: ID_PATIENT_CONTROL_NUMBER, value: c.patientControlNumber },
      type: { coding: [{ system: PAYMENT_TYPE_SYSTEM, code: 'payment' }] },
      ...(c.claim ? { request: { reference: `Claim/${c.claim}` } } : {}),
      response: { reference: `ExplanationOfBenefit/${c.eob}` },
      ...(payment.date ? { date: payment.date } : {}),
      amount: money(c.paid),
    })),
    ...input.providerAdjustments.map((a): PaymentReconciliationDetail => ({
      ...(a.reference ? { identifier: { value: a.reference } } : {}),
      type: { coding: [{ system: PAYMENT_TYPE_SYSTEM, code: 'adjustment' }], text: `PLB ${a.reason}` },
      ...(a.fiscalPeriodDate ? { date: a.fiscalPeriodDate } : {}),
      amount: money(-a.amount),
    })),
  ];
  return {
    resourceType: 'PaymentReconciliation',
    id: input.id,
    extension: [
      {
        url: EXT_PAYMENT_METHOD,
        valueCoding: { code: payment.method, display: `BPR01 ${payment.handling}, BPR04 ${payment.method}` },
      },
    ],
    identifier: [
      { system: ID_REMITTANCE, value: input.key },
      { system: ID_REMITTANCE_AMOUNTS, value: `${input.key}|${input.amountsKey}` },
    ],
    status: 'active',
    created: input.created,
    paymentIssuer: {
      identifier: { system: ID_TENANT_PAYER, value: input.payer.id },
      display: input.header.payer.name ?? input.payer.name,
    },
    outcome: 'complete',
    disposition: `${input.claims.length} claim payment(s), ${input.providerAdjustments.length} provider adjustment(s)${input.file ? `; from DocumentReference/${input.file}` : ''}`,
    paymentDate: payment.date,
    paymentAmount: money(signed),
    paymentIdentifier: { system: ID_PAYMENT_TRACE, value: trace.number },
    ...(details.length > 0 ? { detail: details } : {}),
  };
}
