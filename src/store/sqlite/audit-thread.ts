/**
 * The body of the audit filing thread (./audit-log.ts starts it): its own connections to the main
 * file and the audit journal, and the journal's rows filed as AuditEvents (./audit-journal.ts
 * `moveJournaled`) whenever the log says it appended some.
 *
 * One batch per macrotask, so a 'stop' is seen between two batches while the journal never empties
 * under load. Each batch is one transaction on the main file: 128 events hold its write lock for a
 * few milliseconds, which the other writers wait out.
 *
 * Loaded by `new Worker(url)`, so plain Node runs it (type stripping): erasable TypeScript only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { journalRowCount, moveJournaled, openAuditJournal } from './audit-journal.ts';
import { SqliteConnection } from './db.ts';
import type { SynchronousMode } from './db.ts';

export interface AuditThreadData {
  readonly mainPath: string;
  readonly journalPath: string;
  readonly synchronous: SynchronousMode;
  readonly busyTimeoutMs: number;
  readonly batchSize: number;
}

/**
 * What the thread tells the log: it is ready, or after a batch, how many events it filed in it and
 * how many the journal still holds.
 */
export type AuditThreadMessage =
  { readonly ready: true } | { readonly moved: number; readonly remaining: number };

const data = workerData as AuditThreadData;
const options = { synchronous: data.synchronous, busyTimeoutMs: data.busyTimeoutMs };
const main = new SqliteConnection({ path: data.mainPath, ...options });
const journal = openAuditJournal({ path: data.journalPath, ...options });
let scheduled = false;
let stopping = false;

function post(message: AuditThreadMessage): void {
  parentPort?.postMessage(message);
}

function fileBatch(): void {
  scheduled = false;
  if (stopping) {
    return;
  }
  const moved = moveJournaled(main, journal, data.batchSize);
  const remaining = journalRowCount(journal);
  // Posted after every batch, even an empty one: an append waiting for the backlog to shrink
  // hears that another mover emptied the journal.
  post({ moved, remaining });
  if (remaining > 0) {
    schedule();
  }
}

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    setImmediate(fileBatch);
  }
}

parentPort?.on('message', (message: unknown) => {
  if (message === 'appended') {
    schedule();
  } else if (message === 'stop') {
    stopping = true;
    journal.close();
    main.close();
    parentPort?.close();
  }
});

post({ ready: true });
// Rows a previous process left (it stopped before filing them) are filed now.
schedule();
