/** OAuth client registry, client-assertion jti replay cache and shared settings over MongoDB. */
import { conflict, OperationOutcomeError } from '@medplum/core';
import type { ClientRecord, ClientRegistry, ClientUpdate, TenantId } from '../port.ts';
import type { ClientDoc, Collections } from './collections.ts';
import { isDuplicateKeyError } from './connection.ts';
import { isoInstant } from './values.ts';

function toClientRecord(doc: ClientDoc): ClientRecord {
  return {
    clientId: doc._id,
    tenant: doc.tenant,
    ...(doc.name !== undefined && doc.name !== null ? { name: doc.name } : {}),
    scope: doc.scope,
    jwks: doc.jwks,
    createdAt: doc.createdAt,
    ...(doc.disabled !== undefined && doc.disabled !== null ? { disabled: doc.disabled } : {}),
  };
}

export class MongoClientRegistry implements ClientRegistry {
  readonly #c: Pick<Collections, 'clients' | 'jti' | 'settings'>;

  constructor(collections: Pick<Collections, 'clients' | 'jti' | 'settings'>) {
    this.#c = collections;
  }

  async createClient(client: ClientRecord): Promise<void> {
    const doc: ClientDoc = {
      _id: client.clientId,
      tenant: client.tenant,
      ...(client.name !== undefined ? { name: client.name } : {}),
      scope: client.scope,
      jwks: client.jwks,
      createdAt: client.createdAt,
      ...(client.disabled !== undefined ? { disabled: client.disabled } : {}),
    };
    try {
      await this.#c.clients.insertOne(doc);
    } catch (err) {
      if (isDuplicateKeyError(err)) {
        throw new OperationOutcomeError(conflict(`Client ${client.clientId} already exists`), { cause: err });
      }
      throw err;
    }
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const doc = await this.#c.clients.findOne({ _id: clientId });
    return doc ? toClientRecord(doc) : undefined;
  }

  /** No cheap change signal here: every check reads the registration (one keyed find). */
  clientRegistryVersion(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  async listClients(tenant?: TenantId): Promise<ClientRecord[]> {
    const docs = await this.#c.clients
      .find(tenant === undefined ? {} : { tenant }, { sort: { createdAt: 1, _id: 1 } })
      .toArray();
    return docs.map(toClientRecord);
  }

  async updateClient(clientId: string, update: ClientUpdate): Promise<ClientRecord | undefined> {
    const set: Partial<ClientDoc> = {
      ...(update.disabled !== undefined ? { disabled: update.disabled } : {}),
      ...(update.jwks !== undefined ? { jwks: { keys: update.jwks.keys.map((k) => ({ ...k })) } } : {}),
    };
    const doc =
      Object.keys(set).length === 0
        ? await this.#c.clients.findOne({ _id: clientId })
        : await this.#c.clients.findOneAndUpdate(
            { _id: clientId },
            { $set: set },
            { returnDocument: 'after' },
          );
    return doc ? toClientRecord(doc) : undefined;
  }

  async recordJti(clientId: string, jti: string, expiresAt: string, now: Date): Promise<boolean> {
    const expires = isoInstant(expiresAt, 'expiresAt');
    try {
      await this.#c.jti.insertOne({ clientId, jti, expiresAt: expires });
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) {
        throw err;
      }
    }
    // Seen before. An entry already expired (the TTL monitor runs only every 60 s) does not count:
    // take it over atomically, so only one of two concurrent callers wins.
    const renewed = await this.#c.jti.updateOne(
      { clientId, jti, expiresAt: { $lte: now } },
      { $set: { expiresAt: expires } },
    );
    return renewed.modifiedCount === 1;
  }

  async getOrInitSetting(key: string, init: () => string): Promise<string> {
    const found = await this.#c.settings.findOne({ _id: key });
    if (found) {
      return found.value;
    }
    try {
      await this.#c.settings.updateOne({ _id: key }, { $setOnInsert: { value: init() } }, { upsert: true });
    } catch (err) {
      // Two first writers raced on the _id: the other one won, read its value below.
      if (!isDuplicateKeyError(err)) {
        throw err;
      }
    }
    const doc = await this.#c.settings.findOne({ _id: key });
    if (!doc) {
      throw new Error(`Setting ${key} vanished after initialization`);
    }
    return doc.value;
  }
}
