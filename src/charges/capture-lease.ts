/**
 * Leasing a batch of charge capture's jobs: every due change of each encounter leased (the jobs'
 * siblings), grouped by encounter, the store's write mark taken before anything is read, and — when
 * the planning thread is up — the groups' plans asked for in one message (./planning-thread.ts).
 */
import type { EncounterChangedEvent } from '../ingest/jobs.ts';
import { ENCOUNTER_CHANGED_QUEUE, ENCOUNTER_KEY_SEPARATOR } from '../ingest/jobs.ts';
import type { Job, Store, TenantId, WriteMark } from '../store/port.ts';
import { normalizeReference } from '../store/search-index.ts';
import type { PlanContext, PlannedGroup, PlanRequest } from './group-planner.ts';
import { planRequestFor } from './group-planner.ts';
import type { PlanningThread } from './planning-thread.ts';

/** One encounter's jobs of a leased batch, with where the store stood and its plan if asked for. */
export interface LeasedGroup {
  readonly jobs: readonly Job[];
  readonly since: { readonly mark: WriteMark | undefined } | undefined;
  readonly planned?: Promise<PlannedGroup>;
}

export interface LeasedBatch {
  readonly jobs: readonly Job[];
  readonly groups: readonly LeasedGroup[];
  /** As many jobs as asked for: more are probably queued. */
  readonly full: boolean;
}

export interface CaptureLeaseOptions extends PlanContext {
  readonly store: Store;
  readonly limit: number;
  readonly leaseMs: number;
  /** Attempts after which a group is coded without the references not stored yet. */
  readonly incompleteAttempts: number;
  /** Asked for the groups' plans; without it, each group is planned when it is handled. */
  readonly planner?: Pick<PlanningThread, 'planBatch'>;
}

export async function leaseCaptureBatch(options: CaptureLeaseOptions): Promise<LeasedBatch> {
  const { store, limit, planner } = options;
  const jobs = await store.jobs.lease({
    queue: ENCOUNTER_CHANGED_QUEUE,
    leaseMs: options.leaseMs,
    limit,
    now: options.now(),
    // With each change, the encounter's other changes due, however far apart they were enqueued
    // (ingest stores an administration and, a batch later, its encounter): one recomputation
    // covers them all, since every change committed before this lease is in what it reads.
    siblingsBy: ENCOUNTER_KEY_SEPARATOR,
  });
  // Several changes to one encounter collapse into one recomputation.
  const byEncounter = new Map<string, Job[]>();
  for (const job of jobs) {
    const payload = job.payload as Partial<EncounterChangedEvent> | undefined;
    const key = `${job.tenant}|${payload?.encounter ?? ''}`;
    byEncounter.set(key, [...(byEncounter.get(key) ?? []), job]);
  }
  // Where the store's writes stood before any group read: each group's first look at what was
  // written meanwhile starts here, so the batch's groups share one look (./capture.ts #writtenSince).
  const marks = new Map<TenantId, { mark: WriteMark | undefined }>();
  for (const job of jobs) {
    if (!marks.has(job.tenant)) {
      marks.set(job.tenant, { mark: await store.resources.writeMark(job.tenant) });
    }
  }
  const groups: LeasedGroup[] = [...byEncounter.values()].map((group) => ({
    jobs: group,
    since: marks.get(group[0]?.tenant ?? ''),
  }));
  if (planner) {
    const asked = groups.flatMap((group, i) => {
      const request = planRequest(options, group);
      return request ? [{ i, request }] : [];
    });
    const plans = asked.length > 0 ? await planner.planBatch(asked.map((a) => a.request)) : [];
    asked.forEach(({ i }, k) => {
      const planned = plans[k];
      const group = groups[i];
      if (planned && group) {
        // Awaited when the group is handled; a plan that failed is made again there, not an
        // unhandled rejection.
        planned.catch(() => undefined);
        groups[i] = { ...group, planned };
      }
    });
  }
  // Siblings may take a batch past the limit.
  return { jobs, groups, full: jobs.length >= limit };
}

/** The first attempt's plan request of a group (undefined: a job without an encounter). */
function planRequest(options: CaptureLeaseOptions, group: LeasedGroup): PlanRequest | undefined {
  const [first] = group.jobs;
  const encounter = normalizeReference(
    (first?.payload as Partial<EncounterChangedEvent> | undefined)?.encounter ?? '',
  );
  if (!first || !encounter?.startsWith('Encounter/')) {
    return undefined;
  }
  return planRequestFor(options, first.tenant, encounter, {
    ...(group.since ? { since: group.since } : {}),
    allowIncomplete: Math.max(...group.jobs.map((j) => j.attempts)) >= options.incompleteAttempts,
  });
}
