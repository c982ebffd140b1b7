/**
 * What a transaction of the ingest worker's copies ends with (src/ingest/copy-commit.ts): their
 * AuditEvents, one per patient (and EHR connection), each copy version named once with its
 * lifecycle (src/ingest/copy-audit.ts), and their charge capture events, one job per encounter
 * (src/ingest/encounter-events.ts mergedEncounterChanges); through the worker's group commit on a
 * real SQLite store, where a write that fails its group is retried alone with its own, and a
 * write that fails alone leaves nothing behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { CopyAudit } from '../../src/ingest/copy-audit.ts';
import { copyAuditEvents } from '../../src/ingest/copy-audit.ts';
import { copyGroupCommit } from '../../src/ingest/copy-commit.ts';
import { mergedEncounterChanges } from '../../src/ingest/encounter-events.ts';
import type { EncounterChangedEvent } from '../../src/ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import type { CopyNote } from '../../src/ingest/copies.ts';
import type { BatchOperation } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 'copy-audit';
let next = 0;
const deps = {
  now: () => new Date('2026-12-07T12:00:00Z'),
  generateId: () => `audit-${++next}`,
  publicUrl: 'https://dripline.example.org',
};

function audit(
  resource: string,
  patients: string[],
  interaction: CopyAudit['interaction'] = 'create',
): CopyAudit {
  return { clientId: 'ehr-connection/ehr-1', interaction, resource, patients };
}

function note(resource: string, patients: string[], events: EncounterChangedEvent[] = []): CopyNote {
  return { audit: audit(resource, patients), events };
}

function events(operations: readonly BatchOperation[]): AuditEvent[] {
  return operations.map((op) => {
    if (op.op !== 'create' || op.resource.resourceType !== 'AuditEvent') {
      throw new Error(`not an AuditEvent create: ${JSON.stringify(op)}`);
    }
    return op.resource;
  });
}

const named = (event: AuditEvent | undefined, role: 'data' | 'patient'): string[] =>
  (event?.entity ?? [])
    .filter((e) => (role === 'patient' ? e.role?.code === '1' : e.type?.code === '2'))
    .map((e) => e.what?.reference ?? '');

describe('copyAuditEvents', () => {
  test('one event per patient, each copy version named once with its lifecycle', () => {
    const [p1, p2, none] = events(
      copyAuditEvents(
        [
          audit('MedicationAdministration/a/_history/1', ['Patient/p1']),
          audit('MedicationAdministration/b/_history/1', ['Patient/p2']),
          audit('Encounter/e/_history/3', ['Patient/p1', 'Patient/p1'], 'update'),
          audit('Medication/m/_history/1', []),
        ],
        deps,
      ),
    );
    expect(named(p1, 'data')).toEqual(['MedicationAdministration/a/_history/1', 'Encounter/e/_history/3']);
    expect(named(p1, 'patient')).toEqual(['Patient/p1']);
    expect(p1?.subtype?.[0]?.code).toBe('update');
    expect(p1?.entity?.map((e) => e.lifecycle?.code)).toEqual(['originate', 'amend', undefined]);
    expect(named(p2, 'data')).toEqual(['MedicationAdministration/b/_history/1']);
    expect(named(p2, 'patient')).toEqual(['Patient/p2']);
    expect(p2?.subtype?.[0]?.code).toBe('create');
    expect(named(none, 'data')).toEqual(['Medication/m/_history/1']);
    expect(named(none, 'patient')).toEqual([]);
  });

  test('copies of the same patients through different EHR connections are not merged', () => {
    const out = events(
      copyAuditEvents(
        [
          audit('MedicationAdministration/a/_history/1', ['Patient/p1']),
          {
            ...audit('MedicationAdministration/b/_history/1', ['Patient/p1']),
            clientId: 'ehr-connection/ehr-2',
          },
        ],
        deps,
      ),
    );
    expect(out.map((e) => e.agent?.[0]?.who?.identifier?.value)).toEqual([
      'ehr-connection/ehr-1',
      'ehr-connection/ehr-2',
    ]);
  });
});

describe('the copies group commit', () => {
  let dir: string;
  let store: SqliteStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dripline-copy-audit-'));
    store = await openSqliteStore({ path: join(dir, 'store.sqlite') });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const patient = (id: string): BatchOperation => ({
    op: 'create',
    resource: { resourceType: 'Patient', id },
    options: { id },
  });

  test('writes grouped in one transaction share an event; one that fails it is retried alone with its own', async () => {
    const commits = copyGroupCommit(store, deps);
    const results = await Promise.allSettled([
      commits.write(TENANT, [patient('p1')], note('Patient/p1/_history/1', ['Patient/p1'])),
      commits.write(TENANT, [patient('p2')], note('Patient/p2/_history/1', ['Patient/p2'])),
      // Already there (p1 in this group): the group fails, then this write fails alone.
      commits.write(TENANT, [patient('p1')], note('Patient/p1/_history/1', ['Patient/p1'])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    const stored = await searchAll<AuditEvent>(store, TENANT, 'AuditEvent');
    // Retried alone: one event each for p1 and p2, none for the write that failed.
    expect(stored.map((e) => named(e, 'data')).sort()).toEqual([
      ['Patient/p1/_history/1'],
      ['Patient/p2/_history/1'],
    ]);

    await Promise.all([
      commits.write(TENANT, [patient('p3')], note('Patient/p3/_history/1', ['Patient/p3'])),
      commits.write(TENANT, [patient('p3-note')]),
    ]);
    const after = await searchAll<AuditEvent>(store, TENANT, 'AuditEvent');
    expect(after.length).toBe(3);
    expect(after.map((e) => named(e, 'data')).flat()).toContain('Patient/p3/_history/1');
  });

  test('the copies of one encounter committed together enqueue one charge capture job', async () => {
    const commits = copyGroupCommit(store, deps);
    const change = (cause: string): EncounterChangedEvent => ({ encounter: 'Encounter/v1', causes: [cause] });
    await Promise.all(
      ['r1', 'r2'].map((id) =>
        commits.write(
          TENANT,
          [patient(id)],
          note(`Patient/${id}/_history/1`, [`Patient/${id}`], [change(id)]),
        ),
      ),
    );
    const jobs = await store.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'ready', 10);
    expect(jobs.map((job) => job.payload)).toEqual([{ encounter: 'Encounter/v1', causes: ['r1', 'r2'] }]);
  });

  test('the copies of one patient committed together share one event', async () => {
    const commits = copyGroupCommit(store, deps);
    await Promise.all(
      ['q1', 'q2', 'q3'].map((id) =>
        commits.write(TENANT, [patient(id)], note(`Patient/${id}/_history/1`, ['Patient/q'])),
      ),
    );
    const stored = (await searchAll<AuditEvent>(store, TENANT, 'AuditEvent')).filter((e) =>
      named(e, 'patient').includes('Patient/q'),
    );
    expect(stored).toHaveLength(1);
    expect(named(stored[0], 'data')).toEqual([
      'Patient/q1/_history/1',
      'Patient/q2/_history/1',
      'Patient/q3/_history/1',
    ]);
  });
});

describe('mergedEncounterChanges', () => {
  const event = (encounter: string, cause: string, replaced?: string[]): EncounterChangedEvent => ({
    encounter,
    causes: [cause],
    ...(replaced ? { replaced } : {}),
  });

  test('one job per encounter with every cause and replaced version; a lone cause keeps its own key', () => {
    const jobs = mergedEncounterChanges([
      event('Encounter/e1', 'MedicationAdministration/b/_history/2'),
      event('Encounter/e2', 'MedicationAdministration/c/_history/1'),
      event('Encounter/e1', 'Encounter/e1/_history/4', ['Encounter/e1/_history/3']),
      event('Encounter/e1', 'MedicationAdministration/a/_history/1'),
    ]).map((op) => (op.op === 'enqueue' ? op.job : undefined));
    expect(jobs.map((job) => job?.payload)).toEqual([
      {
        encounter: 'Encounter/e1',
        causes: [
          'Encounter/e1/_history/4',
          'MedicationAdministration/a/_history/1',
          'MedicationAdministration/b/_history/2',
        ],
        replaced: ['Encounter/e1/_history/3'],
      },
      { encounter: 'Encounter/e2', causes: ['MedicationAdministration/c/_history/1'] },
    ]);
    expect(jobs.map((job) => job?.queue)).toEqual([ENCOUNTER_CHANGED_QUEUE, ENCOUNTER_CHANGED_QUEUE]);
    expect(jobs[0]?.key).toMatch(/^Encounter\/e1\|causes-[0-9a-f]{32}$/);
    expect(jobs[1]?.key).toBe('Encounter/e2|MedicationAdministration/c/_history/1');
    // The same events in another order: the same job, so a transaction retried whole is deduplicated.
    const again = mergedEncounterChanges([
      event('Encounter/e1', 'MedicationAdministration/a/_history/1'),
      event('Encounter/e1', 'MedicationAdministration/b/_history/2'),
      event('Encounter/e1', 'Encounter/e1/_history/4', ['Encounter/e1/_history/3']),
    ]);
    expect(again[0]?.op === 'enqueue' ? again[0].job.key : undefined).toBe(jobs[0]?.key);
  });
});
