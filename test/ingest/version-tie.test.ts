/**
 * Two EHR versions of one resource that the data cannot order (opaque versionIds, one
 * lastUpdated: FHIR R4 leaves versionId opaque and lastUpdated's precision to the server) are
 * settled by asking the EHR for its current version, over real HTTP against the sandbox EHR as a
 * SMART Backend Services client: a retried older notification arriving after a newer one must not
 * replace the newer copy, whichever was delivered last.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { MedicationAdministration, Resource } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { ehrClientCache } from '../../src/ehr/ingest-port.ts';
import { DELETED_AT_SOURCE, sourceVersionOf } from '../../src/ingest/copies.ts';
import { ingestResources } from '../../src/ingest/fetch-back.ts';
import type { IngestContext } from '../../src/ingest/worker-context.ts';
import { createLogger } from '../../src/logger.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import type { Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';

const TENANT = 'sandbox';

let ehr: SandboxEhr;
let store: Store;
let ctx: IngestContext;
let connection: EhrConnectionConfig;
const ehrReads: string[] = [];

beforeAll(async () => {
  ehr = await startSandboxEhr({
    port: 0,
    seed: { date: '2026-11-26', patients: 2, seed: 3 },
    onRequest: (method, requested) => {
      if (method === 'GET' && requested.includes('/MedicationAdministration/')) {
        ehrReads.push(requested);
      }
    },
  });
  await ehr.replay({ speed: 0 });
  connection = { ...(await sandboxConnection(ehr)), payload: 'full-resource' };
  store = await openSqliteStore({
    path: path.join(mkdtempSync(path.join(tmpdir(), 'version-tie-')), 'db.sqlite'),
  });
  ctx = {
    deps: {
      store,
      connections: new Map([[connection.id, { tenant: TENANT, connection }]]),
      ehrFor: ehrClientCache(),
      maintainer: {
        ensure: () => Promise.reject(new Error('not used')),
      } as unknown as IngestContext['deps']['maintainer'],
      publicUrl: 'http://127.0.0.1:1',
      logger: createLogger('silent'),
    },
    now: () => new Date(),
  };
});

afterAll(async () => {
  await store.close();
  await ehr.stop();
});

/** What a delivery carried: the resource, with the given version and timestamp. */
const delivered = (resource: MedicationAdministration, versionId: string, lastUpdated: string): Resource => ({
  ...resource,
  meta: { ...resource.meta, versionId, lastUpdated },
});

const deliver = (resource: Resource): Promise<void> =>
  ingestResources(ctx, { tenant: TENANT, connection }, [resource], [], new Map());

const storedCopy = async (id: string): Promise<Resource> =>
  store.resources.read(TENANT, 'MedicationAdministration', id);

/** The seeded day's `n`th administration as the EHR holds it now, delivered and stored. */
async function deliveredAdministration(n: number): Promise<MedicationAdministration & { id: string }> {
  const listed = (await ehr.listResources('MedicationAdministration'))[n];
  if (!listed?.id) {
    throw new Error(`the seeded day has no administration ${String(n)}`);
  }
  const current = (await ehr.readResource('MedicationAdministration', listed.id)) as MedicationAdministration;
  await deliver(current);
  return { ...current, id: listed.id };
}

test('a retried older version sharing the newer one’s timestamp does not replace it: the EHR is asked', async () => {
  // The EHR's current version, delivered first.
  const current = await deliveredAdministration(0);
  const at = current.meta?.lastUpdated ?? '';
  const currentVersion = current.meta?.versionId ?? '';
  expect(sourceVersionOf(await storedCopy(current.id)).versionId).toBe(currentVersion);
  // Then an older version (as a retried notification carries it), with another opaque version and
  // the same timestamp: the delivery order would make it win.
  ehrReads.length = 0;
  await deliver(
    delivered({ ...current, status: current.status === 'stopped' ? 'completed' : 'stopped' }, 'older-1', at),
  );
  const kept = (await storedCopy(current.id)) as MedicationAdministration;
  expect([kept.status, sourceVersionOf(kept).versionId]).toEqual([current.status, currentVersion]);
  expect(ehrReads).toEqual([expect.stringContaining(`/MedicationAdministration/${current.id}`)]);
});

test('when the EHR has moved on meanwhile, its version read back is the one stored', async () => {
  const before = await deliveredAdministration(1);
  // The EHR changes it; a delivery that cannot be ordered against the stored copy arrives.
  const changed = await ehr.updateResource<MedicationAdministration>({
    ...before,
    note: [{ text: 'rate lowered' }],
  });
  await deliver(
    delivered(
      { ...before, note: [{ text: 'an unordered version' }] },
      'other-1',
      before.meta?.lastUpdated ?? '',
    ),
  );
  const kept = (await storedCopy(before.id)) as MedicationAdministration;
  expect([kept.note?.[0]?.text, sourceVersionOf(kept).versionId]).toEqual([
    'rate lowered',
    changed.meta?.versionId,
  ]);
});

test('when the EHR has deleted it meanwhile, the copy is marked deleted at source, not replaced', async () => {
  const before = await deliveredAdministration(2);
  await ehr.deleteResource('MedicationAdministration', before.id);
  await deliver(delivered({ ...before, status: 'stopped' }, 'other-2', before.meta?.lastUpdated ?? ''));
  const kept = (await storedCopy(before.id)) as MedicationAdministration;
  expect(kept.meta?.tag).toContainEqual(DELETED_AT_SOURCE);
  expect([kept.status, sourceVersionOf(kept).versionId]).toEqual([before.status, before.meta?.versionId]);
});
