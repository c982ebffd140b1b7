/**
 * Drug units bought, given, billed and paid per HCPCS drug code (pure). Conventions: ./measures.ts.
 */
import type { AnalyticsData, MeasureQuery, MeasureResult, MeasureRow } from './measure-model.ts';
import { inRange, ratio, result, rowsInRange } from './measure-kit.ts';

/**
 * Drug units per HCPCS drug code: bought (the clinic's inventory, when given), given (drug
 * ChargeItems served in the range), billed (lines of the range's claims still in force) and paid
 * (units of those lines the payer paid something for, reversals netted).
 */
export function drugUnits(data: AnalyticsData, q: MeasureQuery): MeasureResult {
  type Units = { bought?: number; given: number; billed: number; paid: number };
  const rows = new Map<string, Units>();
  const get = (code: string): Units => {
    let r = rows.get(code);
    if (!r) {
      r = { given: 0, billed: 0, paid: 0 };
      const bought = data.inventory?.get(code);
      if (bought !== undefined) {
        r.bought = bought;
      }
      rows.set(code, r);
    }
    return r;
  };
  for (const d of data.drugCharges) {
    if (inRange(d.date, q)) {
      get(d.code).given += d.units;
    }
  }
  for (const claim of rowsInRange(data, q, (r) => r.claim.frequency !== '8' && !r.claim.replaced)) {
    for (const line of claim.drugLines) {
      get(line.code).billed += line.units;
    }
    for (const line of claim.paidDrugUnits) {
      get(line.code).paid += line.units;
    }
  }
  for (const [code, bought] of data.inventory ?? []) {
    if (!rows.has(code)) {
      get(code).bought = bought;
    }
  }
  const total = { given: 0, billed: 0, paid: 0 };
  for (const r of rows.values()) {
    total.given += r.given;
    total.billed += r.billed;
    total.paid += r.paid;
  }
  const row = (
    key: string,
    r: { bought?: number; given: number; billed: number; paid: number },
  ): MeasureRow => ({
    key,
    value: r.billed,
    ...(r.bought !== undefined ? { bought: r.bought } : {}),
    given: r.given,
    billed: r.billed,
    paid: r.paid,
    paidOfBilled: ratio(r.paid, r.billed),
  });
  return {
    ...result('drug-units', { ...q, by: 'drug' }, 'units', { total: row('all', total), slices: rows }, row),
  };
}
