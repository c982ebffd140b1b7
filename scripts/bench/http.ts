/**
 * `npm run bench:http`: HTTP throughput and latency of Dripline's FHIR API against bare express
 * baselines measured in the same run, on the same machine, with the same load generator.
 *
 * Phases (each: a short warm-up, then BENCH_SECONDS of measurement at BENCH_CONNECTIONS):
 *   1. express hello world        GET /            → {"ok":true}
 *   2. express JSON POST          parse the Patient body, answer with a JSON object the size of Dripline's 201
 *   3. express JSON GET           answer with a JSON object the size of Dripline's read
 *   4. Dripline create            POST /fhir/Patient (bearer token, validation, SQLite write, audit)
 *   5. Dripline read              GET /fhir/Patient/{id}, rotating over patients created beforehand
 *   6. minimal create / read      the least work the requirement demands, as plain express over
 *                                 node:sqlite (./http-minimal.ts): bearer token, the row, a durable
 *                                 AuditEvent per request — the baseline for "how much is ours"
 *   7. minimal read, searchable   the same read with its AuditEvent findable by entity and date (two
 *                                 index rows): the least a read with an audit trail anyone can search does
 *   8. minimal create, searchable the same create with the Patient findable by the search parameters its
 *                                 body fills (7 rows) and its AuditEvent by entity and date (2 rows)
 *   9. minimal read and create,   7 and 8 with the AuditEvent findable by each of its 6 search
 *      audit by 6 parameters      parameters Dripline indexes (+ type, subtype, action, outcome)
 *
 * Besides req/s, each phase prints the servers' CPU time per request on the main thread (the load
 * generator runs in a worker thread), which other work on the machine does not inflate; Dripline's
 * read adds its audit thread's CPU (src/store/sqlite/audit-log.ts).
 *
 * Dripline runs in this process (startServer) on SQLite in a temp DATA_DIR with LOG_LEVEL=silent and
 * a rate limit far above what the run can reach. autocannon runs in a worker thread by default so the
 * load generator does not share the servers' event loop (BENCH_WORKERS=0 runs it on the main thread).
 *
 * Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (32), BENCH_WARMUP_SECONDS (2),
 * BENCH_WORKERS (1), BENCH_READ_IDS (256). Exits 1 if any phase saw a non-2xx response or an error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import express from 'express';
import { registerBackendClient } from '../../src/auth/client-registration.ts';
import { loadConfig } from '../../src/config/config.ts';
import { requestBackendToken } from '../../src/cli/token-command.ts';
import { createLogger } from '../../src/logger.ts';
import { startServer } from '../../src/server.ts';
import type { RunningServer } from '../../src/server.ts';
import { freePort } from '../../src/http/free-port.ts';
import { minimalFhirApp } from './http-minimal.ts';
import { auditBackground, closeServer, listen, printTable, ratio, runPhase } from './http-phases.ts';
import type { Phase, PhaseResult } from './http-phases.ts';
import { recordFigure } from './results.ts';

const FHIR_JSON = 'application/fhir+json';

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min} (got "${raw}")`);
  }
  return value;
}

const SECONDS = intEnv('BENCH_SECONDS', 10, 1);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 32, 1);
const WARMUP_SECONDS = intEnv('BENCH_WARMUP_SECONDS', 2, 0);
const WORKERS = intEnv('BENCH_WORKERS', 1, 0);
const READ_IDS = intEnv('BENCH_READ_IDS', 256, 1);
/** Access tokens live at most 300 s; a fresh one is fetched before each Dripline phase. */
const TOKEN_SECONDS = 300;

const startedAt = Date.now();
function progress(message: string): void {
  const t = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(6);
  console.log(`[${t}s] ${message}`);
}

/**
 * A realistic US Core-flavoured Patient (~1 KB). `[<id>]` is replaced by autocannon with a fresh
 * random id per request, so every created patient has its own MRN.
 */
function patientBody(mrn: string): string {
  return JSON.stringify({
    resourceType: 'Patient',
    identifier: [
      {
        use: 'usual',
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/v2-0203',
              code: 'MR',
              display: 'Medical record number',
            },
          ],
        },
        system: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14',
        value: mrn,
      },
      { system: 'http://payer.example.org/fhir/sid/member-id', value: 'MBR-00481516' },
    ],
    active: true,
    name: [
      { use: 'official', family: 'Nguyen', given: ['Anh', 'Thi'] },
      { use: 'nickname', given: ['Annie'] },
    ],
    telecom: [
      { system: 'phone', value: '+1 217 555 0142', use: 'mobile' },
      { system: 'email', value: 'anh.nguyen@example.org', use: 'home' },
    ],
    gender: 'female',
    birthDate: '1968-04-12',
    address: [
      {
        use: 'home',
        type: 'physical',
        line: ['1200 Infusion Way', 'Apt 4B'],
        city: 'Springfield',
        state: 'IL',
        postalCode: '62704',
        country: 'US',
      },
    ],
    maritalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Married' },
      ],
    },
    communication: [
      {
        language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'vi', display: 'Vietnamese' }] },
        preferred: true,
      },
    ],
  });
}

async function main(): Promise<void> {
  const host = '127.0.0.1';
  const dataDir = mkdtempSync(join(tmpdir(), 'dripline-bench-'));
  // PORT=0 cannot be used as is: the server derives its public URL, and so the token endpoint URL
  // that client assertions must name as `aud`, from the configured port. So take a free ephemeral
  // port first and configure it (and PUBLIC_URL) explicitly.
  const port = await freePort(host);
  const config = loadConfig({
    PORT: String(port),
    HOST: host,
    PUBLIC_URL: `http://${host}:${port}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: String(1_000_000_000),
    ACCESS_TOKEN_SECONDS: String(TOKEN_SECONDS),
  });
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  progress(
    `node ${process.version}, ${availableParallelism()} CPU (${cpuModel}); ${CONNECTIONS} connections, ` +
      `${WARMUP_SECONDS}s warm-up + ${SECONDS}s per phase; autocannon ${WORKERS > 0 ? `in ${WORKERS} worker thread(s)` : 'on the main thread'}`,
  );
  const [load1 = 0] = loadavg();
  if (load1 > availableParallelism() / 2) {
    progress(
      `warning: load average ${load1.toFixed(2)} on ${availableParallelism()} CPU: other work on this machine will skew the figures`,
    );
  }
  if (WARMUP_SECONDS + SECONDS > TOKEN_SECONDS - 10) {
    progress(
      `warning: a phase (${WARMUP_SECONDS + SECONDS}s) outlives the ${TOKEN_SECONDS}s access token; expect 401s`,
    );
  }

  const toClose: Server[] = [];
  let dripline: RunningServer | undefined;
  let closeMinimal = (): void => undefined;
  let failed = false;
  try {
    progress(`starting Dripline (SQLite in ${dataDir})`);
    dripline = await startServer(config, createLogger('silent'));
    const base = dripline.url;
    const client = await registerBackendClient(dripline.store.auth, {
      tenant: 'sandbox',
      scope: 'system/*.cruds',
      name: 'bench',
      now: new Date(),
      publicUrl: config.publicUrl,
    });
    const freshToken = async (): Promise<Record<string, string>> => {
      const { access_token } = await requestBackendToken(client);
      return { authorization: `Bearer ${access_token}` };
    };
    const auth = await freshToken();
    progress(`Dripline at ${base}; client ${client.client_id} (sandbox, system/*.cruds) has a token`);

    // Sanity check and samples: one create and one read, whose response bodies size the baselines.
    const createRes = await fetch(`${base}/fhir/Patient`, {
      method: 'POST',
      headers: { ...auth, 'content-type': FHIR_JSON, accept: FHIR_JSON },
      body: patientBody('MRN-SAMPLE'),
    });
    const createText = await createRes.text();
    if (createRes.status !== 201) {
      throw new Error(`POST /fhir/Patient answered ${createRes.status}: ${createText.slice(0, 500)}`);
    }
    const created = JSON.parse(createText) as { id: string };
    const readRes = await fetch(`${base}/fhir/Patient/${created.id}`, {
      headers: { ...auth, accept: FHIR_JSON },
    });
    const readText = await readRes.text();
    if (readRes.status !== 200) {
      throw new Error(
        `GET /fhir/Patient/${created.id} answered ${readRes.status}: ${readText.slice(0, 500)}`,
      );
    }

    progress(`creating ${READ_IDS} patients for the read phase`);
    const ids: string[] = [];
    const batch = 16;
    for (let i = 0; i < READ_IDS; i += batch) {
      const chunk = await Promise.all(
        Array.from({ length: Math.min(batch, READ_IDS - i) }, async (_, j) => {
          const res = await fetch(`${base}/fhir/Patient`, {
            method: 'POST',
            headers: { ...auth, 'content-type': FHIR_JSON },
            body: patientBody(`MRN-READ-${i + j}`),
          });
          const body = (await res.json()) as { id?: string };
          if (res.status !== 201 || typeof body.id !== 'string') {
            throw new Error(`seeding POST /fhir/Patient answered ${res.status}`);
          }
          return body.id;
        }),
      );
      ids.push(...chunk);
    }
    // Shuffled, so that connections walking the same list do not read in lock-step order.
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const a = ids[i];
      const b = ids[j];
      if (a !== undefined && b !== undefined) {
        ids[i] = b;
        ids[j] = a;
      }
    }

    // Baselines: plain express 5 on other ephemeral ports in this same process.
    const createSample: unknown = JSON.parse(createText);
    const readSample: unknown = JSON.parse(readText);
    const helloApp = express();
    helloApp.get('/', (_req, res) => {
      res.json({ ok: true });
    });
    const jsonApp = express();
    jsonApp.post(
      '/fhir/Patient',
      express.json({ type: [FHIR_JSON, 'application/json'], limit: config.http.maxBodyBytes }),
      (req, res) => {
        if (typeof (req.body as { resourceType?: unknown }).resourceType !== 'string') {
          res.status(400).end();
          return;
        }
        res.status(201).type(FHIR_JSON).send(JSON.stringify(createSample));
      },
    );
    jsonApp.get('/fhir/Patient/:id', (_req, res) => {
      res.type(FHIR_JSON).send(JSON.stringify(readSample));
    });
    const seeded = await Promise.all(
      ids.map(async (id) => dripline?.store.resources.read('sandbox', 'Patient', id)),
    );
    const minimalApps = [
      await minimalFhirApp(dataDir),
      await minimalFhirApp(dataDir, { searchable: 'entity-date' }),
      await minimalFhirApp(dataDir, { searchable: 'audit-parameters' }),
    ] as const;
    const [minimal, searchable, auditSearchable] = minimalApps;
    closeMinimal = (): void => {
      for (const app of minimalApps) {
        app.close();
      }
    };
    for (const app of minimalApps) {
      app.seed(seeded.filter((r) => r !== undefined));
    }
    const hello = await listen(helloApp);
    const json = await listen(jsonApp);
    const least = await listen(minimal.app);
    const leastSearchable = await listen(searchable.app);
    const leastAuditSearchable = await listen(auditSearchable.app);
    toClose.push(
      hello.server,
      json.server,
      least.server,
      leastSearchable.server,
      leastAuditSearchable.server,
    );
    progress(
      `baselines: hello world at ${hello.url}, JSON echo at ${json.url} ` +
        `(bodies: request ${patientBody('MRN-0000000000').length} B, create response ${createText.length} B, read response ${readText.length} B)`,
    );

    const postOptions = {
      method: 'POST' as const,
      headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON },
      body: patientBody('MRN-[<id>]'),
      idReplacement: true,
    };
    const readRequests: autocannon.Request[] = ids.map((id) => ({
      method: 'GET',
      path: `/fhir/Patient/${id}`,
    }));
    const phases: Phase[] = [
      { name: 'express hello world (GET /)', options: { url: `${hello.url}/` } },
      {
        name: 'express JSON POST (parse + same-size 201)',
        options: { url: `${json.url}/fhir/Patient`, ...postOptions },
      },
      {
        name: 'express JSON GET (same-size body)',
        options: { url: json.url, headers: { accept: FHIR_JSON }, requests: readRequests },
      },
      {
        name: 'Dripline create (POST /fhir/Patient)',
        options: { url: `${base}/fhir/Patient`, ...postOptions },
        prepare: freshToken,
        ...auditBackground(dripline.store),
      },
      {
        name: `Dripline read (GET /fhir/Patient/{id}, ${ids.length} ids)`,
        options: { url: base, headers: { accept: FHIR_JSON }, requests: readRequests },
        prepare: freshToken,
        ...auditBackground(dripline.store),
      },
      {
        name: 'minimal create (token, row + AuditEvent durable)',
        options: {
          url: `${least.url}/fhir/Patient`,
          ...postOptions,
          headers: { ...postOptions.headers, authorization: `Bearer ${minimal.token}` },
        },
      },
      {
        name: `minimal read (token, row, AuditEvent durable)`,
        options: {
          url: least.url,
          headers: { accept: FHIR_JSON, authorization: `Bearer ${minimal.token}` },
          requests: readRequests,
        },
      },
      {
        name: `minimal read, audit searchable (+ entity, date rows)`,
        options: {
          url: leastSearchable.url,
          headers: { accept: FHIR_JSON, authorization: `Bearer ${searchable.token}` },
          requests: readRequests,
        },
      },
      {
        name: 'minimal create, searchable (+ 7 Patient index rows, entity, date rows)',
        options: {
          url: `${leastSearchable.url}/fhir/Patient`,
          ...postOptions,
          headers: { ...postOptions.headers, authorization: `Bearer ${searchable.token}` },
        },
      },
      {
        name: 'minimal read, audit searchable by its 6 parameters (+ type, subtype, action, outcome)',
        options: {
          url: leastAuditSearchable.url,
          headers: { accept: FHIR_JSON, authorization: `Bearer ${auditSearchable.token}` },
          requests: readRequests,
        },
      },
      {
        name: 'minimal create, Patient searchable, audit by its 6 parameters',
        options: {
          url: `${leastAuditSearchable.url}/fhir/Patient`,
          ...postOptions,
          headers: { ...postOptions.headers, authorization: `Bearer ${auditSearchable.token}` },
        },
      },
    ];

    const results: PhaseResult[] = [];
    for (const phase of phases) {
      results.push(
        await runPhase(phase, {
          seconds: SECONDS,
          connections: CONNECTIONS,
          warmupSeconds: WARMUP_SECONDS,
          workers: WORKERS,
          progress,
        }),
      );
    }
    const [
      helloResult,
      jsonPost,
      jsonGet,
      create,
      read,
      leastCreate,
      leastRead,
      leastSearchableRead,
      leastSearchableCreate,
      leastAuditSearchableRead,
      leastAuditSearchableCreate,
    ] = results as [
      PhaseResult,
      PhaseResult,
      PhaseResult,
      PhaseResult,
      PhaseResult,
      PhaseResult,
      PhaseResult,
      PhaseResult,
      PhaseResult,
      PhaseResult,
      PhaseResult,
    ];
    printTable(results, helloResult);
    console.log(
      `Dripline create vs express JSON POST: req/s ${ratio(create.rps, jsonPost.rps)}, p50 ${ratio(create.p50, jsonPost.p50)}, p99 ${ratio(create.p99, jsonPost.p99)}`,
    );
    console.log(
      `Dripline read   vs express JSON GET:  req/s ${ratio(read.rps, jsonGet.rps)}, p50 ${ratio(read.p50, jsonGet.p50)}, p99 ${ratio(read.p99, jsonGet.p99)}`,
    );
    console.log(
      `Dripline create vs minimal create: req/s ${ratio(create.rps, leastCreate.rps)}, CPU per request ${ratio(create.cpuMicros, leastCreate.cpuMicros)}`,
    );
    console.log(
      `Dripline create vs minimal create with the Patient and its audit searchable: req/s ${ratio(create.rps, leastSearchableCreate.rps)}, CPU per request ${ratio(create.cpuMicros, leastSearchableCreate.cpuMicros)}`,
    );
    console.log(
      `Dripline read   vs minimal read:   req/s ${ratio(read.rps, leastRead.rps)}, CPU per request ${ratio(read.cpuMicros, leastRead.cpuMicros)}`,
    );
    console.log(
      `Dripline read   vs minimal read with a searchable audit: req/s ${ratio(read.rps, leastSearchableRead.rps)}, CPU per request ${ratio(read.cpuMicros, leastSearchableRead.cpuMicros)}`,
    );
    console.log(
      `minimal read (what the requirement costs) vs hello world: req/s ${ratio(leastRead.rps, helloResult.rps)}; ` +
        `with its audit searchable: ${ratio(leastSearchableRead.rps, helloResult.rps)}; ` +
        `minimal create vs hello world: ${ratio(leastCreate.rps, helloResult.rps)}; ` +
        `searchable: ${ratio(leastSearchableCreate.rps, helloResult.rps)}`,
    );
    console.log(
      `with the audit searchable by its 6 parameters, vs hello world: minimal read ${ratio(leastAuditSearchableRead.rps, helloResult.rps)}, ` +
        `minimal create ${ratio(leastAuditSearchableCreate.rps, helloResult.rps)}; Dripline vs them: read ${ratio(read.rps, leastAuditSearchableRead.rps)}, ` +
        `create ${ratio(create.rps, leastAuditSearchableCreate.rps)}`,
    );
    // Issue 17's FHIR API targets, against the hello world at the same concurrency.
    recordFigure({
      bench: 'http',
      figure: `FHIR read, ${CONNECTIONS} connections`,
      value: Math.round(read.rps),
      unit: 'req/s',
      baseline: { name: 'express hello world', value: Math.round(helloResult.rps) },
      target: '≥ 0.5 × hello world',
      met: read.rps >= 0.5 * helloResult.rps,
    });
    recordFigure({
      bench: 'http',
      figure: `FHIR create, ${CONNECTIONS} connections`,
      value: Math.round(create.rps),
      unit: 'req/s',
      baseline: { name: 'express hello world', value: Math.round(helloResult.rps) },
      target: '≥ 0.25 × hello world',
      met: create.rps >= 0.25 * helloResult.rps,
    });
    // How much of each gap is the requirement itself (token, row, durable audit) and how much is ours.
    recordFigure({
      bench: 'http',
      figure: `FHIR read vs the least equivalent work (token, row, durable AuditEvent), ${CONNECTIONS} connections`,
      value: Math.round(read.rps),
      unit: 'req/s',
      baseline: { name: 'minimal read', value: Math.round(leastRead.rps) },
    });
    recordFigure({
      bench: 'http',
      figure: `FHIR read vs the least equivalent work with the audit searchable by entity and date, ${CONNECTIONS} connections`,
      value: Math.round(read.rps),
      unit: 'req/s',
      baseline: { name: 'minimal read, searchable audit', value: Math.round(leastSearchableRead.rps) },
    });
    recordFigure({
      bench: 'http',
      figure: `minimal read with a searchable audit (what the requirement costs) vs hello world, ${CONNECTIONS} connections`,
      value: Math.round(leastSearchableRead.rps),
      unit: 'req/s',
      baseline: { name: 'express hello world', value: Math.round(helloResult.rps) },
    });
    recordFigure({
      bench: 'http',
      figure: `FHIR read vs the least equivalent work with the audit searchable by its 6 parameters, ${CONNECTIONS} connections`,
      value: Math.round(read.rps),
      unit: 'req/s',
      baseline: {
        name: 'minimal read, audit searchable by 6 parameters',
        value: Math.round(leastAuditSearchableRead.rps),
      },
    });
    recordFigure({
      bench: 'http',
      figure: `minimal read with the audit searchable by its 6 parameters (what the requirement costs) vs hello world, ${CONNECTIONS} connections`,
      value: Math.round(leastAuditSearchableRead.rps),
      unit: 'req/s',
      baseline: { name: 'express hello world', value: Math.round(helloResult.rps) },
    });
    recordFigure({
      bench: 'http',
      figure: `FHIR create vs the least equivalent work (token, row + durable AuditEvent), ${CONNECTIONS} connections`,
      value: Math.round(create.rps),
      unit: 'req/s',
      baseline: { name: 'minimal create', value: Math.round(leastCreate.rps) },
    });
    recordFigure({
      bench: 'http',
      figure: `FHIR create vs the least equivalent work with the Patient and its audit searchable, ${CONNECTIONS} connections`,
      value: Math.round(create.rps),
      unit: 'req/s',
      baseline: { name: 'minimal create, searchable', value: Math.round(leastSearchableCreate.rps) },
    });
    recordFigure({
      bench: 'http',
      figure: `minimal create with the Patient and its audit searchable (what the requirement costs) vs hello world, ${CONNECTIONS} connections`,
      value: Math.round(leastSearchableCreate.rps),
      unit: 'req/s',
      baseline: { name: 'express hello world', value: Math.round(helloResult.rps) },
    });
    recordFigure({
      bench: 'http',
      figure: `FHIR create vs the least equivalent work with the Patient searchable and the audit by its 6 parameters, ${CONNECTIONS} connections`,
      value: Math.round(create.rps),
      unit: 'req/s',
      baseline: {
        name: 'minimal create, audit searchable by 6 parameters',
        value: Math.round(leastAuditSearchableCreate.rps),
      },
    });
    recordFigure({
      bench: 'http',
      figure: `minimal create with the Patient searchable and the audit by its 6 parameters (what the requirement costs) vs hello world, ${CONNECTIONS} connections`,
      value: Math.round(leastAuditSearchableCreate.rps),
      unit: 'req/s',
      baseline: { name: 'express hello world', value: Math.round(helloResult.rps) },
    });
    for (const r of results) {
      if (r.non2xx > 0 || r.errors > 0 || r.warmupFailures > 0) {
        failed = true;
        console.error(
          `FAIL ${r.name}: ${r.non2xx} non-2xx, ${r.errors} errors in measurement, ${r.warmupFailures} in warm-up (status codes: ${r.statusCodes})`,
        );
      }
    }
  } finally {
    progress('stopping servers');
    await Promise.all(toClose.map(closeServer));
    await dripline?.stop();
    closeMinimal();
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (failed) {
    process.exitCode = 1;
  } else {
    progress('done: no non-2xx responses, no errors');
  }
}

main().catch((err: unknown) => {
  console.error(`bench:http failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
