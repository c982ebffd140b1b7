/**
 * What was written since a point, from the order SQLite already keeps: a new resource's row gets
 * the next rowid (`resources.pk`, an INTEGER PRIMARY KEY; rows are never deleted, so it only
 * grows) and an update copies the version it supersedes into `history` (append-only, so its rowid
 * only grows too). A mark is the two highest rowids, read in one statement (one snapshot); what
 * was written since is the rows above them. Only committed writes are seen, in commit order: one
 * writer at a time holds the write lock, so rowids are taken in commit order.
 *
 * Charge capture asks it after writing a group's charges, to tell whether any input of the group
 * moved while it computed (../../charges/capture.ts), instead of reading the whole group again.
 */
import type { TenantId, WriteMark, WrittenResource } from '../port.ts';
import type { SqliteConnection } from './db.ts';
import { limitSql } from './limit.ts';
import { MUTABLE_TYPES_SQL } from './schema.ts';

const SQL = {
  mark:
    'SELECT (SELECT coalesce(max(pk), 0) FROM resources) AS created, ' +
    '(SELECT coalesce(max(rowid), 0) FROM history) AS updated',
  // Rowid ranges: each reads only the rows written after the mark, whatever the tables hold. The
  // unary + keeps SQLite from driving by the (tenant, …) indexes instead: that reads the tenant's
  // every row.
  created: (limit: number) =>
    'SELECT pk, type, id FROM resources WHERE pk > ? AND +tenant = ? ' +
    `AND +${MUTABLE_TYPES_SQL} AND +type NOT IN (SELECT value FROM json_each(?)) ${limitSql(limit)}`,
  updated: (limit: number) =>
    'SELECT r.pk AS pk, r.type AS type, r.id AS id FROM history h ' +
    'JOIN resources r ON r.tenant = h.tenant AND r.type = h.type AND r.id = h.id ' +
    `WHERE h.rowid > ? AND +h.tenant = ? AND +h.${MUTABLE_TYPES_SQL} ` +
    `AND +h.type NOT IN (SELECT value FROM json_each(?)) ${limitSql(limit)}`,
  // The predicate is the partial index's, word for word (schema.ts, migration 4).
  references: `SELECT res, value FROM idx_reference WHERE res IN (SELECT value FROM json_each(?)) AND ${MUTABLE_TYPES_SQL}`,
} as const;

interface Mark {
  readonly created: number;
  readonly updated: number;
}

export function writeMarkOf(conn: SqliteConnection): WriteMark {
  const row = conn.get(SQL.mark);
  return `${String(Number(row?.['created'] ?? 0))}:${String(Number(row?.['updated'] ?? 0))}` as WriteMark;
}

function parseMark(mark: WriteMark): Mark | undefined {
  const m = /^(\d+):(\d+)$/.exec(mark);
  return m ? { created: Number(m[1]), updated: Number(m[2]) } : undefined;
}

/** See ResourceStore.writtenSince; one read transaction (one snapshot) for the three reads. */
export function writtenSinceIn(
  conn: SqliteConnection,
  tenant: TenantId,
  mark: WriteMark,
  options: { readonly exceptTypes: readonly string[]; readonly limit: number },
): WrittenResource[] | undefined {
  const since = parseMark(mark);
  if (!since) {
    return undefined;
  }
  const except = JSON.stringify(options.exceptTypes);
  const limit = Math.min(Math.max(0, Math.trunc(options.limit)), Number.MAX_SAFE_INTEGER - 1);
  return conn.transaction(() => {
    const byPk = new Map<number, string>();
    for (const [sql, after] of [
      [SQL.created, since.created],
      [SQL.updated, since.updated],
    ] as const) {
      for (const row of conn.all(sql(limit + 1), after, tenant, except)) {
        byPk.set(Number(row['pk']), `${String(row['type'])}/${String(row['id'])}`);
      }
      if (byPk.size > limit) {
        return undefined;
      }
    }
    const references = new Map<number, string[]>();
    if (byPk.size > 0) {
      for (const row of conn.all(SQL.references, JSON.stringify([...byPk.keys()]))) {
        const pk = Number(row['res']);
        references.set(pk, [...(references.get(pk) ?? []), String(row['value'])]);
      }
    }
    return [...byPk].map(([pk, reference]) => ({ reference, references: references.get(pk) ?? [] }));
  }, 'DEFERRED');
}
