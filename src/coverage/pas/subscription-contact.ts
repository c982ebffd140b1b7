/**
 * When Dripline last heard from a payer about its PAS subscription there, and the highest event
 * number it received: kept per tenant and payer (`pas-sub-{payer}-contact`, a Basic in the
 * tenant's store, not served by the FHIR API) by the notify route (./routes.ts) on each handshake,
 * heartbeat and event it takes, and read by the silence check (./subscription-check.ts).
 *
 * A record of its own, not more on the subscription record (./subscription.ts): that one is
 * written with version checks by the subscribe job as it replaces a subscription, and a heartbeat
 * landing between its read and its write would fail that job; this one is written by the notify
 * route alone (concurrent notifications retry on a version conflict and keep the later instant and
 * the higher number). It names the subscription it is about: after a replacement, what was heard
 * of the old one says nothing of the new.
 */
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { Basic, Extension } from '@medplum/fhirtypes';
import {
  CS_PAS_RECORD,
  EXT_PAS_EVENTS_RECEIVED,
  EXT_PAS_LAST_CONTACT,
  EXT_PAS_PAYER_SUBSCRIPTION,
} from '../../contract/pas.ts';
import type { Store, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';

export const contactRecordId = (payer: string): string => `pas-sub-${payer}-contact`;

export interface SubscriptionContact {
  /** The payer's id of the subscription heard from. */
  readonly subscription: string;
  /** When (an instant, UTC) Dripline last took a notification about it. */
  readonly at: string;
  /** The highest event number received in its notifications (0: none yet). */
  readonly eventsReceived: number;
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
  const at = ext(EXT_PAS_LAST_CONTACT)?.valueInstant;
  if (!subscription || !at) {
    return undefined;
  }
  return { subscription, at, eventsReceived: ext(EXT_PAS_EVENTS_RECEIVED)?.valueInteger ?? 0 };
}

function contactResource(payer: string, contact: SubscriptionContact): Basic & { id: string } {
  return {
    resourceType: 'Basic',
    id: contactRecordId(payer),
    code: { coding: [{ system: CS_PAS_RECORD, code: 'subscription-contact' }] },
    extension: [
      { url: EXT_PAS_PAYER_SUBSCRIPTION, valueString: contact.subscription },
      { url: EXT_PAS_LAST_CONTACT, valueInstant: contact.at },
      { url: EXT_PAS_EVENTS_RECEIVED, valueInteger: contact.eventsReceived },
    ],
  };
}

/** Attempts at a write that another notification's write keeps beating (each re-reads). */
const ATTEMPTS = 5;

/**
 * A notification about `subscription` was taken at `at`, with events numbered up to
 * `highestEvent`: the contact kept moves to the later instant and the higher number (the same
 * subscription), or starts again (another one). Idempotent; a concurrent write is retried.
 */
export async function noteContact(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  payer: string,
  heard: { readonly subscription: string; readonly at: Date; readonly highestEvent?: number },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const stored = await readOptional<Basic>(store, tenant, 'Basic', contactRecordId(payer));
    const before = stored ? contactOf(stored) : undefined;
    const same = before?.subscription === heard.subscription ? before : undefined;
    const at = heard.at.toISOString();
    const next: SubscriptionContact = {
      subscription: heard.subscription,
      at: same && Date.parse(same.at) > heard.at.getTime() ? same.at : at,
      eventsReceived: Math.max(same?.eventsReceived ?? 0, heard.highestEvent ?? 0),
    };
    if (same && same.at === next.at && same.eventsReceived === next.eventsReceived) {
      return;
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
      return;
    } catch (err) {
      // Another notification's write came first (412 on the version, 409 on the create): again.
      const status = err instanceof OperationOutcomeError ? getStatus(err.outcome) : undefined;
      if (attempt >= ATTEMPTS || (status !== 412 && status !== 409)) {
        throw err;
      }
    }
  }
}
