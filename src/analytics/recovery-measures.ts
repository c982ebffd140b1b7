/**
 * The recovery measures (pure): underpayments found and recovered, appeals filed and overturned.
 * Conventions: ./measures.ts.
 */
import { countsInTotals } from '../remittance/work/items.ts';
import type { AppealFact, WorkItemFact } from './facts.ts';
import type { AnalyticsData, MeasureQuery, MeasureResult, MeasureRow } from './measure-model.ts';
import { byTaskSlices, cents, inRange, ratio, result } from './measure-kit.ts';

/**
 * Underpayments found (underpayment work items opened in the range: count and dollars below the
 * contract; not those a reversal superseded, whose replacing claim's item counts instead) and
 * recovered (those closed as recovered: count and dollars).
 */
export function underpayments(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const items = data.workItems.filter(
    (w) => w.kind === 'underpayment' && countsInTotals(w.state) && inRange(w.day, q),
  );
  const parts = byTaskSlices(data, items, q.by);
  const row = (key: string, list: readonly WorkItemFact[]): MeasureRow => {
    const recovered = list.filter((w) => w.state === 'recovered');
    const found = cents(list.reduce((s, w) => s + w.dollarsAtStake, 0));
    const back = cents(recovered.reduce((s, w) => s + w.dollarsAtStake, 0));
    return {
      key,
      value: found,
      found: { count: list.length, dollars: found },
      recovered: { count: recovered.length, dollars: back },
      recoveryRate: ratio(back, found),
    };
  };
  return result('underpayments', q, 'usd', { total: row('all', parts.total), slices: parts.slices }, row);
}

const OVERTURNED = new Set(['overturned', 'partly-overturned']);
/**
 * Appeals filed in the range (appeal Tasks by authoredOn) by outcome; overturn rate = overturned
 * (fully or partly) / decided (overturned, partly, upheld); recovered = Σ `recovered` outputs.
 */
export function appeals(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  const items = data.appeals.filter((a) => inRange(a.day, q));
  const parts = byTaskSlices(data, items, q.by);
  const row = (key: string, list: readonly AppealFact[]): MeasureRow => {
    const byOutcome: Record<string, number> = {};
    const byLevel: Record<string, number> = {};
    for (const a of list) {
      byOutcome[a.outcome] = (byOutcome[a.outcome] ?? 0) + 1;
      byLevel[a.level] = (byLevel[a.level] ?? 0) + 1;
    }
    const overturned = list.filter((a) => OVERTURNED.has(a.outcome)).length;
    const decided = list.filter((a) => OVERTURNED.has(a.outcome) || a.outcome === 'upheld').length;
    return {
      key,
      value: list.length,
      filed: list.length,
      overturned,
      numerator: overturned,
      denominator: decided,
      overturnRate: ratio(overturned, decided),
      recovered: cents(list.reduce((s, a) => s + a.recovered, 0)),
      byOutcome,
      byLevel,
    };
  };
  return result('appeals', q, 'count', { total: row('all', parts.total), slices: parts.slices }, row);
}
