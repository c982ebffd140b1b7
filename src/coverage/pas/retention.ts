/**
 * Finished housekeeping jobs of the prior-auth queue are kept for a retention period, then purged
 * by a `purge-finished` job, as ingest purges its finished jobs (../../ingest/retention.ts).
 *
 * Why purge: a kept subscription adds a finished `check-subscription` job about every 1.5 heartbeat
 * periods (./subscription-check.ts: 16 a day at the hourly heartbeat Dripline asks for), and each
 * gap in its event numbers a `recover-events` job, for as long as it is kept: without a purge the
 * queue grows without bound, and every enqueue pays for the size of its key index. Why only those:
 * the queue's other keys are idempotency records (FINISHED_JOBS says which and why), so the purge
 * takes key prefixes (`JobQueue.purgeDone` with `keyPrefix`: a range of the key index, never the
 * whole queue), not the queue. Dead jobs are never purged: they wait for a person.
 *
 * When: the worker enqueues one `purge-finished` job per tenant per hour (purgeKey), keyed by the
 * hour, so several workers sharing the store make it once, as ingest's maintenance pass is keyed
 * by its interval. Times are the injected clock's.
 */
import type { Logger } from '../../logger.ts';
import type { EnqueueResult, Store, TenantId } from '../../store/port.ts';
import { purgeFinishedInBatches } from '../../store/purge-finished.ts';
import type { PriorAuthJob } from './jobs.ts';
import { PRIOR_AUTH_QUEUE } from './records.ts';
import { SILENCE_CHECK_KEY_PREFIX } from './subscription-check.ts';
import { EVENT_RECOVERY_KEY_PREFIX } from './subscription-recovery.ts';
import { DAY_MS } from '../../time/clock.ts';

/**
 * How long a finished housekeeping job is kept by default: two weeks of a subscription's checks to
 * look back on when its payer's silence is looked into (ingest's default too).
 */
export const DEFAULT_HOUSEKEEPING_RETENTION_MS = 14 * DAY_MS;

/** How often a tenant's purge runs: an hour holds a few housekeeping jobs a subscription. */
export const PURGE_INTERVAL_MS = 3_600_000;

/**
 * Transactions per purge at most: 20,000 jobs an hour, far beyond what a tenant's subscriptions
 * add; a backlog (the first purge after an upgrade, a shorter retention) is worked off hourly.
 */
export const PURGE_ROUNDS = 20;

/** What the key of every `purge-finished` job starts with (then the hour's number). */
const PURGE_KEY_PREFIX = 'pas-purge|';

/** A kind's finished jobs: kept for good, or purged after the retention (every key starts with keyPrefix). */
type Retention = { readonly purged: false } | { readonly purged: true; readonly keyPrefix: string };

const KEPT: Retention = { purged: false };

/**
 * Each kind of prior-auth job (./jobs.ts), finished: whether it is pure housekeeping. A kind is
 * when nothing ever asks after its key once the job ended: its key only keeps one job of a line
 * to run at a time (the line's next number is read from its latest job, JobQueue.highestNumbered,
 * which is never finished while the line goes on), and what it learnt is kept elsewhere.
 */
export const FINISHED_JOBS: Readonly<Record<PriorAuthJob['kind'], Retention>> = {
  // `order|{order}|{version}`: a copy of the same EHR version again (a replay) must find its job,
  // or the order is planned again; a person's ask is keyed by its instant and kept alike.
  order: KEPT,
  // `send|{claim}`: a re-run order job must find the request's send done, or the payer is sent the
  // same request again.
  send: KEPT,
  // `notify|{payer}|{subscription}|{event numbers}`: the payer's redelivery of an event
  // notification finds its job, so a decision is applied once.
  notification: KEPT,
  // `inquire|{case}|{round}`: the round names the inquiry Claim it keeps (`{submission}-inq{round}`,
  // ./follow-up.ts), so a line restarted at 1 would reuse kept ids; a case's rounds end with its
  // decision (and back off to a day), so they are bounded by the cases.
  inquire: KEPT,
  // `subscribe|{payer}|{subscription}`: the same news of a subscription in error queues no second
  // replacement at the payer.
  subscribe: KEPT,
  // `unsubscribe|{payer}|{subscription}`, `subscribe-sweep|…`: a deletion at the payer, once per
  // subscription lost or create in doubt.
  unsubscribe: KEPT,
  'sweep-subscriptions': KEPT,
  // A line per subscription; what a check learnt is on the subscription record and its contact
  // (./subscription-contact.ts). A line that ended and was purged starts again at round 1 if the
  // subscription is watched again (startChecks), as it would have at its next number.
  'check-subscription': { purged: true, keyPrefix: SILENCE_CHECK_KEY_PREFIX },
  // A line per subscription; each gap is recovered once by the contact's ledger
  // (./missing-events.ts), not by the key.
  'recover-events': { purged: true, keyPrefix: EVENT_RECOVERY_KEY_PREFIX },
  // Keyed by its hour, which never comes again.
  'purge-finished': { purged: true, keyPrefix: PURGE_KEY_PREFIX },
};

/** The key prefixes purged (those of the housekeeping kinds). */
export const HOUSEKEEPING_KEY_PREFIXES: readonly string[] = Object.values(FINISHED_JOBS).flatMap((r) =>
  r.purged ? [r.keyPrefix] : [],
);

/** The key of the purge job of the hour `at` is in. */
export const purgeKey = (at: Date): string =>
  `${PURGE_KEY_PREFIX}${String(Math.floor(at.getTime() / PURGE_INTERVAL_MS))}`;

/** Queues the tenant's purge job of the hour `now` is in, due now (one however many ask). */
export function enqueuePurge(
  store: Pick<Store, 'jobs'>,
  tenant: TenantId,
  now: Date,
): Promise<EnqueueResult> {
  const payload: PriorAuthJob = { kind: 'purge-finished' };
  return store.jobs.enqueue(tenant, {
    queue: PRIOR_AUTH_QUEUE,
    key: purgeKey(now),
    payload,
    runAt: now.toISOString(),
  });
}

/**
 * The `purge-finished` job (./worker.ts): the tenant's housekeeping jobs finished more than
 * `retentionMs` ago, in short transactions (src/store/purge-finished.ts), at most PURGE_ROUNDS of
 * them. Resolves with how many were purged.
 */
export async function purgeFinishedHousekeeping(
  ctx: { readonly store: Pick<Store, 'jobs'>; readonly now: () => Date; readonly logger: Logger },
  tenant: TenantId,
  retentionMs: number,
): Promise<number> {
  const before = new Date(ctx.now().getTime() - retentionMs).toISOString();
  const purged = await purgeFinishedInBatches(ctx.store.jobs, tenant, PRIOR_AUTH_QUEUE, before, {
    rounds: PURGE_ROUNDS,
    keyPrefixes: HOUSEKEEPING_KEY_PREFIXES,
  });
  if (purged > 0) {
    ctx.logger.info({ tenant, purged, finishedBefore: before }, 'finished PAS housekeeping jobs purged');
  }
  return purged;
}
