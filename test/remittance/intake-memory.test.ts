/**
 * Intake memory (src/remittance/intake.ts): an 835 is taken in as a stream, so a file's claim
 * payments are never held together. Measured as a limit, not a sample: a child process with a
 * 64 MB heap takes in a 20,000-claim file handed over as one 10 MB buffer (the worst a caller can
 * do), while reading that file's events into one array needs about 110 MB and runs out of heap in
 * the same child. Sampling the heap's growth in the test process instead measured garbage the
 * collector had not reached yet, and failed on a loaded CI machine with nothing held.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnChild } from '../support/child.ts';

const CHILD = fileURLToPath(new URL('./children/intake-heap.ts', import.meta.url));
const CLAIMS = 20_000;
const HEAP_MB = 64;

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-intake-memory-'));
/** The 835 both children take in: the first child writes it, the other reads it. */
const FILE = path.join(dir, `remittance-${CLAIMS}.835`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runWithSmallHeap(mode: 'intake' | 'hold'): Promise<Outcome> {
  const child = spawnChild(CHILD, [mode, String(CLAIMS), FILE], {
    env: { PATH: process.env['PATH'] ?? '', NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

describe('intake memory', () => {
  test(`a ${CLAIMS}-claim remittance handed over as one buffer is taken in within a ${HEAP_MB} MB heap`, async () => {
    const intake = await runWithSmallHeap('intake');
    expect(intake.stderr).not.toMatch(/heap out of memory/i);
    expect(intake.code).toBe(0);
    expect(JSON.parse(intake.stdout)).toMatchObject({ mode: 'intake', claims: CLAIMS });
  }, 120_000);

  test(`holding that remittance's claim payments together does not fit in ${HEAP_MB} MB (the limit means something)`, async () => {
    const hold = await runWithSmallHeap('hold');
    expect(hold.code).not.toBe(0);
    expect(hold.stderr).toMatch(/heap out of memory/i);
  }, 120_000);
});
