/**
 * Tests that read ../shared report themselves as skipped when it is missing (test/support/shared.ts):
 * every test file that reads it goes through `describeShared`, and run against an empty folder
 * those files load without failing and report their shared tests as skipped, naming what is
 * missing. The child jest runs only those skipped blocks (`--testNamePattern` the missing folder):
 * the files' other tests run in the suite itself, and running them again here cost ~8 CPU-s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from '@jest/globals';
import { within } from './child.ts';

const TEST_ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-no-shared-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function testFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? testFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

const files = testFiles(TEST_ROOT).filter((f) => !f.endsWith(path.join('support', 'shared.ts')));
/** Test files that import the helper (this one only talks about it). */
const readers = files.filter(
  (f) => f.endsWith('.test.ts') && /from '[./]*\/(support\/)?shared\.ts'/.test(readFileSync(f, 'utf8')),
);

test('no test builds a path into ../shared by hand (each goes through describeShared)', () => {
  const byHand = files.filter((f) => /\b(resolve|join)\([^)]*['"]shared['"]/.test(readFileSync(f, 'utf8')));
  expect(byHand.map((f) => path.relative(TEST_ROOT, f))).toEqual([]);
  expect(readers.length).toBeGreaterThan(0);
});

test('without ../shared, the tests that read it are reported as skipped, saying why', async () => {
  const out = path.join(dir, 'results.json');
  const jest = spawn(
    process.execPath,
    [
      '--experimental-vm-modules',
      '--no-warnings=ExperimentalWarning',
      'node_modules/jest/bin/jest.js',
      '--json',
      // One process: worker processes would each load jest again for a few files.
      '--runInBand',
      `--outputFile=${out}`,
      // Only what the claim is about: describeShared's skipped blocks name the missing folder.
      `--testNamePattern=${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ...readers,
    ],
    { env: { ...process.env, DRIPLINE_SHARED_DIR: dir }, stdio: 'ignore', detached: true },
  );
  const exited = new Promise<number | null>((resolve) => jest.once('close', (code) => resolve(code)));
  try {
    expect(await within<number | null | 'timed out'>(exited, 120_000, () => 'timed out')).toBe(0);
  } finally {
    if (jest.exitCode === null && jest.signalCode === null && jest.pid !== undefined) {
      process.kill(-jest.pid, 'SIGKILL');
    }
  }
  const results = JSON.parse(readFileSync(out, 'utf8')) as {
    numFailedTests: number;
    numFailedTestSuites: number;
    numPassedTests: number;
    testResults: { name: string; assertionResults: { status: string; fullName: string }[] }[];
  };
  // Every reader loaded (a file that throws while loading is a failed suite) and nothing ran.
  expect({ failedFiles: results.numFailedTestSuites, failed: results.numFailedTests }).toEqual({
    failedFiles: 0,
    failed: 0,
  });
  expect(results.numPassedTests).toBe(0);
  expect(results.testResults.map((f) => f.name).sort()).toEqual([...readers].sort());
  for (const file of results.testResults) {
    const named = file.assertionResults.filter(
      (a) => a.status === 'pending' && a.fullName.includes(dir) && a.fullName.includes('not found'),
    );
    expect({ file: path.relative(TEST_ROOT, file.name), skipped: named.length > 0 }).toEqual({
      file: path.relative(TEST_ROOT, file.name),
      skipped: true,
    });
  }
}, 150_000);
