/**
 * `npm run cli -- appeal …` on a real data directory (run in this process through the entry
 * function the binary runs, test/support/cli.ts; its clock moved to the fixture's day): open from a
 * work item (and again: the same appeal), a claim that is not denied exits 4, an outcome above the
 * amount appealed exits 4, a valid one is recorded, and the packet is written as a PDF.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { officeInfusionContext } from '../../../src/claims/x12-samples.ts';
import { dateInput, moneyInput, newWorkItem, stringInput } from '../../../src/remittance/work/items.ts';
import { openSqliteStore } from '../../../src/store/sqlite/index.ts';
import { cliInProcess } from '../../support/cli.ts';
import type { CliRun } from '../../support/child.ts';
import { cliDataDir, NOW, TENANT } from '../support.ts';
import type { CliDataDir } from '../support.ts';

let data: CliDataDir;

beforeAll(async () => {
  data = cliDataDir('dripline-appeal-cli-', {
    tenant: { timeZone: 'America/Chicago' },
    clockAt: NOW,
  });
  const store = await openSqliteStore({ path: data.storePath });
  try {
    const claim = officeInfusionContext(5).claim;
    await store.resources.create(TENANT, claim, { id: claim.id });
    const item = newWorkItem(
      {
        id: 'wi-cli',
        kind: 'denial',
        queue: 'authorization',
        state: 'open',
        claims: [claim.id ?? ''],
        deadline: '2027-06-01',
        priority: 'routine',
        source: 'ExplanationOfBenefit/e1',
        description: 'denied',
        reasonCode: undefined,
        now: '2026-12-03T15:00:00Z',
      },
      [stringInput('payer', 'acme'), dateInput('decided', '2026-12-03'), moneyInput('dollars-at-stake', 250)],
      'opened',
    );
    await store.resources.create(TENANT, item, { id: item.id });
  } finally {
    await store.close();
  }
});

afterAll(() => {
  data.remove();
});

const cli = async (args: string[]): Promise<CliRun> => cliInProcess(args, data.env);

describe('npm run cli -- appeal', () => {
  test('open, open again, refusals exit 4, an outcome, the packet', async () => {
    const opened = await cli(['appeal', 'open', 'wi-cli', '--reason', 'authorization on file']);
    expect(opened.stderr).toBe('');
    expect(opened.code).toBe(0);
    const appeal = JSON.parse(opened.stdout).appeal;
    expect(appeal).toMatchObject({ level: 'first-level', deadline: '2027-06-01', denied: 250 });
    const again = await cli(['appeal', 'open', 'wi-cli']);
    expect(JSON.parse(again.stdout).appeal.id).toBe(appeal.id);

    const notDenied = await cli(['appeal', 'open', '--claim', 'clm-not-denied']);
    expect(notDenied.code).toBe(4);
    expect(notDenied.stderr).toMatch(/422: Claim\/clm-not-denied is not denied or underpaid/);
    const tooMuch = await cli([
      'appeal',
      'outcome',
      appeal.id,
      '--outcome',
      'partly-overturned',
      '--recovered',
      '900',
    ]);
    expect(tooMuch.code).toBe(4);
    expect(tooMuch.stderr).toMatch(/400: "recovered" is 0 to 250\.00/);

    const out = path.join(data.dir, 'packet.pdf');
    const packet = await cli(['appeal', 'packet', appeal.id, '--out', out]);
    expect(packet.code).toBe(0);
    expect(existsSync(out) && readFileSync(out).subarray(0, 5).toString()).toBe('%PDF-');

    const won = await cli([
      'appeal',
      'outcome',
      appeal.id,
      '--outcome',
      'overturned',
      '--decided',
      '2026-12-04',
    ]);
    expect(won.code).toBe(0);
    expect(JSON.parse(won.stdout).appeal).toMatchObject({ outcome: 'overturned', recovered: 250 });
    // Six processes, each opening the store (and one loading the coding tables): a loaded machine is slow.
  }, 180_000);
});
