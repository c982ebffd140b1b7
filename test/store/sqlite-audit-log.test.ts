/**
 * The SQLite store's audit log (src/store/sqlite/audit-log.ts): read audits written direct while
 * few, through the audit journal with a thread filing them once many; AuditEvent reads see every
 * event appended before them either way; nothing acknowledged is lost when the process dies with
 * events still journaled; moving a row twice files it once; a thread that fails leaves appends
 * going direct.
 */
import { randomUUIDv7 } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { StoreQuery } from '../../src/store/port.ts';
import { appendJournaledInTx, journalRowCount, moveJournaled } from '../../src/store/sqlite/audit-journal.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { waitFor } from '../support/wait.ts';
import { afterReopening, killedAuditWriter } from './audit-killed-writer.ts';
import { readAudit, untilJournaling } from './audit-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-audit-log-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const TENANT = 'audited';
const IDLE_THREAD = new URL('./audit-thread-idle.ts', import.meta.url);
let files = 0;
const freshPath = (): string => join(dir, `store-${String(++files)}.sqlite`);

function byEntity(reference: string): StoreQuery {
  return {
    resourceType: 'AuditEvent',
    filters: [{ code: 'entity', kind: 'reference', values: [reference] }],
    sort: [],
    count: 100,
    offset: 0,
    total: true,
  };
}

describe('the SQLite audit log', () => {
  test('few reads: events are written straight into the main file, no thread', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    try {
      const event = readAudit(randomUUIDv7(), 'Patient/few');
      await store.auditLog.append(TENANT, [event]);
      expect(store.auditLog.journaling).toBe(false);
      expect(journalRowCount(store.auditJournalConnection)).toBe(0);
      const found = await store.resources.search(TENANT, byEntity('Patient/few'));
      expect(found.resources.map((r) => r.id)).toEqual([event.id]);
    } finally {
      await store.close();
    }
  });

  test('many reads: the thread files the journaled events; a search before that sees them all', async () => {
    const store = await openSqliteStore({
      path: freshPath(),
      auditLog: { threadAtEventsPerSecond: 0, threadModule: IDLE_THREAD },
    });
    try {
      await untilJournaling(store, TENANT);
      const events = Array.from({ length: 5 }, () => readAudit(randomUUIDv7(), 'Patient/many'));
      await store.auditLog.append(TENANT, events);
      // Durable in the journal, not yet in the main file (this thread never files).
      expect(journalRowCount(store.auditJournalConnection)).toBe(5);
      const found = await store.resources.search(TENANT, byEntity('Patient/many'));
      expect(found.total).toBe(5);
      expect(found.resources.map((r) => r.id).sort()).toEqual(events.map((e) => e.id).sort());
      const one = await store.resources.read(TENANT, 'AuditEvent', events[0]!.id);
      expect(one.meta.versionId).toBe('1');
      expect(journalRowCount(store.auditJournalConnection)).toBe(0);
    } finally {
      await store.close();
    }
  });

  test('another connection to the same files (another process) sees the events journaled here', async () => {
    const path = freshPath();
    const writer = await openSqliteStore({
      path,
      auditLog: { threadAtEventsPerSecond: 0, threadModule: IDLE_THREAD },
    });
    const reader = await openSqliteStore({ path });
    try {
      await untilJournaling(writer, TENANT);
      const event = readAudit(randomUUIDv7(), 'Patient/elsewhere');
      await writer.auditLog.append(TENANT, [event]);
      expect(journalRowCount(writer.auditJournalConnection)).toBe(1);
      const found = await reader.resources.search(TENANT, byEntity('Patient/elsewhere'));
      expect(found.resources.map((r) => r.id)).toEqual([event.id]);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  test('the real thread files them on its own', async () => {
    const store = await openSqliteStore({ path: freshPath(), auditLog: { threadAtEventsPerSecond: 0 } });
    try {
      await untilJournaling(store, TENANT);
      const events = Array.from({ length: 300 }, (_, i) => readAudit(randomUUIDv7(), `Patient/t-${i % 7}`));
      for (let i = 0; i < events.length; i += 30) {
        await store.auditLog.append(TENANT, events.slice(i, i + 30));
      }
      await waitFor(
        'the thread filed every event',
        () => journalRowCount(store.auditJournalConnection) === 0,
      );
      expect(store.auditLog.filedByThread).toBeGreaterThanOrEqual(300);
      const found = await store.resources.search(TENANT, { ...byEntity('Patient/t-3'), count: 1000 });
      expect(found.total).toBe(events.filter((_, i) => i % 7 === 3).length);
    } finally {
      await store.close();
    }
  });

  test('the thread stops looking at an empty journal, and an append wakes it', async () => {
    const store = await openSqliteStore({
      path: freshPath(),
      auditLog: { threadAtEventsPerSecond: 0, threadSleepAfterMs: 30 },
    });
    try {
      await untilJournaling(store, TENANT);
      await waitFor('the thread asleep', () => store.auditLog.threadSleeping, 10_000, 5);
      const filed = store.auditLog.filedByThread;
      await store.auditLog.append(TENANT, [readAudit(randomUUIDv7(), 'Patient/woken')]);
      expect(store.auditLog.threadSleeping).toBe(false);
      await waitFor('the thread filed it', () => store.auditLog.filedByThread > filed, 10_000, 5);
      expect(journalRowCount(store.auditJournalConnection)).toBe(0);
    } finally {
      await store.close();
    }
  });

  test('a row moved twice (a crash between the two files’ commits) is filed once', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    try {
      const journal = store.auditJournalConnection;
      const event = {
        ...readAudit(randomUUIDv7(), 'Patient/twice'),
        meta: { versionId: '1', lastUpdated: '2026-12-06T15:00:01.000Z' },
      };
      for (let round = 0; round < 2; round++) {
        journal.transaction(() => appendJournaledInTx(journal, TENANT, [event]));
        expect(moveJournaled(store.connection, journal, 10)).toBe(1);
      }
      const found = await store.resources.search(TENANT, byEntity('Patient/twice'));
      expect(found.total).toBe(1);
      const rows = store.connection.get(
        "SELECT count(*) AS n FROM idx_reference WHERE type = 'AuditEvent' AND value = 'Patient/twice'",
      );
      expect(Number(rows?.['n'])).toBe(1);
    } finally {
      await store.close();
    }
  });

  test('appends wait while the thread lags more than maxBacklog, and go on once the journal is filed', async () => {
    const store = await openSqliteStore({
      path: freshPath(),
      auditLog: { threadAtEventsPerSecond: 0, threadModule: IDLE_THREAD, maxBacklog: 4 },
    });
    try {
      await untilJournaling(store, TENANT);
      let done = false;
      const appended = store.auditLog
        .append(
          TENANT,
          Array.from({ length: 6 }, () => readAudit(randomUUIDv7(), 'Patient/lag')),
        )
        .then(() => {
          done = true;
        });
      await waitFor(
        'the events journaled',
        () => journalRowCount(store.auditJournalConnection) >= 6,
        10_000,
        5,
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(done).toBe(false);
      store.auditLog.settle();
      await appended;
      expect(done).toBe(true);
    } finally {
      await store.close();
    }
  });

  test('a thread that fails: appends go direct, what it left is filed, it is not started again', async () => {
    const errors: Error[] = [];
    const store = await openSqliteStore({
      path: freshPath(),
      auditLog: {
        threadAtEventsPerSecond: 0,
        threadModule: new URL('./no-such-audit-thread.ts', import.meta.url),
        onError: (err) => errors.push(err),
      },
    });
    try {
      for (let i = 0; i < 20; i++) {
        await store.auditLog.append(TENANT, [readAudit(randomUUIDv7(), 'Patient/failed')]);
      }
      await waitFor('the failed thread noticed', () => errors.length > 0, 10_000, 10);
      for (let i = 0; i < 20; i++) {
        await store.auditLog.append(TENANT, [readAudit(randomUUIDv7(), 'Patient/failed')]);
      }
      expect(store.auditLog.journaling).toBe(false);
      expect(errors).toHaveLength(1);
      const found = await store.resources.search(TENANT, byEntity('Patient/failed'));
      expect(found.total).toBe(40);
    } finally {
      await store.close();
    }
  });

  test('kill -9 with events only in the journal: every acknowledged event is found after reopening', async () => {
    const path = freshPath();
    const acked = await killedAuditWriter(path, 'reads', 200);
    // Filed at open: nothing waits any more, and every acknowledged id is an AuditEvent.
    expect(
      await afterReopening(path, acked, (store) => journalRowCount(store.auditJournalConnection)),
    ).toEqual({ waiting: 0, missing: [] });
  });
});
