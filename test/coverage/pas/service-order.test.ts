/**
 * Service orders (hydration, home nursing) start prior authorization like drug orders: the ingest
 * hook queues a ServiceRequest copy, the plan asks for its HCPCS/CPT code when the payer's rule
 * names it (quantity and period as ordered), and the request bundle carries the order as a PAS
 * ServiceRequest that the item's requestedService points at, valid against the PAS profiles.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Bundle, Claim, ServiceRequest } from '@medplum/fhirtypes';
import type { TenantConfig } from '../../../src/config/config.ts';
import { loadCodingTables } from '../../../src/coding/tables/load.ts';
import { PAS_EXT, PAS_PROFILE } from '../../../src/contract/pas.ts';
import { parsePriorAuthTable } from '../../../src/coverage/pas/auth-rules.ts';
import { priorAuthJobsFor } from '../../../src/coverage/pas/jobs.ts';
import { planOrder } from '../../../src/coverage/pas/order-plan.ts';
import { validatePasRequestBundle } from '../../../src/coverage/pas/profiles.ts';
import { buildPasRequest } from '../../../src/coverage/pas/request-bundle.ts';
import { openSqliteStore } from '../../../src/store/sqlite/index.ts';
import type { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { billing, coverage, FHIR_BASE, orderer, patient } from './fixtures.ts';

const TENANT = 'clinic-s';
const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
let dir: string;
let store: SqliteStore;

const tenant = {
  id: TENANT,
  name: 'Service clinic',
  timeZone: 'America/New_York',
  billing,
  payers: [
    {
      id: 'buckeye',
      name: 'Buckeye Health Plan',
      payerId: 'BHP01',
      kind: 'commercial',
      channel: 'fhir',
      pas: {
        fhirBaseUrl: 'http://payer.test/fhir',
        subscription: 'auto',
        inquireMinutes: 240,
        courseDays: 180,
      },
    },
  ],
} as unknown as TenantConfig;

// The payer's rule names home hydration (S9373) and skilled nursing visits (99601, CPT).
const priorAuth = parsePriorAuthTable({
  effective: '2025-01-01',
  payers: {
    medicare: { therapyClasses: [], hcpcs: [], exempt: [], verification: 'UNVERIFIED' },
    medicaid: { therapyClasses: [], hcpcs: [], exempt: [], verification: 'UNVERIFIED' },
    commercial: { therapyClasses: [], hcpcs: [], exempt: [], verification: 'UNVERIFIED' },
  },
  byPayer: [
    {
      payerId: 'BHP01',
      effective: '2025-01-01',
      hcpcs: ['S9373', '99601'],
      therapyClasses: [],
      verification: 'UNVERIFIED',
    },
  ],
});

const hydration: ServiceRequest & { id: string } = {
  resourceType: 'ServiceRequest',
  id: 'sr-hydration',
  status: 'active',
  intent: 'order',
  code: { coding: [{ system: HCPCS, code: 'S9373' }], text: 'home hydration therapy per diem' },
  quantityQuantity: { value: 5, unit: 'days' },
  occurrencePeriod: { start: '2026-12-07', end: '2026-12-11' },
  subject: { reference: 'Patient/pat-1' },
  authoredOn: '2026-12-03T09:00:00-05:00',
  requester: { reference: 'Practitioner/prac-1' },
  reasonCode: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E86.0' }] }],
};
const labs: ServiceRequest & { id: string } = {
  ...hydration,
  id: 'sr-lab',
  code: { coding: [{ system: HCPCS, code: 'G0471' }] },
};

const deps = () => ({
  store,
  tenant,
  tables: loadCodingTables(),
  priorAuth,
  now: () => new Date('2026-12-04T15:00:00Z'),
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-service-order-'));
  store = await openSqliteStore({ path: path.join(dir, 'store.sqlite') });
  for (const r of [
    patient,
    { ...coverage, payor: [{ reference: 'Organization/payer-1' }] },
    {
      resourceType: 'Organization',
      id: 'payer-1',
      name: 'Buckeye Health Plan',
      identifier: [{ system: 'https://ehr.test/sid/payer-id', value: 'BHP01' }],
    },
    orderer,
    hydration,
    labs,
  ] as const) {
    const { meta: _meta, ...plain } = r as typeof r & { meta?: unknown };
    await store.resources.create(TENANT, plain as never, { id: r.id });
  }
});

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a ServiceRequest from the EHR', () => {
  test('its copy queues a prior authorization job naming its type', () => {
    const [op] = priorAuthJobsFor({ ...hydration, meta: { versionId: '2' } });
    expect(op).toMatchObject({
      op: 'enqueue',
      job: {
        key: 'order|ServiceRequest/sr-hydration|2',
        payload: { kind: 'order', order: 'sr-hydration', orderType: 'ServiceRequest' },
      },
    });
  });

  test('the payer’s rule names its code: a request for the code, units and period as ordered', async () => {
    const plan = await planOrder(deps(), 'sr-hydration', 'ServiceRequest');
    expect(plan.kind).toBe('request');
    if (plan.kind !== 'request') {
      return;
    }
    expect(plan.services).toEqual([
      expect.objectContaining({
        code: 'S9373',
        codeSystem: 'hcpcs',
        units: 5,
        start: '2026-12-07',
        end: '2026-12-11',
      }),
    ]);
    expect(plan.diagnoses).toEqual(['E86.0']);
    expect(plan.source).toMatch(/^ServiceRequest\/sr-hydration\/_history\//);
  });

  test('a code the rule does not name needs no request', async () => {
    const plan = await planOrder(deps(), 'sr-lab', 'ServiceRequest');
    expect(plan).toMatchObject({ kind: 'not-needed' });
    expect((plan as { reason: string }).reason).toContain('G0471 needs no authorization');
  });

  test('the request bundle carries the order as a PAS ServiceRequest and validates against the PAS profiles', async () => {
    const plan = await planOrder(deps(), 'sr-hydration', 'ServiceRequest');
    if (plan.kind !== 'request') {
      throw new Error(plan.kind);
    }
    const bundle: Bundle = buildPasRequest({
      fhirBase: FHIR_BASE,
      tenant: TENANT,
      claimId: 'pas-sr-1',
      transactionId: 'pas-sr-1',
      trace: 'PA0000777',
      now: '2026-12-04T15:00:00Z',
      claimType: plan.claimType,
      parties: plan.parties,
      transmission: {
        applicationSenderCode: 'DRIPLINE',
        applicationReceiverCode: 'BHP01',
        interchangeSenderId: billing.npi,
        interchangeReceiverId: 'BHP01',
      },
      diagnoses: plan.diagnoses,
      services: plan.services,
      doses: plan.doses,
    });
    expect(validatePasRequestBundle(bundle)).toBeUndefined();
    const order = bundle.entry?.find((e) => e.resource?.resourceType === 'ServiceRequest');
    expect(order?.resource?.meta?.profile).toEqual([PAS_PROFILE.serviceRequest]);
    expect((order?.resource as ServiceRequest).quantityQuantity).toEqual({ value: 5, unit: 'days' });
    const claim = bundle.entry?.find((e) => e.resource?.resourceType === 'Claim')?.resource as Claim;
    const requested = claim.item?.[0]?.extension?.find((x) => x.url === PAS_EXT.requestedService);
    expect(requested?.valueReference?.reference).toBe('ServiceRequest/sr-hydration');
    expect(order?.fullUrl).toBe(`${FHIR_BASE}/ServiceRequest/sr-hydration`);
    expect(claim.item?.[0]?.productOrService.coding?.[0]?.code).toBe('S9373');
  });
});
