// openMongoStore against a tiny fake MongoDB server speaking the wire protocol (OP_QUERY / OP_MSG):
// it answers `hello` like a standalone mongod (no setName, not a mongos) or like a replica-set
// member, so the replica-set check runs through the real driver without a real server.
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import { BSON } from 'mongodb';
import type { Document } from 'mongodb';
import { REPLICA_SET_REQUIRED } from '../../src/store/mongo/connection.ts';
import { openMongoStore } from '../../src/store/mongo/index.ts';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

interface FakeServer {
  readonly url: string;
  /** Command names received, in order. */
  readonly commands: string[];
  /** Full command documents received. */
  readonly documents: Document[];
  close(): Promise<void>;
}

/** A server whose every command gets `reply(commandName)`; `hello`/`isMaster` get the hello document. */
async function fakeServer(
  hello: Document,
  /** Answers a command itself (e.g. findAndModify); undefined falls through to the defaults. */
  reply?: (name: string, command: Document) => Document | undefined,
): Promise<FakeServer> {
  const commands: string[] = [];
  const documents: Document[] = [];
  const sockets = new Set<net.Socket>();
  let requestIds = 1;
  const answer = (command: Document): Document => {
    const name = Object.keys(command)[0] ?? '';
    commands.push(name);
    documents.push(command);
    if (name === 'hello' || name.toLowerCase() === 'ismaster') {
      return {
        ...hello,
        helloOk: true,
        isWritablePrimary: true,
        ismaster: true,
        maxBsonObjectSize: 16 * 1024 * 1024,
        maxMessageSizeBytes: 48_000_000,
        maxWriteBatchSize: 100_000,
        localTime: new Date(),
        logicalSessionTimeoutMinutes: 30,
        connectionId: 1,
        minWireVersion: 0,
        maxWireVersion: 21,
        readOnly: false,
        ok: 1,
      };
    }
    const custom = reply?.(name, command);
    if (custom) {
      return custom;
    }
    const ns = `${String(command['$db'])}.${String(command[name])}`;
    if (name === 'find' || name === 'aggregate') {
      return { cursor: { id: 0n, ns, firstBatch: [] }, ok: 1 };
    }
    if (name === 'insert') {
      return { n: (command['documents'] as unknown[] | undefined)?.length ?? 1, ok: 1 };
    }
    if (name === 'update') {
      return { n: 1, nModified: 1, ok: 1 };
    }
    if (name === 'listCollections') {
      return {
        cursor: { id: 0n, ns: `${String(command['$db'])}.$cmd.listCollections`, firstBatch: [] },
        ok: 1,
      };
    }
    return { ok: 1 };
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 16 && buffered.length >= buffered.readInt32LE(0)) {
        const length = buffered.readInt32LE(0);
        const message = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        const requestId = message.readInt32LE(4);
        const opCode = message.readInt32LE(12);
        if (opCode === OP_QUERY) {
          // flags(4) fullCollectionName(cstring) skip(4) return(4) query(BSON)
          const nameEnd = message.indexOf(0, 20);
          const query = BSON.deserialize(message.subarray(nameEnd + 9));
          const body = BSON.serialize(answer(query));
          const header = Buffer.alloc(36);
          header.writeInt32LE(36 + body.length, 0);
          header.writeInt32LE(requestIds++, 4);
          header.writeInt32LE(requestId, 8);
          header.writeInt32LE(OP_REPLY, 12);
          header.writeInt32LE(0, 16); // responseFlags
          header.writeBigInt64LE(0n, 20); // cursorID
          header.writeInt32LE(0, 28); // startingFrom
          header.writeInt32LE(1, 32); // numberReturned
          socket.write(Buffer.concat([header, body]));
        } else if (opCode === OP_MSG) {
          // flagBits(4) then section kind 0 (1 byte) + BSON body
          const command = BSON.deserialize(message.subarray(21, 21 + message.readInt32LE(21)));
          const body = BSON.serialize(answer(command));
          const header = Buffer.alloc(21);
          header.writeInt32LE(21 + body.length, 0);
          header.writeInt32LE(requestIds++, 4);
          header.writeInt32LE(requestId, 8);
          header.writeInt32LE(OP_MSG, 12);
          header.writeUInt32LE(0, 16);
          header.writeUInt8(0, 20);
          socket.write(Buffer.concat([header, body]));
        } else {
          socket.destroy();
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `mongodb://127.0.0.1:${port}/?directConnection=true&serverSelectionTimeoutMS=2000`,
    commands,
    documents,
    async close() {
      for (const socket of sockets) {
        socket.destroy();
      }
      server.close();
      await once(server, 'close');
    },
  };
}

describe('MongoDB adapter against a fake wire-protocol server', () => {
  let server: FakeServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('a standalone server is refused with a message that says what to do', async () => {
    server = await fakeServer({});
    await expect(openMongoStore({ url: server.url })).rejects.toThrow(REPLICA_SET_REQUIRED);
    expect(REPLICA_SET_REQUIRED).toMatch(/replica set/);
    expect(REPLICA_SET_REQUIRED).toMatch(/--replSet rs0/);
    expect(server.commands).toContain('hello');
    // No collection or index was created on the refused server.
    expect(server.commands).not.toContain('createIndexes');
    expect(server.commands).not.toContain('create');
  });

  test('a replica-set member passes the check; collections and indexes are created; ping and close work', async () => {
    server = await fakeServer({ setName: 'rs0' });
    const store = await openMongoStore({ url: server.url, dbName: 'dripline_fake' });
    expect(store.kind).toBe('mongodb');
    const created = server.documents.filter((d) => 'create' in d).map((d) => d['create'] as string);
    expect(created.sort()).toEqual(
      ['history', 'identifiers', 'jobs', 'jti', 'oauth_clients', 'resources', 'sequences', 'settings'].sort(),
    );
    const indexes = new Map<string, Document[]>(
      server.documents
        .filter((d) => 'createIndexes' in d)
        .map((d) => [d['createIndexes'] as string, d['indexes'] as Document[]]),
    );
    const byName = (collection: string, name: string) =>
      indexes.get(collection)?.find((i) => i['name'] === name);
    expect(byName('resources', 'resource_key')).toEqual({
      key: { tenant: 1, type: 1, id: 1 },
      name: 'resource_key',
      unique: true,
    });
    expect(byName('history', 'history_key')).toMatchObject({
      key: { tenant: 1, type: 1, id: 1, version: 1 },
      unique: true,
    });
    expect(byName('identifiers', 'identifier_key')).toMatchObject({
      key: { tenant: 1, type: 1, system: 1, value: 1 },
      unique: true,
    });
    expect(byName('jobs', 'job_key')).toMatchObject({ key: { tenant: 1, queue: 1, key: 1 }, unique: true });
    expect(byName('jobs', 'job_ready')).toMatchObject({ key: { queue: 1, state: 1, runAt: 1 } });
    expect(byName('jti', 'jti_key')).toMatchObject({ key: { clientId: 1, jti: 1 }, unique: true });
    expect(byName('jti', 'jti_ttl')).toMatchObject({ key: { expiresAt: 1 }, expireAfterSeconds: 0 });
    expect(Object.keys(byName('resources', 'search_token')?.['key'] as Document)).toEqual([
      'tenant',
      'type',
      'tok.c',
      'tok.v',
      'tok.s',
    ]);
    expect(server.documents.every((d) => !('createIndexes' in d) || d['$db'] === 'dripline_fake')).toBe(true);

    await store.ping();
    expect(server.documents.at(-1)).toMatchObject({ ping: 1, $db: 'dripline_fake' });
    await store.close();
  });

  test('a mongos (msg: isdbgrid) passes the check', async () => {
    server = await fakeServer({ msg: 'isdbgrid' });
    const store = await openMongoStore({ url: server.url });
    expect(server.commands).toContain('createIndexes');
    await store.close();
  });

  test('a create is one transaction: snapshot reads, writes and a majority commit on one session', async () => {
    server = await fakeServer({ setName: 'rs0' });
    const store = await openMongoStore({ url: server.url, dbName: 'tx', generateId: () => 'p1' });
    const start = server.documents.length;
    const { resource, created } = await store.resources.create(
      'tenant-1',
      { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'M1' }], gender: 'female' },
      { ifNoneExistIdentifier: { system: 'urn:mrn', value: 'M1' } },
    );
    expect(created).toBe(true);
    expect(resource).toMatchObject({ resourceType: 'Patient', id: 'p1', meta: { versionId: '1' } });
    const tx = server.documents.slice(start).filter((d) => !('hello' in d) && !('ismaster' in d));
    const names = tx.map((d) => Object.keys(d)[0]);
    // lookup of the identifier, claim upsert, current insert, history insert, commit.
    expect(names).toEqual(['find', 'update', 'insert', 'insert', 'commitTransaction']);
    expect(tx.map((d) => d[Object.keys(d)[0]!] as unknown)).toEqual([
      'resources',
      'identifiers',
      'resources',
      'history',
      1,
    ]);
    const lsid = JSON.stringify(tx[0]?.['lsid']);
    for (const d of tx) {
      expect(JSON.stringify(d['lsid'])).toBe(lsid);
      expect(d['autocommit']).toBe(false);
      expect(d['txnNumber']).toEqual(tx[0]?.['txnNumber']);
    }
    expect(tx[0]).toMatchObject({ startTransaction: true, readConcern: { level: 'snapshot' } });
    expect(tx[0]?.['filter']).toEqual({
      tenant: 'tenant-1',
      type: 'Patient',
      ident: { $elemMatch: { s: 'urn:mrn', v: 'M1' } },
    });
    expect(tx[1]?.['updates']).toMatchObject([
      { q: { tenant: 'tenant-1', type: 'Patient', system: 'urn:mrn', value: 'M1' }, upsert: true },
    ]);
    const current = (tx[2]?.['documents'] as Document[])[0];
    expect(current).toMatchObject({
      tenant: 'tenant-1',
      type: 'Patient',
      id: 'p1',
      version: 1,
      tok: expect.arrayContaining([{ c: 'gender', s: '', v: 'female' }]),
      ident: [{ s: 'urn:mrn', v: 'M1' }],
    });
    expect((tx[3]?.['documents'] as Document[])[0]).toMatchObject({ id: 'p1', version: 1, resource });
    expect(tx[4]).toMatchObject({ writeConcern: { w: 'majority' } });
    await store.close();
  });
  test('a batch enqueues its job in the batch transaction; jobs and clients are read from their own collections', async () => {
    server = await fakeServer({ setName: 'rs0' }, (name, command) =>
      // The job's upsert inserts (as on a real server the first time a key is enqueued).
      name === 'update' && command['update'] === 'jobs'
        ? { n: 1, nModified: 0, upserted: [{ index: 0, _id: 'job-1' }], ok: 1 }
        : undefined,
    );
    const store = await openMongoStore({ url: server.url, dbName: 'batch', generateId: () => 'e1' });
    try {
      const start = server.documents.length;
      const results = await store.resources.writeBatch('tenant-1', [
        { op: 'create', resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } } },
        { op: 'enqueue', job: { queue: 'q', key: 'k1', payload: { encounter: 'Encounter/e1' } } },
      ]);
      expect(results.map((r) => r.op)).toEqual(['create', 'enqueue']);
      expect(results[1]).toMatchObject({ op: 'enqueue', result: { created: true } });
      const tx = server.documents.slice(start).filter((d) => !('hello' in d) && !('ismaster' in d));
      expect(tx.map((d) => [Object.keys(d)[0], d[Object.keys(d)[0]!] as unknown])).toEqual([
        ['insert', 'resources'],
        ['insert', 'history'],
        ['update', 'jobs'],
        ['commitTransaction', 1],
      ]);
      for (const d of tx) {
        expect(JSON.stringify(d['lsid'])).toBe(JSON.stringify(tx[0]?.['lsid']));
        expect(d['txnNumber']).toEqual(tx[0]?.['txnNumber']);
      }
      expect(tx[2]?.['updates']).toMatchObject([
        { q: { tenant: 'tenant-1', queue: 'q', key: 'k1' }, upsert: true },
      ]);

      const reads = server.documents.length;
      expect(await store.jobs.getJob('job-1')).toBeUndefined();
      expect(await store.auth.getClient('client-1')).toBeUndefined();
      expect(
        server.documents
          .slice(reads)
          .filter((d) => 'find' in d)
          .map((d) => [d['find'], d['filter']]),
      ).toEqual([
        ['jobs', { _id: 'job-1' }],
        ['oauth_clients', { _id: 'client-1' }],
      ]);
    } finally {
      await store.close();
    }
  });
  test('sequences.next: one atomic findAndModify ($inc, upsert, the new value), retried once after a first-insert race', async () => {
    let calls = 0;
    server = await fakeServer({ setName: 'rs0' }, (name, command) => {
      if (name !== 'findAndModify') {
        return undefined;
      }
      calls++;
      // The first answer is the loser's side of two first upserts racing on the _id.
      return calls === 1
        ? { ok: 0, code: 11000, codeName: 'DuplicateKey', errmsg: 'E11000 duplicate key error' }
        : { value: { _id: (command['query'] as Document)['_id'], value: 42 }, ok: 1 };
    });
    const store = await openMongoStore({ url: server.url, dbName: 'dripline_fake' });
    expect(await store.sequences.next('tenant-1', 'x12-isa13|ZZ:S|ZZ:R')).toBe(42);
    const sent = server.documents.filter((d) => 'findAndModify' in d);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({
      findAndModify: 'sequences',
      query: { _id: JSON.stringify(['tenant-1', 'x12-isa13|ZZ:S|ZZ:R']) },
      update: { $inc: { value: 1 }, $setOnInsert: { tenant: 'tenant-1', name: 'x12-isa13|ZZ:S|ZZ:R' } },
      upsert: true,
      new: true,
    });
    await store.close();
  });
});
