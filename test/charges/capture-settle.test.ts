/**
 * Charge capture's settle loop: after writing a group's charges it makes sure no input moved while
 * it computed (another capture process could otherwise finish a newer run in between, and a stale
 * create no If-Match catches would stand). It asks the store what was written since it began
 * reading, instead of reading the group again (bench:ingest's charge-capture phase: the second
 * read was every search done twice). And the changes of one encounter are leased together, so one
 * recomputation covers an administration and its encounter however far apart they were enqueued.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem } from '@medplum/fhirtypes';
import { ENCOUNTER_CHANGED_QUEUE, encounterChangedKey } from '../../src/ingest/jobs.ts';
import type { BatchOperation, Store, StoredResource, StoreQuery, TenantId } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { overriding } from '../../src/store/view.ts';
import { captureWorker, infusion, officeVisit, seedClinic } from './office-visit.ts';

const TENANT = 't';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-capture-settle-'));
let store: SqliteStore;

const at = (day: string, h: number, m = 0): string =>
  `2026-12-${day}T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00Z`;

/** A finished office visit of `patient` on 2026-12-`day`, 09:00–12:00, with one infusion 09:00–11:00. */
async function visit(id: string, patient: string, day: string): Promise<void> {
  await store.resources.create(TENANT, officeVisit(patient, at(day, 9), at(day, 12)), { id });
  await store.resources.create(TENANT, infusion(`ma-${id}`, id, patient, at(day, 9), at(day, 11)), {
    id: `ma-${id}`,
  });
}

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  await seedClinic(store, TENANT, ['pat-1', 'pat-2', 'pat-3']);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A worker over `store` that counts its searches (not its lookups by id); `beforeWrite` runs once, just before its first
 * write (what a concurrent ingest would store while the charges were computed).
 */
function watchedWorker(beforeWrite?: () => Promise<void>): {
  worker: ReturnType<typeof captureWorker>;
  searches: () => number;
} {
  let searches = 0;
  let pending = beforeWrite;
  const watched: Store = overriding<Store>(store, {
    resources: overriding(store.resources, {
      search: async (tenant: TenantId, query: StoreQuery) => {
        // Lookups by id (a visit's charges and Task by their stable ids, `readMany`) are reads,
        // as many as there are ids not found by the searches: not counted.
        if (!query.filters.some((f) => f.code === '_id')) {
          searches++;
        }
        return store.resources.search(tenant, query);
      },
      writeBatch: async (tenant: TenantId, operations: readonly BatchOperation[]) => {
        const run = pending;
        pending = undefined;
        await run?.();
        return store.resources.writeBatch(tenant, operations);
      },
    }),
  });
  return { worker: captureWorker(watched), searches: () => searches };
}

const chargesOf = async (encounter: string): Promise<(ChargeItem & StoredResource)[]> =>
  searchAll<ChargeItem>(store, TENANT, 'ChargeItem', [
    { code: 'encounter', kind: 'reference', values: [`Encounter/${encounter}`] },
  ]);

/** The administrations a group's charges came from. */
const servicesOf = (charges: readonly ChargeItem[]): string[] =>
  [...new Set(charges.flatMap((c) => (c.service ?? []).map((s) => s.reference ?? '')))].sort();

test('with nothing written meanwhile, a run reads its group once', async () => {
  await visit('enc-1', 'pat-1', '01');
  const once = watchedWorker();
  await once.worker.process(TENANT, { encounter: 'Encounter/enc-1', causes: [] });
  expect((await chargesOf('enc-1')).length).toBeGreaterThan(1);
  // As many searches as a run that finds nothing to write: the group was read once.
  const idle = watchedWorker();
  const nothing = await idle.worker.process(TENANT, { encounter: 'Encounter/enc-1', causes: [] });
  expect(nothing.created + nothing.updated + nothing.voided + nothing.tasks).toBe(0);
  const searchesToWrite = once.searches();
  expect(searchesToWrite).toBe(idle.searches());

  // Another patient's visit stored meanwhile is no input of this group: still one read.
  await visit('enc-2', 'pat-2', '01');
  const unrelated = watchedWorker(() => visit('enc-x', 'pat-3', '01'));
  await unrelated.worker.process(TENANT, { encounter: 'Encounter/enc-2', causes: [] });
  expect((await chargesOf('enc-2')).length).toBeGreaterThan(1);
  expect(unrelated.searches()).toBe(searchesToWrite);
});

test('an administration stored while the charges were computed is coded by the same run', async () => {
  await visit('enc-3', 'pat-1', '03');
  // A second infusion of the visit arrives between the run's reads and its write.
  const late = infusion('ma-enc-3-late', 'enc-3', 'pat-1', at('03', 11, 30), at('03', 11, 55));
  const { worker, searches } = watchedWorker(async () => {
    await store.resources.create(TENANT, late, { id: late.id });
  });
  const summary = await worker.process(TENANT, { encounter: 'Encounter/enc-3', causes: [] });

  const charges = await chargesOf('enc-3');
  expect(servicesOf(charges)).toEqual([
    'MedicationAdministration/ma-enc-3',
    'MedicationAdministration/ma-enc-3-late',
  ]);
  // It saw the move and read the group again; the second pass added what the first lacked.
  expect(summary.created + summary.updated).toBeGreaterThan(0);
  const { worker: again, searches: searchesAgain } = watchedWorker();
  const settled = await again.process(TENANT, { encounter: 'Encounter/enc-3', causes: [] });
  expect(settled.created + settled.updated + settled.voided).toBe(0);
  expect(searches()).toBeGreaterThan(searchesAgain());
});

test("an encounter's changes are leased together and recomputed once", async () => {
  await visit('enc-4', 'pat-2', '04');
  await visit('enc-5', 'pat-3', '04');
  // The administration's change, another visit's, then the encounter's own: due in that order.
  let due = Date.now() - 60_000;
  for (const [encounter, cause] of [
    ['enc-4', 'MedicationAdministration/ma-enc-4/_history/1'],
    ['enc-5', 'MedicationAdministration/ma-enc-5/_history/1'],
    ['enc-4', 'Encounter/enc-4/_history/1'],
  ] as const) {
    await store.jobs.enqueue(TENANT, {
      queue: ENCOUNTER_CHANGED_QUEUE,
      key: encounterChangedKey(`Encounter/${encounter}`, cause),
      payload: { encounter: `Encounter/${encounter}`, causes: [cause] },
      runAt: new Date(due++).toISOString(),
    });
  }
  const worker = captureWorker(store, { batchSize: 1 });

  // A batch of one job brings its encounter's other change along.
  expect(await worker.runOnce()).toBe(2);
  expect((await chargesOf('enc-4')).length).toBeGreaterThan(1);
  expect((await chargesOf('enc-5')).length).toBe(0);
  const ready = await store.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'ready', 10);
  expect(ready.map((job) => job.key)).toEqual([
    encounterChangedKey('Encounter/enc-5', 'MedicationAdministration/ma-enc-5/_history/1'),
  ]);
  expect(await worker.runOnce()).toBe(1);
  expect((await chargesOf('enc-5')).length).toBeGreaterThan(1);
});

test("a batch's groups share one look at what was written while they computed", async () => {
  await visit('enc-6', 'pat-1', '06');
  await visit('enc-7', 'pat-2', '06');
  let looks = 0;
  let writes = 0;
  const watched: Store = overriding<Store>(store, {
    resources: overriding(store.resources, {
      writtenSince: async (...args: Parameters<Store['resources']['writtenSince']>) => {
        looks++;
        return store.resources.writtenSince(...args);
      },
      writeBatch: async (tenant: TenantId, operations: readonly BatchOperation[]) => {
        writes++;
        return store.resources.writeBatch(tenant, operations);
      },
    }),
  });
  let due = Date.now() - 60_000;
  for (const encounter of ['enc-6', 'enc-7']) {
    await store.jobs.enqueue(TENANT, {
      queue: ENCOUNTER_CHANGED_QUEUE,
      key: encounterChangedKey(`Encounter/${encounter}`, 'look'),
      payload: { encounter: `Encounter/${encounter}`, causes: [] },
      runAt: new Date(due++).toISOString(),
    });
  }
  const worker = captureWorker(watched);

  expect(await worker.runOnce()).toBe(2);
  expect((await chargesOf('enc-6')).length).toBeGreaterThan(1);
  expect((await chargesOf('enc-7')).length).toBeGreaterThan(1);
  // One transaction for both groups' charges, then one look covering it.
  expect(writes).toBe(1);
  expect(looks).toBe(1);
});
