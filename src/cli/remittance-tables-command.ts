/**
 * The remittance tables' imports:
 * - `tables import-x12-codes <dir> [--out <codes dir>]`: the CARC and RARC tables from the public
 *   X12 code lists in <dir> (x12-carc-codes-status.csv, x12-rarc-codes-status.csv) and Dripline's
 *   notes (src/remittance/codes/*-notes.json): carc-table.json and rarc-table.json (default: the
 *   shipped src/remittance/codes);
 * - `tables import-opps-rates <dir> [--out <reference dir>]`: the OPPS reference rates of the
 *   administration and access codes from the OPPS Addendum B file in <dir>:
 *   opps-<quarter>.json (default: the shipped src/remittance/contracts/reference).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CarcNote, RarcNote } from '../remittance/codes/import.ts';
import { buildCarcTable, buildRarcTable, serializeCodeTable } from '../remittance/codes/import.ts';
import { buildOppsRates, serializeReferenceRates } from '../remittance/contracts/reference-import.ts';
import { quarterOf } from '../coding/tables/cms.ts';
import { UsageError } from './client-command.ts';
import { parseCommandLine } from './args.ts';

export const OPPS_RATES_USAGE = 'Usage: npm run cli -- tables import-opps-rates <dir> [--out <dir>]';
export const X12_CODES_USAGE = 'Usage: npm run cli -- tables import-x12-codes <dir> [--out <codes dir>]';

export const CODES_DIR = fileURLToPath(new URL('../remittance/codes/', import.meta.url));
export const REFERENCE_DIR = fileURLToPath(new URL('../remittance/contracts/reference/', import.meta.url));
const LISTS = { carc: 'x12-carc-codes-status.csv', rarc: 'x12-rarc-codes-status.csv' } as const;

export interface ImportX12CodesSummary {
  readonly files: readonly { readonly file: string; readonly codes: number; readonly labelled: number }[];
}

export function runImportX12Codes(argv: readonly string[], now: Date): ImportX12CodesSummary {
  const { values, positionals } = parseCommandLine(argv, { out: { type: 'string' } }, X12_CODES_USAGE);
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    throw new UsageError('usage: tables import-x12-codes <dir with the X12 code lists> [--out <codes dir>]');
  }
  const source = resolve(dir);
  const out = resolve(values.out ?? CODES_DIR);
  const imported = now.toISOString().slice(0, 10);
  const read = (name: string): { name: string; bytes: Buffer } => ({
    name,
    bytes: readFileSync(join(source, name)),
  });
  const notes = <T>(kind: string): Record<string, T> =>
    JSON.parse(readFileSync(join(CODES_DIR, `${kind}-notes.json`), 'utf8')) as Record<string, T>;
  const carc = buildCarcTable(read(LISTS.carc), notes<CarcNote>('carc'), imported);
  const rarc = buildRarcTable(read(LISTS.rarc), notes<RarcNote>('rarc'), imported);
  const files = [
    {
      file: join(out, 'carc-table.json'),
      text: serializeCodeTable(carc),
      codes: carc.codes.length,
      labelled: carc.codes.length,
    },
    {
      file: join(out, 'rarc-table.json'),
      text: serializeCodeTable(rarc),
      codes: rarc.codes.length,
      labelled: rarc.codes.filter((r) => r[2] !== null).length,
    },
  ];
  for (const f of files) {
    writeFileSync(f.file, f.text);
  }
  return { files: files.map(({ file, codes, labelled }) => ({ file, codes, labelled })) };
}

export function runImportOppsRates(
  argv: readonly string[],
  now: Date,
): { file: string; quarter: string; rates: number; source: string } {
  const { values, positionals } = parseCommandLine(argv, { out: { type: 'string' } }, OPPS_RATES_USAGE);
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    throw new UsageError('usage: tables import-opps-rates <dir with the OPPS Addendum B file> [--out <dir>]');
  }
  const source = resolve(dir);
  const name = readdirSync(source)
    .filter((f) => /opps.*addendum.?b.*\.csv$/i.test(f))
    .sort()
    .at(-1);
  if (!name) {
    throw new UsageError(`no OPPS Addendum B file (opps-addendum-b-<quarter>.csv) in ${source}`);
  }
  const table = buildOppsRates(
    { name, bytes: readFileSync(join(source, name)) },
    now.toISOString().slice(0, 10),
  );
  const quarter = quarterOf(table.effective);
  const file = join(resolve(values.out ?? REFERENCE_DIR), `opps-${quarter}.json`);
  writeFileSync(file, serializeReferenceRates(table));
  return { file, quarter, rates: table.rates.length, source: name };
}
