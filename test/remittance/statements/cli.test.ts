/**
 * `npm run cli -- statements …` as a biller runs it (a child process on a real data directory, its
 * clock at the fixture's day): a posted remittance leaves a deductible; `statements run` writes the
 * statement PDF into the data folder, again finds it; `statements pay` above the balance exits 4, a
 * payment is recorded once per key.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openSqliteStore } from '../../../src/store/sqlite/index.ts';
import { write835ToString } from '../../../src/x12/835/write835.ts';
import { runCli } from '../../support/child.ts';
import type { CliRun } from '../../support/child.ts';
import { paymentOf, remittance, seedSubmittedClaims, TENANT, TENANTS, WRITE_OPTIONS } from '../support.ts';

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-statements-cli-'));
  const config = path.join(dir, 'dripline.json');
  const tenant = TENANTS[0];
  writeFileSync(
    config,
    JSON.stringify({
      tenants: [
        {
          id: TENANT,
          name: tenant?.name,
          timeZone: 'America/Chicago',
          billing: {
            ...tenant?.billing,
            phone: '2175550100',
            address: { ...tenant?.billing?.address, postalCode: '627011234' },
          },
          payers: tenant?.payers,
          statements: {
            contact: 'Call Dana in billing, 217-555-0199',
            payTo: 'Pay online at pay.example or by phone',
          },
        },
      ],
    }),
  );
  env = {
    PATH: process.env['PATH'] ?? '',
    DRIPLINE_CONFIG: config,
    DATA_DIR: path.join(dir, 'data'),
    PUBLIC_URL: 'http://127.0.0.1:1',
    CLOCK_OFFSET_MS: String(Date.parse('2026-12-04T15:00:00Z') - Date.now()),
  };
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const store = await openSqliteStore({ path: path.join(dir, 'data', 'dripline.sqlite') });
  try {
    const claims = await seedSubmittedClaims(store, 1, 1201);
    writeFileSync(
      path.join(dir, 'paid.835'),
      await write835ToString(
        [
          remittance(
            claims.map((c) => paymentOf(c)),
            { trace: 'STMT-CLI' },
          ),
        ],
        WRITE_OPTIONS,
      ),
    );
  } finally {
    await store.close();
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const cli = async (args: string[]): Promise<CliRun> => runCli(args, env);

describe('npm run cli -- statements', () => {
  test('run writes the PDF and finds it again; pay refuses more than the balance, records once per key', async () => {
    expect((await cli(['remit', path.join(dir, 'paid.835')])).code).toBe(0);
    const run = await cli(['statements', 'run']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.statements).toEqual([
      expect.objectContaining({ patient: 'Patient/pat-1201', amountDue: 50, created: true }),
    ]);
    expect(report.statements[0].pdf.startsWith(path.join(dir, 'data', 'statements', TENANT))).toBe(true);
    expect(existsSync(report.statements[0].pdf)).toBe(true);
    const again = JSON.parse((await cli(['statements', 'run'])).stdout);
    expect(again.statements[0]).toMatchObject({ invoice: report.statements[0].invoice, created: false });

    const tooMuch = await cli([
      'statements',
      'pay',
      'Patient/pat-1201',
      '--amount',
      '75',
      '--key',
      'cli-pay-0001',
    ]);
    expect(tooMuch.code).toBe(4);
    expect(tooMuch.stderr).toMatch(/422: .*larger than the balance \(\$50\.00\)/);
    const paid = await cli([
      'statements',
      'pay',
      'Patient/pat-1201',
      '--amount',
      '50',
      '--key',
      'cli-pay-0002',
    ]);
    expect(JSON.parse(paid.stdout)).toMatchObject({ status: 201, balance: 0 });
    const twice = await cli([
      'statements',
      'pay',
      'Patient/pat-1201',
      '--amount',
      '50',
      '--key',
      'cli-pay-0002',
    ]);
    expect(JSON.parse(twice.stdout)).toMatchObject({ status: 200 });
    const balance = JSON.parse((await cli(['statements', 'balance', 'Patient/pat-1201'])).stdout);
    expect(balance.totals).toMatchObject({ payments: 50, balance: 0 });
  }, 240_000);
});
