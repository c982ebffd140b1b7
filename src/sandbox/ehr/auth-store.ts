/**
 * The sandbox EHR's own client registry and settings, in memory. The sandbox plays an outside
 * party (an EHR), so it never shares Dripline's store: separate clients, separate signing key.
 */
import type { AuthStore, ClientRecord } from '../../store/port.ts';

/** Tenant recorded on every sandbox client (the EHR has one "organization"). */
export const SANDBOX_EHR_TENANT = 'sandbox-ehr';

export function createSandboxAuthStore(): AuthStore {
  const clients = new Map<string, ClientRecord>();
  const jtis = new Map<string, number>();
  const settings = new Map<string, string>();

  return {
    createClient(client: ClientRecord): Promise<void> {
      if (clients.has(client.clientId)) {
        return Promise.reject(new Error(`client ${client.clientId} already exists`));
      }
      clients.set(client.clientId, structuredClone(client));
      return Promise.resolve();
    },

    getClient(clientId: string): Promise<ClientRecord | undefined> {
      const client = clients.get(clientId);
      return Promise.resolve(client ? structuredClone(client) : undefined);
    },

    // No change signal: token checks read the registration every time.
    clientRegistryVersion(): Promise<undefined> {
      return Promise.resolve(undefined);
    },

    recordJti(clientId: string, jti: string, expiresAt: string, now: Date): Promise<boolean> {
      const nowMs = now.getTime();
      for (const [key, expires] of jtis) {
        if (expires <= nowMs) {
          jtis.delete(key);
        }
      }
      const key = `${clientId}\u0000${jti}`;
      if (jtis.has(key)) {
        return Promise.resolve(false);
      }
      jtis.set(key, new Date(expiresAt).getTime());
      return Promise.resolve(true);
    },

    getOrInitSetting(key: string, init: () => string): Promise<string> {
      let value = settings.get(key);
      if (value === undefined) {
        value = init();
        settings.set(key, value);
      }
      return Promise.resolve(value);
    },
  };
}
