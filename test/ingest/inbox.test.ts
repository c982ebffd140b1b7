/**
 * The ingest inbox in its own SQLite file (src/store/sqlite/inbox.ts), through real HTTP and real
 * processes:
 * - the receiver acknowledges, durably, while another connection holds the main file's write lock
 *   (as a worker's copy transaction does);
 * - Dripline killed -9 after a job's copy is committed in the main file and before its ack in the
 *   inbox: after the restart the job runs again and changes nothing (one copy version, one
 *   encounter-changed event);
 * - ingest jobs an older version left pending in the main file are processed after the upgrade.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Encounter } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { TOPIC_MEDICATION_ADMINISTRATION } from '../../src/contract/canonical.ts';
import { freePort } from '../../src/http/free-port.ts';
import type { EncounterChangedEvent, IngestJob } from '../../src/ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { loadRecord, sha256Hex, updateRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { JobState } from '../../src/store/port.ts';
import { inboxPathFor } from '../../src/store/sqlite/inbox.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { driplineChildEnv, startDriplineChild } from '../support/child.ts';
import type { DriplineChild } from '../support/child.ts';
import { testClock } from '../support/clock.ts';
import { unreachableEhrConnection } from '../support/ehr-connection.ts';
import { startTestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { newAdministration } from './administrations.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('the receiver while a worker holds the main file’s write lock', () => {
  const SECRET = 'inbox-secret-0123456789abcdef';
  const connection = unreachableEhrConnection('ehr-inbox');

  test('a notification is acknowledged and its job is committed', async () => {
    // A receiver (WORKERS=none): nothing else in this process writes.
    const server = await startTestServer(
      { WORKERS: 'none' },
      { extraConnections: [{ tenant: 'sandbox', connection }] },
    );
    const worker = new DatabaseSync(join(server.config.dataDir, 'dripline.sqlite'));
    try {
      await updateRecord(
        server.running.store,
        'sandbox',
        connection,
        'MedicationAdministration',
        'x',
        (r) => ({
          ...r,
          ehrSubscriptionId: 'sub-inbox',
          secretSha256: sha256Hex(SECRET),
          status: 'active',
        }),
      );
      const focus = 'http://127.0.0.1:9/fhir/MedicationAdministration/ma-locked';
      const body = {
        resourceType: 'Bundle',
        type: 'history',
        entry: [
          {
            fullUrl: 'urn:uuid:0b7e6f1c-8d55-4d1e-9a64-2f7f8c1d2e01',
            resource: {
              resourceType: 'Parameters',
              parameter: [
                { name: 'subscription', valueReference: { reference: 'Subscription/sub-inbox' } },
                { name: 'topic', valueCanonical: TOPIC_MEDICATION_ADMINISTRATION },
                { name: 'status', valueCode: 'active' },
                { name: 'type', valueCode: 'event-notification' },
                { name: 'events-since-subscription-start', valueString: '1' },
                {
                  name: 'notification-event',
                  part: [
                    { name: 'event-number', valueString: '1' },
                    { name: 'focus', valueReference: { reference: focus } },
                  ],
                },
              ],
            },
          },
        ],
      };
      // What a worker's copy transaction does to the main file, held for as long as the request takes.
      worker.exec('BEGIN IMMEDIATE');
      const res = await fetch(`${server.url}/ehr/ehr-inbox/notify`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      // Committed in the inbox file (another connection sees it) while the main file is still locked.
      const inbox = new DatabaseSync(inboxPathFor(join(server.config.dataDir, 'dripline.sqlite')), {
        readOnly: true,
      });
      const rows = inbox
        .prepare("SELECT payload FROM jobs WHERE queue = ? AND state = 'ready'")
        .all(INGEST_QUEUE);
      inbox.close();
      expect(rows.map((r) => (JSON.parse(String(r['payload'])) as { focus?: string }).focus)).toEqual([
        focus,
      ]);
    } finally {
      if (worker.isTransaction) {
        worker.exec('ROLLBACK');
      }
      worker.close();
      await server.stop();
    }
  });
});

describe('kill -9 between a copy and its ack; jobs left in the main file by an older version', () => {
  const TENANT = 'inbox';
  const CONNECTION_ID = 'inbox-ehr';
  /** Lease of the child's worker (KILL9_LEASE_MS; see kill9-server.ts). */
  const LEASE_MS = 1000;
  const dir = mkdtempSync(join(tmpdir(), 'dripline-inbox-'));
  const dataDir = join(dir, 'data');
  const mainPath = join(dataDir, 'dripline.sqlite');
  let ehr: SandboxEhr | undefined;
  let child: DriplineChild | undefined;
  let store: SqliteStore | undefined;
  let env: Record<string, string>;

  const startChild = (): Promise<DriplineChild> => startDriplineChild(join(here, 'kill9-server.ts'), env);
  const ingestJobs = async (state: JobState) => store!.jobs.listJobs(TENANT, INGEST_QUEUE, state, 100_000);
  const jobAbout = async (state: JobState, id: string) =>
    (await ingestJobs(state)).find((job) =>
      JSON.stringify(job.payload).includes(`MedicationAdministration/${id}`),
    );

  beforeAll(async () => {
    ehr = await startSandboxEhr({ port: 0, seed: { date: '2026-11-26', patients: 4 }, now: testClock });
    const connection: EhrConnectionConfig = {
      ...(await sandboxConnection(ehr)),
      id: CONNECTION_ID,
      payload: 'id-only',
    };
    const configFile = join(dir, 'dripline.json');
    writeFileSync(
      configFile,
      JSON.stringify({ tenants: [{ id: TENANT, name: 'Inbox clinic', connections: [connection] }] }),
    );
    const port = await freePort();
    env = {
      ...driplineChildEnv({ configFile, dataDir, port }),
      KILL9_LEASE_MS: String(LEASE_MS),
    };
  });

  afterAll(async () => {
    child?.process.kill('SIGKILL');
    await child?.exited;
    await store?.close();
    await ehr?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an ingest job an older version left in the main file is processed after the upgrade', async () => {
    // The data directory as the previous version left it: no inbox file, a pending ingest job in
    // the main file's jobs table (a classic notification about an administration at the EHR).
    const legacy = await newAdministration(ehr!);
    mkdirSync(dataDir, { recursive: true });
    await (await openSqliteStore({ path: mainPath })).close();
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(`${inboxPathFor(mainPath)}${suffix}`, { force: true });
    }
    const payload: IngestJob = {
      kind: 'classic',
      connectionId: CONNECTION_ID,
      interaction: 'update',
      target: { resourceType: 'MedicationAdministration', id: legacy.id! },
      receivedAt: testClock().toISOString(),
    };
    const main = new DatabaseSync(mainPath);
    main
      .prepare(
        'INSERT INTO jobs (id, tenant, queue, key, payload, state, attempts, max_attempts, run_at, created_at, updated_at) ' +
          "VALUES ('legacy-job', ?, ?, 'legacy-key', ?, 'ready', 0, 8, ?, ?, ?)",
      )
      .run(TENANT, INGEST_QUEUE, JSON.stringify(payload), ...Array(3).fill(testClock().toISOString()));
    main.close();

    child = await startChild();
    store = await openSqliteStore({ path: mainPath });
    const done = await waitFor(
      'the legacy job done',
      async () => (await store!.jobs.getJob('legacy-job'))?.state === 'done',
    );
    expect(done).toBe(true);
    const copy = await store.resources.read(TENANT, 'MedicationAdministration', legacy.id!);
    expect(copy.meta.versionId).toBe('1');
    expect(
      Number(
        store.connection.get(
          "SELECT count(*) AS n FROM jobs WHERE queue = ? AND state IN ('ready', 'leased')",
          INGEST_QUEUE,
        )?.['n'],
      ),
    ).toBe(0);
  });

  test('killed after the copy is committed and before the inbox ack: the re-run changes nothing', async () => {
    const records = async () =>
      Promise.all(INGEST_TOPICS.map((topic) => loadRecord(store!, TENANT, CONNECTION_ID, topic)));
    await waitFor('both subscriptions active', async () =>
      (await records()).every((r) => r?.status === 'active'),
    );
    await waitFor('the EHR to hold both subscriptions active', async () =>
      (await records()).every((r) => ehr?.subscriptionInfo(r?.ehrSubscriptionId ?? '')?.status === 'active'),
    );
    // An encounter for the administration (the seeded day has none until it is replayed), stored
    // first, so its copy makes the administration's copy an encounter-changed event.
    const [patient] = await ehr!.listResources('Patient');
    const encounter = await ehr!.createResource<Encounter>({
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${patient!.id!}` },
      period: { start: '2026-11-26T08:00:00-05:00' },
    });
    await waitFor('the encounter stored', () =>
      store!.resources.read(TENANT, 'Encounter', encounter.id!).then(
        () => true,
        () => false,
      ),
    );
    const mainLock = new DatabaseSync(mainPath, { timeout: 10_000 });
    const inboxLock = new DatabaseSync(inboxPathFor(mainPath), { timeout: 10_000 });
    let id: string;
    try {
      // The main file locked: the worker leases the job (inbox) but cannot store its copy yet.
      mainLock.exec('BEGIN IMMEDIATE');
      id = (
        await newAdministration(ehr!, {
          subject: { reference: `Patient/${patient!.id!}` },
          context: { reference: `Encounter/${encounter.id!}` },
        })
      ).id!;
      await waitFor('the job leased', () => jobAbout('leased', id), 20_000, 20);
      // The inbox locked too, then the main file released: the copy commits, the ack cannot.
      inboxLock.exec('BEGIN IMMEDIATE');
      mainLock.exec('ROLLBACK');
      await waitFor(
        'the copy stored',
        () =>
          store!.resources.read(TENANT, 'MedicationAdministration', id).then(
            () => true,
            () => false,
          ),
        20_000,
        20,
      );
      child!.process.kill('SIGKILL');
      expect((await child!.exited).signal).toBe('SIGKILL');
    } finally {
      for (const lock of [mainLock, inboxLock]) {
        if (lock.isTransaction) {
          lock.exec('ROLLBACK');
        }
        lock.close();
      }
    }
    const atKill = await jobAbout('leased', id);
    expect(atKill?.attempts).toBe(1);

    child = await startChild();
    const rerun = await waitFor('the job done after the restart', () => jobAbout('done', id), 30_000);
    // It ran again (its lease expired with the killed process), and changed nothing.
    expect(rerun.attempts).toBe(2);
    const history = await store!.resources.history(TENANT, 'MedicationAdministration', id);
    expect(history.total).toBe(1);
    const events: EncounterChangedEvent[] = [];
    for (const state of ['ready', 'leased', 'done', 'dead'] as const) {
      for (const job of await store!.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, state, 100_000)) {
        events.push(job.payload as EncounterChangedEvent);
      }
    }
    expect(
      events.filter((e) => e.causes.some((c) => c.startsWith(`MedicationAdministration/${id}/`))),
    ).toHaveLength(1);
  });
});
