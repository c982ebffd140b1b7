/**
 * Child process of sqlite.test.ts: draws `count` numbers from one sequence of a shared SQLite file,
 * printing `N <value>` for each.
 *
 *   node test/store/sequence-worker.ts <db path> <sequence name> <count>
 */
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const [path, name, count] = process.argv.slice(2);
if (!path || !name || !count) {
  throw new Error('usage: sequence-worker.ts <db path> <sequence name> <count>');
}
const store = await openSqliteStore({ path });
// Start together (the parent says go on stdin once every worker is ready), so the draws interleave.
process.stdout.write('READY\n');
await new Promise<void>((resolve) => {
  process.stdin.once('data', () => resolve());
});
process.stdin.pause();
for (let i = 0; i < Number(count); i++) {
  process.stdout.write(`N ${await store.sequences.next('t', name)}\n`);
}
await store.close();
