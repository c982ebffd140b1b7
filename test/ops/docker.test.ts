/**
 * The container image runs in production mode unless the sandbox is asked for (Docker cannot run
 * here, so the Dockerfile's runtime environment is read and fed to the same config loader).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config/config.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The ENV pairs and CMD of the Dockerfile's last stage (continuation lines joined). */
function runtimeStage(): { env: Record<string, string>; cmd: unknown } {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim());
  const from = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0);
  const stage = lines.slice(from.at(-1) ?? 0);
  const env: Record<string, string> = {};
  let cmd: unknown;
  for (const line of stage) {
    const env_ = /^ENV\s+(.*)$/i.exec(line);
    if (env_) {
      for (const [, key, value] of (env_[1] ?? '').matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) {
        env[key ?? ''] = (value ?? '').replace(/^"|"$/g, '');
      }
    }
    const cmd_ = /^CMD\s+(.*)$/i.exec(line);
    if (cmd_) {
      cmd = JSON.parse(cmd_[1] ?? '');
    }
  }
  return { env, cmd };
}

describe('Docker image', () => {
  test('defaults to production: no sandbox tenant, no simulators', () => {
    const { env, cmd } = runtimeStage();
    expect(cmd).toEqual(['node', 'src/main.ts']);
    expect(env['SANDBOX']).toBe('false');
    const config = loadConfig(env);
    expect(config.sandbox).toBe(false);
    expect(config.tenants.map((t) => t.id)).not.toContain('sandbox');
  });

  test('the sandbox is an explicit opt-in (docker run -e SANDBOX=true), as docs/docker.md says', () => {
    const { env } = runtimeStage();
    const config = loadConfig({ ...env, SANDBOX: 'true' });
    expect(config.sandbox).toBe(true);
    expect(config.tenants.map((t) => t.id)).toContain('sandbox');
    expect(readFileSync(path.join(ROOT, 'docs/docker.md'), 'utf8')).toContain('-e SANDBOX=true');
  });
});
