/**
 * The sandbox day's outcome, asserted (what `npm run sandbox:day` prints): every claim that carries
 * no deliberately seeded error passes its first scrub, every seeded error is caught by the rule
 * meant for it, and no claim is held for anything else. Then the day's 837s: a spouse who holds the
 * coverage is the subscriber (2010BA) with the patient in 2010CA, and a hospital outpatient claim
 * names its attending (2310A).
 *
 * The day starts with coverage, as `npm run sandbox:day` does (src/sandbox/day-coverage.ts): the
 * payers take Da Vinci PAS, and the claim workflow starts only once every patient's eligibility has
 * been asked and every order the payers' rules put under authorization has its PAS answer. So the
 * seeded "missing prior auth" errors change: an order the sandbox payer approves (its policy,
 * src/sandbox/payer/pas/policy.ts) bills with the number it gave — that claim is saved from a
 * denial, and its seeded error is, rightly, no longer caught —; only an order the payer denies is
 * still held for prior-auth. The test computes which from the payer's policy and the PAS requests.
 *
 * The day is a week back (any hour of the day, every visit is over); the sandbox EHR, payer and
 * Dripline run in process as `npm start` wires them.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  Claim,
  ClaimResponse,
  Coverage,
  Encounter,
  ExplanationOfBenefit,
  MedicationRequest,
  Practitioner,
  RelatedPerson,
} from '@medplum/fhirtypes';
import { encountersOfClaim } from '../../src/claims/workflow/identity.ts';
import { CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { write837ToString } from '../../src/x12/837/write837.ts';
import { loadCodingTables } from '../../src/coding/tables/load.ts';
import { PRIOR_AUTH_QUEUE, stateOf as pasStateOf } from '../../src/coverage/pas/records.ts';
import { isSilenceCheck } from '../../src/coverage/pas/subscription-check.ts';
import { coverageFigures, coverageSettled, savedFromDenial } from '../../src/sandbox/day-coverage.ts';
import type { CoverageFigures, SavedClaim } from '../../src/sandbox/day-coverage.ts';
import { DEFAULT_PAS_POLICY, policyFor } from '../../src/sandbox/payer/pas/policy.ts';
import type { SeededError } from '../../src/sandbox/ehr/seed/model.ts';
import { ELIGIBILITY_QUEUE } from '../../src/coverage/eligibility/records.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { DriplineConfig, TenantConfig } from '../../src/config/config.ts';
import { dayRecovery, openDenialItems } from '../../src/sandbox/day-recovery.ts';
import { remittanceFigures } from '../../src/sandbox/day-remittance.ts';
import { SANDBOX_WORK_QUEUES, writeSandboxContracts } from '../../src/sandbox/contracts.ts';
import { ADMINISTRATION_RATES, RAISES_NOT_LOADED } from '../../src/sandbox/payer/tables.ts';
import { CARC_SYSTEM, GROUP_CODE_SYSTEM } from '../../src/sandbox/payer/claim-response.ts';
import { carcInfo } from '../../src/remittance/codes.ts';
import { CLAIM_ANSWER_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { freePort } from '../../src/http/free-port.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../src/ingest/jobs.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { createLogger } from '../../src/logger.ts';
import { dayOutcome, observeDay } from '../../src/sandbox/day-outcome.ts';
import type { DayOutcome } from '../../src/sandbox/day-outcome.ts';
import { startSandboxEhr } from '../../src/sandbox/ehr/server.ts';
import type { SandboxEhr } from '../../src/sandbox/ehr/server.ts';
import {
  sandboxConnection,
  sandboxEnrollment,
  sandboxPayers,
  seededPayers,
  SANDBOX_TENANT,
} from '../../src/sandbox/index.ts';
import { startSandboxPayer } from '../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../src/sandbox/payer/server.ts';
import { startServer } from '../../src/server.ts';
import type { RunningServer } from '../../src/server.ts';
import { searchAll } from '../../src/store/search-all.ts';
import { waitFor } from '../support/wait.ts';

const DAY = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);
const ENVELOPE = {
  sender: { id: 'DRIPLINE', name: 'Dripline' },
  receiver: { id: 'CLEARINGHOUSE', name: 'Clearinghouse' },
  controlNumbers: { isa: 1, gs: 1 },
  usage: 'T' as const,
};

let dir: string;
let dayConfig: DriplineConfig;
let tenants: TenantConfig[];
let ehr: SandboxEhr;
let payer: SandboxPayer;
let server: RunningServer;
let outcome: DayOutcome;
let coverage: CoverageFigures;
let saved: SavedClaim[];
let patientsCovered: number;
let observedEncounters: Map<string, readonly string[]>;
let inactivePatients: number;
/** The sandbox payer's decision (by its policy) of every PAS case's latest request. */
let expectedPas: Record<string, number>;
/** Seeded "missing prior auth" errors by what the payer's policy makes of their orders. */
let priorAuthFate: Map<SeededError, 'saved' | 'held'>;

/** What the sandbox payer's policy finally decides for a requested code and units. */
function decided(code: string, units: number | undefined): 'approved' | 'modified' | 'denied' {
  let action = policyFor(DEFAULT_PAS_POLICY, code);
  if (action.action === 'pend' || action.action === 'more-info') {
    action = action.then;
  }
  if (action.action === 'deny') {
    return 'denied';
  }
  if (action.action === 'approve-fewer') {
    return (units ?? Infinity) > action.maxUnits || action.months !== undefined ? 'modified' : 'approved';
  }
  return 'approved';
}

async function idle(queue: string): Promise<boolean> {
  // A kept PAS subscription's silence check always waits for its time: not work under way.
  const ready = await server.store.jobs.listJobs(SANDBOX_TENANT, queue, 'ready', 100);
  const leased = await server.store.jobs.listJobs(SANDBOX_TENANT, queue, 'leased', 100);
  return [...ready, ...leased].every(isSilenceCheck);
}

/**
 * The day's claims (ids and versions) when nothing is moving — the EHR has sent everything, every
 * queue is idle and no claim is between build and answer —, else undefined.
 */
async function quietClaims(): Promise<string | undefined> {
  await ehr.idle();
  const queues = [
    INGEST_QUEUE,
    ENCOUNTER_CHANGED_QUEUE,
    CLAIM_READY_QUEUE,
    CLAIM_SUBMIT_QUEUE,
    ELIGIBILITY_QUEUE,
    PRIOR_AUTH_QUEUE,
  ];
  if (!(await Promise.all(queues.map(idle))).every(Boolean)) {
    return undefined;
  }
  const claims = await searchAll<Claim>(server.store, SANDBOX_TENANT, 'Claim');
  if (claims.length === 0 || claims.some((c) => ['built', 'submitting'].includes(claimStateOf(c) ?? ''))) {
    return undefined;
  }
  return claims
    .map((c) => `${c.id}@${c.meta?.versionId ?? ''}`)
    .sort()
    .join(' ');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dripline-day-'));
  const port = await freePort();
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
  });
  const logger = createLogger('warn');
  ehr = await startSandboxEhr({ port: 0, seed: { date: DAY, patients: 36 } });
  const seeded = await seededPayers(ehr);
  payer = await startSandboxPayer({
    payerIds: Object.fromEntries(seeded.map((p) => [p.payerId, p.kind])),
    members: await sandboxEnrollment(ehr),
    pas: { reviewDelayMs: 1_000 },
  });
  const payers = await sandboxPayers(payer, seeded, { priorAuth: true });
  const connection = await sandboxConnection(ehr);
  // The centre's contracts with the payers and its work queues, as `npm run sandbox:day` seeds them.
  tenants = config.tenants.map((t) =>
    t.id === SANDBOX_TENANT
      ? {
          ...t,
          payers,
          contracts: writeSandboxContracts(path.join(dir, 'sandbox'), payers),
          workQueues: SANDBOX_WORK_QUEUES,
        }
      : t,
  );
  dayConfig = config;
  const dayBegan = new Date();
  server = await startServer(config, logger, {
    extraConnections: [{ tenant: SANDBOX_TENANT, connection }],
    // Billing starts once the day's coverage work has settled (below), as in `npm run sandbox:day`.
    claims: false,
    claimWorkflow: {
      // Five seconds after an encounter ends before it is billed: with eligibility checks running beside
      // ingest, billing at once sometimes raced the charges of the visit's last administrations.
      holdMs: 5000,
      sweepMs: 300,
      tenants,
    },
  });
  await waitFor('active subscriptions', async () =>
    (
      await Promise.all(INGEST_TOPICS.map((t) => loadRecord(server.store, SANDBOX_TENANT, connection.id, t)))
    ).every((r) => r?.status === 'active'),
  );
  await ehr.replay({ speed: 0 });
  await ehr.idle();
  // Looked at every 100 ms: what it waits for is state (queues, open PAS cases), not a timer.
  await coverageSettled(server.store, SANDBOX_TENANT, { timeoutMs: 120_000, pollMs: 100 });
  coverage = await coverageFigures(server.store, SANDBOX_TENANT);
  server.claims.start();
  // Settled: queues idle, no claim between build and answer, and still so, with the same claims
  // (ids and versions), after a sweep asked for once that look was quiet (sweepNow: a sweep of the
  // loop's begun after the ask, so it saw everything the look saw and billed what was left to bill)
  // instead of after two more sweeps of the timer.
  await waitFor(
    'the day to settle: queues idle, no claim between build and answer, the claims unchanged over a sweep',
    async () => {
      const before = await quietClaims();
      if (before === undefined) {
        return false;
      }
      await server.claims.sweepNow();
      return (await quietClaims()) === before;
    },
    150_000,
    100,
  );
  const observed = await observeDay(server.store, SANDBOX_TENANT);
  outcome = dayOutcome(ehr.seededErrors, observed.claims, observed.coding);
  observedEncounters = new Map(observed.claims.map((c) => [`Claim/${c.id}`, c.encounters]));
  saved = await savedFromDenial({
    store: server.store,
    tenant: SANDBOX_TENANT,
    payers: seeded,
    tables: loadCodingTables(),
    since: dayBegan,
    stateOf: claimStateOf,
  });
  // The latest request of each PAS case (`<case>-<n>`), read straight from the store.
  const latest = new Map<string, Claim>();
  for (const c of await searchAll<Claim>(server.store, SANDBOX_TENANT, 'Claim')) {
    if (c.use !== 'preauthorization' || pasStateOf(c) === 'superseded') {
      continue;
    }
    const cut = c.id.lastIndexOf('-');
    const known = latest.get(c.id.slice(0, cut));
    if (!known || Number(known.id!.slice(cut + 1)) < Number(c.id.slice(cut + 1))) {
      latest.set(c.id.slice(0, cut), c);
    }
  }
  const decisions = [...latest.values()].map((c) => ({
    patient: c.patient.reference,
    decision: decided(c.item?.[0]?.productOrService.coding?.[0]?.code ?? '', c.item?.[0]?.quantity?.value),
  }));
  expectedPas = { approved: 0, modified: 0, denied: 0 };
  for (const d of decisions) {
    expectedPas[d.decision] = (expectedPas[d.decision] ?? 0) + 1;
  }
  priorAuthFate = new Map();
  for (const error of ehr.seededErrors.filter((e) => e.rule === 'prior-auth')) {
    const encounter = (await server.store.resources.read(
      SANDBOX_TENANT,
      'Encounter',
      error.encounter,
    )) as Encounter;
    const own = decisions.filter((d) => d.patient === encounter.subject?.reference);
    priorAuthFate.set(error, own.length > 0 && own.every((d) => d.decision !== 'denied') ? 'saved' : 'held');
  }
  const inactive = new Set<string | undefined>();
  for (const error of ehr.seededErrors.filter((e) => e.rule === 'eligibility-inactive')) {
    const encounter = (await server.store.resources.read(
      SANDBOX_TENANT,
      'Encounter',
      error.encounter,
    )) as Encounter;
    inactive.add(encounter.subject?.reference);
  }
  inactivePatients = inactive.size;
  patientsCovered = new Set(
    ((await ehr.listResources('Coverage')) as Coverage[]).map((c) => c.beneficiary.reference),
  ).size;
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await ehr?.stop();
  await payer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the seeded day', () => {
  test('every claim without a seeded error passes its first scrub (first-pass clean rate 100%)', () => {
    expect(outcome.clean.total).toBeGreaterThanOrEqual(15);
    expect(outcome.clean.passed).toBe(outcome.clean.total);
  });

  test('every seeded error is caught by the rule meant for it, except the missing authorizations PAS obtained; nothing else holds a claim', () => {
    expect(outcome.seeded.total).toBeGreaterThanOrEqual(10);
    // The seeded "missing prior auth" errors whose orders the payer approved are no longer errors:
    // the claims carry the numbers PAS obtained. Those it denied are still caught.
    const savedErrors = [...priorAuthFate].filter(([, fate]) => fate === 'saved').map(([e]) => e);
    const heldErrors = [...priorAuthFate].filter(([, fate]) => fate === 'held').map(([e]) => e);
    expect(savedErrors.length).toBeGreaterThan(0);
    expect(heldErrors.length).toBeGreaterThan(0);
    expect(outcome.seeded.missed).toEqual(savedErrors);
    expect(outcome.byRule['prior-auth']).toBe(heldErrors.length);
    expect(outcome.unexplained).toEqual([]);
    expect(Object.keys(outcome.byRule).sort()).toEqual(
      [
        'doc-order',
        'eligibility-inactive',
        'missing-dose',
        'missing-stop-time',
        'prior-auth',
        'subscriber-missing',
      ].sort(),
    );
  });

  test("the day starts with coverage: every covered patient's eligibility asked, every PAS answer as the payer's policy decides", () => {
    expect(coverage.eligibilityChecked).toBe(patientsCovered);
    expect(coverage.unverified).toBe(0);
    // Inactive: the patients whose coverage the seed ended (its "eligibility-inactive" errors).
    expect(inactivePatients).toBeGreaterThan(0);
    expect(coverage.inactive).toBe(inactivePatients);
    expect(coverage.active + coverage.inactive).toBe(patientsCovered);
    // Settled before billing: nothing pended, every case answered as the policy says.
    expect(coverage.pas).toEqual({ ...expectedPas, pended: 0, other: 0 });
  });

  test('the claims saved from an authorization denial: the seeded missing authorizations PAS obtained, billed with their numbers', () => {
    const expected = [...priorAuthFate]
      .filter(([, fate]) => fate === 'saved')
      .map(([e]) => `Encounter/${e.encounter}`);
    const encountersSaved = saved.flatMap((s) => observedEncounters.get(s.claim) ?? []);
    expect([...new Set(encountersSaved)].sort()).toEqual([...new Set(expected)].sort());
    for (const claim of saved) {
      expect(claim.numbers.length).toBeGreaterThan(0);
      expect(claim.state).not.toBe('held');
    }
  });

  test("a spouse who holds the coverage is the 837's subscriber (2010BA), the patient is in 2000C/2010CA", async () => {
    const coverages = await searchAll<Coverage>(server.store, SANDBOX_TENANT, 'Coverage');
    const spouseCoverage = coverages.find((c) => c.subscriber?.reference?.startsWith('RelatedPerson/'));
    expect(spouseCoverage).toBeDefined();
    const spouse = (await server.store.resources.read(
      SANDBOX_TENANT,
      'RelatedPerson',
      spouseCoverage?.subscriber?.reference?.split('/')[1] ?? '',
    )) as RelatedPerson;
    const claims = await searchAll<Claim>(server.store, SANDBOX_TENANT, 'Claim');
    const claim = claims.find((c) => c.patient.reference === spouseCoverage?.beneficiary.reference);
    const ctx = claim ? await server.claims.loadContext(SANDBOX_TENANT, claim.id) : undefined;
    expect(ctx?.subscriber?.id).toBe(spouse.id);
    const x12 = await write837ToString([ctx!], { ...ENVELOPE, kind: '837P', now: new Date() });
    expect(x12).toContain(`~NM1*IL*1*${spouse.name?.[0]?.family?.toUpperCase() ?? '?'}*`);
    expect(x12).toMatch(/~HL\*3\*2\*23\*0~PAT\*01~NM1\*QC\*1\*/);
  });

  test('a hospital outpatient claim names its attending (2310A): the practitioner who ordered the drugs', async () => {
    const claims = await searchAll<Claim>(server.store, SANDBOX_TENANT, 'Claim');
    const institutional = claims.filter((c) => c.type?.coding?.some((x) => x.code === 'institutional'));
    expect(institutional.length).toBeGreaterThan(0);
    for (const claim of institutional) {
      const encounter = (await server.store.resources.read(
        SANDBOX_TENANT,
        'Encounter',
        encountersOfClaim(claim)[0]?.split('/')[1] ?? '',
      )) as Encounter;
      // The seeded hospital visits name the physician as referrer, not attender: the orders decide.
      const orders = await searchAll<MedicationRequest>(server.store, SANDBOX_TENANT, 'MedicationRequest', [
        { code: 'patient', kind: 'reference', values: [encounter.subject?.reference ?? ''] },
      ]);
      const orderer = orders[0]?.requester?.reference?.split('/')[1] ?? '';
      const practitioner = (await server.store.resources.read(
        SANDBOX_TENANT,
        'Practitioner',
        orderer,
      )) as Practitioner;
      const npi = practitioner.identifier?.find((i) => i.system === 'http://hl7.org/fhir/sid/us-npi')?.value;
      const ctx = await server.claims.loadContext(SANDBOX_TENANT, claim.id);
      const x12 = await write837ToString([ctx!], { ...ENVELOPE, kind: '837I', now: new Date() });
      expect(x12).toContain(`~NM1*71*1*${practitioner.name?.[0]?.family?.toUpperCase() ?? '?'}*`);
      expect(x12).toContain(`*XX*${npi ?? '?'}~PRV*AT*PXC*`);
    }
  });
});

describe("the day's remittance (what npm run sandbox:day prints), from the payer's own answers", () => {
  test('paid, denied lines by category, underpaid dollars against the seeded contracts, work items by queue', async () => {
    // The payer's answers: the latest ClaimResponse it issued for each claim.
    const latest = new Map<string, ClaimResponse>();
    for (const r of await payer.claimResponses()) {
      if (r.use === 'claim' && r.request?.reference) {
        latest.set(r.request.reference, r);
      }
    }
    const cents = (x: number | undefined): number => Math.round((x ?? 0) * 100);
    let paid = 0;
    let underpaidCents = 0;
    let underpaidClaims = 0;
    const deniedByCategory: Record<string, number> = {};
    const byQueue: Record<string, number> = {};
    for (const [reference, response] of latest) {
      paid += cents(response.payment?.amount?.value);
      const claim = (await server.store.resources.read(
        SANDBOX_TENANT,
        'Claim',
        reference.replace(/^Claim\//, ''),
      )) as Claim;
      const queues = new Set<string>();
      let short = 0;
      for (const item of response.item ?? []) {
        const line = claim.item?.find((i) => i.sequence === item.itemSequence);
        const code = line?.productOrService.coding?.[0]?.code ?? '';
        const benefit = item.adjudication?.find((a) => a.category.coding?.[0]?.code === 'benefit');
        const denial = item.adjudication?.find(
          (a) =>
            a.category.coding?.[0]?.system === GROUP_CODE_SYSTEM &&
            a.category.coding[0].code !== 'PR' &&
            cents(a.amount?.value) > 0 &&
            a.reason?.coding?.some((c) => c.system === CARC_SYSTEM && c.code !== '45'),
        );
        if (cents(benefit?.amount?.value) === 0 && denial) {
          // Triage's queue for the line: the category of its CARC in the public code table.
          const carc = denial.reason?.coding?.find((c) => c.system === CARC_SYSTEM)?.code ?? '';
          const category = carcInfo(carc).category;
          deniedByCategory[category] = (deniedByCategory[category] ?? 0) + 1;
          queues.add(category);
        } else if (cents(benefit?.amount?.value) > 0 && RAISES_NOT_LOADED[code] !== undefined) {
          // Paid at last year's rate: short by the raise the payer's system never loaded, per unit.
          const raise = (RAISES_NOT_LOADED[code] ?? 0) - (ADMINISTRATION_RATES[code] ?? 0);
          short += Math.round(raise * (line?.quantity?.value ?? 0) * 100);
        }
      }
      for (const queue of queues) {
        byQueue[queue] = (byQueue[queue] ?? 0) + 1;
      }
      if (short > 0) {
        underpaidCents += short;
        underpaidClaims += 1;
        byQueue['underpayment'] = (byQueue['underpayment'] ?? 0) + 1;
      }
    }
    // The seeded contracts find underpayments: at least one claim paid at last year's rate.
    expect(underpaidClaims).toBeGreaterThan(0);
    const figures = await waitFor(
      'every answer posted and worked',
      async () => {
        const f = await remittanceFigures(server.store, SANDBOX_TENANT);
        return f.claimPayments >= latest.size && (await idle(CLAIM_ANSWER_QUEUE)) ? f : undefined;
      },
      60_000,
      // A look costs a few ms; the answers are often still being posted when the day has settled
      // (its claims answered), and a 500 ms gap was most of this test's time.
      100,
    );
    expect({
      paid: Math.round(figures.paid * 100),
      deniedByCategory: figures.deniedByCategory,
      underpayments: {
        count: figures.underpayments.count,
        cents: Math.round(figures.underpayments.dollars * 100),
      },
      workItemsByQueue: figures.workItemsByQueue,
    }).toEqual({
      paid,
      deniedByCategory,
      underpayments: { count: underpaidClaims, cents: underpaidCents },
      workItemsByQueue: byQueue,
    });
  }, 90_000);
});

describe("the day's ending (npm run sandbox:day): appeals due, a statement run, the analytics report", () => {
  test('an appeal opened with its deadline for each open denial work item; a statement and its PDF for each patient who owes; the report counts the appeals', async () => {
    const now = new Date();
    const denials = await openDenialItems(server.store, SANDBOX_TENANT);
    // The seeded day's payers deny some claims (the funnel's denial reasons): each is a work item.
    expect(denials.length).toBeGreaterThan(0);
    // What each patient owes, from the posted payments alone: Σ member liability (CAS group PR).
    const owed = new Map<string, number>();
    for (const eob of await searchAll<ExplanationOfBenefit>(
      server.store,
      SANDBOX_TENANT,
      'ExplanationOfBenefit',
    )) {
      if (eob.status !== 'active') {
        continue;
      }
      for (const item of eob.item ?? []) {
        for (const a of item.adjudication ?? []) {
          if (a.category.coding?.some((c) => c.code === 'memberliability')) {
            const p = eob.patient.reference ?? '';
            owed.set(p, (owed.get(p) ?? 0) + Math.round((a.amount?.value ?? 0) * 100));
          }
        }
      }
    }
    const owing = [...owed].filter(([, c]) => c > 0).map(([p]) => p);
    expect(owing.length).toBeGreaterThan(0);

    const { appeals, statements, report } = await dayRecovery(
      { store: server.store, config: dayConfig, tenants, now: () => now, dataDir: dir },
      SANDBOX_TENANT,
    );
    expect(appeals.map((a) => a.workItem)).toEqual(denials.map((d) => d.id));
    const today = now.toISOString().slice(0, 10);
    for (const appeal of appeals) {
      expect(appeal.status).toBe(201);
      expect(appeal.deadline! > today).toBe(true);
    }
    expect(statements.statements.map((s) => s.patient).sort()).toEqual(owing.sort());
    for (const statement of statements.statements) {
      expect(statement.amountDue).toBeCloseTo((owed.get(statement.patient) ?? 0) / 100, 2);
      expect(statement.pdf !== undefined && existsSync(statement.pdf)).toBe(true);
    }
    const filed = report.find((r) => r.measure === 'appeals')?.total['filed'];
    expect(filed).toBe(appeals.length);
  }, 60_000);
});
