/**
 * What the MongoDB adapter keeps and how it is indexed: the document shapes, collection names and
 * index specifications, and their creation at open (the MongoDB counterpart of
 * ../sqlite/schema.ts).
 *
 * Collections (all documents keyed by tenant first):
 * - resources:   current version of each resource + its search fields (see query.ts), unique on
 *                (tenant, type, id); multikey compound indexes on the search arrays.
 * - history:     every version, insert-only, unique on (tenant, type, id, version).
 * - identifiers: one claim document per (tenant, type, system, value) that a write carried. Each
 *                write upserts the claims of its identifiers inside its transaction, so two
 *                transactions that touch the same identifier conflict (one is retried): this is
 *                what makes conditional create atomic. The truth of "who has the identifier" is
 *                the `ident` array of the current resources.
 * - jobs:        durable queue, unique on (tenant, queue, key); leased by one atomic
 *                findOneAndUpdate per job, so several Dripline processes can share one database.
 * - oauth_clients, jti (TTL on expiresAt), settings.
 * - sequences:   durable counters, one document per (tenant, name), incremented by one atomic
 *                findOneAndUpdate (./sequences.ts).
 */
import { MongoError } from 'mongodb';
import type { Collection, Db, IndexDescription, ObjectId } from 'mongodb';
import type { JobState, StoredResource } from '../port.ts';
import type { SearchFields } from './query.ts';
import type { SequenceDoc } from './sequences.ts';

export interface ResourceDoc extends SearchFields {
  tenant: string;
  type: string;
  id: string;
  version: number;
  lastUpdated: string;
  resource: StoredResource;
  /** Set by a batch's version check (port.ts VersionCheck), so a concurrent write conflicts with it. */
  checkedBy?: string;
}

export interface HistoryDoc {
  tenant: string;
  type: string;
  id: string;
  version: number;
  lastUpdated: string;
  resource: StoredResource;
}

export interface IdentifierClaimDoc {
  tenant: string;
  type: string;
  system: string;
  value: string;
  /** The resource of the last write that carried this identifier (informational). */
  lastId: string;
  updatedAt: string;
}

export interface JobDoc {
  _id: string;
  tenant: string;
  queue: string;
  key: string;
  /** JSON text, so any payload round-trips exactly. */
  payload: string;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  runAt: Date;
  leaseToken?: string;
  leaseExpiresAt?: Date;
  lastError?: string;
  /** What the job, deferred, waits on (JobWait.waitKey); absent otherwise. */
  waitKey?: string;
  createdAt: Date;
  updatedAt: Date;
  /**
   * Tie-breaker for "oldest first" among jobs created in the same millisecond: an ObjectId's
   * counter increases with every id a process generates, so one process's jobs keep their order.
   */
  seq: ObjectId;
}

export interface ClientDoc {
  _id: string;
  tenant: string;
  name?: string;
  scope: string;
  jwks: { keys: Record<string, unknown>[] };
  createdAt: string;
  disabled?: boolean;
}

export interface JtiDoc {
  clientId: string;
  jti: string;
  expiresAt: Date;
}

export interface SettingDoc {
  _id: string;
  value: string;
}

export interface Collections {
  sequences: Collection<SequenceDoc>;
  resources: Collection<ResourceDoc>;
  history: Collection<HistoryDoc>;
  identifiers: Collection<IdentifierClaimDoc>;
  jobs: Collection<JobDoc>;
  clients: Collection<ClientDoc>;
  jti: Collection<JtiDoc>;
  settings: Collection<SettingDoc>;
}

const INDEXES: Readonly<Record<keyof Collections, IndexDescription[]>> = {
  resources: [
    { key: { tenant: 1, type: 1, id: 1 }, name: 'resource_key', unique: true },
    { key: { tenant: 1, type: 1, lastUpdated: 1 }, name: 'resource_last_updated' },
    { key: { tenant: 1, type: 1, 'tok.c': 1, 'tok.v': 1, 'tok.s': 1 }, name: 'search_token' },
    { key: { tenant: 1, type: 1, 'ref.c': 1, 'ref.v': 1 }, name: 'search_reference' },
    { key: { tenant: 1, type: 1, 'date.c': 1, 'date.s': 1, 'date.e': 1 }, name: 'search_date' },
    { key: { tenant: 1, type: 1, 'str.c': 1, 'str.v': 1 }, name: 'search_string' },
    { key: { tenant: 1, type: 1, 'ident.v': 1, 'ident.s': 1 }, name: 'resource_identifier' },
  ],
  history: [{ key: { tenant: 1, type: 1, id: 1, version: 1 }, name: 'history_key', unique: true }],
  identifiers: [{ key: { tenant: 1, type: 1, system: 1, value: 1 }, name: 'identifier_key', unique: true }],
  jobs: [
    { key: { tenant: 1, queue: 1, key: 1 }, name: 'job_key', unique: true },
    { key: { queue: 1, state: 1, runAt: 1 }, name: 'job_ready' },
    { key: { queue: 1, state: 1, leaseExpiresAt: 1 }, name: 'job_leased' },
    { key: { tenant: 1, queue: 1, state: 1, createdAt: 1, seq: 1 }, name: 'job_list' },
    // Only deferred jobs carry a wait key: a partial index holds just them (JobQueue.wake).
    {
      key: { tenant: 1, queue: 1, waitKey: 1, state: 1, runAt: 1 },
      name: 'job_waiting',
      partialFilterExpression: { waitKey: { $exists: true } },
    },
  ],
  // oauth_clients and settings are keyed by _id (clientId / setting key).
  clients: [],
  jti: [
    { key: { clientId: 1, jti: 1 }, name: 'jti_key', unique: true },
    { key: { expiresAt: 1 }, name: 'jti_ttl', expireAfterSeconds: 0 },
  ],
  settings: [],
  // Keyed by _id (the JSON of [tenant, name]).
  sequences: [],
};

const COLLECTION_NAMES: Readonly<Record<keyof Collections, string>> = {
  resources: 'resources',
  history: 'history',
  identifiers: 'identifiers',
  jobs: 'jobs',
  clients: 'oauth_clients',
  jti: 'jti',
  settings: 'settings',
  sequences: 'sequences',
};

/** Creates the collections' indexes (idempotent: same names and specs every time). */
export async function ensureCollections(db: Db): Promise<Collections> {
  const collections: Collections = {
    resources: db.collection<ResourceDoc>(COLLECTION_NAMES.resources),
    history: db.collection<HistoryDoc>(COLLECTION_NAMES.history),
    identifiers: db.collection<IdentifierClaimDoc>(COLLECTION_NAMES.identifiers),
    jobs: db.collection<JobDoc>(COLLECTION_NAMES.jobs),
    clients: db.collection<ClientDoc>(COLLECTION_NAMES.clients),
    jti: db.collection<JtiDoc>(COLLECTION_NAMES.jti),
    settings: db.collection<SettingDoc>(COLLECTION_NAMES.settings),
    sequences: db.collection<SequenceDoc>(COLLECTION_NAMES.sequences),
  };
  // Collections must exist before a transaction writes to them (implicit creation inside a
  // transaction needs MongoDB >= 4.4 and is not allowed in every deployment).
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const name of Object.values(COLLECTION_NAMES)) {
    if (!existing.has(name)) {
      try {
        await db.createCollection(name);
      } catch (err) {
        // NamespaceExists (48): another process created it first.
        if (!(err instanceof MongoError && err.code === 48)) {
          throw err;
        }
      }
    }
  }
  for (const key of Object.keys(INDEXES) as (keyof Collections)[]) {
    const indexes = INDEXES[key];
    if (indexes.length > 0) {
      await db.collection(COLLECTION_NAMES[key]).createIndexes(indexes);
    }
  }
  return collections;
}
