/**
 * MongoDB adapter of the storage port (src/store/port.ts), on the official `mongodb` driver.
 *
 * REQUIREMENT: Dripline's MongoDB store needs a REPLICA SET (or a sharded cluster). Every resource
 * write stores the current version, its history row and its identifier claims in one
 * multi-document transaction, and MongoDB only has transactions on replica sets. A single-node
 * replica set is fine:
 *
 *   mongod --replSet rs0 --dbpath /data/db     # then once: mongosh --eval 'rs.initiate()'
 *   MONGODB_URL='mongodb://localhost:27017/?replicaSet=rs0'
 *
 * `openMongoStore` checks this with the `hello` command and refuses a standalone server.
 * MongoDB 4.4 or newer (transactions that create index entries, `allowDiskUse` on find).
 *
 * The adapter, by part (as ../sqlite/ is split):
 * - connection.ts:  client options, the replica-set check, the transaction runner
 * - collections.ts: documents, collections and indexes (created at open)
 * - resources.ts:   ResourceStore (versioned writes, reads, history, search, reindex)
 * - jobs.ts:        JobQueue
 * - auth.ts:        client registry, jti replay cache, settings
 * - sequences.ts:   durable counters
 * - query.ts:       port queries → MongoDB filters and sorts; search fields
 *
 * Defaults (each can be overridden in the connection string): writeConcern majority, readConcern
 * majority, retryable reads and writes. Transactions use snapshot read concern, majority writes,
 * primary reads.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { Store } from '../port.ts';
import { MongoClientRegistry } from './auth.ts';
import { ensureCollections } from './collections.ts';
import { clientOptions, REPLICA_SET_REQUIRED, supportsTransactions } from './connection.ts';
import { MongoJobQueue } from './jobs.ts';
import { MongoResourceStore, reindexIfNeeded } from './resources.ts';
import { MongoSequenceStore } from './sequences.ts';

export interface MongoStoreOptions {
  /** Connection string, e.g. `mongodb://localhost:27017/?replicaSet=rs0`. */
  readonly url: string;
  /** Database name. Default `dripline`. */
  readonly dbName?: string;
  /** Clock for meta.lastUpdated and job timestamps (tests). Default `new Date()`. */
  readonly now?: () => Date;
  /** Resource id generator. Default `randomUUID`. */
  readonly generateId?: () => string;
  /** Progress of a reindex at open (search parameters changed since the data was indexed). */
  readonly onReindexProgress?: (done: number, total: number) => void;
}

export async function openMongoStore(options: MongoStoreOptions): Promise<Store> {
  const client = new MongoClient(options.url, clientOptions(options.url));
  await client.connect();
  try {
    const hello = await client.db('admin').command({ hello: 1 });
    if (!supportsTransactions(hello)) {
      throw new Error(REPLICA_SET_REQUIRED);
    }
    const db = client.db(options.dbName ?? 'dripline');
    const collections = await ensureCollections(db);
    await reindexIfNeeded(collections, options.onReindexProgress);
    const now = options.now ?? (() => new Date());
    const jobs = new MongoJobQueue(collections.jobs, now);
    const resources = new MongoResourceStore({
      client,
      collections,
      jobs,
      now,
      generateId: options.generateId ?? randomUUID,
    });
    return {
      kind: 'mongodb',
      resources,
      // Each event an AuditEvent document with its index entries, as any create.
      auditLog: {
        async append(tenant, events): Promise<void> {
          await resources.writeBatch(
            tenant,
            events.map((resource) => ({ op: 'create' as const, resource, options: { id: resource.id } })),
          );
        },
      },
      jobs,
      auth: new MongoClientRegistry(collections),
      sequences: new MongoSequenceStore(collections.sequences),
      async ping(): Promise<void> {
        await db.command({ ping: 1 });
      },
      async close(): Promise<void> {
        await client.close();
      },
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
