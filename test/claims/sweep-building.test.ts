/**
 * An encounter whose claim build is queued but not yet stored is not billed again: a later sweep
 * that sees one more of the patient's visits that day — or the full scan of a restarted worker —
 * would otherwise group it with that visit under another claim id (found by the claims kill -9
 * test under load: one encounter on two claims).
 */
import { expect, test } from '@jest/globals';
import type { ChargeItem, Encounter } from '@medplum/fhirtypes';
import type { ClaimReadyJob } from '../../src/claims/workflow/jobs.ts';
import { CLAIM_READY_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import { storePerFile } from '../support/store-per-test.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { sweepWorker } from './sweep-worker.ts';

let clock = new Date('2026-12-04T15:00:00Z');
let store: SqliteStore;

storePerFile(
  'dripline-claims-sweep-building-',
  () => clock,
  (opened) => {
    store = opened;
  },
);

/** A worker as a (re)started process makes it: its first sweep is a full scan. */
const worker = (tenant: string) => sweepWorker(store, tenant, () => clock, 10 * 60_000);

/** A visit of `patient`; finished ones get a billable charge (as charge capture writes it). */
async function visit(
  tenant: string,
  id: string,
  patient: string,
  status: Encounter['status'],
  start: string,
  end: string,
): Promise<void> {
  const encounter: Encounter = {
    resourceType: 'Encounter',
    id,
    status,
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
    subject: { reference: `Patient/${patient}` },
    period: status === 'finished' ? { start, end } : { start },
  };
  if (status === 'finished') {
    await store.resources.update(tenant, { ...encounter, id });
  } else {
    await store.resources.create(tenant, encounter, { id });
  }
  if (status === 'finished') {
    const charge: ChargeItem = {
      resourceType: 'ChargeItem',
      id: `charge-${id}`,
      status: 'billable',
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '96413' }] },
      subject: { reference: `Patient/${patient}` },
      context: { reference: `Encounter/${id}` },
      occurrenceDateTime: start.slice(0, 10),
    };
    await store.resources.create(tenant, charge, { id: charge.id });
  }
}

/** Each encounter with the queued builds that would bill it. */
async function queuedBuilds(tenant: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const job of await store.jobs.listJobs(tenant, CLAIM_READY_QUEUE, 'ready', 100)) {
    for (const encounter of (job.payload as ClaimReadyJob).encounters) {
      out[encounter] = (out[encounter] ?? 0) + 1;
    }
  }
  return out;
}

test.each([
  ['the same worker sweeping again', false],
  ['a restarted worker (full scan)', true],
])('a queued build keeps its encounter off the next claim: %s', async (_name, restarted) => {
  const tenant = restarted ? 'restarted' : 'running';
  clock = new Date('2026-12-04T15:00:00Z');
  await visit(tenant, 'enc-a', 'pat-1', 'finished', '2026-12-04T13:00:00Z', '2026-12-04T14:00:00Z');
  await visit(tenant, 'enc-b', 'pat-1', 'in-progress', '2026-12-04T14:30:00Z', '');
  clock = new Date('2026-12-04T16:00:00Z');
  const first = worker(tenant);
  expect(await first.sweep(tenant)).toBe(1);
  expect(await queuedBuilds(tenant)).toEqual({ 'Encounter/enc-a': 1 });

  // The second visit of the day ends; enc-a's build has not run yet.
  await visit(tenant, 'enc-b', 'pat-1', 'finished', '2026-12-04T14:30:00Z', '2026-12-04T15:30:00Z');
  clock = new Date('2026-12-04T17:00:00Z');
  const second = restarted ? worker(tenant) : first;
  await second.sweep(tenant);
  expect(await queuedBuilds(tenant)).toEqual({ 'Encounter/enc-a': 1, 'Encounter/enc-b': 1 });
});
