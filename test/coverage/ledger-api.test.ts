/**
 * The authorization ledger served and kept: `GET /api/coverage/authorizations?patient=` over real
 * HTTP (scopes, bad input, audit, tenant isolation), the CLI's `authorizations <patient>` as a
 * child process on the same data, and the ledger worker's Tasks (running out within the next booked
 * visits, expiring within 14 days, an infusion given without one), created, refreshed and completed
 * as the ledger changes. Dates are relative to the tenant's today (any hour passes).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  AuditEvent,
  ChargeItem,
  Claim,
  Coverage,
  Encounter,
  Organization,
  Patient,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import { authorizationOnFile } from '../../src/coverage/authorizations.ts';
import type { LedgerReport } from '../../src/coverage/ledger-report.ts';
import { ledgerTaskId } from '../../src/coverage/ledger-tasks.ts';
import { AuthorizationLedgerWorker } from '../../src/coverage/ledger-worker.ts';
import { authorizationRequirement } from '../../src/claims/ledger.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import { createLogger } from '../../src/logger.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { addDays, localDate } from '../../src/time/zone.ts';
import type { CliRun } from '../support/child.ts';
import { cliInProcess } from '../support/cli.ts';
import { clockEnv, testClock } from '../support/clock.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const TENANT = 'ledger-a';
const ZONE = 'America/New_York';
const PATIENT = 'Patient/p1';
const SCOPE =
  'system/ClaimResponse.rs system/ChargeItem.rs system/Claim.rs system/Encounter.rs system/Task.rs ' +
  'system/Coverage.rs system/Organization.r';
const TENANT_CONFIG = {
  id: TENANT,
  name: 'Ledger clinic',
  timeZone: ZONE,
  payers: [{ id: 'comm', name: 'Commercial One', payerId: 'COMM1', kind: 'commercial', channel: 'fhir' }],
  authorizations: { visitsAhead: 3, expiringDays: 14 },
};

let server: TestServer;
let today: string;
const day = (offset: number): string => addDays(today, offset);

async function put(resource: Resource & { id: string }): Promise<void> {
  await server.running.store.resources.create(TENANT, resource, { id: resource.id });
}

function charge(
  id: string,
  code: string,
  date: string,
  units: number,
  encounter: string,
): ChargeItem & { id: string } {
  return {
    resourceType: 'ChargeItem',
    id,
    status: 'billable',
    code: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code }] },
    subject: { reference: PATIENT },
    context: { reference: `Encounter/${encounter}` },
    occurrenceDateTime: `${date}T10:00:00-05:00`,
    quantity: { value: units },
  };
}

function planned(id: string, date: string): Encounter & { id: string } {
  return {
    resourceType: 'Encounter',
    id,
    status: 'planned',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: PATIENT },
    period: { start: `${date}T10:00:00-05:00` },
  };
}

async function ledger(token: string, query = `patient=${PATIENT}`): Promise<{ status: number; body: any }> {
  return fhirFetch(`${server.url}/api/coverage/authorizations?${query}`, token);
}

async function ledgerTasks(): Promise<(Task & StoredResource)[]> {
  return (await searchAll<Task>(server.running.store, TENANT, 'Task', [])).filter((t) =>
    t.code?.coding?.some((c) => c.code?.startsWith('authorization-')),
  );
}

async function recordAuthorization(
  number: string,
  code: string,
  units: number,
  start: string,
  end: string,
): Promise<void> {
  const token = await server.token(TENANT, 'system/ClaimResponse.c');
  const created = await fhirFetch(`${server.fhir}/ClaimResponse`, token, {
    method: 'POST',
    body: authorizationOnFile({
      patient: PATIENT,
      payerId: 'COMM1',
      number,
      start,
      end,
      services: [{ code, units }],
      now: testClock(),
    }),
  });
  expect(created.status).toBe(201);
}

beforeAll(async () => {
  server = await startTestServer(
    // The run's clock (CI moves it to 00:30 and 23:30 UTC): the tenant's today is taken from it.
    { LOG_LEVEL: 'warn', ...clockEnv() },
    // The worker is driven by the test (scan), so what it writes is what one scan decided.
    { authorizationLedger: false, ingest: false, chargeCapture: false, claims: false },
    { tenants: [TENANT_CONFIG] },
  );
  today = localDate(testClock(), ZONE);
  const patient: Patient & { id: string } = {
    resourceType: 'Patient',
    id: 'p1',
    name: [{ family: 'Okafor' }],
  };
  const payer: Organization & { id: string } = {
    resourceType: 'Organization',
    id: 'org-comm',
    name: 'Commercial One',
    identifier: [{ system: 'https://example.org/payer-id', value: 'COMM1' }],
  };
  const coverage: Coverage & { id: string } = {
    resourceType: 'Coverage',
    id: 'cov-1',
    status: 'active',
    beneficiary: { reference: PATIENT },
    payor: [{ reference: 'Organization/org-comm' }],
    subscriberId: 'M-1',
  };
  for (const r of [patient, payer, coverage]) {
    await put(r);
  }
  // PA-100: 300 units of J1745 from 40 days ago to 10 days ahead.
  await recordAuthorization('PA-100', 'J1745', 300, day(-40), day(10));
  await put(charge('c1', 'J1745', day(-21), 100, 'e1'));
  await put(charge('c1-admin', '96365', day(-21), 1, 'e1'));
  await put(charge('c2', 'J1745', day(-7), 100, 'e2'));
  // Darbepoetin needs authorization for commercial payers (prior-auth.json) and has none.
  await put(charge('c3', 'J0881', day(-5), 60, 'e3'));
  const billed: Claim & { id: string } = {
    resourceType: 'Claim',
    id: 'claim-e1',
    status: 'active',
    use: 'claim',
    extension: [{ url: EXT_CLAIM_STATE, valueCode: 'adjudicated' }],
    type: { coding: [{ code: 'professional' }] },
    patient: { reference: PATIENT },
    created: `${day(-20)}T12:00:00Z`,
    provider: { display: 'Clinic' },
    priority: { coding: [{ code: 'normal' }] },
    insurer: { identifier: { value: 'COMM1' } },
    insurance: [
      { sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-1' }, preAuthRef: ['PA-100'] },
    ],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ code: 'J1745' }] },
        encounter: [{ reference: 'Encounter/e1' }],
      },
    ],
  };
  await put(billed);
  await put(planned('v1', day(3)));
  await put(planned('v2', day(8)));
  await put(planned('v-past', day(-1)));
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('GET /api/coverage/authorizations', () => {
  test('per authorization: what was authorized, used (by which charge, on which claim), left, and when it ends', async () => {
    const token = await server.token(TENANT, SCOPE);
    const { status, body } = await ledger(token);
    expect(status).toBe(200);
    const report = body as LedgerReport;
    expect(report).toMatchObject({ patient: PATIENT, today, payer: { payerId: 'COMM1' } });
    const [pa, ...others] = report.authorizations;
    expect(others).toEqual([]);
    expect(pa).toMatchObject({
      number: 'PA-100',
      payerId: 'COMM1',
      start: day(-40),
      end: day(10),
      status: 'active',
      daysLeft: 10,
    });
    const [service] = pa?.services ?? [];
    expect(service).toMatchObject({
      code: 'J1745',
      measure: 'units',
      authorized: 300,
      used: 200,
      remaining: 100,
      beyond: 0,
    });
    expect(service?.uses.map((u) => [u.chargeItem, u.date, u.used, u.billing, u.claim ?? null])).toEqual([
      ['ChargeItem/c1', day(-21), 100, 'adjudicated', 'Claim/claim-e1'],
      ['ChargeItem/c2', day(-7), 100, 'unbilled', null],
    ]);
    // Darbepoetin was given without one; the administration code needs none.
    expect(report.withoutAuthorization.map((c) => [c.chargeItem, c.code, c.rule])).toEqual([
      ['ChargeItem/c3', 'J0881', 'prior-auth.json commercial [UNVERIFIED]'],
    ]);
    expect(report.scheduledVisits).toEqual([
      { encounter: 'Encounter/v1', date: day(3) },
      { encounter: 'Encounter/v2', date: day(8) },
    ]);
  });

  test('the read is audited with the patient and everything the answer was made of', async () => {
    const token = await server.token(TENANT, SCOPE);
    expect((await ledger(token, 'patient=p1')).status).toBe(200);
    const audits = await searchAll<AuditEvent>(server.running.store, TENANT, 'AuditEvent', []);
    const audit = audits.find((a) =>
      a.entity?.some(
        (e) => e.query && Buffer.from(e.query, 'base64').toString().includes('api/coverage/authorizations'),
      ),
    );
    const what = (audit?.entity ?? []).map((e) => e.what?.reference);
    expect(what).toEqual(
      expect.arrayContaining([PATIENT, 'ChargeItem/c1', 'ChargeItem/c3', 'Claim/claim-e1', 'Encounter/v1']),
    );
    expect(what.some((w) => w?.startsWith('ClaimResponse/'))).toBe(true);
  });

  test('bad input is a 400 OperationOutcome; no token 401; missing scopes 403 naming them; another tenant sees nothing', async () => {
    const token = await server.token(TENANT, SCOPE);
    for (const query of [
      '',
      'patient=',
      'patient=a/b/c',
      'patient=p1&patient=p2',
      'patient=p1&count=3',
      'patient=%E0%A4%A',
    ]) {
      const { status, body } = await ledger(token, query);
      expect([query, status, body.resourceType]).toEqual([query, 400, 'OperationOutcome']);
    }
    expect((await fhirFetch(`${server.url}/api/coverage/authorizations?patient=p1`, undefined)).status).toBe(
      401,
    );
    const partial = await ledger(await server.token(TENANT, 'system/ClaimResponse.rs'));
    expect(partial.status).toBe(403);
    expect(partial.body.resourceType).toBe('OperationOutcome');
    // The answer names the patient's payer, read from the Coverage and its payor Organization.
    const noCoverage = await ledger(
      await server.token(
        TENANT,
        'system/ClaimResponse.rs system/ChargeItem.rs system/Claim.rs system/Encounter.rs system/Task.rs',
      ),
    );
    expect(noCoverage.status).toBe(403);
    expect(JSON.stringify(noCoverage.body)).toContain('Coverage');
    expect(JSON.stringify(noCoverage.body)).toContain('Organization');
    const other = await ledger(await server.token('clinic-b', SCOPE));
    expect(other.status).toBe(200);
    expect(other.body).toMatchObject({ authorizations: [], withoutAuthorization: [], scheduledVisits: [] });
  });
});

describe('the ledger worker’s work items', () => {
  test('running out within the next booked visits, expiring within 14 days, given without one: one Task each, written once', async () => {
    const worker = server.running.authorizationLedger;
    expect(await worker.scan(TENANT)).toBe(3);
    const tasks = await ledgerTasks();
    const byKind = new Map(tasks.map((t) => [t.code?.coding?.[0]?.code, t]));
    const runningOut = byKind.get('authorization-running-out');
    expect(runningOut).toMatchObject({
      id: ledgerTaskId(`${PATIENT}|authorization-running-out|PA-100|J1745`),
      status: 'requested',
      for: { reference: PATIENT },
    });
    expect(runningOut?.focus?.reference).toMatch(/^ClaimResponse\//);
    expect(runningOut?.description).toContain(`It runs out at the visit of ${day(8)}`);
    expect(byKind.get('authorization-expiring')?.description).toContain(`ends on ${day(10)}, in 10 day(s)`);
    expect(byKind.get('authorization-missing')).toMatchObject({ focus: { reference: 'ChargeItem/c3' } });
    // Every Task write is audited.
    const audits = await searchAll<AuditEvent>(server.running.store, TENANT, 'AuditEvent', []);
    for (const task of tasks) {
      expect(audits.some((a) => a.entity?.some((e) => e.what?.reference === `Task/${task.id}`))).toBe(true);
    }
    // Nothing changed: nothing written (a full pass included: the worker's first scan was one).
    expect(
      await worker.evaluate(
        server.config.tenants.find((t) => t.id === TENANT)!,
        PATIENT,
      ),
    ).toBe(0);
    // The API lists the open work items.
    const report = (await ledger(await server.token(TENANT, SCOPE))).body as LedgerReport;
    expect(report.workItems.map((w) => w.kind).sort()).toEqual([
      'authorization-expiring',
      'authorization-missing',
      'authorization-running-out',
    ]);
  });

  test('a retro-authorization recorded completes "given without one"; another visit changes what the others say', async () => {
    const worker = server.running.authorizationLedger;
    await recordAuthorization('PA-200', 'J0881', 300, day(-30), day(150));
    await put(charge('c4', 'J1745', day(-1), 100, 'e4'));
    // Completed, refreshed (none left), refreshed (what is left when it ends).
    expect(await worker.scan(TENANT)).toBe(3);
    const tasks = new Map((await ledgerTasks()).map((t) => [t.code?.coding?.[0]?.code, t]));
    const missing = tasks.get('authorization-missing');
    expect(missing?.status).toBe('completed');
    expect(missing?.note?.at(-1)?.text).toMatch(/^resolved/);
    const runningOut = tasks.get('authorization-running-out');
    expect(runningOut?.meta.versionId).toBe('2');
    expect(runningOut?.description).toContain('none left');
    expect(tasks.get('authorization-expiring')?.description).toContain('J1745 0 unit(s) left');
    // Nothing new: nothing written.
    expect(await worker.scan(TENANT)).toBe(0);
  });
});

describe('the ledger worker’s passes', () => {
  test('a pass over the patients with authorizations (hourly, at the day change) still reads what changed since the last scan', async () => {
    const worker = new AuthorizationLedgerWorker({
      store: server.running.store,
      logger: createLogger('silent'),
      publicUrl: server.url,
      tenants: () => server.config.tenants,
      requirement: (tenant) => authorizationRequirement(tenant, loadCodingTables()),
      now: testClock,
      // Every scan after the first is a full pass.
      fullScanMs: 0,
    });
    await worker.scan(TENANT);
    await put({ resourceType: 'Patient', id: 'p2', name: [{ family: 'Lindqvist' }] });
    await put({
      resourceType: 'Coverage',
      id: 'cov-2',
      status: 'active',
      beneficiary: { reference: 'Patient/p2' },
      payor: [{ reference: 'Organization/org-comm' }],
    });
    await put({ ...charge('p2-c1', 'J0881', day(-2), 40, 'p2-e1'), subject: { reference: 'Patient/p2' } });
    expect(await worker.scan(TENANT)).toBe(1);
    const task = (await server.running.store.resources.read(
      TENANT,
      'Task',
      ledgerTaskId('Patient/p2|authorization-missing|J0881'),
    )) as Task;
    expect(task.status).toBe('requested');
  });
});

describe('npm run cli -- authorizations <patient>', () => {
  test('prints the same ledger as the API, read from the same store, and audits the read', async () => {
    const configFile = path.join(mkdtempSync(path.join(tmpdir(), 'dripline-ledger-cli-')), 'c.json');
    writeFileSync(
      configFile,
      JSON.stringify({ sandbox: false, tenants: [TENANT_CONFIG, { id: 'clinic-b', name: 'B' }] }),
    );
    const env = {
      PATH: process.env['PATH'] ?? '',
      DRIPLINE_CONFIG: configFile,
      DATA_DIR: server.config.dataDir,
      PUBLIC_URL: server.url,
      LOG_LEVEL: 'silent',
      ...clockEnv(),
    };
    const run = async (args: string[]): Promise<CliRun> => cliInProcess(args, env);
    const printed = await run(['authorizations', PATIENT, '--tenant', TENANT]);
    expect([printed.code, printed.stderr]).toEqual([0, '']);
    const fromCli = JSON.parse(printed.stdout) as LedgerReport;
    const fromApi = (await ledger(await server.token(TENANT, SCOPE))).body as LedgerReport;
    expect(fromCli).toEqual(fromApi);
    const audits = await searchAll<AuditEvent>(server.running.store, TENANT, 'AuditEvent', []);
    expect(
      audits.some(
        (a) =>
          a.agent?.[0]?.who?.identifier?.value?.startsWith('dripline-cli:') &&
          a.entity?.some((e) => e.what?.reference === PATIENT),
      ),
    ).toBe(true);
    // Two tenants configured: which one must be said.
    const ambiguous = await run(['authorizations', 'p1']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('--tenant');
    const bad = await run(['authorizations', 'not/a/patient', '--tenant', TENANT]);
    expect(bad.code).toBe(2);
  }, 120_000);
});
