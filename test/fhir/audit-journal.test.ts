/**
 * Reads and creates over HTTP while the store journals their AuditEvents
 * (src/store/sqlite/audit-log.ts, its thread started from the first read here): every read is
 * answered only once its event is durable in the journal, every create once its event is pending in
 * the create's own transaction (src/store/sqlite/audit-pending.ts), and an AuditEvent search right
 * after finds one event per interaction, naming the client, though no thread has filed them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { journalRowCount } from '../../src/store/sqlite/audit-journal.ts';
import { pendingRowCount } from '../../src/store/sqlite/audit-pending.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { patient } from './fixtures.ts';

const TENANT = 'sandbox';
let dir: string;
let store: SqliteStore;
let server: TestServer;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dripline-audit-journal-'));
  store = await openSqliteStore({
    path: join(dir, 'dripline.sqlite'),
    // A thread that never files (../store/audit-thread-idle.ts): the events stay journaled until
    // something reads AuditEvents, as when the real one lags behind a burst of reads.
    auditLog: {
      threadAtEventsPerSecond: 0,
      threadModule: new URL('../store/audit-thread-idle.ts', import.meta.url),
    },
  });
  server = await startTestServer({}, { store });
  token = await server.token(TENANT, 'system/Patient.crs system/AuditEvent.rs');
});

afterAll(async () => {
  await server.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('read audits through the journal', () => {
  test('20 reads, then AuditEvent?entity finds their 20 events, of this client, still journaled', async () => {
    const created = await store.resources.create(TENANT, patient('MRN-JOURNAL'));
    const id = created.resource.id;
    // The thread starts at the first audited read and is ready soon after.
    let warmUpReads = 0;
    await waitFor(
      'the audit log journaling',
      async () => {
        expect((await fhirFetch(`${server.fhir}/Patient/${id}`, token)).status).toBe(200);
        warmUpReads++;
        return store.auditLog.journaling;
      },
      20_000,
      10,
    );
    const reads = await Promise.all(
      Array.from({ length: 20 }, () => fhirFetch(`${server.fhir}/Patient/${id}`, token)),
    );
    expect(reads.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
    expect(journalRowCount(store.auditJournalConnection)).toBeGreaterThanOrEqual(20);
    const after = await fhirFetch(`${server.fhir}/AuditEvent?entity=Patient/${id}&_count=100`, token);
    expect(after.status).toBe(200);
    const events = ((after.body as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource);
    const readEvents = events.filter((e) => e?.subtype?.[0]?.code === 'read');
    expect(readEvents).toHaveLength(warmUpReads + 20);
    const clientIds = new Set(readEvents.map((e) => e?.agent[0]?.who?.identifier?.value));
    expect(clientIds.size).toBe(1);
    expect(store.auditLog.journaling).toBe(true);
  });

  test('10 creates, then AuditEvent?entity finds each one’s create event, still pending', async () => {
    expect(store.auditLog.journaling).toBe(true);
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fhirFetch(`${server.fhir}/Patient`, token, { method: 'POST', body: patient(`MRN-PENDING-${i}`) }),
      ),
    );
    expect(created.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 201));
    expect(pendingRowCount(store.connection)).toBeGreaterThanOrEqual(10);
    for (const response of created) {
      const id = (response.body as { id: string }).id;
      const found = await fhirFetch(`${server.fhir}/AuditEvent?entity=Patient/${id}&_count=10`, token);
      const events = ((found.body as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource);
      expect(events.map((e) => e?.subtype?.[0]?.code)).toEqual(['create']);
    }
    expect(pendingRowCount(store.connection)).toBe(0);
  });
});
