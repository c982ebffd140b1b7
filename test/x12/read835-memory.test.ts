/**
 * Reading an 835 keeps no more of the input than the consumer keeps of the events: a consumer that
 * keeps every claim's patient control number and payer claim number (as posting keeps them for
 * the PaymentReconciliation) must not keep the chunks of text they were read from. V8 makes a
 * slice of 13 characters or more a view of the string it was cut from; such views kept a 100,000-
 * claim file (48 MB) alive whole (src/x12/parse.ts, `detached`). Measured in a child process
 * (./children/read835-retained.ts), on a heap of its own.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { spawnChild } from '../support/child.ts';

const CHILD = fileURLToPath(new URL('./children/read835-retained.ts', import.meta.url));
const CLAIMS = 20_000;

interface Retained {
  readonly size: number;
  readonly kept: number;
  readonly first: string[];
  readonly retained: number;
}

async function measured(): Promise<Retained> {
  const child = spawnChild(CHILD, [String(CLAIMS)], {
    env: { PATH: process.env['PATH'] ?? '', NODE_OPTIONS: '--expose-gc' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout) as Retained;
}

describe('memory', () => {
  test('the claim numbers a consumer keeps do not keep the text they were read from', async () => {
    const { size, kept, first, retained } = await measured();
    expect(kept).toBe(2 * CLAIMS);
    expect(first).toEqual(['CLAIM-00000001', 'ICN-0000000001']);
    // 40,000 strings of 14 characters and their array: ~3 MB. The text is ~8 MB (one byte a
    // character): kept whole, as it was, it came on top of that (10 MB retained in all).
    expect(size).toBeGreaterThan(7_000_000);
    expect(retained).toBeLessThan(size * 0.6);
  }, 60_000);
});
