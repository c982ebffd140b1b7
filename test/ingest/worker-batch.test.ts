/**
 * What one ingest worker batch does, over real HTTP against the sandbox EHR on a real SQLite store:
 * it takes up to INGEST_BATCH_SIZE (256) notification jobs at once (one lease, one copy transaction,
 * one ack for all of them; the copies' AuditEvents one per patient, with time-ordered ids), and fetch-back does not read the store again for references it already
 * knows are stored (the patient, encounter and drug every administration of a visit names).
 *
 * Dripline runs with `ingest: false` and `chargeCapture: false`: each test drives the worker itself.
 * The store is the test's, seen through a view that counts resource reads by type.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import type { AuditEvent, MedicationAdministration } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { sourceVersionOf } from '../../src/ingest/copies.ts';
import { INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { INGEST_BATCH_SIZE } from '../../src/ingest/worker.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { overriding } from '../../src/store/view.ts';
import type { Job, JobLease, Store, StoreQuery } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { newAdministration, newVisit } from './administrations.ts';

const TENANT = 'sandbox';
const BATCH = INGEST_BATCH_SIZE;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DAY = { date: '2026-11-26', patients: 4, seed: 17 };

interface Rig {
  readonly ehr: SandboxEhr;
  readonly server: TestServer;
  /** Resource reads (and searches) through the store, by type, since the last `reads.clear()`. */
  readonly reads: Map<string, number>;
  /** Every request the EHR received ("GET /fhir/…?…"), in order. */
  readonly ehrRequests: string[];
  /** Called as each batch's acks reach the store (before they are written). */
  onAcks: ((acked: readonly JobLease[]) => Promise<void>) | undefined;
  /** Runs the ingest worker until nothing is ready and the EHR has nothing left to deliver. */
  drainIngest(): Promise<void>;
  readyJobs(): Promise<number>;
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

/**
 * The store, with every `resources.read` counted by type (and every search, as "search <type>"),
 * and each batch's acks shown to `rig.onAcks` first.
 */
function observed(store: Store, reads: Map<string, number>, rig: () => Rig): Store {
  const { resources, jobs } = store;
  const count = (key: string) => reads.set(key, (reads.get(key) ?? 0) + 1);
  return overriding(store, {
    jobs: overriding(jobs, {
      ackMany: async (leases: readonly JobLease[]) => {
        await rig().onAcks?.(leases);
        return jobs.ackMany(leases);
      },
    }),
    resources: overriding(resources, {
      read: (tenant: string, type: string, id: string) => {
        count(type);
        return resources.read(tenant, type, id);
      },
      search: (tenant: string, query: StoreQuery) => {
        count(`search ${query.resourceType}`);
        return resources.search(tenant, query);
      },
    }),
  });
}

async function startRig(): Promise<Rig> {
  const ehrRequests: string[] = [];
  const ehr = await startSandboxEhr({
    port: 0,
    seed: DAY,
    onRequest: (method, path) => ehrRequests.push(`${method} ${path}`),
  });
  cleanups.push(() => ehr.stop());
  const dir = mkdtempSync(join(tmpdir(), 'dripline-worker-batch-'));
  const real = await openSqliteStore({ path: join(dir, 'dripline.sqlite') });
  cleanups.push(async () => {
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const reads = new Map<string, number>();
  const connection: EhrConnectionConfig = { ...(await sandboxConnection(ehr)), payload: 'id-only' };
  const server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    {
      store: observed(real, reads, () => rig),
      extraConnections: [{ tenant: TENANT, connection }],
      ingest: false,
      chargeCapture: false,
    },
  );
  cleanups.push(() => server.stop());
  const { ingest } = server.running;
  const rig: Rig = {
    ehr,
    server,
    reads,
    ehrRequests,
    onAcks: undefined,
    async drainIngest() {
      for (let idle = 0; idle < 2;) {
        await ehr.idle();
        idle = (await ingest.worker.runOnce()) === 0 ? idle + 1 : 0;
      }
    },
    readyJobs: async () => (await real.jobs.listJobs(TENANT, INGEST_QUEUE, 'ready', 10_000)).length,
  };
  await ingest.maintainNow();
  await waitFor(
    'active subscriptions',
    async () => {
      await rig.drainIngest();
      const records = await Promise.all(INGEST_TOPICS.map((t) => loadRecord(real, TENANT, connection.id, t)));
      return records.every((r) => r?.status === 'active' && r.ehrSubscriptionId);
    },
    10_000,
    25,
  );
  return rig;
}

async function stored(rig: Rig, administrations: readonly MedicationAdministration[]): Promise<number> {
  let count = 0;
  for (const ma of administrations) {
    const copy = await rig.server.running.store.resources
      .read(TENANT, 'MedicationAdministration', ma.id!)
      .catch(() => undefined);
    count += copy ? 1 : 0;
  }
  return count;
}

describe('an ingest worker batch', () => {
  test('takes INGEST_BATCH_SIZE notifications at once', async () => {
    const rig = await startRig();
    const first = await newAdministration(rig.ehr);
    await rig.drainIngest();

    const administrations: MedicationAdministration[] = [];
    for (let i = 0; i < BATCH + 3; i++) {
      administrations.push(await newAdministration(rig.ehr));
    }
    await rig.ehr.idle();
    expect(await rig.readyJobs()).toBe(BATCH + 3);

    expect(await rig.server.running.ingest.worker.runOnce()).toBe(BATCH);
    expect(await stored(rig, administrations)).toBe(BATCH);
    expect(await rig.readyJobs()).toBe(3);
    await rig.drainIngest();
    expect(await stored(rig, administrations)).toBe(BATCH + 3);

    // Each copy version is named by exactly one AuditEvent, whose id is time-ordered (UUID v7), as
    // the FHIR API's are: a batch's AuditEvents append to the store's id indexes instead of
    // landing on random pages. The copies of one patient committed together share one event
    // (src/ingest/copy-audit.ts): these administrations are all one patient's.
    const audits = (await searchAll<AuditEvent>(rig.server.running.store, TENANT, 'AuditEvent')).filter((a) =>
      a.entity?.some((e) => e.what?.reference?.startsWith('MedicationAdministration/')),
    );
    const named = audits.flatMap((a) =>
      (a.entity ?? []).flatMap((e) =>
        e.what?.reference?.startsWith('MedicationAdministration/') ? [e.what.reference] : [],
      ),
    );
    expect(named.sort()).toEqual(
      [first, ...administrations].map((ma) => `MedicationAdministration/${ma.id ?? ''}/_history/1`).sort(),
    );
    expect(audits.length).toBeLessThan(10);
    for (const audit of audits) {
      expect(audit.id).toMatch(UUID_V7);
      expect(audit.entity?.filter((e) => e.role?.code === '1')).toHaveLength(1);
    }
  });

  test('does not read the store again for references it knows are stored', async () => {
    const rig = await startRig();
    // Administrations of one visit: the first brings its patient, encounter and order.
    const visit = await newVisit(rig.ehr, '2026-11-26T08:30:00-05:00');
    const inVisit = { context: { reference: `Encounter/${visit.id ?? ''}` } };
    const first = await newAdministration(rig.ehr, inVisit);
    await rig.drainIngest();
    expect(first.subject.reference).toMatch(/^Patient\//);
    expect(first.context?.reference).toMatch(/^Encounter\/./);
    expect(first.request?.reference).toMatch(/^MedicationRequest\//);

    rig.reads.clear();
    const next: MedicationAdministration[] = [];
    for (let i = 0; i < 8; i++) {
      next.push(await newAdministration(rig.ehr, inVisit));
    }
    await rig.drainIngest();
    const types = ['Patient', 'Encounter', 'Medication', 'MedicationRequest'];
    const reads = Object.fromEntries(types.map((type) => [type, rig.reads.get(type) ?? 0]));
    expect(await stored(rig, next)).toBe(8);
    expect(reads).toEqual({ Patient: 0, Encounter: 0, Medication: 0, MedicationRequest: 0 });
  });

  test('reads the stored copies of its focuses with one search, new and updated alike', async () => {
    const rig = await startRig();
    await newAdministration(rig.ehr);
    await rig.drainIngest();
    const created: MedicationAdministration[] = [];
    for (let i = 0; i < 8; i++) {
      created.push(await newAdministration(rig.ehr));
    }
    rig.reads.clear();
    await rig.drainIngest();
    const newOnes = {
      reads: rig.reads.get('MedicationAdministration') ?? 0,
      searches: rig.reads.get('search MedicationAdministration') ?? 0,
    };
    expect(await stored(rig, created)).toBe(8);

    const updated: MedicationAdministration[] = [];
    for (const ma of created) {
      updated.push(await rig.ehr.updateResource({ ...ma, status: 'completed' }));
    }
    rig.reads.clear();
    await rig.drainIngest();
    const updates = {
      reads: rig.reads.get('MedicationAdministration') ?? 0,
      searches: rig.reads.get('search MedicationAdministration') ?? 0,
    };
    // One search per batch for the copies to compare with, none read one by one.
    expect({ newOnes, updates }).toEqual({
      newOnes: { reads: 0, searches: 1 },
      updates: { reads: 0, searches: 1 },
    });
    for (const ma of updated) {
      const copy = await rig.server.running.store.resources.read(TENANT, 'MedicationAdministration', ma.id!);
      expect(copy).toMatchObject({ status: 'completed', meta: { versionId: '2' } });
      expect(sourceVersionOf(copy).versionId).toBe(ma.meta?.versionId);
    }
  });
});

describe('the ingest worker loop', () => {
  /** Administrations enough for two full batches and a third, notified and queued. */
  async function backlog(rig: Rig): Promise<MedicationAdministration[]> {
    await newAdministration(rig.ehr);
    await rig.drainIngest();
    const administrations: MedicationAdministration[] = [];
    for (let i = 0; i < 2 * BATCH + 5; i++) {
      administrations.push(await newAdministration(rig.ehr));
    }
    await rig.ehr.idle();
    expect(await rig.readyJobs()).toBe(2 * BATCH + 5);
    return administrations;
  }

  const leasedJobs = (rig: Rig): Promise<Job[]> =>
    rig.server.running.store.jobs.listJobs(TENANT, INGEST_QUEUE, 'leased', 10_000);

  test('leases the next batch and reads its focuses from the EHR while one batch is written', async () => {
    const rig = await startRig();
    const administrations = await backlog(rig);
    // When the first batch's acks arrive: the jobs leased besides the batch's own (the next
    // batch), and whether each of their focuses was already asked of the EHR.
    let atFirstAcks: { leasedAhead: number; focusesAsked: number } | undefined;
    rig.onAcks = async (acked) => {
      if (atFirstAcks) {
        return;
      }
      const ackedIds = new Set(acked.map((lease) => lease.jobId));
      const ahead = (await leasedJobs(rig)).filter((job) => !ackedIds.has(job.id));
      const focusIds = ahead.map((job) => String((job.payload as { focus?: string }).focus).split('/')[1]!);
      atFirstAcks = {
        leasedAhead: ahead.length,
        focusesAsked: focusIds.filter((id) => rig.ehrRequests.some((request) => request.includes(id))).length,
      };
    };
    const { worker } = rig.server.running.ingest;
    worker.start();
    cleanups.push(() => worker.stop());
    await waitFor(
      'the backlog stored',
      async () => (await stored(rig, administrations)) === 2 * BATCH + 5,
      20_000,
      25,
    );
    expect(atFirstAcks).toEqual({ leasedAhead: BATCH, focusesAsked: BATCH });
  });

  test('stops after the batch leased ahead, leaving no job leased', async () => {
    const rig = await startRig();
    const administrations = await backlog(rig);
    const { worker } = rig.server.running.ingest;
    let stopping: Promise<void> | undefined;
    rig.onAcks = () => {
      stopping ??= worker.stop();
      return Promise.resolve();
    };
    worker.start();
    await waitFor('asked to stop', () => stopping !== undefined, 20_000, 5);
    await stopping;
    expect(await leasedJobs(rig)).toEqual([]);
    // The batch in hand and the one leased ahead: the third is left ready for whoever runs next.
    expect(await stored(rig, administrations)).toBe(2 * BATCH);
    expect(await rig.readyJobs()).toBe(5);
  });
});
