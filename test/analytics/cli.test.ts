/**
 * `npm run cli -- report` on a real data directory (run in this process through the entry function
 * the binary runs, test/support/cli.ts): every measure of the tenant over the range as a table (or
 * JSON), the numbers the API gives; a backwards range or an unknown slice is a usage error (exit 2)
 * and prints no report.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { cliInProcess } from '../support/cli.ts';
import type { CliRun } from '../support/child.ts';
import { paidAndDenied } from './fixtures.ts';

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-report-cli-'));
  const config = path.join(dir, 'dripline.json');
  // Contracts for what-if: medicare J1745 $20/unit, aetna J9035 $50/unit (fee schedules).
  const contracts = path.join(dir, 'contracts.json');
  const contract = (payer: string, code: string, rate: number) => ({
    id: `${payer}-2026`,
    payer,
    name: payer,
    effective: '2026-01-01',
    source: 'test',
    terms: [{ id: 'fees', kind: 'fee-schedule', rates: { [code]: rate } }],
  });
  writeFileSync(
    contracts,
    JSON.stringify({
      title: 'test',
      contracts: [contract('medicare', 'J1745', 20), contract('aetna', 'J9035', 50)],
    }),
  );
  const payer = (id: string, kind: string) => ({
    id,
    name: id,
    payerId: id.toUpperCase(),
    kind,
    channel: 'fhir',
  });
  writeFileSync(
    config,
    JSON.stringify({
      tenants: [
        {
          id: 'metro',
          name: 'Metro infusion',
          timeZone: 'America/New_York',
          payers: [payer('medicare', 'medicare'), payer('aetna', 'commercial')],
          contracts: { file: contracts },
        },
      ],
    }),
  );
  env = {
    PATH: process.env['PATH'] ?? '',
    DRIPLINE_CONFIG: config,
    DATA_DIR: path.join(dir, 'data'),
    PUBLIC_URL: 'http://127.0.0.1:1',
  };
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const store = await openSqliteStore({ path: path.join(dir, 'data', 'dripline.sqlite') });
  const resources = paidAndDenied(
    { paid: 'c1', denied: 'c2', paidEob: 'e1', deniedEob: 'e2' },
    { served: ['2026-11-02', '2026-11-05'], remitted: ['2026-11-20', '2026-11-25'] },
  );
  try {
    for (const r of resources) {
      await store.resources.create('metro', r, { id: r.id as string });
    }
  } finally {
    await store.close();
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const cli = async (args: string[]): Promise<CliRun> => cliInProcess(args, env);

describe('npm run cli -- report', () => {
  test('prints every measure of the range as a table, sliced by payer', async () => {
    const r = await cli(['report', '--from', '2026-11-01', '--to', '2026-11-30', '--by', 'payer']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^Revenue analytics, Metro infusion: 2026-11-01 to 2026-11-30$/m);
    expect(r.stdout).toMatch(/^Clean-claim rate \(first-pass acceptance\)\s+50\.0% \(1\/2\)$/m);
    expect(r.stdout).toMatch(/^ {2}payer aetna\s+0\.0% \(0\/1\)$/m);
    expect(r.stdout).toMatch(
      /^Initial denial rate\s+50\.0% \(1\/2 claims; \$2,000\.00, 66\.7% of billed\)$/m,
    );
    expect(r.stdout).toMatch(/^Drug units bought, given, billed and paid\s+given 0, billed 30, paid 10$/m);
  });

  test('--json gives the API’s results', async () => {
    const r = await cli(['report', '--from', '2026-11-01', '--to', '2026-11-30', '--json']);
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout) as { measure: string; total: { value: number } }[];
    expect(results.find((m) => m.measure === 'net-collection-rate')?.total.value).toBe(0.2857);
  });

  test('a backwards range or an unknown slice is a usage error', async () => {
    const backwards = await cli(['report', '--from', '2026-11-30', '--to', '2026-11-01']);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toMatch(/backwards/);
    expect(backwards.stdout).toBe('');
    const slice = await cli(['report', '--by', 'patient']);
    expect(slice.code).toBe(2);
    expect(slice.stderr).toMatch(/"by" is one of/);
  });
});

describe('npm run cli -- what-if', () => {
  // As billed: c1 medicare J1745×10 = $200, c2 aetna J9035×20 = $1,000 → $1,200. All to medicare:
  // J1745 $200, J9035 not priced by medicare's contract → $200, difference −$1,000.
  test('prints the month as contracted now and under another payer mix', async () => {
    const r = await cli(['what-if', '--month', '2026-11', '--mix', 'medicare:1']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^2 claim\(s\), 2 line\(s\), billed \$3,000\.00$/m);
    expect(r.stdout).toMatch(
      /^as contracted now: allowed \$1,200\.00 — aetna 50\.0 % \$1,000\.00; medicare 50\.0 % \$200\.00$/m,
    );
    expect(r.stdout).toMatch(
      /^under the scenario: allowed \$200\.00 — medicare 100\.0 % \$200\.00 \(1 not priced\)$/m,
    );
    expect(r.stdout).toMatch(/^difference: −\$1,000\.00$/m);
  });

  test('a mix that does not add up is a usage error', async () => {
    const r = await cli(['what-if', '--month', '2026-11', '--mix', 'medicare:0.5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/add up to 0\.5/);
    expect(r.stdout).toBe('');
  });
});
