/**
 * Eligibility over real HTTP: Dripline (its API, its eligibility worker) asks the sandbox payer as
 * its SMART Backend Services client — by CoverageEligibilityRequest/$submit for the FHIR payers, by
 * a 270 POSTed to the X12 payer's real-time endpoint (a 271 back) — keeps the request, the exact
 * messages and the answer, and raises a work item when the coverage is not in force or the member
 * is unknown. A 271 with a segment no 271 has, or without its IEA, is kept as received and becomes
 * a work item holding an OperationOutcome; nothing else changes. Orders and visits stored through
 * the ingest view of the store start checks in the same transaction (the day before a visit).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  DocumentReference,
  Organization,
  Patient,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { runEligibility } from '../../src/cli/eligibility-command.ts';
import { ID_PAYER_ID } from '../../src/contract/canonical.ts';
import { ELIGIBILITY_QUEUE, eligibilityTaskId, messageText } from '../../src/coverage/eligibility/records.ts';
import { withEligibilityTriggers } from '../../src/coverage/eligibility/store-triggers.ts';
import { findingsOfTask } from '../../src/fhir/work-items.ts';
import { enrollmentFrom } from '../../src/sandbox/payer/eligibility/enrollment.ts';
import { startSandboxPayer } from '../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../src/sandbox/payer/server.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { addDays, localDate, zonedIso } from '../../src/time/zone.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';

const TENANT = 'clinic-e';
const ZONE = 'America/New_York';
let payer: SandboxPayer;
let server: TestServer;
let token: string;
const today = localDate(new Date(), ZONE);
const endedLastWeek = addDays(today, -7);

const PAYERS = [
  { id: 'medicare', name: 'Medicare Part B', payerId: 'SBX-MEDICARE', kind: 'medicare' as const },
  { id: 'commercial', name: 'Acme Commercial', payerId: 'SBX-COMMERCIAL', kind: 'commercial' as const },
  { id: 'medicaid', name: 'State Medicaid', payerId: 'SBX-MEDICAID', kind: 'medicaid' as const },
];

const organizations: Organization[] = PAYERS.map((p) => ({
  resourceType: 'Organization',
  id: `org-${p.id}`,
  name: p.name,
  identifier: [{ system: ID_PAYER_ID, value: p.payerId }],
}));

const patient = (id: string, family: string, given: string, birthDate: string): Patient => ({
  resourceType: 'Patient',
  id,
  name: [{ family, given: [given] }],
  birthDate,
  gender: 'female',
});
const patients = [
  patient('p-medicare', 'Okafor', 'Grace', '1948-03-02'),
  patient('p-ended', 'Lindqvist', 'Maja', '1979-07-21'),
  patient('p-medicaid', 'Reyes', 'Ana', '1990-11-05'),
  patient('p-unknown', 'Novak', 'Eva', '1985-01-30'),
];
const coverage = (id: string, beneficiary: string, payerIdx: number, memberId: string): Coverage => ({
  resourceType: 'Coverage',
  id,
  status: 'active',
  subscriberId: memberId,
  relationship: {
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }],
  },
  beneficiary: { reference: `Patient/${beneficiary}` },
  payor: [{ reference: `Organization/${organizations[payerIdx]?.id ?? ''}` }],
  period: { start: '2020-01-01' },
  order: 1,
});
const coverages = [
  coverage('c-medicare', 'p-medicare', 0, '1EG4TE5MK72'),
  coverage('c-ended', 'p-ended', 1, 'ACM000123'),
  coverage('c-medicaid', 'p-medicaid', 2, 'MCD778899'),
  coverage('c-unknown', 'p-unknown', 2, 'MCD000000'),
];

async function all<T extends Resource>(type: T['resourceType']): Promise<(T & StoredResource)[]> {
  return searchAll<T>(server.running.store, TENANT, type);
}

async function check(patientRef: string): Promise<{ status: number; body: any }> {
  return fhirFetch(`${server.url}/api/eligibility/check`, token, {
    method: 'POST',
    body: { patient: patientRef },
    headers: { 'content-type': 'application/json' },
  });
}

beforeAll(async () => {
  payer = await startSandboxPayer({
    port: 0,
    timeZone: ZONE,
    payerIds: Object.fromEntries(PAYERS.map((p) => [p.payerId, p.kind])),
    members: enrollmentFrom({
      // The payer's roster: p-unknown's coverage is not on it.
      coverages: coverages.filter((c) => c.id !== 'c-unknown'),
      patients,
      organizations,
      payerIdSystem: ID_PAYER_ID,
      ended: [{ coverage: 'c-ended', ended: endedLastWeek }],
    }),
  });
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
  const scope = 'system/Claim.crs system/ClaimResponse.rs system/CoverageEligibilityRequest.c';
  const clientId = await payer.registerClient({ jwks: { keys: [publicJwk] }, scope });
  server = await startTestServer(
    { LOG_LEVEL: 'info' },
    { ingest: false, chargeCapture: false, claims: false, eligibilityWorker: { pollMs: 50 } },
    {
      tenants: [
        {
          id: TENANT,
          name: 'Eligibility clinic',
          timeZone: ZONE,
          billing: {
            name: 'Riverside Infusion',
            npi: '1234567893',
            taxonomy: '261QI0500X',
            taxId: '123456789',
            address: { line: ['1 Main Street'], city: 'Columbus', state: 'OH', postalCode: '432151234' },
          },
          payers: PAYERS.map((p) => ({
            ...p,
            channel: 'fhir',
            fhirBaseUrl: payer.fhirBaseUrl,
            tokenUrl: payer.tokenUrl,
            clientId,
            privateKeyJwk: privateJwk,
            scope: 'system/Claim.crs system/ClaimResponse.rs',
            usage: 'T',
            ...(p.kind === 'medicaid'
              ? { eligibility: { channel: 'x12', url: payer.x12EligibilityUrl, tokenUrl: payer.tokenUrl } }
              : {}),
          })),
        },
      ],
    },
  );
  for (const resource of [...organizations, ...patients, ...coverages]) {
    await server.running.store.resources.create(TENANT, resource, { id: resource.id });
  }
  token = await server.token(
    TENANT,
    'system/CoverageEligibilityRequest.c system/Patient.r system/Coverage.r system/CoverageEligibilityResponse.rs',
  );
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await payer?.stop();
});

describe('on demand (API)', () => {
  test('a FHIR payer: active, with the benefits of the plan; the request, the Bundle sent and the answer are kept', async () => {
    const { status, body } = await check('Patient/p-medicare');
    expect(status).toBe(200);
    expect(body.outcomes).toHaveLength(1);
    const [outcome] = body.outcomes;
    expect(outcome).toMatchObject({ coverage: 'Coverage/c-medicare', payer: 'medicare', state: 'answered' });
    expect(outcome.summary).toMatchObject({ outcome: 'complete', inforce: true, payerId: 'SBX-MEDICARE' });
    expect(outcome.summary.benefits[0]).toMatchObject({ category: '30', coinsurancePercent: 20 });
    expect(outcome.findings).toEqual([]);
    const requestId = outcome.request.split('/')[1];
    const request = await server.running.store.resources.read(
      TENANT,
      'CoverageEligibilityRequest',
      requestId,
    );
    expect((request as CoverageEligibilityRequest).purpose).toEqual(['validation', 'benefits']);
    const sent = (await server.running.store.resources.read(
      TENANT,
      'DocumentReference',
      `${requestId}-sent`,
    )) as DocumentReference;
    const bundle = JSON.parse(messageText(sent)) as { entry: { resource: Resource }[] };
    expect(bundle.entry.map((e) => e.resource.resourceType)).toEqual([
      'CoverageEligibilityRequest',
      'Patient',
      'Coverage',
    ]);
    expect(payer.eligibilityCounts().fhir).toBeGreaterThanOrEqual(1);
  });

  test('coverage the payer ended last week: not in force today → a work item with eligibility-inactive', async () => {
    const { body } = await check('Patient/p-ended');
    const [outcome] = body.outcomes;
    expect(outcome.summary).toMatchObject({ inforce: false, planEnd: endedLastWeek });
    expect(outcome.findings.map((f: { ruleId: string }) => f.ruleId)).toEqual(['eligibility-inactive']);
    const task = (await server.running.store.resources.read(
      TENANT,
      'Task',
      eligibilityTaskId('Coverage/c-ended'),
    )) as Task;
    expect(task.status).toBe('requested');
    expect(task.focus?.reference).toBe('Coverage/c-ended');
    expect(task.for?.reference).toBe('Patient/p-ended');
    expect(findingsOfTask(task).map((f) => f.ruleId)).toEqual(['eligibility-inactive']);
  });

  test('the X12 payer: a 270 goes out, the 271 is read into the same shape (deductible, co-insurance, authorization)', async () => {
    const before = payer.eligibilityCounts().x12;
    const { body } = await check('Patient/p-medicaid');
    const [outcome] = body.outcomes;
    expect(outcome).toMatchObject({ payer: 'medicaid', state: 'answered' });
    expect(outcome.summary).toMatchObject({ outcome: 'complete', inforce: true, payerId: 'SBX-MEDICAID' });
    expect(payer.eligibilityCounts().x12).toBe(before + 1);
    const requestId = outcome.request.split('/')[1];
    const sent = (await server.running.store.resources.read(
      TENANT,
      'DocumentReference',
      `${requestId}-sent`,
    )) as DocumentReference;
    const text270 = messageText(sent);
    expect(text270).toMatch(/^ISA\*/);
    expect(text270).toContain('ST*270*0001*005010X279A1~');
    expect(text270).toContain('NM1*IL*1*REYES*ANA****MI*MCD778899~');
    const answer = (await server.running.store.resources.read(
      TENANT,
      'DocumentReference',
      `${requestId}-answer`,
    )) as DocumentReference;
    expect(messageText(answer)).toContain('ST*271*');
    const response = (await server.running.store.resources.read(
      TENANT,
      'CoverageEligibilityResponse',
      `${requestId}-r`,
    )) as CoverageEligibilityResponse;
    expect(response.insurance?.[0]?.coverage.reference).toBe('Coverage/c-medicaid');
    expect(response.insurance?.[0]?.inforce).toBe(true);
  });

  test('a member the X12 payer does not know (AAA 75) → eligibility-rejected work item', async () => {
    const { body } = await check('Patient/p-unknown');
    const [outcome] = body.outcomes;
    expect(outcome.summary.errors.map((e: { code: string }) => e.code)).toEqual(['75']);
    expect(outcome.findings.map((f: { ruleId: string }) => f.ruleId)).toEqual(['eligibility-rejected']);
  });

  test('the latest answers per coverage, read back (GET), audited', async () => {
    const { status, body } = await fhirFetch(`${server.url}/api/eligibility/Patient/p-medicaid`, token);
    expect(status).toBe(200);
    expect(body.coverages).toEqual([
      expect.objectContaining({ coverage: 'Coverage/c-medicaid', inforce: true }),
    ]);
  });

  test('bad input: no patient, a malformed reference, an unknown patient, no token, a scope that does not grant it', async () => {
    const noPatient = await fhirFetch(`${server.url}/api/eligibility/check`, token, {
      method: 'POST',
      body: {},
      headers: { 'content-type': 'application/json' },
    });
    expect(noPatient.status).toBe(400);
    expect(noPatient.body.resourceType).toBe('OperationOutcome');
    expect((await check('Coverage/c-medicare')).status).toBe(400);
    expect((await check('Patient/nobody')).status).toBe(404);
    const anonymous = await fhirFetch(`${server.url}/api/eligibility/check`, undefined, {
      method: 'POST',
      body: { patient: 'Patient/p-medicare' },
    });
    expect(anonymous.status).toBe(401);
    const readOnly = await server.token(TENANT, 'system/Patient.r');
    const refused = await fhirFetch(`${server.url}/api/eligibility/check`, readOnly, {
      method: 'POST',
      body: { patient: 'Patient/p-medicare' },
      headers: { 'content-type': 'application/json' },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.resourceType).toBe('OperationOutcome');
  });
});

describe('command line', () => {
  test('npm run cli -- eligibility <patient> --client <file>: what each payer said, and the findings', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dripline-elig-cli-'));
    try {
      const file = path.join(dir, 'client.json');
      const client = await server.client(
        TENANT,
        'system/CoverageEligibilityRequest.c system/Patient.r system/Coverage.r system/CoverageEligibilityResponse.rs',
      );
      writeFileSync(file, JSON.stringify(client));
      const text = await runEligibility(['p-ended', '--client', file]);
      expect(text).toContain('Coverage/c-ended (commercial): NOT ACTIVE');
      expect(text).toContain(`to ${endedLastWeek}`);
      expect(text).toContain('ERROR eligibility-inactive');
      const active = await runEligibility(['Patient/p-medicare', '--client', file]);
      expect(active).toMatch(/Coverage\/c-medicare \(medicare\): ACTIVE/);
      expect(active).toContain('co-insurance 20%');
      await expect(runEligibility(['--client', file])).rejects.toThrow(/patient/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a 271 that cannot be read', () => {
  test.each(['unknown-segment', 'broken-envelope'] as const)(
    '%s: kept as received, a work item with an OperationOutcome, the earlier answer untouched',
    async (garble) => {
      const responsesBefore = (await all<CoverageEligibilityResponse>('CoverageEligibilityResponse')).length;
      payer.setBehaviour({ garbleEligibility: garble });
      try {
        const { status, body } = await check('Patient/p-medicaid');
        expect(status).toBe(200);
        const [outcome] = body.outcomes;
        expect(outcome.state).toBe('invalid');
        expect(outcome.findings.map((f: { ruleId: string }) => f.ruleId)).toEqual([
          'eligibility-answer-invalid',
        ]);
        const requestId = outcome.request.split('/')[1];
        const kept = (await server.running.store.resources.read(
          TENANT,
          'DocumentReference',
          `${requestId}-answer`,
        )) as DocumentReference;
        expect(messageText(kept)).toContain('ST*271');
        const task = (await server.running.store.resources.read(
          TENANT,
          'Task',
          eligibilityTaskId('Coverage/c-medicaid'),
        )) as Task;
        expect(task.status).toBe('requested');
        const contained = task.contained?.[0];
        expect(contained?.resourceType).toBe('OperationOutcome');
        expect(JSON.stringify(contained)).toMatch(garble === 'unknown-segment' ? /ZZQ/ : /IEA|end/);
        expect((await all<CoverageEligibilityResponse>('CoverageEligibilityResponse')).length).toBe(
          responsesBefore,
        );
      } finally {
        payer.setBehaviour({});
      }
    },
  );

  test('the next good answer completes the work item', async () => {
    const { body } = await check('Patient/p-medicaid');
    expect(body.outcomes[0].state).toBe('answered');
    const task = (await server.running.store.resources.read(
      TENANT,
      'Task',
      eligibilityTaskId('Coverage/c-medicaid'),
    )) as Task;
    expect(task.status).toBe('completed');
  });
});

describe('triggers', () => {
  test('an order stored by ingest starts a check in its own transaction; a fresh answer is not asked again', async () => {
    const tenants = () => server.config.tenants;
    const ingestStore = withEligibilityTriggers(
      server.running.store,
      tenants,
      () => new Date(),
      () => server.running.eligibility.notify(),
    );
    const fhirBefore = payer.eligibilityCounts().fhir;
    await ingestStore.resources.writeBatch(TENANT, [
      {
        op: 'create',
        resource: {
          resourceType: 'MedicationRequest',
          id: 'mr-1',
          status: 'active',
          intent: 'order',
          subject: { reference: 'Patient/p-medicare' },
          medicationCodeableConcept: { text: 'infliximab' },
        },
        options: { id: 'mr-1' },
      },
    ]);
    const job = await waitFor('the order job done', async () => {
      const done = await server.running.store.jobs.listJobs(TENANT, ELIGIBILITY_QUEUE, 'done', 100);
      return done.find((j) => j.key.includes('MedicationRequest/mr-1'));
    });
    expect(job.payload).toMatchObject({ patient: 'Patient/p-medicare', mode: 'if-stale' });
    // Answered minutes ago (the first test): fresh within 30 days, so the payer was not asked again.
    expect(payer.eligibilityCounts().fhir).toBe(fhirBefore);
  });

  test('a visit planned in three days: a pre-visit check queued for 06:00 the day before, in the tenant zone', async () => {
    const tenants = () => server.config.tenants;
    const ingestStore = withEligibilityTriggers(server.running.store, tenants, () => new Date());
    const visit = addDays(today, 3);
    await ingestStore.resources.writeBatch(TENANT, [
      {
        op: 'create',
        resource: {
          resourceType: 'Encounter',
          id: 'enc-planned',
          status: 'planned',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: 'Patient/p-ended' },
          period: { start: zonedIso(visit, 9 * 60, ZONE) },
        },
        options: { id: 'enc-planned' },
      },
    ]);
    const ready = await server.running.store.jobs.listJobs(TENANT, ELIGIBILITY_QUEUE, 'ready', 100);
    const job = ready.find((j) => j.key === `pre-visit|Encounter/enc-planned|${visit}`);
    expect(job?.payload).toMatchObject({ mode: 'pre-visit', visitDate: visit, patient: 'Patient/p-ended' });
    expect(Date.parse(job?.runAt ?? '')).toBe(Date.parse(zonedIso(addDays(visit, -1), 6 * 60, ZONE)));
  });
});
