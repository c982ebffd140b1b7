/**
 * kill -9 proof for the embedded store: a child process writes as fast as it can and prints a
 * line per acknowledged write; the parent SIGKILLs it mid-stream, reopens the file and checks that
 * every acknowledged write is there, with its content, and that the database is intact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { Encounter } from '@medplum/fhirtypes';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { spawnChild, stopChild, within } from '../support/child.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dripline-crash-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Kill after this many acknowledged writes, or at the deadline if a busy machine gets fewer. */
const KILL_AFTER_ACKS = 300;
const KILL_DEADLINE_MS = 20_000;

interface Acks {
  resources: { id: string; version: string; marker: string }[];
  jobs: { key: string; jobId: string; marker: string }[];
  signal: NodeJS.Signals | null;
  total: number;
  /** Why the child was killed: the count was reached, or the deadline passed first. */
  killedAt: 'count' | 'deadline';
}

async function runAndKill(path: string): Promise<Acks> {
  const child = spawnChild(join(here, 'crash-writer.ts'), [path], { stdin: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const acks: Acks = { resources: [], jobs: [], signal: null, total: 0, killedAt: 'count' };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (_code, signal) => {
      acks.signal = signal;
      resolve();
    });
  });
  // The kill comes at the count or at the deadline, whichever is first: a slow machine gives
  // fewer acknowledgements, never a test that waits for ever with the writer still writing.
  const deadline = setTimeout(() => {
    acks.killedAt = 'deadline';
    child.kill('SIGKILL');
  }, KILL_DEADLINE_MS);
  try {
    const lines = createInterface({ input: child.stdout! });
    for await (const line of lines) {
      const [kind, a, b, c, d] = line.split(' ');
      if (kind === 'R' && a && b && c) {
        acks.resources.push({ id: a, version: b, marker: c });
      } else if (kind === 'J' && a && b && c) {
        acks.jobs.push({ key: a, jobId: b, marker: c });
      } else if (kind === 'B' && a && b && c && d) {
        acks.resources.push({ id: a, version: '1', marker: d });
        acks.jobs.push({ key: b, jobId: c, marker: d });
      } else {
        continue;
      }
      acks.total++;
      if (acks.total === KILL_AFTER_ACKS) {
        child.kill('SIGKILL');
      }
    }
    await within(exited, 10_000, () => undefined);
  } finally {
    clearTimeout(deadline);
    await stopChild(child);
  }
  if (acks.signal !== 'SIGKILL') {
    throw new Error(`crash-writer exited without being killed (signal ${String(acks.signal)}): ${stderr}`);
  }
  return acks;
}

describe('SQLite durability', () => {
  test('every acknowledged write survives kill -9 and the database passes integrity_check', async () => {
    const path = join(dir, 'crash.db');
    const acks = await runAndKill(path);
    // Killed mid-stream: it was writing when the kill landed (at the count, or at the deadline).
    expect(acks.total).toBeGreaterThan(0);
    console.log(`durability: killed after ${acks.total} acknowledged writes (${acks.killedAt})`);

    const store = await openSqliteStore({ path });
    try {
      expect(store.connection.get('PRAGMA integrity_check')?.['integrity_check']).toBe('ok');
      expect(store.connection.all('PRAGMA foreign_key_check')).toEqual([]);

      for (const ack of acks.resources) {
        const version = (await store.resources.vread(
          'crash-tenant',
          'Encounter',
          ack.id,
          ack.version,
        )) as Encounter;
        expect(version.identifier?.[0]?.value).toBe(ack.marker);
        const current = await store.resources.read('crash-tenant', 'Encounter', ack.id);
        expect(Number(current.meta.versionId)).toBeGreaterThanOrEqual(Number(ack.version));
      }
      for (const ack of acks.jobs) {
        const job = await store.jobs.getJob(ack.jobId);
        expect(job).toMatchObject({
          key: ack.key,
          queue: 'crash',
          tenant: 'crash-tenant',
          payload: { marker: ack.marker },
        });
      }
      // The store keeps working after the crash.
      const after = await store.resources.create('crash-tenant', { resourceType: 'Patient' });
      expect(after.created).toBe(true);
    } finally {
      await store.close();
    }
  }, 60_000);
});
