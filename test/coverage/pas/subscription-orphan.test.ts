/**
 * A subscription Dripline made and does not keep (src/coverage/pas/subscription-orphan.ts): queued
 * for deletion only when the lost call's answer says the payer made one, once per subscription;
 * the deletion is done when the payer deleted it or has none by that id, retried while the payer
 * is unavailable, and given up (not retryable) on any other refusal, with one work item for a
 * person. A sweep after a create with no answer deletes only what its search found at Dripline's
 * endpoint, while the record still keeps what it was queued for. The whole paths over real HTTP:
 * lease-subscribe.test.ts, subscribe-unanswered.test.ts.
 */
import { expect, test } from '@jest/globals';
import type { Bundle, Subscription, Task } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../../src/config/billing.ts';
import type { TenantConfig } from '../../../src/config/config.ts';
import { createLogger } from '../../../src/logger.ts';
import type { PriorAuthJob } from '../../../src/coverage/pas/jobs.ts';
import type { PasPayerPort, PayerAnswer } from '../../../src/coverage/pas/payer-client.ts';
import { PasPayerUnavailable } from '../../../src/coverage/pas/payer-client.ts';
import { PRIOR_AUTH_QUEUE } from '../../../src/coverage/pas/records.ts';
import { notifyPath, recordResource } from '../../../src/coverage/pas/subscription.ts';
import type { OrphanContext } from '../../../src/coverage/pas/subscription-orphan.ts';
import {
  orphanWork,
  orphanWorkId,
  removeLostSubscription,
  runSweep,
  unsubscribe,
} from '../../../src/coverage/pas/subscription-orphan.ts';
import { LeaseLost } from '../../../src/store/lease-keeper.ts';
import type { Job } from '../../../src/store/port.ts';
import { readOptional } from '../../../src/store/read-optional.ts';
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

const PUBLIC_URL = 'https://dripline.test';
const buckeye = {
  id: 'buckeye',
  name: 'Buckeye Health Plan',
  pas: { fhirBaseUrl: 'https://payer.test/pas/fhir', subscription: 'auto', inquireMinutes: 240 },
} as unknown as PayerEndpoint;

/** The context of the jobs, with `port` as the payer's. */
const orphanContext = (port: Partial<PasPayerPort> = {}): OrphanContext => ({
  store,
  logger,
  publicUrl: PUBLIC_URL,
  now: () => new Date('2026-12-06T15:00:00Z'),
  tenant: (id) => ({ id, payers: [buckeye] }) as unknown as TenantConfig,
  port: () => port as PasPayerPort,
});

/** The job as the queue hands it to gave-up, after its last attempt. */
const deadJob = (payload: PriorAuthJob): Job =>
  ({ id: 'job-1', tenant: T, key: 'k', payload, attempts: 1, maxAttempts: 8 }) as unknown as Job;

test('a refused delete leaves one work item naming the payer and the subscription, however often it is told', async () => {
  const ctx = orphanContext();
  const job = deadJob({ kind: 'unsubscribe', payer: 'buckeye', subscription: 'sub-1' });
  const refused = Object.assign(new Error('payer buckeye refused to delete subscription sub-1 (HTTP 405)'), {
    retryable: false,
  });
  await orphanWork(ctx, job, refused, false);
  await orphanWork(ctx, job, refused, false);
  const task = await readOptional<Task>(store, T, 'Task', orphanWorkId('buckeye', 'sub-1'));
  expect(task?.status).toBe('requested');
  expect(task?.code?.coding?.[0]?.code).toBe('subscription-left');
  expect(task?.note?.map((n) => n.text)).toEqual([
    expect.stringMatching(
      /Buckeye Health Plan \(buckeye\).*Subscription\/sub-1 at https:\/\/payer\.test\/pas\/fhir.*HTTP 405/,
    ),
  ]);
  // Another subscription left at the same payer is its own work item.
  await orphanWork(
    ctx,
    deadJob({ kind: 'unsubscribe', payer: 'buckeye', subscription: 'sub-2' }),
    refused,
    false,
  );
  expect(await readOptional<Task>(store, T, 'Task', orphanWorkId('buckeye', 'sub-2'))).toBeDefined();
});

test("the sweep deletes what its search found at Dripline's endpoint, but the kept one, while the record keeps it", async () => {
  const endpoint = `${PUBLIC_URL}${notifyPath(T, 'buckeye')}`;
  const at = (id: string, url: string): Subscription => ({
    resourceType: 'Subscription',
    id,
    status: 'active',
    reason: 'r',
    criteria: 'c',
    channel: { type: 'rest-hook', endpoint: url },
  });
  const asked: Record<string, string>[] = [];
  const found = (bundle: Partial<Bundle>) =>
    orphanContext({
      searchSubscriptions: (query) => {
        asked.push({ ...query });
        return Promise.resolve({
          status: 200,
          text: '',
          body: { resourceType: 'Bundle', type: 'searchset', ...bundle },
        });
      },
    });
  // A payer that ignored the `url` parameter answers with others' subscriptions too.
  const entries = [at('kept', endpoint), at('left', endpoint), at('theirs', 'https://other.test/notify')].map(
    (resource) => ({ resource }),
  );
  const keep = (payerSubscriptionId: string) =>
    store.resources.create(
      T,
      recordResource({
        payer: 'buckeye',
        sent: at('x', endpoint),
        secretSha256: 'h',
        payerSubscriptionId,
        status: 'active',
      }),
      { id: 'pas-sub-buckeye' },
    );
  await keep('kept');
  const job = { kind: 'sweep-subscriptions', payer: 'buckeye', keep: 'kept' } as const;
  await runSweep(found({ entry: entries }), T, job);
  expect(asked).toEqual([{ url: endpoint, _count: '100' }]);
  const queued = async () =>
    (await store.jobs.listJobs(T, PRIOR_AUTH_QUEUE, 'ready', 10)).map((j) => j.payload);
  expect(await queued()).toEqual([{ kind: 'unsubscribe', payer: 'buckeye', subscription: 'left' }]);
  // More pages than the one read: what it found is queued, and a person is told the rest.
  await expect(
    runSweep(found({ entry: entries, link: [{ relation: 'next', url: 'https://payer.test/p2' }] }), T, job),
  ).rejects.toMatchObject({ retryable: false });
  // Refused: not retried.
  const refused = orphanContext({
    searchSubscriptions: () => Promise.resolve({ status: 405, text: '' }),
  });
  await expect(runSweep(refused, T, job)).rejects.toMatchObject({
    retryable: false,
    message: expect.stringContaining('HTTP 405'),
  });
  // Subscribed anew since (the record keeps another): this sweep deletes nothing.
  const other = { ...job, keep: 'older' };
  await runSweep(found({ entry: [...entries, { resource: at('kept2', endpoint) }] }), T, other);
  expect(await queued()).toEqual([{ kind: 'unsubscribe', payer: 'buckeye', subscription: 'left' }]);
});

test('a sweep keeping none (the later create refused) deletes all it found, while the record keeps none', async () => {
  const endpoint = `${PUBLIC_URL}${notifyPath(T, 'buckeye')}`;
  const at = (id: string): Subscription => ({
    resourceType: 'Subscription',
    id,
    status: 'active',
    reason: 'r',
    criteria: 'c',
    channel: { type: 'rest-hook', endpoint },
  });
  const ctx = orphanContext({
    searchSubscriptions: () =>
      Promise.resolve({
        status: 200,
        text: '',
        body: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: at('left-1') }] },
      }),
  });
  const job = { kind: 'sweep-subscriptions', payer: 'buckeye' } as const;
  const record = (input: { payerSubscriptionId?: string; unsupported?: boolean }) =>
    recordResource({ payer: 'buckeye', sent: at('x'), secretSha256: 'h', status: 'off', ...input });
  const queued = async () =>
    (await store.jobs.listJobs(T, PRIOR_AUTH_QUEUE, 'ready', 10)).map((j) => j.payload);
  // Subscribing again since (the record no longer refused): that subscribe decides; nothing goes.
  const written = await store.resources.create(T, record({}), { id: 'pas-sub-buckeye' });
  await runSweep(ctx, T, job);
  expect(await queued()).toEqual([]);
  // Still refused, keeping none: what the search found goes.
  await store.resources.update(T, record({ unsupported: true }), {
    ifMatchVersion: written.resource.meta.versionId,
  });
  await runSweep(ctx, T, job);
  expect(await queued()).toEqual([{ kind: 'unsubscribe', payer: 'buckeye', subscription: 'left-1' }]);
  // Its search refused: the work item names the endpoint, and no subscription kept.
  const refused = Object.assign(new Error('payer buckeye did not search its subscriptions (HTTP 405)'), {
    retryable: false,
  });
  await orphanWork(ctx, deadJob(job), refused, false);
  const note = (await readOptional<Task>(store, T, 'Task', orphanWorkId('buckeye')))?.note?.[0]?.text ?? '';
  expect(note).toContain('the next was refused');
  expect(note).toContain(`whose channel endpoint is ${endpoint},`);
  expect(note).not.toContain('Subscription/undefined');
});
