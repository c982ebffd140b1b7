/**
 * Charge capture codes a patient's visits of one day together (R2.4): the day is the clinic's
 * (tenant `timeZone`), whatever offset the EHR wrote the visits' times in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Encounter } from '@medplum/fhirtypes';
import { ChargeCaptureWorker } from '../../src/charges/capture.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import { createLogger } from '../../src/logger.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dripline-capture-zone-'));
let store: SqliteStore;
const tables = loadCodingTables();

beforeAll(async () => {
  store = await openSqliteStore({ path: path.join(dir, 'store.db') });
  const visit = (id: string, start: string, end: string): Encounter => ({
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
    subject: { reference: 'Patient/pat-1' },
    period: { start, end },
  });
  await store.resources.create(
    't',
    { resourceType: 'Patient', name: [{ family: 'Okafor' }] },
    { id: 'pat-1' },
  );
  // 15:00 and 20:00 on 3 December in New York; the EHR wrote the evening visit in UTC.
  await store.resources.create(
    't',
    visit('enc-a', '2026-12-03T15:00:00-05:00', '2026-12-03T16:00:00-05:00'),
    {
      id: 'enc-a',
    },
  );
  await store.resources.create('t', visit('enc-b', '2026-12-04T01:00:00Z', '2026-12-04T02:00:00Z'), {
    id: 'enc-b',
  });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function capture(timeZone: string | undefined): ChargeCaptureWorker {
  return new ChargeCaptureWorker({
    store,
    tables,
    logger: createLogger('silent'),
    publicUrl: 'http://dripline.test',
    codingOptions: () => (timeZone ? { timeZone } : {}),
  });
}

// The evening visit's group: its day is 3 December in New York, 4 December as the EHR wrote it.
test('with the clinic in New York, the afternoon visit is the same day as the evening one', async () => {
  const summary = await capture('America/New_York').process('t', {
    encounter: 'Encounter/enc-b',
    causes: [],
  });
  expect(Object.keys(summary.encounters).sort()).toEqual(['Encounter/enc-a', 'Encounter/enc-b']);
});

test('without a zone, days are as the EHR wrote them', async () => {
  const summary = await capture(undefined).process('t', { encounter: 'Encounter/enc-b', causes: [] });
  expect(Object.keys(summary.encounters)).toEqual(['Encounter/enc-b']);
});
