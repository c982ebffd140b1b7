/**
 * What the prior authorization worker tests over real HTTP share (worker.test, worker-payer.test):
 * two sandbox payers on their own PAS endpoints — Buckeye, which Dripline subscribes to, and Zeta,
 * which offers no subscription and is followed by `$inquire` — and Dripline on the same moving
 * clock, with tenants A and Z and their parties and orders seeded; asks through
 * `POST /api/prior-auth` and waits on a tenant's requests.
 */
import type { Claim, MedicationRequest, Organization, Resource } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import { stateOf } from '../../../src/coverage/pas/records.ts';
import { sandboxPayers } from '../../../src/sandbox/index.ts';
import { startSandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { StoredResource } from '../../../src/store/port.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import type { AdvancingClock } from '../../../src/time/clock.ts';
import { fhirFetch, startTestServer } from '../../support/harness.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing, coverage, order, orderer, patient } from './fixtures.ts';

export const A = 'clinic-a';
export const Z = 'clinic-z';
export const SCOPE = 'system/MedicationRequest.r system/Claim.cr system/ClaimResponse.r system/Task.r';

const payerOrg = (id: string, payerId: string, name: string): Organization & { id: string } => ({
  resourceType: 'Organization',
  id,
  identifier: [{ system: 'https://ehr.test/sid/payer-id', value: payerId }],
  name,
});

const drugOrder = (
  id: string,
  patientId: string,
  ndcOrHcpcs: { ndc?: string; hcpcs?: string },
  doseMg: number,
  count: number,
): MedicationRequest & { id: string } => ({
  ...order,
  id,
  subject: { reference: `Patient/${patientId}` },
  medicationCodeableConcept: {
    coding: ndcOrHcpcs.ndc
      ? [{ system: 'http://hl7.org/fhir/sid/ndc', code: ndcOrHcpcs.ndc }]
      : [
          {
            system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
            code: ndcOrHcpcs.hcpcs ?? '',
          },
        ],
  },
  dosageInstruction: [
    {
      text: `${doseMg} mg IV`,
      timing: { repeat: { count } },
      doseAndRate: [
        { doseQuantity: { value: doseMg, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } },
      ],
    },
  ],
});

export interface PasWorkerWorld {
  /**
   * Dripline's and the payers' clock: the tests move it past a retry's backoff and an inquiry's
   * schedule instead of waiting for them (the payers' own review timers run in real time).
   */
  readonly clock: AdvancingClock;
  readonly payer: SandboxPayer;
  /** A second payer, on its own PAS endpoint, which Dripline does not subscribe to. */
  readonly other: SandboxPayer;
  readonly server: TestServer;
  /** Tenant A's token with SCOPE. */
  readonly token: string;
  /** Tenant A's order asked for through the API (with another tenant's token, that tenant's). */
  readonly ask: (
    orderId: string,
    extra?: object,
    tenantToken?: string,
  ) => Promise<{ status: number; body: any }>;
  /** The tenant's submissions for the order, first first. */
  readonly submissions: (tenant: string, orderId: string) => Promise<(Claim & StoredResource)[]>;
  /** The order's n-th submission once it is in `state`. */
  readonly stateReached: (
    tenant: string,
    orderId: string,
    n: number,
    state: string,
    timeoutMs?: number,
  ) => Promise<Claim & StoredResource>;
  readonly stop: () => Promise<void>;
}

/** Starts the payers and Dripline and seeds both tenants (a test file's beforeAll). */
export async function startPasWorkerWorld(): Promise<PasWorkerWorld> {
  const clock = advancingClock();
  const payer = await startSandboxPayer({ pas: { reviewDelayMs: 300 }, now: clock.now });
  const [endpoint] = (await sandboxPayers(
    payer,
    [{ id: 'buckeye', name: 'Buckeye Health Plan', payerId: 'BHP01', kind: 'commercial' }],
    { priorAuth: true },
  )) as [PayerEndpoint];
  const other = await startSandboxPayer({ pas: { reviewDelayMs: 300 }, now: clock.now });
  const [zetaEndpoint] = (await sandboxPayers(
    other,
    [{ id: 'zeta', name: 'Zeta Health', payerId: 'ZETA1', kind: 'commercial' }],
    { priorAuth: true },
  )) as [PayerEndpoint];
  const zeta = {
    ...zetaEndpoint,
    pas: { ...zetaEndpoint.pas!, subscription: 'off' as const, inquireMinutes: 5 },
  };
  const tenant = (id: string): Record<string, unknown> => ({
    id,
    name: id,
    timeZone: 'America/New_York',
    billing,
    payers: [endpoint, zeta],
  });
  // At run time (as the sandbox adds its payers), Zeta's slow schedule is 3 s instead of the 5
  // minutes the configuration allows at least: the test does not wait five minutes.
  const runtime = [A, Z].map((id) => ({
    id,
    name: id,
    timeZone: 'America/New_York',
    billing,
    connections: [],
    coding: {},
    payers: [endpoint, { ...zeta, pas: { ...zeta.pas, inquireMinutes: 0.05 } }],
  }));
  const server = await startTestServer(
    {},
    {
      now: clock.now,
      priorAuthWorker: { pollMs: 50 },
      claimWorkflow: { tenants: runtime },
      ingest: false,
      chargeCapture: false,
      claims: false,
    },
    { tenants: [tenant(A), tenant(Z)] },
  );
  const token = await server.token(A, SCOPE);

  const seed = async (tenantId: string, resources: (Resource & { id: string })[]): Promise<void> => {
    for (const r of resources) {
      const { meta: _meta, ...plain } = r;
      await server.running.store.resources.create(tenantId, plain, { id: r.id });
    }
  };
  for (const t of [A, Z]) {
    await seed(t, [
      payerOrg('payer-bhp', 'BHP01', 'Buckeye Health Plan'),
      payerOrg('payer-zeta', 'ZETA1', 'Zeta Health'),
      patient,
      { ...patient, id: 'pat-2' },
      { ...coverage, payor: [{ reference: 'Organization/payer-bhp' }] },
      {
        ...coverage,
        id: 'cov-2',
        beneficiary: { reference: 'Patient/pat-2' },
        payor: [{ reference: 'Organization/payer-zeta' }],
      },
      orderer,
      // Infliximab (J1745, 10 mg units): 400 mg × 3 doses = 120 units; the payer pends it.
      drugOrder('mr-1', 'pat-1', { ndc: '57894-0030-01' }, 400, 3),
      // Ocrelizumab (J2350, 1 mg units) and vedolizumab (J3380): approved as asked.
      drugOrder('mr-2', 'pat-1', { hcpcs: 'J2350' }, 600, 1),
      drugOrder('mr-3', 'pat-1', { hcpcs: 'J3380' }, 300, 1),
      drugOrder('mr-4', 'pat-2', { ndc: '57894-0030-01' }, 400, 1),
      // Ferric carboxymaltose (J1439, 1 mg units): two 750 mg doses, approved as asked.
      drugOrder('mr-5', 'pat-1', { hcpcs: 'J1439' }, 750, 2),
      // Rituximab (J9312): the sandbox plan denies it; immune globulin (J1459): it asks for more.
      drugOrder('mr-6', 'pat-1', { hcpcs: 'J9312' }, 100, 1),
      drugOrder('mr-7', 'pat-1', { hcpcs: 'J1459' }, 500, 1),
    ]);
  }

  const submissions = async (tenantId: string, orderId: string): Promise<(Claim & StoredResource)[]> =>
    (
      await searchAll<Claim>(server.running.store, tenantId, 'Claim', [
        { code: 'use', kind: 'token', values: [{ value: 'preauthorization' }] },
      ])
    )
      .filter((c) => c.extension?.some((e) => e.valueString?.startsWith(`MedicationRequest/${orderId}/`)))
      .sort((a, b) => Number(a.id.split('-').at(-1)) - Number(b.id.split('-').at(-1)));

  return {
    clock,
    payer,
    other,
    server,
    token,
    ask: (orderId, extra = {}, tenantToken = token) =>
      fhirFetch(`${server.url}/api/prior-auth`, tenantToken, {
        method: 'POST',
        body: { order: `MedicationRequest/${orderId}`, ...extra },
        headers: { 'content-type': 'application/json' },
      }),
    submissions,
    stateReached: (tenantId, orderId, n, state, timeoutMs = 20_000) =>
      waitFor(
        `submission ${n} of ${orderId} ${state}`,
        async () => {
          const claim = (await submissions(tenantId, orderId))[n - 1];
          return claim && stateOf(claim) === state ? claim : undefined;
        },
        timeoutMs,
      ),
    stop: async () => {
      await server.stop();
      await payer.stop();
      await other.stop();
    },
  };
}
