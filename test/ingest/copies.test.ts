import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  compareSourceVersions,
  DELETED_AT_SOURCE,
  markDeletedAtSource,
  sourceVersionOf,
  storeCopy,
} from '../../src/ingest/copies.ts';
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

describe('storeCopy', () => {
  let store: Store;
  let ctx: CopyContext;
  beforeAll(async () => {
    store = await openSqliteStore({
      path: path.join(mkdtempSync(path.join(tmpdir(), 'copies-')), 'db.sqlite'),
    });
    ctx = {
      store,
      tenant: 'sandbox',
      connectionId: 'ehr-1',
      fhirBaseUrl: 'https://ehr.example.org/fhir',
      publicUrl: 'http://localhost:8080',
      now: () => new Date('2026-11-26T12:00:00Z'),
      generateId: randomUUID,
    };
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
