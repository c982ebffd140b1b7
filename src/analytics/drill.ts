/**
 * The claims behind a figure of a revenue measure (pure): the claims a bar of the billers' app's
 * analytics counts, chosen by the same predicates as the measure itself (./measures.ts), so the
 * list a biller opens adds up to the bar they clicked.
 *
 * - `slice`: a slice key of the query's dimension (`by`, payer by default), or `all`;
 * - `part` narrows a measure to one of its parts: `denied` / `clean` (clean-claim, denial and
 *   first-pass rates), a CARC category (denial rate: claims denied with one of that category), an
 *   aging bucket (A/R aging: claims whose open balance is of that age), `recovered` (underpayments),
 *   an appeal outcome (appeals).
 */
import type { ClaimFact, PaymentFact } from './facts.ts';
import type { AnalyticsData, MeasureName, MeasureQuery } from './measures.ts';
import {
  asOfDay,
  balanceOn,
  bucketOf,
  carcCategory,
  claimsInRange,
  firstDecision,
  inAr,
  isDenial,
  isDenialAdjustment,
  isOriginal,
  sliceKeys,
} from './measures.ts';
import { countsInTotals } from '../remittance/work/items.ts';
import { daysBetween } from '../time/zone.ts';

export interface DrillQuery extends MeasureQuery {
  readonly slice: string;
  readonly part?: string;
}

export interface ClaimBehind {
  readonly claim: string;
  readonly payer: string;
  readonly serviceDate: string;
  readonly billed: number;
  /** What this claim adds to the figure, in words (a decision, an open balance, a work item). */
  readonly why: string;
}

export const MAX_CLAIMS_BEHIND = 500;

const inRange = (date: string, q: MeasureQuery): boolean => date >= q.from && date <= q.to;
const usd = (x: number): string => `$${x.toFixed(2)}`;

function inSlice(claim: ClaimFact | undefined, q: DrillQuery): boolean {
  return q.slice === 'all' || sliceKeys(claim, q.by ?? 'payer').includes(q.slice);
}

function decisionWords(first: PaymentFact): string {
  if (!isDenial(first)) {
    return `first decision ${first.outcome} on ${first.date}`;
  }
  const categories = [
    ...new Set(first.adjustments.filter(isDenialAdjustment).map((a) => carcCategory(a.carc))),
  ];
  return `denied on ${first.date}${categories.length ? ` (${categories.join(', ')})` : ''}`;
}

/** The claims behind one figure, oldest service first (at most MAX_CLAIMS_BEHIND). */
export function claimsBehind(data: AnalyticsData, measure: MeasureName, q: DrillQuery): ClaimBehind[] {
  const out: ClaimBehind[] = [];
  const push = (claim: ClaimFact, why: string): void => {
    out.push({
      claim: claim.id,
      payer: claim.payer,
      serviceDate: claim.serviceDate,
      billed: claim.billed,
      why,
    });
  };
  const decided = (): { claim: ClaimFact; first: PaymentFact }[] =>
    claimsInRange(data, q, (c) => isOriginal(c) && firstDecision(data.payments.get(c.id)) !== undefined)
      .filter((c) => inSlice(c, q))
      .map((claim) => ({ claim, first: firstDecision(data.payments.get(claim.id)) as PaymentFact }));

  switch (measure) {
    case 'clean-claim-rate':
    case 'denial-rate':
    case 'first-pass-resolution-rate': {
      for (const { claim, first } of decided()) {
        const denied = isDenial(first);
        const category = q.part && q.part !== 'denied' && q.part !== 'clean' ? q.part : undefined;
        if (
          (q.part === 'denied' && !denied) ||
          (q.part === 'clean' && denied) ||
          (category !== undefined &&
            !first.adjustments.some((a) => isDenialAdjustment(a) && carcCategory(a.carc) === category))
        ) {
          continue;
        }
        push(claim, decisionWords(first));
      }
      break;
    }
    case 'days-in-ar':
    case 'ar-aging': {
      const day = asOfDay(q);
      for (const claim of data.claims.values()) {
        const payments = data.payments.get(claim.id);
        if (claim.serviceDate > day || !inAr(claim, payments) || !inSlice(claim, q)) {
          continue;
        }
        const balance = balanceOn(claim, payments, day);
        const bucket = bucketOf(daysBetween(claim.serviceDate, day));
        if (balance > 0 && (!q.part || q.part === bucket)) {
          push(claim, `${usd(balance)} open on ${day}, ${bucket} days`);
        }
      }
      break;
    }
    case 'net-collection-rate':
    case 'drug-units': {
      for (const claim of claimsInRange(data, q, (c) => c.frequency !== '8')) {
        const drug = measure === 'drug-units' && claim.lines.some((l) => l.code === q.slice);
        if (measure === 'drug-units' ? !drug : !inSlice(claim, q)) {
          continue;
        }
        const paid = (data.payments.get(claim.id) ?? []).reduce((s, p) => s + p.paid, 0);
        push(claim, `paid ${usd(paid)} of ${usd(claim.billed)} billed`);
      }
      break;
    }
    case 'underpayments': {
      for (const item of data.workItems) {
        const claim = data.claims.get(item.claim);
        if (
          item.kind !== 'underpayment' ||
          !countsInTotals(item.state) ||
          !inRange(item.day, q) ||
          !claim ||
          !inSlice(claim, q) ||
          (q.part === 'recovered' && item.state !== 'recovered')
        ) {
          continue;
        }
        push(claim, `underpaid ${usd(item.dollarsAtStake)} (found ${item.day}, ${item.state})`);
      }
      break;
    }
    case 'appeals': {
      for (const appeal of data.appeals) {
        const claim = data.claims.get(appeal.claim);
        if (
          !inRange(appeal.day, q) ||
          !claim ||
          !inSlice(claim, q) ||
          (q.part && appeal.outcome !== q.part)
        ) {
          continue;
        }
        push(claim, `${appeal.level} appeal filed ${appeal.day}: ${appeal.outcome}`);
      }
      break;
    }
    case 'authorizations': {
      const withAuthorization = claimsInRange(
        data,
        q,
        (c) => c.preAuth && firstDecision(data.payments.get(c.id)) !== undefined,
      );
      for (const claim of withAuthorization.filter((c) => inSlice(c, q))) {
        const first = firstDecision(data.payments.get(claim.id)) as PaymentFact;
        push(claim, `billed with an authorization; ${decisionWords(first)}`);
      }
      break;
    }
  }
  const seen = new Set<string>();
  return out
    .filter((c) => !seen.has(c.claim) && seen.add(c.claim))
    .sort((a, b) => a.serviceDate.localeCompare(b.serviceDate) || a.claim.localeCompare(b.claim))
    .slice(0, MAX_CLAIMS_BEHIND);
}
