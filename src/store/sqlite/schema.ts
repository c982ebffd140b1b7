/**
 * Schema of the embedded store, created / migrated at open. `meta.schema_version` records the
 * number of migrations applied; each migration runs in the same IMMEDIATE transaction as the
 * version bump, so two processes opening a fresh file at once cannot both apply it.
 */
import type { SqliteConnection } from './db.ts';
import { APPEND_ONLY_TYPES } from '../append-only.ts';
import { spanClassSql } from './date-spans.ts';
import { JOBS_PARTIAL_INDEXES_SCHEMA, JOBS_SCHEMA, JOBS_WAIT_SCHEMA } from './jobs.ts';

export const SCHEMA_VERSION = 8;

/**
 * The predicate of the partial per-resource index trees (append-only types: ../append-only.ts). Statements that delete through them repeat
 * it word for word: SQLite uses a partial index only when the query's WHERE contains its WHERE.
 */
export const MUTABLE_TYPES_SQL = `type NOT IN (${APPEND_ONLY_TYPES.map((t) => `'${t}'`).join(', ')})`;

/**
 * A new resource's row, or nothing when (tenant, type, id) exists (its UNIQUE key: no look-up
 * first). Every column has a value, so OR IGNORE can only ignore that key. pk is the rowid.
 */
export const INSERT_CURRENT =
  'INSERT OR IGNORE INTO resources (tenant, type, id, version, last_updated, json) VALUES (?, ?, ?, ?, ?, ?)';

const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  -- Current version of every resource. pk is an internal rowid that index rows point at.
  CREATE TABLE resources (
    pk           INTEGER PRIMARY KEY,
    tenant       TEXT NOT NULL,
    type         TEXT NOT NULL,
    id           TEXT NOT NULL,
    version      INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    json         TEXT NOT NULL,
    UNIQUE (tenant, type, id)
  );
  CREATE INDEX resources_last_updated ON resources (tenant, type, last_updated);

  -- Every version ever written; append-only (triggers below refuse UPDATE and DELETE).
  CREATE TABLE history (
    tenant       TEXT NOT NULL,
    type         TEXT NOT NULL,
    id           TEXT NOT NULL,
    version      INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    json         TEXT NOT NULL
  );
  CREATE UNIQUE INDEX history_key ON history (tenant, type, id, version);
  CREATE TRIGGER history_no_update BEFORE UPDATE ON history
    BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
  CREATE TRIGGER history_no_delete BEFORE DELETE ON history
    BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;

  -- Search index of the current version (rows replaced on every write). tenant/type are
  -- denormalized so a filter can drive the lookup from the index alone.
  CREATE TABLE idx_token (
    tenant TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL,
    system TEXT NOT NULL,            -- '' when the token has no system
    value  TEXT NOT NULL,
    res    INTEGER NOT NULL REFERENCES resources (pk),
    PRIMARY KEY (tenant, type, code, value, system, res)
  ) WITHOUT ROWID;
  CREATE INDEX idx_token_res ON idx_token (res, code);

  CREATE TABLE idx_reference (
    tenant TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL,
    value  TEXT NOT NULL,            -- "Type/id"
    res    INTEGER NOT NULL REFERENCES resources (pk),
    PRIMARY KEY (tenant, type, code, value, res)
  ) WITHOUT ROWID;
  CREATE INDEX idx_reference_res ON idx_reference (res, code);

  CREATE TABLE idx_date (
    tenant   TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL,
    start_at TEXT NOT NULL,          -- inclusive, canonical ISO instant (ms, Z)
    end_at   TEXT NOT NULL,          -- exclusive
    res      INTEGER NOT NULL REFERENCES resources (pk),
    PRIMARY KEY (tenant, type, code, start_at, end_at, res)
  ) WITHOUT ROWID;
  CREATE INDEX idx_date_res ON idx_date (res, code);
  CREATE INDEX idx_date_end ON idx_date (tenant, type, code, end_at);

  CREATE TABLE idx_string (
    tenant TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL,
    value  TEXT NOT NULL,            -- normalizeString(value)
    res    INTEGER NOT NULL REFERENCES resources (pk),
    PRIMARY KEY (tenant, type, code, value, res)
  ) WITHOUT ROWID;
  CREATE INDEX idx_string_res ON idx_string (res, code);

  CREATE TABLE sort_keys (
    res  INTEGER NOT NULL REFERENCES resources (pk),
    code TEXT NOT NULL,
    key  TEXT NOT NULL,
    PRIMARY KEY (res, code)
  ) WITHOUT ROWID;

  -- Business identifiers of the current version, for conditional create.
  CREATE TABLE identifiers (
    tenant TEXT NOT NULL, type TEXT NOT NULL,
    system TEXT NOT NULL,            -- '' when absent
    value  TEXT NOT NULL,
    res    INTEGER NOT NULL REFERENCES resources (pk),
    PRIMARY KEY (tenant, type, value, system, res)
  ) WITHOUT ROWID;
  CREATE INDEX identifiers_res ON identifiers (res);

${JOBS_SCHEMA}
  CREATE TABLE oauth_clients (
    client_id  TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    json       TEXT NOT NULL,
    created_at TEXT NOT NULL
  );

  CREATE TABLE jti_seen (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (client_id, jti)
  ) WITHOUT ROWID;
  CREATE INDEX jti_seen_expires ON jti_seen (expires_at);

  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: durable counters (X12 control numbers)
  `
  CREATE TABLE sequences (
    tenant TEXT NOT NULL,
    name   TEXT NOT NULL,
    value  INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
  ) WITHOUT ROWID;
  `,
  // 3: date index rows filed by span class (./date-spans.ts), so a date range reads only the rows
  // that can overlap it; the end_at index, which served one-sided bounds only, is dropped.
  `
  CREATE TABLE idx_date_by_span (
    tenant   TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL,
    span     INTEGER NOT NULL,       -- span class of [start_at, end_at)
    start_at TEXT NOT NULL,          -- inclusive, canonical ISO instant (ms, Z)
    end_at   TEXT NOT NULL,          -- exclusive
    res      INTEGER NOT NULL REFERENCES resources (pk),
    PRIMARY KEY (tenant, type, code, span, start_at, end_at, res)
  ) WITHOUT ROWID;
  INSERT INTO idx_date_by_span (tenant, type, code, span, start_at, end_at, res)
    SELECT tenant, type, code, ${spanClassSql('start_at', 'end_at')}, start_at, end_at, res FROM idx_date;
  DROP TABLE idx_date;
  ALTER TABLE idx_date_by_span RENAME TO idx_date;
  CREATE INDEX idx_date_res ON idx_date (res, code);
  `,
  // 4: leaner writes. (a) `history` receives a version when an update supersedes it; the current
  // version lives only in `resources` (./resources.ts). No rows move: copies of current versions
  // written before stay and readers skip them; the version bump keeps an older server (which reads
  // the current version from history) from opening a database written this way. (b) The
  // per-resource index trees, used only to delete a resource's index rows when it is updated, leave
  // out the append-only types, which are never updated: an AuditEvent (one per audited read)
  // touched 4 of these trees per write.
  `
  DROP INDEX idx_token_res;
  CREATE INDEX idx_token_res ON idx_token (res, code) WHERE ${MUTABLE_TYPES_SQL};
  DROP INDEX idx_reference_res;
  CREATE INDEX idx_reference_res ON idx_reference (res, code) WHERE ${MUTABLE_TYPES_SQL};
  DROP INDEX idx_date_res;
  CREATE INDEX idx_date_res ON idx_date (res, code) WHERE ${MUTABLE_TYPES_SQL};
  DROP INDEX idx_string_res;
  CREATE INDEX idx_string_res ON idx_string (res, code) WHERE ${MUTABLE_TYPES_SQL};
  DROP INDEX identifiers_res;
  CREATE INDEX identifiers_res ON identifiers (res) WHERE ${MUTABLE_TYPES_SQL};
  `,
  // 5: what a deferred job waits on, so the end of that work makes it due (JobQueue.wake).
  JOBS_WAIT_SCHEMA,
  // 6: FHIR writes' AuditEvents waiting to be filed, kept in the write's transaction
  // (./audit-pending.ts). AUTOINCREMENT: a mover deletes "through seq n", so a number is never reused.
  `
  CREATE TABLE audit_pending (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    json   TEXT NOT NULL          -- the AuditEvent as it will be stored (id and meta stamped)
  );
  `,
  // 7: conditional create reads a resource's identifiers from its \`identifier\` token rows
  // (idx_token, code 'identifier': the same values, keyed (tenant, type, code, value, system, res)),
  // so the identifiers table, a second copy written with every write (two more B-trees, on random
  // pages when identifiers are random), goes.
  `
  DROP INDEX identifiers_res;
  DROP TABLE identifiers;
  `,
  // 8: the lease's indexes hold only ready and leased jobs (./jobs.ts JOBS_PARTIAL_INDEXES_SCHEMA).
  JOBS_PARTIAL_INDEXES_SCHEMA,
];

/**
 * Applies the migrations `conn`'s file has not had yet: the main file's by default, or another
 * file's own list (the inbox file's, ./inbox.ts).
 */
export function migrate(conn: SqliteConnection, migrations: readonly string[] = MIGRATIONS): void {
  conn.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
  conn.transaction(() => {
    const row = conn.get("SELECT value FROM meta WHERE key = 'schema_version'");
    const current = row ? Number(row['value']) : 0;
    if (!Number.isInteger(current) || current > migrations.length) {
      throw new Error(
        `Database schema version ${String(row?.['value'])} is newer than this server supports (${String(migrations.length)})`,
      );
    }
    for (let v = current; v < migrations.length; v++) {
      conn.db.exec(migrations[v] ?? '');
    }
    if (current < migrations.length) {
      conn.run(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        String(migrations.length),
      );
    }
  });
}
