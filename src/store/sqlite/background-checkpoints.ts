/**
 * WAL checkpoints off the writers' threads. In WAL mode the commit that pushes the WAL past
 * `wal_autocheckpoint` pages runs the checkpoint itself: it copies the WAL's pages into the
 * database file and syncs it, inside that COMMIT, on the thread that committed. On a busy store
 * that is a stop of ~50–150 ms every few seconds on the thread of a receiver, the FHIR API or a
 * worker (bench:http, instrumented: 52 of 3,353 commits took over 20 ms, 2.3 s of the event loop's
 * 4.9 s in commits; bench:ingest's worker: 11 of 750, 1.1 s).
 *
 * Once a file's WAL has grown past `startAtWalBytes` (a store written hard, not a test's or a quiet
 * clinic's), a worker thread with its own connections (./checkpoint-thread.ts) checkpoints every
 * file of the store (PASSIVE) every `intervalMs`, and the connections' own auto-checkpoint becomes
 * a backstop (`BACKSTOP_PAGES`) for a thread that falls behind. If the thread fails, the
 * connections checkpoint as before. Crash safety is SQLite's: a checkpoint interrupted by kill -9
 * is redone from the WAL at the next open.
 */
import { statSync } from 'node:fs';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { CheckpointThreadData } from './checkpoint-thread.ts';
import type { SqliteConnection } from './db.ts';
import { WAL_AUTOCHECKPOINT_PAGES } from './db.ts';

/** WAL size (bytes) at which the thread starts: 2,048 pages of 4 KiB. */
export const START_AT_WAL_BYTES = 8 * 1024 * 1024;
/**
 * How often the thread checkpoints. Each checkpoint copies the pages written since the last one
 * once, however often they were rewritten, so a longer interval copies less in all; one second at
 * ingest's write rate is ~20–40 MB of WAL, about what the auto-checkpoint let grow before.
 */
export const CHECKPOINT_INTERVAL_MS = 1000;
/** The connections' auto-checkpoint while the thread runs (~128 MB of WAL): a backstop. */
export const BACKSTOP_PAGES = 4 * WAL_AUTOCHECKPOINT_PAGES;
/** Commits between two looks at the WAL files' sizes (a stat each). */
const COMMITS_PER_LOOK = 32;

export interface BackgroundCheckpointOptions {
  readonly startAtWalBytes?: number;
  readonly intervalMs?: number;
  readonly onError?: (err: Error) => void;
  /** The thread's module: ./checkpoint-thread.ts (another only to show what a failed thread leaves). */
  readonly threadModule?: URL;
}

const CHECKPOINT_THREAD = new URL('./checkpoint-thread.ts', import.meta.url);

function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0; // no WAL file yet
  }
}

export class BackgroundCheckpoints {
  readonly #connections: readonly SqliteConnection[];
  readonly #startAt: number;
  readonly #intervalMs: number;
  readonly #onError: (err: Error) => void;
  readonly #threadModule: URL;
  #thread: Worker | undefined;
  #commits = 0;
  #stopped = false;
  /** The thread ended without being asked: not started again (the commits checkpoint). */
  #failed = false;
  #rounds = 0;

  constructor(connections: readonly SqliteConnection[], options: BackgroundCheckpointOptions = {}) {
    this.#connections = connections;
    this.#startAt = options.startAtWalBytes ?? START_AT_WAL_BYTES;
    this.#intervalMs = options.intervalMs ?? CHECKPOINT_INTERVAL_MS;
    this.#onError = options.onError ?? ((): void => undefined);
    this.#threadModule = options.threadModule ?? CHECKPOINT_THREAD;
    for (const connection of connections) {
      connection.afterCommit = () => this.#noteCommit();
    }
  }

  /** Whether the thread checkpoints the files now. */
  get running(): boolean {
    return this.#thread !== undefined;
  }

  /** Checkpoint rounds the thread has finished (every file once per round). */
  get rounds(): number {
    return this.#rounds;
  }

  #noteCommit(): void {
    if (this.#thread || this.#stopped || this.#failed || ++this.#commits % COMMITS_PER_LOOK !== 0) {
      return;
    }
    if (this.#connections.some((connection) => walBytes(connection.path) >= this.#startAt)) {
      this.#start();
    }
  }

  #start(): void {
    const [first] = this.#connections;
    if (!first) {
      return;
    }
    const data: CheckpointThreadData = {
      paths: this.#connections.map((connection) => connection.path),
      intervalMs: this.#intervalMs,
      synchronous: first.synchronous,
    };
    const thread = new Worker(this.#threadModule, { workerData: data });
    thread.on('message', () => {
      this.#rounds++;
    });
    thread.on('error', (err: Error) => this.#onError(err));
    thread.on('exit', () => {
      if (this.#thread === thread && !this.#stopped) {
        // A thread that cannot run would fail again: the WAL stays large, and a new one would be
        // started every few commits. The connections checkpoint as before from now on.
        this.#failed = true;
        this.#setBackground(false);
        this.#thread = undefined;
      }
    });
    // A process whose work is done exits: the thread keeps nothing alive. After the listeners:
    // listening for messages refs the thread's port again.
    thread.unref();
    this.#thread = thread;
    this.#setBackground(true);
  }

  #setBackground(on: boolean): void {
    for (const connection of this.#connections) {
      if (connection.closed) {
        continue;
      }
      connection.checkpointedInBackground = on;
      connection.db.exec(
        `PRAGMA wal_autocheckpoint = ${String(on ? BACKSTOP_PAGES : WAL_AUTOCHECKPOINT_PAGES)}`,
      );
    }
  }

  /** Stops the thread and waits for it to close its connections (before the store closes its own). */
  async stop(): Promise<void> {
    this.#stopped = true;
    const thread = this.#thread;
    this.#thread = undefined;
    if (thread) {
      const exited = once(thread, 'exit');
      // Waited for: a process closing its store as its last step stays until the thread is out.
      thread.ref();
      thread.postMessage('stop');
      await exited;
    }
  }
}
