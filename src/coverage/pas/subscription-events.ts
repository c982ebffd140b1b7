/**
 * Missed events of a PAS subscription asked back from the payer: `GET Subscription/{id}/$events`
 * (Subscriptions R5 Backport IG 1.1, OperationDefinition backport-subscription-events, and
 * errors.html "Missing Event": a client that finds events missing can ask a server offering
 * `$events` for them) for each range of missing numbers, before the recovery falls back to
 * `$inquire` (./subscription-recovery.ts). Da Vinci PAS 2.2.1 requires `$inquire` of payers while
 * `$events` is the IG's MAY: a refusal is expected, not an error.
 *
 * Each event handed back is queued as the notification that would have brought it
 * (eventNotifications, notificationJob): the same job, applied by the same code (./follow-up.ts
 * applyNotification), keyed by subscription and event number, so an event recovered and then
 * delivered late (or the other way round, or recovered again by a retried job) is applied once.
 * Then the contact's ledger takes them as received (noteReceived). Only events numbered in the
 * range asked and carrying their PAS Response Bundle count: anything else stays missing, for the
 * fallback.
 *
 * The EHR side recovers its gaps with `$events` too (../../ingest/recovery.ts recoverWithEvents);
 * not shared: its port, its notification parser (topics; id-only content fetched back) and what it
 * applies differ, and coverage code may not import ingest's worker. The operation's parameters are
 * all they have in common.
 */
import type { Bundle } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantId } from '../../store/port.ts';
import type { FollowUpContext } from './follow-up.ts';
import { notificationJob } from './jobs.ts';
import { PasPayerUnavailable } from './payer-client.ts';
import { eventNotifications, parsePasNotification } from './subscription.ts';
import { noteReceived } from './subscription-contact.ts';

/**
 * The attempt of a recovery job from which a payer unavailable for `$events` (network, timeout,
 * 429, 5xx) is taken as refusing it: the job's first attempts are retried with the queue's backoff
 * (1 s, then 2 s: a blip), the third falls back to `$inquire` rather than wait out the queue's
 * eight attempts (~4 minutes) while a decision may be waiting.
 */
export const EVENTS_ATTEMPTS = 3;

/** How the payer answered `$events` for a recovery. */
export interface EventsAsked {
  /** How many missing events it handed back (queued as their notifications). */
  readonly recovered: number;
  /**
   * `answered`: every range was asked and answered (whatever it held); else why asking stopped:
   * its HTTP status (a refusal: 404, 501, 400 …), `unavailable` (after EVENTS_ATTEMPTS), or
   * `unreadable` (a 2xx that is not a notification Bundle of this subscription).
   */
  readonly answer: 'answered' | 'unavailable' | 'unreadable' | number;
}

/**
 * Asks the payer for the `missing` events of `subscription`, range by range, and queues those it
 * hands back. `attempt` is the recovery job's (Job.attempts): below EVENTS_ATTEMPTS, an unavailable
 * payer fails the job (retryable); from it on, it ends the asking.
 */
export async function askMissedEvents(
  ctx: FollowUpContext,
  tenant: TenantId,
  payer: PayerEndpoint,
  subscription: string,
  missing: readonly { readonly from: number; readonly to: number }[],
  attempt: number,
): Promise<EventsAsked> {
  let recovered = 0;
  for (const range of missing) {
    let answer;
    try {
      answer = await ctx.port(payer).subscriptionEvents(subscription, range);
    } catch (err) {
      if (err instanceof PasPayerUnavailable && err.status === 501) {
        // Not Implemented: the payer offers no `$events` (a 5xx, but no blip to wait out).
        return { recovered, answer: 501 };
      }
      if (!(err instanceof PasPayerUnavailable) || attempt < EVENTS_ATTEMPTS) {
        throw err;
      }
      return { recovered, answer: 'unavailable' };
    }
    if (answer.status < 200 || answer.status >= 300) {
      return { recovered, answer: answer.status };
    }
    const parsed = parsePasNotification(answer.body);
    if (!parsed.ok || (parsed.subscription !== undefined && parsed.subscription !== subscription)) {
      return { recovered, answer: 'unreadable' };
    }
    // Only events numbered in the range asked, carrying their focus, the PAS Response Bundle (spec-61).
    const events = eventNotifications(answer.body, parsed).filter(
      ({ number, resource }) =>
        number >= range.from &&
        number <= range.to &&
        (resource as Bundle | undefined)?.resourceType === 'Bundle',
    );
    for (const event of events) {
      await ctx.store.jobs.enqueue(
        tenant,
        notificationJob(payer.id, {
          subscription,
          numbers: [event.number],
          body: event.body,
          text: JSON.stringify(event.body),
        }),
      );
    }
    // Queued: received, as the notify route counts an event once it is queued.
    await noteReceived(ctx.store, tenant, payer.id, {
      subscription,
      numbers: events.map((e) => e.number),
      ...(parsed.eventsSinceStart !== undefined ? { reported: parsed.eventsSinceStart } : {}),
      now: ctx.now(),
    });
    recovered += events.length;
  }
  return { recovered, answer: 'answered' };
}
