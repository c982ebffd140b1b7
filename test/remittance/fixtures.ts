/**
 * Posted claim payments for the remittance engines' tests, written the way an 835 reader would
 * produce them (src/remittance/posted.ts): lines with their CAS adjustments, the patient's share
 * derived from the PR ones, allowed as reported.
 */
import type { PostedAdjustment, PostedClaimPayment, PostedLine } from '../../src/remittance/posted.ts';
import { patientShareOf } from '../../src/remittance/posted.ts';

const cents = (x: number): number => Math.round(x * 100) / 100;

export interface LineSpec {
  readonly sequence?: number;
  readonly code: string;
  readonly modifiers?: readonly string[];
  readonly units?: number;
  readonly date?: string;
  readonly submitted: number;
  readonly paid: number;
  /** The payer's allowed amount (AMT*B6); omitted: not reported. */
  readonly allowed?: number;
  readonly adjustments?: readonly PostedAdjustment[];
  readonly remarks?: readonly string[];
}

export function postedLine(spec: LineSpec, position = 1): PostedLine {
  const adjustments = spec.adjustments ?? [];
  const share = patientShareOf(adjustments);
  return {
    position,
    ...(spec.sequence !== undefined
      ? { itemSequence: spec.sequence, matchedBy: 'item-sequence' as const }
      : {}),
    procedure: { qualifier: 'HC', code: spec.code, modifiers: spec.modifiers ?? [] },
    units: spec.units ?? 1,
    serviceDate: spec.date ?? '2026-03-02',
    submitted: spec.submitted,
    allowed: spec.allowed ?? cents(spec.paid + share.total),
    allowedReported: spec.allowed !== undefined,
    paid: spec.paid,
    patientResponsibility: share,
    adjustments,
    remarks: spec.remarks ?? [],
  };
}

/** A paid line: CO-45 down to the allowed amount, PR-2 for the coinsurance, the rest paid. */
export function paidLine(
  code: string,
  units: number,
  submitted: number,
  allowed: number,
  paid: number,
  extra: Partial<LineSpec> = {},
): PostedLine {
  const coinsurance = cents(allowed - paid);
  return postedLine({
    sequence: 1,
    code,
    units,
    submitted,
    allowed,
    paid,
    adjustments: [
      { group: 'CO', carc: '45', amount: cents(submitted - allowed) },
      ...(coinsurance > 0 ? [{ group: 'PR', carc: '2', amount: coinsurance }] : []),
    ],
    ...extra,
  });
}

export function payment(
  lines: readonly PostedLine[],
  extra: Partial<PostedClaimPayment> = {},
): PostedClaimPayment {
  const all = lines.flatMap((l) => l.adjustments);
  const paid = cents(lines.reduce((s, l) => s + l.paid, 0));
  return {
    id: 'eob-1',
    channel: 'x12-835',
    claim: 'claim-1',
    payer: 'lakeshore',
    patientControlNumber: 'claim-1',
    payerClaimNumber: 'ICN-1',
    status: '1',
    outcome: lines.some((l) => l.paid === 0) ? (paid === 0 ? 'denied' : 'partially-paid') : 'paid',
    submitted: cents(lines.reduce((s, l) => s + l.submitted, 0)),
    paid,
    patientResponsibility: patientShareOf(all),
    adjustments: [],
    remarks: [],
    lines: lines.map((l, i) => ({ ...l, position: i + 1 })),
    paymentDate: '2026-03-20',
    ...extra,
  };
}
