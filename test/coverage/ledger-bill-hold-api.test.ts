/**
 * The bill hold on the authorization ledger outside the app: `GET /api/coverage/authorizations`
 * over real HTTP with a bearer token, and the CLI's `authorizations <patient>` on the same store,
 * say of each charge no claim bills yet whether the tenant's bill hold keeps its visit from its
 * claim (`billHold: {until, hours, timeZone}`), as the app's ledger and encounter view do
 * (src/claims/workflow/ledger-bill-holds.ts): a charge whose visit ended two hours ago under a
 * 72-hour hold says until when; one whose visit ended 100 hours ago, and one a claim bills, say
 * nothing. The encounters read for it are in the read's AuditEvent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { AuditEvent, ChargeItem, Claim, Coverage, Encounter, Resource } from '@medplum/fhirtypes';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import { EXT_CLAIM_STATE } from '../../src/contract/canonical.ts';
import { authorizationOnFile } from '../../src/coverage/authorizations.ts';
import type { LedgerCharge } from '../../src/coverage/ledger.ts';
import type { LedgerReport } from '../../src/coverage/ledger-report.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { addDays, localDate } from '../../src/time/zone.ts';
import { cliInProcess } from '../support/cli.ts';
import { clockEnv, testClock } from '../support/clock.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const TENANT = 'ledger-held';
const ZONE = 'America/New_York';
const PATIENT = 'Patient/p-held';
const SCOPE =
  'system/ClaimResponse.rs system/ChargeItem.rs system/Claim.rs system/Encounter.rs system/Task.rs ' +
  'system/Coverage.rs system/Organization.r';
const TENANT_CONFIG = {
  id: TENANT,
  name: 'Held clinic',
  timeZone: ZONE,
  billHold: { hours: 72 },
  payers: [{ id: 'comm', name: 'Commercial One', payerId: 'COMM1', kind: 'commercial', channel: 'fhir' }],
};
const HOUR = 3_600_000;

let server: TestServer;
const dir = mkdtempSync(path.join(tmpdir(), 'dripline-ledger-bill-hold-api-'));
/** When the held visit ended: two hours before the test clock's now, to the second. */
let heldEnd: Date;

async function put(resource: Resource & { id: string }): Promise<void> {
  await server.running.store.resources.create(TENANT, resource, { id: resource.id });
}

/** A finished office visit of the patient ending `end`, an hour long. */
function visit(id: string, end: Date): Encounter & { id: string } {
  return {
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
    subject: { reference: PATIENT },
    period: { start: new Date(end.getTime() - HOUR).toISOString(), end: end.toISOString() },
  };
}

function charge(id: string, code: string, units: number, encounter: Encounter): ChargeItem & { id: string } {
  return {
    resourceType: 'ChargeItem',
    id,
    status: 'billable',
    code: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code }] },
    subject: { reference: PATIENT },
    context: { reference: `Encounter/${encounter.id}` },
    occurrenceDateTime: encounter.period?.start,
    quantity: { value: units },
  };
}

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn', ...clockEnv() },
    { authorizationLedger: false, ingest: false, chargeCapture: false, claims: false },
    { tenants: [TENANT_CONFIG] },
  );
  const now = testClock();
  const today = localDate(now, ZONE);
  heldEnd = new Date(Math.floor(now.getTime() / 1000) * 1000 - 2 * HOUR);
  const held = visit('e-held', heldEnd);
  const over = visit('e-over', new Date(now.getTime() - 100 * HOUR));
  const billed = visit('e-billed', new Date(now.getTime() - 3 * HOUR));
  await put({ resourceType: 'Patient', id: 'p-held', name: [{ family: 'Okafor' }] });
  await put({
    resourceType: 'Organization',
    id: 'org-comm',
    name: 'Commercial One',
    identifier: [{ system: 'https://example.org/payer-id', value: 'COMM1' }],
  });
  const coverage: Coverage & { id: string } = {
    resourceType: 'Coverage',
    id: 'cov-held',
    status: 'active',
    beneficiary: { reference: PATIENT },
    payor: [{ reference: 'Organization/org-comm' }],
    subscriberId: 'M-9',
  };
  await put(coverage);
  const created = await fhirFetch(
    `${server.fhir}/ClaimResponse`,
    await server.token(TENANT, 'system/ClaimResponse.c'),
    {
      method: 'POST',
      body: authorizationOnFile({
        patient: PATIENT,
        payerId: 'COMM1',
        number: 'PA-9',
        start: addDays(today, -30),
        end: addDays(today, 30),
        services: [{ code: 'J1745', units: 900 }],
        now,
      }),
    },
  );
  expect(created.status).toBe(201);
  for (const encounter of [held, over, billed]) {
    await put(encounter);
    // Infliximab under PA-9; darbepoetin needs one (commercial payers) and has none.
    await put(charge(`j1745-${encounter.id}`, 'J1745', 100, encounter));
    await put(charge(`j0881-${encounter.id}`, 'J0881', 60, encounter));
  }
  const claim: Claim & { id: string } = {
    resourceType: 'Claim',
    id: 'claim-billed',
    status: 'active',
    use: 'claim',
    extension: [{ url: EXT_CLAIM_STATE, valueCode: 'submitted' }],
    type: { coding: [{ code: 'professional' }] },
    patient: { reference: PATIENT },
    created: now.toISOString(),
    provider: { display: 'Clinic' },
    priority: { coding: [{ code: 'normal' }] },
    insurer: { identifier: { value: 'COMM1' } },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-held' } }],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ code: 'J1745' }] },
        encounter: [{ reference: 'Encounter/e-billed' }],
      },
    ],
  };
  await put(claim);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Each charge of the ledger (used under an authorization, or given without one) → its billHold. */
function holdsOf(report: LedgerReport): Record<string, unknown> {
  const charges: (LedgerCharge & { billHold?: unknown })[] = [
    ...report.authorizations.flatMap((a) => a.services.flatMap((s) => s.uses)),
    ...report.withoutAuthorization,
  ];
  return Object.fromEntries(charges.map((c) => [c.chargeItem, c.billHold ?? null]));
}

test('the API says which charges the bill hold keeps, until when, and audits the encounters it read', async () => {
  const answer = await fhirFetch(
    `${server.url}/api/coverage/authorizations?patient=${PATIENT}`,
    await server.token(TENANT, SCOPE),
  );
  expect(answer.status).toBe(200);
  const held = { until: new Date(heldEnd.getTime() + 72 * HOUR).toISOString(), hours: 72, timeZone: ZONE };
  expect(holdsOf(answer.body as LedgerReport)).toEqual({
    'ChargeItem/j1745-e-held': held,
    'ChargeItem/j0881-e-held': held,
    'ChargeItem/j1745-e-over': null,
    'ChargeItem/j0881-e-over': null,
    'ChargeItem/j1745-e-billed': null,
    'ChargeItem/j0881-e-billed': null,
  });
  const audits = await searchAll<AuditEvent>(server.running.store, TENANT, 'AuditEvent', []);
  const audit = audits.find((a) =>
    a.entity?.some(
      (e) => e.query && Buffer.from(e.query, 'base64').toString().includes('api/coverage/authorizations'),
    ),
  );
  const what = (audit?.entity ?? []).map((e) => e.what?.reference);
  expect(what).toEqual(expect.arrayContaining([PATIENT, 'Encounter/e-held', 'Encounter/e-over']));
});

test('the CLI prints the same ledger, held charges included', async () => {
  const configFile = path.join(dir, 'c.json');
  writeFileSync(configFile, JSON.stringify({ sandbox: false, tenants: [TENANT_CONFIG] }));
  const printed = await cliInProcess(['authorizations', PATIENT], {
    PATH: process.env['PATH'] ?? '',
    DRIPLINE_CONFIG: configFile,
    DATA_DIR: server.config.dataDir,
    PUBLIC_URL: server.url,
    LOG_LEVEL: 'silent',
    ...clockEnv(),
  });
  expect([printed.code, printed.stderr]).toEqual([0, '']);
  const fromCli = JSON.parse(printed.stdout) as LedgerReport;
  expect(holdsOf(fromCli)['ChargeItem/j0881-e-held']).toEqual({
    until: new Date(heldEnd.getTime() + 72 * HOUR).toISOString(),
    hours: 72,
    timeZone: ZONE,
  });
  const fromApi = (
    await fhirFetch(
      `${server.url}/api/coverage/authorizations?patient=${PATIENT}`,
      await server.token(TENANT, SCOPE),
    )
  ).body as LedgerReport;
  expect(fromCli).toEqual(fromApi);
}, 60_000);
