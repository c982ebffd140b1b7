/**
 * The sweep: charge capture does not announce "charges final", so every `sweepMs` the worker looks
 * for finished encounters with billable charges that no standing claim bills (after a hold, once
 * ingest has caught up with what the EHR sent until then, while the tenant's charge capture is
 * idle) and enqueues their build, one claim per patient, setting and
 * day of service in the facility's zone (a home-infusion encounter alone). It also takes adjudicated
 * claims over for correction and enqueues the corrected claims' builds, then runs the held-claim
 * recheck (./recheck.ts). A full scan runs at start and every `fullScanMs`; the sweeps between read
 * only what changed since the previous one (./watermarks.ts).
 */
import type { ChargeItem, Claim, Encounter } from '@medplum/fhirtypes';
import { tenantTimeZone } from '../../config/config.ts';
import { ENCOUNTER_CHANGED_QUEUE, INGEST_QUEUE } from '../../ingest/jobs.ts';
import type { StoreFilter, StoredResource, TenantId } from '../../store/port.ts';
import { billHoldMsOf, holdEndsAt } from './bill-hold.ts';
import type { WorkflowContext } from './context.ts';
import { byRef, refOf } from './context.ts';
import { takeOverCorrections } from './corrections.ts';
import { claimFrequencyOf, claimGroupOf, claimIdFor, encountersOfClaim, replacedByOf } from './identity.ts';
import type { ClaimReadyJob } from './jobs.ts';
import { CLAIM_READY_QUEUE } from './jobs.ts';
import { HeldClaimRecheck } from './recheck.ts';
import { claimStateOf } from './state.ts';
import { latestOf, SCAN_OVERLAP_MS } from './watermarks.ts';

/** What a sweep found to bill (see BillingSweep.#fullScan). */
interface BillingScan {
  /** Finished encounters with billable charges that no standing claim bills. */
  readonly unclaimed: readonly (Encounter & StoredResource)[];
  /** Ids of existing claims (for picking a rebill id that is free). */
  readonly claimIds: ReadonlySet<string>;
  /** Adjudicated claims marked replaced by a corrected claim (whose build may be due). */
  readonly replaced: readonly (Claim & StoredResource)[];
  /** The latest meta.lastUpdated among what was read: where the next change scan starts. */
  readonly latest?: string;
  /** The encounters a change scan looked at (a full scan looks at all of them). */
  readonly examined?: ReadonlySet<string>;
}

/**
 * Which encounters these claims bill, which claims exist, and which adjudicated ones are marked
 * replaced. Adjudicated voids, and the claims they voided, bill nothing: an encounter billable
 * again (e.g. no longer entered-in-error in the EHR) gets a new original claim.
 */
export function standingClaims(claims: readonly (Claim & StoredResource)[]): {
  claimed: Set<string>;
  claimIds: Set<string>;
  replaced: (Claim & StoredResource)[];
} {
  const voids = new Set(
    claims.filter((c) => claimFrequencyOf(c) === '8' && claimStateOf(c) === 'adjudicated').map((c) => c.id),
  );
  const claimed = new Set<string>();
  const claimIds = new Set<string>();
  const replaced: (Claim & StoredResource)[] = [];
  for (const claim of claims) {
    claimIds.add(claim.id);
    if (claim.status === 'entered-in-error') {
      continue;
    }
    const standsVoided = voids.has(claim.id) || voids.has(replacedByOf(claim) ?? '');
    if (standsVoided) {
      continue;
    }
    if (replacedByOf(claim) !== undefined && claimStateOf(claim) === 'adjudicated') {
      replaced.push(claim);
    }
    for (const item of claim.item ?? []) {
      for (const e of item.encounter ?? []) {
        const ref = refOf(e);
        if (ref) {
          claimed.add(ref);
        }
      }
    }
  }
  return { claimed, claimIds, replaced };
}

/**
 * When the oldest notification the tenant's ingest has not finished was received (epoch ms), or
 * +Infinity when ingest has caught up. Encounters that ended (plus the hold) before it are
 * complete as far as the EHR has told us; later ones wait. Keyed on the receipt time rather than
 * "is the queue empty" so that a steady stream of new notifications never starves billing.
 * Dead-lettered jobs don't count (they are in the operator's dead-letter view).
 */
async function oldestPendingIngest(ctx: WorkflowContext, tenant: TenantId): Promise<number> {
  let oldest = Number.POSITIVE_INFINITY;
  for (const state of ['ready', 'leased'] as const) {
    const [job] = await ctx.store.jobs.listJobs(tenant, INGEST_QUEUE, state, 1);
    const created = job ? Date.parse(job.createdAt) : Number.NaN;
    if (Number.isFinite(created) && created < oldest) {
      oldest = created;
    }
  }
  return oldest;
}

/**
 * The encounters whose claim build is queued or running (claim-ready jobs ready or leased): not
 * unclaimed, although their claim is not stored yet. Without this a sweep that sees one more of the
 * patient's visits that day (or the full scan after a restart) groups such an encounter again under
 * another claim id, and it is billed twice. Read before the scan reads the claims, so a build that
 * finishes in between is seen as its stored claim.
 */
async function encountersBeingBuilt(ctx: WorkflowContext, tenant: TenantId): Promise<Set<string>> {
  const out = new Set<string>();
  for (const state of ['ready', 'leased'] as const) {
    for (const job of await ctx.store.jobs.listJobs(tenant, CLAIM_READY_QUEUE, state, 1_000_000)) {
      for (const encounter of (job.payload as Partial<ClaimReadyJob>).encounters ?? []) {
        out.add(encounter);
      }
    }
  }
  return out;
}

/** An encounter inside its bill hold: when it is over, and the claim group it bills in. */
interface HeldEncounter {
  readonly releasedAt: number;
  readonly key: string;
}

export class BillingSweep {
  readonly #ctx: WorkflowContext;
  readonly #recheck: HeldClaimRecheck;
  /**
   * Per tenant: where the next change scan starts, the last full scan, the encounters looked at
   * again on every sweep (waiting for ingest to catch up, or for their build), and those inside
   * their bill hold (or their group's) with when it is over (looked at again then, or when they or
   * their charges change).
   */
  readonly #scans = new Map<
    TenantId,
    { watermark?: string; fullAt: number; pending: Set<string>; held: Map<string, HeldEncounter> }
  >();

  constructor(ctx: WorkflowContext) {
    this.#ctx = ctx;
    this.#recheck = new HeldClaimRecheck(ctx);
  }

  /**
   * Enqueues a build job for every group of finished, billable encounters without a claim, once
   * the tenant's charge capture is idle. Returns the number of jobs newly enqueued.
   */
  async sweep(tenant: TenantId): Promise<number> {
    const ctx = this.#ctx;
    const config = ctx.tenant(tenant);
    if (!config?.billing || config.payers.length === 0) {
      return 0;
    }
    const store = ctx.store;
    for (const state of ['ready', 'leased'] as const) {
      if ((await store.jobs.listJobs(tenant, ENCOUNTER_CHANGED_QUEUE, state, 1)).length > 0) {
        return 0; // charges are being (re)computed: not final yet
      }
    }
    const takenOver = await takeOverCorrections(ctx, tenant);
    if (takenOver > 0) {
      return takenOver; // charge capture recomputes those encounters first
    }
    const now = ctx.now().getTime();
    // The tenant's bill hold wins over the worker's holdMs (./bill-hold.ts).
    const hold = billHoldMsOf(config, ctx.deps.holdMs);
    const ingestBacklogSince = await oldestPendingIngest(ctx, tenant);
    const building = await encountersBeingBuilt(ctx, tenant);
    const previous = this.#scans.get(tenant);
    const full =
      previous?.watermark === undefined || now - previous.fullAt >= (ctx.deps.fullScanMs ?? 3_600_000);
    const scan =
      previous?.watermark === undefined || full
        ? await this.#fullScan(tenant)
        : await this.#changedScan(
            tenant,
            // Watermarks are the store's own meta.lastUpdated stamps (its clock, not ours).
            Date.parse(previous.watermark) - SCAN_OVERLAP_MS,
            new Set([
              ...previous.pending,
              ...[...previous.held].filter(([, h]) => h.releasedAt <= now).map(([ref]) => ref),
            ]),
          );
    const { claimIds, replaced } = scan;
    const pending = new Set<string>();
    // A hold of days keeps hundreds of encounters waiting: each is read again when its hold is over
    // (or it changed), not on every sweep (500 held on SQLite: 75 → 2 ms a sweep, every 5 s).
    const held = new Map<string, HeldEncounter>(
      full
        ? []
        : [...(previous?.held ?? [])].filter(([ref, h]) => h.releasedAt > now && !scan.examined?.has(ref)),
    );
    const released: { ref: string; key: string }[] = [];
    for (const encounter of scan.unclaimed) {
      const ref = `Encounter/${encounter.id}`;
      const key = claimGroupOf(encounter, tenantTimeZone(config)); // the claim it bills on
      if (key === undefined) {
        continue;
      }
      if (building.has(ref)) {
        pending.add(ref); // looked at again once its build has stored the claim (or given up)
        continue;
      }
      const releasedAt = holdEndsAt(encounter, hold);
      if (releasedAt > now) {
        held.set(ref, { releasedAt, key });
        continue;
      }
      if (Number.isFinite(releasedAt) && releasedAt >= ingestBacklogSince) {
        // Looked at again on every sweep until every notification received before its hold was over
        // has been fetched back and stored (id-only notifications don't say which encounter they
        // belong to, so any of them may carry this visit's last administration).
        pending.add(ref);
        continue;
      }
      released.push({ ref, key });
    }
    // A visit whose hold is over waits for those of its group still inside theirs (until the last
    // one's is over), so that a patient's day goes out on one claim rather than one per visit.
    const groupHeldUntil = new Map<string, number>();
    for (const { releasedAt, key } of held.values()) {
      groupHeldUntil.set(key, Math.max(groupHeldUntil.get(key) ?? releasedAt, releasedAt));
    }
    const groups = new Map<string, string[]>();
    for (const { ref, key } of released) {
      const until = groupHeldUntil.get(key);
      if (until !== undefined) {
        held.set(ref, { releasedAt: until, key });
      } else {
        groups.set(key, [...(groups.get(key) ?? []), ref]);
      }
    }
    const watermark = [previous?.watermark, scan.latest]
      .filter((t): t is string => t !== undefined)
      .sort((x, y) => Date.parse(x) - Date.parse(y))
      .at(-1);
    let created = 0;
    for (const original of replaced) {
      const encounters = encountersOfClaim(original);
      const replacement = replacedByOf(original);
      if (!replacement || claimIds.has(replacement) || encounters.length === 0) {
        continue;
      }
      const job: ClaimReadyJob = { encounters, frequency: '7', replaces: original.id };
      const result = await store.jobs.enqueue(tenant, {
        queue: CLAIM_READY_QUEUE,
        key: `build|${replacement}`,
        payload: job,
      });
      if (result.created) {
        created += 1;
      }
    }
    for (const encounters of groups.values()) {
      // Deterministic: the encounters' original id, else (it was voided) the first free rebill id.
      let claimId = claimIdFor(encounters);
      for (let n = 1; claimIds.has(claimId); n++) {
        claimId = claimIdFor(encounters, `1|rebill:${n}`);
      }
      const job: ClaimReadyJob = {
        encounters: [...encounters].sort(),
        frequency: '1',
        ...(claimId !== claimIdFor(encounters) ? { id: claimId } : {}),
      };
      const result = await store.jobs.enqueue(tenant, {
        queue: CLAIM_READY_QUEUE,
        key: `build|${claimId}`,
        payload: job,
      });
      if (result.created) {
        created += 1;
      }
    }
    // Only now that every build is enqueued does the next sweep start after this one's changes (a
    // failure above leaves the watermark where it was, and the same changes are read again).
    this.#scans.set(tenant, {
      ...(watermark ? { watermark } : {}),
      fullAt: full ? now : (previous?.fullAt ?? now),
      pending,
      held,
    });
    created += await this.#recheck.runIfDue(tenant, config, now, watermark);
    return created;
  }

  /**
   * Every finished encounter with billable charges and no claim standing for it, every claim id,
   * and the adjudicated claims marked replaced — from all of the tenant's data. Run at start and
   * then every `fullScanMs` as a safety net; the sweeps between look only at what changed.
   */
  async #fullScan(tenant: TenantId): Promise<BillingScan> {
    const ctx = this.#ctx;
    const billable = new Set<string>();
    const items = await ctx.searchAll<ChargeItem>(tenant, 'ChargeItem', [
      { code: 'status', kind: 'token', values: [{ value: 'billable' }] },
    ]);
    for (const item of items) {
      const ref = refOf(item.context);
      if (ref) {
        billable.add(ref);
      }
    }
    const claims = await ctx.searchAll<Claim>(tenant, 'Claim', []);
    const { claimed, claimIds, replaced } = standingClaims(claims);
    const finished = await ctx.searchAll<Encounter>(tenant, 'Encounter', [
      { code: 'status', kind: 'token', values: [{ value: 'finished' }] },
    ]);
    const unclaimed = finished.filter(
      (e) => billable.has(`Encounter/${e.id}`) && !claimed.has(`Encounter/${e.id}`),
    );
    const latest = latestOf(items, claims, finished);
    return { unclaimed, claimIds, replaced, ...(latest ? { latest } : {}) };
  }

  /**
   * The same as #fullScan, for what changed since `since` (store time, ms): billable charges and
   * finished encounters written since then, the encounters to look at again (`pending`: waiting
   * for ingest or their build, or at the end of their bill hold), and the claims of those
   * encounters; claims written since then for the replaced ones.
   */
  async #changedScan(tenant: TenantId, since: number, pending: ReadonlySet<string>): Promise<BillingScan> {
    const ctx = this.#ctx;
    const from = new Date(since).toISOString();
    const changed: StoreFilter = {
      code: '_lastUpdated',
      kind: 'date',
      prefix: 'ge',
      start: from,
      end: new Date(since + 1).toISOString(),
    };
    const candidates = new Set(pending);
    const billable = new Set<string>();
    const changedItems = await ctx.searchAll<ChargeItem>(tenant, 'ChargeItem', [
      { code: 'status', kind: 'token', values: [{ value: 'billable' }] },
      changed,
    ]);
    for (const item of changedItems) {
      const ref = refOf(item.context);
      if (ref?.startsWith('Encounter/')) {
        candidates.add(ref);
        billable.add(ref);
      }
    }
    const changedEncounters = await ctx.searchAll<Encounter>(tenant, 'Encounter', [
      { code: 'status', kind: 'token', values: [{ value: 'finished' }] },
      changed,
    ]);
    for (const encounter of changedEncounters) {
      candidates.add(`Encounter/${encounter.id}`);
    }
    const claimIds = new Set<string>();
    const unclaimed: (Encounter & StoredResource)[] = [];
    for (const ref of [...candidates].sort()) {
      const encounter = await ctx.read<Encounter>(tenant, 'Encounter', ref.slice('Encounter/'.length));
      if (encounter?.status !== 'finished') {
        continue;
      }
      if (
        !billable.has(ref) &&
        (
          await ctx.store.resources.search(tenant, {
            resourceType: 'ChargeItem',
            filters: [
              ...byRef('encounter', ref),
              { code: 'status', kind: 'token', values: [{ value: 'billable' }] },
            ],
            sort: [],
            count: 1,
            offset: 0,
            total: false,
          })
        ).resources.length === 0
      ) {
        continue;
      }
      const theirs = await ctx.searchAll<Claim>(tenant, 'Claim', byRef('encounter', ref));
      const { claimed, claimIds: ids } = standingClaims(theirs);
      ids.forEach((id) => claimIds.add(id));
      if (!claimed.has(ref)) {
        unclaimed.push(encounter);
      }
    }
    const changedClaims = await ctx.searchAll<Claim>(tenant, 'Claim', [changed]);
    const replaced = standingClaims(changedClaims).replaced.filter(
      (c) => !claimIds.has(replacedByOf(c) ?? ''),
    );
    for (const original of replaced) {
      // The replacement's existence decides whether its build is still to be enqueued.
      const replacement = replacedByOf(original);
      if (replacement && (await ctx.read<Claim>(tenant, 'Claim', replacement))) {
        claimIds.add(replacement);
      }
    }
    const latest = latestOf(changedItems, changedEncounters, changedClaims);
    return { unclaimed, claimIds, replaced, ...(latest ? { latest } : {}), examined: candidates };
  }
}
