/**
 * Issue 13's one end-to-end proof, over real HTTP between three servers (the sandbox EHR, the
 * sandbox payer, Dripline): an infliximab order comes in from the EHR (Backport subscription, SMART
 * reads) → the patient's eligibility is asked and answered by the payer → the order becomes a Da
 * Vinci PAS request (`Claim/$submit`) that the payer pends → the payer's review ends and its PAS
 * subscription notification (Backport) reaches Dripline → the request is certified and the approval
 * kept as the preauthorization ClaimResponse → the authorization ledger
 * (`GET /api/coverage/authorizations`) shows its number, code and units → the visit's claim is built
 * carrying the number, submitted to the payer and adjudicated there, and the ledger counts the
 * visit's units against the authorization → the EHR charts a follow-up infusion a week later, past
 * the units the payer certified: its claim carries the same number and the scrubber holds it, naming
 * the number. Every step is read through Dripline's own HTTP API where one exists; waits are
 * conditions with deadlines. The sandbox was seeded ten days before the run's today (the state a
 * restarted sandbox reads), so the follow-up is in the past too and bills at any hour. The PAS
 * details (states, messages kept, every request answered) are checked first in the same world
 * (./pas/e2e-checks.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Claim, ClaimResponse, MedicationRequest } from '@medplum/fhirtypes';
import { registerBackendClient } from '../../src/auth/client-registration.ts';
import { authorizationsOf } from '../../src/coverage/authorizations.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { requestBackendToken } from '../../src/cli/token-command.ts';
import type { DriplineConfig } from '../../src/config/config.ts';
import type { LedgerReport } from '../../src/coverage/ledger-report.ts';
import { PRIOR_AUTH_QUEUE, sourceOf, stateOf } from '../../src/coverage/pas/records.ts';
import type { EligibilitySummary } from '../../src/coverage/eligibility/summary.ts';
import { freePort } from '../../src/http/free-port.ts';
import { createLogger } from '../../src/logger.ts';
import { runSandbox } from '../../src/sandbox/index.ts';
import { sandboxStateFiles, writeEhrState } from '../../src/sandbox/state.ts';
import type { Task } from '@medplum/fhirtypes';
import { claimTaskId, findingsOfTask } from '../../src/claims/workflow/tasks.ts';
import { addDays, localDate } from '../../src/time/zone.ts';
import { chartFollowUpVisit } from './follow-up-visit.ts';
import { pasEndToEndTests } from './pas/e2e-checks.ts';
import type { SandboxRun } from '../../src/sandbox/index.ts';
import { fhirFetch } from '../support/harness.ts';
import { clockEnv, testClock } from '../support/clock.ts';
import { waitFor } from '../support/wait.ts';
import { localSandboxConfig } from '../../src/sandbox/local-config.ts';

const TENANT = 'sandbox';
/** The infliximab HCPCS code (per 10 mg): the sandbox payer's rules put it under authorization. */
const DRUG = 'J1745';
const ZONE = 'America/New_York';
const PATIENTS = 16;
const WEEK_MS = 7 * 86_400_000;
const SCOPE =
  'system/MedicationRequest.rs system/Claim.rs system/ClaimResponse.rs system/ChargeItem.rs ' +
  'system/Encounter.rs system/Task.rs system/Coverage.rs system/Organization.r system/Patient.r ' +
  'system/CoverageEligibilityResponse.rs system/DocumentReference.rs system/Practitioner.r system/RelatedPerson.r';

let run: SandboxRun;
let config: DriplineConfig;
let dir: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-coverage-e2e-'));
  config = localSandboxConfig({
    dataDir: dir,
    port: await freePort(),
    patients: PATIENTS,
    logLevel: 'silent',
    env: clockEnv(),
  });
  // The day the sandbox EHR seeds: ten days ago in the centre's zone, so a follow-up a week later
  // has ended too (a sandbox restarted on this data directory reseeds the day its state names).
  writeEhrState(sandboxStateFiles(dir).ehr, {
    day: addDays(localDate(testClock(), ZONE), -10),
    patients: PATIENTS,
    seed: 1,
    timeZone: ZONE,
    replayed: 0,
  });
  run = await runSandbox(config, createLogger('silent'), {
    // The payer's review ends half a second after it pends a request: long enough that the pended
    // answer is kept first (the history below proves the order), no longer than that needs.
    sandboxPriorAuth: { reviewDelayMs: 500 },
    // The claim sweep and the held-claim recheck every 300 ms rather than every 5 s and 30 s (as
    // test/coverage/ledger-e2e.test.ts): a claim held for prior authorization is rebuilt with the
    // number on the next recheck after the approval.
    claimWorkflow: { recheckMs: 300, sweepMs: 300 },
    priorAuthWorker: { pollMs: 100 },
  });
  // A biller's client of Dripline, registered and authenticated as any SMART Backend Services client.
  const client = await registerBackendClient(run.server.store.auth, {
    tenant: TENANT,
    scope: SCOPE,
    now: new Date(),
    publicUrl: config.publicUrl,
  });
  token = (await requestBackendToken(client, undefined, run.now)).access_token;
  await run.replayed;
}, 60_000);

afterAll(async () => {
  await run?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get(pathAndQuery: string): Promise<any> {
  const { status, body } = await fhirFetch(`${config.publicUrl}${pathAndQuery}`, token);
  expect({ pathAndQuery, status, body: status === 200 ? 'ok' : body }).toEqual({
    pathAndQuery,
    status: 200,
    body: 'ok',
  });
  return body;
}
const entries = <T>(bundle: any): T[] => (bundle.entry ?? []).map((e: { resource: T }) => e.resource);
const drugOf = (claim: Claim): string | undefined => claim.item?.[0]?.productOrService.coding?.[0]?.code;
const ledger = async (patient: string): Promise<LedgerReport> =>
  (await get(`/api/coverage/authorizations?patient=${patient}`)) as LedgerReport;

// The PAS proofs of test/coverage/pas first, in this world (they read the day's requests before
// the follow-up visit below adds one).
pasEndToEndTests(() => run);

test('order → eligibility → PAS pended → subscription notification → approved → ledger → claim with the number, adjudicated → a follow-up past the units held naming it', async () => {
  // 1. The order came in from the EHR and became a PAS request the payer pended.
  const request = await waitFor(
    'a PAS request for infliximab',
    async () => entries<Claim>(await get('/fhir/Claim?use=preauthorization')).find((c) => drugOf(c) === DRUG),
    45_000,
  );
  const patient = request.patient.reference!;
  const order = sourceOf(request)!;
  expect(order).toMatch(/^MedicationRequest\/mr-\d+-infliximab-[^/]+\/_history\/[0-9a-f-]+$/);
  const orderId = order.split('/')[1]!;
  const copy = (await get(`/fhir/MedicationRequest/${orderId}`)) as MedicationRequest;
  expect(copy.subject.reference).toBe(patient);
  // The order is the EHR's: the same resource the sandbox EHR holds.
  const atEhr = (await run.ehr.listResources('MedicationRequest')).find((r) => r.id === orderId);
  expect(atEhr).toBeDefined();

  // 2. Eligibility: the patient's coverage was asked about and the payer's answer kept.
  const eligibility = await waitFor(
    'the eligibility answer',
    async () => {
      const body = (await get(`/api/eligibility/${patient}`)) as {
        coverages: (EligibilitySummary & { coverage: string })[];
      };
      return body.coverages.length > 0 ? body.coverages : undefined;
    },
    45_000,
  );
  const [answer] = eligibility;
  expect(answer).toMatchObject({ outcome: 'complete', inforce: true });
  expect(answer!.payerId).toBeDefined();

  // 3. Pended, then certified: the decision came by the payer's subscription notification.
  const certified = await waitFor(
    'the approval',
    async () => {
      const claim = (await get(`/fhir/Claim/${request.id!}`)) as Claim;
      return stateOf(claim) === 'certified' ? claim : undefined;
    },
    30_000,
  );
  const states = entries<Claim>(await get(`/fhir/Claim/${certified.id!}/_history`))
    .map((v) => stateOf(v))
    .reverse();
  expect(states).toEqual(['prepared', 'pended', 'certified']);
  const notifications = entries<{
    type?: { text?: string };
    context?: { related?: { reference?: string }[] };
  }>(await get(`/fhir/DocumentReference?_count=1000`)).filter((d) =>
    d.context?.related?.some((r) => r.reference === `Claim/${certified.id!}`),
  );
  expect(notifications.map((d) => d.type?.text)).toContain('PAS subscription notification received');

  // 4. The approval is the preauthorization ClaimResponse on file, and the ledger shows it.
  const caseId = request.id!.slice(0, request.id!.lastIndexOf('-'));
  const response = (await get(`/fhir/ClaimResponse/${caseId}`)) as ClaimResponse;
  expect(response.use).toBe('preauthorization');
  // The certification number, where PAS puts it (the item's review action), read as claims read it.
  const [authorization] = authorizationsOf([response], [certified]);
  const number = authorization!.number;
  expect(number).toMatch(/^AUTH\d{6}$/);
  const onFile = await waitFor('the ledger to show the authorization', async () => {
    const r = await ledger(patient);
    return r.authorizations.find((a) => a.number === number);
  });
  expect(onFile).toMatchObject({ patient, payerId: answer!.payerId });
  const service = onFile.services.find((s) => s.code === DRUG);
  expect(service?.authorized).toBeGreaterThan(0);

  // 5. The visit's claim is built carrying the number, and the payer adjudicates it.
  const billed = await waitFor(
    'the claim carrying the number, adjudicated',
    async () =>
      entries<Claim>(await get(`/fhir/Claim?patient=${patient}&use=claim`)).find(
        (c) =>
          (c.insurance ?? []).some((i) => i.focal && (i.preAuthRef ?? []).includes(number)) &&
          claimStateOf(c) === 'adjudicated',
      ),
    90_000,
  );
  expect(billed.item?.some((i) => i.productOrService.coding?.some((c) => c.code === DRUG))).toBe(true);
  // Paid: the payer adjudicated it once, and Dripline keeps the payer's answer on the claim.
  const answered = (await run.payer.claimResponses()).filter(
    (r) => r.request?.reference === `Claim/${billed.id!}`,
  );
  expect(answered).toHaveLength(1);
  const kept = entries<ClaimResponse>(await get(`/fhir/ClaimResponse?request=Claim/${billed.id!}`));
  expect(kept).toHaveLength(1);
  expect(kept[0]).toMatchObject({ use: 'claim', outcome: 'complete' });
  expect(kept[0]!.payment?.amount?.value).toBeGreaterThan(0);
  expect(kept[0]!.payment?.amount?.value).toBe(answered[0]!.payment?.amount?.value);

  // 6. The ledger counts the visit's units against the authorization, the claim adjudicated.
  const counted = await waitFor('the ledger to count the adjudicated claim', async () => {
    const entry = (await ledger(patient)).authorizations.find((a) => a.number === number);
    const uses = entry?.services.find((s) => s.code === DRUG)?.uses ?? [];
    return uses.some((u) => u.claim === `Claim/${billed.id!}` && u.billing === 'adjudicated')
      ? entry
      : undefined;
  });
  const used = counted.services.find((s) => s.code === DRUG)!;
  expect(used.used).toBeGreaterThan(0);
  expect(used.used + (used.remaining ?? 0) - used.beyond).toBe(used.authorized);

  // 7. A follow-up infusion a week later, past the certified units: its claim carries the same
  // number and is held, the scrubber's finding naming the number.
  expect(used.remaining ?? 0).toBeLessThan(used.used);
  const followUp = await chartFollowUpVisit(run.ehr, patient, { id: 'enc-follow-up', shiftMs: WEEK_MS });
  expect(followUp.administrations).toBeGreaterThan(0);
  const held = await waitFor(
    'the follow-up claim to be held',
    async () => {
      await run.server.claims.sweepNow(); // the sweep bills the visit: asked, not waited for
      return entries<Claim>(await get(`/fhir/Claim?patient=${patient}&use=claim`)).find(
        (c) =>
          (c.item ?? []).some((i) => i.encounter?.some((e) => e.reference === followUp.encounter)) &&
          claimStateOf(c) === 'held',
      );
    },
    90_000,
  );
  expect(held.id).not.toBe(billed.id);
  expect(held.insurance?.find((i) => i.focal)?.preAuthRef).toEqual([number]);
  const task = (await get(`/fhir/Task/${claimTaskId(held.id!)}`)) as Task;
  const findings = findingsOfTask(task);
  const beyond = findings.find((f) => f.ruleId === 'prior-auth-units');
  expect(beyond?.message).toContain(`beyond authorization ${number}`);
  expect(findings.some((f) => f.ruleId === 'prior-auth')).toBe(false);
  // Nothing was sent for it: the payer answered the first claim only.
  expect(
    (await run.payer.claimResponses()).filter((r) => r.request?.reference === `Claim/${held.id!}`),
  ).toEqual([]);
  // The ledger counts the follow-up's units on the held claim, those past the number as beyond.
  const past = await waitFor('the ledger to count the follow-up', async () => {
    const entry = (await ledger(patient)).authorizations.find((a) => a.number === number);
    const service = entry?.services.find((s) => s.code === DRUG);
    return service?.uses.some((u) => u.claim === `Claim/${held.id!}`) ? service : undefined;
  });
  const last = past.uses.find((u) => u.encounter === followUp.encounter);
  expect(last).toMatchObject({ claim: `Claim/${held.id!}`, billing: 'on-claim' });
  expect(last!.beyond).toBeGreaterThan(0);
  expect(past.remaining ?? 0).toBe(0);
  expect(past.beyond).toBe(past.used - (past.authorized ?? 0));

  // Nothing left on the prior-auth queue: every job ran.
  expect(await run.server.store.jobs.listJobs(TENANT, PRIOR_AUTH_QUEUE, 'dead', 10)).toEqual([]);
}, 180_000);
