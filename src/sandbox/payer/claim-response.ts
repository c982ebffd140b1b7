/**
 * The ClaimResponse the sandbox payer sends back for an adjudication, as a real payer would: per line
 * the submitted, eligible, member-share and benefit amounts, each denial as an X12 group code with
 * its CARC (and RARC) and the denied amount on the first, CO-45 for a charge above the fee
 * schedule; the claim's errors, totals, and the payment (net of a reversed prior payment).
 */
import type {
  Claim,
  ClaimResponse,
  ClaimResponseItemAdjudication,
  CodeableConcept,
  Coding,
} from '@medplum/fhirtypes';
import { round2 } from './pricing.ts';
import type { AdjudicationResult, Denial, LineResult } from './results.ts';

export const ADJUDICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/adjudication';
export const C4BB_ADJUDICATION_SYSTEM = 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication';
export const CARC_SYSTEM = 'https://x12.org/codes/claim-adjustment-reason-codes';
export const RARC_SYSTEM = 'https://x12.org/codes/remittance-advice-remark-codes';
export const GROUP_CODE_SYSTEM = 'https://x12.org/codes/claim-adjustment-group-codes';
/** FHIR's example payment adjustment reasons: a001 "Prior Payment Reversal". */
export const PAYMENT_ADJUSTMENT_REASON_SYSTEM =
  'http://terminology.hl7.org/CodeSystem/payment-adjustment-reason';

const money = (value: number): { value: number; currency: 'USD' } => ({
  value: round2(value) + 0, // + 0: no -0
  currency: 'USD',
});

function category(code: string, system = ADJUDICATION_SYSTEM): CodeableConcept {
  return { coding: [{ system, code }] };
}

function denialAdjudication(d: Denial, amount: number | undefined): ClaimResponseItemAdjudication {
  const reason: Coding[] = [{ system: CARC_SYSTEM, code: d.carc }];
  if (d.rarc) {
    reason.push({ system: RARC_SYSTEM, code: d.rarc });
  }
  return {
    category: category(d.group, GROUP_CODE_SYSTEM),
    reason: { coding: reason, text: d.text },
    ...(amount !== undefined ? { amount: money(amount) } : {}),
  };
}

function lineAdjudications(line: LineResult, voided: boolean): ClaimResponseItemAdjudication[] {
  const out: ClaimResponseItemAdjudication[] = [
    { category: category('submitted'), amount: money(line.submitted) },
    { category: category('eligible'), amount: money(line.eligible) },
  ];
  if (voided && line.denials.length === 0) {
    // A void's line: nothing is allowed or paid, and nothing is denied either.
    out.push({ category: category('benefit'), amount: money(0) });
    return out;
  }
  if (line.denials.length > 0) {
    out.push({ category: category('benefit'), amount: money(0) });
    line.denials.forEach((d, i) => out.push(denialAdjudication(d, i === 0 ? line.submitted : undefined)));
    return out;
  }
  if (line.deductible > 0) {
    out.push({ category: category('deductible'), amount: money(line.deductible) });
  }
  out.push({ category: category('coinsurance', C4BB_ADJUDICATION_SYSTEM), amount: money(line.coinsurance) });
  if (line.copay > 0) {
    out.push({ category: category('copay'), amount: money(line.copay) });
  }
  out.push({ category: category('benefit'), amount: money(line.benefit) });
  if (line.submitted > line.eligible) {
    out.push(
      denialAdjudication(
        { carc: '45', group: 'CO', text: 'Charge exceeds the fee schedule' },
        line.submitted - line.eligible,
      ),
    );
  }
  return out;
}

export interface ClaimResponseContext {
  readonly id: string;
  /** Reference to the stored Claim, e.g. `Claim/abc`. */
  readonly request: string;
  readonly created: string;
  /** Payer claim control number (ICN), echoed on corrected claims. */
  readonly controlNumber: string;
  readonly controlNumberSystem: string;
  readonly payerName: string;
}

/** The ClaimResponse for an adjudication. */
export function toClaimResponse(
  claim: Claim,
  result: AdjudicationResult,
  ctx: ClaimResponseContext,
): ClaimResponse {
  const deniedLines = result.lines.filter((l) => l.denials.length > 0);
  const { reversal } = result;
  const voided = result.frequency === '8';
  const lineOutcome =
    result.outcome === 'complete'
      ? 'Claim adjudicated; all lines paid'
      : result.outcome === 'partial'
        ? `Claim adjudicated; ${deniedLines.length} of ${result.lines.length} lines denied`
        : 'Claim adjudicated; all lines denied';
  const disposition =
    voided && reversal
      ? `Void adjudicated; the payment of claim ${reversal.controlNumber} is reversed`
      : voided
        ? 'Void denied'
        : reversal
          ? `Replacement of claim ${reversal.controlNumber} (its payment reversed). ${lineOutcome}`
          : lineOutcome;
  const preAuthRef = (claim.insurance?.find((i) => i.focal) ?? claim.insurance?.[0])?.preAuthRef;
  return {
    resourceType: 'ClaimResponse',
    id: ctx.id,
    identifier: [{ system: ctx.controlNumberSystem, value: ctx.controlNumber }],
    status: 'active',
    type: claim.type,
    use: 'claim',
    patient: claim.patient,
    created: ctx.created,
    insurer: claim.insurer ?? { display: ctx.payerName },
    ...(claim.provider ? { requestor: claim.provider } : {}),
    request: {
      reference: ctx.request,
      ...(claim.identifier?.[0] ? { identifier: claim.identifier[0] } : {}),
    },
    outcome: result.outcome,
    disposition,
    ...(preAuthRef?.length ? { preAuthRef: preAuthRef[0] } : {}),
    item: result.lines.map((line) => ({
      itemSequence: line.sequence,
      adjudication: lineAdjudications(line, voided),
    })),
    ...(result.claimDenials.length > 0
      ? {
          error: result.claimDenials.map((d) => ({
            code: { coding: [{ system: CARC_SYSTEM, code: d.carc }], text: d.text },
          })),
        }
      : {}),
    total: [
      { category: category('submitted'), amount: money(result.totals.submitted) },
      { category: category('eligible'), amount: money(result.totals.eligible) },
      {
        category: category('memberliability', C4BB_ADJUDICATION_SYSTEM),
        amount: money(result.totals.memberLiability),
      },
      { category: category('benefit'), amount: money(result.totals.benefit) },
    ],
    payment: {
      type: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-paymenttype', code: 'complete' }],
      },
      ...(reversal
        ? {
            adjustment: money(-reversal.amount),
            adjustmentReason: {
              coding: [
                {
                  system: PAYMENT_ADJUSTMENT_REASON_SYSTEM,
                  code: 'a001',
                  display: 'Prior Payment Reversal',
                },
              ],
              text: `Reversal of previous payment of claim ${reversal.controlNumber} (X12 835 CLP02 claim status 22)`,
            },
          }
        : {}),
      date: ctx.created.slice(0, 10),
      amount: money(result.totals.payment),
    },
  };
}
