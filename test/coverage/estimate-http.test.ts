/**
 * The patient estimate served: `GET|POST /api/coverage/estimate` over real HTTP and the CLI's
 * `estimate <subject>`, on a tenant with a payer contract (fee schedule) and the latest eligibility
 * answers on file. Figures are computed by hand in each test's comment: contract price per line
 * (else the chargemaster's gross charge), then co-payment once, the deductible left, co-insurance
 * on the rest, capped at the out-of-pocket maximum left. Bad input is a 4xx OperationOutcome.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  AuditEvent,
  ChargeItem,
  CoverageEligibilityResponseInsuranceItem,
  ExplanationOfBenefit,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';
import { runEstimate } from '../../src/cli/estimate-command.ts';
import { ID_PAYER_ID } from '../../src/contract/canonical.ts';
import { EXT_ESTIMATE_BASIS } from '../../src/contract/eligibility.ts';
import { X12_CODE_SYSTEMS } from '../../src/coverage/eligibility/code-systems.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { localDate } from '../../src/time/zone.ts';
import { clockEnv, testClock } from '../support/clock.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';

const TENANT = 'estimate-a';
const ZONE = 'America/Chicago';
const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
const SCOPE =
  'system/ExplanationOfBenefit.r system/ChargeItem.rs system/Coverage.rs system/Organization.r ' +
  'system/CoverageEligibilityRequest.rs system/CoverageEligibilityResponse.rs system/Encounter.r ' +
  'system/MedicationRequest.r system/Medication.r system/ServiceRequest.r';

let server: TestServer;
let token: string;
let today: string;

async function put(resource: Resource & { id: string }): Promise<void> {
  await server.running.store.resources.create(TENANT, resource, { id: resource.id });
}

const money = (value: number) => ({ value, currency: 'USD' as const });
type Benefit = { kind: string; money?: number; used?: number; percent?: number; remaining?: boolean };
function item(category: string, benefits: Benefit[]): CoverageEligibilityResponseInsuranceItem[] {
  return benefits.map((b) => ({
    category: { coding: [{ system: X12_CODE_SYSTEMS.serviceType, code: category }] },
    ...(b.remaining ? { term: { coding: [{ system: X12_CODE_SYSTEMS.timePeriod, code: '29' }] } } : {}),
    benefit: [
      {
        type: { coding: [{ system: X12_CODE_SYSTEMS.benefit, code: b.kind }] },
        ...(b.money !== undefined ? { allowedMoney: money(b.money) } : {}),
        ...(b.used !== undefined ? { usedMoney: money(b.used) } : {}),
        ...(b.percent !== undefined ? { allowedUnsignedInt: b.percent } : {}),
      },
    ],
  }));
}

/** A patient with a coverage at Acme and the eligibility request and answer on file. */
async function insured(id: string, items: CoverageEligibilityResponseInsuranceItem[]): Promise<void> {
  await put({ resourceType: 'Patient', id, name: [{ family: 'Estimate', given: [id] }] });
  await put({
    resourceType: 'Coverage',
    id: `cov-${id}`,
    status: 'active',
    beneficiary: { reference: `Patient/${id}` },
    payor: [{ reference: 'Organization/org-acme' }],
    subscriberId: `M-${id}`,
  });
  await put({
    resourceType: 'CoverageEligibilityRequest',
    id: `cer-${id}`,
    status: 'active',
    purpose: ['benefits'],
    patient: { reference: `Patient/${id}` },
    created: `${today}T08:00:00-06:00`,
    insurer: { display: 'Acme Health' },
    insurance: [{ coverage: { reference: `Coverage/cov-${id}` } }],
  });
  await put({
    resourceType: 'CoverageEligibilityResponse',
    id: `ans-${id}`,
    status: 'active',
    purpose: ['benefits'],
    patient: { reference: `Patient/${id}` },
    created: `${today}T08:00:05-06:00`,
    request: { reference: `CoverageEligibilityRequest/cer-${id}` },
    outcome: 'complete',
    insurer: { display: 'Acme Health' },
    insurance: [{ coverage: { reference: `Coverage/cov-${id}` }, inforce: true, item: items }],
  });
}

function charge(
  id: string,
  encounter: string,
  patient: string,
  code: string,
  units: number,
): ChargeItem & {
  id: string;
} {
  return {
    resourceType: 'ChargeItem',
    id,
    status: 'billable',
    code: { coding: [{ system: HCPCS, code }] },
    subject: { reference: `Patient/${patient}` },
    context: { reference: `Encounter/${encounter}` },
    occurrenceDateTime: `${today}T10:00:00-06:00`,
    quantity: { value: units },
  };
}

async function encounter(id: string, patient: string): Promise<void> {
  await put({
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${patient}` },
    period: { start: `${today}T09:00:00-06:00`, end: `${today}T12:00:00-06:00` },
  });
}

async function estimate(subject: string, as = token): Promise<{ status: number; body: any }> {
  return fhirFetch(`${server.url}/api/coverage/estimate?subject=${encodeURIComponent(subject)}`, as);
}

const adjudication = (eob: ExplanationOfBenefit, sequence: number, text: string) =>
  eob.item?.find((i) => i.sequence === sequence)?.adjudication?.find((a) => a.category.text === text);
const totals = (eob: ExplanationOfBenefit) => eob.total?.map((t) => t.amount.value);

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dripline-estimate-'));
  const contracts = path.join(dir, 'contracts.json');
  writeFileSync(
    contracts,
    JSON.stringify({
      title: 'Estimate test contracts',
      contracts: [
        {
          id: 'acme-2026',
          payer: 'acme',
          name: 'Acme PPO',
          effective: '2020-01-01',
          source: 'Acme agreement §3 (test)',
          terms: [{ id: 'fees', kind: 'fee-schedule', rates: { '96413': 150, J9312: 90, J1745: 30 } }],
        },
      ],
    }),
  );
  server = await startTestServer(
    { LOG_LEVEL: 'warn', ...clockEnv() },
    { ingest: false, chargeCapture: false, claims: false, eligibility: false, authorizationLedger: false },
    {
      tenants: [
        {
          id: TENANT,
          name: 'Estimate clinic',
          timeZone: ZONE,
          billing: {
            name: 'Riverside Infusion',
            npi: '1234567893',
            taxonomy: '261QI0500X',
            taxId: '123456789',
            address: { line: ['1 Main Street'], city: 'Columbus', state: 'OH', postalCode: '432151234' },
          },
          payers: [
            { id: 'acme', name: 'Acme Health', payerId: 'ACME1', kind: 'commercial', channel: 'fhir' },
          ],
          contracts: { file: contracts },
        },
      ],
    },
  );
  today = localDate(testClock(), ZONE);
  token = await server.token(TENANT, SCOPE);
  await put({
    resourceType: 'Organization',
    id: 'org-acme',
    name: 'Acme Health',
    identifier: [{ system: ID_PAYER_ID, value: 'ACME1' }],
  });
  // p-ded: deductible $1,500 with $1,100 met ($400 left), 20 % co-insurance.
  await insured('p-ded', [
    ...item('30', [
      { kind: 'C', money: 1500, used: 1100 },
      { kind: 'A', percent: 20 },
    ]),
  ]);
  await encounter('e-ded', 'p-ded');
  await put(charge('ch-1', 'e-ded', 'p-ded', '96413', 1));
  await put(charge('ch-2', 'e-ded', 'p-ded', 'J9312', 10));
  // p-oop: $25 co-payment, deductible met, 20 % co-insurance, $100 out-of-pocket left.
  await insured('p-oop', [
    ...item('30', [
      { kind: 'B', money: 25 },
      { kind: 'C', money: 0, remaining: true },
      { kind: 'A', percent: 20 },
      { kind: 'G', money: 100, remaining: true },
    ]),
  ]);
  await encounter('e-oop', 'p-oop');
  await put(charge('ch-3', 'e-oop', 'p-oop', '96413', 1));
  await put(charge('ch-4', 'e-oop', 'p-oop', 'J9312', 10));
  // p-chemo: general 20 % with the deductible met; chemotherapy (78) 10 %.
  await insured('p-chemo', [
    ...item('30', [
      { kind: 'C', money: 0, remaining: true },
      { kind: 'A', percent: 20 },
    ]),
    ...item('78', [{ kind: 'A', percent: 10 }]),
  ]);
  await put({
    resourceType: 'MedicationRequest',
    id: 'mr-1',
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p-chemo' },
    medicationCodeableConcept: { coding: [{ system: HCPCS, code: 'J1745' }], text: 'infliximab' },
    dosageInstruction: [{ doseAndRate: [{ doseQuantity: { value: 400, unit: 'mg', code: 'mg' } }] }],
  });
  // A home hydration order the contract does not price: the chargemaster's gross charge.
  const hydration: ServiceRequest & { id: string } = {
    resourceType: 'ServiceRequest',
    id: 'sr-1',
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p-ded' },
    code: { coding: [{ system: HCPCS, code: '96360' }] },
    quantityQuantity: { value: 2 },
  };
  await put(hydration);
  // Known to the store but with no eligibility answer on file.
  await put({ resourceType: 'Patient', id: 'p-none', name: [{ family: 'None' }] });
  await put({
    resourceType: 'Coverage',
    id: 'cov-none',
    status: 'active',
    beneficiary: { reference: 'Patient/p-none' },
    payor: [{ reference: 'Organization/org-acme' }],
  });
  await encounter('e-none', 'p-none');
  await put(charge('ch-5', 'e-none', 'p-none', '96413', 1));
  await encounter('e-uncoded', 'p-ded');
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('GET /api/coverage/estimate', () => {
  test('deductible partly met: $400 left then 20 % co-insurance, priced by the payer contract', async () => {
    // 96413 $150 (contract): deductible 150, co-insurance 0 → 150; $250 of the deductible left.
    // J9312 10 × $90 = $900: deductible 250, co-insurance 20 % of 650 = 130 → 380. Patient 530.
    const { status, body } = await estimate('Encounter/e-ded');
    expect(status).toBe(200);
    const eob = body as ExplanationOfBenefit;
    expect(eob.resourceType).toBe('ExplanationOfBenefit');
    expect(eob.use).toBe('predetermination');
    expect(eob.patient.reference).toBe('Patient/p-ded');
    expect(eob.insurance?.[0]?.coverage.reference).toBe('Coverage/cov-p-ded');
    expect(totals(eob)).toEqual([1050, 530]);
    expect(adjudication(eob, 1, 'deductible')?.amount?.value).toBe(150);
    expect(adjudication(eob, 2, 'deductible')?.amount?.value).toBe(250);
    expect(adjudication(eob, 2, 'co-insurance')?.amount?.value).toBe(130);
    // Every figure names its input: the contract term, the eligibility answer.
    const allowedBasis = adjudication(eob, 2, 'expected allowed amount')?.extension?.find(
      (e) => e.url === EXT_ESTIMATE_BASIS,
    )?.valueString;
    expect(allowedBasis).toContain('contract "acme-2026" term "fees"');
    expect(adjudication(eob, 2, 'deductible')?.extension?.[0]?.valueString).toContain(
      'CoverageEligibilityResponse/ans-p-ded',
    );
    expect(eob.item?.[0]?.productOrService.coding?.[0]?.system).toBe('http://www.ama-assn.org/go/cpt');
  });

  test('a co-payment once per visit and the out-of-pocket maximum left capping the total', async () => {
    // 96413 $150: co-pay 25, co-insurance 20 % of 125 = 25 → 50. J9312 $900: 20 % = 180, but only
    // $50 of the $100 out-of-pocket maximum is left → 50. Patient 100.
    const { status, body } = await estimate('Encounter/e-oop');
    expect(status).toBe(200);
    const eob = body as ExplanationOfBenefit;
    expect(adjudication(eob, 1, 'co-payment')?.amount?.value).toBe(25);
    expect(adjudication(eob, 2, 'co-payment')?.amount?.value).toBe(0);
    expect(adjudication(eob, 1, 'patient share')?.amount?.value).toBe(50);
    expect(adjudication(eob, 2, 'patient share')?.amount?.value).toBe(50);
    expect(totals(eob)).toEqual([1050, 100]);
  });

  test('an order: the drug by the coding engine (400 mg = 40 units of J1745), chemotherapy benefits first', async () => {
    // 40 × $30 = $1,200; deductible met; service type 78's 10 % (not 30's 20 %) → 120.
    const { status, body } = await estimate('MedicationRequest/mr-1');
    expect(status).toBe(200);
    const eob = body as ExplanationOfBenefit;
    expect(eob.item?.[0]?.productOrService.coding?.[0]?.code).toBe('J1745');
    expect(eob.item?.[0]?.quantity?.value).toBe(40);
    expect(totals(eob)).toEqual([1200, 120]);
    expect(adjudication(eob, 1, 'co-insurance')?.extension?.[0]?.valueString).toContain('service type 78');
  });

  test('POST with a ServiceRequest the contract does not price: the chargemaster, named as such', async () => {
    // 96360 × 2 at the shipped chargemaster's $250 = $500: all of it within the $400 deductible
    // left → 400, then 20 % of 100 = 20. Patient 420.
    const { status, body } = await fhirFetch(`${server.url}/api/coverage/estimate`, token, {
      method: 'POST',
      body: { subject: 'ServiceRequest/sr-1' },
      headers: { 'content-type': 'application/json' },
    });
    expect(status).toBe(200);
    const eob = body as ExplanationOfBenefit;
    expect(totals(eob)).toEqual([500, 420]);
    expect(adjudication(eob, 1, 'expected allowed amount')?.extension?.[0]?.valueString).toMatch(
      /^chargemaster .*no payer contract prices 96360/,
    );
  });

  test('the read is audited with the patient and every input', async () => {
    expect((await estimate('Encounter/e-ded')).status).toBe(200);
    const audits = await searchAll<AuditEvent>(server.running.store, TENANT, 'AuditEvent', []);
    const audit = audits.find((a) =>
      a.entity?.some(
        (e) =>
          e.query &&
          Buffer.from(e.query, 'base64').toString().includes('api/coverage/estimate?subject=Encounter/e-ded'),
      ),
    );
    const what = (audit?.entity ?? []).map((e) => e.what?.reference);
    expect(what).toEqual(
      expect.arrayContaining([
        'Patient/p-ded',
        'Encounter/e-ded',
        'ChargeItem/ch-1',
        'Coverage/cov-p-ded',
        'CoverageEligibilityResponse/ans-p-ded',
      ]),
    );
  });

  test('bad input is a 4xx OperationOutcome; missing scopes 403; another tenant sees nothing', async () => {
    const cases: [string, number][] = [
      ['', 400],
      ['subject=', 400],
      ['subject=Patient%2Fp-ded', 400],
      ['subject=Encounter%2Fa%2Fb', 400],
      ['subject=Encounter%2Fe-ded&count=2', 400],
      ['subject=Encounter%2Fnope', 404],
      ['subject=Encounter%2Fe-none', 422],
      ['subject=Encounter%2Fe-uncoded', 422],
    ];
    for (const [query, expected] of cases) {
      const { status, body } = await fhirFetch(`${server.url}/api/coverage/estimate?${query}`, token);
      expect([query, status]).toEqual([query, expected]);
      expect(body.resourceType).toBe('OperationOutcome');
    }
    const none = await estimate('Encounter/e-none');
    expect(none.body.issue[0].details.text).toMatch(/No eligibility answer on file/);
    for (const body of [{}, { subject: 42 }, { subject: 'Encounter/e-ded', extra: 1 }, []]) {
      const posted = await fhirFetch(`${server.url}/api/coverage/estimate`, token, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(posted.status).toBe(400);
      expect(posted.body.resourceType).toBe('OperationOutcome');
    }
    const narrow = await server.token(TENANT, 'system/Encounter.r');
    const refused = await estimate('Encounter/e-ded', narrow);
    expect(refused.status).toBe(403);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    expect(
      (await fhirFetch(`${server.url}/api/coverage/estimate?subject=Encounter%2Fe-ded`, '')).status,
    ).toBe(401);
    const other = await server.token('clinic-b', SCOPE);
    expect((await estimate('Encounter/e-ded', other)).status).toBe(404);
  });
});

describe('command line', () => {
  test('npm run cli -- estimate <subject> --client <file>: lines, shares, totals and their inputs', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dripline-estimate-cli-'));
    try {
      const file = path.join(dir, 'client.json');
      writeFileSync(file, JSON.stringify(await server.client(TENANT, SCOPE)));
      const text = await runEstimate(['Encounter/e-ded', '--client', file]);
      expect(text).toContain('2. J9312 × 10');
      expect(text).toContain('deductible $250.00');
      expect(text).toContain('total patient share: $530.00');
      expect(text).toContain('contract "acme-2026"');
      const json = JSON.parse(
        await runEstimate(['Encounter/e-oop', '--client', file, '--json']),
      ) as ExplanationOfBenefit;
      expect(totals(json)).toEqual([1050, 100]);
      await expect(runEstimate(['--client', file])).rejects.toThrow(/estimate needs/);
      await expect(runEstimate(['Encounter/nope', '--client', file])).rejects.toThrow(/404/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
