/**
 * `npm start` as a user runs it: a port already taken is named, with the variable to change, and
 * the process exits non-zero (it used to die on "Cannot read properties of null (reading 'port')").
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { compileCacheEnv, within } from '../support/child.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

let holder: Server;
let port: number;
let dataDir: string;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(0, '0.0.0.0', resolve);
  });
  port = (holder.address() as AddressInfo).port;
  dataDir = mkdtempSync(path.join(tmpdir(), 'dripline-start-'));
});

afterAll(async () => {
  await new Promise<void>((resolve) => holder.close(() => resolve()));
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `node src/main.ts` to its exit (killed after 60 s whatever happens). */
async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--no-warnings', path.join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: {
      ...compileCacheEnv(),
      PATH: process.env['PATH'] ?? '',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const code = await within(exited, 60_000, () => {
      throw new Error(`still running after 60 s: ${stderr}`);
    });
    return { code, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  }
}

describe('npm start on a port that is in use', () => {
  const sandbox = { SANDBOX: 'true', SANDBOX_REPLAY_SPEED: '-1', SANDBOX_PATIENTS: '2' };
  test.each([
    ['production', 'PORT', { SANDBOX: 'false' }],
    ['sandbox', 'PORT', sandbox],
    ['sandbox EHR', 'SANDBOX_EHR_PORT', { ...sandbox, PORT: '0' }],
  ])(
    '%s: says which port and which variable (%s), and exits non-zero',
    async (_what, variable, env) => {
      const { code, stderr } = await start({ PORT: String(port), [variable]: String(port), ...env });
      expect(stderr).toContain(`port ${port} is in use; set ${variable}`);
      expect(stderr).not.toContain('Cannot read properties');
      expect(code).not.toBe(0);
    },
    90_000,
  );
});
