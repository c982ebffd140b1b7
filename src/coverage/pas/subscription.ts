/**
 * Dripline's PAS subscription at a payer (Da Vinci PAS 2.2.1 §Subscription, Subscriptions R5
 * Backport IG 1.1; ../shared/research/pas.md §3.1): one per payer endpoint and sending system, on
 * the PAS topic, rest-hook to `{PUBLIC_URL}/pas/{tenant}/{payer}/notify`, full-resource,
 * filtered by `org-identifier=<the tenant's billing NPI>` (the interchange sender id Dripline's
 * requests carry), with its own random secret as `Authorization: Bearer` in `channel.header` —
 * kept by Dripline only as a SHA-256, checked in constant time. Pure, but for the record helpers.
 *
 * The record is a Subscription in the tenant's store (`pas-sub-{payer}`), not served by the FHIR API.
 */
import { randomBytes } from 'node:crypto';
import type { Bundle, Extension, Parameters, Subscription } from '@medplum/fhirtypes';
import { sha256Hex } from '../../ingest/records.ts';
import type { Store, StoredResource, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import { EXT_CHANNEL_SECRET_HASH } from '../../contract/canonical.ts';
import {
  EXT_PAS_PAYER_SUBSCRIPTION,
  EXT_PAS_SUBSCRIPTION_UNCONFIRMED,
  EXT_PAS_SUBSCRIPTION_UNSUPPORTED,
  PAS_BACKPORT,
  PAS_PROFILE,
  PAS_TOPIC,
} from '../../contract/pas.ts';

export const subscriptionRecordId = (payer: string): string => `pas-sub-${payer}`;

/** The payer's work item about its subscription (Dripline could not subscribe): not a case's. */
export const subscriptionWorkId = (payer: string): string => `pas-sub-${payer}-work`;

export function notifyPath(tenant: string, payer: string): string {
  return `/pas/${encodeURIComponent(tenant)}/${encodeURIComponent(payer)}/notify`;
}

/**
 * The heartbeat Dripline asks a payer for (seconds): the Backport IG's way for a server to say its
 * subscription is in `error` or `off` (errors.html, "Handling Errors": a server MAY keep sending
 * heartbeats with an `error` status), which the notify route records (./routes.ts).
 */
export const PAS_HEARTBEAT_SECONDS = 3600;

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The Subscription Dripline asks a payer for (PAS profile-subscription). */
export function pasSubscription(input: {
  readonly endpoint: string;
  readonly senderId: string;
  readonly secret: string;
}): Subscription {
  return {
    resourceType: 'Subscription',
    meta: { profile: [PAS_BACKPORT.subscription, PAS_PROFILE.subscription] },
    status: 'requested',
    reason: 'Prior authorization results for Dripline requests',
    criteria: PAS_TOPIC,
    // The filter sits on the primitive `criteria` (pas.md §3.1: org-identifier, as Inferno 2.2.1 checks).
    ...({
      _criteria: {
        extension: [{ url: PAS_BACKPORT.filterCriteria, valueString: `org-identifier=${input.senderId}` }],
      },
    } as object),
    channel: {
      extension: [{ url: PAS_BACKPORT.heartbeatPeriod, valueUnsignedInt: PAS_HEARTBEAT_SECONDS }],
      type: 'rest-hook',
      endpoint: input.endpoint,
      payload: 'application/fhir+json',
      ...({
        _payload: { extension: [{ url: PAS_BACKPORT.payloadContent, valueCode: 'full-resource' }] },
      } as object),
      header: [`Authorization: Bearer ${input.secret}`],
    },
  };
}

export interface SubscriptionRecord {
  readonly payerSubscriptionId?: string;
  readonly secretSha256?: string;
  readonly status: Subscription['status'];
  readonly unsupported: boolean;
  /**
   * A create was sent whose answer Dripline never had (set before each create, cleared by an
   * answer): the payer may hold a subscription Dripline does not know (./subscribe.ts).
   */
  readonly unconfirmed: boolean;
  readonly versionId?: string;
}

/** A payer's subscription record in a tenant: as stored, and as read (both undefined when none). */
export async function readSubscriptionRecord(
  store: Pick<Store, 'resources'>,
  tenant: TenantId,
  payerId: string,
): Promise<{ readonly stored?: Subscription & StoredResource; readonly known?: SubscriptionRecord }> {
  const stored = await readOptional<Subscription>(
    store,
    tenant,
    'Subscription',
    subscriptionRecordId(payerId),
  );
  return stored ? { stored, known: readRecord(stored) } : {};
}

export function readRecord(resource: Subscription & { meta?: { versionId?: string } }): SubscriptionRecord {
  const ext = (url: string): Extension | undefined => resource.extension?.find((e) => e.url === url);
  const id = ext(EXT_PAS_PAYER_SUBSCRIPTION)?.valueString;
  const hash = ext(EXT_CHANNEL_SECRET_HASH)?.valueString;
  return {
    ...(id ? { payerSubscriptionId: id } : {}),
    ...(hash ? { secretSha256: hash } : {}),
    status: resource.status,
    unsupported: ext(EXT_PAS_SUBSCRIPTION_UNSUPPORTED)?.valueBoolean === true,
    unconfirmed: ext(EXT_PAS_SUBSCRIPTION_UNCONFIRMED)?.valueBoolean === true,
    ...(resource.meta?.versionId ? { versionId: resource.meta.versionId } : {}),
  };
}

/** The record as kept: the Subscription sent (without its secret), the payer's id and the secret's hash. */
export function recordResource(input: {
  readonly payer: string;
  readonly sent: Subscription;
  readonly secret?: string;
  readonly secretSha256?: string;
  readonly payerSubscriptionId?: string;
  readonly status: Subscription['status'];
  readonly unsupported?: boolean;
  readonly unconfirmed?: boolean;
}): Subscription & { id: string } {
  const { header: _secret, ...channel } = input.sent.channel;
  const hash = input.secret !== undefined ? sha256Hex(input.secret) : input.secretSha256;
  return {
    ...input.sent,
    id: subscriptionRecordId(input.payer),
    status: input.status,
    channel,
    extension: [
      ...(hash ? [{ url: EXT_CHANNEL_SECRET_HASH, valueString: hash }] : []),
      ...(input.payerSubscriptionId
        ? [{ url: EXT_PAS_PAYER_SUBSCRIPTION, valueString: input.payerSubscriptionId }]
        : []),
      ...(input.unsupported ? [{ url: EXT_PAS_SUBSCRIPTION_UNSUPPORTED, valueBoolean: true }] : []),
      ...(input.unconfirmed ? [{ url: EXT_PAS_SUBSCRIPTION_UNCONFIRMED, valueBoolean: true }] : []),
    ],
  };
}

/**
 * What a notification's SubscriptionStatus `status` makes of Dripline's record (Subscriptions R5
 * Backport IG 1.1, errors.html "Handling Errors": a server in error keeps counting events and MAY
 * keep sending heartbeats with an `error` status; FHIR R4 subscription-status: `error` "the server
 * has an error executing the notification", `off` "too many errors have occurred or the
 * subscription has expired"). A handshake Dripline answered is what makes the payer's `active`
 * (the handshake itself reports `requested`). Absent: the record keeps what it says.
 */
const RECORDED_STATUS: Readonly<Record<string, Subscription['status']>> = {
  requested: 'active',
  active: 'active',
  error: 'error',
  off: 'off',
};

export function recordedStatus(
  type: string,
  reported: string | undefined,
): Subscription['status'] | undefined {
  return type === 'handshake' ? 'active' : reported === undefined ? undefined : RECORDED_STATUS[reported];
}

export interface NotificationEvent {
  readonly number?: number;
  /** The focus reference, and the resource it names in the notification (the PAS Response Bundle). */
  readonly focus?: string;
  readonly resource?: unknown;
}

export type ParsedNotification =
  | {
      readonly ok: true;
      readonly type: string;
      /** The subscription's status as the notification reports it (requested | active | error | off …). */
      readonly status?: string;
      /** The subscription the notification names (its id). */
      readonly subscription?: string;
      /** events-since-subscription-start: every event the payer counted for it so far, sent or not. */
      readonly eventsSinceStart?: number;
      readonly events: readonly NotificationEvent[];
    }
  | { readonly ok: false; readonly reason: string };

/**
 * A Backport notification: a `history` Bundle whose first entry is the SubscriptionStatus
 * Parameters (type, subscription, notification-event with event-number and focus); with
 * full-resource content the focus — the PAS Response Bundle — is in the Bundle (spec-61).
 */
export function parsePasNotification(body: unknown): ParsedNotification {
  const bundle = body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'history') {
    return { ok: false, reason: 'A notification is a Bundle of type history (Subscriptions Backport IG)' };
  }
  const status = bundle.entry?.[0]?.resource as Parameters | undefined;
  if (status?.resourceType !== 'Parameters') {
    return { ok: false, reason: 'The first entry of a notification is the SubscriptionStatus Parameters' };
  }
  const param = (name: string): NonNullable<Parameters['parameter']>[number] | undefined =>
    status.parameter?.find((p) => p.name === name);
  const type = param('type')?.valueCode;
  if (!type) {
    return { ok: false, reason: 'The SubscriptionStatus names no notification type' };
  }
  const subscription = param('subscription')?.valueReference?.reference?.split('/').at(-1);
  const events = (status.parameter ?? [])
    .filter((p) => p.name === 'notification-event')
    .map((p): NotificationEvent => {
      const part = (name: string): NonNullable<typeof p.part>[number] | undefined =>
        p.part?.find((x) => x.name === name);
      const raw = part('event-number');
      const number = Number(raw?.valueString ?? raw?.valueUnsignedInt ?? raw?.valueInteger);
      const focus = part('focus')?.valueReference?.reference;
      const resource = focus
        ? bundle.entry?.find((e) => e.fullUrl === focus || (e.fullUrl ?? '').endsWith(`/${focus}`))?.resource
        : undefined;
      return {
        ...(Number.isInteger(number) ? { number } : {}),
        ...(focus ? { focus } : {}),
        ...(resource ? { resource } : {}),
      };
    });
  const reported = param('status')?.valueCode;
  const count = eventCount(param('events-since-subscription-start'));
  return {
    ok: true,
    type,
    ...(reported ? { status: reported } : {}),
    ...(subscription ? { subscription } : {}),
    ...(count !== undefined ? { eventsSinceStart: count } : {}),
    events,
  };
}

/**
 * Each event of a notification Bundle as a notification of its own: the same Bundle with only that
 * event's `notification-event` in its SubscriptionStatus and only that event's focus entry. How the
 * events of a `$events` answer (Backport IG 1.1, backport-subscription-events: a `history` Bundle,
 * its SubscriptionStatus of type `query-event`) are applied one by one, each as the notification
 * that would have brought it (./subscription-events.ts), with the focus each carries. Events without
 * a number are left out. `parsed`: the body as parsePasNotification read it, when the caller has it.
 */
export function eventNotifications(
  body: unknown,
  parsed: ParsedNotification = parsePasNotification(body),
): { readonly number: number; readonly body: Bundle; readonly resource?: unknown }[] {
  const bundle = body as Bundle;
  const [first, ...rest] = bundle.entry ?? [];
  const status = first?.resource as Parameters | undefined;
  if (!parsed.ok || !first || status?.resourceType !== 'Parameters') {
    return [];
  }
  const others = (status.parameter ?? []).filter((p) => p.name !== 'notification-event');
  const events = (status.parameter ?? []).filter((p) => p.name === 'notification-event');
  return parsed.events.flatMap((event, i) => {
    if (event.number === undefined) {
      return [];
    }
    const focus = rest.filter(
      (e) =>
        event.focus !== undefined &&
        (e.fullUrl === event.focus || (e.fullUrl ?? '').endsWith(`/${event.focus}`)),
    );
    const one: Bundle = {
      ...bundle,
      entry: [
        { ...first, resource: { ...status, parameter: [...others, ...events.slice(i, i + 1)] } },
        ...focus,
      ],
    };
    return [{ number: event.number, body: one, ...(event.resource ? { resource: event.resource } : {}) }];
  });
}

/** An events-since-subscription-start (a string on R4, an unsignedInt or integer elsewhere). */
function eventCount(param: NonNullable<Parameters['parameter']>[number] | undefined): number | undefined {
  const count = Number(param?.valueString ?? param?.valueUnsignedInt ?? param?.valueInteger);
  return param && Number.isInteger(count) && count >= 0 ? count : undefined;
}

/** What a payer's `$status` answer says of one subscription. */
export interface SubscriptionStatusReading {
  /** Its status as the payer holds it (requested | active | error | off …); absent when not said. */
  readonly status?: string;
  /** events-since-subscription-start: every event the payer counted for it, sent or not. */
  readonly eventsSinceStart?: number;
}

/**
 * The answer of `GET Subscription/{id}/$status` (Subscriptions R5 Backport IG 1.1,
 * OperationDefinition backport-subscription-status: a `searchset` Bundle holding one
 * SubscriptionStatus per subscription asked about; on R4 the SubscriptionStatus is a Parameters,
 * profile backport-subscription-status-r4). The entry naming `subscription` is read (or the only
 * one, when it names none); undefined when the answer is not such a Bundle.
 */
export function readStatusAnswer(body: unknown, subscription: string): SubscriptionStatusReading | undefined {
  const bundle = body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'searchset') {
    return undefined;
  }
  const statuses = (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Parameters => r?.resourceType === 'Parameters');
  const names = (p: Parameters): string | undefined =>
    p.parameter
      ?.find((x) => x.name === 'subscription')
      ?.valueReference?.reference?.split('/')
      .at(-1);
  const found =
    statuses.find((p) => names(p) === subscription) ?? (statuses.length === 1 ? statuses[0] : undefined);
  if (!found) {
    return undefined;
  }
  const param = (name: string): NonNullable<Parameters['parameter']>[number] | undefined =>
    found.parameter?.find((p) => p.name === name);
  const events = eventCount(param('events-since-subscription-start'));
  const status = param('status')?.valueCode;
  return {
    ...(status ? { status } : {}),
    ...(events !== undefined ? { eventsSinceStart: events } : {}),
  };
}

/** The heartbeat period (seconds) a kept subscription asked the payer for (default PAS_HEARTBEAT_SECONDS). */
export function heartbeatSecondsOf(record: Subscription): number {
  const asked = record.channel.extension?.find(
    (e) => e.url === PAS_BACKPORT.heartbeatPeriod,
  )?.valueUnsignedInt;
  return asked !== undefined && asked > 0 ? asked : PAS_HEARTBEAT_SECONDS;
}
