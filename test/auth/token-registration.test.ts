/**
 * The token service keeps each client's registration between requests while the store's client
 * registry version (AuthStore.clientRegistryVersion) is unchanged, and reads it again as soon as
 * it moves: a client disabled or re-keyed, through this store or through another connection to the
 * same file (as `dripline client disable` in another process), has its unexpired tokens refused on
 * the very next request. (A change from another connection is seen from the next turn of the event
 * loop on, the first a request arriving after it can be read in: src/store/sqlite/auth.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { disableClient, registerBackendClient, rotateClientKey } from '../../src/auth/client-registration.ts';
import { createTokenService, InvalidAccessTokenError } from '../../src/auth/token-service.ts';
import type { TokenService } from '../../src/auth/token-service.ts';
import type { AuthStore } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

const PUBLIC_URL = 'http://127.0.0.1:9';
/** The next turn of the event loop: where a request sent after a change is read. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
let dir: string;
/** The server's connection, and another one to the same file (another process's). */
let server: SqliteStore;
let other: SqliteStore;
let getClientCalls = 0;
let tokens: TokenService;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dripline-token-registration-'));
  const path = join(dir, 'dripline.sqlite');
  server = await openSqliteStore({ path });
  other = await openSqliteStore({ path });
  const counted: AuthStore = {
    createClient: (client) => server.auth.createClient(client),
    getClient: (clientId) => {
      getClientCalls++;
      return server.auth.getClient(clientId);
    },
    clientRegistryVersion: () => server.auth.clientRegistryVersion(),
    recordJti: (...args) => server.auth.recordJti(...args),
    getOrInitSetting: (key, init) => server.auth.getOrInitSetting(key, init),
  };
  tokens = await createTokenService({
    authStore: counted,
    issuer: PUBLIC_URL,
    audience: `${PUBLIC_URL}/fhir`,
  });
});

afterAll(async () => {
  await other.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function clientWithToken(
  tenant = 'registration',
): Promise<{ clientId: string; keyId: string; token: string }> {
  const client = await registerBackendClient(server.auth, {
    tenant,
    scope: 'system/Patient.rs',
    now: new Date(),
    publicUrl: PUBLIC_URL,
  });
  const keyId = String(client.jwk.kid);
  const issued = await tokens.issueAccessToken({
    clientId: client.client_id,
    tenant,
    scope: 'system/Patient.rs',
    clientKeyId: keyId,
    now: new Date(),
  });
  return { clientId: client.client_id, keyId, token: issued.accessToken };
}

async function refusal(token: string): Promise<string> {
  const err = await tokens.verifyAccessToken(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidAccessTokenError);
  return (err as InvalidAccessTokenError).message;
}

describe('client registrations behind access tokens', () => {
  test('unchanged registry: the registration is read once, not on every request', async () => {
    const { token } = await clientWithToken();
    getClientCalls = 0;
    for (let i = 0; i < 5; i++) {
      await tokens.verifyAccessToken(token);
    }
    expect(getClientCalls).toBe(1);
  });

  test('disabled through the same store: refused on the next request', async () => {
    const { clientId, token } = await clientWithToken();
    await tokens.verifyAccessToken(token);
    await disableClient(server.auth, clientId);
    expect(await refusal(token)).toMatch(/disabled/);
  });

  test('disabled through another connection (another process): refused on the next request', async () => {
    const { clientId, token } = await clientWithToken();
    await tokens.verifyAccessToken(token);
    await tokens.verifyAccessToken(token);
    await disableClient(other.auth, clientId);
    await nextTurn();
    expect(await refusal(token)).toMatch(/disabled/);
  });

  test('re-keyed through another connection: the old key’s token refused on the next request', async () => {
    const { clientId, token } = await clientWithToken();
    await tokens.verifyAccessToken(token);
    await rotateClientKey(other.auth, clientId, { publicUrl: PUBLIC_URL });
    await nextTurn();
    expect(await refusal(token)).toMatch(/replaced/);
  });

  test('a token naming another tenant than its client is refused, cached or not', async () => {
    const { clientId, keyId } = await clientWithToken('tenant-a');
    const forged = await tokens.issueAccessToken({
      clientId,
      tenant: 'tenant-b',
      scope: 'system/Patient.rs',
      clientKeyId: keyId,
      now: new Date(),
    });
    expect(await refusal(forged.accessToken)).toMatch(/not registered/);
    expect(await refusal(forged.accessToken)).toMatch(/not registered/);
  });
});
