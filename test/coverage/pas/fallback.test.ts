/**
 * A pended request at a payer Dripline is subscribed to, whose notification never comes (lost, the
 * payer's outage, a subscription the payer ended), over real HTTP against the sandbox payer: Dripline
 * inquires `inquireMinutes` after the pend (the injected clock is moved, never waited for), applies
 * the decision the inquiry learns, and the notification that arrives late changes nothing more; a
 * person's ask inquires at once. A subscribe that dies leaves a work item saying Dripline relies on
 * inquiries, closed once it subscribes. The work items written when a PAS job dies, the "cannot
 * request" one and a notification's that names no request are audited; a dead send keeps an open
 * "more information" work item what it is.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type {
  AuditEvent,
  ClaimResponse,
  DocumentReference,
  MedicationRequest,
  Subscription,
  Task,
} from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import { stateOf } from '../../../src/coverage/pas/records.ts';
import {
  pasSubscription,
  readRecord,
  recordResource,
  subscriptionRecordId,
  subscriptionWorkId,
} from '../../../src/coverage/pas/subscription.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job, StoredResource } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { searchAll } from '../../../src/store/search-all.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import { fhirFetch } from '../../support/harness.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing } from './fixtures.ts';
import {
  caseOf,
  drugOrder,
  inquiryOf,
  pasHarness,
  sendOf,
  seedPasOrders,
  startPasPayer,
  startPasServer,
} from './resend-harness.ts';

const clock = advancingClock();
/** Subscribed at `payer`; inquiries 30 minutes after a pend. */
const F = 'clinic-f';
/** Its own payer (`subs`), whose subscription service is down in a test. */
const S = 'clinic-s';
/** No billing provider: its requests cannot be made. */
const N = 'clinic-n';
const MINUTES = 30;

let payer: SandboxPayer;
let subs: SandboxPayer;
let server: TestServer;

const h = pasHarness(clock, F, () => server);
const { ask, asksHandled, dieWhilePayerDown, inquiriesOf, jobsOf, queuedJobs, runAtNow, stateReached } = h;

const store = (): TestServer['running']['store'] => server.running.store;

const subscribeAt = (job: Job): boolean => job.key.startsWith('subscribe|buckeye|');

const notificationsDone = async (tenant = F): Promise<number> =>
  (await jobsOf('done', (j) => (j.payload as { kind?: string }).kind === 'notification', tenant)).length;

/** The tenant's subscription at the payer is active (the payer has handshaken). */
const subscribed = (tenant = F): Promise<boolean> =>
  waitFor(
    'the subscription active',
    async () => {
      const record = await readOptional<Subscription>(
        store(),
        tenant,
        'Subscription',
        subscriptionRecordId('buckeye'),
      );
      return record !== undefined && readRecord(record).status === 'active';
    },
    10_000,
  );

/** The case's inquiry round waiting for its time (ready), once queued. */
const roundQueued = async (caseId: string, tenant = F): Promise<Job> =>
  waitFor(
    'an inquiry round queued',
    async () => (await jobsOf('ready', inquiryOf(caseId), tenant))[0],
    10_000,
  );

/** The AuditEvents naming a resource. */
const auditsOf = async (tenant: string, reference: string): Promise<AuditEvent[]> =>
  searchAll<AuditEvent>(store(), tenant, 'AuditEvent', [
    { code: 'entity', kind: 'reference', values: [reference] },
  ]);

const codeOf = (task: Task): string | undefined => task.code?.coding?.[0]?.code;

beforeAll(async () => {
  let payerEndpoint: PayerEndpoint;
  let subsEndpoint: PayerEndpoint;
  ({ payer, endpoint: payerEndpoint } = await startPasPayer(clock));
  ({ payer: subs, endpoint: subsEndpoint } = await startPasPayer(clock));
  const inquiring = (endpoint: PayerEndpoint): PayerEndpoint => ({
    ...endpoint,
    pas: { ...endpoint.pas!, inquireMinutes: MINUTES },
  });
  const base = { timeZone: 'America/New_York', billing };
  const tenants = [
    { ...base, id: F, name: F, payers: [inquiring(payerEndpoint)] },
    { ...base, id: S, name: S, payers: [inquiring(subsEndpoint)] },
    { id: N, name: N, timeZone: 'America/New_York', payers: [inquiring(payerEndpoint)] },
  ];
  server = await startPasServer(h, clock, tenants);
  // Infliximab (J1745): pended; immune globulin (J1459): pended until the payer has the
  // documentation it asks for; ocrelizumab (J2350): approved as asked.
  const orders: Record<string, (MedicationRequest & { id: string })[]> = {
    [F]: [
      drugOrder('mf-lost', 'J1745', 400),
      drugOrder('mf-ask', 'J1745', 400),
      drugOrder('mf-note', 'J1745', 400),
      drugOrder('mf-info', 'J1459', 2000),
    ],
    [S]: [drugOrder('ms-pend', 'J1745', 400), drugOrder('ms-next', 'J2350', 600)],
    [N]: [drugOrder('mn-1', 'J1745', 400)],
  };
  await seedPasOrders(server, orders);
}, 60_000);

afterAll(async () => {
  await server.stop();
  await payer.stop();
  await subs.stop();
});

describe('a pended request at a subscribed payer whose notification never comes', () => {
  test('inquired the configured time after the pend; the decision applied once, the late notification changes nothing', async () => {
    payer.setBehaviour({ holdPasNotifications: true });
    expect(await ask('mf-lost')).toBe(202);
    const pended = await stateReached('mf-lost', 'pended');
    await subscribed();
    const inquiry = inquiryOf(caseOf(pended));
    const fallback = await roundQueued(caseOf(pended));
    // Scheduled `inquireMinutes` after the pend, on the injected clock; nothing asked before then.
    const due = Date.parse(pended.meta.lastUpdated) + MINUTES * 60_000;
    expect(Math.abs(Date.parse(fallback.runAt) - due)).toBeLessThan(5_000);
    expect(inquiriesOf(pended.id)).toEqual([]);

    // The payer decides; its notification is lost.
    await payer.pas.finishReviews();
    runAtNow(fallback);
    const decided = await stateReached('mf-lost', 'certified', 10_000);
    expect(inquiriesOf(pended.id)).toEqual([200]);
    const response = (await store().resources.read(F, 'ClaimResponse', caseOf(pended))) as ClaimResponse &
      StoredResource;
    expect(response.request?.reference).toBe(`Claim/${pended.id}`);
    await waitFor('no inquiry left queued', async () => (await queuedJobs(inquiry)).length === 0);

    // The notification arrives late: the decision it carries is the one already applied.
    const before = await notificationsDone();
    payer.setBehaviour({});
    expect(payer.pas.releaseNotifications()).toBe(1);
    await waitFor('the late notification handled', async () => (await notificationsDone()) > before);
    // Kept as received, and matched to the request (not a notification naming no request).
    const kept = (await searchAll<DocumentReference>(store(), F, 'DocumentReference', [])).filter(
      (d) =>
        d.type?.text === 'PAS subscription notification received' &&
        d.context?.related?.some((r) => r.reference === `Claim/${pended.id}`),
    );
    expect(kept).toHaveLength(1);
    expect((await searchAll<Task>(store(), F, 'Task', [])).map(codeOf)).not.toContain('unknown-answer');
    const after = await store().resources.read(F, 'Claim', pended.id);
    expect([stateOf(after as never), after.meta.versionId]).toEqual(['certified', decided.meta.versionId]);
    const responseAfter = await store().resources.read(F, 'ClaimResponse', caseOf(pended));
    expect(responseAfter.meta.versionId).toBe(response.meta.versionId);
    expect(await readOptional(store(), F, 'Task', `${caseOf(pended)}-work`)).toBeUndefined();
    expect(await queuedJobs(inquiry)).toEqual([]);
    expect(inquiriesOf(pended.id)).toEqual([200]);
  });

  test('the notification comes: the waiting round ends without asking the payer, nothing is left queued', async () => {
    payer.setBehaviour({});
    expect(await ask('mf-note')).toBe(202);
    const pended = await stateReached('mf-note', 'pended');
    await subscribed();
    await roundQueued(caseOf(pended));
    await payer.pas.finishReviews();
    await stateReached('mf-note', 'certified', 10_000);
    await waitFor(
      'no inquiry left queued',
      async () => (await queuedJobs(inquiryOf(caseOf(pended)))).length === 0,
      10_000,
    );
    expect(inquiriesOf(pended.id)).toEqual([]);
  });

  test('a person asking inquires at once; the rounds go on at the slow schedule, one at a time', async () => {
    payer.setBehaviour({ holdPasNotifications: true });
    expect(await ask('mf-ask')).toBe(202);
    const pended = await stateReached('mf-ask', 'pended');
    const inquiry = inquiryOf(caseOf(pended));
    const fallback = await roundQueued(caseOf(pended));
    expect(Date.parse(fallback.runAt) - clock.now().getTime()).toBeGreaterThan((MINUTES - 1) * 60_000);

    // Asked before the round's time: it runs now (the payer still reviewing: pended).
    expect(await ask('mf-ask')).toBe(202);
    await waitFor('the inquiry made', () => inquiriesOf(pended.id).length === 1, 10_000);
    await asksHandled();
    const next = await waitFor('the next round queued', async () =>
      (await jobsOf('ready', inquiry)).find((j) => j.key !== fallback.key),
    );
    expect(Date.parse(next.runAt) - clock.now().getTime()).toBeGreaterThan((MINUTES - 1) * 60_000);
    expect(inquiriesOf(pended.id)).toEqual([200]);
    expect(stateOf((await h.requestOf('mf-ask'))!)).toBe('pended');

    // Decided at the payer, notification lost: the next ask learns it.
    await payer.pas.finishReviews();
    expect(await ask('mf-ask')).toBe(202);
    await stateReached('mf-ask', 'certified', 10_000);
    expect(inquiriesOf(pended.id)).toEqual([200, 200]);
    await waitFor('no inquiry left queued', async () => (await queuedJobs(inquiry)).length === 0);
    expect(h.mostInquiriesInFlight()).toBe(1);
    payer.setBehaviour({});
    payer.pas.releaseNotifications();
  });
});

describe('a subscribe that died', () => {
  test('a work item says Dripline relies on inquiries and what to do; the pended request is inquired; subscribing closes it', async () => {
    subs.setBehaviour({ pasSubscriptionsUnavailable: 503 });
    expect(await ask('ms-pend', S)).toBe(202);
    const pended = await stateReached('ms-pend', 'pended', 20_000, S);
    await dieWhilePayerDown('the subscribe', subscribeAt, 1, S);
    const work = await waitFor(
      'the subscription work item',
      () => readOptional<Task>(store(), S, 'Task', subscriptionWorkId('buckeye')),
      10_000,
    );
    expect([codeOf(work), work.status, work.for]).toEqual(['payer-error', 'requested', undefined]);
    const note = work.note?.at(-1)?.text ?? '';
    expect(note).toMatch(/could not subscribe to Buckeye Health Plan's prior authorization notifications/);
    expect(note).toMatch(/unavailable on all 8 attempts/);
    expect(note).toMatch(/followed by inquiries only \(Claim\/\$inquire, 30 minutes after each pend/);
    expect(note).toMatch(/prior authorization at this payer tries to subscribe again/);
    expect(await auditsOf(S, `Task/${work.id}`)).toHaveLength(1);

    // Nothing will notify: the pended request is followed by $inquire.
    await subs.pas.finishReviews();
    runAtNow(await roundQueued(caseOf(pended), S));
    await stateReached('ms-pend', 'certified', 10_000, S);
    expect(inquiriesOf(pended.id)).toEqual([200]);

    // The subscription service is back: the next order at the payer subscribes, which closes it.
    subs.setBehaviour({});
    expect(await ask('ms-next', S)).toBe(202);
    const closed = await waitFor(
      'the work item closed',
      async () => {
        const t = await readOptional<Task>(store(), S, 'Task', subscriptionWorkId('buckeye'));
        return t?.status === 'completed' ? t : undefined;
      },
      10_000,
    );
    expect(closed.note?.at(-1)?.text).toMatch(/has subscribed/);
    expect(await auditsOf(S, `Task/${work.id}`)).toHaveLength(2);
  });
});

describe('work items written when a job dies, a request cannot be made, or a notification names none', () => {
  test('a dead send keeps an open "more information" work item what it is, and its note is audited', async () => {
    expect(await ask('mf-info')).toBe(202);
    const pended = await stateReached('mf-info', 'pended');
    const needs = await h.workItem(pended);
    expect([codeOf(needs), needs.status]).toEqual(['more-information', 'requested']);
    const audited = (await auditsOf(F, `Task/${needs.id}`)).length;

    // A fourth dose: the Claim Update's every send meets the payer down.
    const current = (await store().resources.read(F, 'MedicationRequest', 'mf-info')) as MedicationRequest &
      StoredResource;
    await store().resources.update(F, {
      ...current,
      dosageInstruction: [{ ...current.dosageInstruction![0]!, timing: { repeat: { count: 4 } } }],
    });
    payer.setBehaviour({ unavailable: 503 });
    expect(await ask('mf-info')).toBe(202);
    const update = await waitFor('the update kept', async () => {
      const claim = await readOptional(store(), F, 'Claim', `${caseOf(pended)}-2`);
      return claim && stateOf(claim as never) === 'prepared' ? claim : undefined;
    });
    await dieWhilePayerDown('the send', sendOf(update.id), 1);
    const told = await waitFor('the note on the work item', async () => {
      const t = await h.workItem(pended);
      return t.note?.length === 2 ? t : undefined;
    });
    expect([codeOf(told), told.status]).toEqual(['more-information', 'requested']);
    expect(told.note?.at(-1)?.text).toMatch(/could not be sent: the payer was unavailable on all 8 attempts/);
    expect(await auditsOf(F, `Task/${needs.id}`)).toHaveLength(audited + 1);
    payer.setBehaviour({});
  });

  test('a notification naming no request: kept with its work item, both audited', async () => {
    // N makes no subscription (no billing provider); the record stands for one it would have made.
    const secret = 'test-secret-of-the-unmatched-notification-0123';
    const sent = pasSubscription({
      endpoint: `${server.url}/pas/${N}/buckeye/notify`,
      senderId: billing.npi,
      secret,
    });
    await store().resources.create(
      N,
      recordResource({ payer: 'buckeye', sent, secret, payerSubscriptionId: 'sub-n', status: 'active' }),
      { id: subscriptionRecordId('buckeye') },
    );
    const res = await fhirFetch(`${server.url}/pas/${N}/buckeye/notify`, undefined, {
      method: 'POST',
      body: { resourceType: 'Patient', id: 'not-a-notification' },
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(res.status).toBe(400);
    const task = await waitFor(
      'the unmatched work item',
      async () =>
        (await searchAll<Task>(store(), N, 'Task', [])).find((t) => t.id?.startsWith('pas-unmatched-')),
      10_000,
    );
    expect(codeOf(task)).toBe('invalid-answer');
    const audits = await auditsOf(N, `Task/${task.id}`);
    expect(audits).toHaveLength(1);
    const kept = /DocumentReference\/(\S+)\)/.exec(task.note?.at(-1)?.text ?? '')?.[1];
    expect(audits[0]?.entity?.map((e) => e.what?.reference)).toContain(`DocumentReference/${kept}`);
  });

  test('"cannot request" is audited', async () => {
    expect(await ask('mn-1', N)).toBe(202);
    const task = await waitFor(
      'the cannot-request work item',
      async () => (await searchAll<Task>(store(), N, 'Task', [])).find((t) => codeOf(t) === 'cannot-request'),
      10_000,
    );
    expect(task.note?.at(-1)?.text).toMatch(/no billing provider/);
    const audits = await auditsOf(N, `Task/${task.id}`);
    expect(audits).toHaveLength(1);
    expect(audits[0]?.entity?.map((e) => e.what?.reference)).toContain('Patient/pat-1');
  });
});
