/**
 * Charge capture recomputes a batch's encounter groups side by side and writes their charges in
 * one transaction (one COMMIT for the batch instead of one per group: bench:ingest's charge-capture
 * phase, ~6.6 → ~4.4 ms of capture CPU a visit). Two groups that share encounters — a patient's two
 * visits the same day are coded together — still write each charge once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, MedicationAdministration, Provenance } from '@medplum/fhirtypes';
import type { ChargeCaptureWorker } from '../../src/charges/capture.ts';
import { captureWorker, officeVisit, seedClinic } from './office-visit.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import type { BatchOperation, Store, StoredResource, StoreQuery, TenantId } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { overriding } from '../../src/store/view.ts';

const TENANT = 't';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-capture-batch-'));
let store: SqliteStore;

/** A finished office visit of `patient` on 2026-12-`day` with one infliximab infusion, 09:00–11:00. */
async function visit(id: string, patient: string, day: string, hour: number): Promise<void> {
  const at = (h: number): string => `2026-12-${day}T${String(h).padStart(2, '0')}:00:00Z`;
  await store.resources.create(TENANT, officeVisit(patient, at(hour), at(hour + 3)), { id });
  const administration: MedicationAdministration = {
    resourceType: 'MedicationAdministration',
    status: 'completed',
    medicationReference: { reference: 'Medication/infliximab' },
    subject: { reference: `Patient/${patient}` },
    context: { reference: `Encounter/${id}` },
    effectivePeriod: { start: at(hour), end: at(hour + 2) },
    dosage: {
      route: { coding: [{ system: 'http://snomed.info/sct', code: '47625008' }] },
      dose: { value: 500, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
    },
  };
  await store.resources.create(TENANT, administration, { id: `ma-${id}` });
}

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  await seedClinic(store, TENANT, ['pat-1', 'pat-2']);
  // Two patients' visits on the 1st: two groups of their own.
  await visit('enc-a', 'pat-1', '01', 9);
  await visit('enc-b', 'pat-2', '01', 9);
  // pat-1 came twice on the 2nd: the two visits are one group, whichever job names which.
  await visit('enc-c', 'pat-1', '02', 8);
  await visit('enc-d', 'pat-1', '02', 13);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A worker over `store` that notes each write transaction's operations, with jobs for `encounters`. */
async function workerFor(
  encounters: readonly string[],
  key: string,
): Promise<{ worker: ChargeCaptureWorker; writes: (readonly BatchOperation[])[] }> {
  const writes: (readonly BatchOperation[])[] = [];
  const watched: Store = overriding<Store>(store, {
    resources: overriding(store.resources, {
      writeBatch: async (tenant: TenantId, operations: readonly BatchOperation[]) => {
        writes.push(operations);
        return store.resources.writeBatch(tenant, operations);
      },
    }),
  });
  for (const encounter of encounters) {
    await store.jobs.enqueue(TENANT, {
      queue: ENCOUNTER_CHANGED_QUEUE,
      key: `${key}-${encounter}`,
      payload: { encounter: `Encounter/${encounter}`, causes: [] },
    });
  }
  return { worker: captureWorker(watched), writes };
}

const chargesOf = async (encounter: string): Promise<(ChargeItem & StoredResource)[]> =>
  searchAll<ChargeItem>(store, TENANT, 'ChargeItem', [
    { code: 'encounter', kind: 'reference', values: [`Encounter/${encounter}`] },
  ]);

test("two groups' charges in one batch are written in one transaction", async () => {
  const { worker, writes } = await workerFor(['enc-a', 'enc-b'], 'one');

  expect(await worker.runOnce()).toBe(2);

  const a = await chargesOf('enc-a');
  const b = await chargesOf('enc-b');
  expect(a.length).toBeGreaterThan(1); // the drug and its administration, at least
  expect(b.map((c) => c.code?.coding?.[0]?.code).sort()).toEqual(
    a.map((c) => c.code?.coding?.[0]?.code).sort(),
  );
  // One write for both groups, holding every ChargeItem of both.
  expect(writes).toHaveLength(1);
  const written = (writes[0] ?? []).flatMap((op) =>
    op.op === 'create' && op.resource.resourceType === 'ChargeItem' ? [op.resource.id] : [],
  );
  expect(written.sort()).toEqual([...a, ...b].map((c) => c.id).sort());
  // One AuditEvent per group's transaction, naming every ChargeItem version and Provenance it
  // wrote (created: "originate") and the patient, instead of one event per ChargeItem.
  const events = (writes[0] ?? []).flatMap((op) =>
    op.op === 'create' && op.resource.resourceType === 'AuditEvent' ? [op.resource] : [],
  );
  expect(events).toHaveLength(2);
  for (const [charges, patient] of [
    [a, 'Patient/pat-1'],
    [b, 'Patient/pat-2'],
  ] as const) {
    const event = events.find((e) =>
      e.entity?.some((x) => x.what?.reference === `ChargeItem/${charges[0]?.id ?? ''}/_history/1`),
    );
    const named = (event?.entity ?? []).map((x) => [x.what?.reference, x.lifecycle?.code]);
    for (const charge of charges) {
      expect(named).toContainEqual([`ChargeItem/${charge.id}/_history/1`, 'originate']);
    }
    // One Provenance for the group's created charges, targeting each of them.
    expect(named.filter(([ref]) => ref?.startsWith('Provenance/'))).toHaveLength(1);
    expect(named.map(([ref]) => ref)).toContain(patient);
    expect(event?.subtype?.[0]?.code).toBe('create');
  }
});

test('two jobs whose encounters are one group, in one batch, write each charge once', async () => {
  const { worker } = await workerFor(['enc-c', 'enc-d'], 'same-day');

  expect(await worker.runOnce()).toBe(2);

  const charges = [...(await chargesOf('enc-c')), ...(await chargesOf('enc-d'))];
  expect(charges.length).toBeGreaterThan(2);
  expect(new Set(charges.map((c) => c.id)).size).toBe(charges.length);
  // Written once: no second version, one Provenance for the group's charges, targeting each once.
  expect(charges.map((c) => c.meta.versionId)).toEqual(charges.map(() => '1'));
  const provenances = await searchAll(store, TENANT, 'Provenance', [
    { code: 'target', kind: 'reference', values: charges.map((c) => `ChargeItem/${c.id}`) },
  ]);
  expect(provenances).toHaveLength(1);
  expect((provenances[0] as Provenance | undefined)?.target.map((t) => t.reference).sort()).toEqual(
    charges.map((c) => `ChargeItem/${c.id}/_history/1`).sort(),
  );
  // Both jobs are done.
  expect(await store.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'ready', 10)).toEqual([]);
});

test("a group's charges and Task are looked up by their stable ids in one search each, not a read each", async () => {
  await visit('enc-e', 'pat-2', '03', 9);
  const reads: string[] = [];
  const idSearches: string[] = [];
  const watched: Store = overriding<Store>(store, {
    resources: overriding(store.resources, {
      read: async (tenant: TenantId, type: string, id: string) => {
        reads.push(`${type}/${id}`);
        return store.resources.read(tenant, type, id);
      },
      search: async (tenant: TenantId, query: StoreQuery) => {
        if (query.filters.some((f) => f.code === '_id')) {
          idSearches.push(query.resourceType);
        }
        return store.resources.search(tenant, query);
      },
    }),
  });
  await store.jobs.enqueue(TENANT, {
    queue: ENCOUNTER_CHANGED_QUEUE,
    key: 'ids-enc-e',
    payload: { encounter: 'Encounter/enc-e', causes: [] },
  });
  expect(await captureWorker(watched).runOnce()).toBe(1);

  expect((await chargesOf('enc-e')).length).toBeGreaterThan(1);
  // Before the charges existed, each produced charge (and the Task) was one read that missed.
  expect(reads.filter((r) => r.startsWith('ChargeItem/') || r.startsWith('Task/'))).toEqual([]);
  expect(idSearches.sort()).toEqual(['ChargeItem', 'Task']);
});
