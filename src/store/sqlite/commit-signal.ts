/**
 * Other connections' commits, seen from this one: SQLite tells no connection when another commits,
 * so a worker in one process found a job another process enqueued only at its next poll (250 ms by
 * default: a receiver process's notifications waited that long for the ingest worker's process,
 * the encounter events it wrote as long again for charge capture's). In WAL mode every commit
 * appends its frames to the `-wal` file with write(2), which the kernel's file watch (inotify,
 * through `fs.watch`) reports to any process watching that file; `PRAGMA data_version` then says
 * whether the change came from another connection, so this connection's own commits — whose jobs
 * already wake their workers in-process (src/charges/notify-on-enqueue.ts, own-work.ts) — wake no
 * one. It is read at most once per `minIntervalMs` (the first change at once, the rest of a burst
 * once at the interval's end), and only while someone listens: a busy writer elsewhere costs an
 * idle worker a few hundred cheap look-ups a second, not one per commit, and a busy worker none.
 *
 * Best effort by design: where the file cannot be watched (no watch support, the file gone), no
 * signal comes and workers find the work at their poll, as before.
 */
import { existsSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import type { SqliteConnection } from './db.ts';

/** The shortest gap between two looks at who committed: a burst of commits is one look. */
const DEFAULT_MIN_INTERVAL_MS = 2;

export class CommitSignal {
  readonly #connections: readonly SqliteConnection[];
  readonly #minIntervalMs: number;
  /**
   * Each listener with the data_version of each file as of its subscription or its last call: it
   * is called for a commit after those, so one that subscribes after a look still hears of a
   * commit that look reported to the others, and none hears twice of one commit.
   */
  readonly #listeners = new Map<() => void, (number | undefined)[]>();
  readonly #watchers: (FSWatcher | undefined)[];
  #lastLook = -Infinity;
  #trailing: NodeJS.Timeout | undefined;
  /** Files changed since the last look. */
  readonly #changed: boolean[];
  #closed = false;

  constructor(connections: readonly SqliteConnection[], minIntervalMs = DEFAULT_MIN_INTERVAL_MS) {
    this.#connections = connections;
    this.#minIntervalMs = minIntervalMs;
    this.#watchers = connections.map(() => undefined);
    this.#changed = connections.map(() => false);
  }

  /**
   * Calls `listener` soon after another connection commits to one of the files, from now on;
   * returns the unsubscribe. A queue worker listens only while it sleeps (src/store/worker-loop.ts),
   * so a busy one pays nothing but the file watch's callback.
   */
  subscribe(listener: () => void): () => void {
    if (this.#closed) {
      return () => undefined;
    }
    this.#listeners.set(
      listener,
      this.#connections.map((connection) => dataVersion(connection)),
    );
    // Watched from the first subscription until the store closes: no watch set up and torn down
    // at every sleep of a worker.
    this.#connections.forEach((_, i) => this.#watch(i));
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Stops watching for good (before the connections close: the last to close deletes the `-wal` file). */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    for (const watcher of this.#watchers) {
      watcher?.close();
    }
    this.#watchers.fill(undefined);
    clearTimeout(this.#trailing);
    this.#trailing = undefined;
  }

  #watch(i: number): void {
    const connection = this.#connections[i];
    if (!connection || connection.closed || this.#watchers[i]) {
      return;
    }
    const wal = `${connection.path}-wal`;
    if (!existsSync(wal)) {
      return;
    }
    try {
      // Not persistent: a process with nothing else to do exits while its workers sleep.
      const watcher = watch(wal, { persistent: false }, (event) => {
        if (event === 'rename') {
          // Removed or replaced: that file says nothing more. Watched again if it comes back.
          watcher.close();
          this.#watchers[i] = undefined;
          setTimeout(() => {
            if (!this.#closed) {
              this.#watch(i);
            }
          }, 100).unref();
        }
        this.#onChange(i);
      });
      watcher.on('error', () => {
        watcher.close();
        this.#watchers[i] = undefined;
      });
      this.#watchers[i] = watcher;
    } catch {
      // No watch here (a file system without it): the poll finds the work.
    }
  }

  #onChange(i: number): void {
    if (this.#listeners.size === 0 || this.#closed) {
      return;
    }
    this.#changed[i] = true;
    if (this.#trailing) {
      return;
    }
    const wait = this.#lastLook + this.#minIntervalMs - performance.now();
    if (wait <= 0) {
      this.#look();
      return;
    }
    this.#trailing = setTimeout(() => {
      this.#trailing = undefined;
      this.#look();
    }, wait);
    this.#trailing.unref();
  }

  /** Reads the changed files' data_version once and calls each listener a commit is news to. */
  #look(): void {
    this.#lastLook = performance.now();
    const versions = this.#connections.map((connection, i) => {
      if (!this.#changed[i] || connection.closed) {
        return null;
      }
      this.#changed[i] = false;
      // Inside a transaction of this connection, data_version is that snapshot's: no sign of who
      // wrote, so every listener is called (`undefined` never equals a version read).
      return connection.db.isTransaction ? undefined : dataVersion(connection);
    });
    for (const [listener, seen] of [...this.#listeners]) {
      let news = false;
      versions.forEach((version, i) => {
        if (version === null) {
          return;
        }
        if (version === undefined || version !== seen[i]) {
          seen[i] = version;
          news = true;
        }
      });
      if (news) {
        listener();
      }
    }
  }
}

/**
 * Changes when another connection has committed to the file since this one last read it; undefined
 * when it cannot be read just now (a file being recovered answers "busy"): the caller then wakes
 * its listeners, which is never wrong — a throw here would be, in a file watch's callback.
 */
function dataVersion(connection: SqliteConnection): number | undefined {
  try {
    const value = connection.get('PRAGMA data_version')?.['data_version'];
    return typeof value === 'number' || typeof value === 'bigint' ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}
