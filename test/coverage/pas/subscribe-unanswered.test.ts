/**
 * A PAS subscribe whose answer never came, over real HTTP against the sandbox payer: the payer
 * makes the Subscription (and sends its handshake), then resets the connection unanswered. The
 * subscribe job's retry makes a second; once it is answered, Dripline searches the payer's
 * subscriptions at its notify endpoint and has the first deleted (src/coverage/pas/subscribe.ts,
 * subscription-orphan.ts). Where the payer refuses that delete or that search, a person is told on
 * a work item naming the payer and the subscription; where it refuses the retry's create, the
 * first is still swept. Another client's subscription at the same endpoint is not Dripline's to
 * see or delete (the payer scopes the search to the client). One tenant per test (each its own
 * endpoint).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Subscription, Task } from '@medplum/fhirtypes';
import {
  notifyPath,
  pasSubscription,
  readRecord,
  subscriptionRecordId,
} from '../../../src/coverage/pas/subscription.ts';
import { orphanWorkId } from '../../../src/coverage/pas/subscription-orphan.ts';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { call, tokenFor } from '../../sandbox/payer/helpers.ts';
import { billing } from './fixtures.ts';
import { drugOrder, pasHarness, seedPasOrders, startPasPayer, startPasServer } from './resend-harness.ts';

const clock = advancingClock();
const SWEPT = 'clinic-sub-swept';
const DELETE_REFUSED = 'clinic-sub-del-refused';
const SEARCH_REFUSED = 'clinic-sub-search-refused';
const OTHER_CLIENT = 'clinic-sub-other-client';
const CREATE_REFUSED = 'clinic-sub-create-refused';

let payer: SandboxPayer;
let endpoint: PayerEndpoint;
let server: TestServer;
const h = pasHarness(clock, SWEPT, () => server);

/** The jobs about a tenant's subscriptions at the payer: making one, sweeping, deleting. */
const subscriptionJob = (job: Job): boolean => /^(subscribe|subscribe-sweep|unsubscribe)\|/.test(job.key);

beforeAll(async () => {
  const started = await startPasPayer(clock);
  payer = started.payer;
  endpoint = started.endpoint;
  const tenants = [SWEPT, DELETE_REFUSED, SEARCH_REFUSED, OTHER_CLIENT, CREATE_REFUSED].map((id) => ({
    id,
    name: id,
    timeZone: 'America/New_York',
    billing,
    payers: [endpoint],
  }));
  server = await startPasServer(h, clock, tenants);
  // Ocrelizumab (J2350): certified as asked, so nothing but the subscription is followed.
  await seedPasOrders(
    server,
    Object.fromEntries(tenants.map((t) => [t.id, [drugOrder('mr-sub', 'J2350', 600)]])),
  );
}, 60_000);

afterAll(async () => {
  await server.stop();
  await payer.stop();
});

/** The tenant's subscriptions at the payer (those at its notify endpoint). */
const heldFor = (tenant: string): Subscription[] =>
  payer.pas.subscriptions().filter((s) => s.channel.endpoint?.includes(`/pas/${tenant}/`));

/** The payer id of the subscription the tenant keeps, once its record has one. */
async function keptId(tenant: string): Promise<string | undefined> {
  const kept = await readOptional<Subscription>(
    server.running.store,
    tenant,
    'Subscription',
    subscriptionRecordId('buckeye'),
  );
  return kept ? readRecord(kept).payerSubscriptionId : undefined;
}

/**
 * Asks for the order's prior authorization while the payer drops its subscribe answers; once the
 * payer has made a subscription and the subscribe job is backing off, the payer answers again
 * (with `then`) and the retry runs now. Resolves with the first subscription (Dripline never heard of it).
 */
async function subscribeUnanswered(tenant: string, then: Parameters<SandboxPayer['setBehaviour']>[0]) {
  const before = new Set(heldFor(tenant).map((s) => s.id));
  payer.setBehaviour({ dropPasSubscribeAnswers: true });
  expect(await h.ask('mr-sub', tenant)).toBe(202);
  const backingOff = await waitFor(
    'the subscribe tried once, unanswered',
    async () =>
      (await h.jobsOf('ready', (j) => j.key.startsWith('subscribe|'), tenant)).find((j) => j.attempts >= 1),
    15_000,
    50,
  );
  const made = heldFor(tenant).filter((s) => !before.has(s.id));
  expect(made).toHaveLength(1);
  const [first] = made;
  expect(await keptId(tenant)).toBeUndefined();
  payer.setBehaviour(then);
  h.runAtNow(backingOff);
  server.running.priorAuth.notify();
  return first!;
}

/** The tenant's subscription jobs all ended, and its record keeps a subscription. */
const settled = (tenant: string, dead: number): Promise<string> =>
  waitFor(
    'the subscription jobs ended',
    async () => {
      const id = await keptId(tenant);
      return id &&
        (await h.queuedJobs(subscriptionJob, tenant)).length === 0 &&
        (await h.jobsOf('dead', subscriptionJob, tenant)).length === dead
        ? id
        : undefined;
    },
    20_000,
    50,
  );

test('a subscribe whose answer never came leaves the payer only the subscription Dripline keeps', async () => {
  const first = await subscribeUnanswered(SWEPT, {});
  const kept = await settled(SWEPT, 0);
  expect(kept).not.toBe(first.id);
  expect(heldFor(SWEPT).map((s) => s.id)).toEqual([kept]);
  // Found by the sweep and deleted by its own job, once.
  const deletions = await h.jobsOf('done', (j) => j.key.startsWith('unsubscribe|'), SWEPT);
  expect(deletions.map((j) => j.payload)).toEqual([
    { kind: 'unsubscribe', payer: 'buckeye', subscription: first.id },
  ]);
  expect(await h.jobsOf('done', (j) => j.key.startsWith('subscribe-sweep|'), SWEPT)).toHaveLength(1);
}, 40_000);

test('a delete the payer refuses leaves a work item naming the payer and the subscription', async () => {
  const first = await subscribeUnanswered(DELETE_REFUSED, { refusePasSubscriptionDeletes: 403 });
  const kept = await settled(DELETE_REFUSED, 1);
  // Both are still at the payer: the first is a person's to have deleted.
  expect(heldFor(DELETE_REFUSED).map((s) => s.id)).toEqual([first.id, kept]);
  const task = await waitFor('the work item', () =>
    readOptional<Task>(server.running.store, DELETE_REFUSED, 'Task', orphanWorkId('buckeye', first.id)),
  );
  expect(task.status).toBe('requested');
  expect(task.code?.coding?.[0]?.code).toBe('subscription-left');
  expect(task.for).toBeUndefined();
  expect(task.note).toHaveLength(1);
  const note = task.note?.[0]?.text ?? '';
  expect(note).toContain('Buckeye Health Plan (buckeye)');
  expect(note).toContain(`Subscription/${first.id}`);
  expect(note).toContain('HTTP 403');
  payer.setBehaviour({});
}, 40_000);

test('a search the payer refuses leaves a work item naming the payer, the endpoint and the kept subscription', async () => {
  const first = await subscribeUnanswered(SEARCH_REFUSED, { refusePasSubscriptionSearch: 405 });
  const kept = await settled(SEARCH_REFUSED, 1);
  expect(heldFor(SEARCH_REFUSED).map((s) => s.id)).toEqual([first.id, kept]);
  const task = await waitFor('the work item', () =>
    readOptional<Task>(server.running.store, SEARCH_REFUSED, 'Task', orphanWorkId('buckeye')),
  );
  expect(task.code?.coding?.[0]?.code).toBe('subscription-left');
  const note = task.note?.[0]?.text ?? '';
  expect(note).toContain('HTTP 405');
  expect(note).toContain(`Subscription/${kept}`);
  expect(note).toContain(`/pas/${SEARCH_REFUSED}/buckeye/notify`);
  payer.setBehaviour({});
}, 40_000);

test("another client's subscription at the same endpoint is neither found nor deleted by the sweep", async () => {
  // Another client of the payer (not Dripline's credentials) subscribes at this tenant's endpoint.
  const stranger = await tokenFor(payer, 'system/Subscription.cruds');
  const theirs = await call(payer.pasFhirBaseUrl, stranger, 'Subscription', {
    method: 'POST',
    body: pasSubscription({
      endpoint: `${server.url}${notifyPath(OTHER_CLIENT, 'buckeye')}`,
      senderId: '1999999984',
      secret: 'not-dripline',
    }),
  });
  expect(theirs.status).toBe(201);
  const first = await subscribeUnanswered(OTHER_CLIENT, {});
  const kept = await settled(OTHER_CLIENT, 0);
  // Dripline's first is swept; the other client's stays, never searched out nor deleted.
  const deletions = await h.jobsOf('done', (j) => j.key.startsWith('unsubscribe|'), OTHER_CLIENT);
  expect(deletions.map((j) => j.payload)).toEqual([
    { kind: 'unsubscribe', payer: 'buckeye', subscription: first.id },
  ]);
  expect(heldFor(OTHER_CLIENT).map((s) => s.id)).toEqual([theirs.body.id, kept]);
}, 40_000);

test('a create refused after one whose answer never came still has what that one made deleted', async () => {
  const first = await subscribeUnanswered(CREATE_REFUSED, { refusePasSubscriptionCreates: 403 });
  // The payer refused the retry: Dripline keeps no subscription there and follows by $inquire.
  await waitFor(
    'the subscription jobs ended, none kept',
    async () => {
      const record = await readOptional<Subscription>(
        server.running.store,
        CREATE_REFUSED,
        'Subscription',
        subscriptionRecordId('buckeye'),
      );
      return (
        record !== undefined &&
        readRecord(record).unsupported &&
        (await h.queuedJobs(subscriptionJob, CREATE_REFUSED)).length === 0
      );
    },
    20_000,
    50,
  );
  expect(await keptId(CREATE_REFUSED)).toBeUndefined();
  expect(heldFor(CREATE_REFUSED)).toEqual([]);
  const deletions = await h.jobsOf('done', (j) => j.key.startsWith('unsubscribe|'), CREATE_REFUSED);
  expect(deletions.map((j) => j.payload)).toEqual([
    { kind: 'unsubscribe', payer: 'buckeye', subscription: first.id },
  ]);
  expect(await h.jobsOf('dead', subscriptionJob, CREATE_REFUSED)).toEqual([]);
  payer.setBehaviour({});
}, 40_000);
