/**
 * An administration the EHR moves to another encounter (its context corrected) leaves charges on
 * the old one. Ingest, which writes the copy under If-Match on the version it replaces, knows the
 * encounter it left and announces it in the same transaction, beside the one it joined; charge
 * capture then voids the old visit's charges. Exact however many versions follow before capture
 * runs: the encounter left is the replaced version's, not whatever history holds when capture
 * looks (it used to compare the latest two versions, and missed a move followed by another change).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, Encounter, MedicationAdministration } from '@medplum/fhirtypes';
import { mayBeCoded } from '../../src/charges/group.ts';
import { EXT_CHARGE_MODIFIER } from '../../src/contract/canonical.ts';
import { storeCopy } from '../../src/ingest/copies.ts';
import type { CopyContext } from '../../src/ingest/copies.ts';
import { domainEvent, domainEventUnlessNotCodable } from '../../src/ingest/encounter-events.ts';
import type { EncounterChangedEvent } from '../../src/ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import { readOptional } from '../../src/store/read-optional.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { captureWorker, infusion, officeVisit, seedClinic } from './office-visit.ts';

const TENANT = 't';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-capture-moved-'));
let store: SqliteStore;
let copies: CopyContext;

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  await seedClinic(store, TENANT, ['pat-1']);
  copies = {
    store,
    tenant: TENANT,
    connectionId: 'ehr-1',
    fhirBaseUrl: 'https://ehr.example.org/fhir',
    publicUrl: 'http://localhost:8080',
    now: () => new Date('2026-12-04T12:00:00Z'),
    generateId: randomUUID,
    mayBeCoded,
  };
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const billable = async (encounter: string): Promise<ChargeItem[]> =>
  (
    await searchAll<ChargeItem>(store, TENANT, 'ChargeItem', [
      { code: 'encounter', kind: 'reference', values: [`Encounter/${encounter}`] },
    ])
  ).filter((c) => c.status === 'billable');

/** The EHR's version `v` of a resource, stored as ingest stores it (with its domain events). */
async function ingest(resource: Encounter | MedicationAdministration, v: string): Promise<void> {
  await storeCopy(copies, { ...resource, id: resource.id ?? '', meta: { versionId: v } }, (copy, existing) =>
    domainEventUnlessNotCodable((id) => readOptional(store, TENANT, 'Encounter', id), copy, existing),
  );
}

async function announced(): Promise<string[]> {
  return (await store.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'ready', 100))
    .map((job) => (job.payload as EncounterChangedEvent).encounter)
    .sort();
}

async function captureAll(): Promise<void> {
  const worker = captureWorker(store);
  while ((await worker.runOnce()) > 0) {
    // until nothing is due
  }
}

test('moved to another visit, then changed again before capture ran: both visits announced, the old one voided', async () => {
  await ingest({ ...officeVisit('pat-1', '2026-12-01T09:00:00Z', '2026-12-01T12:00:00Z'), id: 'enc-a' }, '1');
  await ingest({ ...officeVisit('pat-1', '2026-12-03T09:00:00Z', '2026-12-03T12:00:00Z'), id: 'enc-b' }, '1');
  const atA = infusion('ma-1', 'enc-a', 'pat-1', '2026-12-01T09:00:00Z', '2026-12-01T11:00:00Z');
  await ingest(atA, '1');
  await captureAll();
  expect((await billable('enc-a')).length).toBeGreaterThan(1);
  expect(await billable('enc-b')).toEqual([]);

  // The EHR corrects the context (given at the visit of the 3rd), then the dose, before capture runs.
  const atB = infusion('ma-1', 'enc-b', 'pat-1', '2026-12-03T09:00:00Z', '2026-12-03T11:00:00Z');
  await ingest(atB, '2');
  await ingest({ ...atB, dosage: { ...atB.dosage, dose: { ...atB.dosage?.dose, value: 400 } } }, '3');
  expect(await announced()).toEqual(['Encounter/enc-a', 'Encounter/enc-b', 'Encounter/enc-b']);
  await captureAll();
  expect(await billable('enc-a')).toEqual([]);
  expect((await billable('enc-b')).length).toBeGreaterThan(1);
});

test('the event of a moved copy names the encounter it left, keyed by its version: a redelivery adds none', () => {
  const before = { ...infusion('ma-2', 'enc-a', 'pat-1', '2026-12-01T09:00:00Z', '2026-12-01T11:00:00Z') };
  const after = {
    ...infusion('ma-2', 'enc-b', 'pat-1', '2026-12-03T09:00:00Z', '2026-12-03T11:00:00Z'),
    meta: { extension: [] },
  };
  const events = domainEvent(after, before);
  expect(events.map((op) => (op.op === 'enqueue' ? op.job.payload : op))).toEqual([
    expect.objectContaining({ encounter: 'Encounter/enc-b' }),
    expect.objectContaining({ encounter: 'Encounter/enc-a' }),
  ]);
  const keys = events.map((op) => (op.op === 'enqueue' ? op.job.key : ''));
  expect(new Set(keys).size).toBe(2);
  expect(domainEvent(after, before).map((op) => (op.op === 'enqueue' ? op.job.key : ''))).toEqual(keys);
  // Not moved (or new): only its own encounter.
  expect(domainEvent(after, after)).toHaveLength(1);
  expect(domainEvent(after)).toHaveLength(1);
});

/** The modifiers on an encounter's billable charges. */
const modifiers = async (encounter: string): Promise<string[]> =>
  (await billable(encounter)).flatMap((c) =>
    (c.extension ?? []).filter((e) => e.url === EXT_CHARGE_MODIFIER).map((e) => e.valueCoding?.code ?? ''),
  );

test('a visit moved to another day: the visit it was coded with that day is recomputed without it', async () => {
  // Two office visits of one patient on the 5th: coded together, the second initial infusion
  // of the day carries modifier 59 (a distinct service).
  const morning = { ...officeVisit('pat-1', '2026-12-05T09:00:00Z', '2026-12-05T11:30:00Z'), id: 'enc-m' };
  const afternoon = { ...officeVisit('pat-1', '2026-12-05T13:00:00Z', '2026-12-05T16:00:00Z'), id: 'enc-n' };
  await ingest(morning, '1');
  await ingest(afternoon, '1');
  await ingest(infusion('ma-m', 'enc-m', 'pat-1', '2026-12-05T09:00:00Z', '2026-12-05T11:00:00Z'), '1');
  await ingest(infusion('ma-n', 'enc-n', 'pat-1', '2026-12-05T13:00:00Z', '2026-12-05T15:00:00Z'), '1');
  await captureAll();
  const together = [...(await modifiers('enc-m')), ...(await modifiers('enc-n'))];
  expect(together).toContain('59');

  // The morning visit was on the 6th in fact: corrected in the EHR, with its administration.
  await ingest({ ...morning, period: { start: '2026-12-06T09:00:00Z', end: '2026-12-06T11:30:00Z' } }, '2');
  await ingest(infusion('ma-m', 'enc-m', 'pat-1', '2026-12-06T09:00:00Z', '2026-12-06T11:00:00Z'), '2');
  await captureAll();
  // Each is now the only visit of its day: no distinct-service modifier on either.
  expect(await modifiers('enc-m')).not.toContain('59');
  expect(await modifiers('enc-n')).not.toContain('59');
  expect((await billable('enc-n')).length).toBeGreaterThan(1);

  // A change that keeps it on its day (its end time) leaves no visit behind: only it is announced
  // (before the run and after it).
  await ingest({ ...morning, period: { start: '2026-12-06T09:00:00Z', end: '2026-12-06T11:45:00Z' } }, '3');
  expect(await announced()).toEqual(['Encounter/enc-m']);
  const worker = captureWorker(store);
  expect(await worker.runOnce()).toBe(1);
  expect(await announced()).toEqual([]);
});
