/**
 * Finished ingest jobs are kept for a retention period, then purged by ingest maintenance.
 *
 * Why they are kept at all: a job's key (the EHR subscription and event number, or the classic
 * notification's identity) is what makes an EHR's redelivery of a notification a no-op — enqueueing
 * the same key again finds the finished job. Why not forever: a network sending tens of thousands
 * of notifications a day would grow the inbox without bound, and every enqueue pays for the size
 * of its key index. A redelivery after the retention period makes a new job, which re-runs work
 * that compares equal (the copy at the same EHR version, the domain event keyed by that version):
 * nothing is stored or billed twice (test/ingest/recovery.test.ts proves it).
 *
 * Dead jobs are never purged: they wait for a person.
 */
import type { TenantId } from '../store/port.ts';
import { purgeFinishedInBatches } from '../store/purge-finished.ts';
import type { IngestContext } from './worker-context.ts';
import { INGEST_QUEUE } from './jobs.ts';
import { DAY_MS } from '../time/clock.ts';

/** The default retention (the configuration's `ingestJobRetentionDays` default). */
export const DEFAULT_FINISHED_JOB_RETENTION_MS = 14 * DAY_MS;

/**
 * Transactions per maintenance pass at most. Maintenance runs every heartbeat or poll interval
 * (a minute or so) per connection: 20,000 per pass keeps up with ~300 finished jobs a second
 * sustained, far beyond a network's daily volume; a backlog (a new retention, a burst) is worked
 * off over the following passes.
 */
export const PURGE_ROUNDS = 20;

/** Purges the tenant's finished ingest jobs older than the retention; resolves with how many. */
export async function purgeFinishedJobs(ctx: IngestContext, tenant: TenantId): Promise<number> {
  const retention = ctx.deps.finishedJobRetentionMs ?? DEFAULT_FINISHED_JOB_RETENTION_MS;
  const before = new Date(ctx.now().getTime() - retention).toISOString();
  return purgeFinishedInBatches(ctx.deps.store.jobs, tenant, INGEST_QUEUE, before, { rounds: PURGE_ROUNDS });
}
