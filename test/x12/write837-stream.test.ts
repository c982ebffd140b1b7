/**
 * The 837 batch written to a file as it is built (write837ToFile: chunks through a file stream with
 * back-pressure) is byte for byte the interchange built in memory, and a batch larger than a
 * functional group may hold (GE01 has six digits: 999,999 transactions) continues in further groups
 * with consecutive GS06 numbers, each counted, and the envelope checks pass.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { officeInfusionContext } from '../../src/claims/x12-samples.ts';
import { write837ToFile, write837ToString } from '../../src/x12/837/write837.ts';
import type { Write837Options } from '../../src/x12/837/types.ts';
import { checkEnvelopes } from '../../src/x12/envelope-check.ts';
import type { X12Segment } from '../../src/x12/parse.ts';
import { parseX12 } from '../../src/x12/parse.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-837-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS: Write837Options = {
  kind: '837P',
  sender: { id: 'DRIPLINE01', name: 'Dripline' },
  receiver: { id: 'CLEARHOUSE', name: 'Clear House' },
  controlNumbers: { isa: 41, gs: 70 },
  now: new Date('2026-12-01T09:30:00Z'),
  usage: 'T',
};

const claims = (n: number): ReturnType<typeof officeInfusionContext>[] =>
  Array.from({ length: n }, (_, i) => officeInfusionContext(i + 1));

async function checked(text: string): Promise<X12Segment[]> {
  const out: X12Segment[] = [];
  for await (const s of checkEnvelopes(parseX12([text]))) {
    out.push(s);
  }
  return out;
}

describe('write837ToFile', () => {
  test.each([
    ['64 KiB chunks (the default)', undefined],
    ['1 KiB chunks (many waits on the stream)', 1024],
    ['one chunk per claim', 0],
  ])('%s: the file holds the bytes built in memory', async (_label, chunkSize) => {
    const options = { ...OPTIONS, ...(chunkSize === undefined ? {} : { chunkSize }) };
    const file = join(dir, `batch-${String(chunkSize)}.x12`);
    const bytes = await write837ToFile(claims(40), options, file);
    const inMemory = await write837ToString(claims(40), OPTIONS);
    const written = readFileSync(file, 'ascii');
    expect(written).toBe(inMemory);
    expect(bytes).toBe(Buffer.byteLength(inMemory, 'ascii'));
  });

  test('never writes over an existing file', async () => {
    const file = join(dir, 'existing.x12');
    writeFileSync(file, 'keep me');
    await expect(write837ToFile(claims(1), OPTIONS, file)).rejects.toThrow(/EEXIST/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });
});

describe('a batch larger than one functional group', () => {
  test('continues in the next groups: GE01 counts each, GS06 follows on, ST02 restarts, IEA01 counts groups', async () => {
    const text = await write837ToString(claims(25), { ...OPTIONS, maxTransactionsPerGroup: 10 });
    const segments = await checked(text);
    const of = (id: string): string[][] => segments.filter((s) => s.id === id).map((s) => [...s.elements]);
    expect(of('GS').map((e) => e[5])).toEqual(['70', '71', '72']);
    expect(of('GE')).toEqual([
      ['10', '70'],
      ['10', '71'],
      ['5', '72'],
    ]);
    expect(of('IEA')).toEqual([['3', '000000041']]);
    const st02 = of('ST').map((e) => e[1]);
    expect(st02.slice(9, 12)).toEqual(['0010', '0001', '0002']);
    expect(of('CLM')).toHaveLength(25);
  });

  test('a claim that cannot be rendered does not open a group of its own', async () => {
    const broken = {
      ...officeInfusionContext(99),
      provider: { ...officeInfusionContext(99).provider, npi: '' },
    };
    const skipped: string[] = [];
    const text = await write837ToString([...claims(10), broken], {
      ...OPTIONS,
      maxTransactionsPerGroup: 10,
      onError: (id) => skipped.push(id),
    });
    const segments = await checked(text);
    expect(skipped).toEqual(['clm-office-99']);
    expect(segments.filter((s) => s.id === 'GS')).toHaveLength(1);
    expect(segments.find((s) => s.id === 'GE')?.elements).toEqual(['10', '70']);
  });

  test("the default group size is GE01's limit", async () => {
    const text = await write837ToString(claims(3), OPTIONS);
    expect((await checked(text)).filter((s) => s.id === 'GS')).toHaveLength(1);
  });
});
