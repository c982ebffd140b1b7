/**
 * `npm run cli -- remit <file>...` on a real data directory (run in this process through the entry
 * function the binary runs, test/support/cli.ts): the files are received and posted, with progress
 * on stderr and a JSON summary per file on stdout; an unbalanced file exits 4 naming the rule and
 * segment. A denial posted from the command line opens its work item as the server's posting does,
 * and `work-items list|assign|resolve` works the queue.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditEvent, Claim, ExplanationOfBenefit, Task } from '@medplum/fhirtypes';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import { cliInProcess } from '../support/cli.ts';
import type { CliRun } from '../support/child.ts';
import { cliDataDir, paymentOf, remittance, seedSubmittedClaims, TENANT, WRITE_OPTIONS } from './support.ts';
import type { CliDataDir } from './support.ts';

let data: CliDataDir;

beforeAll(() => {
  data = cliDataDir('dripline-remit-cli-');
});

afterAll(() => {
  data.remove();
});

const cli = async (args: string[]): Promise<CliRun> => cliInProcess(args, data.env);

describe('npm run cli -- remit', () => {
  test('receives and posts 835 files with progress; an unbalanced one exits 4 naming rule and segment', async () => {
    const dataStore = data.storePath;
    const store = await openSqliteStore({ path: dataStore });
    let claims: (Claim & { id: string })[];
    try {
      claims = await seedSubmittedClaims(store, 3, 301);
    } finally {
      await store.close();
    }
    const good = path.join(data.dir, 'good.835');
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
    const bad = path.join(data.dir, 'bad.835');
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

describe('npm run cli -- work-items', () => {
  test('a denial posted by remit is a work item: listed, assigned, resolved as upheld', async () => {
    const dataStore = data.storePath;
    const store = await openSqliteStore({ path: dataStore });
    let claim: Claim & { id: string };
    try {
      [claim] = (await seedSubmittedClaims(store, 1, 401)) as [Claim & { id: string }];
    } finally {
      await store.close();
    }
    const file = path.join(data.dir, 'denied.835');
    writeFileSync(
      file,
      await write835ToString(
        [remittance([paymentOf(claim, { denyWaste: true })], { trace: 'CLI-DENIED' })],
        WRITE_OPTIONS,
      ),
    );
    const posted = await cli(['remit', '--tenant', TENANT, file]);
    expect({ code: posted.code, stderr: posted.code === 0 ? '' : posted.stderr }).toEqual({
      code: 0,
      stderr: '',
    });

    const list = await cli(['work-items', 'list', '--tenant', TENANT, '--queue', 'coding']);
    expect({ code: list.code, stderr: list.code === 0 ? '' : list.stderr }).toEqual({ code: 0, stderr: '' });
    const items = (JSON.parse(list.stdout) as { items: { id: string; claim: string; queue: string }[] })
      .items;
    const item = items.find((i) => i.claim === claim.id);
    expect(item?.queue).toBe('coding');

    const assigned = await cli(['work-items', 'assign', item!.id, 'coding-team', '--reason', 'JW rule']);
    expect(assigned.code).toBe(0);
    expect(JSON.parse(assigned.stdout)).toMatchObject({ status: 200, message: 'assigned to coding-team' });

    const resolved = await cli([
      'work-items',
      'resolve',
      item!.id,
      'upheld',
      '--reason',
      'waste not billable',
    ]);
    expect(resolved.code).toBe(0);
    expect(JSON.parse(resolved.stdout)).toMatchObject({ status: 200, message: 'closed as upheld' });

    const after = await openSqliteStore({ path: dataStore });
    try {
      const task = (await after.resources.read(TENANT, 'Task', item!.id)) as Task;
      expect(task.owner?.display).toBe('coding-team');
      expect(task.status).toBe('completed');
      // The list's read and both changes are audited with the operator as the agent.
      const audits = (await searchAll<AuditEvent>(after, TENANT, 'AuditEvent')).filter((a) =>
        (a.agent ?? []).some((g) =>
          (g.who?.identifier?.value ?? g.who?.display ?? '').startsWith('dripline-cli:'),
        ),
      );
      expect(audits.length).toBeGreaterThanOrEqual(3);
    } finally {
      await after.close();
    }
  }, 240_000);
});
