/**
 * OPPS reference rates for contracts priced as a percentage of Medicare's hospital outpatient
 * rates: the national unadjusted payment rate of the infusion administration and vascular access
 * codes (CPT 96360–96549, 36000–36599) from CMS OPPS Addendum B, with their status indicator. Only
 * codes, status indicators and rates are kept: the file's short descriptors of CPT codes are AMA
 * copyright and are never copied. Pure (the file is passed in); `npm run tables:import-opps-rates`
 * writes ./reference/opps-<period>.json.
 */
import { createHash } from 'node:crypto';
import { cell, parseCsv } from '../../coding/cms/csv.ts';
import type { ReferenceRateRow, ReferenceRateTable } from './reference-format.ts';
import { daysInMonth } from '../../time/calendar.ts';

export class ReferenceImportError extends Error {
  override readonly name = 'ReferenceImportError';
}

/** The code ranges imported: infusion, injection and hydration administration; vascular access. */
export const OPPS_CODE_RANGES: readonly (readonly [string, string])[] = [
  ['36000', '36599'],
  ['96360', '96549'],
];

const inRanges = (code: string): boolean =>
  /^\d{5}$/.test(code) && OPPS_CODE_RANGES.some(([from, to]) => code >= from && code <= to);

/** "2025Q4" → its first and last day. */
function quarterDates(period: string): { effective: string; through: string } | undefined {
  const m = /^(\d{4})Q([1-4])$/.exec(period);
  if (!m) {
    return undefined;
  }
  const year = m[1] ?? '';
  const q = Number(m[2]);
  const first = String((q - 1) * 3 + 1).padStart(2, '0');
  const last = q * 3;
  const lastDay = daysInMonth(Number(year), last);
  return { effective: `${year}-${first}-01`, through: `${year}-${String(last).padStart(2, '0')}-${lastDay}` };
}

export function buildOppsRates(
  file: { readonly name: string; readonly bytes: Buffer },
  imported: string,
): ReferenceRateTable {
  const rows = parseCsv(file.bytes.toString('latin1'));
  const headerAt = rows.findIndex((r) => cell(r[0]).toLowerCase() === 'hcpcs code');
  const header = rows[headerAt]?.map((c) => cell(c).toLowerCase()) ?? [];
  const col = (name: string): number => header.indexOf(name);
  const [code, si, rate] = [col('hcpcs code'), col('si'), col('payment rate')];
  if (headerAt < 0 || si < 0 || rate < 0) {
    throw new ReferenceImportError(
      `${file.name}: not an OPPS Addendum B file (no header with HCPCS Code, SI and Payment Rate)`,
    );
  }
  const period = /(\d{4})q([1-4])/i.exec(file.name);
  const dates = period ? quarterDates(`${period[1] ?? ''}Q${period[2] ?? ''}`) : undefined;
  if (!period || !dates) {
    throw new ReferenceImportError(`${file.name}: the file name must name its quarter (e.g. …-2025Q4.csv)`);
  }
  const out: ReferenceRateRow[] = [];
  for (const row of rows.slice(headerAt + 1)) {
    const c = cell(row[code]);
    if (!inRanges(c)) {
      continue;
    }
    const raw = cell(row[rate]).replace(/[$,]/g, '');
    const value = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      continue; // packaged or not paid under OPPS (no rate): nothing to be a percentage of
    }
    out.push([c, Math.round(value * 1000) / 1000, cell(row[si]) || null]);
  }
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const quarter = `${period[1] ?? ''}Q${period[2] ?? ''}`;
  return {
    title: `OPPS national payment rates ${quarter}: infusion administration and vascular access codes`,
    format: 1,
    schedule: 'opps',
    effective: dates.effective,
    through: dates.through,
    verification: 'verified',
    source: {
      file: file.name,
      rows: out.length,
      sha256: createHash('sha256').update(file.bytes).digest('hex'),
    },
    imported,
    generator:
      'npm run tables:import-opps-rates (src/remittance/contracts/reference-import.ts); do not edit by hand',
    notes:
      'rates: [CPT code, OPPS national unadjusted payment rate in USD, OPPS status indicator]. From CMS OPPS Addendum B (US Government work); codes and rates only, never the CPT descriptors (AMA). Codes without a payment rate (packaged, not paid under OPPS) are left out.',
    rates: out,
  };
}

/** The table as committed: one rate per line. */
export function serializeReferenceRates(table: ReferenceRateTable): string {
  const { rates, ...header } = table;
  const head = JSON.stringify(header, null, 2).replace(/\n}$/, '');
  return `${head},\n  "rates": [\n${rates.map((r) => `    ${JSON.stringify(r)}`).join(',\n')}\n  ]\n}\n`;
}
