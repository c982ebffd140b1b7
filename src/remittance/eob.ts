/**
 * A posted claim payment as a FHIR R4 ExplanationOfBenefit (pure). Amounts follow CARIN Blue
 * Button's adjudication vocabulary, as ../shared/research/market.md §1.2-1.4 recommends: per line
 * `submitted` (SVC02), `eligible` (allowed), `deductible` / C4BB `coinsurance` / `copay` (PR-1,
 * PR-2, PR-3), C4BB `memberliability` (Σ PR), `benefit` (paid, SVC03); and every CAS triplet as an
 * adjudication of its own whose category is the X12 group code (CO, PR, OA, PI) and whose reason is
 * the CARC, so denials can be grouped by group, CARC and payer. RARCs are item (or EOB) extensions
 * with the X12 RARC code system. Totals repeat the claim's: submitted (CLP03), eligible, benefit
 * (CLP04), memberliability. `payment` carries the date, the amount and the check/EFT trace, and
 * CARIN's payment status (paid, partiallypaid, denied). A reversal (CLP02 22) names the payment
 * it takes back (related + extension). Unmatched payments are written as `draft` EOBs naming the
 * patient by the payer's member id, until a person matches them.
 */
import type {
  Claim,
  CodeableConcept,
  ExplanationOfBenefit,
  ExplanationOfBenefitItem,
  ExplanationOfBenefitItemAdjudication,
  Extension,
  Organization,
  Patient,
  Reference,
} from '@medplum/fhirtypes';
import type { ClaimPaymentDraft } from './claim-payment.ts';
import type { PaymentOutcome, PostedAdjustment, PostedLine } from './posted.ts';
import {
  ADJUDICATION_SYSTEM,
  C4BB_ADJUDICATION_SYSTEM,
  C4BB_PAYMENT_STATUS_SYSTEM,
  CARC_SYSTEM,
  CLAIM_STATUS_SYSTEM,
  CLAIM_TYPE_SYSTEM,
  CPT_SYSTEM,
  EXT_CLAIM_STATUS_CODE,
  EXT_CROSSOVER,
  EXT_LINE_ITEM_CONTROL_NUMBER,
  EXT_LINE_MATCH,
  EXT_REMARK,
  EXT_REMITTANCE,
  EXT_REVERSES,
  GROUP_CODE_SYSTEM,
  HCPCS_SYSTEM,
  NPI_SYSTEM,
  ID_PATIENT_CONTROL_NUMBER,
  payerClaimNumberSystem,
  ID_PAYMENT_TRACE,
  RARC_SYSTEM,
  ID_TENANT_PAYER,
} from '../contract/remittance.ts';

const REVENUE_SYSTEM = 'https://www.nubc.org/CodeSystem/RevenueCodes';
const RELATED_CLAIM_SYSTEM = 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship';

export interface EobInput {
  readonly id: string;
  readonly draft: ClaimPaymentDraft;
  /** The lines with their matches (same order as the draft's). */
  readonly lines: readonly PostedLine[];
  /** The claim it was matched to (absent: an unmatched payment, written as a draft). */
  readonly claim?: Claim & { id: string };
  /** The tenant payer that paid (config id, name), or what the remittance says of an unknown one. */
  readonly payer: { readonly id: string; readonly name: string };
  /** The payee as the remittance names it (for unmatched payments): NPI when it gave one. */
  readonly payeeNpi?: string;
  readonly remittance?: { readonly id: string; readonly trace: string };
  /** The EOB a reversal takes back. */
  readonly reverses?: string;
  /** Instant of posting. */
  readonly created: string;
}

const money = (value: number): { value: number; currency: 'USD' } => ({
  value: Math.round(value * 100) / 100 + 0,
  currency: 'USD',
});

const concept = (system: string, code: string, text?: string): CodeableConcept => ({
  coding: [{ system, code }],
  ...(text ? { text } : {}),
});

function amount(
  category: CodeableConcept,
  value: number,
): ExplanationOfBenefitItemAdjudication & { amount: { value: number; currency: 'USD' } } {
  return { category, amount: money(value) };
}

/** One adjudication per CAS triplet: category = group code, reason = CARC. */
function adjustmentEntries(adjustments: readonly PostedAdjustment[]): ExplanationOfBenefitItemAdjudication[] {
  return adjustments.map((a) => ({
    category: concept(GROUP_CODE_SYSTEM, a.group),
    reason: concept(CARC_SYSTEM, a.carc),
    amount: money(a.amount),
    ...(a.quantity !== undefined ? { value: a.quantity } : {}),
  }));
}

function remarks(codes: readonly string[]): Extension[] {
  return codes.map((code) => ({ url: EXT_REMARK, valueCoding: { system: RARC_SYSTEM, code } }));
}

function lineAdjudications(line: PostedLine): ExplanationOfBenefitItemAdjudication[] {
  const pr = line.patientResponsibility;
  return [
    amount(concept(ADJUDICATION_SYSTEM, 'submitted'), line.submitted),
    amount(concept(ADJUDICATION_SYSTEM, 'eligible'), line.allowed),
    ...(pr.deductible !== 0 ? [amount(concept(ADJUDICATION_SYSTEM, 'deductible'), pr.deductible)] : []),
    ...(pr.coinsurance !== 0
      ? [amount(concept(C4BB_ADJUDICATION_SYSTEM, 'coinsurance'), pr.coinsurance)]
      : []),
    ...(pr.copay !== 0 ? [amount(concept(ADJUDICATION_SYSTEM, 'copay'), pr.copay)] : []),
    amount(concept(C4BB_ADJUDICATION_SYSTEM, 'memberliability'), pr.total),
    amount(concept(ADJUDICATION_SYSTEM, 'benefit'), line.paid),
    ...adjustmentEntries(line.adjustments),
  ];
}

function productOf(line: PostedLine): CodeableConcept {
  const { qualifier, code } = line.procedure;
  if (qualifier === 'NU') {
    return concept(REVENUE_SYSTEM, code);
  }
  // HC codes are CPT (five digits, or four and a letter for category II/III) or HCPCS Level II.
  const system = qualifier === 'HC' && /^\d{4}[0-9A-Z]$/.test(code) ? CPT_SYSTEM : HCPCS_SYSTEM;
  return concept(system, code);
}

function itemOf(line: PostedLine, claim: Claim | undefined): ExplanationOfBenefitItem {
  const claimItem = claim?.item?.find((i) => i.sequence === line.itemSequence);
  return {
    extension: [
      ...(line.lineItemControlNumber
        ? [{ url: EXT_LINE_ITEM_CONTROL_NUMBER, valueString: line.lineItemControlNumber }]
        : []),
      { url: EXT_LINE_MATCH, valueCode: line.matchedBy ?? 'unmatched' },
      ...remarks(line.remarks),
    ],
    // The claim's own line number when matched; unmatched lines are numbered after any claim line.
    sequence: line.itemSequence ?? 1000 + line.position,
    productOrService: productOf(line),
    ...(line.procedure.modifiers.length > 0
      ? { modifier: line.procedure.modifiers.map((m) => concept(HCPCS_SYSTEM, m)) }
      : {}),
    ...(line.serviceDateEnd && line.serviceDate
      ? { servicedPeriod: { start: line.serviceDate, end: line.serviceDateEnd } }
      : line.serviceDate
        ? { servicedDate: line.serviceDate }
        : claimItem?.servicedDate
          ? { servicedDate: claimItem.servicedDate }
          : {}),
    ...(line.units !== undefined ? { quantity: { value: line.units } } : {}),
    ...(claimItem?.encounter ? { encounter: claimItem.encounter } : {}),
    adjudication: lineAdjudications(line),
  };
}

const PAYMENT_STATUS: Readonly<Record<PaymentOutcome, string | undefined>> = {
  paid: 'paid',
  'partially-paid': 'partiallypaid',
  denied: 'denied',
  reversed: undefined,
};

const OUTCOME: Readonly<Record<PaymentOutcome, ExplanationOfBenefit['outcome']>> = {
  paid: 'complete',
  'partially-paid': 'partial',
  denied: 'error',
  reversed: 'complete',
};

function describe(input: EobInput): string {
  const d = input.draft;
  const verb =
    d.outcome === 'reversed'
      ? `reversed an earlier payment of claim ${d.payerClaimNumber ?? '?'}`
      : d.outcome === 'denied'
        ? 'denied the claim'
        : d.outcome === 'partially-paid'
          ? `paid part of the claim (${d.lines.filter((l) => l.paid === 0 && l.patientResponsibility.total === 0 && l.submitted > 0).length} of ${d.lines.length} lines denied)`
          : 'paid the claim';
  return `${input.payer.name} ${verb}: charged ${d.submitted.toFixed(2)}, paid ${d.paid.toFixed(2)}, patient responsibility ${d.patientResponsibility.total.toFixed(2)} (claim status ${d.status})`;
}

export function buildExplanationOfBenefit(input: EobInput): ExplanationOfBenefit & { id: string } {
  const { draft, claim } = input;
  const insurer: Reference<Organization> = {
    identifier: { system: ID_TENANT_PAYER, value: input.payer.id },
    display: input.payer.name,
  };
  const focal = claim?.insurance?.find((i) => i.focal) ?? claim?.insurance?.[0];
  const patient: Reference<Patient> = claim?.patient ?? {
    ...(draft.patient?.memberId ? { identifier: { value: draft.patient.memberId } } : {}),
    display: draft.patient?.name ?? 'patient named on the remittance',
  };
  const provider: NonNullable<ExplanationOfBenefit['provider']> = claim?.provider ?? {
    ...(input.payeeNpi ? { identifier: { system: NPI_SYSTEM, value: input.payeeNpi } } : {}),
    display: 'payee named on the remittance',
  };
  const totalAllowed =
    draft.lines.length > 0
      ? input.lines.reduce((s, l) => s + Math.round(l.allowed * 100), 0) / 100
      : draft.paid + draft.patientResponsibility.total;
  const paymentStatus = PAYMENT_STATUS[draft.outcome];
  const notes = [
    ...(draft.crossover
      ? [
          `the payer forwarded the claim to ${draft.crossover.name ?? 'another payer'}${draft.crossover.id ? ` (${draft.crossover.id})` : ''}`,
        ]
      : []),
    ...(input.reverses ? [`reverses ExplanationOfBenefit/${input.reverses}`] : []),
  ];
  return {
    resourceType: 'ExplanationOfBenefit',
    id: input.id,
    extension: [
      { url: EXT_CLAIM_STATUS_CODE, valueCoding: { system: CLAIM_STATUS_SYSTEM, code: draft.status } },
      ...(input.remittance
        ? [
            {
              url: EXT_REMITTANCE,
              valueReference: { reference: `PaymentReconciliation/${input.remittance.id}` },
            },
          ]
        : []),
      ...(input.reverses
        ? [{ url: EXT_REVERSES, valueReference: { reference: `ExplanationOfBenefit/${input.reverses}` } }]
        : []),
      ...(draft.crossover
        ? [{ url: EXT_CROSSOVER, valueString: draft.crossover.name ?? draft.crossover.id ?? 'another payer' }]
        : []),
      ...remarks(draft.remarks),
    ],
    identifier: [
      { system: ID_PATIENT_CONTROL_NUMBER, value: draft.patientControlNumber },
      ...(draft.payerClaimNumber
        ? [{ system: payerClaimNumberSystem(input.payer.id), value: draft.payerClaimNumber }]
        : []),
    ],
    status: claim ? 'active' : 'draft',
    type: claim?.type ?? concept(CLAIM_TYPE_SYSTEM, 'professional'),
    use: 'claim',
    patient,
    ...(draft.period?.start
      ? {
          billablePeriod: {
            start: draft.period.start,
            ...(draft.period.end ? { end: draft.period.end } : {}),
          },
        }
      : {}),
    created: input.created,
    insurer,
    provider,
    ...(claim ? { claim: { reference: `Claim/${claim.id}` } } : {}),
    ...(draft.outcome === 'reversed' && draft.payerClaimNumber
      ? {
          related: [
            {
              relationship: concept(RELATED_CLAIM_SYSTEM, 'prior'),
              reference: {
                system: payerClaimNumberSystem(input.payer.id),
                value: draft.payerClaimNumber,
              },
            },
          ],
        }
      : {}),
    outcome: OUTCOME[draft.outcome],
    disposition: describe(input),
    insurance: [
      {
        focal: true,
        coverage: focal?.coverage ?? {
          display: draft.patient?.memberId
            ? `member ${draft.patient.memberId}`
            : 'coverage named on the remittance',
        },
      },
    ],
    item: input.lines.map((line) => itemOf(line, claim)),
    ...(draft.adjustments.length > 0 ? { adjudication: adjustmentEntries(draft.adjustments) } : {}),
    total: [
      amount(concept(ADJUDICATION_SYSTEM, 'submitted'), draft.submitted),
      amount(concept(ADJUDICATION_SYSTEM, 'eligible'), totalAllowed),
      amount(concept(C4BB_ADJUDICATION_SYSTEM, 'memberliability'), draft.patientResponsibility.total),
      amount(concept(ADJUDICATION_SYSTEM, 'benefit'), draft.paid),
    ],
    payment: {
      ...(paymentStatus
        ? { type: concept(C4BB_PAYMENT_STATUS_SYSTEM, paymentStatus) }
        : { type: { text: 'reversal of a previous payment' } }),
      ...(draft.paymentDate ? { date: draft.paymentDate } : {}),
      amount: money(draft.paid),
      ...(input.remittance
        ? { identifier: { system: ID_PAYMENT_TRACE, value: input.remittance.trace } }
        : {}),
    },
    ...(notes.length > 0
      ? { processNote: notes.map((text, i) => ({ number: i + 1, type: 'display' as const, text })) }
      : {}),
  };
}
