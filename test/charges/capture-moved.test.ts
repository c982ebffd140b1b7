/**
 * An administration the EHR moves to another encounter (its context corrected) leaves charges on
 * the old one; ingest announces only the new one, so charge capture announces the old one too,
 * and its recomputation voids them. An administration's first version has moved from nowhere: its
 * run reads it once, without its history.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, MedicationAdministration } from '@medplum/fhirtypes';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import type { EncounterChangedEvent } from '../../src/ingest/jobs.ts';
import type { Store, StoredResource, TenantId } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { overriding } from '../../src/store/view.ts';
import { captureWorker, infusion, officeVisit, seedClinic } from './office-visit.ts';

const TENANT = 't';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-capture-moved-'));
let store: SqliteStore;

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  await seedClinic(store, TENANT, ['pat-1']);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A worker over `store` that counts the history reads it makes. */
function countingWorker(): { worker: ReturnType<typeof captureWorker>; histories: () => number } {
  let histories = 0;
  const watched: Store = overriding<Store>(store, {
    resources: overriding(store.resources, {
      history: async (tenant: TenantId, type: string, id: string, options?: { count?: number }) => {
        histories++;
        return store.resources.history(tenant, type, id, options);
      },
    }),
  });
  return { worker: captureWorker(watched), histories: () => histories };
}

const billable = async (encounter: string): Promise<ChargeItem[]> =>
  (
    await searchAll<ChargeItem>(store, TENANT, 'ChargeItem', [
      { code: 'encounter', kind: 'reference', values: [`Encounter/${encounter}`] },
    ])
  ).filter((c) => c.status === 'billable');

test('an administration moved to another visit: the old visit is announced and its charges voided', async () => {
  await store.resources.create(TENANT, officeVisit('pat-1', '2026-12-01T09:00:00Z', '2026-12-01T12:00:00Z'), {
    id: 'enc-a',
  });
  await store.resources.create(TENANT, officeVisit('pat-1', '2026-12-03T09:00:00Z', '2026-12-03T12:00:00Z'), {
    id: 'enc-b',
  });
  const given = infusion('ma-1', 'enc-a', 'pat-1', '2026-12-01T09:00:00Z', '2026-12-01T11:00:00Z');
  const { resource: first } = await store.resources.create(TENANT, given, { id: 'ma-1' });
  const firstRun = countingWorker();
  await firstRun.worker.process(TENANT, {
    encounter: 'Encounter/enc-a',
    causes: ['MedicationAdministration/ma-1'],
  });
  expect((await billable('enc-a')).length).toBeGreaterThan(1);
  expect(firstRun.histories()).toBe(0); // version 1: nothing it could have moved from

  // The EHR corrects the context: the administration was given at the visit of the 3rd.
  await store.resources.update(TENANT, {
    ...(first as MedicationAdministration & StoredResource),
    context: { reference: 'Encounter/enc-b' },
    effectivePeriod: { start: '2026-12-03T09:00:00Z', end: '2026-12-03T11:00:00Z' },
  });
  const moved = countingWorker();
  await moved.worker.process(TENANT, {
    encounter: 'Encounter/enc-b',
    causes: ['MedicationAdministration/ma-1'],
  });
  expect(moved.histories()).toBe(1);
  expect((await billable('enc-b')).length).toBeGreaterThan(1);
  const announced = (await store.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'ready', 10)).map(
    (job) => (job.payload as EncounterChangedEvent).encounter,
  );
  expect(announced).toEqual(['Encounter/enc-a']);
  await captureWorker(store).process(TENANT, { encounter: 'Encounter/enc-a', causes: [] });
  expect(await billable('enc-a')).toEqual([]);
});
