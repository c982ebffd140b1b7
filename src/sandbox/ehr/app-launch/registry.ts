/**
 * What the sandbox EHR remembers for SMART App Launch (SMART App Launch 2.x, "App Launch"):
 * registered apps (confidential asymmetric clients with their redirect URIs and launch URL),
 * launch contexts made by the chart page, and authorization codes. In memory, single use, short
 * lived, like a real EHR's authorization server.
 */
import { randomBytes } from 'node:crypto';
import type { AuthStore } from '../../../store/port.ts';
import { SANDBOX_EHR_TENANT } from '../auth-store.ts';

export interface AppRegistration {
  readonly clientId: string;
  readonly redirectUris: readonly string[];
  /** Where the chart's button opens the app (`?iss=&launch=` are added). */
  readonly launchUrl: string;
  /** Scopes the app may be granted (space separated; `user/*.rs` covers every `user/Type.rs`). */
  readonly scope: string;
  readonly name: string;
}

export interface LaunchContext {
  /** "Practitioner/<id>" of the person who launched. */
  readonly user: string;
  readonly patient?: string;
  readonly encounter?: string;
  readonly expiresAt: number;
}

export interface AuthorizationCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly scope: string;
  readonly user: string;
  readonly patient?: string;
  readonly encounter?: string;
  readonly nonce?: string;
  readonly expiresAt: number;
}

/** Launch contexts last ten minutes, codes one (RFC 6749 §4.1.2: "a maximum lifetime of 10 minutes"). */
const LAUNCH_MS = 10 * 60_000;
const CODE_MS = 60_000;

const token = (): string => randomBytes(32).toString('base64url');

export class AppLaunchRegistry {
  readonly #apps = new Map<string, AppRegistration>();
  readonly #launches = new Map<string, LaunchContext>();
  readonly #codes = new Map<string, AuthorizationCode>();
  readonly #authStore: AuthStore;
  readonly #now: () => Date;

  constructor(authStore: AuthStore, now: () => Date) {
    this.#authStore = authStore;
    this.#now = now;
  }

  /** Registers an app; its public keys authenticate its token requests (private_key_jwt). */
  async register(input: AppRegistration & { readonly jwks: { keys: object[] } }): Promise<void> {
    if (input.jwks.keys.some((k) => 'd' in k)) {
      throw new Error('jwks must hold public keys only');
    }
    await this.#authStore.createClient({
      clientId: input.clientId,
      tenant: SANDBOX_EHR_TENANT,
      name: input.name,
      scope: input.scope,
      jwks: { keys: input.jwks.keys.map((k) => ({ ...(k as Record<string, unknown>) })) },
      createdAt: this.#now().toISOString(),
    });
    this.#apps.set(input.clientId, {
      clientId: input.clientId,
      redirectUris: [...input.redirectUris],
      launchUrl: input.launchUrl,
      scope: input.scope,
      name: input.name,
    });
  }

  app(clientId: string): AppRegistration | undefined {
    return this.#apps.get(clientId);
  }

  apps(): AppRegistration[] {
    return [...this.#apps.values()];
  }

  /** A launch context for the chart's button: an opaque id the app echoes to the authorize endpoint. */
  createLaunch(context: Omit<LaunchContext, 'expiresAt'>): string {
    this.#sweep();
    const id = token();
    this.#launches.set(id, { ...context, expiresAt: this.#now().getTime() + LAUNCH_MS });
    return id;
  }

  launch(id: string): LaunchContext | undefined {
    const found = this.#launches.get(id);
    return found && found.expiresAt > this.#now().getTime() ? found : undefined;
  }

  issueCode(code: Omit<AuthorizationCode, 'expiresAt'>): string {
    this.#sweep();
    const id = token();
    this.#codes.set(id, { ...code, expiresAt: this.#now().getTime() + CODE_MS });
    return id;
  }

  /** The code's grant, once: a second redemption (or an expired code) finds nothing. */
  redeemCode(id: string): AuthorizationCode | undefined {
    const found = this.#codes.get(id);
    this.#codes.delete(id);
    return found && found.expiresAt > this.#now().getTime() ? found : undefined;
  }

  #sweep(): void {
    const at = this.#now().getTime();
    for (const [id, l] of this.#launches) {
      if (l.expiresAt <= at) {
        this.#launches.delete(id);
      }
    }
    for (const [id, c] of this.#codes) {
      if (c.expiresAt <= at) {
        this.#codes.delete(id);
      }
    }
  }
}

/**
 * The scopes granted for a request: each requested scope the registration allows. `user/*.rs`
 * (or `user/*.read`) in the registration covers any `user/<Type>.rs|.r|.s|.read`; `launch`,
 * `openid`, `fhirUser` and `launch/...` must be registered as such.
 */
export function grantScopes(requested: string, registered: string): string {
  const allowed = new Set(registered.split(/\s+/).filter(Boolean));
  const wildcardRead = allowed.has('user/*.rs') || allowed.has('user/*.read');
  const granted = requested
    .split(/\s+/)
    .filter(Boolean)
    .filter((s) => allowed.has(s) || (wildcardRead && /^user\/[A-Za-z*]+\.(rs|r|s|read)$/.test(s)));
  return [...new Set(granted)].join(' ');
}
