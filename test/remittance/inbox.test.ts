/**
 * The per-tenant inbox (src/remittance/inbox.ts): a settled file is received and posted and moves
 * to done/ with its report; a rejected one to rejected/ naming the rule; a file still being written
 * is left alone; a file a crash left in .processing/ is received again without posting twice.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { Claim, ExplanationOfBenefit } from '@medplum/fhirtypes';
import { createLogger } from '../../src/logger.ts';
import { inboxDir, RemittanceInbox } from '../../src/remittance/inbox.ts';
import { RemittanceWorker } from '../../src/remittance/worker.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { write835ToString } from '../../src/x12/835/write835.ts';
import type { PostingFixture } from './support.ts';
import {
  openPostingFixture,
  paymentOf,
  remittance,
  seedSubmittedClaims,
  TENANT,
  TENANTS,
  WRITE_OPTIONS,
} from './support.ts';

let fx: PostingFixture;
let inbox: RemittanceInbox;
let dir: string;
const WALL = Date.parse('2026-12-04T15:00:00Z');

beforeEach(async () => {
  fx = await openPostingFixture();
  inbox = new RemittanceInbox({
    intake: fx.intake,
    tenants: () => TENANTS,
    logger: createLogger('silent'),
    settleMs: 2_000,
    wallClock: () => WALL,
  });
  dir = inboxDir(fx.intake.remittanceDir, TENANT);
  mkdirSync(dir, { recursive: true });
});

afterEach(async () => {
  await fx.close();
});

/** Writes a file into the inbox, last modified `ageMs` before the wall clock. */
function drop(name: string, text: string, ageMs = 10_000, into = dir): void {
  mkdirSync(into, { recursive: true });
  const file = path.join(into, name);
  writeFileSync(file, text);
  const at = new Date(WALL - ageMs);
  utimesSync(file, at, at);
}

async function drain(): Promise<void> {
  const worker = new RemittanceWorker({ ...fx.posting, leaseMs: 60_000 });
  while ((await worker.runOnce()) > 0) {
    // next job
  }
}

const eobs = (): Promise<ExplanationOfBenefit[]> =>
  searchAll<ExplanationOfBenefit>(fx.store, TENANT, 'ExplanationOfBenefit');

describe('the remittance inbox', () => {
  test('a settled file is received, posted and moved to done/ with its report; a fresh one waits', async () => {
    const claims = await seedSubmittedClaims(fx.store, 2);
    drop(
      'era-1.835',
      await write835ToString(
        [remittance([paymentOf(claims[0] as Claim & { id: string })], { trace: 'IN-1' })],
        WRITE_OPTIONS,
      ),
    );
    drop(
      'era-2.835',
      await write835ToString(
        [remittance([paymentOf(claims[1] as Claim & { id: string })], { trace: 'IN-2' })],
        WRITE_OPTIONS,
      ),
      500,
    );
    drop('copying.835.part', 'ISA*', 60_000);

    expect(await inbox.runOnce()).toBe(1);
    expect(readdirSync(path.join(dir, 'done')).sort()).toEqual(['era-1.835', 'era-1.835.report.json']);
    const report = JSON.parse(readFileSync(path.join(dir, 'done', 'era-1.835.report.json'), 'utf8'));
    expect(report.transactions.map((t: { action: string; trace: string }) => [t.trace, t.action])).toEqual([
      ['IN-1', 'post'],
    ]);
    expect(existsSync(path.join(dir, 'era-2.835'))).toBe(true);
    expect(existsSync(path.join(dir, 'copying.835.part'))).toBe(true);
    await drain();
    expect((await eobs()).map((e) => e.claim?.reference)).toEqual([`Claim/${claims[0]?.id ?? ''}`]);
  });

  test('a file that does not balance goes to rejected/ with the rule and segment', async () => {
    const claims = await seedSubmittedClaims(fx.store, 1);
    const payment = paymentOf(claims[0] as Claim & { id: string });
    drop(
      'bad.835',
      await write835ToString(
        [remittance([{ ...payment, paid: payment.paid + 1 }], { trace: 'IN-BAD' })],
        WRITE_OPTIONS,
      ),
    );
    expect(await inbox.runOnce()).toBe(1);
    const report = JSON.parse(readFileSync(path.join(dir, 'rejected', 'bad.835.report.json'), 'utf8'));
    expect(report.transactions[0].findings[0]).toMatchObject({ rule: 'balance-claim', segmentId: 'CLP' });
    expect(existsSync(path.join(dir, 'rejected', 'bad.835'))).toBe(true);
    await drain();
    expect(await eobs()).toEqual([]);
  });

  test('a file a crash left in .processing/ is received again; already received, it posts nothing twice', async () => {
    const claims = await seedSubmittedClaims(fx.store, 1);
    const text = await write835ToString(
      [remittance([paymentOf(claims[0] as Claim & { id: string })], { trace: 'IN-3' })],
      WRITE_OPTIONS,
    );
    drop('era-3.835', text);
    expect(await inbox.runOnce()).toBe(1);
    await drain();
    // The same file again, as if the process died after receiving it but before moving it.
    drop('era-3.835', text, 10_000, path.join(dir, '.processing'));
    expect(await inbox.runOnce()).toBe(1);
    const report = JSON.parse(readFileSync(path.join(dir, 'done', 'era-3.835.report.json'), 'utf8'));
    expect(report.transactions[0].action).toBe('duplicate');
    await drain();
    expect(await eobs()).toHaveLength(1);
    expect(readdirSync(path.join(dir, '.processing'))).toEqual([]);
  });
});
