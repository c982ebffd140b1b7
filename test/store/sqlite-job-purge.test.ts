/**
 * The embedded store purges a key prefix's finished jobs (`JobQueue.purgeDone` with `keyPrefix`,
 * what the PAS queue's housekeeping retention uses) through a range of the jobs table's unique
 * (tenant, queue, key) index: a batch reads the prefix's rows only, never the queue's other finished
 * jobs, which that queue keeps for good (idempotency records).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { purgeDoneByKeySql } from '../../src/store/sqlite/jobs.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-job-purge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a prefix purge seeks the unique key index over the prefix range', async () => {
  const store = await openSqliteStore({ path: join(dir, 'plan.sqlite') });
  try {
    const plan = store.connection
      .all(`EXPLAIN QUERY PLAN ${purgeDoneByKeySql(10)}`, 't', 'q', 'hk|', 'hk}', new Date().toISOString())
      .map((row) => String(row['detail']));
    const unique = store.connection
      .all("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'")
      .map((row) => String(row['name']))
      .filter((name) => name.startsWith('sqlite_autoindex_jobs_'));
    // The one on (tenant, queue, key): the other is the primary key's (id).
    const keyIndex = unique.find((name) =>
      store.connection.all(`PRAGMA index_info(${name})`).some((row) => String(row['name']) === 'key'),
    );
    expect(keyIndex).toBeDefined();
    expect(plan.join('\n')).toContain(`USING INDEX ${keyIndex!} (tenant=? AND queue=? AND key>? AND key<?)`);
    expect(plan.join('\n')).not.toMatch(/SCAN jobs|jobs_list|TEMP B-TREE/);
  } finally {
    await store.close();
  }
});
