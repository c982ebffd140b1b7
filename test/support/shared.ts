/**
 * Public example data in the sibling `shared/` folder (../shared from the repository root: IG
 * examples, CMS tables), which is not copied into the repository. A test that reads it is declared
 * through `describeShared`, which decides at load time: with the folder, its tests run; without it,
 * they are reported as skipped, with the missing path in their name — never passed by returning
 * early. `DRIPLINE_SHARED_DIR` points the tests at another folder (e.g. an empty one, to see the
 * skips).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from '@jest/globals';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The shared folder the tests read: DRIPLINE_SHARED_DIR, else ../shared next to the repository. */
export const SHARED_DIR = path.resolve(
  process.env['DRIPLINE_SHARED_DIR'] ?? path.join(REPO_ROOT, '..', 'shared'),
);

/** `../shared/<parts>` (under SHARED_DIR). */
export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}

/**
 * `describe(name, () => body(dir))` when `../shared/<parts>` exists; otherwise a skipped block
 * whose one skipped test names the missing folder, so the run reports it.
 */
export function describeShared(parts: readonly string[], name: string, body: (dir: string) => void): void {
  const dir = sharedPath(...parts);
  if (existsSync(dir)) {
    describe(name, () => body(dir));
    return;
  }
  describe.skip(`${name} (skipped: ${dir} not found)`, () => {
    test(`needs ${dir}`, () => undefined);
  });
}
