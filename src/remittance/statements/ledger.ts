/**
 * A patient's balance from the stored resources, pure: what the payers left to the patient on each
 * service line of their ExplanationOfBenefits (C4BB `memberliability`, Σ CAS group PR; reversals
 * carry negative amounts and net out), less the patient's payments and adjustments (PaymentNotice).
 * Each line says what was billed, what insurance paid, what was adjusted, and what the patient owes.
 */
import type { ExplanationOfBenefit, PaymentNotice } from '@medplum/fhirtypes';
import { CS_PATIENT_CREDIT } from '../../contract/appeals.ts';
import { round2 } from '../amounts.ts';
import { serviceLabel } from '../documents/labels.ts';
import type { Charge } from './rules.ts';

export interface StatementLine {
  readonly eob: string;
  readonly sequence: number;
  readonly serviceDate: string;
  /** When the amount became the patient's: the payer's payment date (else the EOB's). */
  readonly posted: string;
  readonly code: string;
  readonly description: string;
  readonly billed: number;
  readonly insurancePaid: number;
  readonly adjustments: number;
  readonly patientOwes: number;
}

export interface Credit {
  readonly id: string;
  readonly kind: 'payment' | 'adjustment';
  readonly date: string;
  readonly amount: number;
}

const adjudicated = (item: NonNullable<ExplanationOfBenefit['item']>[number], code: string): number =>
  item.adjudication?.find((a) => a.category.coding?.some((c) => c.code === code))?.amount?.value ?? 0;

export function statementLines(eobs: readonly ExplanationOfBenefit[]): StatementLine[] {
  return eobs
    .filter((e) => e.status === 'active')
    .flatMap((e) =>
      (e.item ?? []).flatMap((item): StatementLine[] => {
        const owes = adjudicated(item, 'memberliability');
        if (Math.abs(owes) < 0.005) {
          return [];
        }
        const billed = adjudicated(item, 'submitted');
        const paid = adjudicated(item, 'benefit');
        const code = item.productOrService.coding?.[0]?.code ?? '';
        return [
          {
            eob: e.id ?? '',
            sequence: item.sequence,
            serviceDate: (item.servicedDate ?? item.servicedPeriod?.start ?? '').slice(0, 10),
            posted: (e.payment?.date ?? e.created).slice(0, 10),
            code,
            description: serviceLabel(code),
            billed,
            insurancePaid: paid,
            adjustments: round2(billed - paid - owes),
            patientOwes: owes,
          },
        ];
      }),
    )
    .sort(
      (a, b) =>
        a.serviceDate.localeCompare(b.serviceDate) || a.eob.localeCompare(b.eob) || a.sequence - b.sequence,
    );
}

export function creditsOf(notices: readonly PaymentNotice[]): Credit[] {
  return notices
    .filter((n) => n.status === 'active')
    .map((n) => ({
      id: n.id ?? '',
      kind:
        n.paymentStatus?.coding?.find((c) => c.system === CS_PATIENT_CREDIT)?.code === 'adjustment'
          ? 'adjustment'
          : 'payment',
      date: (n.paymentDate ?? n.created).slice(0, 10),
      amount: n.amount.value ?? 0,
    }));
}

export interface Balance {
  readonly charges: number;
  readonly payments: number;
  readonly adjustments: number;
  readonly balance: number;
  /** Per day the amounts became the patient's (for aging). */
  readonly chargesByDate: readonly Charge[];
}

export function balanceOf(lines: readonly StatementLine[], credits: readonly Credit[]): Balance {
  const sum = (xs: readonly number[]): number => round2(xs.reduce((a, b) => a + b, 0));
  const charges = sum(lines.map((l) => l.patientOwes));
  const payments = sum(credits.filter((c) => c.kind === 'payment').map((c) => c.amount));
  const adjustments = sum(credits.filter((c) => c.kind === 'adjustment').map((c) => c.amount));
  const byDate = new Map<string, number>();
  for (const l of lines) {
    byDate.set(l.posted, round2((byDate.get(l.posted) ?? 0) + l.patientOwes));
  }
  return {
    charges,
    payments,
    adjustments,
    balance: round2(charges - payments - adjustments),
    chargesByDate: [...byDate].map(([date, amount]) => ({ date, amount })),
  };
}
