/**
 * A change of a visit that has not finished (arrived, in progress, an administration documented
 * during it) can change no charge and no Task: charge capture plans for the encounters in scope
 * only, and codes only finished members. So its run reads the encounter, looks whether it was ever
 * charged, and stops: no same-day or part-of search, no patient, coverage or claims
 * (bench:ingest's day-shaped phase: four of every five notifications of a visit are such
 * changes). The visit is coded when it finishes, with everything read then. A visit that was coded
 * and is reopened is read in full: its leaving the group may change the others' charges.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, Encounter } from '@medplum/fhirtypes';
import { mayBeCoded } from '../../src/charges/group.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import { DELETED_AT_SOURCE } from '../../src/ingest/copies.ts';
import type { Store, StoredResource, StoreQuery, TenantId } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { overriding } from '../../src/store/view.ts';
import {
  captureWorker,
  infusion,
  officeVisit,
  seedClinic,
  storeVisitWithInfusion,
  unfinishedVisit,
} from './office-visit.ts';

const TENANT = 't';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-capture-unfinished-'));
let store: SqliteStore;

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  await seedClinic(store, TENANT, ['pat-1', 'pat-2']);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A worker over `store` that records the types it searched and the references it read. */
function recordingWorker(): { worker: ReturnType<typeof captureWorker>; searched: string[]; read: string[] } {
  const searched: string[] = [];
  const read: string[] = [];
  const watched: Store = overriding<Store>(store, {
    resources: overriding(store.resources, {
      search: async (tenant: TenantId, query: StoreQuery) => {
        searched.push(query.resourceType);
        return store.resources.search(tenant, query);
      },
      read: async (tenant: TenantId, type: string, id: string) => {
        read.push(`${type}/${id}`);
        return store.resources.read(tenant, type, id);
      },
    }),
  });
  return { worker: captureWorker(watched), searched, read };
}

test("an unfinished visit's change reads only its group's encounters; its finishing codes it", async () => {
  const finished = officeVisit('pat-1', '2026-12-01T09:00:00Z', '2026-12-01T12:00:00Z');
  const inProgress = unfinishedVisit('pat-1', '2026-12-01T09:00:00Z', 'in-progress');
  const { resource: encounter } = await store.resources.create(TENANT, inProgress, { id: 'enc-1' });
  await store.resources.create(
    TENANT,
    infusion('ma-1', 'enc-1', 'pat-1', '2026-12-01T09:00:00Z', '2026-12-01T11:00:00Z'),
    { id: 'ma-1' },
  );

  const during = recordingWorker();
  const pending = await during.worker.process(TENANT, {
    encounter: 'Encounter/enc-1',
    causes: ['MedicationAdministration/ma-1/_history/1'],
  });
  expect(pending.encounters).toEqual({ 'Encounter/enc-1': 'pending' });
  expect(pending.created + pending.updated + pending.voided + pending.tasks).toBe(0);
  // Only whether it was ever charged: no same-day or part-of search of encounters.
  expect(during.searched).toEqual(['ChargeItem']);
  // Nothing besides the encounters: not even the cause (ingest announces the visit an
  // administration moved from, src/ingest/encounter-events.ts).
  expect(during.read.filter((ref) => !ref.startsWith('Encounter/'))).toEqual([]);

  await store.resources.update(TENANT, { ...(encounter as Encounter & StoredResource), ...finished });
  const after = recordingWorker();
  const coded = await after.worker.process(TENANT, { encounter: 'Encounter/enc-1', causes: [] });
  expect(coded.encounters).toEqual({ 'Encounter/enc-1': 'ready' });
  expect(after.searched).toEqual(expect.arrayContaining(['Coverage', 'Claim', 'MedicationAdministration']));
  const charges = await searchAll<ChargeItem>(store, TENANT, 'ChargeItem', [
    { code: 'encounter', kind: 'reference', values: ['Encounter/enc-1'] },
  ]);
  // The infusion's administration code and its drug, with the patient's coverage on each.
  expect(charges.length).toBeGreaterThanOrEqual(2);
  expect(
    charges.every((c) => (c.extension ?? []).length > 0 && c.subject.reference === 'Patient/pat-1'),
  ).toBe(true);
});

test("an encounter left open on an earlier day is not one of today's visits", async () => {
  // The EHR never closed an earlier visit: in progress, no end, so its period touches every later day.
  await store.resources.create(TENANT, unfinishedVisit('pat-2', '2026-11-20T09:00:00Z', 'in-progress'), {
    id: 'enc-open',
  });
  await store.resources.create(TENANT, officeVisit('pat-2', '2026-12-02T09:00:00Z', '2026-12-02T12:00:00Z'), {
    id: 'enc-today',
  });
  // A second visit that day (left and came back) is still coded with it.
  await store.resources.create(TENANT, officeVisit('pat-2', '2026-12-02T14:00:00Z', '2026-12-02T15:00:00Z'), {
    id: 'enc-later-today',
  });
  const { worker } = recordingWorker();
  const summary = await worker.process(TENANT, { encounter: 'Encounter/enc-today', causes: [] });
  expect(summary.encounters).toEqual({
    'Encounter/enc-later-today': 'ready',
    'Encounter/enc-today': 'ready',
  });
});

test("an unfinished visit's change leaves the patient's finished visit that day as it was; a reopened one is read in full", async () => {
  await storeVisitWithInfusion(
    store,
    TENANT,
    'pat-1',
    { id: 'enc-morning', start: '2026-12-03T08:00:00Z', end: '2026-12-03T09:00:00Z' },
    { id: 'ma-morning', start: '2026-12-03T08:05:00Z', end: '2026-12-03T08:50:00Z' },
  );
  await store.resources.create(TENANT, unfinishedVisit('pat-1', '2026-12-03T14:00:00Z', 'arrived'), {
    id: 'enc-afternoon',
  });

  const morning = await recordingWorker().worker.process(TENANT, {
    encounter: 'Encounter/enc-morning',
    causes: [],
  });
  expect(morning.encounters).toEqual({
    'Encounter/enc-afternoon': 'pending',
    'Encounter/enc-morning': 'ready',
  });
  const charged = await searchAll<ChargeItem>(store, TENANT, 'ChargeItem', [
    { code: 'encounter', kind: 'reference', values: ['Encounter/enc-morning'] },
  ]);
  expect(charged.length).toBeGreaterThanOrEqual(2);

  // The afternoon visit arrives: nothing of the morning's is read or written.
  const arrived = recordingWorker();
  const summary = await arrived.worker.process(TENANT, { encounter: 'Encounter/enc-afternoon', causes: [] });
  expect(summary.encounters).toEqual({ 'Encounter/enc-afternoon': 'pending' });
  expect(summary.created + summary.updated + summary.voided + summary.tasks).toBe(0);
  expect(arrived.searched).toEqual(['ChargeItem']);
  expect(arrived.read).toEqual(['Encounter/enc-afternoon']);

  // The morning visit reopened in the EHR was coded: its change reads the day's group in full.
  const current = (await store.resources.read(TENANT, 'Encounter', 'enc-morning')) as Encounter &
    StoredResource;
  await store.resources.update(TENANT, { ...current, status: 'in-progress' });
  const reopened = recordingWorker();
  const again = await reopened.worker.process(TENANT, { encounter: 'Encounter/enc-morning', causes: [] });
  expect(again.encounters).toEqual({
    'Encounter/enc-afternoon': 'pending',
    'Encounter/enc-morning': 'pending',
  });
  expect(reopened.searched).toEqual(expect.arrayContaining(['ChargeItem', 'Encounter']));
});

test('mayBeCoded: what it says cannot be coded, a run of capture leaves uncoded; what may be, it says so', async () => {
  const start = '2026-12-03T09:00:00Z';
  const office = (status: Encounter['status']): Encounter => unfinishedVisit('pat-2', start, status);
  const noSetting = (status: Encounter['status']): Encounter => {
    const { type: _type, ...rest } = office(status);
    return rest;
  };
  const home = (status: Encounter['status']): Encounter => ({
    ...office(status),
    type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'home' }] }],
  });
  // Not codable: an office visit before it finishes; a visit with no setting not yet started.
  const notCodable = [office('planned'), office('arrived'), office('in-progress'), noSetting('planned')];
  // Codable (or may be): finished, void, deleted at the EHR, an open home episode, and a visit
  // whose setting is not said (it may be a home episode's root, open while the therapy runs).
  const codable = [
    office('finished'),
    office('cancelled'),
    office('entered-in-error'),
    { ...office('in-progress'), meta: { tag: [DELETED_AT_SOURCE] } },
    home('in-progress'),
    noSetting('in-progress'),
  ];
  expect(notCodable.map(mayBeCoded)).toEqual(notCodable.map(() => false));
  expect(codable.map(mayBeCoded)).toEqual(codable.map(() => true));

  for (const [i, visit] of notCodable.entries()) {
    const id = `enc-not-codable-${String(i)}`;
    await store.resources.create(TENANT, visit, { id });
    await store.resources.create(TENANT, infusion(`ma-nc-${String(i)}`, id, 'pat-2', start, start), {
      id: `ma-nc-${String(i)}`,
    });
    const run = await captureWorker(store).process(TENANT, { encounter: `Encounter/${id}`, causes: [] });
    expect(run.created + run.updated + run.voided + run.tasks).toBe(0);
    const charged = await searchAll<ChargeItem>(store, TENANT, 'ChargeItem', [
      { code: 'encounter', kind: 'reference', values: [`Encounter/${id}`] },
    ]);
    expect(charged).toEqual([]);
  }
});
