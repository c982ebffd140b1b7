/**
 * The SQLite store's pending write audits (src/store/sqlite/audit-pending.ts): a FHIR write's
 * AuditEvent (`indexLater`) is filed with the write while events are few, and kept as one pending
 * row in the write's own transaction once the audit thread runs; AuditEvent reads and searches
 * see it either way; it commits with its write or not at all; the thread files it; nothing
 * acknowledged is lost when the process dies with events still pending.
 */
import { randomUUIDv7 } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { BatchOperation, StoreQuery } from '../../src/store/port.ts';
import { pendingRowCount } from '../../src/store/sqlite/audit-pending.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { waitFor } from '../support/wait.ts';
import { afterReopening, killedAuditWriter } from './audit-killed-writer.ts';
import { createAudit, untilJournaling } from './audit-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-write-audits-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const TENANT = 'written';
const IDLE_THREAD = new URL('./audit-thread-idle.ts', import.meta.url);
let files = 0;
const freshPath = (): string => join(dir, `store-${String(++files)}.sqlite`);

function byEntity(reference: string): StoreQuery {
  return {
    resourceType: 'AuditEvent',
    filters: [{ code: 'entity', kind: 'reference', values: [reference] }],
    sort: [],
    count: 1000,
    offset: 0,
    total: true,
  };
}

/** A Patient's create and its AuditEvent, as the FHIR API's repository batches them. */
function createWithAudit(patientId: string): { operations: BatchOperation[]; auditId: string } {
  const event = createAudit(randomUUIDv7(), `Patient/${patientId}`);
  return {
    auditId: event.id,
    operations: [
      { op: 'create', resource: { resourceType: 'Patient' }, options: { id: patientId } },
      { op: 'create', resource: event, options: { id: event.id, indexLater: true } },
    ],
  };
}

const auditRows = (store: SqliteStore): number =>
  Number(store.connection.get("SELECT count(*) AS n FROM resources WHERE type = 'AuditEvent'")?.['n']);

describe("the SQLite store's pending write audits", () => {
  test('few writes: the AuditEvent is filed with its write, nothing pending', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    try {
      const { operations, auditId } = createWithAudit('few');
      await store.resources.writeBatch(TENANT, operations);
      expect(store.auditLog.journaling).toBe(false);
      expect(pendingRowCount(store.connection)).toBe(0);
      expect(auditRows(store)).toBe(1);
      const found = await store.resources.search(TENANT, byEntity('Patient/few'));
      expect(found.resources.map((r) => r.id)).toEqual([auditId]);
    } finally {
      await store.close();
    }
  });

  test('many: kept pending in the write’s transaction; a read or search before the thread files it sees it', async () => {
    const store = await openSqliteStore({
      path: freshPath(),
      auditLog: { threadAtEventsPerSecond: 0, threadModule: IDLE_THREAD },
    });
    try {
      await untilJournaling(store, TENANT);
      const before = auditRows(store);
      const writes = Array.from({ length: 5 }, (_, i) => createWithAudit(`many-${i}`));
      const results = await store.resources.writeBatch(
        TENANT,
        writes.flatMap((w) => w.operations),
      );
      // Answered as a create: the stored AuditEvent, version 1.
      expect(results[1]?.op === 'create' ? results[1].result.resource.meta.versionId : undefined).toBe('1');
      // Durable as pending rows, not yet AuditEvents (this thread never files).
      expect(pendingRowCount(store.connection)).toBe(5);
      expect(auditRows(store)).toBe(before);
      const one = await store.resources.read(TENANT, 'AuditEvent', writes[0]!.auditId);
      expect((one as { action?: string }).action).toBe('C');
      expect(pendingRowCount(store.connection)).toBe(0);
      for (const [i, write] of writes.entries()) {
        const found = await store.resources.search(TENANT, byEntity(`Patient/many-${i}`));
        expect(found.resources.map((r) => r.id)).toEqual([write.auditId]);
      }
    } finally {
      await store.close();
    }
  });

  test('a write that fails keeps no pending event', async () => {
    const store = await openSqliteStore({
      path: freshPath(),
      auditLog: { threadAtEventsPerSecond: 0, threadModule: IDLE_THREAD },
    });
    try {
      await untilJournaling(store, TENANT);
      await store.resources.create(TENANT, { resourceType: 'Patient' }, { id: 'taken' });
      const { operations, auditId } = createWithAudit('taken');
      // The audit first, then the Patient whose id exists: the whole batch is refused.
      await expect(store.resources.writeBatch(TENANT, [operations[1]!, operations[0]!])).rejects.toThrow(
        /already exists/,
      );
      expect(pendingRowCount(store.connection)).toBe(0);
      await expect(store.resources.read(TENANT, 'AuditEvent', auditId)).rejects.toThrow();
    } finally {
      await store.close();
    }
  });

  test('the real thread files pending events on its own', async () => {
    const store = await openSqliteStore({ path: freshPath(), auditLog: { threadAtEventsPerSecond: 0 } });
    try {
      await untilJournaling(store, TENANT);
      const writes = Array.from({ length: 200 }, (_, i) => createWithAudit(`t-${i}`));
      for (let i = 0; i < writes.length; i += 20) {
        await store.resources.writeBatch(
          TENANT,
          writes.slice(i, i + 20).flatMap((w) => w.operations),
        );
      }
      await waitFor('the thread filed every pending event', () => pendingRowCount(store.connection) === 0);
      expect(store.auditLog.filedByThread).toBeGreaterThanOrEqual(200);
      const found = await store.resources.search(TENANT, byEntity('Patient/t-123'));
      expect(found.resources.map((r) => r.id)).toEqual([writes[123]!.auditId]);
    } finally {
      await store.close();
    }
  });

  test('kill -9 with events only pending: every acknowledged write’s event is found after reopening', async () => {
    const path = freshPath();
    const acked = await killedAuditWriter(path, 'writes', 100);
    // Filed at open: nothing waits any more, and every acknowledged id is an AuditEvent.
    expect(await afterReopening(path, acked, (store) => pendingRowCount(store.connection))).toEqual({
      waiting: 0,
      missing: [],
    });
  });
});
