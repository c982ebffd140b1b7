/**
 * When Dripline last heard from a payer about its PAS subscription there, and which of its events
 * it received (the ledger of ./missing-events.ts): kept per tenant and payer
 * (`pas-sub-{payer}-contact`, a Basic in the tenant's store, not served by the FHIR API) by the
 * notify route (./routes.ts) on each handshake, heartbeat and event it takes, and read by the
 * silence check (./subscription-check.ts), which notes the count a `$status` reports
 * (noteReported), and the recovery of missing events (./subscription-recovery.ts), which notes what
 * it recovered (noteRecovered) and the events the payer's `$events` handed back (noteReceived,
 * ./subscription-events.ts).
 *
 * A record of its own, not more on the subscription record (./subscription.ts): that one is
 * written with version checks by the subscribe job as it replaces a subscription, and a heartbeat
 * landing between its read and its write would fail that job; this one is written by the notify
 * route and the recoveries (a write that loses to another retries on the version conflict, merging
 * into what it lost to: the later instant, every number received). It names the subscription it is
 * about: after a replacement, what was heard of the old one says nothing of the new.
 */
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { Basic, Extension } from '@medplum/fhirtypes';
import {
  CS_PAS_RECORD,
  EXT_PAS_EVENT_LEDGER,
  EXT_PAS_EVENTS_RECEIVED,
  EXT_PAS_LAST_CONTACT,
  EXT_PAS_PAYER_SUBSCRIPTION,
} from '../../contract/pas.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import type { EventLedger, HeardEvents } from './missing-events.ts';
import { EMPTY_LEDGER, eventsAccounted, recovered, takeNotification } from './missing-events.ts';

export const contactRecordId = (payer: string): string => `pas-sub-${payer}-contact`;

export interface SubscriptionContact {
  /** The payer's id of the subscription heard from. */
  readonly subscription: string;
  /**
   * When (an instant, UTC) Dripline last took a notification about it; absent when none came yet
   * (only a recovery was noted: a `$status` answered about a subscription never heard from).
   */
  readonly at?: string;
  /** The highest event number received in its notifications, or recovered (0: none yet). */
  readonly eventsReceived: number;
  /** Its events: received, reported, missing (./missing-events.ts). */
  readonly ledger: EventLedger;
}

/** The tenant's last contact with its subscription at the payer; undefined when none is kept. */
export async function readContact(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  payer: string,
): Promise<SubscriptionContact | undefined> {
  const stored = await readOptional<Basic>(store, tenant, 'Basic', contactRecordId(payer));
  return stored ? contactOf(stored) : undefined;
}

function contactOf(basic: Basic): SubscriptionContact | undefined {
  const ext = (url: string): Extension | undefined => basic.extension?.find((e) => e.url === url);
  const subscription = ext(EXT_PAS_PAYER_SUBSCRIPTION)?.valueString;
  if (!subscription) {
    return undefined;
  }
  const at = ext(EXT_PAS_LAST_CONTACT)?.valueInstant;
  const ledger = ledgerOf(ext(EXT_PAS_EVENT_LEDGER)?.valueString, ext(EXT_PAS_EVENTS_RECEIVED)?.valueInteger);
  return { subscription, ...(at ? { at } : {}), eventsReceived: eventsAccounted(ledger), ledger };
}

/**
 * The stored ledger; a record written before ledgers were kept (the highest number only) is read
 * as having received every event up to it, as it was then taken to.
 */
function ledgerOf(text: string | undefined, highest: number | undefined): EventLedger {
  if (text) {
    try {
      const parsed = JSON.parse(text) as Partial<EventLedger>;
      if (typeof parsed.through === 'number' && typeof parsed.reported === 'number') {
        return {
          through: parsed.through,
          ahead: Array.isArray(parsed.ahead) ? parsed.ahead.filter((n) => Number.isInteger(n)) : [],
          reported: parsed.reported,
          ...(typeof parsed.missingSince === 'string' ? { missingSince: parsed.missingSince } : {}),
        };
      }
    } catch {
      // Unreadable: as an old record (below).
    }
  }
  return { ...EMPTY_LEDGER, through: highest ?? 0, reported: highest ?? 0 };
}

function contactResource(payer: string, contact: SubscriptionContact): Basic & { id: string } {
  return {
    resourceType: 'Basic',
    id: contactRecordId(payer),
    code: { coding: [{ system: CS_PAS_RECORD, code: 'subscription-contact' }] },
    extension: [
      { url: EXT_PAS_PAYER_SUBSCRIPTION, valueString: contact.subscription },
      ...(contact.at ? [{ url: EXT_PAS_LAST_CONTACT, valueInstant: contact.at }] : []),
      { url: EXT_PAS_EVENTS_RECEIVED, valueInteger: eventsAccounted(contact.ledger) },
      { url: EXT_PAS_EVENT_LEDGER, valueString: JSON.stringify(contact.ledger) },
    ],
  };
}

/**
 * The contact about `subscription` (`same`, or a new one) with `heard` taken into its ledger at
 * `now`, and `at` as its last contact (absent: none yet).
 */
function takingEvents(
  subscription: string,
  same: SubscriptionContact | undefined,
  heard: HeardEvents,
  now: Date,
  at: string | undefined,
): SubscriptionContact {
  const ledger = takeNotification(same?.ledger ?? EMPTY_LEDGER, heard, now);
  return { subscription, ...(at ? { at } : {}), eventsReceived: eventsAccounted(ledger), ledger };
}

/** Attempts at a write that another notification's write keeps beating (each re-reads). */
const ATTEMPTS = 5;

/**
 * Changes the contact kept about `subscription` (`change` gets the one kept about it, undefined
 * when none is, and returns the next; the same one again: nothing written). Retried on a
 * concurrent write. Resolves with the contact as written (or as it stood). With `keepOther`, a
 * contact kept about another subscription (its replacement, heard from) is left as it stands.
 */
async function changeContact(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  payer: string,
  subscription: string,
  change: (same: SubscriptionContact | undefined) => SubscriptionContact,
  keepOther = false,
): Promise<SubscriptionContact> {
  for (let attempt = 1; ; attempt++) {
    const stored = await readOptional<Basic>(store, tenant, 'Basic', contactRecordId(payer));
    const before = stored ? contactOf(stored) : undefined;
    if (keepOther && before && before.subscription !== subscription) {
      return before;
    }
    const same = before?.subscription === subscription ? before : undefined;
    const next = change(same);
    if (
      same &&
      JSON.stringify(contactResource(payer, same)) === JSON.stringify(contactResource(payer, next))
    ) {
      return same;
    }
    try {
      await store.resources.writeBatch(tenant, [
        stored
          ? {
              op: 'update',
              resource: contactResource(payer, next),
              options: { ifMatchVersion: stored.meta.versionId, upsert: false },
            }
          : { op: 'create', resource: contactResource(payer, next), options: { id: contactRecordId(payer) } },
      ]);
      return next;
    } catch (err) {
      // Another write came first (412 on the version, 409 on the create): again, on what it wrote.
      const status = err instanceof OperationOutcomeError ? getStatus(err.outcome) : undefined;
      if (attempt >= ATTEMPTS || (status !== 412 && status !== 409)) {
        throw err;
      }
    }
  }
}

/**
 * A notification about `subscription` was taken at `at`, with its events' numbers and the count it
 * reports: the contact kept moves to the later instant and takes them into its ledger (the same
 * subscription), or starts again (another one). Idempotent. Resolves with the contact kept, whose
 * ledger says what is missing.
 */
export function noteContact(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  payer: string,
  heard: { readonly subscription: string; readonly at: Date } & Partial<HeardEvents>,
): Promise<SubscriptionContact> {
  return changeContact(store, tenant, payer, heard.subscription, (same) =>
    takingEvents(
      heard.subscription,
      same,
      { numbers: heard.numbers ?? [], ...(heard.reported !== undefined ? { reported: heard.reported } : {}) },
      heard.at,
      same?.at && Date.parse(same.at) > heard.at.getTime() ? same.at : heard.at.toISOString(),
    ),
  );
}

/**
 * The payer's pended requests were inquired about (at `now`) for every event of `subscription` up
 * to `through`: those events are recovered, whichever of them were missing. Idempotent.
 */
export function noteRecovered(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  payer: string,
  recovery: { readonly subscription: string; readonly through: number; readonly now: Date },
): Promise<SubscriptionContact> {
  return changeContact(store, tenant, payer, recovery.subscription, (same) => {
    const ledger = recovered(same?.ledger ?? EMPTY_LEDGER, recovery.through, recovery.now);
    return {
      subscription: recovery.subscription,
      ...(same?.at ? { at: same.at } : {}),
      eventsReceived: eventsAccounted(ledger),
      ledger,
    };
  });
}

/**
 * The payer answered `$status` (at `now`) counting `reported` events of `subscription` since it
 * started (./subscription-check.ts): the count is taken into its ledger as a heartbeat reporting
 * it would be, so the events never received are missing there and recovered as such
 * (./subscription-recovery.ts). Not contact (`at` stays): an answer to Dripline's ask says nothing
 * of whether the payer's notifications reach it. A contact kept about another subscription (the
 * one this replaced) starts again, as a notification about this one would have it. Idempotent.
 */
export function noteReported(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  payer: string,
  status: { readonly subscription: string; readonly reported: number; readonly now: Date },
): Promise<SubscriptionContact> {
  return changeContact(store, tenant, payer, status.subscription, (same) =>
    takingEvents(status.subscription, same, { numbers: [], reported: status.reported }, status.now, same?.at),
  );
}

/**
 * Events of `subscription` the payer handed back when asked (`$events`, ./subscription-events.ts),
 * queued at `now` as their notifications would have been: received, in its ledger, with the count
 * the answer reports. Not contact (the silence check's `at` stays): an answer to Dripline's ask
 * says nothing of whether the payer's notifications reach it. Idempotent.
 */
export function noteReceived(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  payer: string,
  received: { readonly subscription: string; readonly now: Date } & HeardEvents,
): Promise<SubscriptionContact> {
  return changeContact(
    store,
    tenant,
    payer,
    received.subscription,
    (same) => takingEvents(received.subscription, same, received, received.now, same?.at),
    // Replaced meanwhile: the old one's events say nothing of the new one's ledger.
    true,
  );
}
