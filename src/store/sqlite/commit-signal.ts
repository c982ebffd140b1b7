/**
 * Other connections' commits, seen from this one: SQLite tells no connection when another commits,
 * so a worker in one process found a job another process enqueued only at its next poll (250 ms by
 * default: a receiver process's notifications waited that long for the ingest worker's process,
 * the encounter events it wrote as long again for charge capture's). In WAL mode every commit
 * appends its frames to the `-wal` file with write(2), which the kernel's file watch (inotify,
 * through `fs.watch`) reports to any process watching that file; `PRAGMA data_version` then says
 * whether the change came from another connection, so this connection's own commits — whose jobs
 * already wake their workers in-process (src/charges/notify-on-enqueue.ts, own-work.ts) — wake no
 * one. Listeners are called at most once per `minIntervalMs` (the first change at once, the rest
 * of a burst once at the interval's end), so a busy writer elsewhere costs an idle worker a few
 * hundred cheap look-ups a second, not one per commit.
 *
 * Best effort by design: where the file cannot be watched (no watch support, the file gone), no
 * signal comes and workers find the work at their poll, as before.
 */
import { existsSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import type { SqliteConnection } from './db.ts';

/** The shortest gap between two calls of the listeners: a burst of commits is one wake-up. */
const DEFAULT_MIN_INTERVAL_MS = 2;

export class CommitSignal {
  readonly #connections: readonly SqliteConnection[];
  readonly #minIntervalMs: number;
  readonly #listeners = new Set<() => void>();
  readonly #watchers: (FSWatcher | undefined)[];
  /** data_version last read per connection: a change means another connection committed. */
  readonly #versions: (number | undefined)[];
  #lastFired = -Infinity;
  #trailing: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(connections: readonly SqliteConnection[], minIntervalMs = DEFAULT_MIN_INTERVAL_MS) {
    this.#connections = connections;
    this.#minIntervalMs = minIntervalMs;
    this.#watchers = connections.map(() => undefined);
    this.#versions = connections.map(() => undefined);
  }

  /** Calls `listener` soon after another connection commits to one of the files; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    if (this.#closed) {
      return () => undefined;
    }
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) {
      this.#connections.forEach((_, i) => this.#watch(i));
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#unwatch();
      }
    };
  }

  /** Stops watching for good (before the connections close: the last to close deletes the `-wal` file). */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#unwatch();
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
    this.#versions[i] = dataVersion(connection);
    try {
      // Not persistent: a process with nothing else to do exits while its workers sleep.
      const watcher = watch(wal, { persistent: false }, (event) => {
        if (event === 'rename') {
          // Removed or replaced: that file says nothing more. Watched again if it comes back.
          watcher.close();
          this.#watchers[i] = undefined;
          setTimeout(() => {
            if (this.#listeners.size > 0 && !this.#closed) {
              this.#watch(i);
            }
          }, 100).unref();
        }
        this.#changed(i);
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

  #unwatch(): void {
    for (const watcher of this.#watchers) {
      watcher?.close();
    }
    this.#watchers.fill(undefined);
    clearTimeout(this.#trailing);
    this.#trailing = undefined;
  }

  #changed(i: number): void {
    const connection = this.#connections[i];
    if (!connection || connection.closed || this.#closed) {
      return;
    }
    // Inside a transaction of this connection, data_version is that snapshot's: not a sign of who wrote.
    if (!connection.db.isTransaction) {
      const version = dataVersion(connection);
      if (version !== undefined && version === this.#versions[i]) {
        return;
      }
      this.#versions[i] = version;
    }
    if (this.#trailing) {
      return;
    }
    const wait = this.#lastFired + this.#minIntervalMs - performance.now();
    if (wait <= 0) {
      this.#fire();
      return;
    }
    this.#trailing = setTimeout(() => {
      this.#trailing = undefined;
      this.#fire();
    }, wait);
    this.#trailing.unref();
  }

  #fire(): void {
    this.#lastFired = performance.now();
    for (const listener of this.#listeners) {
      listener();
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
