/**
 * The CLI against a real data directory and a running server: the commands run in this process
 * through the entry function the binary runs (test/support/cli.ts); the exit statuses of a usage
 * error and a bad configuration come from the real binary, a child process on the project's Node.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { cliInProcess } from '../support/cli.ts';
import type { CliRun } from '../support/child.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const run = promisify(execFile);
// The two tests that start the binary load Dripline's modules in a child each: on two cores shared
// with another jest worker that can pass jest's 30 s. A deadline only.
jest.setTimeout(120_000);
const CLI = path.resolve('src/cli/main.ts');

/** `npm run cli -- <args>` in this process, with this process's environment and `env`. */
async function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return cliInProcess(args, { ...process.env, ...env });
}

/** The same command line through the real binary: a child process. */
async function binary(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      // A CLI that hangs is killed and fails its test rather than outliving it.
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    return { code: 0, stdout, stderr };
  } catch (err: any) {
    return { code: err.code as number, stdout: err.stdout as string, stderr: err.stderr as string };
  }
}

describe('dripline CLI', () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer();
    // The CLI reads the same configuration and data directory as the running server.
    const configFile = path.join(mkdtempSync(path.join(tmpdir(), 'dripline-cli-')), 'c.json');
    writeFileSync(configFile, JSON.stringify({ sandbox: true, tenants: [{ id: 'clinic-b', name: 'B' }] }));
    env = { DRIPLINE_CONFIG: configFile, DATA_DIR: server.config.dataDir, PUBLIC_URL: server.url };
  });
  afterAll(async () => {
    await server.stop();
  });

  test('client create prints a usable SMART Backend Services client; token gets a token with it', async () => {
    const created = await cli(
      ['client', 'create', '--tenant', 'sandbox', '--scope', 'system/Patient.rs'],
      env,
    );
    expect(created.code).toBe(0);
    const client = JSON.parse(created.stdout);
    expect(client).toMatchObject({
      tenant: 'sandbox',
      scope: 'system/Patient.rs',
      token_url: `${server.url}/oauth2/token`,
      fhir_base_url: `${server.url}/fhir`,
    });
    expect(client.jwk.d).toBeTruthy(); // the private key, shown once

    const clientFile = path.join(mkdtempSync(path.join(tmpdir(), 'dripline-client-')), 'client.json');
    writeFileSync(clientFile, created.stdout);
    const token = await cli(['token', '--client', clientFile], env);
    expect(token.code).toBe(0);
    const accessToken = JSON.parse(token.stdout).access_token as string;
    const search = await fhirFetch(`${server.fhir}/Patient`, accessToken);
    expect(search.status).toBe(200);
    const denied = await fhirFetch(`${server.fhir}/Claim`, accessToken);
    expect(denied.status).toBe(403);
  });

  test('client create --out writes a new 0600 file, never overwrites one, never inside a git work tree', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dripline-out-'));
    const file = path.join(dir, 'nested', 'billing.json');
    const count = async (): Promise<number> =>
      (JSON.parse((await cli(['client', 'list', '--tenant', 'sandbox'], env)).stdout) as unknown[]).length;
    const before = await count();
    const created = await cli(
      ['client', 'create', '--tenant', 'sandbox', '--scope', 'system/Patient.rs', '--out', file],
      env,
    );
    expect(created.code).toBe(0);
    expect(created.stdout).not.toContain('"d"'); // the key went to the file, not the terminal
    expect(JSON.parse(created.stdout)).toMatchObject({ tenant: 'sandbox', file });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).jwk.d).toBeTruthy();

    const again = await cli(
      ['client', 'create', '--tenant', 'sandbox', '--scope', 'system/Patient.rs', '--out', file],
      env,
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);

    const repo = mkdtempSync(path.join(tmpdir(), 'dripline-repo-'));
    mkdirSync(path.join(repo, '.git'));
    const inRepo = await cli(
      [
        'client',
        'create',
        '--tenant',
        'sandbox',
        '--scope',
        'system/Patient.rs',
        '--out',
        path.join(repo, 'c.json'),
      ],
      env,
    );
    expect(inRepo.code).toBe(2);
    expect(inRepo.stderr).toMatch(/git work tree/);
    expect(existsSync(path.join(repo, 'c.json'))).toBe(false);
    // Refusals register nothing.
    expect(await count()).toBe(before + 1);
  });

  test('client list shows clients without key material; disable stops an unexpired token at once', async () => {
    const created = JSON.parse(
      (
        await cli(
          ['client', 'create', '--tenant', 'sandbox', '--scope', 'system/Patient.rs', '--name', 'Bot'],
          env,
        )
      ).stdout,
    );
    const clientFile = path.join(mkdtempSync(path.join(tmpdir(), 'dripline-client-')), 'client.json');
    writeFileSync(clientFile, JSON.stringify(created));
    const accessToken = JSON.parse((await cli(['token', '--client', clientFile], env)).stdout)
      .access_token as string;
    expect((await fhirFetch(`${server.fhir}/Patient`, accessToken)).status).toBe(200);

    const listed = await cli(['client', 'list', '--tenant', 'sandbox'], env);
    expect(listed.code).toBe(0);
    const entry = JSON.parse(listed.stdout).find((c: any) => c.client_id === created.client_id);
    expect(entry).toMatchObject({
      tenant: 'sandbox',
      name: 'Bot',
      scope: 'system/Patient.rs',
      disabled: false,
    });
    expect(entry.keys).toEqual([{ kid: created.jwk.kid, alg: 'ES384', kty: 'EC' }]);
    expect(listed.stdout).not.toMatch(/"d"|"x"|"y"/);

    const disabled = await cli(['client', 'disable', created.client_id], env);
    expect(disabled.code).toBe(0);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ client_id: created.client_id, disabled: true });
    // The same unexpired token, right away: refused.
    const refused = await fhirFetch(`${server.fhir}/Patient`, accessToken);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(
      /error="invalid_token", error_description="[^"]*disabled/,
    );
    // And no new token.
    const noToken = await cli(['token', '--client', clientFile], env);
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr).toMatch(/invalid_client: client is disabled/);
    expect((await cli(['client', 'disable', 'no-such-client'], env)).code).toBe(2);
  });

  test('client rotate-key: the new key works, the old key and the tokens it obtained stop at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dripline-rotate-'));
    const oldFile = path.join(dir, 'old.json');
    const newFile = path.join(dir, 'new.json');
    const created = await cli(
      ['client', 'create', '--tenant', 'sandbox', '--scope', 'system/Patient.rs', '--out', oldFile],
      env,
    );
    const clientId = JSON.parse(created.stdout).client_id as string;
    const oldToken = JSON.parse((await cli(['token', '--client', oldFile], env)).stdout)
      .access_token as string;
    expect((await fhirFetch(`${server.fhir}/Patient`, oldToken)).status).toBe(200);

    const rotated = await cli(['client', 'rotate-key', clientId, '--out', newFile], env);
    expect(rotated.code).toBe(0);
    const next = JSON.parse(readFileSync(newFile, 'utf8'));
    expect(next.client_id).toBe(clientId);
    expect(next.jwk.kid).not.toBe(JSON.parse(readFileSync(oldFile, 'utf8')).jwk.kid);

    const stale = await fhirFetch(`${server.fhir}/Patient`, oldToken);
    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const oldAssertion = await cli(['token', '--client', oldFile], env);
    expect(oldAssertion.code).not.toBe(0);
    expect(oldAssertion.stderr).toMatch(/invalid_client: no registered key/);
    const newToken = JSON.parse((await cli(['token', '--client', newFile], env)).stdout)
      .access_token as string;
    expect((await fhirFetch(`${server.fhir}/Patient`, newToken)).status).toBe(200);
  });

  test('usage errors exit 2 with a message', async () => {
    const unknownTenant = await cli(
      ['client', 'create', '--tenant', 'nobody', '--scope', 'system/*.rs'],
      env,
    );
    expect(unknownTenant.code).toBe(2);
    expect(unknownTenant.stderr).toMatch(/unknown tenant "nobody"/);
    const badScope = await cli(['client', 'create', '--tenant', 'sandbox', '--scope', 'patient/*.rs'], env);
    expect(badScope.code).toBe(2);
    // The binary exits with the status.
    const unknown = await binary(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Usage/);
  });

  test('a bad configuration exits 78 naming the field', async () => {
    const res = await binary(['client', 'create', '--tenant', 'sandbox', '--scope', 'system/*.rs'], {
      ...env,
      PORT: 'x',
    });
    expect(res.code).toBe(78);
    expect(res.stderr).toMatch(/PORT/);
  });
});
