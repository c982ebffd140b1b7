/** Committed cache files read in pieces (src/fhir/cache-file.ts): header at open, records on demand. */
import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import { CacheFile } from '../../src/fhir/cache-file.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-cache-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('reads the header line when opened and the ranges of the body asked for', () => {
  const file = path.join(dir, 'small');
  writeFileSync(file, '{"n":1}\nalphabeta\ngamma\n');
  const cache = CacheFile.open(file);
  expect(cache?.header).toEqual({ n: 1 });
  expect(cache?.bodyLength).toBe(16);
  expect(
    cache
      ?.read([
        [5, 4],
        [0, 5],
        [10, 5],
        [0, 0],
      ])
      .map(String),
  ).toEqual(['beta', 'alpha', 'gamma', '']);
  expect(() => cache?.read([[12, 5]])).toThrow(/bytes 12\+5 are outside its body/);
  expect(CacheFile.open(path.join(dir, 'missing'))).toBeUndefined();
});

test('a header longer than the first read is read whole; a file without one is refused', () => {
  const file = path.join(dir, 'long-header');
  const long = 'x'.repeat(300_000);
  writeFileSync(file, `${JSON.stringify({ long })}\nbody`);
  const cache = CacheFile.open(file);
  expect((cache?.header as { long: string }).long).toBe(long);
  expect(cache?.read([[0, 4]]).map(String)).toEqual(['body']);

  writeFileSync(path.join(dir, 'no-header'), 'x'.repeat(100_000));
  expect(() => CacheFile.open(path.join(dir, 'no-header'))).toThrow(/has no header line/);
});

test('a file changed after its header was read fails every read loudly', () => {
  const file = path.join(dir, 'changed');
  writeFileSync(file, '{}\nabc\n');
  const cache = CacheFile.open(file);
  expect(cache?.read([[0, 3]]).map(String)).toEqual(['abc']);
  appendFileSync(file, 'more');
  expect(() => cache?.read([[0, 3]])).toThrow(/changed after this process read its header/);

  // Same size, rewritten later: its modification time tells.
  writeFileSync(file, '{}\nabc\n');
  const again = CacheFile.open(file);
  writeFileSync(file, '{}\nxyz\n');
  utimesSync(file, new Date(), new Date(Date.now() + 5_000));
  expect(() => again?.read([[0, 3]])).toThrow(/changed after this process read its header/);
});
