/**
 * A new claim waits for an eligibility check of its patient that is under way, so the scrubber
 * reads the answer about to come (src/claims/workflow/build-and-scrub.ts, `eligibilityUnderWay`):
 * proven over real HTTP between the sandbox EHR, the sandbox payer and Dripline. The payer's
 * eligibility endpoint sits behind a gate (an HTTP relay the test holds closed): while the
 * patients' due checks are pending at the payer, charges are captured and the claim step runs, but
 * no claim is built; once the gate opens and the payer answers, the claims are built, each after
 * its patient's answer was kept and soon after it: the check's end wakes the waiting claim job
 * (`JobQueue.wake`), long before the claim would look again on its own.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChargeItem, Claim, CoverageEligibilityResponse, Resource } from '@medplum/fhirtypes';
import { CLAIM_READY_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { ELIGIBILITY_QUEUE } from '../../src/coverage/eligibility/records.ts';
import { loadFhirDefinitions } from '../../src/fhir/definitions.ts';
import { loadRecord } from '../../src/ingest/records.ts';
import { INGEST_TOPICS } from '../../src/ingest/topics.ts';
import { sandboxConnection, sandboxEnrollment } from '../../src/sandbox/index.ts';
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
import { startTestServer } from '../support/harness.ts';
import type { TestServer } from '../support/harness.ts';
import { waitFor } from '../support/wait.ts';

const TENANT = 'sandbox';
const ZONE = 'America/New_York';
/**
 * How long a waiting claim waits before it looks again on its own (1 s in production): long here,
 * so that only the check's end waking it can explain a claim built soon after the answer.
 */
const LOOK_AGAIN_MS = 10_000;
/** A claim is built this soon after its patient's answer at most (wake, lease, build, scrub). */
const BUILT_WITHIN_MS = 2_500;

/**
 * An HTTP relay to the payer that holds every request until `open()`: the payer is slow to answer,
 * nothing more (requests and answers pass through unchanged).
 */
interface Gate {
  readonly url: string;
  /** Requests that reached the gate (held or passed). */
  readonly arrived: string[];
  open(): void;
  stop(): Promise<void>;
}

async function startGate(target: string): Promise<Gate> {
  let release: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  const arrived: string[] = [];
  const relay = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    arrived.push(`${req.method} ${req.url}`);
    await opened;
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'accept', 'content-type']) {
      const value = req.headers[name];
      if (typeof value === 'string') {
        headers[name] = value;
      }
    }
    const answer = await fetch(`${target}${req.url ?? ''}`, {
      method: req.method ?? 'GET',
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = Buffer.from(await answer.arrayBuffer());
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
    res.end(body);
  };
  const server: Server = createServer((req, res) => {
    relay(req, res).catch(() => {
      res.writeHead(502).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrived,
    open: () => release(),
    async stop() {
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let ehr: SandboxEhr;
let payer: SandboxPayer;
let gate: Gate;
let server: TestServer;

const store = () => server.running.store;
async function all<T extends Resource>(type: T['resourceType']): Promise<(T & StoredResource)[]> {
  return searchAll<T>(store(), TENANT, type);
}
const billedClaims = async (): Promise<(Claim & StoredResource)[]> =>
  (await all<Claim>('Claim')).filter((c) => c.use === 'claim');

beforeAll(async () => {
  loadFhirDefinitions();
  // A day that has ended in the centre's zone: its visits are billed as soon as they are coded.
  const day = addDays(localDate(testClock(), ZONE), -2);
  ehr = await startSandboxEhr({ port: 0, seed: { date: day, patients: 3, timeZone: ZONE }, now: testClock });
  const connection = await sandboxConnection(ehr);
  payer = await startSandboxPayer({
    port: 0,
    payerIds: Object.fromEntries(SEED_PAYERS.map((p) => [p.payerId, p.kind])),
    now: testClock,
    timeZone: ZONE,
    members: await sandboxEnrollment(ehr),
  });
  gate = await startGate(payer.fhirBaseUrl.replace(/\/+$/, ''));
  const client = await payerClientOf(
    payer,
    'system/Claim.crs system/ClaimResponse.rs system/CoverageEligibilityRequest.c',
  );
  server = await startTestServer(
    { LOG_LEVEL: 'warn', ...clockEnv() },
    {
      extraConnections: [{ tenant: TENANT, connection }],
      claimWorkflow: { holdMs: 0, sweepMs: 300, recheckMs: 300, eligibilityWaitPollMs: LOOK_AGAIN_MS },
      eligibilityWorker: { pollMs: 100 },
    },
    {
      tenants: [
        {
          id: TENANT,
          name: 'Sandbox infusion center',
          timeZone: ZONE,
          billing: SANDBOX_BILLING,
          // Eligibility is asked through the gate; claims go to the payer directly.
          payers: seededTenantPayers(payer, client, () => ({
            eligibility: { channel: 'fhir', url: gate.url, tokenUrl: payer.tokenUrl },
          })),
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
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await gate?.stop();
  await payer?.stop();
  await ehr?.stop();
});

test('while the patient’s due eligibility check is pending at the payer no claim is built; once answered, it is, at once', async () => {
  // The day's visits are coded and the claim step has run on them and waits, saying why.
  const waiting = await waitFor(
    'the claim step to have run and to wait',
    async () => {
      const jobs = [
        ...(await store().jobs.listJobs(TENANT, CLAIM_READY_QUEUE, 'ready', 100)),
        ...(await store().jobs.listJobs(TENANT, CLAIM_READY_QUEUE, 'done', 100)),
      ].filter((j) => j.lastError?.includes('an eligibility check of the patient is under way'));
      return jobs.length > 0 ? jobs : undefined;
    },
    12_000,
  );
  // No claim; and waiting is not failing: the step has spent none of its attempts.
  expect(await billedClaims()).toEqual([]);
  expect(waiting.map((j) => [j.state, j.attempts])).toEqual(waiting.map(() => ['ready', 0]));
  const charges = (await all<ChargeItem>('ChargeItem')).filter((c) => c.status === 'billable');
  expect(charges.length).toBeGreaterThan(0);
  // The payer has the checks and has not answered: they are under way (leased, or due next).
  expect(gate.arrived.some((r) => r.startsWith('POST /CoverageEligibilityRequest/$submit'))).toBe(true);
  expect(await all<CoverageEligibilityResponse>('CoverageEligibilityResponse')).toEqual([]);
  expect(await store().jobs.listJobs(TENANT, ELIGIBILITY_QUEUE, 'leased', 10)).not.toEqual([]);
  expect(await billedClaims()).toEqual([]);
  expect(await store().jobs.listJobs(TENANT, CLAIM_READY_QUEUE, 'dead', 10)).toEqual([]);

  // The payer answers: the claims are built, each after its patient's answer was kept.
  gate.open();
  const patients = [...new Set(charges.map((c) => c.subject.reference!))];
  const claims = await waitFor(
    'a claim for every patient charged',
    async () => {
      const found = await billedClaims();
      return patients.every((p) => found.some((c) => c.patient.reference === p)) ? found : undefined;
    },
    60_000,
  );
  const answers = await all<CoverageEligibilityResponse>('CoverageEligibilityResponse');
  for (const patient of patients) {
    const answered = answers
      .filter((a) => a.patient.reference === patient)
      .map((a) => Date.parse(a.meta.lastUpdated));
    expect(answered.length).toBeGreaterThan(0);
    const claim = claims.find((c) => c.patient.reference === patient)!;
    const firstVersion = (await store().resources.history(TENANT, 'Claim', claim.id)).resources.at(-1)!;
    const built = Date.parse(firstVersion.meta.lastUpdated);
    expect(built).toBeGreaterThanOrEqual(Math.min(...answered));
    // Built soon after the answer it waited for (the last one kept before it), not LOOK_AGAIN_MS later.
    const waitedFor = Math.max(...answered.filter((at) => at <= built));
    expect(built - waitedFor).toBeLessThan(BUILT_WITHIN_MS);
  }
}, 150_000);
