/**
 * Child process of the kill -9 proofs (./audit-killed-writer.ts): with a thread that
 * never files them (./audit-thread-idle.ts), appends read audits through the store's audit log
 * (mode `reads`: every acknowledged event is in the journal only), or writes Patients each with
 * its create's AuditEvent marked `indexLater` (mode `writes`: every acknowledged event is in the
 * main file's pending table only), and prints `A <id>` per acknowledged event until it is killed.
 *
 *   node test/store/audit-journal-writer.ts <db path> [reads|writes]
 *
 * It also ends when its stdin closes, so it never outlives the test that started it.
 */
import { randomUUIDv7 } from 'node:crypto';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { createAudit, readAudit } from './audit-fixtures.ts';

const path = process.argv[2];
if (!path) {
  throw new Error('usage: audit-journal-writer.ts <db path>');
}
process.stdin.once('end', () => process.exit(0));
process.stdin.resume();
const store = await openSqliteStore({
  path,
  auditLog: { threadAtEventsPerSecond: 0, threadModule: new URL('./audit-thread-idle.ts', import.meta.url) },
});
// The thread starts at the first append and is ready soon after: until then appends go direct.
while (!store.auditLog.journaling) {
  await store.auditLog.append('crash-tenant', [readAudit(randomUUIDv7(), 'Patient/warm-up')]);
  await new Promise((resolve) => setTimeout(resolve, 5));
}
console.log('JOURNALING');
const writes = process.argv[3] === 'writes';
for (let i = 0; ; i++) {
  if (writes) {
    const event = createAudit(randomUUIDv7(), `Patient/w-${i}`);
    await store.resources.writeBatch('crash-tenant', [
      { op: 'create', resource: { resourceType: 'Patient' }, options: { id: `w-${i}` } },
      { op: 'create', resource: event, options: { id: event.id, indexLater: true } },
    ]);
    console.log(`A ${event.id}`);
    continue;
  }
  const events = [readAudit(randomUUIDv7(), `Patient/p-${i}`), readAudit(randomUUIDv7(), `Patient/q-${i}`)];
  await store.auditLog.append('crash-tenant', events);
  for (const event of events) {
    console.log(`A ${event.id}`);
  }
}
