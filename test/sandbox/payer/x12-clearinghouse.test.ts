/**
 * The sandbox X12 payer over real HTTP, with its own credentials at Dripline (a SMART Backend
 * Services client of the tenant): it takes the ready claims of its X12-channel payer as a batch
 * (POST /api/claims/x12-batches, then the file), adjudicates them by its own rules and, after its
 * processing delay, sends the 835 to POST /api/remittance/835 — Dripline posts it (EOB, claim
 * adjudicated, PaymentReconciliation with the PLB). The next round finds nothing new to take.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, ExplanationOfBenefit, PaymentReconciliation } from '@medplum/fhirtypes';
import { buildClaim } from '../../../src/claims/build.ts';
import { claimIdFor } from '../../../src/claims/workflow/identity.ts';
import { claimStateOf } from '../../../src/claims/workflow/state.ts';
import { SYSTEMS } from '../../../src/coding/fhir/extract.ts';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../../../src/contract/canonical.ts';
import { X12Adjudicator } from '../../../src/sandbox/payer/x12/adjudicator.ts';
import { SandboxClearinghouse } from '../../../src/sandbox/payer/x12/clearinghouse.ts';
import { buildPayerTables } from '../../../src/sandbox/payer/tables.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import type { TestServer } from '../../support/harness.ts';
import { startTestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { fixture, payer, PROVIDER } from '../../claims/fixtures.ts';

const TENANT = 'lakeside';
const X12_PAYER: PayerEndpoint = {
  ...payer('commercial'),
  id: 'lakeside-x12',
  name: 'Lakeside Mutual',
  channel: 'x12',
  usage: 'T',
  timelyFilingDays: 3650,
};
/** A second tenant for the test on a moved clock (the fixture's ids are fixed). */
const LATER_TENANT = 'lakeside-later';
const TENANTS = [TENANT, LATER_TENANT].map((id) => ({
  id,
  name: 'Lakeside Infusion',
  timeZone: 'America/New_York',
  connections: [],
  coding: {},
  billing: PROVIDER,
  payers: [X12_PAYER],
}));

let server: TestServer;
/** Dripline's clock, which the clearinghouse shares: the test moves it forward. */
const clock = advancingClock();

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    {
      ingest: false,
      chargeCapture: false,
      claims: false,
      claimWorkflow: { tenants: TENANTS },
      now: clock.now,
    },
  );
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** The fixture's visit and its claim, `ready` for the X12 payer (what the workflow leaves for a batch). */
async function readyClaim(tenant = TENANT): Promise<string> {
  const store = server.running.store;
  const f = fixture('commercial');
  const coverage = {
    ...f.input.coverages[0]!,
    payor: [{ reference: 'Organization/payer-1', identifier: { value: X12_PAYER.payerId } }],
  };
  for (const resource of [
    f.input.patient,
    ...f.input.conditions,
    ...f.input.encounters.map((e) => ({
      ...e,
      type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
    })),
    coverage,
    ...f.input.chargeItems,
  ]) {
    await store.resources.create(tenant, resource, { id: resource.id! });
  }
  const id = claimIdFor(['Encounter/enc-1']);
  const built = buildClaim({ ...f.input, coverages: [coverage], payer: X12_PAYER, id });
  await store.resources.create(
    tenant,
    {
      ...built,
      extension: [
        ...(built.extension ?? []),
        { url: EXT_CLAIM_STATE, valueCode: 'ready' },
        { url: EXT_CLAIM_PAYER, valueString: X12_PAYER.id },
      ],
    },
    { id },
  );
  return id;
}

/** The sandbox X12 payer as the tenant's clearinghouse, on Dripline's clock. */
async function clearinghouseOf(tenant: string, delayMs: number): Promise<SandboxClearinghouse> {
  const client = await server.client(
    tenant,
    'system/Claim.rus system/DocumentReference.cr system/Patient.r system/Coverage.r system/Organization.r ' +
      'system/Practitioner.r system/RelatedPerson.r system/Encounter.r system/Condition.r system/ChargeItem.r ' +
      'system/ExplanationOfBenefit.c system/PaymentReconciliation.c system/MedicationAdministration.r ' +
      'system/Medication.r system/MedicationRequest.r system/Location.r system/ServiceRequest.r',
  );
  return new SandboxClearinghouse({
    driplineUrl: server.url,
    client,
    payers: [{ slug: X12_PAYER.id, payerId: X12_PAYER.payerId, name: X12_PAYER.name }],
    adjudicator: new X12Adjudicator({
      tables: buildPayerTables(),
      payerIds: { [X12_PAYER.payerId]: 'commercial' },
      claimNumberPrefix: 'LKX',
    }),
    payee: { name: PROVIDER.name, npi: PROVIDER.npi },
    now: clock.now,
    timeZone: 'America/New_York',
    delayMs,
    extras: () => ({ providerAdjustments: [{ reason: 'L6', amount: -1.5 }] }),
  });
}

describe('the sandbox X12 payer as a clearinghouse of Dripline', () => {
  test('batch picked up with its own credentials, 835 delivered and posted; nothing twice', async () => {
    const claimId = await readyClaim();
    const clearinghouse = await clearinghouseOf(TENANT, 0);
    await clearinghouse.runOnce();
    expect(clearinghouse.counts()).toEqual({ batches: 1, claims: 1, remittances: 1 });
    expect(clearinghouse.pending()).toBe(0);

    const store = server.running.store;
    const eob = await waitFor('the posted EOB', async () => {
      const found = await searchAll<ExplanationOfBenefit>(store, TENANT, 'ExplanationOfBenefit');
      return found.find((e) => e.claim?.reference === `Claim/${claimId}`);
    });
    const claim = await waitFor('the claim adjudicated', async () => {
      const c = (await store.resources.read(TENANT, 'Claim', claimId)) as Claim;
      return claimStateOf(c) === 'adjudicated' ? c : undefined;
    });
    expect(claim.id).toBe(claimId);
    const [reconciliation] = await searchAll<PaymentReconciliation>(store, TENANT, 'PaymentReconciliation');
    const cents = (x: number | undefined): number => Math.round((x ?? 0) * 100);
    // BPR02 = the claim's payment + the 1.50 interest (PLB L6 −1.50).
    expect(cents(reconciliation?.paymentAmount.value)).toBe(cents(eob.payment?.amount?.value) + 150);
    // The claim payment's detail names the Claim it pays and the EOB it was posted as.
    const payment = reconciliation?.detail?.find((d) => d.type.coding?.[0]?.code === 'payment');
    expect(payment?.request?.reference).toBe(`Claim/${claimId}`);
    expect(payment?.response?.reference).toBe(`ExplanationOfBenefit/${eob.id ?? ''}`);

    // Next round: no ready claim, nothing pending, nothing sent again.
    await clearinghouse.runOnce();
    expect(clearinghouse.counts()).toEqual({ batches: 1, claims: 1, remittances: 1 });
  }, 60_000);

  test("its processing time and its tokens run on Dripline's clock: moved past them, the 835 goes at the next round", async () => {
    const claimId = await readyClaim(LATER_TENANT);
    // Ten minutes of processing: longer than an access token lives (300 s).
    const clearinghouse = await clearinghouseOf(LATER_TENANT, 10 * 60_000);
    await clearinghouse.runOnce();
    expect(clearinghouse.counts()).toEqual({ batches: 1, claims: 1, remittances: 0 });
    expect(clearinghouse.pending()).toBe(1);
    await clearinghouse.runOnce();
    expect(clearinghouse.pending()).toBe(1);
    // The sandbox day's clock skips the wait (src/time/clock.ts): the 835 is due, the token has expired.
    clock.advance(10 * 60_000);
    await clearinghouse.runOnce();
    expect(clearinghouse.counts()).toEqual({ batches: 1, claims: 1, remittances: 1 });
    expect(clearinghouse.pending()).toBe(0);
    const claim = await waitFor('the claim adjudicated', async () => {
      const c = (await server.running.store.resources.read(LATER_TENANT, 'Claim', claimId)) as Claim;
      return claimStateOf(c) === 'adjudicated' ? c : undefined;
    });
    expect(claim.id).toBe(claimId);
  }, 60_000);
});
