/**
 * `npm run cli -- remit <file>...` as an operator runs it (a child process on a real data
 * directory): the files are received and posted in that process, with progress on stderr and a JSON
 * summary per file on stdout; an unbalanced file exits 4 naming the rule and segment.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, ExplanationOfBenefit } from '@medplum/fhirtypes';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import { spawnChild, stopChild, within } from '../support/child.ts';
import { paymentOf, remittance, seedSubmittedClaims, TENANT, TENANTS, WRITE_OPTIONS } from './support.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-remit-cli-'));
  const config = path.join(dir, 'dripline.json');
  const tenant = TENANTS[0];
  writeFileSync(
    config,
    JSON.stringify({
      tenants: [
        {
          id: TENANT,
          name: tenant?.name,
          // The config file spells the ZIP+4 and phone as digits only.
          billing: {
            ...tenant?.billing,
            phone: '2175550100',
            address: { ...tenant?.billing?.address, postalCode: '627011234' },
          },
          payers: tenant?.payers,
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
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnChild(path.join(ROOT, 'src/cli/main.ts'), args, { env });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  try {
    const code = await within(
      new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
      60_000,
      () => {
        throw new Error(`remit did not finish: ${stderr}`);
      },
    );
    return { code, stdout, stderr };
  } finally {
    await stopChild(child);
  }
}

describe('npm run cli -- remit', () => {
  test('receives and posts 835 files with progress; an unbalanced one exits 4 naming rule and segment', async () => {
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const dataStore = path.join(dir, 'data', 'dripline.sqlite');
    const store = await openSqliteStore({ path: dataStore });
    let claims: (Claim & { id: string })[];
    try {
      claims = await seedSubmittedClaims(store, 3, 301);
    } finally {
      await store.close();
    }
    const good = path.join(dir, 'good.835');
    writeFileSync(
      good,
      await write835ToString(
        [
          remittance(
            claims.slice(0, 2).map((c) => paymentOf(c)),
            { trace: 'CLI-1' },
          ),
        ],
        WRITE_OPTIONS,
      ),
    );
    const third = paymentOf(claims[2] as Claim & { id: string });
    const bad = path.join(dir, 'bad.835');
    writeFileSync(
      bad,
      await write835ToString(
        [remittance([{ ...third, paid: third.paid + 1 }], { trace: 'CLI-BAD' })],
        WRITE_OPTIONS,
      ),
    );

    const run = await cli(['remit', '--tenant', TENANT, good, bad]);
    // The code, and what the command said when it is not the one expected.
    expect({ code: run.code, stderr: run.code === 4 ? '' : run.stderr }).toEqual({ code: 4, stderr: '' });
    expect(run.stderr).toMatch(/good\.835: read 100%/);
    expect(run.stderr).toMatch(/good\.835: posted 2 claim payment\(s\)/);
    const summaries = JSON.parse(run.stdout) as { outcome: string; posted: number; transactions: any[] }[];
    expect(summaries.map((s) => [s.outcome, s.posted])).toEqual([
      ['accepted', 2],
      ['rejected', 0],
    ]);
    expect(summaries[1]?.transactions[0]?.findings[0]).toMatchObject({
      rule: 'balance-claim',
      segmentId: 'CLP',
    });

    // Sent again: nothing changes, exit 0.
    const again = await cli(['remit', good]);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { outcome: string }[])[0]?.outcome).toBe('duplicate');

    const after = await openSqliteStore({ path: dataStore });
    try {
      const eobs = await searchAll<ExplanationOfBenefit>(after, TENANT, 'ExplanationOfBenefit');
      expect(eobs.map((e) => e.claim?.reference).sort()).toEqual(
        claims
          .slice(0, 2)
          .map((c) => `Claim/${c.id}`)
          .sort(),
      );
      const states = (await searchAll<Claim>(after, TENANT, 'Claim')).map((c) => [c.id, claimStateOf(c)]);
      expect(states.sort()).toEqual(
        [
          [claims[0]?.id, 'adjudicated'],
          [claims[1]?.id, 'adjudicated'],
          [claims[2]?.id, 'submitted'],
        ].sort(),
      );
    } finally {
      await after.close();
    }
  }, 180_000); // three child processes, each loading the FHIR definitions: slow on a loaded machine
});
