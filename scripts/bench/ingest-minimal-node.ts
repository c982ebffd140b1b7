/**
 * The least equivalent ingest pipeline's two processes (./ingest-minimal.ts says what they are
 * the baseline of): plain node:http and node:sqlite, no framework, no validation, nothing
 * Dripline adds on purpose.
 *
 *   node scripts/bench/ingest-minimal-node.ts receiver <inbox file> <secret's SHA-256, hex>
 *     Answers POST /notify: the bearer secret checked (its SHA-256 compared in constant time), the
 *     Backport notification Bundle parsed, its focus and event number taken, a job row written
 *     durably (one transaction per event-loop turn for every notification of that turn), 200.
 *     Prints `LISTENING <url>`.
 *   node scripts/bench/ingest-minimal-node.ts worker <inbox file> <store file> <connection JSON>
 *     Takes the token once (SMART Backend Services, the connection's key), then loops: the next 64
 *     jobs, their focuses read with one `_id` search at the EHR (two batches' reads in flight while
 *     one is written), and in one transaction per batch each copy's row, its 5 search rows
 *     (status, subject, context, medication, effective time) and its AuditEvent with the 7 rows it
 *     is searched by (type, subtype, action, outcome, date, entity, patient); then the batch's
 *     jobs deleted from the inbox. Prints `READY`.
 *
 * Both answer `cpu` on the IPC channel with their CPU time, as ./ingest-node.ts does.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import type { EhrConnectionConfig } from '../../src/config/config.ts';
import { createTokenProvider } from '../../src/ehr/token-provider.ts';
import { WAL_AUTOCHECKPOINT_PAGES } from '../../src/store/sqlite/db.ts';

const HOST = '127.0.0.1';
const BATCH = 64;
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';

process.on('message', (message) => {
  if (message === 'cpu') {
    process.send?.({ cpu: process.cpuUsage() });
  }
});
process.once('SIGTERM', () => process.exit(0));

/** Dripline's settings for a store file (src/store/sqlite/db.ts), so neither pays for SQLite's small defaults. */
function open(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec(`PRAGMA cache_size = -${String(64 * 1024)}`);
  db.exec(`PRAGMA wal_autocheckpoint = ${String(WAL_AUTOCHECKPOINT_PAGES)}`);
  return db;
}

function openInbox(path: string): DatabaseSync {
  const db = open(path);
  // AUTOINCREMENT: ids never reused once the worker deleted every row (it reads on from the last id).
  db.exec(
    'CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, focus TEXT NOT NULL, event INTEGER NOT NULL)',
  );
  return db;
}

interface Part {
  readonly name?: string;
  readonly valueString?: string;
  readonly valueReference?: { readonly reference?: string };
  readonly part?: readonly Part[];
}

/** The notification's (focus, event number), or undefined when it is not one. */
function parseNotification(body: string): { focus: string; event: number } | undefined {
  const bundle = JSON.parse(body) as { entry?: { resource?: { parameter?: Part[] } }[] };
  const parameters = bundle.entry?.[0]?.resource?.parameter ?? [];
  const event = parameters.find((p) => p.name === 'notification-event')?.part ?? [];
  const focus = event.find((p) => p.name === 'focus')?.valueReference?.reference;
  const number = Number(event.find((p) => p.name === 'event-number')?.valueString);
  return focus && Number.isInteger(number) ? { focus, event: number } : undefined;
}

function runReceiver(inboxPath: string, secretSha256Hex: string): void {
  const db = openInbox(inboxPath);
  const insert = db.prepare('INSERT INTO jobs (focus, event) VALUES (?, ?)');
  const expected = Buffer.from(secretSha256Hex, 'hex');
  let queued: { rows: [string, number][]; answers: ServerResponse[] } | undefined;
  const commit = (): void => {
    const batch = queued;
    queued = undefined;
    if (!batch) {
      return;
    }
    db.exec('BEGIN IMMEDIATE');
    for (const [focus, event] of batch.rows) {
      insert.run(focus, event);
    }
    db.exec('COMMIT');
    for (const res of batch.answers) {
      res.writeHead(200, { 'content-length': '0' }).end();
    }
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const header = req.headers.authorization ?? '';
    const presented = createHash('sha256')
      .update(header.startsWith('Bearer ') ? header.slice(7) : '')
      .digest();
    if (req.method !== 'POST' || !timingSafeEqual(presented, expected)) {
      res.writeHead(401, { 'content-length': '0' }).end();
      return;
    }
    let notification: ReturnType<typeof parseNotification>;
    try {
      notification = parseNotification(body);
    } catch {
      notification = undefined;
    }
    if (!notification) {
      res.writeHead(400, { 'content-length': '0' }).end();
      return;
    }
    if (!queued) {
      queued = { rows: [], answers: [] };
      setImmediate(commit);
    }
    queued.rows.push([notification.focus, notification.event]);
    queued.answers.push(res);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.listen(0, HOST, () => {
    console.log(`LISTENING http://${HOST}:${String((server.address() as AddressInfo).port)}/notify`);
  });
}

interface Administration {
  readonly resourceType: string;
  readonly id: string;
  readonly status?: string;
  readonly subject?: { readonly reference?: string };
  readonly context?: { readonly reference?: string };
  readonly medicationReference?: { readonly reference?: string };
  readonly effectivePeriod?: { readonly start?: string };
}

async function runWorker(
  inboxPath: string,
  storePath: string,
  connection: EhrConnectionConfig,
): Promise<void> {
  const inbox = openInbox(inboxPath);
  const db = open(storePath);
  db.exec(`
    CREATE TABLE resources (pk INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL,
      json TEXT NOT NULL, UNIQUE (type, id));
    CREATE TABLE resource_index (code TEXT NOT NULL, value TEXT NOT NULL, res INTEGER NOT NULL,
      PRIMARY KEY (code, value, res)) WITHOUT ROWID;
    CREATE TABLE audit (pk INTEGER PRIMARY KEY, json TEXT NOT NULL);
    CREATE TABLE audit_index (code TEXT NOT NULL, value TEXT NOT NULL, audit INTEGER NOT NULL,
      PRIMARY KEY (code, value, audit)) WITHOUT ROWID;
  `);
  const nextJobs = inbox.prepare('SELECT id, focus FROM jobs WHERE id > ? ORDER BY id LIMIT ?');
  const deleteJobs = inbox.prepare('DELETE FROM jobs WHERE id <= ?');
  const insertResource = db.prepare('INSERT OR IGNORE INTO resources (type, id, json) VALUES (?, ?, ?)');
  const insertIndex = db.prepare('INSERT INTO resource_index (code, value, res) VALUES (?, ?, ?)');
  const insertAudit = db.prepare('INSERT INTO audit (json) VALUES (?)');
  const insertAuditIndex = db.prepare('INSERT INTO audit_index (code, value, audit) VALUES (?, ?, ?)');

  const tokens = createTokenProvider(connection);
  const token = await tokens.getToken();
  const base = connection.fhirBaseUrl;
  const read = async (ids: string[]): Promise<Administration[]> => {
    const response = await fetch(
      `${base}/MedicationAdministration?_id=${ids.join(',')}&_count=${String(ids.length)}`,
      {
        headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
      },
    );
    if (!response.ok) {
      throw new Error(`EHR answered ${String(response.status)}`);
    }
    const bundle = (await response.json()) as { entry?: { resource?: Administration }[] };
    const found = (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    if (found.length !== ids.length) {
      throw new Error(`EHR returned ${String(found.length)} of ${String(ids.length)}`);
    }
    return found;
  };
  const write = (resources: readonly Administration[], lastJob: number): void => {
    db.exec('BEGIN IMMEDIATE');
    for (const r of resources) {
      const json = JSON.stringify({
        ...r,
        meta: { versionId: '1', lastUpdated: new Date().toISOString() },
      });
      const { lastInsertRowid: pk } = insertResource.run(r.resourceType, r.id, json);
      for (const [code, value] of [
        ['status', r.status],
        ['subject', r.subject?.reference],
        ['context', r.context?.reference],
        ['medication', r.medicationReference?.reference],
        ['effective-time', r.effectivePeriod?.start],
      ] as const) {
        if (value !== undefined) {
          insertIndex.run(code, value, pk);
        }
      }
      const recorded = new Date().toISOString();
      const reference = `${r.resourceType}/${r.id}`;
      const patient = r.subject?.reference ?? '';
      const { lastInsertRowid: audit } = insertAudit.run(
        JSON.stringify({
          resourceType: 'AuditEvent',
          id: randomUUID(),
          type: { system: AUDIT_EVENT_TYPE, code: 'rest' },
          subtype: [{ system: RESTFUL_INTERACTION, code: 'create' }],
          action: 'C',
          recorded,
          outcome: '0',
          agent: [{ who: { identifier: { value: connection.id } }, requestor: true }],
          source: { observer: { display: 'minimal' } },
          entity: [{ what: { reference } }, { what: { reference: patient } }],
        }),
      );
      for (const [code, value] of [
        ['type', `${AUDIT_EVENT_TYPE}|rest`],
        ['subtype', `${RESTFUL_INTERACTION}|create`],
        ['action', 'C'],
        ['outcome', '0'],
        ['date', recorded],
        ['entity', reference],
        ['patient', patient],
      ] as const) {
        insertAuditIndex.run(code, value, audit);
      }
    }
    db.exec('COMMIT');
    // After the copies commit: a crash in between reads the batch again (INSERT OR IGNORE).
    deleteJobs.run(lastJob);
  };

  console.log('READY');
  let cursor = 0;
  const inFlight: { lastJob: number; reads: Promise<Administration[]> }[] = [];
  for (;;) {
    while (inFlight.length < 2) {
      const jobs = nextJobs.all(cursor, BATCH) as { id: number; focus: string }[];
      const last = jobs.at(-1);
      if (!last) {
        break;
      }
      cursor = last.id;
      const ids = jobs.map((j) => j.focus.slice(j.focus.lastIndexOf('/') + 1));
      inFlight.push({ lastJob: last.id, reads: read(ids) });
    }
    const next = inFlight.shift();
    if (!next) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    write(await next.reads, next.lastJob);
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === 'receiver') {
  runReceiver(args[0] ?? '', args[1] ?? '');
} else if (role === 'worker') {
  await runWorker(args[0] ?? '', args[1] ?? '', JSON.parse(args[2] ?? '{}') as EhrConnectionConfig);
} else {
  console.error('usage: ingest-minimal-node.ts receiver|worker …');
  process.exit(2);
}
