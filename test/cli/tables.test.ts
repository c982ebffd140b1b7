/**
 * `dripline tables import-cms`, run in this process through the entry function the binary runs
 * (test/support/cli.ts; test/cli/cli.test.ts runs the binary itself).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import { cliInProcess } from '../support/cli.ts';
import type { CliRun } from '../support/child.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-tables-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<CliRun> {
  return cliInProcess(args, process.env);
}

test('imports a quarter from a folder of CMS files into <out>/cms/<quarter>.json and prints a summary', async () => {
  const source = path.join(dir, 'cms');
  const out = path.join(dir, 'tables');
  for (const d of [source, out]) {
    rmSync(d, { recursive: true, force: true });
  }
  mkdirSync(source);
  writeFileSync(
    path.join(source, 'pricing.csv'),
    Buffer.from(
      [
        'Payment Allowance Limits for Medicare Part B Drugs,,,',
        '"Effective July 1, 2026 through September 30, 2026",,,',
        'HCPCS Code,Short Description,HCPCS Code Dosage,Payment Limit,Co-insurance Percentage,Notes',
        'J9206,Irinotecan injection,20 MG,1.900,20.000,',
      ].join('\r\n'),
      'latin1',
    ),
  );
  writeFileSync(
    path.join(source, 'crosswalk.csv'),
    [
      '"Effective July 1, 2026 through September 30, 2026",,,,,,,,,',
      '_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,PKG QTY,BILLUNITS,BILLUNITSPKG',
      'J9206,Irinotecan injection,Pfizer,00009-0112-05,Camptosar,20 MG,5,1,5,5',
    ].join('\n'),
  );
  const ok = await cli(['tables', 'import-cms', source, '--out', out]);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ quarter: '2026Q3', hcpcs: 1, ndc: 1, skipped: [] });
  expect(readdirSync(path.join(out, 'cms'))).toEqual(['2026Q3.json']);

  // Without an ASP pricing file the import refuses, saying what is missing (exit 2, nothing written).
  rmSync(path.join(source, 'pricing.csv'));
  const refused = await cli(['tables', 'import-cms', source, '--out', path.join(dir, 'other')]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/ASP pricing file/);
  const missing = await cli(['tables', 'import-cms']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/usage: tables import-cms/);
}, 30_000);
