/**
 * Child process of sqlite.test.ts: leases jobs from a shared SQLite file until the queue stays
 * empty, printing `L <jobId>` per leased job (then acking it).
 *
 *   node test/store/lease-worker.ts <db path> <queue>
 */
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const [path, queue] = process.argv.slice(2);
if (!path || !queue) {
  throw new Error('usage: lease-worker.ts <db path> <queue>');
}
const store = await openSqliteStore({ path });
// Start together: say we are ready, then wait for the parent's go (one line on stdin), so a slow
// process start-up cannot leave one worker to do all the work before the others begin.
process.stdout.write('READY\n');
await new Promise<void>((resolve) => {
  process.stdin.once('data', () => resolve());
});
process.stdin.pause();
let idle = 0;
while (idle < 20) {
  const jobs = await store.jobs.lease({ queue, leaseMs: 600_000, limit: 3, now: new Date() });
  if (jobs.length === 0) {
    idle++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    continue;
  }
  idle = 0;
  for (const job of jobs) {
    process.stdout.write(`L ${job.id}\n`);
    if (!(await store.jobs.ack(job.id, job.leaseToken ?? ''))) {
      throw new Error(`ack failed for ${job.id}`);
    }
  }
  // A little work per batch: on a loaded machine one worker must not drain the whole queue in the
  // time slice before the others are scheduled (the test checks the work was really shared).
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await store.close();
