/**
 * Store benchmark: the same single-operation workload through the storage port and done directly
 * with the database's own API (the minimal equivalent work), in one run, with the ratio.
 *
 *   npm run bench:store                      # embedded SQLite, BENCH_N=5000
 *   BENCH_N=20000 npm run bench:store
 *   MONGODB_URL='mongodb://127.0.0.1:27017/?replicaSet=rs0' npm run bench:store   # + MongoDB
 *
 * Phases (sequential, one operation in flight, like one request at a time):
 * - create: N Encounters (subject reference + period), each its own committed write
 * - read:   N reads by id (random order)
 * - search: N searches "Encounter?patient=X&date=geD&_sort=-date&_count=10"
 *
 * Two SQLite baselines, measured in the same run:
 * - "engine": the identical rows and SQL on the adapter's own schema, issued directly with
 *   node:sqlite (index entries computed before the clock starts; the search runs the very SQL the
 *   adapter compiles). port/engine is the cost of the port itself: the target is >= 0.7.
 * - "minimal": a hand-tuned single-purpose schema (JSON row, one (patient, start, end)
 *   index row). port/minimal is the price of generic FHIR search indexing over every parameter.
 */
/* eslint-disable @typescript-eslint/require-await -- the node:sqlite baseline is synchronous behind
   the same async interface as the port. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Encounter } from '@medplum/fhirtypes';
import type { Store, StoreQuery } from '../../src/store/port.ts';
import { indexResource } from '../../src/store/search-index.ts';
import { spanClass } from '../../src/store/sqlite/date-spans.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { compileSearch } from '../../src/store/sqlite/search-sql.ts';
import { recordFigure } from './results.ts';

const N = Math.max(100, Number(process.env['BENCH_N'] ?? 5000));
const PATIENTS = Math.max(10, Math.floor(N / 10));
const TENANT = 'bench-tenant';
const DAY_MS = 86_400_000;
const BASE_MS = Date.UTC(2024, 0, 1);

// ---------------------------------------------------------------------------------------------
// Workload
// ---------------------------------------------------------------------------------------------

/** What one benchmarked implementation must do; ids are returned by create. */
export interface BenchOps {
  /** Optional untimed work before the create phase (a baseline may precompute what the port derives). */
  prepareCreate?(resource: Encounter): void;
  /** Optional untimed work before the search phase. */
  prepareSearch?(patientRef: string, since: { start: string; end: string }): void;
  create(resource: Encounter): Promise<string>;
  read(id: string): Promise<unknown>;
  /** Encounters of the patient ending after `since`, newest first, at most 10. Returns the count. */
  search(patientRef: string, since: { start: string; end: string }): Promise<number>;
  close(): Promise<void>;
}

/**
 * A target: the port on one adapter and, optionally, the same work done directly on that
 * database. `skipReason` (evaluated at run time) skips the target with a printed message.
 */
export interface BenchTarget {
  readonly name: string;
  readonly skipReason?: () => string | undefined;
  readonly port: () => Promise<BenchOps>;
  /** The first baseline is the one the 0.7 target applies to. */
  readonly baselines: readonly { readonly name: string; readonly ops: () => Promise<BenchOps> }[];
}

function encounterAt(i: number): Encounter {
  const start = BASE_MS + (i % 365) * DAY_MS + (i % 24) * 3_600_000;
  return {
    resourceType: 'Encounter',
    identifier: [{ system: 'urn:bench:visit', value: `V-${i}` }],
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [
      { coding: [{ system: 'http://snomed.info/sct', code: '386472008', display: 'Infusion therapy' }] },
    ],
    subject: { reference: `Patient/bench-p${i % PATIENTS}` },
    period: { start: new Date(start).toISOString(), end: new Date(start + 2 * 3_600_000).toISOString() },
    serviceProvider: { reference: 'Organization/infusion-center-1' },
  };
}

function sinceAt(i: number): { start: string; end: string } {
  const start = BASE_MS + (i % 180) * DAY_MS;
  return { start: new Date(start).toISOString(), end: new Date(start + DAY_MS).toISOString() };
}

function searchQuery(patientRef: string, since: { start: string; end: string }): StoreQuery {
  return {
    resourceType: 'Encounter',
    filters: [
      { code: 'patient', kind: 'reference', values: [patientRef] },
      { code: 'date', kind: 'date', prefix: 'ge', start: since.start, end: since.end },
    ],
    sort: [{ code: 'date', descending: true }],
    count: 10,
    offset: 0,
    total: false,
  };
}

/** Port adapter: the real store API, as the FHIR layer will call it. */
function portOps(store: Store): BenchOps {
  return {
    async create(resource) {
      return (await store.resources.create(TENANT, resource)).resource.id;
    },
    read(id) {
      return store.resources.read(TENANT, 'Encounter', id);
    },
    async search(patientRef, since) {
      return (await store.resources.search(TENANT, searchQuery(patientRef, since))).resources.length;
    },
    close() {
      return store.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Direct SQLite baseline
// ---------------------------------------------------------------------------------------------

function directSqliteOps(path: string): BenchOps {
  const db = new DatabaseSync(path, { timeout: 10_000 });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec(`
    CREATE TABLE resources (tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
      last_updated TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (tenant, type, id));
    CREATE TABLE encounter_idx (tenant TEXT NOT NULL, patient TEXT NOT NULL, start_at TEXT NOT NULL,
      end_at TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (tenant, patient, start_at, id)) WITHOUT ROWID;
  `);
  const insertResource = db.prepare(
    "INSERT INTO resources (tenant, type, id, version, last_updated, json) VALUES (?, 'Encounter', ?, 1, ?, ?)",
  );
  const insertIndex = db.prepare(
    'INSERT INTO encounter_idx (tenant, patient, start_at, end_at, id) VALUES (?, ?, ?, ?, ?)',
  );
  const selectById = db.prepare(
    "SELECT json FROM resources WHERE tenant = ? AND type = 'Encounter' AND id = ?",
  );
  const selectSearch = db.prepare(
    "SELECT r.json AS json FROM encounter_idx i JOIN resources r ON r.tenant = i.tenant AND r.type = 'Encounter' " +
      'AND r.id = i.id WHERE i.tenant = ? AND i.patient = ? AND i.end_at > ? ORDER BY i.start_at DESC, i.id LIMIT 10',
  );
  return {
    async create(resource) {
      const id = randomUUID();
      const lastUpdated = new Date().toISOString();
      const json = JSON.stringify({ ...resource, id, meta: { versionId: '1', lastUpdated } });
      db.exec('BEGIN IMMEDIATE');
      try {
        insertResource.run(TENANT, id, lastUpdated, json);
        insertIndex.run(
          TENANT,
          resource.subject?.reference ?? '',
          new Date(resource.period?.start ?? 0).toISOString(),
          new Date(resource.period?.end ?? 0).toISOString(),
          id,
        );
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
      return id;
    },
    async read(id) {
      const row = selectById.get(TENANT, id);
      if (!row) {
        throw new Error(`missing ${id}`);
      }
      return JSON.parse(String(row['json'])) as unknown;
    },
    async search(patientRef, since) {
      return selectSearch
        .all(TENANT, patientRef, since.start)
        .map((r) => JSON.parse(String(r['json'])) as unknown).length;
    },
    async close() {
      db.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Engine baseline: the adapter's schema, rows and SQL, without the port
// ---------------------------------------------------------------------------------------------

async function engineSqliteOps(path: string): Promise<BenchOps> {
  // Let the adapter create its schema, then talk to the file directly.
  await (await openSqliteStore({ path })).close();
  const db = new DatabaseSync(path, { timeout: 10_000 });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  const statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  const stmt = (sql: string): ReturnType<DatabaseSync['prepare']> => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  // Index entries are computed before timing: this baseline is the engine's share only.
  const pending = new Map<Encounter, ReturnType<typeof indexResource>>();
  const compiledSearches = new Map<string, ReturnType<typeof compileSearch>>();
  return {
    prepareCreate(resource) {
      pending.set(resource, indexResource(resource));
    },
    prepareSearch(patientRef, since) {
      compiledSearches.set(
        `${patientRef} ${since.start}`,
        compileSearch(TENANT, searchQuery(patientRef, since)),
      );
    },
    async create(resource) {
      const indexed = pending.get(resource) ?? indexResource(resource);
      pending.delete(resource);
      const id = randomUUID();
      const lastUpdated = new Date().toISOString();
      const json = JSON.stringify({ ...resource, id, meta: { versionId: '1', lastUpdated } });
      db.exec('BEGIN IMMEDIATE');
      try {
        const row = stmt(
          'INSERT INTO resources (tenant, type, id, version, last_updated, json) VALUES (?, ?, ?, 1, ?, ?) RETURNING pk',
        ).get(TENANT, 'Encounter', id, lastUpdated, json);
        const pk = Number(row?.['pk']);
        for (const e of indexed.entries) {
          if (e.kind === 'token') {
            stmt(
              'INSERT OR IGNORE INTO idx_token (tenant, type, code, system, value, res) VALUES (?, ?, ?, ?, ?, ?)',
            ).run(TENANT, 'Encounter', e.code, e.system ?? '', e.value, pk);
          } else if (e.kind === 'reference') {
            stmt(
              'INSERT OR IGNORE INTO idx_reference (tenant, type, code, value, res) VALUES (?, ?, ?, ?, ?)',
            ).run(TENANT, 'Encounter', e.code, e.value, pk);
          } else if (e.kind === 'date') {
            stmt(
              'INSERT OR IGNORE INTO idx_date (tenant, type, code, span, start_at, end_at, res) VALUES (?, ?, ?, ?, ?, ?, ?)',
            ).run(TENANT, 'Encounter', e.code, spanClass(e.start, e.end), e.start, e.end, pk);
          } else {
            stmt(
              'INSERT OR IGNORE INTO idx_string (tenant, type, code, value, res) VALUES (?, ?, ?, ?, ?)',
            ).run(TENANT, 'Encounter', e.code, e.value, pk);
          }
        }
        for (const [code, key] of Object.entries(indexed.sortKeys)) {
          stmt('INSERT OR REPLACE INTO sort_keys (res, code, key) VALUES (?, ?, ?)').run(pk, code, key);
        }
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
      return id;
    },
    async read(id) {
      const row = stmt('SELECT json FROM resources WHERE tenant = ? AND type = ? AND id = ?').get(
        TENANT,
        'Encounter',
        id,
      );
      if (!row) {
        throw new Error(`missing ${id}`);
      }
      return JSON.parse(String(row['json'])) as unknown;
    },
    async search(patientRef, since) {
      const compiled =
        compiledSearches.get(`${patientRef} ${since.start}`) ??
        compileSearch(TENANT, searchQuery(patientRef, since));
      return stmt(compiled.selectSql)
        .all(...(compiled.selectParams as never[]))
        .map((r) => JSON.parse(String(r['json'])) as unknown).length;
    },
    async close() {
      db.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

const workDir = mkdtempSync(join(tmpdir(), 'dripline-bench-'));

export const BENCH_TARGETS: BenchTarget[] = [
  {
    name: 'sqlite',
    port: async () => portOps(await openSqliteStore({ path: join(workDir, 'port.db') })),
    baselines: [
      { name: 'engine', ops: () => engineSqliteOps(join(workDir, 'engine.db')) },
      { name: 'minimal', ops: async () => directSqliteOps(join(workDir, 'direct.db')) },
    ],
  },
  // -------------------------------------------------------------------------------------------
  // MongoDB target (runs when MONGODB_URL is set; needs a replica set, see src/store/mongo).
  // The adapter is loaded with a dynamic import so the SQLite-only run never loads the driver.
  // Each run uses fresh databases, dropped afterwards.
  // -------------------------------------------------------------------------------------------
  {
    name: 'mongodb',
    skipReason: () => (process.env['MONGODB_URL'] ? undefined : 'MONGODB_URL not set'),
    port: async () => {
      const { openMongoStore } = await import('../../src/store/mongo/index.ts');
      const url = process.env['MONGODB_URL'] ?? '';
      const dbName = `dripline_bench_${Date.now().toString(36)}`;
      const ops = portOps(await openMongoStore({ url, dbName }));
      return { ...ops, close: async () => (await ops.close(), await dropMongoDatabase(url, dbName)) };
    },
    baselines: [{ name: 'driver', ops: () => directMongoOps(process.env['MONGODB_URL'] ?? '') }],
  },
];

async function dropMongoDatabase(url: string, dbName: string): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

/**
 * Direct MongoDB baseline: insert the current document (with the two search fields) and a
 * history document in one transaction, as the adapter must; findOne by _id; one indexed find.
 */
async function directMongoOps(url: string): Promise<BenchOps> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url);
  await client.connect();
  const dbName = `dripline_bench_direct_${Date.now().toString(36)}`;
  const db = client.db(dbName);
  interface CurrentDoc {
    _id: string;
    tenant: string;
    patient: string;
    start: string;
    end: string;
    resource: unknown;
  }
  const resources = db.collection<CurrentDoc>('resources');
  const history = db.collection<{ _id: string; resource: unknown }>('history');
  await db.createCollection('history');
  await resources.createIndex({ tenant: 1, patient: 1, start: -1 });
  return {
    async create(resource) {
      const id = randomUUID();
      const stored = { ...resource, id, meta: { versionId: '1', lastUpdated: new Date().toISOString() } };
      await client.withSession((session) =>
        session.withTransaction(async () => {
          await resources.insertOne(
            {
              _id: `${TENANT}/Encounter/${id}`,
              tenant: TENANT,
              patient: resource.subject?.reference ?? '',
              start: new Date(resource.period?.start ?? 0).toISOString(),
              end: new Date(resource.period?.end ?? 0).toISOString(),
              resource: stored,
            },
            { session },
          );
          await history.insertOne({ _id: `${TENANT}/Encounter/${id}/1`, resource: stored }, { session });
        }),
      );
      return id;
    },
    async read(id) {
      const doc = await resources.findOne({ _id: `${TENANT}/Encounter/${id}` });
      if (!doc) {
        throw new Error(`missing ${id}`);
      }
      return doc.resource;
    },
    async search(patientRef, since) {
      const docs = await resources
        .find({ tenant: TENANT, patient: patientRef, end: { $gt: since.start } })
        .sort({ start: -1, _id: 1 })
        .limit(10)
        .toArray();
      return docs.length;
    },
    async close() {
      await db.dropDatabase();
      await client.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------------

interface PhaseResult {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

interface PhaseResults {
  create: PhaseResult;
  read: PhaseResult;
  search: PhaseResult;
}

function progress(label: string, done: number, total: number): void {
  if (total >= 2000 && done % Math.ceil(total / 10) === 0 && done > 0 && process.stderr.isTTY) {
    process.stderr.write(`\r  ${label} ${Math.round((done / total) * 100)}%   `);
  } else if (total >= 2000 && done % Math.ceil(total / 4) === 0 && done > 0) {
    process.stderr.write(`  ${label} ${Math.round((done / total) * 100)}%\n`);
  }
}

async function timed(
  label: string,
  count: number,
  op: (i: number) => Promise<unknown>,
): Promise<PhaseResult> {
  const latencies = new Float64Array(count);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await op(i);
    latencies[i] = performance.now() - t;
    progress(label, i + 1, count);
  }
  const elapsed = performance.now() - started;
  if (process.stderr.isTTY) {
    process.stderr.write('\r\x1b[K');
  }
  latencies.sort();
  return {
    opsPerSec: (count / elapsed) * 1000,
    p50Ms: latencies[Math.floor(count * 0.5)] ?? 0,
    p99Ms: latencies[Math.min(count - 1, Math.floor(count * 0.99))] ?? 0,
  };
}

/** A fixed pseudo-random permutation so port and direct read in the same order. */
function shuffled(count: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  let seed = 42;
  for (let i = count - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

async function runPhases(label: string, ops: BenchOps): Promise<PhaseResults> {
  const ids: string[] = [];
  const encounters = Array.from({ length: N }, (_, i) => encounterAt(i));
  for (const e of encounters) {
    ops.prepareCreate?.(e);
  }
  const create = await timed(`${label} create`, N, async (i) => {
    ids.push(await ops.create(encounters[i]!));
  });
  const order = shuffled(N);
  for (let i = 0; i < Math.min(200, N); i++) {
    await ops.read(ids[order[i]!]!); // warm-up
  }
  const read = await timed(`${label} read`, N, (i) => ops.read(ids[order[i]!]!));
  for (let i = 0; i < N; i++) {
    ops.prepareSearch?.(`Patient/bench-p${(i * 7) % PATIENTS}`, sinceAt(i));
  }
  let found = 0;
  const search = await timed(`${label} search`, N, async (i) => {
    found += await ops.search(`Patient/bench-p${(i * 7) % PATIENTS}`, sinceAt(i));
  });
  if (found === 0) {
    throw new Error(`${label}: searches found nothing; the workload is broken`);
  }
  await ops.close();
  return { create, read, search };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function measureIndexCost(): number {
  const count = Math.min(N, 5000);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    indexResource(encounterAt(i));
  }
  return ((performance.now() - started) / count) * 1000;
}

async function main(): Promise<void> {
  console.log(`Dripline store benchmark: N=${N}, ${PATIENTS} patients, Node ${process.version}`);
  const rows: string[][] = [];
  for (const target of BENCH_TARGETS) {
    const skip = target.skipReason?.();
    if (skip !== undefined) {
      console.log(`- ${target.name}: skipped (${skip})`);
      continue;
    }
    console.log(`- ${target.name}: port...`);
    const port = await runPhases(`${target.name} port`, await target.port());
    for (const [index, baseline] of target.baselines.entries()) {
      console.log(`- ${target.name}: ${baseline.name} baseline...`);
      const direct = await runPhases(`${target.name} ${baseline.name}`, await baseline.ops());
      for (const phase of ['create', 'read', 'search'] as const) {
        const p = port[phase];
        const d = direct[phase];
        rows.push([
          target.name,
          baseline.name,
          phase,
          fmt(p.opsPerSec),
          `${fmt(p.p50Ms, 3)} / ${fmt(p.p99Ms, 3)}`,
          fmt(d.opsPerSec),
          `${fmt(d.p50Ms, 3)} / ${fmt(d.p99Ms, 3)}`,
          fmt(p.opsPerSec / d.opsPerSec, 2),
        ]);
        // The 0.7 target applies to the first baseline (the engine alone); the others are context.
        recordFigure({
          bench: 'store',
          figure: `${target.name} port ${phase}`,
          value: Math.round(p.opsPerSec),
          unit: 'ops/s',
          baseline: { name: baseline.name, value: Math.round(d.opsPerSec) },
          ...(index === 0 ? { target: '≥ 0.7 × baseline', met: p.opsPerSec >= 0.7 * d.opsPerSec } : {}),
        });
      }
    }
  }
  const header = [
    'target',
    'baseline',
    'phase',
    'port ops/s',
    'port p50/p99 ms',
    'baseline ops/s',
    'baseline p50/p99 ms',
    'port/baseline',
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) {
    console.log(line(row));
  }
  console.log('');
  console.log(
    `indexResource(Encounter) alone: ${fmt(measureIndexCost(), 1)} µs per call (part of every port write)`,
  );
  console.log(
    "target: port/engine >= 0.70 (the port's own cost); port/minimal shows the price of generic search indexing",
  );
}

try {
  await main();
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
