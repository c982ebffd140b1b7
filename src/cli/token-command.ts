/**
 * Gets an access token the way any SMART Backend Services client would: discovery of nothing
 * Dripline-specific, just openid-client with private_key_jwt against the token endpoint.
 */
import * as oidc from 'openid-client';
import type { JWK } from 'jose';
import { importJWK } from 'jose/key/import';
import { datedBy } from '../auth/client-assertion.ts';

export interface ClientFile {
  readonly client_id: string;
  readonly token_url: string;
  readonly scope: string;
  readonly jwk: JWK & { alg?: string; kid?: string };
}

/**
 * `now`: the server's clock when it is not the system clock (a party of the sandbox day, on its
 * advancing clock, src/time/clock.ts): the assertion's iat, nbf and exp are dated by it, so the
 * server accepts it. Absent (any real deployment): the system clock.
 */
export async function requestBackendToken(
  client: ClientFile,
  scope?: string,
  now?: () => Date,
): Promise<{ access_token: string; expires_in?: number; scope?: string; token_type: string }> {
  const alg = client.jwk.alg ?? 'ES384';
  const key = await importJWK(client.jwk, alg);
  if (!(key instanceof CryptoKey)) {
    throw new Error('the client file does not hold a private key');
  }
  const tokenUrl = new URL(client.token_url);
  const issuer = new URL(tokenUrl.origin);
  const config = new oidc.Configuration(
    { issuer: issuer.href, token_endpoint: tokenUrl.href },
    client.client_id,
    {},
    oidc.PrivateKeyJwt(
      { key, kid: client.jwk.kid },
      {
        // SMART Backend Services: the assertion's aud is the token endpoint URL
        // (openid-client defaults to the issuer identifier).
        [oidc.modifyAssertion]: (_header, payload) => {
          payload.aud = tokenUrl.href;
          if (now) {
            datedBy(payload, now());
          }
        },
      },
    ),
  );
  if (tokenUrl.protocol === 'http:') {
    // Plain HTTP only for a local server (the sandbox); openid-client marks this opt-in as deprecated to make it stand out.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    oidc.allowInsecureRequests(config);
  }
  const response = await oidc.clientCredentialsGrant(config, { scope: scope ?? client.scope });
  return {
    access_token: response.access_token,
    token_type: response.token_type,
    ...(response.expires_in !== undefined ? { expires_in: response.expires_in } : {}),
    ...(response.scope !== undefined ? { scope: response.scope } : {}),
  };
}
