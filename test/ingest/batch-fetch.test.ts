/**
 * Fetch-back of a batch's id-only focuses by `_id` search, over real HTTP against the sandbox EHR:
 * one `GET MedicationAdministration?_id=a,b,…` for a batch's administrations when the EHR's
 * CapabilityStatement declares `_id` (read once per connection), reads one at a time when it does
 * not, the same stored copies, domain events and charges either way, and an id the search does not
 * return (deleted at the EHR) read on its own and ending as a 410 always has; several missing
 * references of one type (an encounter's conditions) read the same way.
 *
 * Dripline runs with `ingest: false` and `chargeCapture: false`: each test drives the workers itself.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import type { Condition, MedicationAdministration, MedicationRequest, Resource } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { DELETED_AT_SOURCE, sourceVersionOf } from '../../src/ingest/copies.ts';
import type { IngestJob } from '../../src/ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { Job } from '../../src/store/port.ts';
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { newAdministration } from './administrations.ts';

const TENANT = 'sandbox';
const DAY = { date: '2026-11-26', patients: 16, seed: 11 };

interface Rig {
  readonly ehr: SandboxEhr;
  readonly server: TestServer;
  /** Every request the EHR received, as "METHOD /fhir/path?query". */
  readonly ehrRequests: string[];
  /** Runs the ingest worker until nothing is ready and the EHR has nothing left to deliver. */
  drainIngest(): Promise<void>;
  /** Runs charge capture until its queue is empty. */
  drainCharges(): Promise<void>;
  jobs(queue: string, state: Job['state']): Promise<Job[]>;
  stop(): Promise<void>;
}

const rigs: Rig[] = [];

afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    await rig.stop();
  }
});

async function startRig(idSearch: boolean): Promise<Rig> {
  const ehrRequests: string[] = [];
  const ehr = await startSandboxEhr({
    port: 0,
    seed: DAY,
    onRequest: (method, path) => ehrRequests.push(`${method} ${path}`),
    ...(idSearch ? {} : { unsupportedSearchParameters: ['_id'] }),
  });
  const connection: EhrConnectionConfig = { ...(await sandboxConnection(ehr)), payload: 'id-only' };
  const server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    { extraConnections: [{ tenant: TENANT, connection }], ingest: false, chargeCapture: false },
  );
  const { ingest, chargeCapture, store } = server.running;
  const until = async (run: () => Promise<number>): Promise<void> => {
    for (let idle = 0; idle < 2;) {
      await ehr.idle();
      idle = (await run()) === 0 ? idle + 1 : 0;
    }
  };
  const rig: Rig = {
    ehr,
    server,
    ehrRequests,
    drainIngest: () => until(() => ingest.worker.runOnce()),
    drainCharges: () => until(() => chargeCapture.runOnce()),
    jobs: (queue, state) => store.jobs.listJobs(TENANT, queue, state, 10_000),
    async stop() {
      await server.stop();
      await ehr.stop();
    },
  };
  rigs.push(rig);
  await ingest.maintainNow();
  await waitFor(
    'active subscriptions',
    async () => {
      await rig.drainIngest();
      const records = await Promise.all(
        INGEST_TOPICS.map((t) => loadRecord(store, TENANT, connection.id, t)),
      );
      return records.every((r) => r?.status === 'active' && r.ehrSubscriptionId);
    },
    10_000,
    25,
  );
  return rig;
}

const idSearches = (rig: Rig, type: string): string[] =>
  rig.ehrRequests.filter((r) => r.startsWith(`GET /fhir/${type}?`) && /[?&]_id=/.test(r));
const reads = (rig: Rig, type: string): string[] =>
  rig.ehrRequests.filter((r) => new RegExp(`^GET /fhir/${type}/[^/?]+$`).test(r));
const metadataReads = (rig: Rig): string[] => rig.ehrRequests.filter((r) => r === 'GET /fhir/metadata');

async function storedCopy(rig: Rig, type: string, id: string): Promise<Resource | undefined> {
  return rig.server.running.store.resources.read(TENANT, type, id).catch(() => undefined);
}

/** Eight new administrations notified, their references (patient, encounter, drug, order) already stored. */
async function eightNotified(rig: Rig): Promise<MedicationAdministration[]> {
  await newAdministration(rig.ehr);
  await rig.drainIngest();
  const administrations: MedicationAdministration[] = [];
  for (let i = 0; i < 8; i++) {
    administrations.push(await newAdministration(rig.ehr));
  }
  await rig.ehr.idle();
  expect((await rig.jobs(INGEST_QUEUE, 'ready')).length).toBe(8);
  rig.ehrRequests.length = 0;
  return administrations;
}

describe('id-only focuses of a batch', () => {
  test('are read with one _id search when the EHR declares _id, its CapabilityStatement read once', async () => {
    const rig = await startRig(true);
    const administrations = await eightNotified(rig);
    await rig.drainIngest();

    const searches = idSearches(rig, 'MedicationAdministration');
    expect(searches).toHaveLength(1);
    const asked = new URL(`http://x${searches[0]!.slice('GET '.length)}`).searchParams.get('_id')!.split(',');
    expect(asked.sort()).toEqual(administrations.map((a) => a.id!).sort());
    expect(reads(rig, 'MedicationAdministration')).toEqual([]);
    for (const ma of administrations) {
      const copy = await storedCopy(rig, 'MedicationAdministration', ma.id!);
      expect(sourceVersionOf(copy!).versionId).toBe(ma.meta?.versionId);
    }
    expect(await rig.jobs(INGEST_QUEUE, 'dead')).toEqual([]);

    // The CapabilityStatement was read by the first batch with several focuses, and not again.
    const before = metadataReads(rig).length;
    expect(before).toBeLessThanOrEqual(1);
    for (let i = 0; i < 3; i++) {
      await newAdministration(rig.ehr);
    }
    await rig.drainIngest();
    expect(metadataReads(rig)).toHaveLength(before);
    expect(idSearches(rig, 'MedicationAdministration')).toHaveLength(2);
  });

  test('are read one at a time when the EHR does not declare _id', async () => {
    const rig = await startRig(false);
    const administrations = await eightNotified(rig);
    await rig.drainIngest();

    expect(idSearches(rig, 'MedicationAdministration')).toEqual([]);
    expect(reads(rig, 'MedicationAdministration').sort()).toEqual(
      administrations.map((a) => `GET /fhir/MedicationAdministration/${a.id}`).sort(),
    );
    for (const ma of administrations) {
      expect(await storedCopy(rig, 'MedicationAdministration', ma.id!)).toBeDefined();
    }
    expect(await rig.jobs(INGEST_QUEUE, 'dead')).toEqual([]);
  });

  test('an id the search does not return (deleted at the EHR) is read on its own: 410, tagged deleted-at-source', async () => {
    const rig = await startRig(true);
    const administrations = await eightNotified(rig);
    await rig.drainIngest();
    const [gone, ...kept] = administrations as [MedicationAdministration, ...MedicationAdministration[]];

    for (const ma of administrations) {
      await rig.ehr.updateResource({ ...ma, note: [{ text: 'touched' }] }); // notified...
    }
    await rig.ehr.idle();
    await rig.ehr.deleteResource('MedicationAdministration', gone.id!); // ...one deleted before fetch-back
    rig.ehrRequests.length = 0;
    await rig.drainIngest();

    expect(idSearches(rig, 'MedicationAdministration')).toHaveLength(1);
    expect(reads(rig, 'MedicationAdministration')).toEqual([`GET /fhir/MedicationAdministration/${gone.id}`]);
    const copy = await storedCopy(rig, 'MedicationAdministration', gone.id!);
    expect(copy?.meta?.tag).toContainEqual(expect.objectContaining(DELETED_AT_SOURCE));
    for (const ma of kept) {
      const stored = await storedCopy(rig, 'MedicationAdministration', ma.id!);
      expect((stored as MedicationAdministration).note?.[0]?.text).toBe('touched');
    }
    const events = (await rig.jobs(INGEST_QUEUE, 'done')).filter(
      (j) => (j.payload as IngestJob).kind === 'event' && j.attempts !== 1,
    );
    expect(events).toEqual([]);
    expect(await rig.jobs(INGEST_QUEUE, 'ready')).toEqual([]);
    expect(await rig.jobs(INGEST_QUEUE, 'dead')).toEqual([]);
  });
});

/**
 * Each of `created` stored at its EHR version; read with one `_id` search of `type` when the EHR
 * declares `_id`, else one read each; no ingest job dead.
 */
async function expectReadTogether(
  rig: Rig,
  type: string,
  created: readonly Resource[],
  declared: boolean,
): Promise<void> {
  for (const resource of created) {
    const copy = await storedCopy(rig, type, resource.id!);
    expect(sourceVersionOf(copy!).versionId).toBe(resource.meta?.versionId);
  }
  if (declared) {
    expect(idSearches(rig, type)).toHaveLength(1);
    expect(reads(rig, type)).toEqual([]);
  } else {
    expect(idSearches(rig, type)).toEqual([]);
    expect(reads(rig, type).sort()).toEqual(created.map((r) => `GET /fhir/${type}/${r.id}`).sort());
  }
  expect(await rig.jobs(INGEST_QUEUE, 'dead')).toEqual([]);
}

describe('references a copy needs', () => {
  test.each([true, false])(
    'what a batch of focuses references and the store lacks (each its own new order) is read with one _id search when declared (%s)',
    async (declared) => {
      const rig = await startRig(declared);
      await newAdministration(rig.ehr);
      await rig.drainIngest();
      const template = (await rig.ehr.listResources('MedicationRequest'))[0] as MedicationRequest;
      const { id: _id, meta: _meta, ...order } = template;
      const orders: MedicationRequest[] = [];
      for (let i = 0; i < 6; i++) {
        // A new order at the EHR (orders are not notified): only fetch-back brings it.
        const created = await rig.ehr.createResource<MedicationRequest>({ ...order });
        orders.push(created);
        await newAdministration(rig.ehr, { request: { reference: `MedicationRequest/${created.id}` } });
      }
      await rig.ehr.idle();
      rig.ehrRequests.length = 0;
      await rig.drainIngest();

      await expectReadTogether(rig, 'MedicationRequest', orders, declared);
    },
  );

  test.each([true, false])(
    'several of one type (an encounter’s conditions) are read with one _id search when declared (%s)',
    async (declared) => {
      const rig = await startRig(declared);
      const template = (await rig.ehr.listResources('Encounter'))[0] as any;
      const conditions: Condition[] = [];
      for (const code of ['C50.911', 'D63.0', 'E86.0']) {
        conditions.push(
          await rig.ehr.createResource<Condition>({
            resourceType: 'Condition',
            subject: template.subject,
            code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code }] },
          }),
        );
      }
      const { id: _id, meta: _meta, ...rest } = template;
      const encounter = await rig.ehr.createResource({
        ...rest,
        reasonReference: conditions.map((c) => ({ reference: `Condition/${c.id}` })),
      });
      await rig.ehr.idle();
      rig.ehrRequests.length = 0;
      await rig.drainIngest();

      expect(await storedCopy(rig, 'Encounter', encounter.id)).toBeDefined();
      await expectReadTogether(rig, 'Condition', conditions, declared);
    },
  );
});

/** What ingest and charge capture left in the store, without what differs run to run (ids, instants, versions). */
async function outcome(rig: Rig): Promise<Record<string, unknown>> {
  const store = rig.server.running.store;
  const all = async (type: string): Promise<Resource[]> =>
    (
      await store.resources.search(TENANT, {
        resourceType: type,
        filters: [],
        sort: [{ code: '_id', descending: false }],
        count: 1000,
        offset: 0,
        total: false,
      })
    ).resources;
  const plain = (r: Resource): string => JSON.stringify({ ...r, meta: undefined });
  const copies: Record<string, string[]> = {};
  for (const type of ['MedicationAdministration', 'Encounter', 'Patient', 'Coverage', 'Medication']) {
    copies[type] = (await all(type)).map(plain);
  }
  const charges = (await all('ChargeItem'))
    .map((c: any) =>
      JSON.stringify({
        status: c.status,
        code: c.code,
        quantity: c.quantity,
        context: c.context,
        service: c.service,
        occurrence: c.occurrenceDateTime ?? c.occurrencePeriod,
      }),
    )
    .sort();
  const events = (await rig.jobs(ENCOUNTER_CHANGED_QUEUE, 'done'))
    .map((j) => (j.payload as { encounter: string }).encounter)
    .sort();
  return { copies, charges, encounterEvents: [...new Set(events)] };
}

describe('the seeded day, with and without _id search', () => {
  test('stores the same copies, emits the same events and computes the same charges', async () => {
    const results: Record<string, unknown>[] = [];
    const requests: { searches: number; reads: number }[] = [];
    for (const idSearch of [true, false]) {
      const rig = await startRig(idSearch);
      rig.ehrRequests.length = 0;
      await rig.ehr.replay({ speed: 0 });
      await rig.drainIngest();
      await rig.drainCharges();
      expect(await rig.jobs(INGEST_QUEUE, 'dead')).toEqual([]);
      results.push(await outcome(rig));
      requests.push({
        searches: idSearches(rig, 'MedicationAdministration').length + idSearches(rig, 'Encounter').length,
        reads: reads(rig, 'MedicationAdministration').length + reads(rig, 'Encounter').length,
      });
      await rig.stop();
      rigs.splice(rigs.indexOf(rig), 1);
    }
    const [withSearch, withReads] = results as [Record<string, any>, Record<string, any>];
    expect(withSearch['charges'].length).toBeGreaterThan(10);
    expect(withSearch['copies']['MedicationAdministration'].length).toBeGreaterThan(10);
    expect(withSearch).toEqual(withReads);
    // And the first run did read by search: fewer requests than focuses.
    expect(requests[0]!.searches).toBeGreaterThan(0);
    expect(requests[1]!.searches).toBe(0);
    expect(requests[0]!.searches + requests[0]!.reads).toBeLessThan(requests[1]!.reads / 2);
  }, 120_000);
});
