/**
 * `npm start` turns Node's compile cache on for its process and for the threads it starts
 * (src/compile-cache.ts): a thread reads the directory from the environment it inherits.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, test } from '@jest/globals';
import { within } from '../support/child.ts';

const MODULE = pathToFileURL(path.resolve(import.meta.dirname, '../../src/compile-cache.ts')).href;
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-compile-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the script in a fresh Node without NODE_COMPILE_CACHE; resolves with its stdout lines. */
async function run(script: string): Promise<string[]> {
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await within(
    new Promise<number | null>((resolve) => child.once('exit', resolve)),
    60_000,
    () => {
      child.kill('SIGKILL');
      throw new Error(`still running after 60 s: ${err}`);
    },
  );
  expect({ code, err }).toEqual({ code: 0, err: '' });
  return out.trim().split('\n');
}

test('the process and a thread it starts afterwards both compile through the cache', async () => {
  const cache = path.join(dir, 'cache');
  const lines = await run(`
    import { getCompileCacheDir } from 'node:module';
    import { Worker } from 'node:worker_threads';
    import { enableCompileCacheForProcess } from '${MODULE}';
    console.log(String(getCompileCacheDir()));
    console.log(enableCompileCacheForProcess(${JSON.stringify(cache)}));
    console.log(getCompileCacheDir());
    const worker = new Worker("import('node:module').then((m) => console.log(m.getCompileCacheDir()))", { eval: true });
    await new Promise((resolve) => worker.once('exit', resolve));
  `);
  const [before, enabled, here, inThread] = lines;
  expect([before, enabled]).toEqual(['undefined', cache]);
  // Node keeps a subdirectory per version and flags under the one given.
  expect(here?.startsWith(`${cache}${path.sep}`)).toBe(true);
  expect(inThread).toBe(here);
});

test('a directory that cannot be written leaves the cache off and the environment as it was', async () => {
  // Under a file: no directory can be made there.
  const file = path.join(dir, 'a-file');
  writeFileSync(file, '');
  const lines = await run(`
    import { getCompileCacheDir } from 'node:module';
    import { enableCompileCacheForProcess } from '${MODULE}';
    console.log(String(enableCompileCacheForProcess(${JSON.stringify(path.join(file, 'cache'))})));
    console.log(String(getCompileCacheDir()), String(process.env.NODE_COMPILE_CACHE));
  `);
  expect(lines).toEqual(['undefined', 'undefined undefined']);
});
