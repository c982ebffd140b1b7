/**
 * One claim payment as the payer sent it, channel-neutral and not yet matched to a claim: what an
 * 835 CLP loop (`fromClaimPayment835`) or a FHIR payer's answer (./sources/claim-response.ts) becomes before
 * posting, and the outcome rule both share. Pure.
 *
 * Outcome (what the payment did to the claim): a reversal (CLP02 22) reverses; a claim the payer
 * denied (CLP02 4), or that pays nothing and leaves nothing to the patient, is denied; a claim
 * with some lines denied — nothing paid, nothing to the patient — and others not is partially
 * paid; anything else is paid (the patient's share, a contractual write-down, sequestration are not
 * denials). Allowed per line is AMT*B6 when the payer sent it, else paid + patient
 * responsibility (005010X221A1 1.10.2.6: the allowed amount is what the payer recognised).
 */
import type { ClaimPayment835, Name835, ServicePayment835 } from '../x12/835/types.ts';
import { toCents } from '../x12/835/values.ts';
import type {
  ClaimPaymentAsSent,
  PaymentOutcome,
  PostedAdjustment,
  PostedClaimPayment,
  PostedLine,
} from './posted.ts';
import { patientShareOf } from './posted.ts';

/**
 * A line before matching: the posted line without the claim item it matches. A FHIR answer names
 * the claim item it answers (`answersItem`, ClaimResponse.item.itemSequence); an 835 line does not.
 */
export type LineDraft = Omit<PostedLine, 'itemSequence' | 'matchedBy'> & { readonly answersItem?: number };

export interface ClaimPaymentDraft extends ClaimPaymentAsSent {
  /** Position of the payment in its remittance (CLP order in the transaction set); 1 for a FHIR answer. */
  readonly position: number;
  readonly lines: readonly LineDraft[];
  /** Statement period (DTM 232/233) as YYYY-MM-DD. */
  readonly period?: { readonly start?: string; readonly end?: string };
  /** The patient and insured as the payer named them (NM1*QC / IL): for unmatched payments. */
  readonly patient?: { readonly name?: string; readonly memberId?: string };
  /** CLP06 claim filing indicator and CLP09 frequency, as sent. */
  readonly filingIndicator?: string;
  readonly frequency?: string;
}

/**
 * The posted payment a draft becomes once matched to a claim: the figures as sent, the lines
 * matched to the claim's items, and where it was posted (the EOB id, or the ClaimResponse read
 * as one) and, from an 835, the remittance and the payment a reversal reverses.
 */
export function postedClaimPayment(
  draft: ClaimPaymentDraft,
  posted: Pick<PostedClaimPayment, 'id' | 'claim' | 'payer' | 'lines' | 'remittance' | 'reverses'>,
): PostedClaimPayment {
  return {
    id: posted.id,
    channel: draft.channel,
    claim: posted.claim,
    payer: posted.payer,
    patientControlNumber: draft.patientControlNumber,
    ...(draft.payerClaimNumber ? { payerClaimNumber: draft.payerClaimNumber } : {}),
    status: draft.status,
    outcome: draft.outcome,
    submitted: draft.submitted,
    paid: draft.paid,
    patientResponsibility: draft.patientResponsibility,
    adjustments: draft.adjustments,
    remarks: draft.remarks,
    lines: posted.lines,
    ...(draft.paymentDate ? { paymentDate: draft.paymentDate } : {}),
    ...(posted.remittance ? { remittance: posted.remittance } : {}),
    ...(posted.reverses ? { reverses: posted.reverses } : {}),
    ...(draft.crossover ? { crossover: draft.crossover } : {}),
  };
}

const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + toCents(x), 0) / 100;

function adjustmentsOf(list: ServicePayment835['adjustments']): PostedAdjustment[] {
  return list.map((a) => ({
    group: a.group,
    carc: a.reason,
    amount: a.amount,
    ...(a.quantity !== undefined ? { quantity: a.quantity } : {}),
  }));
}

function dateOf(line: ServicePayment835, qualifiers: readonly string[]): string | undefined {
  return line.dates.find((d) => qualifiers.includes(d.qualifier))?.value;
}

/** One SVC loop as a line draft. */
export function lineOf(line: ServicePayment835): LineDraft {
  const adjustments = adjustmentsOf(line.adjustments);
  const patient = patientShareOf(adjustments);
  const reported = line.amounts.find((a) => a.qualifier === 'B6')?.value;
  const serviceDate = dateOf(line, ['472', '150']);
  const serviceDateEnd = dateOf(line, ['151']);
  const lineItemControlNumber = line.references.find((r) => r.qualifier === '6R')?.value;
  return {
    position: line.position,
    procedure: line.procedure,
    ...(line.billedProcedure ? { billedProcedure: line.billedProcedure } : {}),
    ...(line.units !== undefined ? { units: line.units } : {}),
    ...(line.billedUnits !== undefined ? { billedUnits: line.billedUnits } : {}),
    ...(serviceDate ? { serviceDate } : {}),
    ...(serviceDateEnd ? { serviceDateEnd } : {}),
    ...(lineItemControlNumber ? { lineItemControlNumber } : {}),
    submitted: line.charge,
    allowed: reported ?? sum([line.paid, patient.total]),
    allowedReported: reported !== undefined,
    paid: line.paid,
    patientResponsibility: patient,
    adjustments,
    remarks: line.remarks,
  };
}

/** Whether a line was denied: something was billed, nothing paid, nothing left to the patient. */
export function lineDenied(line: Pick<LineDraft, 'submitted' | 'paid' | 'patientResponsibility'>): boolean {
  return line.submitted > 0 && line.paid === 0 && line.patientResponsibility.total === 0;
}

/** The outcome rule (module comment). */
export function outcomeOf(input: {
  readonly status: string;
  readonly paid: number;
  readonly patientResponsibility: number;
  readonly lines: readonly Pick<LineDraft, 'submitted' | 'paid' | 'patientResponsibility'>[];
}): PaymentOutcome {
  if (input.status === '22') {
    return 'reversed';
  }
  if (input.status === '4' || (input.paid === 0 && input.patientResponsibility === 0)) {
    return 'denied';
  }
  const denied = input.lines.filter(lineDenied).length;
  if (denied > 0 && denied === input.lines.length) {
    return 'denied';
  }
  return denied > 0 ? 'partially-paid' : 'paid';
}

function personName(n: Name835 | undefined): string | undefined {
  if (!n) {
    return undefined;
  }
  const parts = [n.first, n.middle, n.last].filter((p): p is string => p !== undefined && p !== '');
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** An 835 claim payment (loop 2100 with its 2110 lines) as a draft; `paymentDate` is BPR16. */
export function fromClaimPayment835(claim: ClaimPayment835, paymentDate: string): ClaimPaymentDraft {
  const adjustments = adjustmentsOf(claim.adjustments);
  const lines = claim.services.map(lineOf);
  const patientResponsibility = patientShareOf([...adjustments, ...lines.flatMap((l) => l.adjustments)]);
  const patient = claim.names.find((n) => n.entity === 'QC');
  const insured = claim.names.find((n) => n.entity === 'IL');
  const crossover = claim.names.find((n) => n.entity === 'TT');
  const start = claim.dates.find((d) => d.qualifier === '232')?.value;
  const end = claim.dates.find((d) => d.qualifier === '233')?.value;
  const remarks = [...(claim.outpatient?.remarks ?? []), ...(claim.inpatient?.remarks ?? [])];
  const forwarded = ['19', '20', '21'].includes(claim.status);
  const name = personName(patient);
  const memberId = patient?.id ?? insured?.id;
  return {
    channel: 'x12-835',
    position: claim.position,
    patientControlNumber: claim.patientControlNumber,
    ...(claim.payerClaimNumber ? { payerClaimNumber: claim.payerClaimNumber } : {}),
    status: claim.status,
    outcome: outcomeOf({
      status: claim.status,
      paid: claim.paid,
      patientResponsibility: patientResponsibility.total,
      lines,
    }),
    submitted: claim.charge,
    paid: claim.paid,
    patientResponsibility,
    adjustments,
    remarks,
    lines,
    ...(paymentDate ? { paymentDate } : {}),
    ...(start || end ? { period: { ...(start ? { start } : {}), ...(end ? { end } : {}) } } : {}),
    ...(name || memberId
      ? { patient: { ...(name ? { name } : {}), ...(memberId ? { memberId } : {}) } }
      : {}),
    ...(crossover || forwarded
      ? {
          crossover: {
            ...(crossover?.last ? { name: crossover.last } : {}),
            ...(crossover?.id ? { id: crossover.id } : {}),
          },
        }
      : {}),
    ...(claim.filingIndicator ? { filingIndicator: claim.filingIndicator } : {}),
    ...(claim.frequency ? { frequency: claim.frequency } : {}),
  };
}
