/**
 * `tables import-cms <dir> [--out <tables dir>]`: builds one quarter's CMS drug table from the CMS
 * files in <dir> (ASP pricing, NDC–HCPCS crosswalk, HCPCS Level II, OPPS Addendum B, MUE) and
 * writes it as <out>/cms/<quarter>.json (default: the shipped tables, src/coding/tables). Other
 * quarters already there are kept; re-importing a quarter replaces it.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildCmsQuarter, serializeCmsQuarter } from '../coding/cms/import.ts';
import { CMS_DIR, DEFAULT_TABLES_DIR } from '../coding/tables/load.ts';
import { UsageError } from './client-command.ts';
import { parseCommandLine } from './args.ts';

export const CMS_TABLES_USAGE = 'Usage: npm run cli -- tables import-cms <dir> [--out <tables dir>]';

export interface ImportCmsSummary {
  readonly quarter: string;
  readonly file: string;
  readonly bytes: number;
  readonly hcpcs: number;
  readonly ndc: number;
  readonly mue: number;
  readonly sources: readonly string[];
  readonly skipped: readonly string[];
}

export function runImportCms(argv: readonly string[], now: Date): ImportCmsSummary {
  const { values, positionals } = parseCommandLine(argv, { out: { type: 'string' } }, CMS_TABLES_USAGE);
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    throw new UsageError('usage: tables import-cms <dir with the CMS files> [--out <tables dir>]');
  }
  const source = resolve(dir);
  const files = readdirSync(source)
    .filter((name) => /\.(csv|json)$/i.test(name) && statSync(join(source, name)).isFile())
    .sort()
    .map((name) => ({ name, bytes: readFileSync(join(source, name)) }));
  const table = buildCmsQuarter(files, now.toISOString().slice(0, 10));
  const out = join(resolve(values.out ?? DEFAULT_TABLES_DIR), CMS_DIR);
  mkdirSync(out, { recursive: true });
  const file = join(out, `${table.quarter}.json`);
  const text = serializeCmsQuarter(table);
  writeFileSync(file, text);
  return {
    quarter: table.quarter,
    file,
    bytes: Buffer.byteLength(text),
    hcpcs: Object.keys(table.hcpcs).length,
    ndc: Object.keys(table.ndc).length,
    mue: Object.keys(table.mue).length,
    sources: table.sources.map((s) => `${s.kind}: ${s.file} (${s.period}, ${s.rows} rows)`),
    skipped: table.skipped,
  };
}
