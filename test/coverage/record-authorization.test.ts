/**
 * Recording an authorization by hand (src/coverage/record-authorization.ts) through
 * `POST /api/coverage/authorizations` on a running server: the scope it needs, every bad input a
 * 400 OperationOutcome with nothing written, an unknown patient 404, the record read back by the
 * ledger (`GET /api/coverage/authorizations`) with its units, the same authorization again kept
 * once (200), the same number with other dates a 409, and one AuditEvent for the write. The
 * billers' app calls the same functions (test/web/patient-page.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuditEvent, ClaimResponse, Patient } from '@medplum/fhirtypes';
import { searchAll } from '../../src/store/search-all.ts';
import { addDays, localDate } from '../../src/time/zone.ts';
import { clockEnv, testClock } from '../support/clock.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const TENANT = 'record-a';
const ZONE = 'America/Chicago';
const PATIENT = 'Patient/rp1';
const TENANT_CONFIG = {
  id: TENANT,
  name: 'Recording clinic',
  timeZone: ZONE,
  payers: [{ id: 'comm', name: 'Commercial One', payerId: 'COMM1', kind: 'commercial', channel: 'fhir' }],
};

let server: TestServer;
let token: string;
// The run's clock (CI moves it to 00:30 and 23:30 UTC), read once: test.each builds bodies at load.
const today = localDate(testClock(), ZONE);
const day = (offset: number): string => addDays(today, offset);

const post = (body: unknown, bearer = token) =>
  fhirFetch(`${server.url}/api/coverage/authorizations`, bearer, { method: 'POST', body });

const stored = async (): Promise<ClaimResponse[]> =>
  searchAll<ClaimResponse>(server.running.store, TENANT, 'ClaimResponse');

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn', ...clockEnv() },
    { authorizationLedger: false, ingest: false, chargeCapture: false, claims: false },
    { tenants: [TENANT_CONFIG] },
  );
  const patient: Patient & { id: string } = {
    resourceType: 'Patient',
    id: 'rp1',
    name: [{ family: 'Okafor' }],
  };
  await server.running.store.resources.create(TENANT, patient, { id: patient.id });
  token = await server.token(
    TENANT,
    'system/ClaimResponse.crs system/ChargeItem.rs system/Claim.rs system/Encounter.rs system/Task.rs system/Coverage.rs system/Organization.r',
  );
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('POST /api/coverage/authorizations', () => {
  const good = () => ({
    patient: PATIENT,
    payer: 'comm',
    number: 'AUTH-77',
    start: day(-2),
    end: day(60),
    services: [{ code: 'J1745', units: 40 }],
  });

  test('needs the scope to create ClaimResponses', async () => {
    const readOnly = await server.token(TENANT, 'system/ClaimResponse.rs');
    const answer = await post(good(), readOnly);
    expect(answer.status).toBe(403);
    expect(await stored()).toEqual([]);
  });

  test.each([
    ['no body fields', {}],
    ['an unknown field', { ...good(), note: 'x' }],
    ['a patient that is not a reference', { ...good(), patient: 'rp1' }],
    ['a payer the tenant does not have', { ...good(), payer: 'acme' }],
    ['an empty number', { ...good(), number: '  ' }],
    ['a number with spaces', { ...good(), number: 'AUTH 77' }],
    ['an impossible date', { ...good(), start: '2026-02-30' }],
    ['an end before the start', { ...good(), start: day(5), end: day(1) }],
    ['a code that is not CPT or HCPCS', { ...good(), services: [{ code: 'J17', units: 1 }] }],
    ['units that are not a positive whole number', { ...good(), services: [{ code: 'J1745', units: 1.5 }] }],
    ['zero units', { ...good(), services: [{ code: 'J1745', units: 0 }] }],
    [
      'a code listed twice',
      {
        ...good(),
        services: [
          { code: 'J1745', units: 1 },
          { code: 'j1745', units: 2 },
        ],
      },
    ],
    ['services that are not a list', { ...good(), services: { code: 'J1745' } }],
  ])('refuses %s (400, nothing written)', async (_name, body) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.body.resourceType).toBe('OperationOutcome');
    expect(await stored()).toEqual([]);
  });

  test('an unknown patient is 404', async () => {
    const answer = await post({ ...good(), patient: 'Patient/nobody' });
    expect(answer.status).toBe(404);
    expect(await stored()).toEqual([]);
  });

  test('records it once; the ledger reads its units; another date range under the number is a conflict', async () => {
    const first = await post(good());
    expect(first.status).toBe(201);
    expect(first.body.authorization).toMatch(/^ClaimResponse\/auth-/);
    const ledger = await fhirFetch(`${server.url}/api/coverage/authorizations?patient=${PATIENT}`, token);
    expect(ledger.status).toBe(200);
    const entry = ledger.body.authorizations.find((a: { number: string }) => a.number === 'AUTH-77');
    expect(entry).toMatchObject({ start: day(-2), end: day(60), status: 'active' });
    expect(entry.services).toEqual([expect.objectContaining({ code: 'J1745', authorized: 40, used: 0 })]);

    const again = await post(good());
    expect(again.status).toBe(200);
    expect(again.body.authorization).toBe(first.body.authorization);
    expect(await stored()).toHaveLength(1);

    const other = await post({ ...good(), end: day(90) });
    expect(other.status).toBe(409);
    expect(other.body.resourceType).toBe('OperationOutcome');
    const [only] = await stored();
    expect(only?.preAuthPeriod?.end).toBe(day(60));

    const id = String(first.body.authorization);
    const audits = await searchAll<AuditEvent>(server.running.store, TENANT, 'AuditEvent', [
      { code: 'entity', kind: 'reference', values: [id] },
    ]);
    expect(audits.filter((a) => a.action === 'C')).toHaveLength(1);
    expect(audits[0]?.entity?.some((e) => e.what?.reference === PATIENT)).toBe(true);
  });

  test('without services it authorizes any service in its dates', async () => {
    const answer = await post({
      patient: PATIENT,
      payer: 'comm',
      number: 'ANY-1',
      start: day(0),
      end: day(30),
    });
    expect(answer.status).toBe(201);
    const ledger = await fhirFetch(`${server.url}/api/coverage/authorizations?patient=${PATIENT}`, token);
    const entry = ledger.body.authorizations.find((a: { number: string }) => a.number === 'ANY-1');
    expect(entry).toMatchObject({ anyService: true });
  });
});
