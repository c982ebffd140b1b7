/**
 * What the repository stores of a written resource (src/fhir/repository.ts `prepareWrite`): the
 * server assigns id, versionId and lastUpdated whatever the client sent, keeps the rest of meta, and
 * leaves the caller's object as it was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Patient } from '@medplum/fhirtypes';
import { AuditWriter } from '../../src/fhir/audit-writer.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { DriplineRepository } from '../../src/fhir/repository.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';
import type { Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 'write-copy';
let dir: string;
let store: Store;
let repo: DriplineRepository;

beforeAll(async () => {
  loadFhirDefinitions();
  dir = mkdtempSync(join(tmpdir(), 'dripline-write-copy-'));
  store = await openSqliteStore({ path: join(dir, 'dripline.sqlite') });
  repo = new DriplineRepository({
    store,
    audit: new AuditWriter(store),
    commits: new GroupCommit(store),
    access: { tenant: TENANT, clientId: 'write-copy-client', assert: () => undefined },
    fhirBaseUrl: 'http://127.0.0.1/fhir',
    publicUrl: 'http://127.0.0.1',
    now: () => new Date('2026-12-05T01:00:00.000Z'),
  });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const sent = (): Patient => ({
  resourceType: 'Patient',
  id: 'client-chosen',
  meta: {
    versionId: '41',
    lastUpdated: '1999-01-01T00:00:00.000Z',
    tag: [{ system: 'urn:example:tags', code: 'kept' }],
  },
  name: [{ family: 'Copied', given: ['Ana'] }],
});

describe('the resource a write stores', () => {
  test('create: server id, versionId 1 and its own lastUpdated; other meta kept; the input unchanged', async () => {
    const input = sent();
    const created = await repo.createResource(input);
    expect(created.id).not.toBe('client-chosen');
    expect(created.meta?.versionId).toBe('1');
    expect(created.meta?.lastUpdated).not.toBe('1999-01-01T00:00:00.000Z');
    expect(created.meta?.tag).toEqual([{ system: 'urn:example:tags', code: 'kept' }]);
    expect(input).toEqual(sent());
    const stored = (await store.resources.read(TENANT, 'Patient', created.id)) as Patient;
    expect(stored).toEqual(created);
    expect(stored.name).toEqual([{ family: 'Copied', given: ['Ana'] }]);
  });

  test('update: the next version, the client versionId and lastUpdated ignored; the input unchanged', async () => {
    const created = await repo.createResource(sent());
    const input: Patient = { ...sent(), id: created.id, name: [{ family: 'Updated' }] };
    const before = structuredClone(input);
    const updated = await repo.updateResource(input);
    expect(updated.id).toBe(created.id);
    expect(updated.meta?.versionId).toBe('2');
    expect(updated.meta?.lastUpdated).not.toBe('1999-01-01T00:00:00.000Z');
    expect(updated.meta?.tag).toEqual([{ system: 'urn:example:tags', code: 'kept' }]);
    expect(input).toEqual(before);
    expect(await store.resources.read(TENANT, 'Patient', created.id)).toEqual(updated);
  });
});
