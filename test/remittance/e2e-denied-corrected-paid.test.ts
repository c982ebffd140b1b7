/**
 * Issue 14's end-to-end proof over real HTTP: a claim goes to the sandbox X12 payer as an 837
 * (picked up by its clearinghouse with its own credentials), the payer denies the drug line CO-197
 * (no prior authorization) on its 835 → Dripline posts the EOB and opens a denial work item in the
 * authorization queue → a biller records the authorization (`POST /api/coverage/authorizations`)
 * and asks for the corrected claim (`POST /api/remittance/work-items/{id}/correct`) → the claim
 * workflow takes the original over, charge capture recomputes its encounter, the corrected claim
 * (frequency 7, the payer's claim number, the authorization) is built, scrubbed and batched → the
 * payer pays it on the next 835 (reversing the original's payment) → the work item ends
 * `resolved-paid` with the chain linked; the lines paid below the tenant's contract are an
 * underpayment item, and the PaymentReconciliations add up to what the corrected claim was paid.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, ExplanationOfBenefit, PaymentReconciliation } from '@medplum/fhirtypes';
import { buildClaim } from '../../src/claims/build.ts';
import { claimIdFor, correctionIdFor } from '../../src/claims/workflow/identity.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import type { PayerEndpoint } from '../../src/config/billing.ts';
import {
  EXT_CLAIM_FREQUENCY,
  EXT_CLAIM_PAYER,
  EXT_CLAIM_REPLACED_BY,
  EXT_CLAIM_STATE,
} from '../../src/contract/canonical.ts';
import { remittanceFigures } from '../../src/sandbox/day-remittance.ts';
import { X12Adjudicator } from '../../src/sandbox/payer/x12/adjudicator.ts';
import { SandboxClearinghouse } from '../../src/sandbox/payer/x12/clearinghouse.ts';
import { buildPayerTables } from '../../src/sandbox/payer/tables.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { addDays, localDate } from '../../src/time/zone.ts';
import type { TestServer } from '../support/harness.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { fixture, payer, PROVIDER } from '../claims/fixtures.ts';

const TENANT = 'lakeside';
const ZONE = 'America/New_York';
const X12_PAYER: PayerEndpoint = {
  ...payer('commercial'),
  id: 'lakeside-x12',
  name: 'Lakeside Mutual',
  channel: 'x12',
  usage: 'T',
  timelyFilingDays: 3650,
};
/**
 * The tenant's contract with the payer: the infusion codes at a fee schedule well above what the
 * sandbox payer allows, so every paid administration line is an underpayment.
 */
const contractsDir = mkdtempSync(path.join(tmpdir(), 'dripline-e2e-contracts-'));
const CONTRACTS_FILE = path.join(contractsDir, 'contracts.json');
writeFileSync(
  CONTRACTS_FILE,
  JSON.stringify({
    title: 'Lakeside contracts',
    contracts: [
      {
        id: 'lakeside-mutual-ppo',
        payer: 'lakeside-x12',
        name: 'Lakeside Mutual PPO',
        effective: '2020-01-01',
        source: 'Agreement Exhibit A (test)',
        terms: [{ id: 'infusion', kind: 'fee-schedule', rates: { '96365': 900, '96366': 300 } }],
      },
    ],
  }),
);
const TENANTS = [
  {
    id: TENANT,
    name: 'Lakeside Infusion',
    timeZone: ZONE,
    connections: [],
    coding: {},
    billing: PROVIDER,
    payers: [X12_PAYER],
    contracts: { file: CONTRACTS_FILE, underpaymentTolerance: { amount: 1, percent: 1 } },
  },
];
/** The fixture's visit moved to a week ago in the tenant's zone (the payer denies stale claims CO-29). */
const FIXTURE_DOS = '2025-03-10';
const DOS = addDays(localDate(new Date(), ZONE), -7);
const ENCOUNTERS = ['Encounter/enc-1'];
const ORIGINAL = claimIdFor(ENCOUNTERS);
const CORRECTED = correctionIdFor(ENCOUNTERS, ORIGINAL);

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'warn' },
    {
      ingest: false,
      chargeCapture: true,
      claims: true,
      claimWorkflow: { tenants: TENANTS, holdMs: 0, sweepMs: 200, pollMs: 100 },
    },
  );
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(contractsDir, { recursive: true, force: true });
});

/**
 * The fixture's visit (its administration, charges and coverage, no authorization on the claim)
 * and its claim, `ready` for the X12 payer. The claim is stored first, so the workflow's sweep
 * never sees the visit unbilled.
 */
async function seedReadyClaim(): Promise<void> {
  const store = server.running.store;
  const f = JSON.parse(JSON.stringify(fixture('commercial')).replaceAll(FIXTURE_DOS, DOS)) as ReturnType<
    typeof fixture
  >;
  const coverage = {
    ...f.input.coverages[0]!,
    payor: [{ reference: 'Organization/payer-1', identifier: { value: X12_PAYER.payerId } }],
  };
  const encounters = f.input.encounters.map((e) => ({
    ...e,
    type: [{ coding: [{ system: SYSTEMS.careSetting, code: 'office' }] }],
  }));
  const built = buildClaim({
    ...f.input,
    encounters,
    coverages: [coverage],
    payer: X12_PAYER,
    id: ORIGINAL,
    preAuthRefs: [],
    now: new Date(),
  });
  await store.resources.create(
    TENANT,
    {
      ...built,
      extension: [
        ...(built.extension ?? []),
        { url: EXT_CLAIM_STATE, valueCode: 'ready' },
        { url: EXT_CLAIM_PAYER, valueString: X12_PAYER.id },
      ],
    },
    { id: ORIGINAL },
  );
  for (const resource of [
    f.input.patient,
    ...f.input.conditions,
    ...encounters,
    coverage,
    // Charted as the EHR charts it (route included): charge capture recomputes the visit from it.
    ...f.administrations.map((a) => ({
      ...a,
      dosage: {
        ...a.dosage,
        route: { coding: [{ system: SYSTEMS.snomed, code: '47625008', display: 'Intravenous route' }] },
      },
    })),
    ...f.input.chargeItems,
  ]) {
    await store.resources.create(TENANT, resource, { id: resource.id! });
  }
}

const cents = (x: number | undefined): number => Math.round((x ?? 0) * 100);
const sumCents = (xs: readonly (number | undefined)[]): number =>
  xs.reduce<number>((sum, x) => sum + cents(x), 0);

describe('a denied claim corrected and paid, over HTTP', () => {
  test('835 CO-197 → denial work item → authorization recorded → corrected claim → paid → resolved-paid', async () => {
    const started = Date.now();
    await seedReadyClaim();
    const store = server.running.store;
    const clearinghouse = new SandboxClearinghouse({
      driplineUrl: server.url,
      client: await server.client(
        TENANT,
        'system/Claim.rus system/DocumentReference.cr system/Patient.r system/Coverage.r system/Organization.r ' +
          'system/Practitioner.r system/RelatedPerson.r system/Encounter.r system/Condition.r system/ChargeItem.r ' +
          'system/ExplanationOfBenefit.c system/PaymentReconciliation.c system/MedicationAdministration.r ' +
          'system/Medication.r system/MedicationRequest.r system/Location.r system/ServiceRequest.r',
      ),
      payers: [{ slug: X12_PAYER.id, payerId: X12_PAYER.payerId, name: X12_PAYER.name }],
      adjudicator: new X12Adjudicator({
        tables: buildPayerTables(),
        payerIds: { [X12_PAYER.payerId]: 'commercial' },
        claimNumberPrefix: 'LKX',
      }),
      payee: { name: PROVIDER.name, npi: PROVIDER.npi },
      now: () => new Date(),
      timeZone: ZONE,
      delayMs: 0,
    });
    const biller = await server.token(
      TENANT,
      'system/Task.rus system/Claim.ru system/ClaimResponse.c system/ChargeItem.r system/Patient.r',
    );

    // 1. The claim goes out as an 837; the payer denies the drug line CO-197 on its 835.
    await clearinghouse.runOnce();
    expect(clearinghouse.counts()).toEqual({ batches: 1, claims: 1, remittances: 1 });
    const denied = await waitFor('the EOB of the original claim', async () => {
      const found = await searchAll<ExplanationOfBenefit>(store, TENANT, 'ExplanationOfBenefit');
      return found.find((e) => e.claim?.reference === `Claim/${ORIGINAL}`);
    });
    const deniedReasons = (denied.item ?? []).flatMap((i) =>
      (i.adjudication ?? []).flatMap((a) => a.reason?.coding?.map((c) => c.code) ?? []),
    );
    expect(deniedReasons).toContain('197');

    // 2. Dripline opens the denial work item in the authorization queue.
    const item = await waitFor('the denial work item in the authorization queue', async () => {
      const list = await fhirFetch(`${server.url}/api/remittance/work-items?queue=authorization`, biller);
      expect(list.status).toBe(200);
      return (
        list.body.items as { id: string; claim: string; state: string; payerClaimNumber?: string }[]
      ).find((i) => i.claim === `Claim/${ORIGINAL}` || i.claim === ORIGINAL);
    });
    expect(item.state).toBe('open');
    expect(item.payerClaimNumber).toMatch(/^LKX/);

    // 3. The biller records the payer's (retro) authorization and asks for the corrected claim.
    const recorded = await fhirFetch(`${server.url}/api/coverage/authorizations`, biller, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: {
        patient: 'Patient/pat-1',
        payer: X12_PAYER.id,
        number: 'PA-RETRO-0310',
        start: addDays(DOS, -14),
        end: addDays(DOS, 90),
        services: [{ code: 'J1745' }],
      },
    });
    expect([200, 201]).toContain(recorded.status);
    const corrected = await fhirFetch(`${server.url}/api/remittance/work-items/${item.id}/correct`, biller, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: { reason: 'Retro authorization PA-RETRO-0310 obtained from the payer' },
    });
    expect(corrected.status).toBe(202);
    expect(corrected.body.correctedClaim).toBe(`Claim/${CORRECTED}`);
    expect(corrected.body.item.state).toBe('correction-sent');

    // 4. The workflow builds and scrubs the corrected claim: a replacement naming the payer's
    //    number of the original, carrying the authorization; ready for the next batch.
    const replacement = await waitFor(
      'the corrected claim ready',
      async () => {
        try {
          const c = (await store.resources.read(TENANT, 'Claim', CORRECTED)) as Claim;
          return claimStateOf(c) === 'ready' ? c : undefined;
        } catch {
          return undefined;
        }
      },
      40_000,
    );
    expect(replacement.extension?.find((e) => e.url === EXT_CLAIM_FREQUENCY)?.valueCode).toBe('7');
    expect(replacement.related?.[0]?.claim?.reference).toBe(`Claim/${ORIGINAL}`);
    expect(replacement.related?.[0]?.reference?.value).toBe(item.payerClaimNumber);
    expect(replacement.insurance?.[0]?.preAuthRef).toContain('PA-RETRO-0310');

    // 5. The payer takes it on its next round and pays it on the next 835.
    await clearinghouse.runOnce();
    expect(clearinghouse.counts()).toMatchObject({ batches: 2, claims: 2 });
    const paid = await waitFor('the EOB of the corrected claim', async () => {
      const found = await searchAll<ExplanationOfBenefit>(store, TENANT, 'ExplanationOfBenefit');
      return found.find((e) => e.claim?.reference === `Claim/${CORRECTED}`);
    });
    expect(cents(paid.payment?.amount?.value)).toBeGreaterThan(0);
    const paidReasons = (paid.item ?? []).flatMap((i) =>
      (i.adjudication ?? []).flatMap((a) => a.reason?.coding?.map((c) => c.code) ?? []),
    );
    expect(paidReasons).not.toContain('197');

    // 6. The work item ends resolved as paid, its chain linked: original → corrected.
    const resolved = await waitFor('the work item resolved-paid', async () => {
      const list = await fhirFetch(`${server.url}/api/remittance/work-items?open=false`, biller);
      const found = (list.body.items as { id: string; state: string }[]).find((i) => i.id === item.id);
      return found?.state === 'resolved-paid' ? found : undefined;
    });
    expect(resolved).toMatchObject({ status: 'completed', correctedClaims: [CORRECTED] });
    const original = (await store.resources.read(TENANT, 'Claim', ORIGINAL)) as Claim;
    expect(original.extension?.find((e) => e.url === EXT_CLAIM_REPLACED_BY)?.valueReference?.reference).toBe(
      `Claim/${CORRECTED}`,
    );
    const open = await fhirFetch(`${server.url}/api/remittance/work-items?queue=authorization`, biller);
    expect((open.body.items as { id: string }[]).map((i) => i.id)).not.toContain(item.id);
    // The contract: the corrected claim's paid administration lines are underpayments, priced by
    // the contract's term, with the variance per line.
    const under = await fhirFetch(`${server.url}/api/remittance/underpayments`, biller);
    expect(under.status).toBe(200);
    type Line = {
      code: string;
      term: string;
      expectedAllowed: number;
      expectedPayment: number;
      paid: number;
      variance: number;
    };
    const underpaid = (under.body.items as { claim: string; lines: Line[] }[]).find(
      (i) => i.claim === CORRECTED,
    );
    expect(underpaid?.lines.map((l) => [l.code, l.term, l.expectedAllowed])).toEqual([
      ['96365', 'infusion', 900],
      ['96366', 'infusion', 300],
    ]);
    for (const line of underpaid?.lines ?? []) {
      expect(line.variance).toBeGreaterThan(0);
      expect(cents(line.variance)).toBe(cents(line.expectedPayment) - cents(line.paid));
    }
    // Counted once: the original's paid lines were underpaid too, but the second 835 reversed that
    // payment (CLP02 = 22), so the original's underpayment item is closed as superseded (naming the
    // reversal and the corrected claim); only the live claim's item counts in the queue, the
    // per-payer totals, analytics' "underpayments found" and the sandbox day's figures.
    const liveCents = sumCents(underpaid?.lines.map((l) => l.variance) ?? []);
    const openUnder = await fhirFetch(`${server.url}/api/remittance/work-items?queue=underpayment`, biller);
    expect((openUnder.body.items as { claim: string }[]).map((i) => i.claim)).toEqual([CORRECTED]);
    expect(cents(openUnder.body.counts.underpayment.dollars)).toBe(liveCents);
    const superseded = (
      under.body.items as { claim: string; state: string; status: string; notes: { text: string }[] }[]
    ).find((i) => i.claim === ORIGINAL);
    expect(superseded).toMatchObject({ state: 'superseded', status: 'completed' });
    expect(superseded?.notes.at(-1)?.text).toContain(`Claim/${CORRECTED}`);
    expect(superseded?.notes.at(-1)?.text).toMatch(/revers/);
    expect(sumCents((under.body.totals as { underpaid: number }[]).map((t) => t.underpaid))).toBe(liveCents);
    const analyst = await server.token(
      TENANT,
      'system/Claim.rs system/ExplanationOfBenefit.rs system/Task.rs system/ClaimResponse.rs system/ChargeItem.rs',
    );
    const found = await fhirFetch(`${server.url}/api/analytics/underpayments`, analyst, {
      headers: { accept: 'application/json' },
    });
    expect(found.status).toBe(200);
    expect(found.body.total.found).toEqual({ count: 1, dollars: liveCents / 100 });
    const figures = await remittanceFigures(store, TENANT);
    expect(figures.underpayments).toEqual({ count: 1, dollars: liveCents / 100 });
    // The denial item of the original is not counted twice either: it followed the correction.
    expect(figures.workItemsByQueue).toEqual({ authorization: 1, underpayment: 1 });
    // Money in: the second remittance took the original's payment back (reversal) and paid the
    // corrected claim, so the two PaymentReconciliations add up to the corrected claim's payment.
    const reconciliations = await searchAll<PaymentReconciliation>(store, TENANT, 'PaymentReconciliation');
    expect(reconciliations).toHaveLength(2);
    // Each claim payment's detail names the Claim it pays: the original (paid, then reversed) and the corrected.
    expect(
      reconciliations
        .flatMap((r) => r.detail ?? [])
        .filter((d) => d.type.coding?.[0]?.code === 'payment')
        .map((d) => d.request?.reference)
        .sort(),
    ).toEqual([`Claim/${ORIGINAL}`, `Claim/${ORIGINAL}`, `Claim/${CORRECTED}`].sort());
    expect(sumCents(reconciliations.map((r) => r.paymentAmount.value))).toBe(
      cents(paid.payment?.amount?.value),
    );
    console.log(`denied → corrected → paid → resolved-paid in ${Date.now() - started} ms`);
  }, 60_000);
});
