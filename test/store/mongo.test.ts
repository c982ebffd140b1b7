// The storage contract suite against MongoDB. Runs only when MONGODB_URL points at a replica set
// (a single-node `mongod --replSet rs0` after `rs.initiate()` is enough), e.g.
//   MONGODB_URL='mongodb://127.0.0.1:27017/?replicaSet=rs0' npm test -- test/store/mongo
// Every store the suite opens gets its own database (dripline_test_<run>_<n>); all are dropped
// after the run.
import { afterAll } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { openMongoStore } from '../../src/store/mongo/index.ts';
import type { Store } from '../../src/store/port.ts';
import { describeStoreContract } from './contract.ts';

const url = process.env['MONGODB_URL'];
const run = `${Date.now().toString(36)}_${process.pid.toString(36)}`;
const databases: string[] = [];

async function open(): Promise<Store | undefined> {
  if (!url) {
    return undefined;
  }
  const dbName = `dripline_test_${run}_${databases.length + 1}`;
  databases.push(dbName);
  return openMongoStore({ url, dbName });
}

afterAll(async () => {
  if (!url || databases.length === 0) {
    return;
  }
  const client = new MongoClient(url);
  try {
    for (const name of databases) {
      await client.db(name).dropDatabase();
    }
  } finally {
    await client.close();
  }
});

describeStoreContract(
  'mongodb',
  open,
  url ? undefined : 'MONGODB_URL not set: MongoDB contract suite skipped',
);
