/**
 * AuditEvent ids are time-ordered (UUID v7, src/fhir/audit.ts `newAuditEventId`), so the store's
 * id indexes take each read's AuditEvent at their end instead of at a random page; resources keep
 * random (v4) ids.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditEvent, Patient } from '@medplum/fhirtypes';
import { AuditWriter } from '../../src/fhir/audit-writer.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { DriplineRepository } from '../../src/fhir/repository.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';
import type { Store } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 'audit-ids';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let dir: string;
let store: Store;
let repo: DriplineRepository;

beforeAll(async () => {
  loadFhirDefinitions();
  dir = mkdtempSync(join(tmpdir(), 'dripline-audit-ids-'));
  store = await openSqliteStore({ path: join(dir, 'dripline.sqlite') });
  repo = new DriplineRepository({
    store,
    audit: new AuditWriter(store),
    commits: new GroupCommit(store),
    access: { tenant: TENANT, clientId: 'audit-ids-client', assert: () => undefined },
    fhirBaseUrl: 'http://127.0.0.1/fhir',
    publicUrl: 'http://127.0.0.1',
    now: () => new Date(),
  });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('AuditEvent ids', () => {
  test('the AuditEvents of successive reads have UUID v7 ids that sort in the order written', async () => {
    const patient = await repo.createResource<Patient>({
      resourceType: 'Patient',
      name: [{ family: 'Ordered' }],
    });
    expect(patient.id).toMatch(UUID_V4);
    const readCount = 30;
    for (let i = 0; i < readCount; i++) {
      await repo.readResource('Patient', patient.id);
      // A new millisecond for every read: v7 orders ids across milliseconds.
      const at = Date.now();
      while (Date.now() === at) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const audits = (await searchAll<AuditEvent>(store, TENANT, 'AuditEvent')).filter(
      (a) => a.subtype?.[0]?.code === 'read',
    );
    expect(audits).toHaveLength(readCount);
    const ids = audits.map((a) => a.id ?? '');
    for (const id of ids) {
      expect(id).toMatch(UUID_V7);
    }
    const byRecorded = [...audits]
      .sort((a, b) => (a.recorded ?? '').localeCompare(b.recorded ?? ''))
      .map((a) => a.id);
    expect([...ids].sort()).toEqual(byRecorded);
  });
});
