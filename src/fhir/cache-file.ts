/**
 * A committed cache file (./schema-cache.ts, ./search-parameter-cache.ts) read in pieces: its first
 * line, a JSON header, when it is opened; a record's bytes when a process first asks for it, by
 * positional reads. Every process and test file installs both caches and uses a few dozen of their
 * records: reading the files whole (2.2 MB) cost ~5–7 ms of CPU each time.
 *
 * The file is not held open between reads (a test file's module registry installs its own caches,
 * and nothing would close them); each read checks the file is the one whose header was read (same
 * size and modification time), so a cache rebuilt under a running process fails loudly rather
 * than giving another file's records.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';

/** How much of the file is read to find the header line (read again, longer, if it is longer). */
const HEAD_BYTES = 64 * 1024;

export class CacheFile {
  /** The header line, parsed. */
  readonly header: unknown;
  /** Bytes after the header line. */
  readonly bodyLength: number;
  readonly #path: string;
  readonly #bodyStart: number;
  readonly #size: number;
  readonly #mtimeMs: number;

  private constructor(path: string, header: unknown, bodyStart: number, stats: Stats) {
    this.#path = path;
    this.header = header;
    this.#bodyStart = bodyStart;
    this.#size = stats.size;
    this.#mtimeMs = stats.mtimeMs;
    this.bodyLength = stats.size - bodyStart;
  }

  /** The file with its header read, or undefined when there is no file. */
  static open(path: string): CacheFile | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return undefined;
      }
      throw error;
    }
    try {
      const stats = fstatSync(fd);
      let length = Math.min(HEAD_BYTES, stats.size);
      for (;;) {
        const head = readFully(fd, 0, length, path);
        const newline = head.indexOf(0x0a);
        if (newline >= 0) {
          const header = JSON.parse(head.toString('utf8', 0, newline)) as unknown;
          return new CacheFile(path, header, newline + 1, stats);
        }
        if (length === stats.size) {
          throw new Error(`${path} has no header line`);
        }
        length = Math.min(length * 4, stats.size);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** The bytes of each [offset, length] range of the body, read with one open of the file. */
  read(ranges: readonly (readonly [offset: number, length: number])[]): Buffer[] {
    const fd = openSync(this.#path, 'r');
    try {
      const stats = fstatSync(fd);
      if (stats.size !== this.#size || stats.mtimeMs !== this.#mtimeMs) {
        throw new Error(`${this.#path} changed after this process read its header: restart it`);
      }
      return ranges.map(([offset, length]) => {
        if (offset < 0 || length < 0 || offset + length > this.bodyLength) {
          throw new Error(`${this.#path}: bytes ${offset}+${length} are outside its body`);
        }
        return readFully(fd, this.#bodyStart + offset, length, this.#path);
      });
    } finally {
      closeSync(fd);
    }
  }
}

function readFully(fd: number, position: number, length: number, path: string): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const read = readSync(fd, buffer, done, length - done, position + done);
    if (read === 0) {
      throw new Error(`${path} ended ${length - done} bytes early`);
    }
    done += read;
  }
  return buffer;
}
