/**
 * A posted claim payment against the payer's contract, line by line: the expected allowed amount
 * (./expected.ts) and the expected payment — expected allowed less what the patient owes (PR
 * adjustments, as the payer determined them), the sequestration the payer may take, what a prior
 * payer covered (OA-23) and what a denial CARC took (that is denial triage's to work, not a pricing
 * shortfall) — compared with what was paid. Pure.
 *
 * A line is underpaid when the payment falls short of the expected payment by more than the
 * tenant's tolerance: more than `amount` dollars and more than `percent` % of the expected payment.
 * Sequestration (CARC 253) is never an underpayment: a 253 reduction up to the contract's
 * `sequestrationPercent` (default 2 % for Medicare, Budget Control Act of 2011 as extended; any 253
 * reduction when the contract names none) is part of the expected payment.
 *
 * Not evaluated: reversals (CLP02 22) and "not our claim" (23), and claims a payer processed as
 * secondary or tertiary (their payment depends on the primary's, which the contract does not say);
 * denied lines (paid nothing, with a denial CARC) go to denial triage instead.
 */
import type { Contract } from '../../config/contracts-file.ts';
import { amountOfCarc, billedProcedure, billedUnits, CLAIM_STATUS, round2, sumOf } from '../amounts.ts';
import type { PostedClaimPayment } from '../posted.ts';
import { isDenialAdjustment } from '../triage/denials.ts';
import type { ExpectedAllowed } from './expected.ts';
import { contractFor, expectedAllowed } from './expected.ts';
import type { ReferenceRates } from './references.ts';

export interface UnderpaymentTolerance {
  /** Dollars a line may fall short before it counts. */
  readonly amount: number;
  /** Percent of the expected payment a line may fall short before it counts. */
  readonly percent: number;
}

export const DEFAULT_TOLERANCE: UnderpaymentTolerance = { amount: 1, percent: 1 };

export type LineVarianceStatus =
  'underpaid' | 'overpaid' | 'as-expected' | 'not-priced' | 'denied' | 'not-evaluated';

export interface LineVariance {
  readonly sequence?: number;
  readonly code: string;
  readonly modifiers: readonly string[];
  readonly units: number;
  readonly serviceDate: string;
  readonly submitted: number;
  readonly paid: number;
  /** As the payer states it (AMT*B6, `eligible`), else paid + patient share + sequestration + prior payer. */
  readonly actualAllowed: number;
  readonly patientResponsibility: number;
  /** CARC 253 taken, and how much of it the contract expects. */
  readonly sequestration: { readonly taken: number; readonly expected: number };
  /** Reduced by denial CARCs (worked by denial triage). */
  readonly deniedAmount: number;
  readonly expected?: ExpectedAllowed;
  readonly expectedPayment?: number;
  /** expected payment − paid (positive: paid less than expected). */
  readonly variance?: number;
  readonly status: LineVarianceStatus;
  readonly reason: string;
}

export interface PaymentEvaluation {
  readonly source: string;
  readonly claim: string;
  readonly payer: string;
  readonly decided: string;
  readonly lines: readonly LineVariance[];
  /** Σ variance of the underpaid lines. */
  readonly underpaid: number;
}

const SEQUESTRATION = '253';
const PRIOR_PAYER = '23';

export interface EvaluateInput {
  readonly payment: PostedClaimPayment;
  /** The payer's decision date (YYYY-MM-DD): dates lines without one, and totals by month. */
  readonly decided: string;
  readonly contracts: readonly Contract[];
  readonly payerKind: 'medicare' | 'medicaid' | 'commercial';
  readonly references: ReferenceRates;
  readonly tolerance?: UnderpaymentTolerance;
}

/** Every line of a posted payment against the payer's contract. */
export function evaluatePayment(input: EvaluateInput): PaymentEvaluation {
  const { payment, references, decided } = input;
  const tolerance = input.tolerance ?? DEFAULT_TOLERANCE;
  const skip = ((): string | undefined => {
    if (payment.status === CLAIM_STATUS.reversal || payment.outcome === 'reversed') {
      return 'a reversal of an earlier payment';
    }
    if (payment.status === CLAIM_STATUS.notOurs) {
      return 'the payer says this is not its claim';
    }
    if ((CLAIM_STATUS.secondary as readonly string[]).includes(payment.status)) {
      return "processed as secondary or tertiary: its payment depends on the primary payer's";
    }
    return undefined;
  })();
  const lines = payment.lines.map((line): LineVariance => {
    const serviceDate = line.serviceDate ?? decided;
    const patientResponsibility = line.patientResponsibility.total;
    const taken = amountOfCarc(line.adjustments, SEQUESTRATION);
    const priorPayer = amountOfCarc(line.adjustments, PRIOR_PAYER);
    const deniedAmount = sumOf(line.adjustments.filter(isDenialAdjustment).map((a) => a.amount));
    const { code, modifiers } = billedProcedure(line);
    const units = billedUnits(line);
    const base = {
      ...(line.itemSequence !== undefined ? { sequence: line.itemSequence } : {}),
      code,
      modifiers,
      units,
      serviceDate,
      submitted: line.submitted,
      paid: line.paid,
      actualAllowed: line.allowedReported
        ? line.allowed
        : round2(line.paid + patientResponsibility + taken + priorPayer),
      patientResponsibility,
      deniedAmount,
    };
    if (skip) {
      return { ...base, sequestration: { taken, expected: 0 }, status: 'not-evaluated', reason: skip };
    }
    const denied = payment.status === CLAIM_STATUS.denied || (line.paid === 0 && deniedAmount > 0);
    if (denied) {
      return {
        ...base,
        sequestration: { taken, expected: 0 },
        status: 'denied',
        reason: 'denied: worked as a denial, not as an underpayment',
      };
    }
    const expected = expectedAllowed({
      contracts: input.contracts,
      payer: payment.payer,
      line: { code, modifiers, units, charge: line.submitted, date: serviceDate },
      references,
    });
    if (!expected) {
      const contract = contractFor(input.contracts, payment.payer, serviceDate);
      return {
        ...base,
        sequestration: { taken, expected: 0 },
        status: 'not-priced',
        reason: contract
          ? `no term of contract "${contract.id}" prices ${code}`
          : `no contract with payer "${payment.payer}" is in force on ${serviceDate}`,
      };
    }
    const contract = contractFor(input.contracts, payment.payer, serviceDate);
    const percent = contract?.sequestrationPercent ?? (input.payerKind === 'medicare' ? 2 : 0);
    // A 253 reduction up to the statutory share is expected; with no share named, any 253 is.
    const allowance =
      percent > 0
        ? Math.min(taken, round2(((expected.amount - patientResponsibility) * percent) / 100) + 0.01)
        : taken;
    const expectedPayment = round2(
      expected.amount - patientResponsibility - allowance - priorPayer - deniedAmount,
    );
    const variance = round2(expectedPayment - line.paid);
    const threshold = Math.max(tolerance.amount, (Math.abs(expectedPayment) * tolerance.percent) / 100);
    const status: LineVarianceStatus =
      variance > threshold ? 'underpaid' : variance < -threshold ? 'overpaid' : 'as-expected';
    return {
      ...base,
      sequestration: { taken, expected: round2(allowance) },
      expected,
      expectedPayment,
      variance,
      status,
      reason:
        status === 'underpaid'
          ? `paid ${line.paid.toFixed(2)}, ${variance.toFixed(2)} below the expected ${expectedPayment.toFixed(2)} (${expected.term.description}, contract "${expected.contract.id}")`
          : status === 'overpaid'
            ? `paid ${(-variance).toFixed(2)} above the expected ${expectedPayment.toFixed(2)}`
            : `within tolerance of the expected ${expectedPayment.toFixed(2)}`,
    };
  });
  return {
    source: payment.id,
    claim: payment.claim,
    payer: payment.payer,
    decided,
    lines,
    underpaid: sumOf(lines.filter((l) => l.status === 'underpaid').map((l) => l.variance ?? 0)),
  };
}
