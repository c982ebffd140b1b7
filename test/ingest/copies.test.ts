import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Coding, Encounter, MedicationAdministration } from '@medplum/fhirtypes';
import { mayBeCoded } from '../../src/charges/group.ts';
import { CS_CARE_SETTING } from '../../src/contract/canonical.ts';
import {
  compareSourceVersions,
  DELETED_AT_SOURCE,
  markDeletedAtSource,
  NOT_CODABLE_YET,
  notCodableYet,
  sourceVersionOf,
  storeCopy,
  toCopy,
} from '../../src/ingest/copies.ts';
import { domainEventUnlessNotCodable, storedEncounterLookup } from '../../src/ingest/encounter-events.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import type { EncounterChangedEvent } from '../../src/ingest/jobs.ts';
import { readOptional } from '../../src/store/read-optional.ts';
import type { CopyContext } from '../../src/ingest/copies.ts';
import type { Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

describe('compareSourceVersions', () => {
  test.each([
    [{ versionId: '3' }, { versionId: '2' }, 1],
    [{ versionId: '2' }, { versionId: '10' }, -1],
    [{ versionId: '7' }, { versionId: '7' }, 0],
    [
      { versionId: 'b', lastUpdated: '2026-11-26T10:00:00Z' },
      { versionId: 'a', lastUpdated: '2026-11-26T09:00:00Z' },
      1,
    ],
    [
      { versionId: 'b', lastUpdated: '2026-11-26T08:00:00Z' },
      { versionId: 'a', lastUpdated: '2026-11-26T09:00:00Z' },
      -1,
    ],
    [{}, {}, 0],
    // Opaque versions: only a timestamp that differs orders them.
    [
      { versionId: 'b', lastUpdated: '2026-11-26T09:00:00Z' },
      { versionId: 'a', lastUpdated: '2026-11-26T09:00:00Z' },
      'unordered',
    ],
    [{ versionId: 'b' }, { versionId: 'a' }, 'unordered'],
    [
      { versionId: 'a', lastUpdated: '2026-11-26T09:00:00Z' },
      { versionId: 'a', lastUpdated: '2026-11-26T09:00:00Z' },
      0,
    ],
  ])('%j vs %j', (a, b, expected) => {
    expect(compareSourceVersions(a, b)).toBe(expected);
  });
});

/** A fresh store and a copy context over it (`extra`: the context's optional parts). */
async function copyStore(extra: Partial<CopyContext> = {}): Promise<{ store: Store; ctx: CopyContext }> {
  const store = await openSqliteStore({
    path: path.join(mkdtempSync(path.join(tmpdir(), 'copies-')), 'db.sqlite'),
  });
  return {
    store,
    ctx: {
      store,
      tenant: 'sandbox',
      connectionId: 'ehr-1',
      fhirBaseUrl: 'https://ehr.example.org/fhir',
      publicUrl: 'http://localhost:8080',
      now: () => new Date('2026-11-26T12:00:00Z'),
      generateId: randomUUID,
      ...extra,
    },
  };
}

describe('storeCopy', () => {
  let store: Store;
  let ctx: CopyContext;
  beforeAll(async () => {
    ({ store, ctx } = await copyStore());
  });
  afterAll(async () => {
    await store.close();
  });

  const version = (v: string, status: string): any => ({
    resourceType: 'MedicationAdministration',
    id: 'ma-1',
    meta: { versionId: v, lastUpdated: `2026-11-26T1${v}:00:00Z` },
    status,
    medicationCodeableConcept: { text: 'infliximab' },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2026-11-26T10:00:00Z',
  });

  test('newer versions replace, the same or older ones change nothing, and each write is audited', async () => {
    expect((await storeCopy(ctx, version('1', 'in-progress'))).outcome).toBe('created');
    expect((await storeCopy(ctx, version('1', 'in-progress'))).outcome).toBe('unchanged');
    expect((await storeCopy(ctx, version('3', 'completed'))).outcome).toBe('updated');
    expect((await storeCopy(ctx, version('2', 'in-progress'))).outcome).toBe('stale');
    const copy = await store.resources.read('sandbox', 'MedicationAdministration', 'ma-1');
    expect(copy).toMatchObject({
      status: 'completed',
      meta: {
        versionId: '2',
        source: 'https://ehr.example.org/fhir/MedicationAdministration/ma-1/_history/3',
      },
    });
    expect(sourceVersionOf(copy)).toEqual({ versionId: '3', lastUpdated: '2026-11-26T13:00:00Z' });
    const audits = await store.resources.search('sandbox', {
      resourceType: 'AuditEvent',
      filters: [{ code: 'patient', kind: 'reference', values: ['Patient/p1'] }],
      sort: [],
      count: 10,
      offset: 0,
      total: true,
    });
    expect(audits.total).toBe(2);
  });

  test('concurrent writers of the same resource end with the newest version', async () => {
    const versions = ['4', '6', '5', '7', '4'].map((v) => version(v, `v${v}`));
    await Promise.all(versions.map((v) => storeCopy(ctx, v)));
    const copy = await store.resources.read('sandbox', 'MedicationAdministration', 'ma-1');
    expect(sourceVersionOf(copy).versionId).toBe('7');
  });

  const opaque = (v: string, status: string, id = 'ma-opaque'): any => ({
    ...version('1', status),
    id,
    meta: { versionId: v, lastUpdated: '2026-11-26T11:00:00Z' },
  });

  test('a fill (read because no copy was stored) never replaces a copy stored meanwhile, even on the opaque-version tie', async () => {
    expect((await storeCopy(ctx, opaque('b7f1', 'completed'))).outcome).toBe('created');
    // A read made to fill a gap may predate the EHR's last change: it changes nothing.
    expect((await storeCopy(ctx, opaque('a3c9', 'in-progress'), undefined, { fillOnly: true })).outcome).toBe(
      'unchanged',
    );
    const kept = await store.resources.read('sandbox', 'MedicationAdministration', 'ma-opaque');
    expect([(kept as { status?: string }).status, sourceVersionOf(kept).versionId]).toEqual([
      'completed',
      'b7f1',
    ]);
    // Where nothing is stored, it fills the gap.
    const gap = opaque('c2d4', 'in-progress', 'ma-gap');
    expect((await storeCopy(ctx, gap, undefined, { fillOnly: true })).outcome).toBe('created');
  });

  test('opaque versions sharing a timestamp are not ordered by delivery: only a read made after the stored copy replaces it', async () => {
    const stored = await storeCopy(ctx, opaque('e1', 'completed', 'ma-tie'));
    expect(stored.outcome).toBe('created');
    const storeVersion = stored.copy?.meta.versionId ?? '';
    // A second delivery with another version and the same timestamp may be older (a retried
    // notification): nothing is written, whichever came last.
    const retried = await storeCopy(ctx, opaque('e0', 'in-progress', 'ma-tie'));
    expect([retried.outcome, retried.copy?.meta.versionId]).toEqual(['unordered', storeVersion]);
    // The EHR's current version, read after that copy was stored, settles it...
    const current = await storeCopy(ctx, opaque('e2', 'stopped', 'ma-tie'), undefined, {
      readAfter: storeVersion,
    });
    expect(current.outcome).toBe('updated');
    const copy = await store.resources.read('sandbox', 'MedicationAdministration', 'ma-tie');
    expect([(copy as { status?: string }).status, sourceVersionOf(copy).versionId]).toEqual([
      'stopped',
      'e2',
    ]);
    // ...and a read that names a copy since replaced does not: it is compared on its own terms.
    expect(
      (await storeCopy(ctx, opaque('e1', 'completed', 'ma-tie'), undefined, { readAfter: storeVersion }))
        .outcome,
    ).toBe('unordered');
    // The current version read again changes nothing.
    expect(
      (await storeCopy(ctx, opaque('e2', 'stopped', 'ma-tie'), undefined, { readAfter: copy.meta.versionId }))
        .outcome,
    ).toBe('unchanged');
  });

  test('deleted at source is recorded as a tag, not a delete', async () => {
    expect((await markDeletedAtSource(ctx, 'MedicationAdministration', 'ma-1')).outcome).toBe('updated');
    const tagged = await store.resources.read('sandbox', 'MedicationAdministration', 'ma-1');
    expect(tagged.meta.tag).toContainEqual(DELETED_AT_SOURCE);
    expect(sourceVersionOf(tagged).versionId).toBe('7');
    expect((await markDeletedAtSource(ctx, 'MedicationAdministration', 'ma-1')).outcome).toBe('unchanged');
    expect((await markDeletedAtSource(ctx, 'MedicationAdministration', 'never-seen')).outcome).toBe('absent');
  });
});

describe("an encounter's NOT_CODABLE_YET tag", () => {
  let store: Store;
  let ctx: CopyContext;
  beforeAll(async () => {
    ({ store, ctx } = await copyStore({ mayBeCoded }));
  });
  afterAll(async () => {
    await store.close();
  });

  const visit = (
    id: string,
    v: string,
    status: Encounter['status'],
    tag?: Coding[],
  ): Encounter & { id: string } => ({
    resourceType: 'Encounter',
    id,
    meta: { versionId: v, ...(tag ? { tag } : {}) },
    status,
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: CS_CARE_SETTING, code: 'office' }] }],
    subject: { reference: 'Patient/p1' },
  });
  /** Administration `id`, given at `context`. */
  const given = (id: string, context: string): MedicationAdministration & { id: string } => ({
    resourceType: 'MedicationAdministration',
    id,
    status: 'completed',
    subject: { reference: 'Patient/p1' },
    context: { reference: context },
    medicationCodeableConcept: { text: 'infliximab' },
    effectiveDateTime: '2026-11-26T10:00:00Z',
  });
  const tagged = async (id: string): Promise<boolean> =>
    notCodableYet(await store.resources.read('sandbox', 'Encounter', id));

  test('is on every version until the first that could be coded, and never comes back', async () => {
    await storeCopy(ctx, visit('e-1', '1', 'arrived'));
    expect(await tagged('e-1')).toBe(true);
    await storeCopy(ctx, visit('e-1', '2', 'in-progress'));
    expect(await tagged('e-1')).toBe(true);
    await storeCopy(ctx, visit('e-1', '3', 'finished'));
    expect(await tagged('e-1')).toBe(false);
    // Reopened: not codable now, but it was coded once — its changes may move its charges.
    await storeCopy(ctx, visit('e-1', '4', 'in-progress'));
    expect(await tagged('e-1')).toBe(false);
  });

  test("an EHR's own tag of the system is not kept, nor taken as the copy's", async () => {
    await storeCopy(
      ctx,
      visit('e-2', '1', 'finished', [{ ...NOT_CODABLE_YET }, { system: 'urn:x', code: 'y' }]),
    );
    const copy = await store.resources.read('sandbox', 'Encounter', 'e-2');
    expect(copy.meta.tag).toEqual([{ system: 'urn:x', code: 'y' }]);
  });

  test('a copy stored before the tag existed (or without the predicate) is never tagged later', async () => {
    const { mayBeCoded: _m, ...untagging } = ctx;
    await storeCopy(untagging, visit('e-3', '1', 'arrived'));
    expect(await tagged('e-3')).toBe(false);
    await storeCopy(ctx, visit('e-3', '2', 'in-progress'));
    expect(await tagged('e-3')).toBe(false);
  });

  test('a deleted encounter is void, so codable: the tag goes', async () => {
    await storeCopy(ctx, visit('e-4', '1', 'in-progress'));
    expect(await tagged('e-4')).toBe(true);
    await markDeletedAtSource(ctx, 'Encounter', 'e-4');
    expect(await tagged('e-4')).toBe(false);
  });

  test('what belongs to a tagged encounter is stored with a check of its version instead of an event; a move is announced', async () => {
    await storeCopy(ctx, visit('e-5', '1', 'in-progress'));
    await storeCopy(ctx, visit('e-6', '1', 'finished'));
    const read = (id: string) => store.resources.read('sandbox', 'Encounter', id);
    const administration = (context: string) => given('ma-5', context);
    const ops = (context: string, existing?: MedicationAdministration) =>
      domainEventUnlessNotCodable(
        (id) => readOptional(store, 'sandbox', 'Encounter', id),
        toCopy(administration(context), ctx.fhirBaseUrl),
        existing,
      );
    const stored = await read('e-5');
    expect(await ops('Encounter/e-5')).toEqual([
      { op: 'check', resourceType: 'Encounter', id: 'e-5', versionId: stored.meta.versionId },
    ]);
    expect((await ops('Encounter/e-6')).map((o) => o.op)).toEqual(['enqueue']);
    // Moved from a codable encounter into a tagged one: both announced (the one it left may hold
    // its charges).
    const moved = await ops('Encounter/e-5', administration('Encounter/e-6'));
    expect(
      moved.map((o) => (o.op === 'enqueue' ? (o.job.payload as EncounterChangedEvent).encounter : o.op)),
    ).toEqual(['Encounter/e-5', 'Encounter/e-6']);
    // An encounter not stored: announced (its arrival may come later, codable or not).
    expect((await ops('Encounter/e-absent')).map((o) => o.op)).toEqual(['enqueue']);

    // Stored with the check: the administration's write fails while the encounter moved on, so
    // one stored after the visit finished is never left unannounced.
    const batch = [
      { op: 'create' as const, resource: { resourceType: 'Patient' as const }, options: { id: 'p-ma-5' } },
      ...(await ops('Encounter/e-5')),
    ];
    await storeCopy(ctx, visit('e-5', '2', 'finished'));
    await expect(store.resources.writeBatch('sandbox', batch)).rejects.toMatchObject({
      outcome: { id: 'precondition-failed' },
    });
    expect((await ops('Encounter/e-5')).map((o) => o.op)).toEqual(['enqueue']);
  });

  test('an administration decided on a stale copy of its encounter is decided again on the current one, and announced', async () => {
    await storeCopy(ctx, visit('e-7', '1', 'in-progress'));
    const stale = await store.resources.read('sandbox', 'Encounter', 'e-7');
    await storeCopy(ctx, visit('e-7', '2', 'finished')); // the visit finishes meanwhile
    let reads = 0;
    const lookup = storedEncounterLookup(
      () => stale, // as the batch read it ahead, before the finishing
      (id) => {
        reads++;
        return readOptional(store, 'sandbox', 'Encounter', id);
      },
    );
    const administration = { ...given('ma-7', 'Encounter/e-7'), meta: { versionId: '1' } };
    const result = await storeCopy(ctx, administration, (copy, existing) =>
      domainEventUnlessNotCodable(lookup, copy, existing),
    );
    expect(result.outcome).toBe('created');
    // The first attempt's check failed (the encounter was at version 2); the retry read it.
    expect(reads).toBe(1);
    const jobs = await store.jobs.listJobs('sandbox', ENCOUNTER_CHANGED_QUEUE, 'ready', 10);
    expect(jobs.map((j) => j.key)).toContain('Encounter/e-7|MedicationAdministration/ma-7/_history/1');
  });
});
