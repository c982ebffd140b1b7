/**
 * Scale benchmark (issue 17, FHIR API target): the embedded SQLite store loaded with 1,000,000
 * resources — search p95 ≤ 50 ms for the searches the app and workers run, and write throughput at
 * 1,000,000 within 20% of that at 10,000.
 *
 *   npm run bench:scale                         # BENCH_SCALE_N=1000000
 *   BENCH_SCALE_N=200000 npm run bench:scale    # a shorter run (the figures say which N)
 *
 * Data: one tenant of synthetic patients, 20 resources each — the Patient, 4 Encounters (a visit
 * a week), 6 MedicationAdministrations, 6 ChargeItems and 3 Claims with extension claim-state
 * (70% adjudicated, 15% submitted, 5% each held, ready, built) — written through the port's
 * writeBatch (what ingest and the workers use: each batch one transaction, every resource indexed
 * (history rows come with updates only: none here)) in batches of 500, default synchronous mode (NORMAL, WAL), in a
 * temporary file. Progress every 100,000.
 *
 * Write throughput: resources/s over the first 10,000 and over the last 10,000 written, each
 * window including the checkpoint that copies its writes into the database file: a window starts
 * with the WAL checkpointed (untimed) and ends with a checkpoint (timed). Without that a window
 * paid for whichever automatic checkpoints fell into it — none in the first 10,000, several in the
 * last — so the figure measured where the checkpoints landed more than the cost of the writes.
 * Searches, each 200 times with random arguments, as the store is asked them (StoreQuery, a page of
 * 50 as the FHIR API's default; keyset pages of 1,000 as searchAll reads them for the workers):
 * - Encounter?patient=…                 (charge capture gathers a patient's visits)
 * - ChargeItem?patient=…                (a patient's charges: claims build, ledger)
 * - Claim?claim-state=held              (worklist, FHIR API; first page and a keyset page 2)
 * - Claim?claim-state=built,held,ready  (the recheck's rebuildable claims, keyset pages of 1,000)
 * - Encounter?date=ge…&date=lt…         (one day's visits)
 * measured at 10,000 resources (the baseline, same run) and at N; p50 / p95 / max printed. Beside
 * each write window's rate, its CPU per resource (this process: the store runs in it).
 *
 * The same fall without Dripline's code: after the load, the very rows it wrote (resources, index
 * rows, sort keys) are copied into a fresh file of the same schema and page cache by
 * SQLite alone (`INSERT … SELECT` from the loaded file, attached, in batches of BATCH resources in
 * pk order, one transaction each), its first and last 10,000 timed as ours are. What SQLite's
 * B-trees cost at N against at 10,000 for these rows, with no JavaScript per row: if that copy's
 * rate falls as far, the write rate's fall is the storage engine's, not ours. BENCH_SCALE_BARE=0
 * leaves it out.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChargeItem, Resource } from '@medplum/fhirtypes';
import { EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import type { BatchOperation, Store, StoreQuery } from '../../src/store/port.ts';
import { SqliteConnection } from '../../src/store/sqlite/db.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { migrate, MUTABLE_TYPES_SQL } from '../../src/store/sqlite/schema.ts';
import { peakRssMb, recordFigure } from './results.ts';

const N = Math.max(20_000, Number(process.env['BENCH_SCALE_N'] ?? 1_000_000));
const PER_PATIENT = 20;
const BATCH = 500;
const WINDOW = 10_000;
const SEARCHES = 200;
const TENANT = 'scale';
const DAY_MS = 86_400_000;
const BASE_MS = Date.UTC(2025, 0, 6, 14);
const TARGET_P95_MS = 50;

const STATES = [
  ...Array<string>(14).fill('adjudicated'),
  'submitted',
  'submitted',
  'submitted',
  'held',
  'ready',
  'built',
];

const iso = (ms: number): string => new Date(ms).toISOString();

/** The 20 resources of patient `p` (ids derived from p, so a rerun writes the same data). */
function patientResources(p: number): Resource[] {
  const patient = `Patient/p${p}`;
  const out: Resource[] = [
    {
      resourceType: 'Patient',
      id: `p${p}`,
      identifier: [{ system: 'urn:mrn', value: `M${p}` }],
      name: [{ family: `F${p % 997}` }],
    },
  ];
  for (let v = 0; v < 4; v++) {
    // Visits spread over two years, a week apart per patient.
    const start = BASE_MS + ((p * 7 + v * 7) % 730) * DAY_MS + (p % 8) * 3_600_000;
    out.push({
      resourceType: 'Encounter',
      id: `e${p}-${v}`,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: patient },
      period: { start: iso(start), end: iso(start + 3 * 3_600_000) },
    });
    if (v < 3) {
      out.push({
        resourceType: 'Claim',
        id: `c${p}-${v}`,
        status: 'active',
        extension: [{ url: EXT_CLAIM_STATE, valueCode: STATES[(p * 3 + v) % STATES.length] ?? 'built' }],
        type: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
        },
        use: 'claim',
        patient: { reference: patient },
        created: iso(start + DAY_MS),
        billablePeriod: { start: iso(start).slice(0, 10), end: iso(start).slice(0, 10) },
        provider: { display: 'Scale Infusion' },
        priority: { coding: [{ code: 'normal' }] },
        insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/cov${p}` } }],
      });
    }
    for (let k = 0; k < (v < 2 ? 2 : 1); k++) {
      out.push({
        resourceType: 'MedicationAdministration',
        id: `ma${p}-${v}-${k}`,
        status: 'completed',
        medicationCodeableConcept: {
          coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '57894-0030-01' }],
        },
        subject: { reference: patient },
        context: { reference: `Encounter/e${p}-${v}` },
        effectivePeriod: { start: iso(start + k * 3_600_000), end: iso(start + (k + 1) * 3_600_000) },
      });
      const charge: ChargeItem = {
        resourceType: 'ChargeItem',
        id: `ci${p}-${v}-${k}`,
        status: 'billable',
        code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: k === 0 ? '96365' : '96366' }] },
        subject: { reference: patient },
        context: { reference: `Encounter/e${p}-${v}` },
        occurrenceDateTime: iso(start).slice(0, 10),
        quantity: { value: 1 },
      };
      out.push(charge);
    }
  }
  return out;
}

interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

function percentiles(samples: number[]): Percentiles {
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  return { p50: at(0.5), p95: at(0.95), max: samples.at(-1) ?? Number.NaN };
}

type SearchCase = {
  readonly name: string;
  readonly query: (patients: number) => StoreQuery | Promise<StoreQuery>;
};

function searchCases(store: Store): SearchCase[] {
  const page = (
    resourceType: string,
    filters: StoreQuery['filters'],
    extra: Partial<StoreQuery> = {},
  ): StoreQuery => ({
    resourceType,
    filters,
    sort: [],
    count: 50,
    offset: 0,
    total: false,
    ...extra,
  });
  const held = [{ code: 'claim-state', kind: 'token', values: [{ value: 'held' }] }] as const;
  const rebuildable = [
    { code: 'claim-state', kind: 'token', values: ['built', 'held', 'ready'].map((value) => ({ value })) },
  ] as const;
  const keysetPage2 = async (filters: StoreQuery['filters']): Promise<StoreQuery> => {
    const first = await store.resources.search(TENANT, {
      resourceType: 'Claim',
      filters,
      sort: [{ code: '_id', descending: false }],
      count: 1000,
      offset: 0,
      total: false,
    });
    return {
      resourceType: 'Claim',
      filters,
      sort: [{ code: '_id', descending: false }],
      count: 1000,
      offset: 0,
      total: false,
      ...(first.resources.at(-1)?.id ? { afterId: first.resources.at(-1)?.id } : {}),
    };
  };
  return [
    {
      name: 'Encounter?patient= (page of 50)',
      query: (n) =>
        page('Encounter', [{ code: 'patient', kind: 'reference', values: [`Patient/p${randomInt(n)}`] }]),
    },
    {
      name: 'ChargeItem?patient= (page of 50)',
      query: (n) =>
        page('ChargeItem', [{ code: 'patient', kind: 'reference', values: [`Patient/p${randomInt(n)}`] }]),
    },
    { name: 'Claim?claim-state=held (page of 50)', query: () => page('Claim', [...held]) },
    {
      name: 'Claim?claim-state=held, keyset page 2 of 1,000',
      query: async () => keysetPage2([...held]),
    },
    {
      name: 'Claim?claim-state=built,held,ready (first 1,000)',
      query: () =>
        page('Claim', [...rebuildable], { sort: [{ code: '_id', descending: false }], count: 1000 }),
    },
    {
      name: 'Encounter?date=ge…&date=lt… one day (page of 50)',
      query: () => {
        const day = BASE_MS + randomInt(730) * DAY_MS;
        const d = (ms: number): string => iso(ms - 14 * 3_600_000).slice(0, 10);
        return page('Encounter', [
          {
            code: 'date',
            kind: 'date',
            prefix: 'ge',
            start: `${d(day)}T00:00:00.000Z`,
            end: `${d(day + DAY_MS)}T00:00:00.000Z`,
          },
          {
            code: 'date',
            kind: 'date',
            prefix: 'lt',
            start: `${d(day + DAY_MS)}T00:00:00.000Z`,
            end: `${d(day + 2 * DAY_MS)}T00:00:00.000Z`,
          },
        ]);
      },
    },
  ];
}

async function measureSearches(
  store: Store,
  patients: number,
): Promise<Map<string, Percentiles & { rows: number }>> {
  const out = new Map<string, Percentiles & { rows: number }>();
  for (const c of searchCases(store)) {
    const samples: number[] = [];
    let rows = 0;
    for (let i = 0; i < SEARCHES; i++) {
      const query = await c.query(patients);
      const t = performance.now();
      const result = await store.resources.search(TENANT, query);
      samples.push(performance.now() - t);
      rows += result.resources.length;
    }
    out.set(c.name, { ...percentiles(samples), rows: rows / SEARCHES });
  }
  return out;
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

/**
 * This process's I/O so far (Linux /proc/self/io; undefined elsewhere): bytes asked of the OS by
 * read/write calls (SQLite's page reads and WAL/checkpoint writes, whether the OS answered from its
 * page cache or not) and bytes that reached the storage device.
 */
interface IoCounters {
  readonly rchar: number;
  readonly wchar: number;
  readonly readBytes: number;
  readonly writeBytes: number;
}

function ioCounters(): IoCounters | undefined {
  try {
    const fields = new Map(
      readFileSync('/proc/self/io', 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const [key, value] = line.split(':');
          return [key?.trim() ?? '', Number(value)] as const;
        }),
    );
    return {
      rchar: fields.get('rchar') ?? 0,
      wchar: fields.get('wchar') ?? 0,
      readBytes: fields.get('read_bytes') ?? 0,
      writeBytes: fields.get('write_bytes') ?? 0,
    };
  } catch {
    return undefined;
  }
}

function ioSince(start: IoCounters | undefined): IoCounters | undefined {
  const now = ioCounters();
  return start && now
    ? {
        rchar: now.rchar - start.rchar,
        wchar: now.wchar - start.wchar,
        readBytes: now.readBytes - start.readBytes,
        writeBytes: now.writeBytes - start.writeBytes,
      }
    : undefined;
}

/** The tables a write fills, and the column that names the resource (pk) in each. */
const WRITTEN_TABLES = [
  ['resources', 'pk'],
  ['idx_token', 'res'],
  ['idx_reference', 'res'],
  ['idx_date', 'res'],
  ['idx_string', 'res'],
  ['sort_keys', 'res'],
] as const;

/**
 * Copies the loaded file's rows into a fresh one of the same schema by SQLite alone (see the file
 * comment) and times its first and last WINDOW resources, each window between two checkpoints.
 */
function bareCopyRates(source: string, dir: string, total: number): { first: number; last: number } {
  const conn = new SqliteConnection({ path: join(dir, 'bare-copy.sqlite') });
  try {
    migrate(conn);
    conn.db.exec(`ATTACH DATABASE '${source.replaceAll("'", "''")}' AS src`);
    // The source's reads through a page cache as large as the copy's own (an attached file's is 2 MB).
    conn.db.exec(`PRAGMA src.cache_size = ${String(conn.get('PRAGMA main.cache_size')?.['cache_size'])}`);
    const maxPk = Number(conn.get('SELECT max(pk) AS n FROM src.resources')?.['n'] ?? 0);
    const copies = WRITTEN_TABLES.map(([table, column]) =>
      // The per-resource trees are partial (schema.ts): the predicate repeated lets the range use them.
      conn.statement(
        `INSERT INTO main.${table} SELECT * FROM src.${table} WHERE ${column} > ? AND ${column} <= ?` +
          (table === 'resources' || table === 'sort_keys' ? '' : ` AND ${MUTABLE_TYPES_SQL}`),
      ),
    );
    const checkpoint = (): void => conn.db.exec('PRAGMA main.wal_checkpoint(TRUNCATE)');
    let first = Number.NaN;
    let last = Number.NaN;
    let windowStart = performance.now();
    for (let after = 0; after < maxPk; after += BATCH) {
      const upTo = Math.min(after + BATCH, maxPk);
      conn.transaction(() => {
        for (const copy of copies) {
          copy.run(after, upTo);
        }
      });
      if (upTo === WINDOW) {
        checkpoint();
        first = WINDOW / ((performance.now() - windowStart) / 1000);
      }
      if (upTo === maxPk - WINDOW) {
        checkpoint();
        windowStart = performance.now();
      }
      if (upTo % 200_000 === 0) {
        console.log(`  bare copy: ${upTo.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`);
      }
    }
    checkpoint();
    last = WINDOW / ((performance.now() - windowStart) / 1000);
    return { first, last };
  } finally {
    conn.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dripline-bench-scale-'));
  const path = join(dir, 'scale.sqlite');
  const store = await openSqliteStore({ path });
  const patientsTotal = Math.ceil(N / PER_PATIENT);
  console.log(
    `scale bench: ${N.toLocaleString('en-US')} resources (${patientsTotal.toLocaleString('en-US')} patients × ${PER_PATIENT}), batches of ${BATCH}, into a temporary SQLite file`,
  );
  try {
    let written = 0;
    let pending: BatchOperation[] = [];
    let windowStart = performance.now();
    // CPU per resource in each window beside the wall rate: a window whose wall rate falls while
    // its CPU per resource holds waited on the OS for pages; one whose CPU rises did more work.
    let windowCpu = process.cpuUsage();
    // And the bytes read and written per resource: a B-tree insert into an index larger than the
    // page cache reads its pages from the OS, and a checkpoint writes back every page it touched.
    let windowIo = ioCounters();
    let firstIo: IoCounters | undefined;
    let firstCpu: NodeJS.CpuUsage | undefined;
    let firstRate = Number.NaN;
    let lastRate = Number.NaN;
    let searchesAt10k: Map<string, Percentiles & { rows: number }> | undefined;
    const began = performance.now();
    // TRUNCATE: copies every WAL page into the database file, syncs it and empties the WAL.
    const checkpoint = (): void => store.connection.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    const flush = async (): Promise<void> => {
      if (pending.length === 0) {
        return;
      }
      await store.resources.writeBatch(TENANT, pending);
      written += pending.length;
      pending = [];
    };
    for (let p = 0; p < patientsTotal && written + pending.length < N; p++) {
      for (const resource of patientResources(p)) {
        pending.push({ op: 'create', resource, options: { id: resource.id ?? '' } });
        if (pending.length === BATCH) {
          await flush();
          if (written === WINDOW) {
            checkpoint();
            firstRate = WINDOW / ((performance.now() - windowStart) / 1000);
            firstCpu = process.cpuUsage(windowCpu);
            firstIo = ioSince(windowIo);
            console.log(
              `  ${written.toLocaleString('en-US')} written: ${Math.round(firstRate).toLocaleString('en-US')} resources/s; searches at 10,000…`,
            );
            searchesAt10k = await measureSearches(store, p + 1);
          }
          if (written === N - WINDOW) {
            checkpoint();
            windowStart = performance.now();
            windowCpu = process.cpuUsage();
            windowIo = ioCounters();
          }
          if (written % 100_000 === 0) {
            console.log(
              `  ${written.toLocaleString('en-US')} written, ${((performance.now() - began) / 1000).toFixed(0)} s, ${(statSync(path).size / 1024 / 1024).toFixed(0)} MB file`,
            );
          }
        }
      }
    }
    await flush();
    const lastCheckpointStart = performance.now();
    checkpoint();
    const lastCheckpointMs = performance.now() - lastCheckpointStart;
    lastRate = WINDOW / ((performance.now() - windowStart) / 1000);
    const lastCpu = process.cpuUsage(windowCpu);
    const lastIo = ioSince(windowIo);
    const loadS = (performance.now() - began) / 1000;
    console.log(
      `loaded ${written.toLocaleString('en-US')} resources in ${loadS.toFixed(0)} s; last ${WINDOW.toLocaleString('en-US')}: ${Math.round(lastRate).toLocaleString('en-US')} resources/s (first ${WINDOW.toLocaleString('en-US')}: ${Math.round(firstRate).toLocaleString('en-US')}/s)`,
    );
    const perResource = (cpu: NodeJS.CpuUsage | undefined): string =>
      cpu
        ? `${Math.round((cpu.user + cpu.system) / WINDOW)} µs (user ${Math.round(cpu.user / WINDOW)}, system ${Math.round(cpu.system / WINDOW)})`
        : '—';
    console.log(
      `the last window's closing checkpoint took ${lastCheckpointMs.toFixed(0)} ms of its ${((WINDOW / lastRate) * 1000).toFixed(0)} ms`,
    );
    console.log(
      `CPU per resource written: first ${WINDOW.toLocaleString('en-US')} ${perResource(firstCpu)}; last ${WINDOW.toLocaleString('en-US')} ${perResource(lastCpu)}`,
    );
    const kib = (bytes: number): string => `${(bytes / 1024 / WINDOW).toFixed(1)} KiB`;
    const perResourceIo = (io: IoCounters | undefined): string =>
      io
        ? `read ${kib(io.rchar)} (${kib(io.readBytes)} from storage), written ${kib(io.wchar)} (${kib(io.writeBytes)} to storage)`
        : '— (no /proc/self/io)';
    console.log(
      `I/O per resource written: first ${WINDOW.toLocaleString('en-US')} ${perResourceIo(firstIo)}; last ${WINDOW.toLocaleString('en-US')} ${perResourceIo(lastIo)}`,
    );
    if (firstIo && lastIo) {
      for (const [way, bytes] of [
        ['read from', (io: IoCounters) => io.rchar],
        ['written to', (io: IoCounters) => io.wchar],
      ] as const) {
        recordFigure({
          bench: 'scale',
          figure: `bytes ${way} the OS per resource over the last 10,000 of ${written.toLocaleString('en-US')}`,
          value: Math.round(bytes(lastIo) / WINDOW),
          unit: 'B',
          baseline: {
            name: 'per resource over the first 10,000',
            value: Math.round(bytes(firstIo) / WINDOW),
          },
        });
      }
    }
    if (firstCpu) {
      recordFigure({
        bench: 'scale',
        figure: `CPU per resource over the last 10,000 of ${written.toLocaleString('en-US')}`,
        value: Math.round((lastCpu.user + lastCpu.system) / WINDOW),
        unit: 'µs',
        baseline: {
          name: 'CPU per resource over the first 10,000',
          value: Math.round((firstCpu.user + firstCpu.system) / WINDOW),
        },
      });
    }
    const atN = await measureSearches(store, patientsTotal);
    console.log('');
    console.log(
      `search (${SEARCHES} each, random arguments)             at 10,000: p50 / p95        at ${written.toLocaleString('en-US')}: p50 / p95 / max   rows`,
    );
    let worstP95 = 0;
    for (const [name, r] of atN) {
      const base = searchesAt10k?.get(name);
      worstP95 = Math.max(worstP95, r.p95);
      console.log(
        `  ${name.padEnd(50)} ${base ? `${ms(base.p50)} / ${ms(base.p95)}` : '—'}`.padEnd(80) +
          `${ms(r.p50)} / ${ms(r.p95)} / ${ms(r.max)}   ${r.rows.toFixed(0)}`,
      );
      recordFigure({
        bench: 'scale',
        figure: `${name} p95 at ${written.toLocaleString('en-US')} resources`,
        value: Number(r.p95.toFixed(1)),
        unit: 'ms',
        ...(base
          ? { baseline: { name: 'p95 at 10,000 resources', value: Number(base.p95.toFixed(1)) } }
          : {}),
        target: `≤ ${TARGET_P95_MS} ms at 1,000,000`,
        met: written >= 1_000_000 && r.p95 <= TARGET_P95_MS,
      });
    }
    const ratio = lastRate / firstRate;
    console.log('');
    console.log(
      `worst search p95 at ${written.toLocaleString('en-US')}: ${ms(worstP95)} (target ≤ ${TARGET_P95_MS} ms at 1,000,000)`,
    );
    console.log(
      `write rate at ${written.toLocaleString('en-US')} / at 10,000: ${ratio.toFixed(2)} (target ≥ 0.80)`,
    );
    recordFigure({
      bench: 'scale',
      figure: `write rate over the last 10,000 of ${written.toLocaleString('en-US')} resources`,
      value: Math.round(lastRate),
      unit: 'resources/s',
      baseline: { name: 'write rate over the first 10,000', value: Math.round(firstRate) },
      target: 'within 20% of the rate at 10,000',
      met: written >= 1_000_000 && ratio >= 0.8,
    });
    console.log(`file ${(statSync(path).size / 1024 / 1024).toFixed(0)} MB, peak RSS ${peakRssMb()} MB`);
    if (process.env['BENCH_SCALE_BARE'] !== '0') {
      store.connection.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      console.log("bare copy of the same rows by SQLite alone (the engine's own fall)…");
      const bare = bareCopyRates(path, dir, written);
      const bareRatio = bare.last / bare.first;
      console.log(
        `bare copy: first ${WINDOW.toLocaleString('en-US')} ${Math.round(bare.first).toLocaleString('en-US')} resources/s, ` +
          `last ${Math.round(bare.last).toLocaleString('en-US')}/s: ${bareRatio.toFixed(2)} (Dripline's ${ratio.toFixed(2)})`,
      );
      recordFigure({
        bench: 'scale',
        figure: `SQLite alone copying the same rows: rate over the last 10,000 of ${written.toLocaleString('en-US')}`,
        value: Math.round(bare.last),
        unit: 'resources/s',
        baseline: { name: 'its rate over the first 10,000', value: Math.round(bare.first) },
      });
      // At N, how much of the engine's own rate for these rows Dripline's writes keep: near 1, the
      // write rate's fall is the B-trees' (pages read and written per insert), not our code's.
      recordFigure({
        bench: 'scale',
        figure: `write rate over the last 10,000 of ${written.toLocaleString('en-US')} vs SQLite alone at the same size`,
        value: Math.round(lastRate),
        unit: 'resources/s',
        baseline: { name: 'SQLite alone copying the same rows, last 10,000', value: Math.round(bare.last) },
      });
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
