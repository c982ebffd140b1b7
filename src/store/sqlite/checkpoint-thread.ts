/**
 * The body of the background checkpoint thread (./background-checkpoints.ts starts it): its own
 * connection to each SQLite file, and a PASSIVE checkpoint of each on a timer. PASSIVE copies the
 * WAL frames no reader still needs into the database file and syncs it, never waiting for a lock
 * and never blocking a writer (https://sqlite.org/c3ref/wal_checkpoint_v2.html), so the writers'
 * threads no longer stop for the checkpoints their commits would otherwise run.
 *
 * Loaded by `new Worker(url)`, so plain Node runs it (type stripping): erasable TypeScript only,
 * and nothing imported but Node's own modules.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointThreadData {
  readonly paths: readonly string[];
  readonly intervalMs: number;
  /** As the writers' connections: a checkpoint's syncs follow the connection's setting. */
  readonly synchronous: 'NORMAL' | 'FULL';
}

const data = workerData as CheckpointThreadData;
const connections = data.paths.map((path) => {
  const db = new DatabaseSync(path, { timeout: 0 });
  db.exec(`PRAGMA synchronous = ${data.synchronous}`);
  return db;
});

function checkpointAll(): void {
  for (const db of connections) {
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch {
      // Another connection is checkpointing this file (SQLITE_BUSY): the next tick tries again.
    }
  }
  parentPort?.postMessage('checkpointed');
}

const timer = setInterval(checkpointAll, data.intervalMs);

parentPort?.on('message', (message: unknown) => {
  if (message === 'stop') {
    clearInterval(timer);
    for (const db of connections) {
      db.close();
    }
    parentPort?.close();
  }
});
