/**
 * Whether a subscribe leaves a doubt (src/coverage/pas/subscribe.ts): a create with no answer
 * (network, timeout, a gateway's 502/504) may have made a subscription at the payer, so the record
 * stays `unconfirmed` and the next create that is answered queues a sweep; a 429 or 503 says the
 * payer did nothing, so it leaves the record as it was and no sweep follows. Over real HTTP:
 * subscribe-unanswered.test.ts.
 */
import { expect, test } from '@jest/globals';
import type { Subscription } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import type { TenantConfig } from '../../../src/config/config.ts';
import type { FollowUpContext } from '../../../src/coverage/pas/follow-up.ts';
import type { PayerAnswer } from '../../../src/coverage/pas/payer-client.ts';
import { PasPayerUnavailable } from '../../../src/coverage/pas/payer-client.ts';
import { PRIOR_AUTH_QUEUE } from '../../../src/coverage/pas/records.ts';
import { ensureSubscription } from '../../../src/coverage/pas/subscribe.ts';
import {
  pasSubscription,
  readRecord,
  recordResource,
  subscriptionRecordId,
} from '../../../src/coverage/pas/subscription.ts';
import { createLogger } from '../../../src/logger.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
import type { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { storePerTest } from '../../support/store-per-test.ts';
import { billing } from './fixtures.ts';

let store: SqliteStore;
storePerTest('dripline-subscribe-', (opened) => {
  store = opened;
});
const T = 'clinic';
const buckeye = {
  id: 'buckeye',
  name: 'Buckeye Health Plan',
  pas: { fhirBaseUrl: 'https://payer.test/pas/fhir', subscription: 'auto', inquireMinutes: 240 },
} as unknown as PayerEndpoint;

/** The context with a payer whose creates meet `answers`, one each, in turn. */
function payerAnswering(answers: (() => Promise<PayerAnswer>)[]): FollowUpContext {
  return {
    store,
    publicUrl: 'https://dripline.test',
    now: () => new Date('2026-12-06T15:00:00Z'),
    logger: createLogger('silent'),
    tenant: (id) => ({ id, billing, payers: [buckeye] }) as unknown as TenantConfig,
    port: () =>
      ({
        createSubscription: () => (answers.shift() ?? (() => Promise.reject(new Error('no more'))))(),
      }) as never,
    answers: () => {
      throw new Error('not used');
    },
  };
}

const made = (id: string) => () => Promise.resolve({ status: 201, text: '', body: { id } });
const unavailable = (status?: number) => () =>
  Promise.reject(new PasPayerUnavailable(`payer buckeye: POST Subscription ${status ?? 'failed'}`, status));

const unconfirmed = async (): Promise<boolean | undefined> => {
  const record = await readOptional<Subscription>(store, T, 'Subscription', subscriptionRecordId('buckeye'));
  return record ? readRecord(record).unconfirmed : undefined;
};
const sweeps = async () =>
  (await store.jobs.listJobs(T, PRIOR_AUTH_QUEUE, 'ready', 10))
    .filter((j) => j.key.startsWith('subscribe-sweep|'))
    .map((j) => j.payload);

test.each([undefined, 502, 504, 500])(
  'a create with no answer (%s) leaves the doubt, and the answered retry queues a sweep',
  async (status) => {
    const ctx = payerAnswering([unavailable(status), made('sub-2')]);
    await expect(ensureSubscription(ctx, T, 'buckeye')).rejects.toBeInstanceOf(PasPayerUnavailable);
    expect(await unconfirmed()).toBe(true);
    await ensureSubscription(ctx, T, 'buckeye');
    expect(await unconfirmed()).toBe(false);
    expect(await sweeps()).toEqual([{ kind: 'sweep-subscriptions', payer: 'buckeye', keep: 'sub-2' }]);
  },
);

test.each([429, 503])('a %s says the payer made nothing: no doubt, no sweep', async (status) => {
  const ctx = payerAnswering([unavailable(status), made('sub-2')]);
  await expect(ensureSubscription(ctx, T, 'buckeye')).rejects.toBeInstanceOf(PasPayerUnavailable);
  expect(await unconfirmed()).toBe(false);
  await ensureSubscription(ctx, T, 'buckeye');
  expect(await sweeps()).toEqual([]);
});

test('a 503 after a create with no answer keeps the doubt of the first', async () => {
  const ctx = payerAnswering([unavailable(), unavailable(503), made('sub-3')]);
  await expect(ensureSubscription(ctx, T, 'buckeye')).rejects.toBeInstanceOf(PasPayerUnavailable);
  await expect(ensureSubscription(ctx, T, 'buckeye')).rejects.toBeInstanceOf(PasPayerUnavailable);
  expect(await unconfirmed()).toBe(true);
  await ensureSubscription(ctx, T, 'buckeye');
  expect(await sweeps()).toEqual([{ kind: 'sweep-subscriptions', payer: 'buckeye', keep: 'sub-3' }]);
});

test('the first subscribe ever, answered, has nothing to sweep', async () => {
  await ensureSubscription(payerAnswering([made('sub-1')]), T, 'buckeye');
  expect(await unconfirmed()).toBe(false);
  expect(await sweeps()).toEqual([]);
});

test('the subscription replaced (in error or off) is queued for deletion before the payer is asked', async () => {
  const sent = pasSubscription({
    endpoint: 'https://dripline.test/pas/clinic/buckeye/notify',
    senderId: '1',
    secret: 's',
  });
  await store.resources.create(
    T,
    recordResource({ payer: 'buckeye', sent, secret: 's', payerSubscriptionId: 'sub-1', status: 'error' }),
    { id: subscriptionRecordId('buckeye') },
  );
  // Whatever the create's answer (here none): the replaced one's secret is gone from the record.
  await expect(ensureSubscription(payerAnswering([unavailable()]), T, 'buckeye')).rejects.toBeInstanceOf(
    PasPayerUnavailable,
  );
  const deletions = (await store.jobs.listJobs(T, PRIOR_AUTH_QUEUE, 'ready', 10))
    .filter((j) => j.key.startsWith('unsubscribe|'))
    .map((j) => j.payload);
  expect(deletions).toEqual([{ kind: 'unsubscribe', payer: 'buckeye', subscription: 'sub-1' }]);
});

test('a create refused after one with no answer clears the doubt and queues a sweep keeping none', async () => {
  const refused = () => Promise.resolve({ status: 403, text: '' });
  const ctx = payerAnswering([unavailable(), refused]);
  await expect(ensureSubscription(ctx, T, 'buckeye')).rejects.toBeInstanceOf(PasPayerUnavailable);
  await ensureSubscription(ctx, T, 'buckeye');
  expect(await unconfirmed()).toBe(false);
  expect(await sweeps()).toEqual([{ kind: 'sweep-subscriptions', payer: 'buckeye' }]);
});

test('a create refused with no doubt before it queues no sweep', async () => {
  await ensureSubscription(payerAnswering([() => Promise.resolve({ status: 403, text: '' })]), T, 'buckeye');
  expect(await sweeps()).toEqual([]);
});
