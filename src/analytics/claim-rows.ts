/**
 * A claim's row (pure): what every measure reads of one claim and its payments (first decision,
 * denial, A/R membership, contractual sums, slice keys, drug lines), derived once when the claim or
 * one of its payments changes (./reader.ts) so that a question is one loop over plain records.
 * Each field is the same function the measures define (./adjudication.ts, ./measure-kit.ts).
 */
import type { ClaimFact, PaymentFact } from './facts.ts';
import { isDrugCode } from './facts.ts';
import type { ClaimRow } from './measure-model.ts';
import { firstDecision, inAr, isContractualAdjustment, isDenial } from './adjudication.ts';
import { cents, sliceKeys } from './measure-kit.ts';

export function claimRow(claim: ClaimFact, payments: readonly PaymentFact[] | undefined): ClaimRow {
  const list = payments ?? [];
  const first = firstDecision(list);
  const paidDrugUnits: { code: string; units: number }[] = [];
  for (const p of list) {
    const sign = p.outcome === 'reversed' ? -1 : 1;
    for (const line of p.lines) {
      if (isDrugCode(line.code) && line.paid !== 0) {
        paidDrugUnits.push({ code: line.code, units: sign * line.units });
      }
    }
  }
  return {
    claim,
    payments: list,
    contractual: list.map((p) =>
      p.adjustments.filter(isContractualAdjustment).reduce((s, a) => s + a.amount, 0),
    ),
    first,
    firstDenied: first !== undefined && isDenial(first),
    decidedOriginal: claim.frequency === '1' && first !== undefined,
    inAr: inAr(claim, payments),
    keys: {
      payer: sliceKeys(claim, 'payer'),
      location: sliceKeys(claim, 'location'),
      drug: sliceKeys(claim, 'drug'),
      code: sliceKeys(claim, 'code'),
    },
    drugLines: claim.lines.filter((l) => isDrugCode(l.code)),
    paidDrugUnits,
  };
}

/** ./adjudication.ts `balanceOn` of the row's claim, with its contractual sums already added up. */
export function rowBalanceOn(row: ClaimRow, day: string): number {
  let balance = row.claim.billed;
  row.payments.forEach((p, i) => {
    if (p.date > day) {
      return;
    }
    const sign = p.outcome === 'reversed' ? -1 : 1;
    // A reversal carries negative amounts (835 CLP02 22): adding it takes the payment back.
    balance -= p.paid + sign * Math.abs(row.contractual[i] ?? 0) + p.patientResponsibility;
  });
  return cents(Math.max(0, balance));
}
