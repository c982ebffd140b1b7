/**
 * Scale-out: several Dripline processes on one store, as the README's "Running several processes"
 * describes. One receiver (`WORKERS=none`: it acknowledges notifications and enqueues, nothing
 * else) and two worker processes (`WORKERS=all`) share the data; the EHR (the sandbox EHR, in this
 * process) delivers a burst of id-only notifications to the receiver. Then: every administration
 * is stored once (one version each), every job is done and none dead or duplicated, the receiver
 * handled no job, and both workers took a share (each one's `dripline_worker_jobs_total`).
 *
 * Runs on the embedded store (SQLite shared by processes on one host), and on MongoDB when
 * MONGODB_URL names a replica set (skipped, saying so, when it does not).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { MedicationAdministration } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { freePort } from '../../src/http/free-port.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { startDriplineChild, stopChild } from '../support/child.ts';
import type { DriplineChild } from '../support/child.ts';
import { testClock } from '../support/clock.ts';
import { waitFor } from '../support/wait.ts';

/** Dripline as `npm start` runs it, printing `LISTENING <url>` (the kill -9 proofs' child). */
const SERVER = fileURLToPath(new URL('../ingest/kill9-server.ts', import.meta.url));
const TENANT = 'scale';
const PATIENTS = 10;
const ADMINISTRATIONS = 120;
const METRICS_TOKEN = 'scale-out-metrics-token';

const mongodbUrl = process.env['MONGODB_URL'];
const stores = [
  ['embedded SQLite', undefined],
  ['MongoDB', mongodbUrl],
] as const;

async function seed(ehr: SandboxEhr): Promise<void> {
  await ehr.createResource({ resourceType: 'Organization', id: 'payer-1', name: 'Payer One' });
  await ehr.createResource({
    resourceType: 'Medication',
    id: 'med-1',
    code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '1000' }] },
  });
  for (let p = 0; p < PATIENTS; p++) {
    await ehr.createResource({
      resourceType: 'Patient',
      id: `pat-${p}`,
      name: [{ family: `Family${p}`, given: ['Test'] }],
      birthDate: '1960-01-01',
    });
    await ehr.createResource({
      resourceType: 'Encounter',
      id: `enc-${p}`,
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/pat-${p}` },
      period: { start: '2026-11-26T08:00:00Z' },
    });
  }
}

/** The process's `dripline_worker_jobs_total`, per worker. */
async function jobsHandled(child: { url: string }): Promise<Record<string, number>> {
  const response = await fetch(`${child.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const text = await response.text();
  const handled: Record<string, number> = {};
  for (const match of text.matchAll(/^dripline_worker_jobs_total\{worker="([a-z-]+)"\} (\d+)$/gm)) {
    handled[match[1] ?? ''] = Number(match[2]);
  }
  return handled;
}

const total = (handled: Record<string, number>): number =>
  Object.values(handled).reduce((sum, n) => sum + n, 0);

describe.each(stores)('one receiver and two workers sharing %s', (_name, url) => {
  const skip = _name === 'MongoDB' && !url;
  const run = skip ? test.skip : test;
  const dir = mkdtempSync(join(tmpdir(), 'dripline-scale-'));
  const children: (DriplineChild & { url: string })[] = [];
  let ehr: SandboxEhr | undefined;
  let store: Store | undefined;

  afterAll(async () => {
    await Promise.all(children.map((child) => stopChild(child.process)));
    await store?.close();
    await ehr?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  if (skip) {
    test.skip('MONGODB_URL not set: the MongoDB scale-out run is skipped', () => undefined);
  }

  run(
    'every notification is stored once, by the workers only, each taking a share',
    async () => {
      ehr = await startSandboxEhr({ port: 0, seed: false, now: testClock });
      await seed(ehr);
      const connection: EhrConnectionConfig = {
        ...(await sandboxConnection(ehr)),
        id: 'scale-ehr',
        payload: 'id-only',
      };
      const configFile = join(dir, 'dripline.json');
      writeFileSync(
        configFile,
        JSON.stringify({ tenants: [{ id: TENANT, name: 'Scale-out clinic', connections: [connection] }] }),
      );
      const database = `dripline_scale_${Date.now().toString(36)}`;
      const shared = {
        DRIPLINE_CONFIG: configFile,
        DATA_DIR: join(dir, 'data'),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        METRICS_TOKEN,
        RATE_LIMIT_PER_MINUTE: '10000000',
        ...(url ? { MONGODB_URL: url, MONGODB_DATABASE: database } : {}),
      };
      const receiverPort = await freePort();
      // Everyone names the receiver as the public URL: subscriptions deliver there.
      const publicUrl = `http://127.0.0.1:${receiverPort}`;
      const start = async (port: number, workers: string): Promise<DriplineChild & { url: string }> => {
        const child = await startDriplineChild(SERVER, {
          ...shared,
          PORT: String(port),
          PUBLIC_URL: publicUrl,
          WORKERS: workers,
        });
        const started = { ...child, url: `http://127.0.0.1:${port}` };
        children.push(started);
        return started;
      };
      const receiver = await start(receiverPort, 'none');
      const workers = [await start(await freePort(), 'all'), await start(await freePort(), 'all')];
      store = await openStore({
        dataDir: shared.DATA_DIR,
        ...(url ? { mongodbUrl: url } : {}),
        mongodbDatabase: database,
      });
      const opened = store;
      await waitFor(
        'both subscriptions active at the EHR',
        async () => {
          const records = await Promise.all(
            INGEST_TOPICS.map((topic) => loadRecord(opened, TENANT, 'scale-ehr', topic)),
          );
          return records.every(
            (r) =>
              r?.status === 'active' && ehr?.subscriptionInfo(r.ehrSubscriptionId ?? '')?.status === 'active',
          )
            ? true
            : undefined;
        },
        30_000,
      );

      for (let i = 0; i < ADMINISTRATIONS; i++) {
        const patient = i % PATIENTS;
        await ehr.createResource<MedicationAdministration>({
          resourceType: 'MedicationAdministration',
          id: `ma-${i}`,
          status: 'completed',
          medicationReference: { reference: 'Medication/med-1' },
          subject: { reference: `Patient/pat-${patient}` },
          context: { reference: `Encounter/enc-${patient}` },
          effectivePeriod: { start: '2026-11-26T09:00:00Z', end: '2026-11-26T10:00:00Z' },
          dosage: { dose: { value: 100, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' } },
        });
      }

      await waitFor(
        'every administration stored and every ingest job done',
        async () => {
          const stored = await searchAll(opened, TENANT, 'MedicationAdministration');
          const waiting = [
            ...(await opened.jobs.listJobs(TENANT, INGEST_QUEUE, 'ready', 10)),
            ...(await opened.jobs.listJobs(TENANT, INGEST_QUEUE, 'leased', 10)),
            ...(await opened.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'ready', 10)),
            ...(await opened.jobs.listJobs(TENANT, ENCOUNTER_CHANGED_QUEUE, 'leased', 10)),
          ];
          return stored.length === ADMINISTRATIONS && waiting.length === 0 ? true : undefined;
        },
        90_000,
        200,
      );

      // Stored once each: one version per administration (a job run twice would write a second).
      for (let i = 0; i < ADMINISTRATIONS; i++) {
        const history = await opened.resources.history(TENANT, 'MedicationAdministration', `ma-${i}`);
        expect([`ma-${i}`, history.total]).toEqual([`ma-${i}`, 1]);
      }
      for (const queue of [INGEST_QUEUE, ENCOUNTER_CHANGED_QUEUE]) {
        expect(await opened.jobs.listJobs(TENANT, queue, 'dead', 10)).toEqual([]);
      }
      // The receiver took no job; both workers did, and between them every ingest job done.
      expect(total(await jobsHandled(receiver))).toBe(0);
      const shares = await Promise.all(workers.map((w) => jobsHandled(w)));
      const ingestJobs = (await opened.jobs.listJobs(TENANT, INGEST_QUEUE, 'done', 1_000_000)).length;
      expect(shares.map((s) => s['ingest'] ?? 0).every((n) => n > 0)).toBe(true);
      // Handled counts every attempt: at least every job done (more if one was retried).
      expect(shares.reduce((sum, s) => sum + (s['ingest'] ?? 0), 0)).toBeGreaterThanOrEqual(ingestJobs);
      // Two processes maintained the subscriptions: still one per topic at the EHR.
      const subscriptions = await ehr.listResources('Subscription');
      expect(subscriptions.filter((s) => (s as { status?: string }).status !== 'off')).toHaveLength(
        INGEST_TOPICS.length,
      );
    },
    180_000,
  );
});
