/**
 * Reference rate schedules a contract can be a percentage of, looked up by code and date of
 * service:
 * - `medicare-asp`: the drug's average sales price per billing unit. CMS publishes the Part B
 *   payment limit, which is ASP + 6 % (Social Security Act §1847A(b)(1)); the ASP is that limit
 *   / 1.06. From the CMS quarter tables the coding engine loads (src/coding/tables/cms/), the
 *   quarter the date falls in (else the nearest earlier, said in the basis).
 * - `opps`: OPPS national payment rates of the administration and access codes
 *   (./reference/opps-<quarter>.json, imported from Addendum B).
 * - `medicare-physician`: physician fee schedule amounts (./reference/medicare-physician-<year>.json,
 *   seeded by hand, UNVERIFIED: every amount priced from it says so).
 * A table whose dates do not cover the date of service is used when it is the nearest earlier one
 * (rates carry over until the next release), with a note in the basis.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { quarterFor } from '../../coding/tables/cms.ts';
import type { CmsTables } from '../../coding/tables/types.ts';
import type { ReferenceRateTable, ReferenceScheduleId } from './reference-format.ts';
import { REFERENCE_SCHEDULES } from './reference-format.ts';

export interface ReferenceRate {
  /** USD per unit of the code. */
  readonly perUnit: number;
  /** Where the rate comes from, in words (table, period, and any note on the period). */
  readonly basis: string;
  /** False for a hand-seeded (UNVERIFIED) table. */
  readonly verified: boolean;
}

export interface ReferenceRates {
  rate(schedule: ReferenceScheduleId, code: string, date: string): ReferenceRate | undefined;
  /** Whether a code is a drug (HCPCS J or Q code, or a code CMS prices as a Part B drug). */
  isDrug(code: string, date: string): boolean;
}

export class ReferenceTableError extends Error {}

export const REFERENCE_DIR = fileURLToPath(new URL('./reference/', import.meta.url));

/** Checks a reference table's shape (by hand: a few hundred rows). */
export function checkReferenceTable(data: unknown, file: string): ReferenceRateTable {
  const t = data as Partial<ReferenceRateTable>;
  const date = (v: unknown): boolean => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v);
  if (
    t?.format !== 1 ||
    !REFERENCE_SCHEDULES.includes(t.schedule as ReferenceScheduleId) ||
    (t.schedule as string) === 'medicare-asp' ||
    !date(t.effective) ||
    !date(t.through) ||
    (t.verification !== 'verified' && t.verification !== 'UNVERIFIED') ||
    !Array.isArray(t.rates)
  ) {
    throw new ReferenceTableError(
      `${file}: not a format-1 reference rate table (schedule, dates, verification, rates)`,
    );
  }
  t.rates.forEach((row: unknown, i) => {
    const r = row as unknown[];
    if (
      !Array.isArray(r) ||
      r.length !== 3 ||
      typeof r[0] !== 'string' ||
      !/^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$/.test(r[0]) ||
      typeof r[1] !== 'number' ||
      !(r[1] > 0) ||
      !(r[2] === null || typeof r[2] === 'string')
    ) {
      throw new ReferenceTableError(`${file} rates[${i}]: expected [code, rate > 0, qualifier | null]`);
    }
  });
  return t as ReferenceRateTable;
}

/** The reference tables shipped in ./reference (every *.json), checked. */
export function loadReferenceTables(dir: string = REFERENCE_DIR): ReferenceRateTable[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => checkReferenceTable(JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')), f));
}

/** The table of a schedule for a date: the one covering it, else the nearest earlier (with a note). */
function tableFor(
  tables: readonly ReferenceRateTable[],
  schedule: ReferenceScheduleId,
  date: string,
): { table: ReferenceRateTable; note?: string } | undefined {
  const mine = tables
    .filter((t) => t.schedule === schedule)
    .sort((a, b) => (a.effective < b.effective ? -1 : 1));
  const covering = mine.find((t) => t.effective <= date && date <= t.through);
  if (covering) {
    return { table: covering };
  }
  const earlier = mine.filter((t) => t.through < date).at(-1);
  return earlier
    ? {
        table: earlier,
        note: `date of service ${date} is after ${earlier.through}: the latest table is used`,
      }
    : undefined;
}

/**
 * Reference rates from the CMS quarter tables (ASP) and the shipped reference tables. Both are read
 * on the first rate asked for, not when the rates are made: a server makes them at start, and a
 * start that never prices a claim against a contract never reads them.
 */
export function createReferenceRates(
  cmsTables: CmsTables | (() => CmsTables),
  referenceTables?: readonly ReferenceRateTable[],
): ReferenceRates {
  let read: { cms: CmsTables; tables: readonly ReferenceRateTable[] } | undefined;
  const loaded = (): { cms: CmsTables; tables: readonly ReferenceRateTable[] } =>
    (read ??= {
      cms: typeof cmsTables === 'function' ? cmsTables() : cmsTables,
      tables: referenceTables ?? loadReferenceTables(),
    });
  const indexes = new Map<ReferenceRateTable, Map<string, number>>();
  const index = (table: ReferenceRateTable): Map<string, number> => {
    let map = indexes.get(table);
    if (!map) {
      map = new Map(table.rates.map((r) => [r[0], r[1]]));
      indexes.set(table, map);
    }
    return map;
  };
  return {
    rate(schedule, code, date) {
      const { cms, tables } = loaded();
      if (schedule === 'medicare-asp') {
        const choice = quarterFor(cms, date);
        const limit = choice.quarter.drugs.get(code)?.paymentLimit;
        if (limit === undefined) {
          return undefined;
        }
        return {
          perUnit: limit / 1.06,
          basis: `ASP = CMS payment limit ${limit} / 1.06 (${choice.quarter.id} ASP file)${choice.note ? `; ${choice.note}` : ''}`,
          verified: true,
        };
      }
      const found = tableFor(tables, schedule, date);
      const perUnit = found ? index(found.table).get(code) : undefined;
      if (!found || perUnit === undefined) {
        return undefined;
      }
      const { table, note } = found;
      return {
        perUnit,
        basis: `${schedule} ${table.effective}..${table.through} (${table.source.file}${
          table.verification === 'UNVERIFIED' ? ', UNVERIFIED' : ''
        })${note ? `; ${note}` : ''}`,
        verified: table.verification === 'verified',
      };
    },
    isDrug(code, date) {
      if (/^[JQ]\d{4}$/.test(code)) {
        return true;
      }
      return quarterFor(loaded().cms, date).quarter.drugs.get(code)?.paymentLimit !== undefined;
    },
  };
}
