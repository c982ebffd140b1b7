/**
 * End to end over real HTTP: the sandbox EHR (its own FHIR server and SMART authorization server)
 * and Dripline. Dripline subscribes like it would to any EHR, the EHR replays a seeded infusion
 * day, and Dripline's stored copies end up equal to the EHR's resources, with fetch-back of what
 * the notifications did not carry and an encounter-changed event per changed encounter.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Coverage, Encounter, MedicationRequest, Resource } from '@medplum/fhirtypes';
import { sourceVersionOf } from '../../src/ingest/copies.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';

async function drained(server: TestServer, ehr: SandboxEhr): Promise<boolean> {
  await ehr.idle();
  const store = server.running.store;
  const ready = await store.jobs.listJobs('sandbox', INGEST_QUEUE, 'ready', 1);
  const leased = await store.jobs.listJobs('sandbox', INGEST_QUEUE, 'leased', 1);
  return ready.length === 0 && leased.length === 0;
}

/** Stored copy equals the EHR's current version: same EHR version and same content. */
function sameAsEhr(copy: Resource, original: Resource): boolean {
  const strip = (r: Resource): unknown => ({ ...r, meta: undefined });
  return (
    sourceVersionOf(copy).versionId === original.meta?.versionId &&
    JSON.stringify(strip(copy)) === JSON.stringify(strip(original))
  );
}

describe.each([
  ['id-only', 'backport'],
  ['full-resource', 'backport'],
  ['empty', 'backport'],
] as const)('sandbox day with %s payloads (%s)', (payload, mode) => {
  let ehr: SandboxEhr;
  let server: TestServer;

  beforeAll(async () => {
    ehr = await startSandboxEhr({ port: 0, seed: { date: '2026-11-26', patients: 16 } });
    const connection = { ...(await sandboxConnection(ehr)), payload, mode };
    // Ingest alone: what charge capture and billing would make of the day is not asserted here
    // (test/charges, test/claims), and their CPU would be spent three times over.
    server = await startTestServer(
      { LOG_LEVEL: 'warn' },
      { extraConnections: [{ tenant: 'sandbox', connection }], chargeCapture: false, claims: false },
    );
    await waitFor('active subscriptions', async () => {
      const records = await Promise.all(
        INGEST_TOPICS.map((t) => loadRecord(server.running.store, 'sandbox', connection.id, t)),
      );
      return records.every((r) => r?.status === 'active');
    });
    await ehr.replay({ speed: 0 });
    await waitFor('ingest to drain', () => drained(server, ehr), 60_000);
  }, 90_000);

  afterAll(async () => {
    await server.stop();
    await ehr.stop();
  });

  test('every administration and encounter is stored at the EHR’s current version', async () => {
    for (const type of ['MedicationAdministration', 'Encounter']) {
      const originals = await ehr.listResources(type);
      expect(originals.length).toBeGreaterThan(10);
      const mismatched: string[] = [];
      for (const original of originals) {
        try {
          const copy = await server.running.store.resources.read('sandbox', type, original.id!);
          if (!sameAsEhr(copy, original)) {
            mismatched.push(
              `${type}/${original.id} ours=${sourceVersionOf(copy).versionId} ehr=${original.meta?.versionId}`,
            );
          }
        } catch {
          mismatched.push(`${type}/${original.id} missing`);
        }
      }
      expect(mismatched).toEqual([]);
    }
  });

  test('what the notifications referenced was fetched back: patients, medications, orders, coverage', async () => {
    const administrations = await ehr.listResources('MedicationAdministration');
    const patients = new Set(administrations.map((a: any) => a.subject.reference as string));
    for (const ref of patients) {
      const [type, id] = ref.split('/');
      await expect(server.running.store.resources.read('sandbox', type!, id!)).resolves.toBeTruthy();
    }
    const coverages = await server.running.store.resources.search('sandbox', {
      resourceType: 'Coverage',
      filters: [],
      sort: [],
      count: 0,
      offset: 0,
      total: true,
    });
    expect(coverages.total).toBeGreaterThanOrEqual(patients.size);
  });

  test('who a claim names is fetched back too: coverage subscribers (RelatedPerson), encounter participants and order requesters', async () => {
    const coverages = (await ehr.listResources('Coverage')) as Coverage[];
    const encounters = (await ehr.listResources('Encounter')) as Encounter[];
    const requests = (await ehr.listResources('MedicationRequest')) as MedicationRequest[];
    const wanted = new Set([
      ...coverages.map((c) => c.subscriber?.reference),
      ...encounters.flatMap((e) => (e.participant ?? []).map((p) => p.individual?.reference)),
      ...requests.map((r) => r.requester?.reference),
    ]);
    const people = [...wanted].filter((r): r is string => /^(RelatedPerson|Practitioner)\//.test(r ?? ''));
    expect(people.filter((r) => r.startsWith('RelatedPerson/')).length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const ref of people) {
      const [type, id] = ref.split('/') as [string, string];
      await server.running.store.resources.read('sandbox', type, id).catch(() => missing.push(ref));
    }
    expect(missing).toEqual([]);
  });

  test('every changed encounter produced a domain event for charge capture', async () => {
    // Charge capture is off here, but where it runs it consumes these as they come: every state.
    const events = (
      await Promise.all(
        (['ready', 'leased', 'done'] as const).map((state) =>
          server.running.store.jobs.listJobs('sandbox', ENCOUNTER_CHANGED_QUEUE, state, 10_000),
        ),
      )
    ).flat();
    const encounters = new Set(events.map((j: any) => j.payload.encounter));
    const administrations = await ehr.listResources('MedicationAdministration');
    const missing = (administrations as any[])
      .filter((a) => !encounters.has(a.context.reference))
      .map((a) => a.context.reference);
    expect({ missing, events: events.length }).toEqual({ missing: [], events: events.length });
  });

  test('nothing is dead-lettered', async () => {
    expect(await server.running.store.jobs.listJobs('sandbox', INGEST_QUEUE, 'dead', 10)).toEqual([]);
  });
});
