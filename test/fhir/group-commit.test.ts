/**
 * The FHIR API's creates and updates are group-committed (src/store/group-commit.ts): concurrent
 * requests' writes, each with its AuditEvent, share one transaction; every caller gets its own
 * resource back; a write that fails (a stale If-Match) fails alone and writes neither itself nor
 * its AuditEvent, while the writes grouped with it commit.
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
import type { BatchOperation, Store } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 'grouped';
let dir: string;
let sqlite: Store;
/** Operations per writeBatch call the repository made. */
const calls: number[] = [];
let repo: DriplineRepository;

beforeAll(async () => {
  loadFhirDefinitions();
  dir = mkdtempSync(join(tmpdir(), 'dripline-fhir-group-'));
  sqlite = await openSqliteStore({ path: join(dir, 'dripline.sqlite') });
  const resources = Object.create(sqlite.resources) as Store['resources'];
  resources.writeBatch = (tenant, operations: readonly BatchOperation[]) => {
    calls.push(operations.length);
    return sqlite.resources.writeBatch(tenant, operations);
  };
  const counted = { ...sqlite, resources };
  Object.setPrototypeOf(counted, Object.getPrototypeOf(sqlite) as object);
  repo = new DriplineRepository({
    store: counted,
    audit: new AuditWriter(counted),
    commits: new GroupCommit(counted),
    access: { tenant: TENANT, clientId: 'group-client', assert: () => undefined },
    fhirBaseUrl: 'http://127.0.0.1/fhir',
    publicUrl: 'http://127.0.0.1',
    now: () => new Date(),
  });
});

afterAll(async () => {
  await sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});

const patient = (family: string): Patient => ({ resourceType: 'Patient', name: [{ family }] });

describe('FHIR creates and updates share transactions', () => {
  test('10 concurrent creates: one transaction, each caller its own Patient, each with its AuditEvent', async () => {
    calls.length = 0;
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) => repo.createResource(patient(`Group${i}`))),
    );
    expect(created.map((p) => p.name?.[0]?.family)).toEqual(
      Array.from({ length: 10 }, (_, i) => `Group${i}`),
    );
    expect(new Set(created.map((p) => p.id)).size).toBe(10);
    // One transaction per create without group commit.
    expect(calls).toEqual([20]);
    for (const p of created) {
      expect(((await sqlite.resources.read(TENANT, 'Patient', p.id)) as Patient).name?.[0]?.family).toBe(
        p.name?.[0]?.family,
      );
    }
    const audits = await searchAll<AuditEvent>(sqlite, TENANT, 'AuditEvent');
    for (const p of created) {
      const about = audits.filter((a) => a.entity?.some((e) => e.what?.reference === `Patient/${p.id}`));
      expect(about).toHaveLength(1);
    }
  });

  test('a stale If-Match fails alone (412), the create and update grouped with it commit', async () => {
    const [base] = await Promise.all([repo.createResource(patient('Before'))]);
    const firstUpdate = await repo.updateResource({ ...base, name: [{ family: 'Once' }] });
    calls.length = 0;
    const auditsBefore = (await searchAll<AuditEvent>(sqlite, TENANT, 'AuditEvent')).length;
    const results = await Promise.allSettled([
      repo.createResource(patient('Alongside')),
      // Version 1 is stale: the resource is at version 2.
      repo.updateResource({ ...base, name: [{ family: 'Stale' }] }, { ifMatch: base.meta?.versionId ?? '' }),
      repo.updateResource(
        { ...firstUpdate, name: [{ family: 'Twice' }] },
        { ifMatch: firstUpdate.meta?.versionId ?? '' },
      ),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const failure = (results[1] as PromiseRejectedResult).reason as { outcome?: { id?: string } };
    expect(failure.outcome?.id).toBe('precondition-failed');
    // The group was tried once, then each write alone.
    expect(calls).toEqual([6, 2, 2, 2]);
    expect(((await sqlite.resources.read(TENANT, 'Patient', base.id)) as Patient).name?.[0]?.family).toBe(
      'Twice',
    );
    // Two writes, two AuditEvents: none for the refused update.
    expect((await searchAll<AuditEvent>(sqlite, TENANT, 'AuditEvent')).length).toBe(auditsBefore + 2);
  });
});
