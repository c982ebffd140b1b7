/**
 * The body of the audit filing thread (./audit-log.ts starts it): its own connections to the main
 * file and the audit journal, and the rows waiting in the journal and in the main file's pending
 * table filed as AuditEvents (./audit-journal.ts `moveJournaled`, ./audit-pending.ts `movePending`): batch after batch while the journal holds rows, a look every `pollMs` while it
 * is written, and asleep until the log says it appended some once it stayed empty `sleepAfterMs`.
 *
 * One batch per macrotask, so a 'stop' is seen between two batches while the journal never empties
 * under load. Each batch is one transaction on the main file: 128 events hold its write lock for a
 * few milliseconds, which the other writers wait out.
 *
 * Loaded by `new Worker(url)`, so plain Node runs it (type stripping): erasable TypeScript only.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { journalRowCount, moveJournaled, openAuditJournal } from './audit-journal.ts';
import { movePending, pendingRowCount } from './audit-pending.ts';
import { SqliteConnection } from './db.ts';
import type { SynchronousMode } from './db.ts';

export interface AuditThreadData {
  readonly mainPath: string;
  readonly journalPath: string;
  readonly synchronous: SynchronousMode;
  readonly busyTimeoutMs: number;
  readonly batchSize: number;
  /** How often the thread looks at the journal while it is being written (ms). */
  readonly pollMs: number;
  /** How long the journal stays empty before the thread stops looking and waits to be told (ms). */
  readonly sleepAfterMs: number;
}

/**
 * What the thread tells the log: it is ready; it filed `moved` events in a batch and the journal
 * still holds `remaining`; or the journal stayed empty for `sleepAfterMs` and the thread now waits
 * for an 'appended' message instead of looking.
 */
export type AuditThreadMessage =
  | { readonly ready: true }
  | { readonly moved: number; readonly remaining: number }
  | { readonly sleeping: true };

const data = workerData as AuditThreadData;
const options = { synchronous: data.synchronous, busyTimeoutMs: data.busyTimeoutMs };
const main = new SqliteConnection({ path: data.mainPath, ...options });
const journal = openAuditJournal({ path: data.journalPath, ...options });
// This connection only files events: a row, then index rows naming the pk that insert just returned,
// in the same transaction. The foreign-key check on each index row (a look-up of that parent) can
// never fail here and cost ~15 % of filing (a filing micro-benchmark, best of 12 runs: 76.5 →
// 59.9 µs an event). The store's other connections keep the checks.
main.db.exec('PRAGMA foreign_keys = OFF');
/** A batch is due (on a timer or the next turn). */
let due = false;
let stopping = false;
/** Since when the journal has been found empty (performance.now()), if it is. */
let emptySince: number | undefined;

function post(message: AuditThreadMessage): void {
  parentPort?.postMessage(message);
}

function fileBatch(): void {
  due = false;
  if (stopping) {
    return;
  }
  const moved = moveJournaled(main, journal, data.batchSize) + movePending(main, data.batchSize);
  if (moved > 0) {
    emptySince = undefined;
    const remaining = journalRowCount(journal) + pendingRowCount(main);
    post({ moved, remaining });
    if (remaining > 0) {
      next(0);
      return;
    }
  }
  const now = performance.now();
  emptySince ??= now;
  if (now - emptySince >= data.sleepAfterMs) {
    post({ sleeping: true });
    return;
  }
  // Looking again soon, rather than being told of every append: a message per append costs the
  // answering thread more than a look costs this one, and batches grow while it waits.
  next(data.pollMs);
}

function next(ms: number): void {
  due = true;
  if (ms === 0) {
    setImmediate(fileBatch);
  } else {
    setTimeout(fileBatch, ms);
  }
}

parentPort?.on('message', (message: unknown) => {
  if (message === 'appended') {
    if (!due) {
      emptySince = undefined;
      next(0);
    }
  } else if (message === 'stop') {
    stopping = true;
    journal.close();
    main.close();
    parentPort?.close();
  }
});

post({ ready: true });
// Rows a previous process left (it stopped before filing them) are filed now.
next(0);
