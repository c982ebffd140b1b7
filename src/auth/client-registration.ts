/**
 * Registration and lifecycle of a SMART Backend Services client (`dripline client create`,
 * `rotate-key`, `disable`): Dripline generates the client's key pair, stores only the public JWK
 * Set, and hands the private JWK to the operator once. The private key is never stored.
 */
import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { calculateJwkThumbprint } from 'jose/jwk/thumbprint';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import type { AuthStore, ClientRecord, ClientRegistry, TenantId } from '../store/port.ts';
import type { ClientAssertionAlg } from './client-assertion.ts';
import { validateRegisteredScopes } from './scopes.ts';

/** Where the lead mounts the token router and the FHIR API, relative to the public base URL. */
export const TOKEN_PATH = '/oauth2/token';
export const FHIR_PATH = '/fhir';

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function tokenUrlFor(publicUrl: string): string {
  return trimSlash(publicUrl) + TOKEN_PATH;
}

export function fhirBaseUrlFor(publicUrl: string): string {
  return trimSlash(publicUrl) + FHIR_PATH;
}

export interface RegisterBackendClientInput {
  readonly tenant: TenantId;
  /** Space-separated system/ scopes (v1 or v2); validated. */
  readonly scope: string;
  readonly name?: string;
  /** Default ES384. */
  readonly alg?: ClientAssertionAlg;
  readonly now: Date;
  /** The server's public base URL. */
  readonly publicUrl: string;
  /** Overrides of the URLs derived from publicUrl (TOKEN_PATH, FHIR_PATH). */
  readonly tokenUrl?: string;
  readonly fhirBaseUrl?: string;
}

export interface RegisteredBackendClient {
  readonly client_id: string;
  readonly tenant: TenantId;
  readonly name?: string;
  readonly scope: string;
  readonly token_url: string;
  readonly fhir_base_url: string;
  readonly alg: ClientAssertionAlg;
  /** The PRIVATE key (with kid, alg, use: 'sig'): give it to the client's operator, then forget it. */
  readonly jwk: JWK;
  /** The public JWK Set stored for the client. */
  readonly jwks: { keys: JWK[] };
}

/** Thrown for invalid input (bad scope, empty tenant, bad alg). */
export class ClientRegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientRegistrationError';
  }
}

export async function registerBackendClient(
  authStore: AuthStore,
  input: RegisterBackendClientInput,
): Promise<RegisteredBackendClient> {
  const alg = input.alg ?? 'ES384';
  if (alg !== 'ES384' && alg !== 'RS384') {
    throw new ClientRegistrationError('alg must be ES384 or RS384');
  }
  if (input.tenant.trim() === '') {
    throw new ClientRegistrationError('tenant is required');
  }
  const scopes = validateRegisteredScopes(input.scope);
  if (!scopes.ok) {
    throw new ClientRegistrationError(scopes.message);
  }
  const { privateJwk, jwks } = await generateClientKey(alg);

  const clientId = randomUUID();
  const name = input.name?.trim() || undefined;
  const record: ClientRecord = {
    clientId,
    tenant: input.tenant,
    ...(name === undefined ? {} : { name }),
    scope: scopes.scope,
    jwks: { keys: jwks.keys.map((k) => ({ ...k })) },
    createdAt: input.now.toISOString(),
  };
  await authStore.createClient(record);
  return clientFile(record, alg, privateJwk, input);
}

/** A new key pair for a client: the private JWK for its operator, the public JWK Set to store. */
async function generateClientKey(
  alg: ClientAssertionAlg,
): Promise<{ privateJwk: JWK; jwks: { keys: JWK[] } }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwkRaw = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwkRaw, 'sha256');
  const publicJwk: JWK = { ...publicJwkRaw, kid, alg, use: 'sig' };
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { privateJwk, jwks: { keys: [publicJwk] } };
}

/** What the operator receives: everything a SMART Backend Services client needs, private key included. */
function clientFile(
  record: ClientRecord,
  alg: ClientAssertionAlg,
  privateJwk: JWK,
  urls: Pick<RegisterBackendClientInput, 'publicUrl' | 'tokenUrl' | 'fhirBaseUrl'>,
): RegisteredBackendClient {
  return {
    client_id: record.clientId,
    tenant: record.tenant,
    ...(record.name === undefined ? {} : { name: record.name }),
    scope: record.scope,
    token_url: urls.tokenUrl ?? tokenUrlFor(urls.publicUrl),
    fhir_base_url: urls.fhirBaseUrl ?? fhirBaseUrlFor(urls.publicUrl),
    alg,
    jwk: privateJwk,
    jwks: { keys: record.jwks.keys.map((k) => ({ ...k })) },
  };
}

export interface RotateClientKeyInput {
  /** Default ES384. */
  readonly alg?: ClientAssertionAlg;
  readonly publicUrl: string;
  readonly tokenUrl?: string;
  readonly fhirBaseUrl?: string;
}

/**
 * Replaces a client's key pair (`dripline client rotate-key`). The old key stops at once: its
 * assertions are refused, and access tokens it obtained stop working (token-service.ts checks the
 * key a token was obtained with against the registration on every use); the new key works as soon
 * as this returns. A disabled client stays disabled. Returns the new client file.
 */
export async function rotateClientKey(
  registry: ClientRegistry,
  clientId: string,
  input: RotateClientKeyInput,
): Promise<RegisteredBackendClient> {
  const alg = input.alg ?? 'ES384';
  if (alg !== 'ES384' && alg !== 'RS384') {
    throw new ClientRegistrationError('alg must be ES384 or RS384');
  }
  const { privateJwk, jwks } = await generateClientKey(alg);
  const updated = await registry.updateClient(clientId, { jwks: { keys: jwks.keys.map((k) => ({ ...k })) } });
  if (!updated) {
    throw new ClientRegistrationError(`unknown client "${clientId}"`);
  }
  return clientFile(updated, alg, privateJwk, input);
}

/** Disables a client: no new tokens, and its unexpired access tokens stop working at once. */
export async function disableClient(registry: ClientRegistry, clientId: string): Promise<ClientRecord> {
  const updated = await registry.updateClient(clientId, { disabled: true });
  if (!updated) {
    throw new ClientRegistrationError(`unknown client "${clientId}"`);
  }
  return updated;
}
