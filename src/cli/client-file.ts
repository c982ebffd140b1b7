/**
 * Where a client's private key goes when the operator names a file (`--out`): created new (an
 * existing file is never overwritten), readable by its owner only (0600, in directories created
 * 0700), and never inside a git work tree, where it could be committed by accident. Without
 * `--out` the CLI prints the client file to stdout and writes nothing.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A file the CLI will not write, with the reason (the CLI exits 2 with it). */
export class ClientFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientFileError';
  }
}

/** The root of the git work tree holding `dir` (a `.git` directory or file up the tree), if any. */
export function gitWorkTreeOf(dir: string): string | undefined {
  let current = path.resolve(dir);
  for (;;) {
    if (existsSync(path.join(current, '.git'))) {
      return current;
    }
    const parent = path.dirname(current);
    if (parent === current) {
      return undefined;
    }
    current = parent;
  }
}

/**
 * Checks that a client file may be written at `target` (call before registering or rotating, so a
 * refusal changes nothing); returns the absolute path. Throws ClientFileError.
 */
export function checkSecretFileTarget(target: string): string {
  const file = path.resolve(target);
  const repo = gitWorkTreeOf(path.dirname(file));
  if (repo !== undefined) {
    throw new ClientFileError(
      `refusing to write a private key inside the git work tree ${repo}: name a path outside it ` +
        '(e.g. ~/.config/dripline/client.json), or omit --out to print it',
    );
  }
  if (existsSync(file)) {
    throw new ClientFileError(`${file} already exists: a client file is never overwritten`);
  }
  return file;
}

/** Writes `text` to a new file at `target` with mode 0600; throws ClientFileError when it may not. */
export function writeSecretFile(target: string, text: string): string {
  const file = checkSecretFileTarget(target);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx': create, fail if it appeared meanwhile; the mode applies to the new file.
    writeFileSync(file, text, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ClientFileError(`${file} already exists: a client file is never overwritten`);
    }
    throw err;
  }
  return file;
}
