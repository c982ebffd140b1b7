/**
 * A PAS request the payer could not be reached for is sent again when a person asks again, over
 * real HTTP against the sandbox payer's PAS endpoint: its send job dies after its last attempt (a
 * work item says so), the payer comes back, `POST /api/prior-auth` asks again, and the kept request
 * is sent, answered, and the work item closed. The same after a resend of a request whose answer
 * could not be read. Asking again while a send of the request is still queued sends nothing more:
 * the payer is never asked twice for the same kept request.
 *
 * The same for a pended request followed by `$inquire` (a second sandbox payer, which Dripline does
 * not subscribe to): its inquiry dies while the payer is down (a work item says so), the payer comes
 * back, a person asks again, an inquiry runs and the rounds go on until the decision is applied;
 * a person asking while a round waits for its time runs that round at once (no second one queued),
 * as at a subscribed payer.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { Claim, MedicationRequest, Organization, Resource, Subscription } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import { stateOf } from '../../../src/coverage/pas/records.ts';
import { readRecord, subscriptionRecordId } from '../../../src/coverage/pas/subscription.ts';
import type { SandboxPayer } from '../../../src/sandbox/payer/server.ts';
import type { Job, JobState, StoredResource } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import { advancingClock } from '../../../src/time/clock.ts';
import type { TestServer } from '../../support/harness.ts';
import { waitFor } from '../../support/wait.ts';
import { billing, coverage, orderer, patient } from './fixtures.ts';
import {
  caseOf,
  drugOrder,
  inquiryOf,
  pasHarness,
  sendOf,
  startPasPayer,
  startPasServer,
} from './resend-harness.ts';

/** Dripline's and the payer's clock: moved past each retry's backoff instead of waiting for it. */
const clock = advancingClock();
const T = 'clinic-r';
/** A tenant whose payer (`quiet`, its own sandbox payer) is followed by `$inquire` only. */
const Q = 'clinic-q';

let payer: SandboxPayer;
let quiet: SandboxPayer;
let server: TestServer;

const h = pasHarness(clock, T, () => server);
const {
  ask,
  asksHandled,
  dieWhilePayerDown,
  inquiriesOf,
  jobsOf,
  queuedJobs,
  runAtNow,
  stateReached,
  submitsOf,
  workItem,
} = h;

const sendJobs = (claim: string, state: JobState): Promise<Job[]> => jobsOf(state, sendOf(claim));

const subscribe = (job: Job): boolean => job.key.startsWith('subscribe|buckeye|');

beforeAll(async () => {
  let endpoint: PayerEndpoint;
  let quietEndpoint: PayerEndpoint;
  ({ payer, endpoint } = await startPasPayer(clock));
  ({ payer: quiet, endpoint: quietEndpoint } = await startPasPayer(clock));
  const tenant = { id: T, name: T, timeZone: 'America/New_York', billing, payers: [endpoint] };
  const inquiring = {
    ...tenant,
    id: Q,
    name: Q,
    payers: [
      { ...quietEndpoint, pas: { ...quietEndpoint.pas!, subscription: 'off' as const, inquireMinutes: 5 } },
    ],
  };
  server = await startPasServer(h, clock, [tenant, inquiring]);
  const payerOrg: Organization & { id: string } = {
    resourceType: 'Organization',
    id: 'payer-bhp',
    identifier: [{ system: 'https://ehr.test/sid/payer-id', value: 'BHP01' }],
    name: 'Buckeye Health Plan',
  };
  const seeded: (Resource & { id: string })[] = [
    payerOrg,
    patient,
    { ...coverage, payor: [{ reference: 'Organization/payer-bhp' }] },
    orderer,
    // Ocrelizumab (J2350) and vedolizumab (J3380): approved as asked; infliximab (J1745): pended.
    drugOrder('mr-down', 'J2350', 600),
    drugOrder('mr-busy', 'J3380', 300),
    drugOrder('mr-unread', 'J1745', 400),
  ];
  for (const r of seeded) {
    const { meta: _meta, ...plain } = r;
    await server.running.store.resources.create(T, plain, { id: r.id });
  }
  // Infliximab (J1745) is pended at the quiet payer too.
  for (const r of [
    ...seeded.slice(0, 4),
    drugOrder('mq-down', 'J1745', 400),
    drugOrder('mq-busy', 'J1745', 400),
    drugOrder('mq-more', 'J1745', 400),
    // Immune globulin (J1459): pended until the payer has the documentation it asks for.
    drugOrder('mq-info', 'J1459', 2000),
  ]) {
    const { meta: _meta, ...plain } = r;
    await server.running.store.resources.create(Q, plain, { id: r.id });
  }
}, 60_000);

afterAll(async () => {
  await server.stop();
  await payer.stop();
  await quiet.stop();
});

describe('a request whose every send failed', () => {
  test('asked again once the payer is back: sent, answered, and the work item closed', async () => {
    payer.setBehaviour({ unavailable: 503 });
    expect(await ask('mr-down')).toBe(202);
    const kept = await stateReached('mr-down', 'prepared');
    await dieWhilePayerDown('the send', sendOf(kept.id), 1);
    const task = await waitFor('the payer-error work item', async () => {
      const t = await workItem(kept).catch(() => undefined);
      return t?.code?.coding?.[0]?.code === 'payer-error' ? t : undefined;
    });
    expect(task.status).toBe('requested');
    expect(task.for?.reference).toBe('Patient/pat-1');
    expect(task.note?.at(-1)?.text).toMatch(/the payer was unavailable on all 8 attempts/);
    expect(task.note?.at(-1)?.text).toMatch(/asking for the order's prior authorization again sends it/);
    expect(submitsOf(kept.id)).toEqual(Array(8).fill('unreachable'));
    // The subscription asked for before the first request died the same way.
    await dieWhilePayerDown('the subscribe', subscribe, 1);

    payer.setBehaviour({});
    expect(await ask('mr-down')).toBe(202);
    await stateReached('mr-down', 'certified', 10_000);
    expect(submitsOf(kept.id)).toEqual([...Array(8).fill('unreachable'), 200]);
    const closed = await workItem(kept);
    expect(closed.status).toBe('completed');
    expect(closed.note?.at(-1)?.text).toMatch(/decided .*: certified/);
    // The ask subscribed again: the payer's notifications will reach Dripline.
    await waitFor(
      'the subscription active',
      async () => {
        const record = await readOptional<Subscription>(
          server.running.store,
          T,
          'Subscription',
          subscriptionRecordId('buckeye'),
        );
        return record && readRecord(record).status === 'active';
      },
      10_000,
    );
  });

  test('asked again while a send is still queued: nothing more is queued, the payer is asked once', async () => {
    payer.setBehaviour({ unavailable: 503 });
    expect(await ask('mr-busy')).toBe(202);
    const kept = await stateReached('mr-busy', 'prepared');
    await waitFor('a failed attempt', async () =>
      (await sendJobs(kept.id, 'ready')).some((j) => j.attempts >= 1),
    );
    expect(await ask('mr-busy')).toBe(202);
    expect(await ask('mr-busy')).toBe(202);
    await asksHandled();
    const queued = [...(await sendJobs(kept.id, 'ready')), ...(await sendJobs(kept.id, 'leased'))];
    expect(queued).toHaveLength(1);

    payer.setBehaviour({});
    const [retry] = await sendJobs(kept.id, 'ready');
    if (retry) {
      clock.advance(Math.max(0, Date.parse(retry.runAt) - clock.now().getTime()));
    }
    await stateReached('mr-busy', 'certified', 10_000);
    await asksHandled();
    expect(submitsOf(kept.id).filter((s) => s !== 'unreachable')).toEqual([200]);
    expect(h.mostSubmitsInFlight()).toBe(1);
  });
});

describe('a request whose answer could not be read, resent', () => {
  test('the resend failed to its last attempt: asked again, sent, pended, the work item closed', async () => {
    payer.setBehaviour({ garbleSubmitAnswers: 'invalid-fhir' });
    expect(await ask('mr-unread')).toBe(202);
    const unanswered = await stateReached('mr-unread', 'unanswered');
    payer.setBehaviour({ unavailable: 503 });
    expect(await ask('mr-unread')).toBe(202);
    await stateReached('mr-unread', 'prepared');
    await dieWhilePayerDown('the resend', sendOf(unanswered.id), 1);
    await waitFor('the payer-error work item', async () => {
      const t = await workItem(unanswered);
      return t.code?.coding?.[0]?.code === 'payer-error';
    });

    payer.setBehaviour({});
    expect(await ask('mr-unread')).toBe(202);
    await stateReached('mr-unread', 'pended', 10_000);
    // The payer has the request now: what the work item asked for is done.
    const closed = await waitFor(
      'the work item closed',
      async () => {
        const t = await workItem(unanswered);
        return t.status === 'completed' ? t : undefined;
      },
      10_000,
    );
    expect(closed.note?.at(-1)?.text).toMatch(/pended/);
    expect(submitsOf(unanswered.id)).toEqual([200, ...Array(8).fill('unreachable'), 200]);
    await payer.pas.finishReviews();
    await stateReached('mr-unread', 'certified');
  });
});

describe('a pended request whose inquiry died', () => {
  // Each test starts with the payer up (one that timed out may have left it down).
  beforeEach(() => quiet.setBehaviour({}));

  test('asked again once the payer is back: an inquiry runs, the rounds go on, the decision is applied', async () => {
    expect(await ask('mq-down', Q)).toBe(202);
    const pended = await stateReached('mq-down', 'pended', 20_000, Q);
    const inquiry = inquiryOf(caseOf(pended));
    const [first] = await waitFor('the inquiry scheduled', async () => {
      const ready = await jobsOf('ready', inquiry, Q);
      return ready.length > 0 ? ready : undefined;
    });
    quiet.setBehaviour({ unavailable: 503 });
    runAtNow(first!);
    await dieWhilePayerDown('the inquiry', inquiry, 1, Q);
    expect(inquiriesOf(pended.id)).toEqual(Array(8).fill('unreachable'));
    // Nothing follows the request any more: a person is told what happened and what to do.
    expect(await queuedJobs(inquiry, Q)).toEqual([]);
    const task = await waitFor(
      'the payer-error work item',
      async () => {
        const t = await workItem(pended, Q).catch(() => undefined);
        return t?.code?.coding?.[0]?.code === 'payer-error' ? t : undefined;
      },
      10_000,
    );
    expect(task.status).toBe('requested');
    expect(task.for?.reference).toBe('Patient/pat-1');
    expect(task.focus?.reference).toBe(`Claim/${pended.id}`);
    expect(task.note?.at(-1)?.text).toMatch(/pended .* the payer was unavailable on all 8 attempts/);
    expect(task.note?.at(-1)?.text).toMatch(
      /asking for the order's prior authorization again inquires again/,
    );

    quiet.setBehaviour({});
    expect(await ask('mq-down', Q)).toBe(202);
    // The payer is still reviewing: the inquiry learns the request is pended, which ends the work
    // item's cause, and the next round is scheduled on the payer's slow schedule.
    const closed = await waitFor(
      'the work item closed',
      async () => {
        const t = await workItem(pended, Q);
        return t.status === 'completed' ? t : undefined;
      },
      10_000,
    );
    expect(closed.note?.at(-1)?.text).toMatch(/still pended/);
    expect(inquiriesOf(pended.id)).toEqual([...Array(8).fill('unreachable'), 200]);
    const [next] = await waitFor('the next round scheduled', async () => {
      const ready = await jobsOf('ready', inquiry, Q);
      return ready.length > 0 ? ready : undefined;
    });
    expect(Date.parse(next!.runAt) - clock.now().getTime()).toBeGreaterThan(4 * 60_000);

    await quiet.pas.finishReviews();
    runAtNow(next!);
    await stateReached('mq-down', 'certified', 10_000, Q);
    const decision = await server.running.store.resources.read(Q, 'ClaimResponse', caseOf(pended));
    expect(decision.resourceType === 'ClaimResponse' && decision.request?.reference).toBe(
      `Claim/${pended.id}`,
    );
    expect(inquiriesOf(pended.id)).toEqual([...Array(8).fill('unreachable'), 200, 200]);
    expect(await queuedJobs(inquiry, Q)).toEqual([]);
    expect(h.mostInquiriesInFlight()).toBe(1);
  }, 60_000);

  test('a person asking while a round waits for its time: that round runs at once, the next on the slow schedule', async () => {
    expect(await ask('mq-busy', Q)).toBe(202);
    const pended = await stateReached('mq-busy', 'pended', 20_000, Q);
    const inquiry = inquiryOf(caseOf(pended));
    await waitFor('the inquiry scheduled', async () => (await jobsOf('ready', inquiry, Q)).length === 1);
    expect(inquiriesOf(pended.id)).toEqual([]);

    // As at a subscribed payer (fallback.test): the waiting round is woken, no second one queued.
    expect(await ask('mq-busy', Q)).toBe(202);
    await waitFor('the inquiry made', () => inquiriesOf(pended.id).length === 1, 10_000);
    await asksHandled(Q);
    const next = await waitFor('the next round queued', async () =>
      (await jobsOf('ready', inquiry, Q)).find((j) => j.key === `inquire|${caseOf(pended)}|2`),
    );
    expect((await queuedJobs(inquiry, Q)).map((j) => j.key)).toEqual([next.key]);
    const wait = Date.parse(next.runAt) - clock.now().getTime();
    expect([wait > 4 * 60_000, wait <= 5 * 60_000]).toEqual([true, true]);
    expect(inquiriesOf(pended.id)).toEqual([200]);
    expect(h.mostInquiriesInFlight()).toBe(1);
  });

  test('a Claim Update pended after the case’s inquiries ended is followed by $inquire too', async () => {
    const scheduled = async (caseId: string): Promise<Job> =>
      waitFor('an inquiry scheduled', async () => (await jobsOf('ready', inquiryOf(caseId), Q))[0], 10_000);
    expect(await ask('mq-more', Q)).toBe(202);
    const first = await stateReached('mq-more', 'pended', 20_000, Q);
    await quiet.pas.finishReviews();
    runAtNow(await scheduled(caseOf(first)));
    await stateReached('mq-more', 'certified', 10_000, Q);
    expect(await queuedJobs(inquiryOf(caseOf(first)), Q)).toEqual([]);

    // A fourth dose: the update is pended, and followed like the first request.
    const current = (await server.running.store.resources.read(
      Q,
      'MedicationRequest',
      'mq-more',
    )) as MedicationRequest & StoredResource;
    await server.running.store.resources.update(Q, {
      ...current,
      dosageInstruction: [{ ...current.dosageInstruction![0]!, timing: { repeat: { count: 4 } } }],
    });
    expect(await ask('mq-more', Q)).toBe(202);
    const update = await waitFor('the update pended', async () => {
      const claim = await readOptional<Claim>(server.running.store, Q, 'Claim', `${caseOf(first)}-2`);
      return claim && stateOf(claim) === 'pended' ? claim : undefined;
    });
    const next = await scheduled(caseOf(first));
    expect(next.key).toBe(`inquire|${caseOf(first)}|2`);
    await quiet.pas.finishReviews();
    runAtNow(next);
    await waitFor('the update certified', async () => {
      const claim = await readOptional<Claim>(server.running.store, Q, 'Claim', update.id);
      return claim && stateOf(claim) === 'certified';
    });
    expect(inquiriesOf(update.id)).toEqual([200]);
  });

  test('an inquiry died while the payer needs more information: that work item stays open until decided', async () => {
    expect(await ask('mq-info', Q)).toBe(202);
    const pended = await stateReached('mq-info', 'pended', 20_000, Q);
    const inquiry = inquiryOf(caseOf(pended));
    const needs = await workItem(pended, Q);
    expect([needs.code?.coding?.[0]?.code, needs.status]).toEqual(['more-information', 'requested']);
    quiet.setBehaviour({ unavailable: 503 });
    runAtNow((await jobsOf('ready', inquiry, Q))[0]!);
    await dieWhilePayerDown('the inquiry', inquiry, 1, Q);
    // The person is told on the work item they have, which still says what the payer needs.
    const told = await waitFor('the note on the work item', async () => {
      const t = await workItem(pended, Q);
      return t.note?.length === 2 ? t : undefined;
    });
    expect([told.code?.coding?.[0]?.code, told.status]).toEqual(['more-information', 'requested']);
    expect(told.note?.at(-1)?.text).toMatch(/inquires again/);

    quiet.setBehaviour({});
    expect(await ask('mq-info', Q)).toBe(202);
    // Reaching the payer again answers nothing the payer asked for: the work item stays open.
    await waitFor('the inquiry answered', () => inquiriesOf(pended.id).at(-1) === 200);
    const [next] = await waitFor('the next round scheduled', async () => {
      const ready = await jobsOf('ready', inquiry, Q);
      return ready.length > 0 ? ready : undefined;
    });
    const open = await workItem(pended, Q);
    expect([open.code?.coding?.[0]?.code, open.status]).toEqual(['more-information', 'requested']);

    await quiet.pas.finishReviews();
    runAtNow(next!);
    await stateReached('mq-info', 'certified', 10_000, Q);
    expect((await workItem(pended, Q)).status).toBe('completed');
  });
});
