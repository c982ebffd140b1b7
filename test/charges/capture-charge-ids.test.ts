/**
 * A visit's ChargeItem ids lead with its encounter's hash (src/coding/fhir/emit.ts chargeItemId), so
 * its charges sit together in the indexes keyed by id. Charges stored under the id lines had before
 * (legacyChargeItemId) keep it: charge capture finds them by their line key, and recomputing
 * updates them in place, never adding a second charge for the line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import type { ChargeItem } from '@medplum/fhirtypes';
import { EXT_CHARGE_LINE_KEY } from '../../src/contract/canonical.ts';
import { legacyChargeItemId } from '../../src/coding/fhir/emit.ts';
import { ENCOUNTER_CHANGED_QUEUE, encounterChangedKey } from '../../src/ingest/jobs.ts';
import type { Store, StoredResource, TenantId } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { captureWorker, infusion, seedClinic, storeVisitWithInfusion } from './office-visit.ts';

const TENANT: TenantId = 't';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-charge-ids-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let stores = 0;
/** A clinic with pat-1's finished visit `enc-1` (an infliximab infusion, 09:00–11:00), not yet coded. */
async function clinic(): Promise<Store> {
  stores += 1;
  const store = await openSqliteStore({ path: path.join(dir, `store-${String(stores)}.sqlite`) });
  await seedClinic(store, TENANT, ['pat-1']);
  await storeVisitWithInfusion(
    store,
    TENANT,
    'pat-1',
    { id: 'enc-1', start: '2026-12-01T09:00:00Z', end: '2026-12-01T12:00:00Z' },
    { id: 'ma-1', start: '2026-12-01T09:00:00Z', end: '2026-12-01T11:00:00Z' },
  );
  return store;
}

/** Runs charge capture for enc-1 (one job, `cause` its key) until the queue is empty. */
async function capture(store: Store, cause: string): Promise<void> {
  await store.jobs.enqueue(TENANT, {
    queue: ENCOUNTER_CHANGED_QUEUE,
    key: encounterChangedKey('Encounter/enc-1', cause),
    payload: { encounter: 'Encounter/enc-1', causes: [] },
  });
  const worker = captureWorker(store);
  while ((await worker.runOnce()) > 0) {
    // until the queue is empty
  }
}

async function charges(store: Store): Promise<(ChargeItem & StoredResource)[]> {
  return (await searchAll(store, TENANT, 'ChargeItem', [])) as (ChargeItem & StoredResource)[];
}

const lineKey = (item: ChargeItem): string =>
  item.extension?.find((e) => e.url === EXT_CHARGE_LINE_KEY)?.valueString ?? '';

test("a visit's charges share their id's leading part, its encounter's", async () => {
  const store = await clinic();
  await capture(store, 'first');
  const items = await charges(store);
  expect(items.length).toBeGreaterThanOrEqual(2);
  const prefixes = new Set(items.map((c) => /^ci-([0-9a-f]{12})-[0-9a-f]{28}$/.exec(c.id)?.[1]));
  expect(prefixes.size).toBe(1);
  expect([...prefixes][0]).toBeDefined();
  await store.close();
});

test('charges stored under the former ids keep them: recomputed in place, none added, none voided', async () => {
  // What an earlier Dripline stored: the same charges, under the former ids.
  const reference = await clinic();
  await capture(reference, 'first');
  const produced = await charges(reference);
  const [referenceCoverage] = await searchAll(reference, TENANT, 'Coverage', []);
  await reference.close();

  const store = await clinic();
  const [coverage] = await searchAll(store, TENANT, 'Coverage', []);
  for (const item of produced) {
    const { id: _id, meta, ...content } = item;
    // The same charge in this store: its coverage is this store's (ids are made per store).
    const here = JSON.parse(
      JSON.stringify(content).replaceAll(referenceCoverage?.id ?? '?', coverage?.id ?? '?'),
    ) as ChargeItem;
    await store.resources.create(
      TENANT,
      { ...here, meta: { ...(meta.profile ? { profile: meta.profile } : {}) } },
      { id: legacyChargeItemId({ key: lineKey(item) }) },
    );
  }
  const legacyIds = produced.map((c) => legacyChargeItemId({ key: lineKey(c) })).sort();

  // Nothing changed: nothing written.
  await capture(store, 'again');
  let items = await charges(store);
  expect(items.map((c) => c.id).sort()).toEqual(legacyIds);
  expect(items.every((c) => c.meta.versionId === '1')).toBe(true);

  // The infusion ran longer: the same lines, recomputed under the ids they have.
  const ma = await store.resources.read(TENANT, 'MedicationAdministration', 'ma-1');
  await store.resources.update(TENANT, {
    ...infusion('ma-1', 'enc-1', 'pat-1', '2026-12-01T09:00:00Z', '2026-12-01T11:50:00Z'),
    meta: ma.meta,
  } as typeof ma);
  await capture(store, 'longer');
  items = await charges(store);
  expect(items.map((c) => c.id).sort()).toEqual(legacyIds);
  expect(items.some((c) => c.meta.versionId === '2')).toBe(true);
  expect(items.every((c) => c.status !== 'entered-in-error')).toBe(true);
  await store.close();
});
