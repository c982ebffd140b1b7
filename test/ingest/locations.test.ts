/**
 * A connection bound to locations, end to end over real HTTP against the sandbox EHR, which is as
 * strict as a real one: it refuses Subscription filters that are not FHIR R4 search parameters of
 * the type (there is no MedicationAdministration `location`). In every subscription mode the EHR
 * accepts Dripline's Subscriptions, the seeded day flows in, and what happened at a location the
 * connection does not name (the patients' homes) is neither stored nor billed: the EHR notifies
 * every administration (it cannot filter them by place), so Dripline's own filter decides.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Encounter, MedicationAdministration, Resource } from '@medplum/fhirtypes';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';

const OFFICE = 'Location/loc-office-infusion-suite';
const HOPD = 'Location/loc-hopd-infusion';

async function idle(server: TestServer, ehr: SandboxEhr): Promise<boolean> {
  await ehr.idle();
  for (const queue of [INGEST_QUEUE, ENCOUNTER_CHANGED_QUEUE]) {
    for (const state of ['ready', 'leased'] as const) {
      if ((await server.running.store.jobs.listJobs('sandbox', queue, state, 1)).length > 0) {
        return false;
      }
    }
  }
  return true;
}

async function stored(server: TestServer, type: string): Promise<Resource[]> {
  const page = await server.running.store.resources.search('sandbox', {
    resourceType: type,
    filters: [],
    sort: [],
    count: 1000,
    offset: 0,
    total: false,
  });
  return page.resources;
}

const placeOf = (encounter: Encounter): string[] =>
  (encounter.location ?? []).map((l) => (l.location.reference ?? '').replace(/^.*\/(Location\/)/, '$1'));

describe.each(['rest-hook', 'backport', 'r5'] as const)(
  '%s connection for two of three locations',
  (mode) => {
    let ehr: SandboxEhr;
    let server: TestServer;
    let inside: Set<string>;
    let outside: Set<string>;

    beforeAll(async () => {
      // 16 patients: the fewest with every setting, home infusion included (src/sandbox/ehr/seed/generate.ts).
      ehr = await startSandboxEhr({ port: 0, seed: { date: '2026-11-26', patients: 16 } });
      const connection = { ...(await sandboxConnection(ehr)), mode, locations: [OFFICE, HOPD] };
      server = await startTestServer(
        { LOG_LEVEL: 'warn' },
        { extraConnections: [{ tenant: 'sandbox', connection }], claims: false },
      );
      // The strict EHR accepted both Subscriptions (it answered 400 to `MedicationAdministration?location=`).
      await waitFor('active subscriptions', async () => {
        const records = await Promise.all(
          INGEST_TOPICS.map((t) => loadRecord(server.running.store, 'sandbox', connection.id, t)),
        );
        return records.every((r) => r?.ehrSubscriptionId !== undefined && r.status === 'active');
      });
      await ehr.replay({ speed: 0 });
      await waitFor('ingest and charge capture to drain', () => idle(server, ehr), 60_000);
      const encounters = (await ehr.listResources('Encounter')) as Encounter[];
      const at = (e: Encounter): boolean => placeOf(e).some((l) => l === OFFICE || l === HOPD);
      inside = new Set(encounters.filter(at).map((e) => `Encounter/${e.id ?? ''}`));
      outside = new Set(encounters.filter((e) => !at(e)).map((e) => `Encounter/${e.id ?? ''}`));
    }, 90_000);

    afterAll(async () => {
      await server?.stop();
      await ehr?.stop();
    });

    test('the seeded day has encounters and administrations at an unconfigured location', async () => {
      const administrations = (await ehr.listResources(
        'MedicationAdministration',
      )) as MedicationAdministration[];
      expect(inside.size).toBeGreaterThan(5);
      expect(outside.size).toBeGreaterThan(0);
      expect(administrations.some((a) => outside.has(a.context?.reference ?? ''))).toBe(true);
    });

    test('every encounter and administration at a configured location is stored; none elsewhere', async () => {
      const encounters = (await stored(server, 'Encounter')).map((e) => `Encounter/${e.id ?? ''}`);
      expect(encounters.filter((e) => outside.has(e))).toEqual([]);
      expect(new Set(encounters)).toEqual(inside);
      const administrations = (await stored(
        server,
        'MedicationAdministration',
      )) as MedicationAdministration[];
      const wanted = ((await ehr.listResources('MedicationAdministration')) as MedicationAdministration[])
        .filter((a) => inside.has(a.context?.reference ?? ''))
        .map((a) => a.id)
        .sort();
      expect(administrations.map((a) => a.id).sort()).toEqual(wanted);
    });

    test('nothing is billed for an encounter elsewhere; encounters here are', async () => {
      const charged = new Set(
        (await stored(server, 'ChargeItem')).map(
          (c) => (c as { context?: { reference?: string } }).context?.reference ?? '',
        ),
      );
      expect([...charged].filter((e) => !inside.has(e))).toEqual([]);
      expect(charged.size).toBeGreaterThan(0);
    });

    test('charge capture found every encounter’s inputs stored on its first look (none retried for a missing one)', async () => {
      // Ingest stores what a resource references before the resource, whose copy enqueues the event.
      const done = await server.running.store.jobs.listJobs(
        'sandbox',
        ENCOUNTER_CHANGED_QUEUE,
        'done',
        10_000,
      );
      expect(done.length).toBeGreaterThan(inside.size);
      expect(done.filter((j) => j.attempts > 1).map((j) => j.lastError)).toEqual([]);
    });

    test('nothing is dead-lettered', async () => {
      expect(await server.running.store.jobs.listJobs('sandbox', INGEST_QUEUE, 'dead', 10)).toEqual([]);
    });
  },
);
