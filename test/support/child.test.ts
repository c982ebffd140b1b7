/**
 * The harness's promise (test/support/child.ts): a child a test started is ended when the test
 * file ends, even when the test failed or timed out before stopping it, and its pipes do not keep
 * Jest alive. Proven by running a Jest of its own on a test that abandons a never-ending child.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnChild, spawnHeldDriplineChild, startDriplineChild, within } from './child.ts';
import { waitFor } from './wait.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-child-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a child abandoned by a timed-out test is killed and Jest exits', async () => {
  const pidFile = path.join(dir, 'pid');
  // Its own process group, so that whatever happens here the whole inner run can be ended.
  const jest = spawn(
    process.execPath,
    [
      '--experimental-vm-modules',
      '--no-warnings=ExperimentalWarning',
      'node_modules/jest/bin/jest.js',
      '--testMatch',
      '**/test/support/fixtures/abandoned-child.spec.ts',
      '--runInBand',
    ],
    {
      env: { ...process.env, ABANDONED_CHILD_PID_FILE: pidFile },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  jest.stdout.on('data', (c: Buffer) => (output += c.toString()));
  jest.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => jest.once('close', (code) => resolve(code)));
  let pid = 0;
  try {
    pid = await waitFor('the inner test to start its child', () =>
      existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined,
    );
    const code = await within<number | null | 'still running'>(exited, 60_000, () => 'still running');
    expect({ code, timedOut: /Exceeded timeout/.test(output) }).toEqual({ code: 1, timedOut: true });
    expect(alive(pid)).toBe(false);
  } finally {
    if (jest.exitCode === null && jest.signalCode === null && jest.pid !== undefined) {
      process.kill(-jest.pid, 'SIGKILL');
    }
    if (pid > 0 && alive(pid)) {
      process.kill(pid, 'SIGKILL');
    }
  }
}, 90_000);

test('children start with the compile cache of the run (test/support/global-setup.ts), whatever their environment', async () => {
  const probe = path.join(dir, 'probe.ts');
  writeFileSync(
    probe,
    "import { getCompileCacheDir } from 'node:module';\nconsole.log(getCompileCacheDir() ?? 'none');\n",
  );
  const child = spawnChild(probe, [], { env: { PATH: process.env['PATH'] ?? '' } });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await once(child, 'exit');
  expect(process.env['NODE_COMPILE_CACHE']).toBeDefined();
  // Node keeps each Node version's entries in a folder of their own under the given one.
  expect(path.dirname(out.trim())).toBe(process.env['NODE_COMPILE_CACHE']);
});

test('a child SIGKILLed once it said LISTENING has left what it compiled in the compile cache', async () => {
  // Node writes the cache at a normal exit only; the kill -9 proofs' server children never have one.
  const cache = mkdtempSync(path.join(dir, 'compile-cache-'));
  const files = (): string[] =>
    readdirSync(cache, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
  expect(files()).toEqual([]);
  const child = await startDriplineChild(path.join(import.meta.dirname, 'fixtures', 'listening-probe.ts'), {
    NODE_COMPILE_CACHE: cache,
  });
  child.process.kill('SIGKILL');
  expect((await child.exited).signal).toBe('SIGKILL');
  // The probe, listening.ts and src/time/clock.ts at least.
  expect(files().length).toBeGreaterThanOrEqual(3);
});

test('a held child loads its modules, then goes no further (its store, its port) until let start', async () => {
  const started = path.join(mkdtempSync(path.join(dir, 'held-')), 'started');
  const held = spawnHeldDriplineChild(path.join(import.meta.dirname, 'fixtures', 'held-probe.ts'), {
    PROBE_STARTED: started,
  });
  await waitFor('the held probe to load', () => held.stderr().includes('LOADED'));
  expect(existsSync(started)).toBe(false);
  const child = await held.start(30_000);
  expect(existsSync(started)).toBe(true);
  child.process.kill('SIGKILL');
  expect((await child.exited).signal).toBe('SIGKILL');
});

describe('a Dripline child that does not listen', () => {
  const fixtures = path.join(import.meta.dirname, 'fixtures');

  test('one still running at the deadline is stopped and reported as late, not as a crash', async () => {
    // ticker.ts runs forever and never prints LISTENING.
    await expect(startDriplineChild(path.join(fixtures, 'ticker.ts'), {}, 250)).rejects.toThrow(
      /did not start within 250 ms/,
    );
  });

  test('one that exits first is reported with its exit code', async () => {
    await expect(startDriplineChild(path.join(fixtures, 'no-such-script.ts'), {}, 30_000)).rejects.toThrow(
      /exited before listening \(1\)/,
    );
  });
});
