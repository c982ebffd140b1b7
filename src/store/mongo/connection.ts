/**
 * Connecting to MongoDB and running transactions: the client options Dripline defaults to, the
 * replica-set check (transactions need a replica set or a mongos), and the transaction runner
 * every resource write goes through. Separate from the collections and the port's methods because
 * it is about the server and the driver, not about what Dripline stores.
 */
import { conflict, OperationOutcomeError } from '@medplum/core';
import { MongoError, WriteConcern } from 'mongodb';
import type { ClientSession, Document, MongoClient, MongoClientOptions, TransactionOptions } from 'mongodb';

export const REPLICA_SET_REQUIRED =
  "Dripline's MongoDB store requires a replica set or a sharded cluster (it writes with " +
  'multi-document transactions), but the server is a standalone mongod. Start mongod with ' +
  '--replSet rs0, run rs.initiate() once (a single-node replica set is fine), and connect with ' +
  "'?replicaSet=rs0' in MONGODB_URL.";

const TRANSACTION_OPTIONS: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: new WriteConcern('majority'),
  readPreference: 'primary',
};

/** How many times a transaction that lost a unique-key race (E11000) is re-run from the start. */
const DUPLICATE_KEY_RETRIES = 5;

export function isDuplicateKeyError(err: unknown): boolean {
  return err instanceof MongoError && (err.code === 11000 || err.code === 11001);
}

/** True when the connection string already sets `name` (case-insensitive, as MongoDB URIs are). */
export function uriHasOption(url: string, name: string): boolean {
  const query = url.split('?')[1];
  if (!query) {
    return false;
  }
  const wanted = name.toLowerCase();
  return [...new URLSearchParams(query).keys()].some((key) => key.toLowerCase() === wanted);
}

/** Client options: our defaults, unless the connection string sets them. */
export function clientOptions(url: string): MongoClientOptions {
  const options: MongoClientOptions = { ignoreUndefined: true };
  if (!uriHasOption(url, 'w')) {
    options.writeConcern = new WriteConcern('majority');
  }
  if (!uriHasOption(url, 'readConcernLevel')) {
    options.readConcern = { level: 'majority' };
  }
  if (!uriHasOption(url, 'retryWrites')) {
    options.retryWrites = true;
  }
  if (!uriHasOption(url, 'retryReads')) {
    options.retryReads = true;
  }
  return options;
}

/** True when a `hello` reply comes from a replica-set member or a mongos (transactions available). */
export function supportsTransactions(hello: Document): boolean {
  return typeof hello['setName'] === 'string' || hello['msg'] === 'isdbgrid';
}

/**
 * Runs `fn` in one multi-document transaction. The driver re-runs it on transient errors
 * (write conflicts with a concurrent transaction); a transaction that lost a unique-key race
 * (E11000, e.g. two upserts creating the same id) is re-run here, and its re-reads then see
 * the winner.
 */
export async function runTransaction<T>(
  client: MongoClient,
  fn: (session: ClientSession) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const session = client.startSession();
    try {
      return await session.withTransaction(() => fn(session), TRANSACTION_OPTIONS);
    } catch (err) {
      if (isDuplicateKeyError(err)) {
        if (attempt < DUPLICATE_KEY_RETRIES) {
          continue;
        }
        throw new OperationOutcomeError(conflict('Concurrent write of the same key'), { cause: err });
      }
      throw err;
    } finally {
      await session.endSession();
    }
  }
}
