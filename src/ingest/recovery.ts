/**
 * Finding and recovering what the EHR did not deliver: gaps in event numbers (recovered with
 * `$events` when the EHR offers it, else with a catch-up query), counter resets, subscriptions
 * gone, in error or silent past their heartbeat (checked with `$status` and repaired), and polling
 * connections. A catch-up reads what changed since the last sync in windows sorted by
 * `_lastUpdated`, continuing in a job of its own when one window is not enough.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { normalizeReference } from '../store/search-index.ts';
import type { EhrPort } from './ehr-port.ts';
import { classifyEhrError } from './ehr-port.ts';
import {
  gapNeedsRecovery,
  heard,
  heartbeatOverdue,
  missingRanges,
  recordEvent,
  recordRecovered,
  recordReported,
  recordSynced,
} from './event-tracker.ts';
import { ingestResources } from './fetch-back.ts';
import type { IngestJob } from './jobs.ts';
import { INGEST_QUEUE, jobKeys } from './jobs.ts';
import { parseNotification } from './notification-parser.ts';
import type { TopicNotification } from './notification.ts';
import type { ConnectionBinding } from './receiver.ts';
import type { SubscriptionRecord } from './records.ts';
import type { IngestTopic } from './topics.ts';
import { loadRecord } from './records.ts';
import { INGEST_TOPICS } from './topics.ts';
import type { IngestContext } from './worker-context.ts';
import { updateSubscription } from './worker-context.ts';
import { purgeFinishedJobs } from './retention.ts';

export async function enqueueCatchUp(
  ctx: IngestContext,
  binding: ConnectionBinding,
  topics: IngestTopic[],
  reason: string,
  eventRange?: { topic: IngestTopic; from: number; to: number; epoch?: string },
): Promise<void> {
  const job: IngestJob = {
    kind: 'catch-up',
    connectionId: binding.connection.id,
    topics,
    reason,
    ...(eventRange
      ? { eventRange: { topic: eventRange.topic, from: eventRange.from, to: eventRange.to } }
      : {}),
  };
  const id = eventRange
    ? `${eventRange.topic}|${eventRange.from}-${eventRange.to}|${eventRange.epoch ?? 'e0'}`
    : randomUUID();
  await ctx.deps.store.jobs.enqueue(binding.tenant, {
    queue: INGEST_QUEUE,
    key: jobKeys.catchUp(binding.connection.id, id),
    payload: job,
  });
}

export async function recoverIfGap(
  ctx: IngestContext,
  binding: ConnectionBinding,
  record: SubscriptionRecord,
): Promise<void> {
  const { gapGraceSeconds } = binding.connection;
  const graceMs = gapGraceSeconds !== undefined ? gapGraceSeconds * 1000 : (ctx.deps.gapGraceMs ?? 10_000);
  if (!gapNeedsRecovery(record.tracker, ctx.now(), graceMs)) {
    return;
  }
  // Fix: the key was topic|from-to only, and idempotency keys outlive finished jobs, so the same
  // range missing again after a counter reset or on a recreated subscription was never recovered.
  // The EHR subscription and the tracker's epoch make it another range.
  const epoch = `${record.ehrSubscriptionId ?? '-'}|e${record.tracker.epoch ?? 0}`;
  for (const range of missingRanges(record.tracker)) {
    await enqueueCatchUp(ctx, binding, [record.topic], 'event-gap', {
      topic: record.topic,
      ...range,
      epoch,
    });
  }
}

export async function catchUp(
  ctx: IngestContext,
  binding: ConnectionBinding,
  job: Extract<IngestJob, { kind: 'catch-up' }>,
): Promise<void> {
  const ehr = ctx.deps.ehrFor(binding.connection);
  const startedAt = ctx.now().toISOString();
  if (job.eventRange) {
    // Preferred recovery: ask the EHR to resend exactly the missing events.
    const record = await loadRecord(
      ctx.deps.store,
      binding.tenant,
      binding.connection.id,
      job.eventRange.topic,
    );
    if (record?.ehrSubscriptionId && (await recoverWithEvents(ctx, binding, record, job.eventRange, ehr))) {
      return;
    }
  }
  const locations = binding.connection.locations;
  for (const topic of job.topics) {
    const record = await loadRecord(ctx.deps.store, binding.tenant, binding.connection.id, topic);
    const lastSync = record?.tracker.lastSync;
    // Oldest change first, so a search stopped at its page limit has covered everything up to
    // the last change it returned and the next window starts there.
    const params: Record<string, string> = {
      _count: String(ctx.deps.catchUpPageSize ?? 100),
      _sort: '_lastUpdated',
    };
    if (job.continueFrom) {
      params._lastUpdated = `ge${job.continueFrom}`;
    } else if (lastSync) {
      const since = new Date(Date.parse(lastSync) - (ctx.deps.catchUpOverlapMs ?? 5 * 60_000));
      params._lastUpdated = `gt${since.toISOString()}`;
    }
    if (topic === 'Encounter' && locations.length > 0) {
      params.location = locations.join(',');
    }
    let sorted = true;
    const { resources: changed, truncated } = await ehr
      .searchAll(topic, params)
      .catch(async (err: unknown) => {
        // An EHR that refuses _sort (4xx) is asked again without it: one window, no continuation.
        if (classifyEhrError(err) === 'retryable') {
          throw err;
        }
        sorted = false;
        const { _sort: _ignored, ...unsorted } = params;
        ctx.deps.logger.warn(
          { connectionId: binding.connection.id, topic },
          'catch-up: the EHR refused _sort=_lastUpdated; searching unsorted',
        );
        return ehr.searchAll(topic, unsorted);
      });
    await ingestResources(ctx, binding, changed, [], new Map());
    const reached = changed
      .map((r) => r.meta?.lastUpdated)
      .filter((t): t is string => t !== undefined && Number.isFinite(Date.parse(t)))
      .sort((a, b) => Date.parse(a) - Date.parse(b))
      .at(-1);
    if (truncated && sorted && reached && reached !== job.continueFrom) {
      // More changed than one catch-up reads: continue from the last change read, in a job of
      // its own (bounded work per job); recovery is recorded when the last window is done.
      const next: IngestJob = {
        kind: 'catch-up',
        connectionId: binding.connection.id,
        topics: [topic],
        reason: `${job.reason} (continued)`,
        continueFrom: reached,
        startedAt: job.startedAt ?? startedAt,
      };
      await ctx.deps.store.jobs.enqueue(binding.tenant, {
        queue: INGEST_QUEUE,
        key: jobKeys.catchUp(binding.connection.id, `${topic}|from|${reached}|${job.startedAt ?? startedAt}`),
        payload: next,
      });
      ctx.deps.logger.info(
        { connectionId: binding.connection.id, topic, continueFrom: reached },
        'catch-up continues in another window',
      );
      continue;
    }
    if (truncated) {
      ctx.deps.logger.warn(
        { connectionId: binding.connection.id, topic, at: reached },
        sorted
          ? 'catch-up window made no progress (one instant holds more changes than a window reads)'
          : 'catch-up stopped at its page limit and the EHR cannot sort by _lastUpdated to continue',
      );
    }
    const coveredFrom = job.startedAt ?? startedAt;
    await updateSubscription(ctx, binding, topic, (r) => {
      const synced = recordSynced(r.tracker, coveredFrom);
      // A catch-up covers every event the sender had reported when it started.
      return { ...r, tracker: recordRecovered(synced, synced.reported, startedAt) };
    });
  }
}

/** $events for a range; false when the EHR does not offer it (fall back to a query). */
async function recoverWithEvents(
  ctx: IngestContext,
  binding: ConnectionBinding,
  record: SubscriptionRecord,
  range: { topic: IngestTopic; from: number; to: number },
  ehr: EhrPort,
): Promise<boolean> {
  let bundle: Resource;
  try {
    bundle = await ehr.operation(`Subscription/${record.ehrSubscriptionId ?? ''}/$events`, {
      method: 'GET',
      params: { eventsSinceNumber: String(range.from), eventsUntilNumber: String(range.to) },
    });
  } catch (err) {
    if (classifyEhrError(err) === 'retryable') {
      throw err;
    }
    return false;
  }
  let parsed: TopicNotification;
  try {
    const result = parseNotification({
      method: 'POST',
      headers: {},
      body: JSON.stringify(bundle),
    });
    if (result.shape !== 'backport' && result.shape !== 'r5') {
      return false;
    }
    parsed = result;
  } catch {
    return false;
  }
  const carried = new Map(
    parsed.resources.map((r) => [`${r.resource.resourceType}/${r.resource.id ?? ''}`, r.resource]),
  );
  const focuses = parsed.events.map((e) => e.focus).filter((f): f is string => f !== undefined);
  const carriedFocus = focuses
    .map((f) => carried.get(normalizeReference(f) ?? ''))
    .filter((r): r is Resource => r !== undefined);
  const toFetch = focuses.filter((f) => !carried.has(normalizeReference(f) ?? ''));
  await ingestResources(ctx, binding, carriedFocus, toFetch, carried);
  const now = ctx.now().toISOString();
  await updateSubscription(ctx, binding, range.topic, (r) => {
    let tracker = r.tracker;
    for (const event of parsed.events) {
      if (event.eventNumber !== undefined) {
        tracker = recordEvent(tracker, event.eventNumber, now).state;
      }
    }
    // Numbers the EHR no longer has (or never matched) are as recovered as they will get.
    return { ...r, tracker: recordRecovered(tracker, range.to, now) };
  });
  return true;
}

export async function maintain(ctx: IngestContext, binding: ConnectionBinding): Promise<void> {
  const { connection } = binding;
  const now = ctx.now();
  await purgeFinishedJobs(ctx, binding.tenant);
  if (connection.mode === 'poll') {
    await catchUp(ctx, binding, {
      kind: 'catch-up',
      connectionId: connection.id,
      topics: [...INGEST_TOPICS],
      reason: 'poll',
    });
    return;
  }
  const rebuilt = await ctx.deps.maintainer.ensure(binding);
  if (rebuilt.length > 0) {
    // Fix: a subscription recreated (gone from the EHR) or repaired here was not caught up, so
    // whatever changed while there was none was never stored.
    await enqueueCatchUp(ctx, binding, [...rebuilt], 'subscription-rebuilt');
  }
  const ehr = ctx.deps.ehrFor(connection);
  for (const topic of INGEST_TOPICS) {
    const record = await loadRecord(ctx.deps.store, binding.tenant, connection.id, topic);
    if (!record?.ehrSubscriptionId) {
      continue;
    }
    if (
      connection.mode !== 'rest-hook' &&
      heartbeatOverdue(record.tracker, now, connection.heartbeatSeconds)
    ) {
      // Silence past the heartbeat period: ask the EHR how the subscription is doing.
      const status = await subscriptionStatus(ehr, record.ehrSubscriptionId);
      const iso = now.toISOString();
      let reset = false;
      const updated = await updateSubscription(ctx, binding, topic, (r) => {
        const tracked =
          status.eventsSinceSubscriptionStart !== undefined
            ? recordReported(r.tracker, status.eventsSinceSubscriptionStart, iso)
            : undefined;
        reset = tracked?.reset ?? false;
        return {
          ...r,
          status: (status.status as SubscriptionRecord['status']) ?? r.status,
          tracker: tracked?.state ?? heard(r.tracker, iso),
        };
      });
      if (reset) {
        await enqueueCatchUp(ctx, binding, [topic], 'counter-reset'); // as in a status job
      }
      if (status.status === 'error' || status.status === 'off') {
        await repair(ctx, binding, topic);
      }
      await recoverIfGap(ctx, binding, updated);
    } else {
      await recoverIfGap(ctx, binding, record);
    }
  }
}

async function subscriptionStatus(
  ehr: EhrPort,
  ehrSubscriptionId: string,
): Promise<{ status?: string; eventsSinceSubscriptionStart?: number }> {
  try {
    const bundle = await ehr.operation(`Subscription/${ehrSubscriptionId}/$status`, { method: 'GET' });
    const parsed = parseNotification({ method: 'POST', headers: {}, body: JSON.stringify(bundle) });
    if (parsed.shape === 'backport' || parsed.shape === 'r5') {
      return {
        ...(parsed.status ? { status: parsed.status } : {}),
        ...(parsed.eventsSinceSubscriptionStart !== undefined
          ? { eventsSinceSubscriptionStart: parsed.eventsSinceSubscriptionStart }
          : {}),
      };
    }
  } catch (err) {
    if (classifyEhrError(err) === 'retryable') {
      throw err;
    }
    if (classifyEhrError(err) === 'gone') {
      return { status: 'off' };
    }
  }
  return {};
}

/**
 * Re-requests a subscription the EHR reports in error/off, then catches up: while it was broken
 * the EHR notified nothing (fix: the heartbeat path repaired without catching up).
 */
export async function repair(
  ctx: IngestContext,
  binding: ConnectionBinding,
  topic: IngestTopic,
): Promise<void> {
  await ctx.deps.maintainer.repair(binding, topic);
  await enqueueCatchUp(ctx, binding, [topic], 'subscription-repaired');
}
