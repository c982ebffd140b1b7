/**
 * Client registration shared by the sandbox parties (EHR, payer): each has its own authorization
 * server and registry; this is how a caller (Dripline, a test, the standalone scripts) registers a
 * SMART Backend Services client with a public JWKS there.
 */
import { randomUUID } from 'node:crypto';
import { validateRegisteredScopes } from '../auth/scopes.ts';
import type { AuthStore } from '../store/port.ts';

export interface ClientRegistration {
  readonly jwks: { readonly keys: readonly object[] };
  readonly scope: string;
  readonly clientId?: string;
}

export async function registerSandboxClient(
  authStore: AuthStore,
  tenant: string,
  input: ClientRegistration,
  now: Date,
): Promise<string> {
  const scopes = validateRegisteredScopes(input.scope);
  if (!scopes.ok) {
    throw new Error(`invalid scope: ${scopes.message}`);
  }
  if (!Array.isArray(input.jwks.keys) || input.jwks.keys.length === 0) {
    throw new Error('jwks must hold at least one public key');
  }
  if (input.jwks.keys.some((k) => 'd' in k)) {
    throw new Error('jwks must hold public keys only');
  }
  const clientId = input.clientId ?? randomUUID();
  await authStore.createClient({
    clientId,
    tenant,
    scope: scopes.scope,
    jwks: { keys: input.jwks.keys.map((k) => ({ ...(k as Record<string, unknown>) })) },
    createdAt: now.toISOString(),
  });
  return clientId;
}
