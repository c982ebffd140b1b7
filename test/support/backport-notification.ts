/**
 * Backport IG notification Bundles as an EHR sends them to `POST /ehr/{connection}/notify`
 * (https://build.fhir.org/ig/HL7/fhir-subscription-backport-ig/notifications.html): a `history`
 * Bundle whose first entry is the SubscriptionStatus Parameters (R4 Backport), then one entry per
 * event focus. For the MedicationAdministration topic; the tests that send them.
 */
import type { Bundle, BundleEntry, Parameters } from '@medplum/fhirtypes';
import { TOPIC_MEDICATION_ADMINISTRATION } from '../../src/contract/canonical.ts';

/** One notification event: its number and, unless id-less, the resource it is about (a full URL). */
export interface NotificationEvent {
  readonly n: number;
  readonly focus?: string;
}

/** The SubscriptionStatus Parameters of a notification of `type`, events since start `count`. */
export function subscriptionStatus(
  subscription: string,
  type: string,
  count: string,
  events: readonly NotificationEvent[] = [],
): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'subscription', valueReference: { reference: subscription } },
      { name: 'topic', valueCanonical: TOPIC_MEDICATION_ADMINISTRATION },
      { name: 'status', valueCode: 'active' },
      { name: 'type', valueCode: type },
      { name: 'events-since-subscription-start', valueString: count },
      ...events.map((e) => ({
        name: 'notification-event',
        part: [
          { name: 'event-number', valueString: String(e.n) },
          { name: 'timestamp', valueInstant: '2026-11-26T15:00:00Z' },
          ...(e.focus ? [{ name: 'focus', valueReference: { reference: e.focus } }] : []),
        ],
      })),
    ],
  };
}

/** The notification Bundle: the status entry, then an entry (request only: id-only) per focus. */
export function backportNotification(
  subscription: string,
  type: string,
  count: string,
  events: readonly NotificationEvent[] = [],
): Bundle {
  const focusEntries: BundleEntry[] = events.flatMap((e) =>
    e.focus
      ? [
          {
            fullUrl: e.focus,
            request: { method: 'PUT', url: e.focus.split('/fhir/')[1] ?? e.focus },
            response: { status: '200' },
          },
        ]
      : [],
  );
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: '2026-11-26T15:00:00Z',
    entry: [
      {
        fullUrl: 'urn:uuid:4d1a2f36-4a7b-4d4c-9c35-5a2a9f1c7d10',
        resource: subscriptionStatus(subscription, type, count, events),
        request: { method: 'GET', url: `${subscription}/$status` },
        response: { status: '200' },
      },
      ...focusEntries,
    ],
  };
}
