/**
 * The embedded store's plans for searches at scale (bench:scale): a date range reads only the
 * index rows that can overlap it (rows filed by span class, schema migration 3), and a page in id
 * order whose filter matches many resources walks the id index instead of sorting every match —
 * with the same results as the plain plan, including when the walk finds too few and falls back —
 * and a keyset page whose filter matches few resources sorts them instead of walking.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import type { Encounter } from '@medplum/fhirtypes';
import type { BatchOperation, DatePrefix, StoreQuery } from '../../src/store/port.ts';
import { SPAN_CLASS_MAX_MS, spanClass } from '../../src/store/sqlite/date-spans.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../src/store/sqlite/index.ts';
import { LARGE_MATCH_SET } from '../../src/store/sqlite/search-sql.ts';
import { compileSearch } from '../../src/store/sqlite/search-sql.ts';
import { asBeforeSchema6 } from './older-schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'dripline-scale-plans-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `store-${String(++files)}.sqlite`);

const TENANT = 't';
const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const T0 = Date.UTC(2026, 2, 1);

function encounter(id: string, status: Encounter['status'], start: number, end?: number): Encounter {
  return {
    resourceType: 'Encounter',
    id,
    status,
    class: { code: 'AMB' },
    subject: { reference: `Patient/p${id}` },
    period: { start: iso(start), ...(end === undefined ? {} : { end: iso(end) }) },
  };
}

async function write(store: SqliteStore, resources: readonly Encounter[]): Promise<void> {
  for (let i = 0; i < resources.length; i += 500) {
    const ops: BatchOperation[] = resources
      .slice(i, i + 500)
      .map((resource) => ({ op: 'create', resource, options: { id: resource.id ?? '' } }));
    await store.resources.writeBatch(TENANT, ops);
  }
}

const page = (filters: StoreQuery['filters'], extra: Partial<StoreQuery> = {}): StoreQuery => ({
  resourceType: 'Encounter',
  filters,
  sort: [],
  count: 50,
  offset: 0,
  total: false,
  ...extra,
});
const date = (prefix: DatePrefix, start: number, end: number): StoreQuery['filters'][number] => ({
  code: 'date',
  kind: 'date',
  prefix,
  start: iso(start),
  end: iso(end),
});
const status = (...values: string[]): StoreQuery['filters'][number] => ({
  code: 'status',
  kind: 'token',
  values: values.map((value) => ({ value })),
});

async function ids(store: SqliteStore, query: StoreQuery): Promise<string[]> {
  return (await store.resources.search(TENANT, query)).resources.map((r) => r.id);
}

describe('date ranges by span class', () => {
  // Entries of every class: short visits, a day, a month, a year, open-ended; some straddle the range.
  const resources: Encounter[] = [
    encounter('visit-in', 'finished', T0 + 10 * DAY + 9 * HOUR, T0 + 10 * DAY + 12 * HOUR),
    encounter('visit-before', 'finished', T0 + 9 * DAY + 9 * HOUR, T0 + 9 * DAY + 12 * HOUR),
    encounter('visit-overnight-in', 'finished', T0 + 9 * DAY + 22 * HOUR, T0 + 10 * DAY + 2 * HOUR),
    encounter('visit-after', 'finished', T0 + 11 * DAY, T0 + 11 * DAY + HOUR),
    encounter('stay-3-days-in', 'finished', T0 + 8 * DAY, T0 + 11 * DAY),
    encounter('month-in', 'finished', T0, T0 + 31 * DAY),
    encounter('month-before', 'finished', T0 - 40 * DAY, T0 - 9 * DAY),
    encounter('year-in', 'finished', T0 - 200 * DAY, T0 + 100 * DAY),
    encounter('open-in', 'in-progress', T0 - 800 * DAY),
    encounter('open-after', 'in-progress', T0 + 12 * DAY),
    encounter('exactly-4h-ending-at-range', 'finished', T0 + 10 * DAY - 4 * HOUR, T0 + 10 * DAY),
  ];
  const lo = T0 + 10 * DAY;
  const hi = T0 + 11 * DAY;
  const overlaps = (e: Encounter): boolean => {
    const s = Date.parse(e.period?.start ?? '');
    // A period's end is inclusive to its precision (the millisecond here): its entry ends 1 ms later.
    const end = e.period?.end === undefined ? Infinity : Date.parse(e.period.end) + 1;
    return end > lo && s < hi;
  };

  test('ge…&lt… finds exactly the entries overlapping the range, from the span-class rows only', async () => {
    const store = await openSqliteStore({ path: freshPath() });
    try {
      await write(store, resources);
      const query = page([date('ge', lo, hi), date('lt', hi, hi + DAY)]);
      expect(await ids(store, query)).toEqual(
        resources
          .filter(overlaps)
          .map((e) => e.id)
          .sort(),
      );
      // With another filter driving, the date filters are still each checked.
      expect(
        await ids(store, page([status('in-progress'), date('ge', lo, hi), date('lt', hi, hi + DAY)])),
      ).toEqual(['open-in']);
      // The plan: one bounded read of the primary key per span class, no scan of one side.
      const compiled = compileSearch(TENANT, query);
      const plan = store.connection
        .all(`EXPLAIN QUERY PLAN ${compiled.selectSql}`, ...compiled.selectParams)
        .map((r) => String(r['detail']));
      const reads = plan.filter((d) => d.includes('idx_date'));
      expect(reads).toHaveLength(SPAN_CLASS_MAX_MS.length + 1);
      for (const read of reads.slice(0, -1)) {
        expect(read).toMatch(/span=\? AND start_at>\? AND start_at<\?/);
      }
    } finally {
      await store.close();
    }
  });

  test('a store written before span classes (schema 2) is migrated at open: same classes as new writes, same results', async () => {
    const path = freshPath();
    const first = await openSqliteStore({ path });
    // Boundary spans: each class's longest entry and 1 ms more, a date far in the past, open-ended.
    const edges: Encounter[] = SPAN_CLASS_MAX_MS.flatMap((max, c) => [
      encounter(`edge-${String(c)}`, 'finished', T0, T0 + max - 1),
      encounter(`edge-${String(c)}-plus`, 'finished', T0, T0 + max),
    ]);
    const all = [
      ...resources,
      ...edges,
      encounter(
        'ancient',
        'finished',
        Date.parse('0005-03-01T00:00:00.000Z'),
        Date.parse('0005-03-02T00:00:00.000Z'),
      ),
    ];
    await write(first, all);
    const expected = new Map(
      first.connection
        .all('SELECT res, span FROM idx_date ORDER BY res')
        .map((r) => [Number(r['res']), Number(r['span'])]),
    );
    expect(new Set(expected.values()).size).toBe(SPAN_CLASS_MAX_MS.length + 1);
    // As schema 2 left the tables: no span column, an end_at index; jobs without wait_key (schema 5).
    first.connection.db.exec(`
      CREATE TABLE old_date (tenant TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL,
        start_at TEXT NOT NULL, end_at TEXT NOT NULL, res INTEGER NOT NULL REFERENCES resources (pk),
        PRIMARY KEY (tenant, type, code, start_at, end_at, res)) WITHOUT ROWID;
      INSERT INTO old_date SELECT tenant, type, code, start_at, end_at, res FROM idx_date;
      DROP TABLE idx_date;
      ALTER TABLE old_date RENAME TO idx_date;
      CREATE INDEX idx_date_res ON idx_date (res, code);
      CREATE INDEX idx_date_end ON idx_date (tenant, type, code, end_at);
      DROP INDEX jobs_waiting;
      ALTER TABLE jobs DROP COLUMN wait_key;
      UPDATE meta SET value = '2' WHERE key = 'schema_version';
    `);
    await first.close();
    // Closing files what the pending audit table holds: only then can the file lose it (schema 6).
    asBeforeSchema6(path);

    const migrated = await openSqliteStore({ path });
    try {
      const rows = migrated.connection.all('SELECT res, span, start_at, end_at FROM idx_date ORDER BY res');
      expect(new Map(rows.map((r) => [Number(r['res']), Number(r['span'])]))).toEqual(expected);
      for (const r of rows) {
        expect(Number(r['span'])).toBe(spanClass(String(r['start_at']), String(r['end_at'])));
      }
      const query = page([date('ge', lo, hi), date('lt', hi, hi + DAY)]);
      expect(await ids(migrated, query)).toEqual(
        all
          .filter(overlaps)
          .map((e) => e.id)
          .sort(),
      );
    } finally {
      await migrated.close();
    }
  });
});

describe('pages in id order over a large match set', () => {
  // "a…" resources are finished, "b…" planned: LARGE_MATCH_SET + 500 of each, ids in that order.
  const n = LARGE_MATCH_SET + 500;
  const pad = (i: number): string => String(i).padStart(5, '0');
  const resources = [
    ...Array.from({ length: n }, (_, i) =>
      encounter(`a${pad(i)}`, 'finished', T0 + i * HOUR, T0 + (i + 1) * HOUR),
    ),
    ...Array.from({ length: n }, (_, i) =>
      encounter(`b${pad(i)}`, 'planned', T0 + i * HOUR, T0 + (i + 1) * HOUR),
    ),
  ];
  let store: SqliteStore;

  test('same pages as sorting every match: walks that fill the page, and walks that fall back', async () => {
    store = await openSqliteStore({ path: freshPath() });
    try {
      await write(store, resources);
      const expectPage = async (
        query: StoreQuery,
        matches: (e: Encounter) => boolean,
        walked: boolean,
      ): Promise<void> => {
        const want = resources
          .filter(matches)
          .map((e) => e.id ?? '')
          .sort()
          .slice(query.offset, query.offset + query.count);
        expect(await ids(store, query)).toEqual(want);
        // Whether the walk answered (its page is full) or the plain plan did.
        const walk = compileSearch(TENANT, query).walk;
        expect(walk).toBeDefined();
        const bound = store.connection.get(walk?.boundSql ?? '', ...(walk?.boundParams ?? []))?.['id'];
        const rows = store.connection.all(
          walk?.selectSql ?? '',
          ...(walk?.whereParams ?? []),
          String(bound),
          ...(walk?.pageParams ?? []),
        );
        expect(rows.length === query.count).toBe(walked);
      };
      // Finished: the first ids match, the walk fills the page at once.
      await expectPage(page([status('finished')]), (e) => e.status === 'finished', true);
      await expectPage(
        page([status('finished')], { count: 1000, sort: [{ code: '_id', descending: false }] }),
        (e) => e.status === 'finished',
        true,
      );
      // Planned: all after the finished ones. A page of 50 walks 2,000 ids (all finished): the plain
      // plan answers; from offset 100 the walk reads 3,000 ids, 500 of them planned: the walk answers.
      await expectPage(page([status('planned')]), (e) => e.status === 'planned', false);
      await expectPage(page([status('planned')], { offset: 100 }), (e) => e.status === 'planned', true);
      // Both, with a second filter checked on each walked resource.
      const late = T0 + 1000 * HOUR;
      await expectPage(
        page([status('finished', 'planned'), date('ge', late, late + HOUR)]),
        (e) => Date.parse(e.period?.end ?? '') + 1 > late,
        true,
      );
      // Keyset pages: by the index when the whole match set is smaller than the walk would read
      // (2,500 planned < 20 × 1,000), by the walk otherwise (2,500 finished ≥ 20 × 50).
      const keyset = async (
        value: string,
        count: number,
        afterId: string,
        fromIndex: boolean,
      ): Promise<void> => {
        const query = page([status(value)], { count, afterId, sort: [{ code: '_id', descending: false }] });
        const want = resources
          .filter((e) => e.status === value && (e.id ?? '') > afterId)
          .map((e) => e.id ?? '')
          .sort()
          .slice(0, count);
        expect(await ids(store, query)).toEqual(want);
        const plan = compileSearch(TENANT, query).keysetDriver;
        expect(
          Number(store.connection.get(plan?.probeSql ?? '', ...(plan?.probeParams ?? []))?.['n']) <
            (plan?.limit ?? 0),
        ).toBe(fromIndex);
      };
      await keyset('planned', 1000, 'b00700', true);
      await keyset('planned', 1000, 'a00010', true);
      await keyset('finished', 50, 'a01234', false);
      await keyset('finished', 50, 'a02480', false);
      // A total is still the count of every match.
      const withTotal = await store.resources.search(TENANT, page([status('planned')], { total: true }));
      expect(withTotal.total).toBe(n);
    } finally {
      await store.close();
    }
  });
});
