/**
 * Runs ./audit-journal-writer.ts as a child process on a store file, kills it with SIGKILL once it
 * has acknowledged `killAfter` events, and returns every event id it acknowledged: the kill -9
 * proofs of the audit journal (reads) and of pending write audits (writes).
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from '@jest/globals';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { spawnChild, stopChild, within } from '../support/child.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The tenant the writer writes to. */
export const KILLED_WRITER_TENANT = 'crash-tenant';

export async function killedAuditWriter(
  path: string,
  mode: 'reads' | 'writes',
  killAfter: number,
): Promise<string[]> {
  const child = spawnChild(join(here, 'audit-journal-writer.ts'), [path, mode], { stdin: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const acked: string[] = [];
  let journaling = false;
  const exited = new Promise<NodeJS.Signals | null>((resolve) => {
    child.once('exit', (_code, signal) => resolve(signal));
  });
  try {
    const lines = createInterface({ input: child.stdout! });
    for await (const line of lines) {
      if (line === 'JOURNALING') {
        journaling = true;
      } else if (line.startsWith('A ')) {
        acked.push(line.slice(2));
        if (acked.length === killAfter) {
          child.kill('SIGKILL');
        }
      }
    }
    expect(await within(exited, 10_000, () => null)).toBe('SIGKILL');
  } finally {
    await stopChild(child);
  }
  expect(journaling).toBe(true);
  expect(acked.length).toBeGreaterThanOrEqual(killAfter);
  expect(stderr).toBe('');
  return acked;
}

/**
 * Reopens the killed writer's store (which files what it left) and says how many events still
 * wait by `waiting` and which acknowledged ids are not AuditEvents: both should be none.
 */
export async function afterReopening(
  path: string,
  acked: readonly string[],
  waiting: (store: SqliteStore) => number,
): Promise<{ waiting: number; missing: string[] }> {
  const store = await openSqliteStore({ path });
  try {
    const missing: string[] = [];
    for (const id of acked) {
      await store.resources.read(KILLED_WRITER_TENANT, 'AuditEvent', id).catch(() => missing.push(id));
    }
    return { waiting: waiting(store), missing };
  } finally {
    await store.close();
  }
}
