/**
 * The authorization ledger end to end over real HTTP (issue 13's proof, the ledger part): the
 * sandbox EHR's day flows into Dripline (Backport subscriptions, SMART reads), charge capture codes
 * an infliximab infusion for a commercial patient, and its claim is held for prior authorization;
 * a biller records the authorization the payer gave (`POST /fhir/ClaimResponse`) for exactly that
 * visit's units → the claim is rebuilt carrying the number and the sandbox payer adjudicates it →
 * the ledger (`GET /api/coverage/authorizations`) shows the units used and none left → the EHR
 * charts a follow-up infusion a week later → its administration is past the authorized units: its
 * claim carries the number and is held (prior-auth-units naming it), and the ledger worker opens
 * the "running out" work item. Dates are relative to the run's clock (any hour passes).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ChargeItem, Claim, Resource, Task } from '@medplum/fhirtypes';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { claimTaskId, findingsOfTask } from '../../src/claims/workflow/tasks.ts';
import { authorizationOnFile } from '../../src/coverage/authorizations.ts';
import type { LedgerReport } from '../../src/coverage/ledger-report.ts';
import { ledgerTaskId } from '../../src/coverage/ledger-tasks.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection } from '../../src/sandbox/index.ts';
import { SEED_PAYERS } from '../../src/sandbox/ehr/seed-data/cast.ts';
import { payerClientOf, SANDBOX_BILLING, seededTenantPayers } from '../support/sandbox-payers.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import { startSandboxPayer } from '../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../src/sandbox/payer/server.ts';
import type { StoredResource } from '../../src/store/port.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { addDays, localDate } from '../../src/time/zone.ts';
import { clockEnv, testClock } from '../support/clock.ts';
import { fhirFetch, startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';
import { chartFollowUpVisit } from './follow-up-visit.ts';

const TENANT = 'sandbox';
const ZONE = 'America/New_York';
const LEDGER_SCOPE =
  'system/ClaimResponse.rs system/ChargeItem.rs system/Claim.rs system/Encounter.rs system/Task.rs ' +
  'system/Coverage.rs system/Organization.r';
/** The infliximab HCPCS code (per 10 mg). */
const DRUG = 'J1745';
const WEEK_MS = 7 * 86_400_000;

let ehr: SandboxEhr;
let payer: SandboxPayer;
let server: TestServer;
/** The seeded day: ten days before the run's today, so a follow-up a week later is past too. */
let day: string;
let patient: string;
let number: string;

const store = () => server.running.store;
async function all<T extends Resource>(type: T['resourceType']): Promise<(T & StoredResource)[]> {
  return searchAll<T>(store(), TENANT, type);
}
/** The patient's claims billing the drug. */
async function drugClaims(): Promise<(Claim & StoredResource)[]> {
  return (await all<Claim>('Claim')).filter(
    (c) =>
      c.use === 'claim' &&
      c.patient.reference === patient &&
      (c.item ?? []).some((i) => i.productOrService.coding?.some((x) => x.code === DRUG)),
  );
}
async function ledger(): Promise<LedgerReport> {
  const { status, body } = await fhirFetch(
    `${server.url}/api/coverage/authorizations?patient=${patient}`,
    await server.token(TENANT, LEDGER_SCOPE),
  );
  expect(status).toBe(200);
  return body as LedgerReport;
}
/**
 * A look that asks the claim worker for a sweep first (it bills a visit, rechecks held claims)
 * rather than waiting out the sweep's timer.
 */
const afterSweep =
  <T>(look: () => Promise<T>) =>
  async (): Promise<T> => {
    await server.running.claims.sweepNow();
    return look();
  };
const units = (charges: readonly ChargeItem[]): number =>
  charges.reduce((sum, c) => sum + (c.quantity?.value ?? 0), 0);

beforeAll(async () => {
  loadFhirDefinitions();
  day = addDays(localDate(testClock(), ZONE), -10);
  ehr = await startSandboxEhr({ port: 0, seed: { date: day, patients: 3, timeZone: ZONE }, now: testClock });
  const connection = await sandboxConnection(ehr);
  payer = await startSandboxPayer({
    port: 0,
    payerIds: Object.fromEntries(SEED_PAYERS.map((p) => [p.payerId, p.kind])),
    now: testClock,
  });
  const client = await payerClientOf(payer, 'system/Claim.crs system/ClaimResponse.rs');
  server = await startTestServer(
    { LOG_LEVEL: 'warn', ...clockEnv() },
    {
      extraConnections: [{ tenant: TENANT, connection }],
      claimWorkflow: { holdMs: 0, sweepMs: 300, recheckMs: 300 },
      // The ledger worker's loop looks every 300 ms too (its 1 s default made the 300 ms scan 1 s).
      ledgerWorker: { scanMs: 300, pollMs: 300 },
    },
    {
      tenants: [
        {
          id: TENANT,
          name: 'Sandbox infusion center',
          timeZone: ZONE,
          billing: SANDBOX_BILLING,
          payers: seededTenantPayers(payer, client),
        },
      ],
    },
  );
  await waitFor('active subscriptions', async () => {
    const records = await Promise.all(
      INGEST_TOPICS.map((t) => loadRecord(store(), TENANT, connection.id, t)),
    );
    return records.every((r) => r?.status === 'active');
  });
  await ehr.replay({ speed: 0 });
  // The day's infliximab patient (a commercial payer requires authorization for it), as charge
  // capture coded the visit.
  const drugCharge = await waitFor(
    'the infliximab charge',
    async () =>
      (await all<ChargeItem>('ChargeItem')).find(
        (c) => c.status === 'billable' && c.code.coding?.some((x) => x.code === DRUG),
      ),
    90_000,
  );
  patient = drugCharge.subject.reference ?? '';
  expect(patient).toMatch(/^Patient\//);
}, 150_000);

afterAll(async () => {
  await server?.stop();
  await payer?.stop();
  await ehr?.stop();
});

describe('the authorization ledger over the sandbox day', () => {
  test('without an authorization the infusion is held for prior-auth, and the ledger says it was given without one', async () => {
    const [claim] = await waitFor(
      'the infliximab claim to be scrubbed',
      afterSweep(async () => {
        const found = await drugClaims();
        return found.length > 0 && found.every((c) => claimStateOf(c) === 'held') ? found : undefined;
      }),
      90_000,
    );
    const task = (await store().resources.read(TENANT, 'Task', claimTaskId(claim!.id))) as Task;
    expect(findingsOfTask(task).map((f) => f.ruleId)).toContain('prior-auth');
    const report = await waitFor('the ledger worker to open "given without one"', async () => {
      const r = await ledger();
      return r.workItems.some((w) => w.kind === 'authorization-missing') ? r : undefined;
    });
    expect(report.withoutAuthorization.map((c) => c.code)).toContain(DRUG);
  }, 120_000);

  test('an authorization recorded for the visit’s units: the claim is rebuilt with its number and adjudicated; the ledger shows them used', async () => {
    const charges = (await all<ChargeItem>('ChargeItem')).filter(
      (c) => c.subject.reference === patient && c.status === 'billable' && c.code.coding?.[0]?.code === DRUG,
    );
    const authorized = units(charges);
    expect(authorized).toBeGreaterThan(0);
    const coverage = (
      await fhirFetch(
        `${server.fhir}/Coverage?beneficiary=${patient}`,
        await server.token(TENANT, 'system/Coverage.rs'),
      )
    ).body.entry?.[0]?.resource;
    const org = coverage?.payor?.[0]?.reference as string;
    const payerId = (
      await fhirFetch(`${server.fhir}/${org}`, await server.token(TENANT, 'system/Organization.r'))
    ).body.identifier?.[0]?.value as string;
    number = `PA-E2E-${day.replaceAll('-', '')}`;
    // What the payer gave by phone, recorded by a biller over the FHIR API.
    const created = await fhirFetch(
      `${server.fhir}/ClaimResponse`,
      await server.token(TENANT, 'system/ClaimResponse.c'),
      {
        method: 'POST',
        body: authorizationOnFile({
          patient,
          payerId,
          number,
          start: addDays(day, -30),
          end: addDays(day, 90),
          services: [{ code: DRUG, units: authorized }],
          now: testClock(),
        }),
      },
    );
    expect(created.status).toBe(201);
    const adjudicated = await waitFor(
      'the claim to be rebuilt with the number and adjudicated',
      afterSweep(async () => {
        const [c] = await drugClaims();
        return c && claimStateOf(c) === 'adjudicated' ? c : undefined;
      }),
      60_000,
    );
    expect(adjudicated.insurance?.[0]?.preAuthRef).toEqual([number]);
    const answered = (await payer.claimResponses()).filter(
      (r) => r.request?.reference === `Claim/${adjudicated.id}`,
    );
    expect(answered).toHaveLength(1);
    const report = await waitFor('the ledger to count the claim adjudicated', async () => {
      const r = await ledger();
      return r.authorizations[0]?.services[0]?.uses.every((u) => u.billing === 'adjudicated') ? r : undefined;
    });
    const [entry] = report.authorizations;
    expect(entry).toMatchObject({ number, payerId, status: 'used-up' });
    expect(entry?.services[0]).toMatchObject({
      code: DRUG,
      authorized,
      used: authorized,
      remaining: 0,
      beyond: 0,
    });
    expect(report.withoutAuthorization).toEqual([]);
    await waitFor('"given without one" to be completed', async () =>
      (await ledger()).workItems.every((w) => w.kind !== 'authorization-missing'),
    );
  }, 120_000);

  test('a follow-up infusion a week later is past the units: its claim carries the number and is held naming it; the ledger opens "running out"', async () => {
    // The EHR charts the same visit a week later (new encounter and administrations).
    const followUp = await chartFollowUpVisit(ehr, patient, { id: 'enc-follow-up', shiftMs: WEEK_MS });
    expect(followUp.administrations).toBeGreaterThan(0);
    const held = await waitFor(
      'the follow-up claim to be held',
      afterSweep(async () => {
        const c = (await drugClaims()).find((x) =>
          (x.item ?? []).some((i) => i.encounter?.some((e) => e.reference === 'Encounter/enc-follow-up')),
        );
        return c && claimStateOf(c) === 'held' ? c : undefined;
      }),
      90_000,
    );
    expect(held.insurance?.[0]?.preAuthRef).toEqual([number]);
    const task = (await store().resources.read(TENANT, 'Task', claimTaskId(held.id))) as Task;
    const beyond = findingsOfTask(task).find((f) => f.ruleId === 'prior-auth-units');
    expect(beyond?.message).toContain(`beyond authorization ${number}`);
    expect(findingsOfTask(task).some((f) => f.ruleId === 'prior-auth')).toBe(false);
    // The ledger: twice the units used, the follow-up's beyond; the work item names the number.
    const report = await waitFor('the ledger worker to open "running out"', async () => {
      const r = await ledger();
      return r.workItems.some((w) => w.kind === 'authorization-running-out') ? r : undefined;
    });
    const service = report.authorizations[0]?.services[0];
    expect(service?.used).toBe(2 * (service?.authorized ?? 0));
    expect(service?.beyond).toBe(service?.authorized);
    const last = service?.uses.at(-1);
    expect(last).toMatchObject({
      encounter: 'Encounter/enc-follow-up',
      claim: `Claim/${held.id}`,
      billing: 'on-claim',
    });
    expect(last?.beyond).toBe(last?.used);
    const work = (await store().resources.read(
      TENANT,
      'Task',
      ledgerTaskId(`${patient}|authorization-running-out|${number}|${DRUG}`),
    )) as Task;
    expect(work.status).toBe('requested');
    expect(work.description).toContain(`Authorization ${number}`);
    expect(work.description).toContain('beyond what it authorizes');
  }, 150_000);
});
