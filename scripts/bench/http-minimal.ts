/**
 * The least work Dripline's FHIR read and create must do, as plain express apps over node:sqlite:
 * the baselines that say how much of the FHIR API's cost is the requirement and how much is ours.
 *
 * - read: bearer token (ES384 JWT, verified once with jose and then found in a map, as Dripline
 *   caches verified tokens), the resource's JSON by (tenant, type, id), an AuditEvent row for the
 *   read made durable before answering (group-committed per event-loop turn, as Dripline's audit
 *   writer does), the JSON sent.
 * - create: the same token check, the body parsed, id and meta stamped, the resource row and its
 *   AuditEvent row in one group-committed transaction, 201 with the stored JSON.
 *
 * - searchable (`searchable: 'entity-date'`): every AuditEvent also findable by the resource it
 *   names and by its time, two index rows per event (entity, date), in the same transaction. An
 *   audit trail nobody can search by patient or by day cannot answer "who saw this patient's
 *   record", so this is the least a read with an audit trail does.
 * - audit searchable by every parameter it fills (`searchable: 'audit-parameters'`): the same, plus
 *   the AuditEvent's type, subtype, action and outcome: the six rows Dripline's search index files
 *   for the event (src/store/search-parameters.ts). They are FHIR R4's AuditEvent search parameters
 *   (https://hl7.org/fhir/R4/auditevent.html#search) that an audit repository is asked by (IHE
 *   RESTful ATNA, Retrieve ATNA Audit Event [ITI-81], searches by date with type, subtype, outcome
 *   or patient), so a FHIR server that answers them pays for these rows whatever its design. A created Patient is also findable by the search
 *   parameters its body fills (identifier, name, family, given, birthdate, gender: the 7 values
 *   Dripline indexes for the bench's body, src/store/search-index.ts), one row each, read straight
 *   from the known fields: FHIR's create makes the resource findable by search at once
 *   (https://hl7.org/fhir/R4/http.html#create, #search), so this is the least a create does.
 *
 * What they leave out is what Dripline adds on purpose: FHIR validation, search index rows (all of
 * them, apart from the searchable variants' few), sort keys and version history, scopes, tenants' isolation checks, rate limiting, security headers, metrics.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { SignJWT } from 'jose/jwt/sign';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { importJWK } from 'jose/key/import';
import { jwtVerify } from 'jose/jwt/verify';
import { WAL_AUTOCHECKPOINT_PAGES } from '../../src/store/sqlite/db.ts';

export interface MinimalFhirApp {
  readonly app: express.Express;
  /** A bearer token the app accepts. */
  readonly token: string;
  /** Stores resources the read phase reads back, under these ids. */
  seed(resources: readonly { resourceType: string; id: string }[]): void;
  close(): void;
}

const FHIR_JSON = 'application/fhir+json';
const TENANT = 'bench';
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';

/** Which index rows the minimal app files with each write (see the module comment). */
export type MinimalSearchable = 'entity-date' | 'audit-parameters';

export async function minimalFhirApp(
  dir: string,
  options: { readonly searchable?: MinimalSearchable } = {},
): Promise<MinimalFhirApp> {
  const db = new DatabaseSync(join(dir, `minimal-${options.searchable ?? 'plain'}.sqlite`));
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  // Dripline's page cache and checkpoint spacing (src/store/sqlite/db.ts), so the baseline does not
  // pay for SQLite's small defaults what Dripline does not.
  db.exec(`PRAGMA cache_size = -${String(64 * 1024)}`);
  db.exec(`PRAGMA wal_autocheckpoint = ${String(WAL_AUTOCHECKPOINT_PAGES)}`);
  db.exec(`
    CREATE TABLE resources (tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL,
      json TEXT NOT NULL, PRIMARY KEY (tenant, type, id)) WITHOUT ROWID;
    CREATE TABLE audit (pk INTEGER PRIMARY KEY, tenant TEXT NOT NULL, json TEXT NOT NULL);
    CREATE TABLE audit_index (tenant TEXT NOT NULL, code TEXT NOT NULL, value TEXT NOT NULL,
      audit INTEGER NOT NULL, PRIMARY KEY (tenant, code, value, audit)) WITHOUT ROWID;
    -- seq: the write's number, so a value's new rows go at the end of its range (random ids would
    -- land each row on a random page of a long range, as Dripline's integer pk keys avoid).
    CREATE TABLE resource_index (tenant TEXT NOT NULL, type TEXT NOT NULL, code TEXT NOT NULL,
      value TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
      PRIMARY KEY (tenant, type, code, value, seq)) WITHOUT ROWID;
  `);
  const insertResourceIndex = db.prepare(
    'INSERT INTO resource_index (tenant, type, code, value, seq, id) VALUES (?, ?, ?, ?, ?, ?)',
  );
  let writeSeq = 0;
  const insertIndex = db.prepare('INSERT INTO audit_index (tenant, code, value, audit) VALUES (?, ?, ?, ?)');
  const readRow = db.prepare('SELECT json FROM resources WHERE tenant = ? AND type = ? AND id = ?');
  const insertRow = db.prepare('INSERT INTO resources (tenant, type, id, json) VALUES (?, ?, ?, ?)');
  const insertAudit = db.prepare('INSERT INTO audit (tenant, json) VALUES (?, ?)');

  // One transaction per event-loop turn for every write queued in it; callers wait for its commit.
  type Batch = { rows: (() => void)[]; done: (() => void)[] };
  let queued: Batch | undefined;
  const commit = (batch: Batch): void => {
    if (queued === batch) {
      queued = undefined;
    }
    if (batch.rows.length === 0 || !db.isOpen) {
      return; // nothing to write, or a request that arrived after close(): the run is over
    }
    const rows = batch.rows.splice(0);
    db.exec('BEGIN IMMEDIATE');
    for (const row of rows) {
      row();
    }
    db.exec('COMMIT');
    for (const d of batch.done.splice(0)) {
      d();
    }
  };
  function durably(write: () => void): Promise<void> {
    return new Promise((resolve) => {
      if (!queued) {
        const batch: Batch = { rows: [], done: [] };
        queued = batch;
        setImmediate(() => commit(batch));
      }
      queued.rows.push(write);
      queued.done.push(resolve);
    });
  }

  const { publicKey, privateKey } = await generateKeyPair('ES384');
  const verifyKey = await importJWK(await exportJWK(publicKey), 'ES384');
  const token = await new SignJWT({ scope: 'system/*.cruds', tenant: TENANT })
    .setProtectedHeader({ alg: 'ES384' })
    .setExpirationTime('10m')
    .sign(privateKey);
  const verified = new Set<string>();
  const authenticate = (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (verified.has(presented)) {
      next();
      return;
    }
    jwtVerify(presented, verifyKey, { algorithms: ['ES384'] }).then(
      () => {
        verified.add(presented);
        next();
      },
      () => res.status(401).end(),
    );
  };
  const writeAudit = (interaction: 'read' | 'create', reference: string): void => {
    const recorded = new Date().toISOString();
    const action = interaction === 'read' ? 'R' : 'C';
    const { lastInsertRowid } = insertAudit.run(TENANT, audit(interaction, action, reference, recorded));
    if (options.searchable) {
      insertIndex.run(TENANT, 'entity', reference, lastInsertRowid);
      insertIndex.run(TENANT, 'date', recorded, lastInsertRowid);
    }
    if (options.searchable === 'audit-parameters') {
      insertIndex.run(TENANT, 'type', `${AUDIT_EVENT_TYPE}|rest`, lastInsertRowid);
      insertIndex.run(TENANT, 'subtype', `${RESTFUL_INTERACTION}|${interaction}`, lastInsertRowid);
      insertIndex.run(TENANT, 'action', action, lastInsertRowid);
      insertIndex.run(TENANT, 'outcome', '0', lastInsertRowid);
    }
  };
  const audit = (interaction: string, action: string, reference: string, recorded: string): string =>
    JSON.stringify({
      resourceType: 'AuditEvent',
      id: randomUUID(),
      type: { system: AUDIT_EVENT_TYPE, code: 'rest' },
      subtype: [{ system: RESTFUL_INTERACTION, code: interaction }],
      action,
      recorded,
      outcome: '0',
      agent: [{ who: { reference: 'Device/bench' }, requestor: true }],
      source: { observer: { display: 'minimal' } },
      entity: [{ what: { reference } }],
    });

  const app = express();
  app.get('/fhir/:type/:id', authenticate, (req, res) => {
    const { type, id } = req.params as { type: string; id: string };
    const row = readRow.get(TENANT, type, id);
    if (!row) {
      res.status(404).end();
      return;
    }
    void durably(() => writeAudit('read', `${type}/${id}`)).then(() => {
      res.type(FHIR_JSON).send(row['json']);
    });
  });
  app.post(
    '/fhir/:type',
    authenticate,
    express.json({ type: [FHIR_JSON, 'application/json'] }),
    (req, res) => {
      const type = (req.params as { type: string }).type;
      const body = req.body as { resourceType?: unknown };
      if (body.resourceType !== type) {
        res.status(400).end();
        return;
      }
      const id = randomUUID();
      const json = JSON.stringify({
        ...body,
        id,
        meta: { versionId: '1', lastUpdated: new Date().toISOString() },
      });
      void durably(() => {
        insertRow.run(TENANT, type, id, json);
        if (options.searchable) {
          writeSeq += 1;
          for (const [code, value] of patientSearchValues(body as MinimalPatient)) {
            insertResourceIndex.run(TENANT, type, code, value, writeSeq, id);
          }
        }
        writeAudit('create', `${type}/${id}`);
      }).then(() => {
        res.status(201).type(FHIR_JSON).location(`/fhir/${type}/${id}`).send(json);
      });
    },
  );

  return {
    app,
    token,
    seed(resources) {
      db.exec('BEGIN');
      for (const r of resources) {
        insertRow.run(TENANT, r.resourceType, r.id, JSON.stringify(r));
      }
      db.exec('COMMIT');
    },
    close() {
      // Requests still in flight when the load stops have a batch queued for the next turn.
      if (queued) {
        commit(queued);
      }
      db.close();
    },
  };
}

interface MinimalPatient {
  readonly identifier?: readonly { readonly system?: string; readonly value?: string }[];
  readonly name?: readonly { readonly family?: string; readonly given?: readonly string[] }[];
  readonly birthDate?: string;
  readonly gender?: string;
}

/** The search values of a Patient's identifier, names, birth date and gender, as [code, value]. */
function patientSearchValues(patient: MinimalPatient): [string, string][] {
  const values: [string, string][] = [];
  for (const identifier of patient.identifier ?? []) {
    values.push(['identifier', `${identifier.system ?? ''}|${identifier.value ?? ''}`]);
  }
  for (const name of patient.name ?? []) {
    const family = name.family?.toLowerCase();
    const given = (name.given ?? []).map((g) => g.toLowerCase());
    for (const part of [family, ...given]) {
      if (part !== undefined) {
        values.push(['name', part]);
      }
    }
    if (family !== undefined) {
      values.push(['family', family]);
    }
    for (const part of given) {
      values.push(['given', part]);
    }
  }
  if (patient.birthDate !== undefined) {
    values.push(['birthdate', patient.birthDate]);
  }
  if (patient.gender !== undefined) {
    values.push(['gender', patient.gender]);
  }
  return values;
}
