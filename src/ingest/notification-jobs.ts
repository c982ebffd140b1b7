/**
 * The jobs the receiver enqueues for each notification: a subscription status (handshake,
 * heartbeat, query-status), an event (stored with fetch-back; its event number tracked for gaps),
 * and a classic rest-hook body. Their tracker changes are deferred to the end of the batch
 * (./batch-bookkeeping.ts); what they find missing is handed to recovery (./recovery.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import { normalizeReference } from '../store/search-index.ts';
import type { JobBookkeeping } from './batch-bookkeeping.ts';
import { markDeletedAtSource } from './copies.ts';
import { domainEvent } from './encounter-events.ts';
import { heard, recordEvent, recordReported } from './event-tracker.ts';
import { ingestResources } from './fetch-back.ts';
import { relatedReferences } from './related-references.ts';
import type { IngestJob } from './jobs.ts';
import type { ConnectionBinding } from './receiver.ts';
import type { SubscriptionRecord } from './records.ts';
import { catchUp, enqueueCatchUp, recoverIfGap, repair } from './recovery.ts';
import type { IngestContext } from './worker-context.ts';
import { copyContextFor, updateSubscription } from './worker-context.ts';

export async function handleStatus(
  ctx: IngestContext,
  binding: ConnectionBinding,
  job: Extract<IngestJob, { kind: 'status' }>,
): Promise<void> {
  const now = ctx.now().toISOString();
  let reset = false;
  const record = await updateSubscription(ctx, binding, job.topic, (r) => {
    const tracked =
      job.eventsSinceSubscriptionStart !== undefined
        ? recordReported(r.tracker, job.eventsSinceSubscriptionStart, now)
        : undefined;
    reset = tracked?.reset ?? false;
    const status =
      job.type === 'handshake' ? 'active' : ((job.status as SubscriptionRecord['status']) ?? r.status);
    return { ...r, status, tracker: tracked ? tracked.state : heard(r.tracker, now) };
  });
  if (reset) {
    // Fix: a heartbeat reporting fewer events than were processed (the EHR restarted its
    // counter) reset the tracker but never resynced, so what changed around the restart was lost.
    await enqueueCatchUp(ctx, binding, [job.topic], 'counter-reset');
  }
  if (job.status === 'error' || job.status === 'off') {
    await repair(ctx, binding, job.topic);
  }
  await recoverIfGap(ctx, binding, record);
}

export async function handleEvent(
  ctx: IngestContext,
  batch: JobBookkeeping,
  binding: ConnectionBinding,
  job: Extract<IngestJob, { kind: 'event' }>,
): Promise<void> {
  const now = ctx.now().toISOString();
  if (job.focus === undefined) {
    // `empty` content: something changed for this subscription; ask the EHR what.
    await catchUp(ctx, binding, {
      kind: 'catch-up',
      connectionId: binding.connection.id,
      topics: [job.topic],
      reason: 'empty-notification',
    });
  } else {
    const carried = new Map(job.resources.map((r) => [`${r.resourceType}/${r.id ?? ''}`, r]));
    const focusRef = normalizeReference(job.focus);
    const prefetched = batch.prefetched(binding.connection.id, job.focus);
    const failed = new Map<string, unknown>();
    if (focusRef && prefetched && !carried.has(focusRef)) {
      if ('resource' in prefetched) {
        carried.set(focusRef, prefetched.resource);
      } else {
        failed.set(focusRef, prefetched.error);
      }
    }
    const focus = focusRef ? carried.get(focusRef) : undefined;
    // What the focus references that the batch read ahead (its new encounter, by one `_id` search).
    for (const reference of focus ? relatedReferences(focus) : []) {
      const ref = normalizeReference(reference);
      const ahead = ref ? batch.relatedAhead(binding.connection.id, ref) : undefined;
      if (ref && ahead && !carried.has(ref)) {
        carried.set(ref, ahead);
      }
    }
    await ingestResources(
      ctx,
      binding,
      focus ? [focus] : [],
      focus ? [] : [job.focus],
      carried,
      failed,
      (type, id) => batch.storedCopy(binding.tenant, type, id),
    );
  }
  batch.deferTracker(binding, job.topic, (r, flags) => {
    let tracker = r.tracker;
    if (job.eventsSinceSubscriptionStart !== undefined) {
      const reported = recordReported(tracker, job.eventsSinceSubscriptionStart, now);
      flags.reset ||= reported.reset;
      tracker = reported.state;
    }
    const outcome = recordEvent(tracker, job.eventNumber, now, job.eventsSinceSubscriptionStart);
    flags.reset ||= outcome.kind === 'reset';
    return { ...r, tracker: outcome.state };
  });
}

export async function handleClassic(
  ctx: IngestContext,
  batch: JobBookkeeping,
  binding: ConnectionBinding,
  job: Extract<IngestJob, { kind: 'classic' }>,
): Promise<void> {
  const copies = copyContextFor(ctx, binding);
  const reference = `${job.target.resourceType}/${job.target.id}`;
  if (job.interaction === 'delete') {
    const result = await markDeletedAtSource(copies, job.target.resourceType, job.target.id, (copy) =>
      domainEvent(copy),
    );
    if (result.outcome === 'absent') {
      ctx.deps.logger.info(
        { connectionId: binding.connection.id },
        'delete of a resource Dripline never stored',
      );
    }
    return;
  }
  const carried = new Map<string, Resource>();
  if (job.resource) {
    carried.set(reference, job.resource);
  }
  // Classic bodies may come from a sender that does not version; fetch when nothing was carried.
  await ingestResources(
    ctx,
    binding,
    job.resource ? [job.resource] : [],
    job.resource ? [] : [reference],
    carried,
  );
  if (job.topic) {
    const now = ctx.now().toISOString();
    batch.deferTracker(binding, job.topic, (r) => ({ ...r, tracker: heard(r.tracker, now) }));
  }
}
