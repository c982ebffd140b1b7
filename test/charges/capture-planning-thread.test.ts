/**
 * Charge capture with a planning thread: under load (full batches) the worker leases the next
 * batch and has it planned on another thread, through its own connection, while it writes the
 * batch in hand (src/charges/plan-thread.ts). The charges must be the ones planning in place
 * makes — also when a batch planned ahead missed the batch before it (a patient's two visits that
 * day are one group, and here their jobs fall into different batches: the later plan conflicts on
 * writing and is made again) — and a thread that cannot start leaves the worker planning in place.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import type { ChargeItem } from '@medplum/fhirtypes';
import type { ChargeCaptureWorker } from '../../src/charges/capture.ts';
import { ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { captureWorker, infusion, officeVisit, seedClinic } from './office-visit.ts';

const TENANT = 't';
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-planning-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PATIENTS = 48;
const BATCH = 16;

/** A store with each patient's two finished visits on 2026-12-01 (morning, afternoon): one group each. */
async function clinic(name: string): Promise<SqliteStore> {
  const store = await openSqliteStore({ path: path.join(dir, `${name}.sqlite`) });
  const patients = Array.from({ length: PATIENTS + 2 * BATCH }, (_, i) => `pat-${i}`);
  await seedClinic(store, TENANT, patients);
  for (const [i, patient] of patients.entries()) {
    for (const [half, from, to] of [
      ['am', 8, 11],
      ['pm', 13, 16],
    ] as const) {
      const at = (h: number): string => `2026-12-01T${String(h).padStart(2, '0')}:00:00Z`;
      await store.resources.create(TENANT, officeVisit(patient, at(from), at(to)), {
        id: `enc-${i}-${half}`,
      });
      const given = infusion(`ma-${i}-${half}`, `enc-${i}-${half}`, patient, at(from), at(from + 2));
      await store.resources.create(TENANT, given, { id: given.id });
    }
  }
  return store;
}

async function enqueue(store: SqliteStore, encounters: readonly string[]): Promise<void> {
  for (const encounter of encounters) {
    await store.jobs.enqueue(TENANT, {
      queue: ENCOUNTER_CHANGED_QUEUE,
      key: `changed-${encounter}`,
      payload: { encounter: `Encounter/${encounter}`, causes: [] },
    });
  }
}

function worker(store: SqliteStore, planningThread?: { storePath: string }): ChargeCaptureWorker {
  return captureWorker(store, {
    batchSize: BATCH,
    pollMs: 10,
    ...(planningThread ? { planningThread } : {}),
  });
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function queued(store: SqliteStore): number {
  return Number(
    store.connection.get(
      "SELECT count(*) AS n FROM jobs WHERE queue = ? AND state IN ('ready', 'leased')",
      ENCOUNTER_CHANGED_QUEUE,
    )?.['n'] ?? 0,
  );
}

/** Each charge as a line: id, encounter, code, modifiers, quantity, status. */
async function charges(store: SqliteStore): Promise<string[]> {
  const items = (await searchAll(store, TENANT, 'ChargeItem', [])) as ChargeItem[];
  return items
    .map((c) =>
      [
        c.id,
        c.context?.reference,
        c.code.coding?.[0]?.code,
        (c.extension ?? [])
          .filter((e) => e.url.endsWith('modifier'))
          .map((e) => e.valueCoding?.code)
          .join('+'),
        c.quantity?.value,
        c.status,
      ].join(' '),
    )
    .sort();
}

/**
 * The visits' jobs, a batch of morning visits, then the same patients' afternoon visits, and so on:
 * each afternoon batch is leased and planned while its morning batch is still being written, so
 * its plans miss those charges, conflict on writing, and are made again.
 */
const VISITS = Array.from({ length: PATIENTS / BATCH }, (_, b) =>
  (['am', 'pm'] as const).flatMap((half) =>
    Array.from({ length: BATCH }, (_, k) => `enc-${2 * BATCH + b * BATCH + k}-${half}`),
  ),
).flat();
/** Two full batches of other patients' visits first: they start the thread, and it gets ready. */
const WARM_UP = Array.from({ length: 2 * BATCH }, (_, i) => `enc-${i}-am`);

test('batches planned ahead on the planning thread charge what planning in place charges', async () => {
  const inPlace = await clinic('in-place');
  const threaded = await clinic('threaded');
  try {
    // Planning in place: the loop without a planning thread.
    const plain = worker(inPlace);
    plain.start();
    await enqueue(inPlace, [...WARM_UP, ...VISITS]);
    await until('the queue drained', () => queued(inPlace) === 0);
    await plain.stop();
    expect(plain.plannedAhead).toBe(0);

    const ahead = worker(threaded, { storePath: threaded.connection.path });
    ahead.start();
    await enqueue(threaded, WARM_UP);
    await until('the planning thread ready', () => ahead.planningThread === 'ready');
    await until('the warm-up drained', () => queued(threaded) === 0);
    await enqueue(threaded, VISITS);
    await until('the queue drained', () => queued(threaded) === 0);
    const madeAhead = ahead.plannedAhead;
    await ahead.stop();

    // Most groups were planned on the thread (the batch leased first each time is planned in place).
    expect(madeAhead).toBeGreaterThan(PATIENTS);
    const expected = await charges(inPlace);
    // Each visit's infusion hour and drug, the afternoon one as the day's second visit.
    expect(expected.length).toBeGreaterThanOrEqual(2 * (2 * PATIENTS + WARM_UP.length));
    expect(await charges(threaded)).toEqual(expected);
  } finally {
    await threaded.close();
    await inPlace.close();
  }
}, 120_000);

test('a planning thread that cannot open the store leaves the worker planning in place', async () => {
  const store = await clinic('no-thread');
  try {
    // A directory is no SQLite file: the thread fails as it opens it.
    const capture = worker(store, { storePath: dir });
    capture.start();
    await enqueue(store, [...WARM_UP, ...VISITS]);
    await until('the planning thread failed', () => capture.planningThread === 'failed');
    await until('the queue drained', () => queued(store) === 0);
    await capture.stop();
    expect(capture.plannedAhead).toBe(0);
    const visits = new Set((await charges(store)).map((line) => line.split(' ')[1]));
    // Every visit of every patient: a warm-up patient's afternoon visit is coded with the morning's.
    expect(visits.size).toBe(2 * (PATIENTS + 2 * BATCH));
  } finally {
    await store.close();
  }
}, 120_000);
