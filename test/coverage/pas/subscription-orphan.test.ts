/**
 * A subscription Dripline made and does not keep (src/coverage/pas/subscription-orphan.ts): queued
 * for deletion only when the lost call's answer says the payer made one, once per subscription;
 * the deletion is done when the payer deleted it or has none by that id, retried while the payer
 * is unavailable, and given up (not retryable) on any other refusal. The whole path over real HTTP:
 * lease-subscribe.test.ts.
 */
import { expect, test } from '@jest/globals';
import { createLogger } from '../../../src/logger.ts';
import type { PasPayerPort, PayerAnswer } from '../../../src/coverage/pas/payer-client.ts';
import { PasPayerUnavailable } from '../../../src/coverage/pas/payer-client.ts';
import { PRIOR_AUTH_QUEUE } from '../../../src/coverage/pas/records.ts';
import { removeLostSubscription, unsubscribe } from '../../../src/coverage/pas/subscription-orphan.ts';
import { LeaseLost } from '../../../src/store/lease-keeper.ts';
import type { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { storePerTest } from '../../support/store-per-test.ts';

let store: SqliteStore;
storePerTest('dripline-subscription-orphan-', (opened) => {
  store = opened;
});
const logger = createLogger('silent');
const T = 'clinic';

const answered = (status: number, body?: unknown): LeaseLost =>
  new LeaseLost(['job-1'], { value: { status, text: '', ...(body ? { body } : {}) } satisfies PayerAnswer });

test('a deletion is queued once for a subscription the lost call made, and for nothing else', async () => {
  const deps = { store, logger };
  expect(await removeLostSubscription(deps, T, 'buckeye', answered(201, { id: 'sub-1' }))).toBe('sub-1');
  expect(await removeLostSubscription(deps, T, 'buckeye', answered(201, { id: 'sub-1' }))).toBe('sub-1');
  // Refused, no id, or no answer at all (the call not made, or it failed): nothing was made.
  expect(await removeLostSubscription(deps, T, 'buckeye', answered(400, { id: 'x' }))).toBeUndefined();
  expect(await removeLostSubscription(deps, T, 'buckeye', answered(201, {}))).toBeUndefined();
  expect(await removeLostSubscription(deps, T, 'buckeye', new LeaseLost(['job-1']))).toBeUndefined();
  const jobs = await store.jobs.listJobs(T, PRIOR_AUTH_QUEUE, 'ready', 10);
  expect(jobs.map((j) => [j.key, j.payload])).toEqual([
    ['unsubscribe|buckeye|sub-1', { kind: 'unsubscribe', payer: 'buckeye', subscription: 'sub-1' }],
  ]);
});

test('deleted, or gone already, is done; unavailable is retried; another refusal is given up', async () => {
  const deleting = (answer: () => Promise<PayerAnswer>): { port: PasPayerPort; asked: string[] } => {
    const asked: string[] = [];
    const port = {
      deleteSubscription: (id: string) => {
        asked.push(id);
        return answer();
      },
    } as unknown as PasPayerPort;
    return { port, asked };
  };
  const job = { kind: 'unsubscribe', payer: 'buckeye', subscription: 'sub-1' } as const;
  for (const status of [200, 204, 404, 410]) {
    const { port, asked } = deleting(() => Promise.resolve({ status, text: '' }));
    await expect(unsubscribe(port, job)).resolves.toBeUndefined();
    expect(asked).toEqual(['sub-1']);
  }
  const down = deleting(() => Promise.reject(new PasPayerUnavailable('payer buckeye: 503')));
  await expect(unsubscribe(down.port, job)).rejects.toMatchObject({ retryable: true });
  const refused = deleting(() => Promise.resolve({ status: 403, text: '' }));
  await expect(unsubscribe(refused.port, job)).rejects.toMatchObject({
    retryable: false,
    message: expect.stringContaining('HTTP 403'),
  });
});
