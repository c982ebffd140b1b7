/** OAuth client registry, client-assertion jti replay cache and shared settings over SQLite. */
/* eslint-disable @typescript-eslint/require-await -- node:sqlite is synchronous: these async methods exist to
   satisfy the port and turn throws into rejections; no transaction ever spans an await. */
import { conflict, OperationOutcomeError } from '@medplum/core';
import type { ClientRecord, ClientRegistry, ClientUpdate, TenantId } from '../port.ts';
import type { SqliteConnection } from './db.ts';
import { requireInstant } from './values.ts';

/** Expired jtis are purged table-wide on every PURGE_EVERY-th recordJti call. */
const PURGE_EVERY = 256;

const SQL = {
  insertClient:
    'INSERT INTO oauth_clients (client_id, tenant, json, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING',
  getClient: 'SELECT json FROM oauth_clients WHERE client_id = ?',
  dataVersion: 'PRAGMA data_version',
  listClients: 'SELECT json FROM oauth_clients ORDER BY created_at, client_id',
  listTenantClients: 'SELECT json FROM oauth_clients WHERE tenant = ? ORDER BY created_at, client_id',
  updateClient: 'UPDATE oauth_clients SET json = ? WHERE client_id = ?',
  dropExpiredJti: 'DELETE FROM jti_seen WHERE client_id = ? AND jti = ? AND expires_at <= ?',
  insertJti: 'INSERT INTO jti_seen (client_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  purgeJtis: 'DELETE FROM jti_seen WHERE expires_at <= ?',
  getSetting: 'SELECT value FROM settings WHERE key = ?',
  insertSetting: 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
} as const;

export class SqliteAuthStore implements ClientRegistry {
  readonly #conn: SqliteConnection;
  #jtiCalls = 0;
  /** Client changes made through this connection (PRAGMA data_version does not count them). */
  #ownClientChanges = 0;
  /** This turn's reading of the data version (`clientRegistryVersion`). */
  #dataVersion: string | undefined;

  constructor(conn: SqliteConnection) {
    this.#conn = conn;
  }

  async createClient(client: ClientRecord): Promise<void> {
    this.#ownClientChanges++;
    const { changes } = this.#conn.transaction(() =>
      this.#conn.run(
        SQL.insertClient,
        client.clientId,
        client.tenant,
        JSON.stringify(client),
        client.createdAt,
      ),
    );
    if (changes !== 1) {
      throw new OperationOutcomeError(conflict(`Client ${client.clientId} already exists`));
    }
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const row = this.#conn.get(SQL.getClient, clientId);
    return row ? (JSON.parse(String(row['json'])) as ClientRecord) : undefined;
  }

  async listClients(tenant?: TenantId): Promise<ClientRecord[]> {
    const rows =
      tenant === undefined ? this.#conn.all(SQL.listClients) : this.#conn.all(SQL.listTenantClients, tenant);
    return rows.map((row) => JSON.parse(String(row['json'])) as ClientRecord);
  }

  /**
   * `PRAGMA data_version` (https://sqlite.org/pragma.html#pragma_data_version) changes whenever
   * another connection, e.g. `dripline client disable` in another process, commits anything; this
   * connection's own client changes are counted beside it. A single server process thus keeps its
   * clients' registrations between requests; with other writers on the file the value moves with
   * every commit of theirs and registrations are simply read again.
   *
   * The data version is read once per turn of the event loop: every request whose bytes arrived
   * together (one poll of the sockets) is checked against the same reading, and the next turn reads
   * it again. Why: it was ~5 % of a FHIR read's CPU (a statement, with its own read transaction, per
   * request). What it gives up is nothing a client could see: a change committed elsewhere during
   * a turn is as concurrent with that turn's requests as one committed just after it, and any
   * request that arrives after the change is in a later turn.
   */
  async clientRegistryVersion(): Promise<string> {
    if (this.#dataVersion === undefined) {
      this.#dataVersion = String(this.#conn.get(SQL.dataVersion)?.['data_version']);
      setImmediate(() => {
        this.#dataVersion = undefined;
      });
    }
    return `${this.#dataVersion}:${String(this.#ownClientChanges)}`;
  }

  async updateClient(clientId: string, update: ClientUpdate): Promise<ClientRecord | undefined> {
    this.#ownClientChanges++;
    return this.#conn.transaction(() => {
      const row = this.#conn.get(SQL.getClient, clientId);
      if (!row) {
        return undefined;
      }
      const current = JSON.parse(String(row['json'])) as ClientRecord;
      const next: ClientRecord = {
        ...current,
        ...(update.disabled !== undefined ? { disabled: update.disabled } : {}),
        ...(update.jwks !== undefined ? { jwks: { keys: update.jwks.keys.map((k) => ({ ...k })) } } : {}),
      };
      this.#conn.run(SQL.updateClient, JSON.stringify(next), clientId);
      return next;
    });
  }

  async recordJti(clientId: string, jti: string, expiresAt: string, now: Date): Promise<boolean> {
    const expires = requireInstant(expiresAt, 'jti expiry');
    const nowIso = now.toISOString();
    const purge = ++this.#jtiCalls % PURGE_EVERY === 0;
    return this.#conn.transaction(() => {
      if (purge) {
        this.#conn.run(SQL.purgeJtis, nowIso);
      } else {
        // An entry that has expired no longer blocks its jti.
        this.#conn.run(SQL.dropExpiredJti, clientId, jti, nowIso);
      }
      return this.#conn.run(SQL.insertJti, clientId, jti, expires).changes === 1;
    });
  }

  async getOrInitSetting(key: string, init: () => string): Promise<string> {
    const existing = this.#conn.get(SQL.getSetting, key);
    if (existing) {
      return String(existing['value']);
    }
    const candidate = init();
    return this.#conn.transaction(() => {
      this.#conn.run(SQL.insertSetting, key, candidate);
      return String(this.#conn.get(SQL.getSetting, key)?.['value']);
    });
  }
}
