/** The CLI as a user runs it: a child process on the project's Node, against a real data directory. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const run = promisify(execFile);
const CLI = path.resolve('src/cli/main.ts');

async function cli(
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

  test('usage errors exit 2 with a message', async () => {
    const unknownTenant = await cli(
      ['client', 'create', '--tenant', 'nobody', '--scope', 'system/*.rs'],
      env,
    );
    expect(unknownTenant.code).toBe(2);
    expect(unknownTenant.stderr).toMatch(/unknown tenant "nobody"/);
    const badScope = await cli(['client', 'create', '--tenant', 'sandbox', '--scope', 'patient/*.rs'], env);
    expect(badScope.code).toBe(2);
    const unknown = await cli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Usage/);
  });

  test('a bad configuration exits 78 naming the field', async () => {
    const res = await cli(['client', 'create', '--tenant', 'sandbox', '--scope', 'system/*.rs'], {
      ...env,
      PORT: 'x',
    });
    expect(res.code).toBe(78);
    expect(res.stderr).toMatch(/PORT/);
  });
});
