/**
 * `npm run cli -- statements …` on a real data directory (run in this process through the entry
 * function the binary runs, test/support/cli.ts; its clock at the fixture's day): a posted
 * remittance leaves a deductible; `statements run` writes the statement PDF into the data folder,
 * again finds it; `statements pay` above the balance exits 4, a payment is recorded once per key.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openSqliteStore } from '../../../src/store/sqlite/index.ts';
import { write835ToString } from '../../../src/x12/835/write835.ts';
import { cliInProcess } from '../../support/cli.ts';
import type { CliRun } from '../../support/child.ts';
import {
  cliDataDir,
  NOW,
  paymentOf,
  remittance,
  seedSubmittedClaims,
  TENANT,
  WRITE_OPTIONS,
} from '../support.ts';
import type { CliDataDir } from '../support.ts';

let data: CliDataDir;

beforeAll(async () => {
  data = cliDataDir('dripline-statements-cli-', {
    tenant: {
      timeZone: 'America/Chicago',
      statements: {
        contact: 'Call Dana in billing, 217-555-0199',
        payTo: 'Pay online at pay.example or by phone',
      },
    },
    clockAt: NOW,
  });
  const store = await openSqliteStore({ path: data.storePath });
  try {
    const claims = await seedSubmittedClaims(store, 1, 1201);
    writeFileSync(
      path.join(data.dir, 'paid.835'),
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
  data.remove();
});

const cli = async (args: string[]): Promise<CliRun> => cliInProcess(args, data.env);

describe('npm run cli -- statements', () => {
  test('run writes the PDF and finds it again; pay refuses more than the balance, records once per key', async () => {
    expect((await cli(['remit', path.join(data.dir, 'paid.835')])).code).toBe(0);
    const run = await cli(['statements', 'run']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.statements).toEqual([
      expect.objectContaining({ patient: 'Patient/pat-1201', amountDue: 50, created: true }),
    ]);
    expect(report.statements[0].pdf.startsWith(path.join(data.dir, 'data', 'statements', TENANT))).toBe(true);
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
