/**
 * The denials in a posted claim payment, grouped by the work queue each belongs to. Pure.
 *
 * A denial adjustment is a CAS whose group is not PR (what the patient owes is never a denial) and
 * whose CARC is not routine (contractual write-down, sequestration, prior payer, … — the CARC
 * table says which: src/remittance/codes/carc-notes.json). A line is denied, wholly or in part, when
 * such adjustments take money from it; the dollars at stake are what they take (a whole-claim
 * denial, 835 CLP02 = 4, with nothing on its lines: the charge less the patient's share). A line's
 * queue is the category of its largest denial CARC; remarks (RARCs) travel with it and refine the
 * recommended fix (./fixes.ts). Reversals (CLP02 = 22) deny nothing.
 */
import { billedProcedure, billedUnits, CLAIM_STATUS, sumOf } from '../amounts.ts';
import type { DenialCategory } from '../codes.ts';
import { carcInfo } from '../codes.ts';
import type { PostedAdjustment, PostedClaimPayment } from '../posted.ts';

export interface DeniedLine {
  /** Position in the payment (1-based); 0 for a claim-level denial. */
  readonly position: number;
  readonly itemSequence?: number;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly units: number;
  readonly serviceDate?: string;
  readonly submitted: number;
  readonly paid: number;
  /** Dollars the denial adjustments took. */
  readonly denied: number;
  /** The denial adjustments, largest first (`CO-197`, …). */
  readonly adjustments: readonly PostedAdjustment[];
  readonly remarks: readonly string[];
}

export interface DenialGroup {
  readonly category: DenialCategory;
  /** The CARC that decided the queue (the largest denial of the first line). */
  readonly carc: string;
  readonly group: string;
  readonly lines: readonly DeniedLine[];
  readonly dollars: number;
  /** Every denial CARC and RARC of the group's lines, distinct, in order. */
  readonly carcs: readonly string[];
  readonly rarcs: readonly string[];
}

/** An adjustment that is a denial: not the patient's share, not a routine adjustment. */
export function isDenialAdjustment(adjustment: PostedAdjustment): boolean {
  return adjustment.group !== 'PR' && !carcInfo(adjustment.carc).routine;
}

const byAmount = (a: PostedAdjustment, b: PostedAdjustment): number => b.amount - a.amount;

/** The payment's denials, one group per work queue (empty when nothing was denied). */
export function denialsOf(payment: PostedClaimPayment): DenialGroup[] {
  if (payment.status === CLAIM_STATUS.reversal || payment.outcome === 'reversed') {
    return [];
  }
  const wholeClaim = payment.status === CLAIM_STATUS.denied;
  const lines: DeniedLine[] = [];
  // A whole-claim denial whose reasons are only at claim level puts them on each unpaid line; the
  // claim-level amount is then those lines' dollars, not counted again.
  let claimReasonsOnLines = false;
  for (const line of payment.lines) {
    const denials = line.adjustments.filter(isDenialAdjustment).sort(byAmount);
    const amount = sumOf(denials.map((a) => a.amount));
    const claimReasons = payment.adjustments.filter(isDenialAdjustment);
    if (amount <= 0 && !(wholeClaim && line.paid === 0 && (denials.length > 0 || claimReasons.length > 0))) {
      continue;
    }
    const { code, modifiers } = billedProcedure(line);
    claimReasonsOnLines ||= amount <= 0;
    lines.push({
      position: line.position,
      ...(line.itemSequence !== undefined ? { itemSequence: line.itemSequence } : {}),
      code,
      modifiers,
      units: billedUnits(line),
      ...(line.serviceDate ? { serviceDate: line.serviceDate } : {}),
      submitted: line.submitted,
      paid: line.paid,
      denied: amount > 0 ? amount : sumOf([line.submitted, -line.patientResponsibility.total, -line.paid]),
      adjustments: denials.length > 0 ? denials : [...claimReasons].sort(byAmount),
      remarks: [...new Set([...line.remarks, ...payment.remarks])],
    });
  }
  const claimDenials = payment.adjustments.filter(isDenialAdjustment).sort(byAmount);
  const claimAmount = sumOf(claimDenials.map((a) => a.amount));
  if ((claimAmount > 0 && !claimReasonsOnLines) || (wholeClaim && lines.length === 0)) {
    lines.push({
      position: 0,
      code: '',
      modifiers: [],
      units: 0,
      submitted: payment.submitted,
      paid: payment.paid,
      denied:
        claimAmount > 0
          ? claimAmount
          : sumOf([payment.submitted, -payment.patientResponsibility.total, -payment.paid]),
      adjustments: claimDenials,
      remarks: payment.remarks,
    });
  }
  const groups = new Map<DenialCategory, DeniedLine[]>();
  for (const line of lines) {
    const first = line.adjustments[0];
    const category: DenialCategory = first ? carcInfo(first.carc).category : 'other';
    if (category === 'patient-responsibility') {
      continue; // a CO/OA code of the patient's share (spend-down, election…) is still the patient's
    }
    groups.set(category, [...(groups.get(category) ?? []), line]);
  }
  return [...groups.entries()].map(([category, members]) => {
    const primary = members[0]?.adjustments[0];
    return {
      category,
      carc: primary?.carc ?? '',
      group: primary?.group ?? '',
      lines: members,
      dollars: sumOf(members.map((l) => l.denied)),
      carcs: [...new Set(members.flatMap((l) => l.adjustments.map((a) => a.carc)))],
      rarcs: [...new Set(members.flatMap((l) => l.remarks))],
    };
  });
}
