/**
 * The inbox's checkpoint schedule (src/store/sqlite/inbox.ts, `InboxCheckpoints`): a worker's
 * lease checkpoints the inbox's WAL at most every 500 ms (CHECKPOINT_INTERVAL_MS; at 250 ms the
 * checkpoints cost the ingest worker four times the CPU for the same WAL high-water). Seen from
 * the file: in WAL mode the database file only takes the committed pages when a checkpoint copies
 * them there.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { INBOX_QUEUE } from '../../src/store/port.ts';
import { InboxCheckpoints, openInbox } from '../../src/store/sqlite/inbox.ts';
import { SqliteJobTable } from '../../src/store/sqlite/jobs.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-inbox-checkpoints-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('inbox checkpoints', () => {
  test('run at most every 500 ms of elapsed time, and then copy the WAL into the file', async () => {
    const path = join(dir, 'inbox.sqlite');
    const conn = openInbox({ path });
    const jobs = new SqliteJobTable(conn, () => new Date('2026-12-05T12:00:00Z'));
    let elapsed = 10_000;
    const checkpoints = new InboxCheckpoints(conn, () => elapsed);
    let written = 0;
    const enqueueSome = async (): Promise<void> => {
      for (let n = 0; n < 200; n++, written++) {
        await jobs.enqueue('t1', { queue: INBOX_QUEUE, key: `job-${written}`, payload: { n: written } });
      }
    };
    const fileBytes = (): number => statSync(path).size;
    try {
      // Checkpoint what the schema wrote, so the file only grows by a checkpoint of the jobs below.
      conn.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      await enqueueSome();
      const before = fileBytes();

      for (const at of [10_001, 10_250, 10_499]) {
        elapsed = at;
        checkpoints.checkpointIfDue();
        expect({ at, bytes: fileBytes() }).toEqual({ at, bytes: before });
      }
      elapsed = 10_500;
      checkpoints.checkpointIfDue();
      const afterFirst = fileBytes();
      expect(afterFirst).toBeGreaterThan(before);

      // The next one counts from the last: not before another 500 ms.
      await enqueueSome();
      for (const at of [10_501, 10_750, 10_999]) {
        elapsed = at;
        checkpoints.checkpointIfDue();
        expect({ at, bytes: fileBytes() }).toEqual({ at, bytes: afterFirst });
      }
      elapsed = 11_000;
      checkpoints.checkpointIfDue();
      expect(fileBytes()).toBeGreaterThan(afterFirst);
    } finally {
      conn.close();
    }
  });
});
