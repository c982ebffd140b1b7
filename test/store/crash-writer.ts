/**
 * Child process of durability.test.ts: writes to the SQLite store as fast as it can and prints
 * one line per acknowledged (committed) write, until it is killed.
 *
 *   node test/store/crash-writer.ts <db path>
 *
 * Lines: `R <id> <version> <marker>` (resource create/update), `J <key> <jobId>` (enqueued job),
 * `B <id> <key> <jobId>` (writeBatch of a resource and its job).
 *
 * It also ends when its stdin closes: the parent (the test) holds the other end, so a writer can
 * never outlive the test that started it, even one that died without killing it.
 */
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { encounter } from './fixtures.ts';

const path = process.argv[2];
if (!path) {
  throw new Error('usage: crash-writer.ts <db path>');
}
process.stdin.once('end', () => process.exit(0));
process.stdin.resume();
const store = await openSqliteStore({ path });
const tenant = 'crash-tenant';
console.log('READY');

for (let i = 0; ; i++) {
  const marker = `m-${i}`;
  switch (i % 3) {
    case 0: {
      const { resource } = await store.resources.create(
        tenant,
        { ...encounter({ patientId: `p-${i}`, visitNumber: marker }) },
        { id: `enc-${i}` },
      );
      console.log(`R ${resource.id} ${resource.meta.versionId} ${marker}`);
      break;
    }
    case 1: {
      // A new version of the resource created in the previous step.
      const id = `enc-${i - 1}`;
      const { resource } = await store.resources.update(tenant, {
        ...encounter({ patientId: `p-${i}`, visitNumber: marker }),
        id,
      });
      console.log(`R ${resource.id} ${resource.meta.versionId} ${marker}`);
      const job = await store.jobs.enqueue(tenant, { queue: 'crash', key: `job-${i}`, payload: { marker } });
      console.log(`J job-${i} ${job.jobId} ${marker}`);
      break;
    }
    default: {
      const [created, queued] = await store.resources.writeBatch(tenant, [
        {
          op: 'create',
          resource: encounter({ patientId: `p-${i}`, visitNumber: marker }),
          options: { id: `enc-${i}` },
        },
        { op: 'enqueue', job: { queue: 'crash', key: `job-${i}`, payload: { marker } } },
      ]);
      if (created?.op === 'create' && queued?.op === 'enqueue') {
        console.log(`B ${created.result.resource.id} job-${i} ${queued.result.jobId} ${marker}`);
      }
    }
  }
}
