/**
 * The sandbox day's outcome, asserted (what `npm run sandbox:day` prints): every claim that carries
 * no deliberately seeded error passes its first scrub, every seeded error is caught by the rule
 * meant for it, and no claim is held for anything else. Then the day's 837s: a spouse who holds the
 * coverage is the subscriber (2010BA) with the patient in 2010CA, and a hospital outpatient claim
 * names its attending (2310A).
 *
 * The day is a week back (any hour of the day, every visit is over); the sandbox EHR, payer and
 * Dripline run in process as `npm start` wires them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  Claim,
  Coverage,
  Encounter,
  MedicationRequest,
  Practitioner,
  RelatedPerson,
} from '@medplum/fhirtypes';
import { encountersOfClaim } from '../../src/claims/workflow/identity.ts';
import { CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { write837ToString } from '../../src/x12/837/write837.ts';
import { ELIGIBILITY_QUEUE } from '../../src/coverage/eligibility/records.ts';
import { loadConfig } from '../../src/config/config.ts';
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
let ehr: SandboxEhr;
let payer: SandboxPayer;
let server: RunningServer;
let outcome: DayOutcome;

async function idle(queue: string): Promise<boolean> {
  const ready = await server.store.jobs.listJobs(SANDBOX_TENANT, queue, 'ready', 1);
  const leased = await server.store.jobs.listJobs(SANDBOX_TENANT, queue, 'leased', 1);
  return ready.length === 0 && leased.length === 0;
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
  });
  const payers = await sandboxPayers(payer, seeded);
  const connection = await sandboxConnection(ehr);
  server = await startServer(config, logger, {
    extraConnections: [{ tenant: SANDBOX_TENANT, connection }],
    claimWorkflow: {
      // Five seconds after an encounter ends before it is billed: with eligibility checks running beside
      // ingest, billing at once sometimes raced the charges of the visit's last administrations.
      holdMs: 5000,
      sweepMs: 300,
      tenants: config.tenants.map((t) => (t.id === SANDBOX_TENANT ? { ...t, payers } : t)),
    },
  });
  await waitFor('active subscriptions', async () =>
    (
      await Promise.all(INGEST_TOPICS.map((t) => loadRecord(server.store, SANDBOX_TENANT, connection.id, t)))
    ).every((r) => r?.status === 'active'),
  );
  await ehr.replay({ speed: 0 });
  let last = -1;
  let stable = 0;
  await waitFor(
    'the day to settle: queues idle, no claim between build and answer, the count unchanged',
    async () => {
      await ehr.idle();
      const queues = [
        INGEST_QUEUE,
        ENCOUNTER_CHANGED_QUEUE,
        CLAIM_READY_QUEUE,
        CLAIM_SUBMIT_QUEUE,
        ELIGIBILITY_QUEUE,
      ];
      const busy = !(await Promise.all(queues.map(idle))).every(Boolean);
      const claims = await searchAll<Claim>(server.store, SANDBOX_TENANT, 'Claim');
      const moving = claims.some((c) => ['built', 'submitting'].includes(claimStateOf(c) ?? ''));
      stable = !busy && !moving && claims.length > 0 && claims.length === last ? stable + 1 : 0;
      last = claims.length;
      return stable >= 3;
    },
    150_000,
    500,
  );
  const observed = await observeDay(server.store, SANDBOX_TENANT);
  outcome = dayOutcome(ehr.seededErrors, observed.claims, observed.coding);
}, 200_000);

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

  test('every seeded error is caught by the rule meant for it (100%), and nothing else holds a claim', () => {
    expect(outcome.seeded.total).toBeGreaterThanOrEqual(10);
    expect(outcome.seeded.missed).toEqual([]);
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
