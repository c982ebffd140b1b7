/**
 * Dripline's prior authorization work over real HTTP against the sandbox payer's PAS endpoint:
 * asked through the API, kept then sent, pended then approved by the subscription notification;
 * idempotent per order version; Claim Updates and cancels; the notification receiver's bad input
 * (no or wrong secret, another subscription, not a notification, another tenant's request); a payer
 * that is down, or answers with something that is not PAS; `$inquire` for a payer without
 * subscriptions, on its slow schedule.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  Claim,
  ClaimResponse,
  MedicationRequest,
  Organization,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { authorizationsOf } from '../../../src/coverage/authorizations.ts';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import { PriorAuthUsageError, runPriorAuth } from '../../../src/cli/prior-auth-command.ts';
import { caseIdOf, PRIOR_AUTH_QUEUE, requestDocumentId, stateOf } from '../../../src/coverage/pas/records.ts';
import {
  recordResource,
  subscriptionRecordId,
  pasSubscription,
} from '../../../src/coverage/pas/subscription.ts';
import { PAS_TOPIC } from '../../../src/contract/pas.ts';
import { sandboxPayers } from '../../../src/sandbox/index.ts';
import { startSandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { StoredResource } from '../../../src/store/port.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import { fhirFetch, startTestServer } from '../../support/harness.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import { billing, coverage, order, orderer, patient } from './fixtures.ts';

/**
 * Dripline's and the payers' clock: the tests move it past a retry's backoff and an inquiry's
 * schedule instead of waiting for them (the payers' own review timers run in real time).
 */
const clock = advancingClock();
let payer: SandboxPayer;
/** A second payer, on its own PAS endpoint, which Dripline does not subscribe to. */
let other: SandboxPayer;
let server: TestServer;
let token: string;

const A = 'clinic-a';
const Z = 'clinic-z';
const SCOPE = 'system/MedicationRequest.r system/Claim.cr system/ClaimResponse.r system/Task.r';

const payerOrg = (id: string, payerId: string, name: string): Organization & { id: string } => ({
  resourceType: 'Organization',
  id,
  identifier: [{ system: 'https://ehr.test/sid/payer-id', value: payerId }],
  name,
});

async function seed(tenant: string, resources: (Resource & { id: string })[]): Promise<void> {
  for (const r of resources) {
    const { meta: _meta, ...plain } = r;
    await server.running.store.resources.create(tenant, plain, { id: r.id });
  }
}

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

async function submissions(tenant: string, orderId: string): Promise<(Claim & StoredResource)[]> {
  return (
    await searchAll<Claim>(server.running.store, tenant, 'Claim', [
      { code: 'use', kind: 'token', values: [{ value: 'preauthorization' }] },
    ])
  )
    .filter((c) => c.extension?.some((e) => e.valueString?.startsWith(`MedicationRequest/${orderId}/`)))
    .sort((a, b) => Number(a.id.split('-').at(-1)) - Number(b.id.split('-').at(-1)));
}

const ask = (
  orderId: string,
  extra: object = {},
  tenantToken = token,
): Promise<{ status: number; body: any }> =>
  fhirFetch(`${server.url}/api/prior-auth`, tenantToken, {
    method: 'POST',
    body: { order: `MedicationRequest/${orderId}`, ...extra },
    headers: { 'content-type': 'application/json' },
  });

async function stateReached(
  tenant: string,
  orderId: string,
  n: number,
  state: string,
  timeoutMs = 20_000,
): Promise<Claim & StoredResource> {
  return waitFor(
    `submission ${n} of ${orderId} ${state}`,
    async () => {
      const claim = (await submissions(tenant, orderId))[n - 1];
      return claim && stateOf(claim) === state ? claim : undefined;
    },
    timeoutMs,
  );
}

let endpoint: PayerEndpoint;

beforeAll(async () => {
  payer = await startSandboxPayer({ pas: { reviewDelayMs: 300 }, now: clock.now });
  [endpoint] = (await sandboxPayers(
    payer,
    [{ id: 'buckeye', name: 'Buckeye Health Plan', payerId: 'BHP01', kind: 'commercial' }],
    { priorAuth: true },
  )) as [PayerEndpoint];
  other = await startSandboxPayer({ pas: { reviewDelayMs: 300 }, now: clock.now });
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
  server = await startTestServer(
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
  token = await server.token(A, SCOPE);
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
}, 60_000);

afterAll(async () => {
  await server.stop();
  await payer.stop();
  await other.stop();
});

describe('asked through the API', () => {
  test('kept, sent, pended, approved by the subscription notification; the status answers it', async () => {
    const asked = await ask('mr-1');
    expect(asked.status).toBe(202);
    const approved = await stateReached(A, 'mr-1', 1, 'certified');
    const states = (await server.running.store.resources.history(A, 'Claim', approved.id)).resources
      .map((v) => stateOf(v as Claim))
      .reverse();
    expect(states).toEqual(['prepared', 'pended', 'certified']);
    const status = await fhirFetch(`${server.url}/api/prior-auth?order=MedicationRequest/mr-1`, token);
    expect(status.status).toBe(200);
    expect(status.body.cases).toEqual([
      expect.objectContaining({
        payer: 'buckeye',
        status: 'certified',
        items: [
          expect.objectContaining({
            decision: 'certified',
            number: expect.stringMatching(/^AUTH/),
            authorized: { code: 'J1745', units: 120 },
          }),
        ],
      }),
    ]);
  });

  test('the same order version asked again sends nothing new', async () => {
    const before = payer.pas.cases().length;
    await ask('mr-1');
    await waitFor(
      'the ask processed',
      async () =>
        (await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'ready', 10)).length === 0 &&
        (await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'leased', 10)).length === 0,
    );
    expect((await submissions(A, 'mr-1')).length).toBe(1);
    expect(payer.pas.cases().length).toBe(before);
  });

  test('the order changes (a fourth dose): a Claim Update relating to the first, which is superseded', async () => {
    const current = (await server.running.store.resources.read(
      A,
      'MedicationRequest',
      'mr-1',
    )) as MedicationRequest & StoredResource;
    await server.running.store.resources.update(A, {
      ...current,
      dosageInstruction: [{ ...current.dosageInstruction![0]!, timing: { repeat: { count: 4 } } }],
    });
    await ask('mr-1');
    const update = await stateReached(A, 'mr-1', 2, 'certified');
    expect(update.related?.[0]?.claim?.reference).toBe(`Claim/${(await submissions(A, 'mr-1'))[0]!.id}`);
    expect(update.item?.[0]?.quantity?.value).toBe(160);
    expect(stateOf((await submissions(A, 'mr-1'))[0]!)).toBe('superseded');
    // One case at the payer: the update changed it.
    expect(
      payer.pas.cases().filter((c) => c.items.some((i) => i.code === 'J1745' && i.units === 160)),
    ).toHaveLength(1);
  });

  test('cancel: a Claim Update cancelling all; the authorization on file authorizes nothing any more', async () => {
    expect((await ask('mr-1', { cancel: true })).status).toBe(202);
    const cancelled = await stateReached(A, 'mr-1', 3, 'cancelled');
    const caseId = caseIdOf(cancelled.id);
    const response = (await server.running.store.resources.read(A, 'ClaimResponse', caseId)) as ClaimResponse;
    expect(response.status).toBe('cancelled');
    expect(authorizationsOf([response], [cancelled])).toEqual([]);
  });

  test('bad asks: no order, an unknown order, a token without the scopes', async () => {
    expect(
      (
        await fhirFetch(`${server.url}/api/prior-auth`, token, {
          method: 'POST',
          body: { cancel: 'yes' },
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(400);
    expect((await ask('nope')).status).toBe(404);
    const weak = await server.token(A, 'system/Claim.r');
    const refused = await ask('mr-1', {}, weak);
    expect(refused.status).toBe(403);
    expect(refused.body.resourceType).toBe('OperationOutcome');
  });
});

describe('what a person has to act on', () => {
  const caseOf = (claim: Claim & StoredResource): string => caseIdOf(claim.id);

  test('a denial: the ClaimResponse on file authorizes nothing; an urgent work item names the payer’s reason', async () => {
    await ask('mr-6');
    const denied = await stateReached(A, 'mr-6', 1, 'denied');
    const response = (await server.running.store.resources.read(
      A,
      'ClaimResponse',
      caseOf(denied),
    )) as ClaimResponse;
    expect(authorizationsOf([response], [denied])).toEqual([]);
    const task = (await server.running.store.resources.read(A, 'Task', `${caseOf(denied)}-work`)) as Task;
    expect(task.code?.coding?.[0]?.code).toBe('denied');
    expect(task.priority).toBe('urgent');
    expect(task.note?.at(-1)?.text).toMatch(/no documented trial of a conventional DMARD/);
  });

  test('a request for more information: a work item naming what the payer needs, closed when the payer decides', async () => {
    await ask('mr-7');
    const pended = await stateReached(A, 'mr-7', 1, 'pended');
    const taskId = `${caseOf(pended)}-work`;
    const task = (await server.running.store.resources.read(A, 'Task', taskId)) as Task;
    expect(task.code?.coding?.[0]?.code).toBe('more-information');
    expect(task.status).toBe('requested');
    expect(task.note?.at(-1)?.text).toMatch(/Serum IgG level and infection history/);
    await stateReached(A, 'mr-7', 1, 'certified');
    const done = await waitFor('the work item closed', async () => {
      const t = (await server.running.store.resources.read(A, 'Task', taskId)) as Task;
      return t.status === 'completed' ? t : undefined;
    });
    expect(done.note?.at(-1)?.text).toMatch(/decided .*: certified/);
  });
});

describe('asked from the command line (npm run cli -- prior-auth)', () => {
  test('queued on the store the server runs on; --wait answers where the order stands', async () => {
    const result = await runPriorAuth(server.config, server.running.store, [
      'MedicationRequest/mr-5',
      '--tenant',
      A,
      '--wait',
      '20',
    ]);
    expect(result).toMatchObject({ order: 'MedicationRequest/mr-5', tenant: A, queued: true });
    expect(result['cases']).toEqual([
      expect.objectContaining({
        payer: 'buckeye',
        status: 'certified',
        items: [expect.objectContaining({ authorized: { code: 'J1439', units: 1500 } })],
      }),
    ]);
  });

  test('usage errors name what is wrong; nothing is queued', async () => {
    const before = (await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'ready', 100)).length;
    const run = (argv: string[]): Promise<unknown> => runPriorAuth(server.config, server.running.store, argv);
    await expect(run([])).rejects.toThrow(PriorAuthUsageError);
    await expect(run(['mr-5'])).rejects.toThrow(/name the tenant/);
    await expect(run(['mr-5', '--tenant', 'nobody'])).rejects.toThrow(/name the tenant/);
    await expect(run(['nope', '--tenant', A])).rejects.toThrow(/not on file/);
    await expect(run(['mr-5', '--tenant', A, '--wait', 'soon'])).rejects.toThrow(/--wait/);
    expect((await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'ready', 100)).length).toBe(before);
  });
});

describe('the payer down, or answering with something that is not PAS', () => {
  test('down: retried with backoff, the same kept bytes sent once it is back', async () => {
    payer.setBehaviour({ unavailable: 503 });
    await ask('mr-2');
    const kept = await stateReached(A, 'mr-2', 1, 'prepared');
    await waitFor('a failed attempt', async () =>
      (await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'ready', 10)).some(
        (j) => j.key.startsWith('send|') && j.attempts >= 1,
      ),
    );
    const requestBefore = await server.running.store.resources.read(
      A,
      'DocumentReference',
      requestDocumentId(kept.id),
    );
    payer.setBehaviour({});
    // The next attempt is due when its backoff is over: move the clock there.
    const retry = (await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'ready', 10)).find((j) =>
      j.key.startsWith('send|'),
    );
    if (retry) {
      clock.advance(Math.max(0, Date.parse(retry.runAt) - clock.now().getTime()));
    }
    await stateReached(A, 'mr-2', 1, 'certified', 30_000);
    const requestAfter = await server.running.store.resources.read(
      A,
      'DocumentReference',
      requestDocumentId(kept.id),
    );
    expect(requestAfter.meta.versionId).toBe(requestBefore.meta.versionId);
    expect(
      payer.pas.cases().filter((c) => c.claimKeys.includes(`urn:trnorg:${billing.npi}|${kept.id}`)),
    ).toHaveLength(1);
  });

  test('an answer that is not PAS: kept with a work item, nothing decided; asked again, the same request goes again', async () => {
    payer.setBehaviour({ garbleSubmitAnswers: 'invalid-fhir' });
    await ask('mr-3');
    const unanswered = await stateReached(A, 'mr-3', 1, 'unanswered');
    const caseId = caseIdOf(unanswered.id);
    const task = (await server.running.store.resources.read(A, 'Task', `${caseId}-work`)) as Task;
    expect(task.code?.coding?.[0]?.code).toBe('invalid-answer');
    expect(task.note?.at(-1)?.text).toMatch(/bare ClaimResponse/);
    await expect(server.running.store.resources.read(A, 'ClaimResponse', caseId)).rejects.toThrow();
    payer.setBehaviour({});
    await ask('mr-3');
    await stateReached(A, 'mr-3', 1, 'certified');
    expect((await submissions(A, 'mr-3')).length).toBe(1);
  });
});

describe('the notification receiver', () => {
  const secret = 'test-secret-of-the-zeta-subscription-0123456789';
  const notifyUrl = (): string => `${server.url}/pas/${A}/zeta/notify`;
  const post = (body: unknown, auth?: string): Promise<{ status: number; headers: Headers; body: any }> =>
    fhirFetch(notifyUrl(), undefined, { method: 'POST', body, headers: auth ? { authorization: auth } : {} });
  const notification = (subscription: string, responseBundle: unknown): object => ({
    resourceType: 'Bundle',
    type: 'history',
    timestamp: '2026-12-04T12:00:00Z',
    entry: [
      {
        fullUrl: 'urn:uuid:8b4a6c1e-0d2f-4f55-9a37-1c2b3d4e5f60',
        resource: {
          resourceType: 'Parameters',
          parameter: [
            {
              name: 'subscription',
              valueReference: { reference: `http://payer.test/Subscription/${subscription}` },
            },
            { name: 'topic', valueCanonical: PAS_TOPIC },
            { name: 'type', valueCode: 'event-notification' },
            {
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: '1' },
                { name: 'focus', valueReference: { reference: 'http://payer.test/Bundle/r1' } },
              ],
            },
          ],
        },
        request: { method: 'GET', url: 'http://payer.test/Subscription/x/$status' },
        response: { status: '200' },
      },
      {
        fullUrl: 'http://payer.test/Bundle/r1',
        resource: responseBundle,
        request: { method: 'GET', url: 'http://payer.test/Bundle/r1' },
        response: { status: '200' },
      },
    ],
  });

  beforeAll(async () => {
    // Zeta offers no subscription; the record stands for one Dripline would have made there.
    const sent = pasSubscription({ endpoint: notifyUrl(), senderId: billing.npi, secret });
    await server.running.store.resources.create(
      A,
      recordResource({ payer: 'zeta', sent, secret, payerSubscriptionId: 'sub-1', status: 'active' }),
      { id: subscriptionRecordId('zeta') },
    );
  });

  test('no secret, or a wrong one: 401 with a challenge', async () => {
    const none = await post({ resourceType: 'Bundle', type: 'history' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    expect((await post({ resourceType: 'Bundle', type: 'history' }, 'Bearer not-the-secret')).status).toBe(
      401,
    );
    expect(
      (
        await fhirFetch(`${server.url}/pas/${A}/nobody/notify`, undefined, {
          method: 'POST',
          body: { resourceType: 'Bundle', type: 'history' },
          headers: { authorization: `Bearer ${secret}` },
        })
      ).status,
    ).toBe(404);
  });

  test('a notification of another subscription than its secret: 403', async () => {
    const res = await post(
      notification('other', { resourceType: 'Bundle', type: 'collection' }),
      `Bearer ${secret}`,
    );
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('not a notification: 400, kept with a work item, nothing else changes', async () => {
    const res = await post({ resourceType: 'Patient', id: 'x' }, `Bearer ${secret}`);
    expect(res.status).toBe(400);
    const task = await waitFor('the work item', async () =>
      (await searchAll<Task>(server.running.store, A, 'Task', [])).find(
        (t) => t.code?.coding?.[0]?.code === 'invalid-answer' && t.id?.startsWith('pas-unmatched-'),
      ),
    );
    expect(task.note?.[0]?.text).toMatch(/history/);
  });

  test('an answer naming another tenant’s request: a work item here, nothing changes there', async () => {
    const zToken = await server.token(Z, SCOPE);
    await ask('mr-2', {}, zToken);
    const theirs = await stateReached(Z, 'mr-2', 1, 'certified');
    const caseId = caseIdOf(theirs.id);
    const before = (await server.running.store.resources.history(Z, 'ClaimResponse', caseId)).total;
    const response = {
      resourceType: 'Bundle',
      identifier: { system: 'urn:x', value: 'n1' },
      type: 'collection',
      timestamp: '2026-12-04T12:00:00Z',
      entry: [
        {
          fullUrl: 'http://payer.test/ClaimResponse/r1',
          resource: {
            resourceType: 'ClaimResponse',
            id: 'r1',
            status: 'active',
            type: {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
            },
            use: 'preauthorization',
            patient: { reference: 'Patient/pat-1' },
            created: '2026-12-04T12:00:00Z',
            insurer: { reference: 'Organization/payer' },
            request: { identifier: theirs.identifier![0] },
            outcome: 'complete',
            item: [
              {
                itemSequence: 1,
                adjudication: [
                  {
                    category: {
                      coding: [
                        { system: 'http://terminology.hl7.org/CodeSystem/adjudication', code: 'submitted' },
                      ],
                    },
                    extension: [
                      {
                        url: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction',
                        extension: [
                          {
                            url: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode',
                            valueCodeableConcept: {
                              coding: [{ system: 'https://codesystem.x12.org/005010/306', code: 'A3' }],
                            },
                          },
                        ],
                      },
                    ],
                  },
                ],
              },
            ],
          },
        },
      ],
    };
    const res = await post(notification('sub-1', response), `Bearer ${secret}`);
    expect(res.status).toBe(200);
    const task = await waitFor('the work item', async () =>
      (await searchAll<Task>(server.running.store, A, 'Task', [])).find(
        (t) => t.code?.coding?.[0]?.code === 'unknown-answer',
      ),
    );
    expect(task.note?.[0]?.text).toMatch(/names no prior authorization request of this tenant/);
    expect((await server.running.store.resources.history(Z, 'ClaimResponse', caseId)).total).toBe(before);
    expect(stateOf((await server.running.store.resources.read(Z, 'Claim', theirs.id)) as Claim)).toBe(
      'certified',
    );
  });
});

describe('a payer without subscriptions', () => {
  test('a pended request is followed by $inquire on the payer’s slow schedule', async () => {
    await ask('mr-4');
    const pended = await stateReached(A, 'mr-4', 1, 'pended');
    const caseId = caseIdOf(pended.id);
    const inquiry = await waitFor('the inquiry scheduled', async () =>
      (await server.running.store.jobs.listJobs(A, PRIOR_AUTH_QUEUE, 'ready', 50)).find(
        (j) => j.key === `inquire|${caseId}|1`,
      ),
    );
    const due = Date.parse(inquiry.runAt) - clock.now().getTime();
    expect(due).toBeGreaterThan(1_000);
    expect(due).toBeLessThanOrEqual(3_000);
    // The payer decides; at the next inquiry (the clock moved to it) Dripline learns it.
    await other.pas.finishReviews();
    clock.advance(due);
    const certified = await stateReached(A, 'mr-4', 1, 'certified', 15_000);
    const docs = (await searchAll(server.running.store, A, 'DocumentReference', [])).filter(
      (d) =>
        d.resourceType === 'DocumentReference' &&
        d.context?.related?.some((r) => r.reference === `Claim/${certified.id}`),
    );
    expect(docs.map((d) => (d.resourceType === 'DocumentReference' ? d.type?.text : '')).sort()).toEqual([
      'PAS inquiry Bundle sent (Claim/$inquire)',
      'PAS request Bundle sent (Claim/$submit)',
      'Payer answer to Claim/$inquire',
      'Payer answer to Claim/$submit',
    ]);
  });
});
