/**
 * The app's server-side state: launches in progress (state, nonce, PKCE verifier; single use,
 * ten minutes) and signed-in sessions (the person, their role and tenant, the launch context, the
 * EHR's token, a CSRF token; 30 minutes idle, 8 hours at most). The browser holds only a random
 * session id in a cookie; EHR tokens never leave the server.
 *
 * In memory: a restart signs everyone out (the app then says the session expired and the person
 * launches again from the EHR). Several Dripline processes behind one address need sticky sessions.
 */
import { randomBytes } from 'node:crypto';
import type { AppRole } from '../config/config.ts';

export interface PendingLaunch {
  readonly tenant: string;
  readonly iss: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** The EHR's launch id (EHR launch); absent for a standalone launch. */
  readonly launch?: string;
  readonly expiresAt: number;
}

export interface WebSession {
  readonly id: string;
  readonly tenant: string;
  readonly iss: string;
  /** The person, relative to `iss` ("Practitioner/123") or absolute when elsewhere. */
  readonly fhirUser: string;
  readonly name: string;
  readonly role: AppRole;
  /** Launch context, as Dripline's own references (the EHR's ids: ingest keeps them). */
  readonly patient?: string;
  readonly encounter?: string;
  readonly csrf: string;
  readonly ehrAccessToken: string;
  readonly createdAt: number;
  lastSeen: number;
}

export const LAUNCH_TTL_MS = 10 * 60_000;
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 8 * 60 * 60_000;
const MAX_PENDING = 10_000;

export const randomToken = (): string => randomBytes(32).toString('base64url');

export class SessionStore {
  readonly #pending = new Map<string, PendingLaunch>();
  readonly #sessions = new Map<string, WebSession>();
  readonly #now: () => Date;

  constructor(now: () => Date) {
    this.#now = now;
  }

  /** Remembers a launch in progress; returns the id its cookie carries. */
  beginLaunch(launch: Omit<PendingLaunch, 'expiresAt'>): string {
    this.#sweep();
    if (this.#pending.size >= MAX_PENDING) {
      // Oldest first: a flood of unfinished launches cannot grow memory without bound.
      const oldest = this.#pending.keys().next().value;
      if (oldest !== undefined) {
        this.#pending.delete(oldest);
      }
    }
    const id = randomToken();
    this.#pending.set(id, { ...launch, expiresAt: this.#now().getTime() + LAUNCH_TTL_MS });
    return id;
  }

  /** The launch in progress, once: a replayed callback finds nothing. */
  takeLaunch(id: string): PendingLaunch | undefined {
    const found = this.#pending.get(id);
    this.#pending.delete(id);
    return found && found.expiresAt > this.#now().getTime() ? found : undefined;
  }

  create(session: Omit<WebSession, 'id' | 'csrf' | 'createdAt' | 'lastSeen'>): WebSession {
    this.#sweep();
    const at = this.#now().getTime();
    const created: WebSession = {
      ...session,
      id: randomToken(),
      csrf: randomToken(),
      createdAt: at,
      lastSeen: at,
    };
    this.#sessions.set(created.id, created);
    return created;
  }

  /** The live session with this id (touching it), or undefined when unknown, idle too long or too old. */
  get(id: string | undefined): WebSession | undefined {
    if (id === undefined) {
      return undefined;
    }
    const found = this.#sessions.get(id);
    const at = this.#now().getTime();
    if (!found) {
      return undefined;
    }
    if (at - found.lastSeen > SESSION_IDLE_MS || at - found.createdAt > SESSION_MAX_MS) {
      this.#sessions.delete(id);
      return undefined;
    }
    found.lastSeen = at;
    return found;
  }

  end(id: string | undefined): void {
    if (id !== undefined) {
      this.#sessions.delete(id);
    }
  }

  #sweep(): void {
    const at = this.#now().getTime();
    for (const [id, p] of this.#pending) {
      if (p.expiresAt <= at) {
        this.#pending.delete(id);
      }
    }
    for (const [id, s] of this.#sessions) {
      if (at - s.lastSeen > SESSION_IDLE_MS || at - s.createdAt > SESSION_MAX_MS) {
        this.#sessions.delete(id);
      }
    }
  }
}
