/**
 * The search index rows of resources being written, gathered by table and inserted with multi-row
 * INSERTs: shared by the resource store's writes (./resources.ts) and the filing of waiting audit
 * events (./audit-filing.ts), which index the same way.
 */
import type { TenantId, IndexedResource } from '../port.ts';
import { normalizeString } from '../search-index.ts';
import type { SqliteConnection, SqlParam } from './db.ts';
import { spanClass } from './date-spans.ts';
import { sortsByTokenRows } from './token-sort.ts';
import { canonicalInstant } from './values.ts';

const INDEX_TABLES = ['token', 'reference', 'date', 'string', 'sortKey'] as const;

/**
 * Index rows of one or more resources, by table, as flat parameter lists. Why gather them: each
 * statement call costs more than the row it adds (an AuditEvent has ~11 rows over 5 tables, a
 * Patient ~25), so a group commit of n writes inserts its rows in a few statements per table
 * instead of a few per resource.
 */
export class IndexRows {
  readonly token: SqlParam[] = [];
  readonly reference: SqlParam[] = [];
  readonly date: SqlParam[] = [];
  readonly string: SqlParam[] = [];
  readonly sortKey: SqlParam[] = [];

  add(tenant: TenantId, type: string, pk: number, indexed: IndexedResource): void {
    for (const entry of indexed.entries) {
      switch (entry.kind) {
        case 'token':
          this.token.push(tenant, type, entry.code, entry.system ?? '', entry.value, pk);
          break;
        case 'reference':
          this.reference.push(tenant, type, entry.code, entry.value, pk);
          break;
        case 'date': {
          const start = canonicalInstant(entry.start);
          const end = canonicalInstant(entry.end);
          if (start !== undefined && end !== undefined) {
            this.date.push(tenant, type, entry.code, spanClass(start, end), start, end, pk);
          }
          break;
        }
        case 'string':
          this.string.push(tenant, type, entry.code, normalizeString(entry.value), pk);
          break;
      }
    }
    for (const [code, key] of Object.entries(indexed.sortKeys)) {
      if (!sortsByTokenRows(type, code)) {
        this.sortKey.push(pk, code, key);
      }
    }
  }
}

/**
 * Rows per multi-row INSERT at most (7 columns: 448 parameters), and the largest other row count:
 * the statement cache holds one statement per row count, so a table has at most
 * SMALL_INSERT_ROWS + 1 of them.
 */
const MAX_ROWS_PER_INSERT = 64;
const SMALL_INSERT_ROWS = 16;

interface MultiRowInsert {
  readonly columns: number;
  /** The statement's text for `rows` rows (cached: the same text is the same prepared statement). */
  readonly sql: (rows: number) => string;
}

function multiRowInsert(head: string, columns: number): MultiRowInsert {
  const row = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  const texts: string[] = [];
  return {
    columns,
    sql: (rows) => (texts[rows] ??= `${head} VALUES ${Array.from({ length: rows }, () => row).join(', ')}`),
  };
}

const INSERT_ROWS = {
  token: multiRowInsert('INSERT OR IGNORE INTO idx_token (tenant, type, code, system, value, res)', 6),
  reference: multiRowInsert('INSERT OR IGNORE INTO idx_reference (tenant, type, code, value, res)', 5),
  date: multiRowInsert('INSERT OR IGNORE INTO idx_date (tenant, type, code, span, start_at, end_at, res)', 7),
  string: multiRowInsert('INSERT OR IGNORE INTO idx_string (tenant, type, code, value, res)', 5),
  sortKey: multiRowInsert('INSERT OR REPLACE INTO sort_keys (res, code, key)', 3),
} as const;

/** The rows gathered so far, one multi-row INSERT per table and chunk; leaves `rows` empty. */
export function insertIndexRows(conn: SqliteConnection, rows: IndexRows): void {
  for (const table of INDEX_TABLES) {
    const params = rows[table];
    if (params.length > 0) {
      insertRows(conn, INSERT_ROWS[table], params);
      params.length = 0;
    }
  }
}

/**
 * `params` (whole rows of `insert.columns` values) in statements of MAX_ROWS_PER_INSERT rows,
 * then the rest in one statement of up to SMALL_INSERT_ROWS rows at a time.
 */
function insertRows(conn: SqliteConnection, insert: MultiRowInsert, params: readonly SqlParam[]): void {
  const perRow = insert.columns;
  const rowCount = params.length / perRow;
  let row = 0;
  while (row < rowCount) {
    const left = rowCount - row;
    const rows = left >= MAX_ROWS_PER_INSERT ? MAX_ROWS_PER_INSERT : Math.min(left, SMALL_INSERT_ROWS);
    conn.statement(insert.sql(rows)).run(...params.slice(row * perRow, (row + rows) * perRow));
    row += rows;
  }
}
