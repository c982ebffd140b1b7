/**
 * Events of a PAS subscription that a notification showed Dripline never received (Subscriptions
 * R5 Backport IG 1.1, errors.html "Missing Event"; the decision: ./missing-events.ts, on the
 * contact record the notify route keeps, ./subscription-contact.ts): an event numbered past the
 * next one expected, or a heartbeat counting more events than were delivered. Recovered first
 * with the payer's `$events` (./subscription-events.ts): the missing ranges asked back, each event
 * handed back applied as its notification would have been, so a lost decision costs one call, not
 * one `$inquire` per pended request. Only when `$events` is refused (404, 501, 400 …), the payer
 * stays unavailable for it, its answer is unreadable, or it hands back fewer events than are
 * missing, are the rest recovered by inquiry: each of the payer's pended requests has its inquiry
 * round made due now (repollPended) — `$inquire` is the recovery every PAS payer offers — and the
 * events are noted recovered. Events the silence check's `$status` shows missing
 * (./subscription-check.ts) are recovered the same way: it notes the count and queues this job.
 *
 * The notify route only queues the work (scheduleRecovery) and answers; a leased
 * `recover-events` job does it, one at a time per subscription (a line, ./jobs.ts
 * enqueueNextInLine), due when the IG's wait is over. So the same gap reported again — the same
 * notification redelivered, the next heartbeat — queues nothing while its job waits or runs, and
 * finds nothing missing once it ran; an event that arrives during the wait closes its gap, and the
 * job then asks the payer nothing. More found missing while a job ran gets the line's next job.
 * It calls the payer for `$events` only (the inquiries are jobs of their own): a payer unavailable
 * for it, or the store, fails it (retried; see EVENTS_ATTEMPTS), and one dead after its last
 * attempt is followed by a new one at the next notification showing the events still missing.
 * Times are the injected clock's; logs carry ids and counts, never PHI.
 */
import type { Claim } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { Job, Store, TenantId } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import type { FollowUpContext } from './follow-up.ts';
import { followUp } from './follow-up.ts';
import type { JobLine, PriorAuthJob } from './jobs.ts';
import { enqueueNextInLine } from './jobs.ts';
import { missingRanges, recoveryDueAt } from './missing-events.ts';
import { caseIdOf, payerOf, stateOf } from './records.ts';
import type { SubscriptionContact } from './subscription-contact.ts';
import { noteRecovered, readContact } from './subscription-contact.ts';
import { askMissedEvents } from './subscription-events.ts';

type RecoverJob = Extract<PriorAuthJob, { kind: 'recover-events' }>;

/** What every recovery's key starts with (its line: `{prefix}{payer}|{subscription}|{round}`). */
export const EVENT_RECOVERY_KEY_PREFIX = 'missed-events|';

const recoveryLine = (payer: string, subscription: string, runAt: Date): JobLine => ({
  numbered: `${EVENT_RECOVERY_KEY_PREFIX}${payer}|${subscription}|`,
  payload: (round) => ({ kind: 'recover-events', payer, subscription, round }),
  runAt: runAt.toISOString(),
});

/** A recovery of a subscription's missing events (tests, the queue's figures). */
export const isEventRecovery = (job: Pick<Job, 'key'>): boolean =>
  job.key.startsWith(EVENT_RECOVERY_KEY_PREFIX);

/**
 * The contact just kept shows events missing: their recovery is queued, due at the end of the
 * IG's wait, unless one of the subscription's is still to run. Resolves with whether one was.
 */
export async function scheduleRecovery(
  store: Pick<Store, 'jobs'>,
  tenant: TenantId,
  payer: string,
  contact: SubscriptionContact,
): Promise<boolean> {
  const due = recoveryDueAt(contact.ledger);
  return (
    due !== undefined && enqueueNextInLine(store, tenant, recoveryLine(payer, contact.subscription, due))
  );
}

/** The `recover-events` job (./worker.ts); `attempt` is its Job.attempts (this one included). */
export async function runEventRecovery(
  ctx: FollowUpContext,
  tenant: TenantId,
  job: RecoverJob,
  attempt = 1,
): Promise<void> {
  const payer = ctx.tenant(tenant).payers.find((p) => p.id === job.payer);
  if (!payer?.pas || payer.pas.subscription === 'off') {
    return; // no longer subscribed there
  }
  const contact = await readContact(ctx.store, tenant, payer.id);
  if (contact?.subscription !== job.subscription) {
    // Replaced, and its successor heard from: what was missing of the old one is no longer known
    // (the pended requests' own inquiry rounds remain their fallback, ./follow-up.ts).
    return;
  }
  const now = ctx.now();
  const due = recoveryDueAt(contact.ledger);
  const logged = { tenant, payer: payer.id, subscription: job.subscription };
  if (due === undefined) {
    ctx.logger.info(logged, 'PAS events missing a moment ago have arrived: nothing to recover');
    return;
  }
  if (due.getTime() > now.getTime()) {
    // Those missing when this job was queued arrived, and others went missing since: their wait.
    await enqueueNextInLine(ctx.store, tenant, recoveryLine(payer.id, job.subscription, due), job.round + 1);
    return;
  }
  const missing = missingRanges(contact.ledger);
  const through = contact.ledger.reported;
  const events = await askMissedEvents(ctx, tenant, payer, job.subscription, missing, attempt);
  // What `$events` did not hand back (of those missing when this job began) is inquired; a
  // subscription replaced meanwhile leaves them to the pended requests' own rounds (above).
  const asked = await readContact(ctx.store, tenant, payer.id);
  const same = asked?.subscription === job.subscription ? asked : undefined;
  const still = same ? missingRanges(same.ledger).filter((r) => r.from <= through) : [];
  const repolled = still.length > 0 ? await repollPended(ctx, tenant, payer) : 0;
  const after =
    still.length > 0
      ? await noteRecovered(ctx.store, tenant, payer.id, { subscription: job.subscription, through, now })
      : same;
  ctx.logger.warn(
    {
      ...logged,
      missing: missing.reduce((n, r) => n + r.to - r.from + 1, 0),
      from: missing[0]?.from,
      through,
      events: events.answer,
      recovered: events.recovered,
      repolled,
    },
    still.length > 0
      ? 'PAS events the payer counted never arrived: pended requests inquired now'
      : 'PAS events the payer counted never arrived: recovered with $events',
  );
  // More went missing while this ran (past `through`): the line's next job recovers them.
  const next = after ? recoveryDueAt(after.ledger) : undefined;
  if (next) {
    await enqueueNextInLine(ctx.store, tenant, recoveryLine(payer.id, job.subscription, next), job.round + 1);
  }
}

/**
 * The payer's pended requests: the inquiry round of each is made due now (a round is queued, to
 * run now, for a case none follows): what a person's ask does (followUp `asked`, `person`).
 * Resolves with how many cases.
 */
export async function repollPended(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: PayerEndpoint,
): Promise<number> {
  const cases = new Set<string>();
  for (const claim of await searchAll<Claim>(ctx.store, tenant, 'Claim', [
    { code: 'pas-state', kind: 'token', values: [{ value: 'pended' }] },
  ])) {
    const caseId = caseIdOf(claim.id);
    if (stateOf(claim) !== 'pended' || payerOf(claim) !== payer.id || cases.has(caseId)) {
      continue;
    }
    cases.add(caseId);
    await followUp(ctx, tenant, payer, caseId, {
      asked: true,
      person: true,
      pendedAt: new Date(claim.meta.lastUpdated),
    });
  }
  return cases.size;
}
