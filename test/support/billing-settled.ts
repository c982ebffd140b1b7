/**
 * Waits until billing has settled: no ingest or claim job ready or leased, no claim built, ready or
 * submitting, and every finished encounter with billable charges billed by a standing claim, seen
 * three looks in a row. Idle queues alone are not "done": the sweep that bills runs on a timer
 * (every sweepMs, after the hold, once ingest has caught up), so between two sweeps nothing moves
 * while encounters still wait for their claim — under load that gap outlasts a few quick looks.
 */
import type { ChargeItem, Claim, Encounter } from '@medplum/fhirtypes';
import { INGEST_QUEUE, ENCOUNTER_CHANGED_QUEUE } from '../../src/ingest/jobs.ts';
import { CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE } from '../../src/claims/workflow/jobs.ts';
import { claimStateOf } from '../../src/claims/workflow/state.ts';
import { standingClaims } from '../../src/claims/workflow/sweep.ts';
import { searchAll } from '../../src/store/search-all.ts';
import type { Store } from '../../src/store/port.ts';
import { waitFor } from './wait.ts';

const QUEUES = [INGEST_QUEUE, ENCOUNTER_CHANGED_QUEUE, CLAIM_READY_QUEUE, CLAIM_SUBMIT_QUEUE];

/** What still moves or waits to be billed (empty when billing is done); the queues alone while a job waits. */
export async function billingBacklog(store: Store, tenant: string): Promise<string[]> {
  const out: string[] = [];
  for (const queue of QUEUES) {
    for (const state of ['ready', 'leased'] as const) {
      if ((await store.jobs.listJobs(tenant, queue, state, 1)).length > 0) {
        out.push(`${queue} ${state}`);
      }
    }
  }
  // A job still queued or running is backlog enough: the reads below (every claim, charge and
  // encounter) are most of a look's CPU, and the looks run every 100 ms while work is in flight.
  if (out.length > 0) {
    return out;
  }
  const claims = await searchAll<Claim>(store, tenant, 'Claim');
  if (claims.length === 0) {
    out.push('no claim yet');
  }
  for (const claim of claims) {
    const state = claimStateOf(claim) ?? '';
    if (['built', 'ready', 'submitting'].includes(state)) {
      out.push(`Claim/${claim.id} ${state}`);
    }
  }
  const { claimed } = standingClaims(claims);
  const billable = new Set(
    (await searchAll<ChargeItem>(store, tenant, 'ChargeItem'))
      .filter((c) => c.status === 'billable')
      .map((c) => c.context?.reference ?? ''),
  );
  for (const encounter of await searchAll<Encounter>(store, tenant, 'Encounter')) {
    const ref = `Encounter/${encounter.id}`;
    if (encounter.status === 'finished' && billable.has(ref) && !claimed.has(ref)) {
      out.push(`${ref} not billed yet`);
    }
  }
  return out;
}

/** The tenant's claims as ids and versions: any claim stored or moved changes it. */
async function claimVersions(store: Store, tenant: string): Promise<string> {
  return (await searchAll<Claim>(store, tenant, 'Claim'))
    .map((c) => `${c.id}@${c.meta?.versionId ?? ''}`)
    .sort()
    .join(' ');
}

/**
 * Polls `billingBacklog` (after `beforeLook`, e.g. the EHR's deliveries) until empty three times
 * running; or, given `sweepNow` (the claim worker's: a sweep begun after the ask, resolved once
 * finished), until a look is empty and still empty, with the same claims, after the sweep it asks
 * for then — that sweep saw everything the look saw, so nothing is left for the timer's next one.
 */
export async function billingSettled(
  store: Store,
  tenant: string,
  options: {
    readonly timeoutMs: number;
    readonly intervalMs?: number;
    readonly beforeLook?: () => Promise<void>;
    readonly sweepNow?: () => Promise<void>;
  },
): Promise<void> {
  let quiet = 0;
  let last: string[] = [];
  const sweepNow = options.sweepNow;
  try {
    await waitFor(
      'billing to settle',
      async () => {
        await options.beforeLook?.();
        last = await billingBacklog(store, tenant);
        if (sweepNow && last.length === 0) {
          const claims = await claimVersions(store, tenant);
          await sweepNow();
          await options.beforeLook?.();
          last = await billingBacklog(store, tenant);
          return last.length === 0 && (await claimVersions(store, tenant)) === claims;
        }
        quiet = last.length === 0 ? quiet + 1 : 0;
        return quiet >= 3;
      },
      options.timeoutMs,
      options.intervalMs ?? 100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; still waiting: ${last.slice(0, 10).join(', ')}`, {
      cause: err,
    });
  }
}
