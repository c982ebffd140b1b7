/**
 * Building blocks the measures share (pure): rounding, ranges, slice keys, the claims of a range,
 * per-slice accumulation and the result's shape.
 */
import type { ClaimFact } from './facts.ts';
import { isDrugCode } from './facts.ts';
import type { Dimension, MeasureName, MeasureQuery, MeasureResult, MeasureRow } from './measure-model.ts';
import type { AnalyticsData, ClaimRow } from './measure-model.ts';
import { TITLES } from './measure-model.ts';

export const cents = (x: number): number => Math.round(x * 100) / 100 + 0;
export const ratio = (n: number, d: number): number | null =>
  d === 0 ? null : Math.round((n / d) * 10_000) / 10_000;
export const inRange = (date: string, q: MeasureQuery): boolean => date >= q.from && date <= q.to;
export const add = (record: Record<string, number>, key: string, x: number): void => {
  record[key] = cents((record[key] ?? 0) + x);
};

export function sliceKeys(claim: ClaimFact | undefined, by: Dimension | undefined): string[] {
  if (!by) {
    return ['all'];
  }
  if (!claim) {
    return ['unknown'];
  }
  switch (by) {
    case 'payer':
      return [claim.payer];
    case 'location':
      return [claim.location];
    case 'code':
      return [...new Set(claim.lines.map((l) => l.code).filter((c) => c !== ''))];
    case 'drug': {
      const drugs = [...new Set(claim.lines.map((l) => l.code).filter(isDrugCode))];
      return drugs.length > 0 ? drugs : ['no drug'];
    }
  }
}

/** The claims of the range, each with its slices. */
export function claimsInRange(
  data: AnalyticsData,
  q: MeasureQuery,
  keep: (c: ClaimFact) => boolean,
): ClaimFact[] {
  const out: ClaimFact[] = [];
  for (const claim of data.claims.values()) {
    if (inRange(claim.serviceDate, q) && keep(claim)) {
      out.push(claim);
    }
  }
  return out;
}

/** The rows (./claim-rows.ts) of the claims of the range that `keep` keeps, in the claims' order. */
export function rowsInRange(
  data: AnalyticsData,
  q: MeasureQuery,
  keep: (row: ClaimRow) => boolean,
): ClaimRow[] {
  const out: ClaimRow[] = [];
  for (const row of data.rows) {
    if (row.claim.serviceDate >= q.from && row.claim.serviceDate <= q.to && keep(row)) {
      out.push(row);
    }
  }
  return out;
}

/** `step` over every row into the total and into each of the row's slices of `by`. */
export function sliced<A>(
  rows: readonly ClaimRow[],
  by: Dimension | undefined,
  init: () => A,
  step: (acc: A, row: ClaimRow) => void,
): { total: A; slices: Map<string, A> } {
  const total = init();
  const slices = new Map<string, A>();
  for (const row of rows) {
    step(total, row);
    if (by) {
      for (const key of row.keys[by]) {
        let acc = slices.get(key);
        if (!acc) {
          acc = init();
          slices.set(key, acc);
        }
        step(acc, row);
      }
    }
  }
  return { total, slices };
}

export function result(
  measure: MeasureName,
  q: MeasureQuery,
  unit: MeasureResult['unit'],
  parts: { total: MeasureRow; slices: Map<string, unknown> },
  row: (key: string, acc: never) => MeasureRow,
): MeasureResult {
  return {
    measure,
    title: TITLES[measure],
    unit,
    from: q.from,
    to: q.to,
    ...(q.by ? { by: q.by } : {}),
    total: parts.total,
    slices: [...parts.slices.entries()]
      .map(([key, acc]) => row(key, acc as never))
      .sort((a, b) => a.key.localeCompare(b.key)),
  };
}

export const isOriginal = (c: ClaimFact): boolean => c.frequency === '1';

export function byTaskSlices<T extends { claim: string }>(
  data: AnalyticsData,
  items: readonly T[],
  by: Dimension | undefined,
): { total: T[]; slices: Map<string, T[]> } {
  const slices = new Map<string, T[]>();
  if (by) {
    for (const item of items) {
      for (const key of sliceKeys(data.claims.get(item.claim), by)) {
        slices.set(key, [...(slices.get(key) ?? []), item]);
      }
    }
  }
  return { total: [...items], slices };
}
