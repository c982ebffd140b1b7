/**
 * The source text of the modules jest loads, kept for the life of a jest worker (handed to every
 * test file's runtime by test/support/jest-runtime.ts). Jest gives each test file a fresh file
 * cache, so every file read again, from disk, each module it loads — jest's own expect and
 * jest-circus included — and decoded it again, only for jest's per-worker transform cache to hand
 * back the code it already had for most of them. Here a module is read once per worker and each
 * later use checks the file's stat (modification and change times, size, inode) against the one
 * taken before it was read: an edited or replaced file is read again, a deleted one reads as
 * missing and jest reports it as it would have.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';

interface Kept {
  readonly source: string;
  readonly stamp: string;
}

/**
 * What a file's stat says about its contents: a write moves the change time, a replacement the
 * inode. File times come from the kernel's coarse clock (a few milliseconds), so a write of the
 * same length within the tick of the stamp's own stat would pass unseen — as it would by jest's
 * own transform cache, which goes by modification time alone.
 */
function stampOf(stats: Stats): string {
  return `${stats.mtimeMs}:${stats.ctimeMs}:${stats.size}:${stats.ino}`;
}

export class SharedSources {
  readonly #kept = new Map<string, Kept>();
  #filesRead = 0;

  /** How many times a file was read from disk (a kept source still current is not read again). */
  get filesRead(): number {
    return this.#filesRead;
  }

  /** The file's current text, or undefined when it cannot be read (jest then reads it and says why). */
  read(filename: string): string | undefined {
    const kept = this.#kept.get(filename);
    let stamp: string;
    let source: string;
    try {
      const stats = statSync(filename, { throwIfNoEntry: false });
      if (stats === undefined || !stats.isFile()) {
        this.#kept.delete(filename);
        return undefined;
      }
      stamp = stampOf(stats);
      if (kept !== undefined && kept.stamp === stamp) {
        return kept.source;
      }
      // Stamped before reading: a write that lands during the read changes the stamp the next
      // use sees, so the text read here is never kept past it.
      source = readFileSync(filename, 'utf8');
    } catch {
      this.#kept.delete(filename);
      return undefined;
    }
    this.#filesRead += 1;
    this.#kept.set(filename, { source, stamp });
    return source;
  }
}

/**
 * A test file's file cache (jest's `cacheFS`: path → source) that answers from the worker's shared
 * sources what the file itself does not hold yet. As with jest's own, a file's source is taken
 * once per test file and held for the rest of it (the shared sources check the file's stat each
 * time a test file first asks); what jest sets (the test file's own source, read before the
 * runtime exists) stays with the file; clearing it leaves the shared sources alone.
 */
export class SharedSourceMap extends Map<string, string> {
  readonly #shared: SharedSources;

  constructor(shared: SharedSources, own: Iterable<readonly [string, string]> = []) {
    super(own);
    this.#shared = shared;
  }

  override get(filename: string): string | undefined {
    const held = super.get(filename);
    if (held !== undefined) {
      return held;
    }
    const source = this.#shared.read(filename);
    if (source !== undefined) {
      super.set(filename, source);
    }
    return source;
  }
}
