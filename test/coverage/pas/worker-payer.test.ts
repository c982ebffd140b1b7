/**
 * Dripline's prior authorization work over real HTTP against the sandbox payers' PAS endpoints, on
 * the payer's side: a payer that is down, or answers with something that is not PAS; the
 * notification receiver's bad input (no or wrong secret, another subscription, not a notification,
 * another tenant's request); `$inquire` for a payer without subscriptions, on its slow schedule.
 * Asks through the API and the command line: worker.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Claim, Task } from '@medplum/fhirtypes';
import { caseIdOf, PRIOR_AUTH_QUEUE, requestDocumentId, stateOf } from '../../../src/coverage/pas/records.ts';
import {
  recordResource,
  subscriptionRecordId,
  pasSubscription,
} from '../../../src/coverage/pas/subscription.ts';
import { PAS_TOPIC } from '../../../src/contract/pas.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import type { AdvancingClock } from '../../../src/time/clock.ts';
import { fhirFetch } from '../../support/harness.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing } from './fixtures.ts';
import { A, SCOPE, startPasWorkerWorld, Z } from './worker-setup.ts';
import type { PasWorkerWorld } from './worker-setup.ts';

let clock: AdvancingClock;
let payer: SandboxPayer;
let other: SandboxPayer;
let server: TestServer;
let world: PasWorkerWorld;
let ask: PasWorkerWorld['ask'];
let submissions: PasWorkerWorld['submissions'];
let stateReached: PasWorkerWorld['stateReached'];

beforeAll(async () => {
  world = await startPasWorkerWorld();
  ({ clock, payer, other, server, ask, submissions, stateReached } = world);
}, 60_000);

afterAll(() => world.stop());

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
