/**
 * The embedded store writes no sort key for a token parameter of a mutable type: a sort by one reads
 * the token's own index rows through `idx_token_res` (src/store/sqlite/token-sort.ts). The
 * append-only types, which have no such index, keep theirs. (What the sorts return is the store
 * contract's: test/store/contract-search.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { AuditEvent, Task } from '@medplum/fhirtypes';
import { compileSearch } from '../../src/store/sqlite/search-sql.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 't';
const dir = mkdtempSync(join(tmpdir(), 'dripline-token-sort-'));
let store: SqliteStore;

beforeAll(async () => {
  store = await openSqliteStore({ path: join(dir, 'store.sqlite') });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function sortKeyCodes(type: string, id: string): string[] {
  return store.connection
    .all(
      'SELECT s.code AS code FROM sort_keys s JOIN resources r ON r.pk = s.res ' +
        'WHERE r.tenant = ? AND r.type = ? AND r.id = ? ORDER BY s.code',
      TENANT,
      type,
      id,
    )
    .map((row) => String(row['code']));
}

test("a Task's sort keys are its dates only; an AuditEvent keeps its tokens' keys", async () => {
  const task: Task = {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: 'urn:test:task', code: 'review' }] },
    authoredOn: '2026-12-01T09:00:00Z',
    lastModified: '2026-12-01T09:00:00Z',
  };
  await store.resources.create(TENANT, task, { id: 'task-1' });
  expect(sortKeyCodes('Task', 'task-1')).toEqual(['authored-on', 'modified']);

  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    action: 'R',
    recorded: '2026-12-01T09:00:00Z',
    outcome: '0',
    agent: [{ requestor: true, who: { display: 'test' } }],
    source: { observer: { display: 'test' } },
  };
  await store.resources.create(TENANT, event, { id: 'audit-1' });
  expect(sortKeyCodes('AuditEvent', 'audit-1')).toEqual(
    expect.arrayContaining(['action', 'outcome', 'type']),
  );
});

test('a sort by a token of a mutable type reads idx_token through idx_token_res', () => {
  const compiled = compileSearch(TENANT, {
    resourceType: 'Task',
    filters: [],
    sort: [{ code: 'status', descending: false }],
    count: 10,
    offset: 0,
    total: false,
  });
  expect(compiled.selectSql).not.toContain('sort_keys');
  const plan = store.connection
    .all(`EXPLAIN QUERY PLAN ${compiled.selectSql}`, ...compiled.selectParams)
    .map((row) => String(row['detail']))
    .join('\n');
  expect(plan).toContain('idx_token_res');
});
