/**
 * Starts a real Dripline server (embedded store in a temp dir, real HTTP on an ephemeral port) and
 * obtains tokens the way any SMART Backend Services client would (openid-client).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { registerBackendClient } from '../../src/auth/client-registration.ts';
import type { RegisteredBackendClient } from '../../src/auth/client-registration.ts';
import { requestBackendToken } from '../../src/cli/token-command.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { DriplineConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/server.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import type { RunningServer, StartOptions } from '../../src/server.ts';
import { systemClock } from '../../src/time/clock.ts';
import { onFreePort } from './free-port-retry.ts';

export interface TestServer {
  readonly url: string;
  readonly fhir: string;
  readonly config: DriplineConfig;
  readonly running: RunningServer;
  /** Every log line the server wrote, for "no PHI in logs" checks. */
  readonly logs: string[];
  /** Registers a client and returns a fresh access token for it. */
  token(tenant: string, scope: string): Promise<string>;
  client(tenant: string, scope: string): Promise<RegisteredBackendClient>;
  stop(): Promise<void>;
}

/** Start options that run no queue worker (as a receiver, WORKERS=none); spread and turn one on. */
export const NO_WORKERS = {
  ingest: false,
  chargeCapture: false,
  claims: false,
  authorizationLedger: false,
  priorAuth: false,
  eligibility: false,
  remittance: false,
} as const satisfies StartOptions;

export interface TestConfigFile {
  /** Tenants added to (or, same id, replacing) the default test tenants, e.g. `sandbox` with `payers`/`billing`. */
  readonly tenants?: readonly Record<string, unknown>[];
}

export async function startTestServer(
  env: Record<string, string> = {},
  options: StartOptions = {},
  file: TestConfigFile = {},
): Promise<TestServer> {
  const extraTenants = file.tenants ?? [];
  const baseTenants = [{ id: 'clinic-b', name: 'Second clinic', coding: { modifier340B: 'JG' } }].filter(
    (t) => !extraTenants.some((x) => x['id'] === t.id),
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-test-'));
  const configFile = path.join(dir, 'dripline.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      sandbox: true,
      // A 340B hospital outpatient department (coding-rules R12.1), to exercise tenant coding options.
      tenants: [...baseTenants, ...extraTenants],
    }),
  );
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  // Port 0 first to learn a free port, then PUBLIC_URL must match it: bind, read, restart is racy,
  // so PUBLIC_URL uses 127.0.0.1 and the port the OS gave a throwaway listener (again on another
  // when a parallel test file took it first).
  const { config, running } = await onFreePort(async (port) => {
    const config = loadConfig({
      DRIPLINE_CONFIG: configFile,
      DATA_DIR: path.join(dir, 'data'),
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '100000',
      ...env,
    });
    return { config, running: await startServer(config, createLogger(config.logLevel, sink), options) };
  });
  const client = (tenant: string, scope: string): Promise<RegisteredBackendClient> =>
    registerBackendClient(running.store.auth, {
      tenant,
      scope,
      now: new Date(),
      publicUrl: config.publicUrl,
    });
  return {
    url: config.publicUrl,
    fhir: `${config.publicUrl}/fhir`,
    config,
    running,
    logs,
    client,
    async token(tenant, scope) {
      const registered = await client(tenant, scope);
      // A server on a moved clock (CLOCK_OFFSET_MS, an injected one) takes assertions dated by its clock.
      return (
        await requestBackendToken(registered, undefined, options.now ?? systemClock(config.clockOffsetMs))
      ).access_token;
    },
    async stop() {
      // The folder is deleted next: closing the last connection checkpoints the WAL into the
      // file, and without its fsyncs a stop of a server holding a day's data waits ~20–45 ms
      // instead of ~60–85 (nothing is read from the files again; durability while the test runs
      // is the product's own).
      // (A store a test handed in is the test's: left as it is.)
      const store = (options.store ? {} : running.store) as Partial<SqliteStore>;
      for (const connection of [store.connection, store.inboxConnection]) {
        if (connection && !connection.closed) {
          connection.db.exec('PRAGMA synchronous = OFF');
        }
      }
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** fetch with a bearer token and FHIR JSON; returns status, headers and parsed body. */
export async function fhirFetch(
  url: string,
  token: string | undefined,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { accept: 'application/fhir+json', ...(init.headers ?? {}) };
  if (token) {
    headers.authorization = `Bearer ${token}`;
  }
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/fhir+json';
  }
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // leave as text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
