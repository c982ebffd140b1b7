/**
 * Ingest work items, as written to the durable queue by the receiver (one per event, so duplicates
 * collapse on the idempotency key) and by the scheduler. Pure: payload shapes and key rules.
 */
import { createHash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { INBOX_QUEUE } from '../store/port.ts';
import type { IngestTopic } from './topics.ts';

/** The store's inbox queue: the embedded store keeps it in a file of its own (src/store/sqlite/inbox.ts). */
export const INGEST_QUEUE = INBOX_QUEUE;
/** Domain events for charge capture: "this encounter's documentation changed". */
export const ENCOUNTER_CHANGED_QUEUE = 'encounter-changed';

export type IngestJob =
  | {
      readonly kind: 'status';
      readonly connectionId: string;
      readonly topic: IngestTopic;
      readonly type: 'handshake' | 'heartbeat' | 'query-status';
      readonly status?: string;
      readonly eventsSinceSubscriptionStart?: number;
      readonly receivedAt: string;
    }
  | {
      readonly kind: 'event';
      readonly connectionId: string;
      readonly topic: IngestTopic;
      readonly eventNumber: number;
      readonly eventsSinceSubscriptionStart?: number;
      /** Focus as sent (absolute or relative); absent for `empty` content. */
      readonly focus?: string;
      readonly additionalContext: readonly string[];
      /** Resources the notification carried (full-resource content). */
      readonly resources: readonly Resource[];
      readonly receivedAt: string;
    }
  | {
      readonly kind: 'classic';
      readonly connectionId: string;
      readonly topic?: IngestTopic;
      readonly interaction: 'create' | 'update' | 'delete';
      readonly target: { readonly resourceType: string; readonly id: string; readonly versionId?: string };
      readonly resource?: Resource;
      readonly receivedAt: string;
    }
  | {
      /** Re-query the EHR for what changed since the last sync (empty payloads, pings, polls, recovery). */
      readonly kind: 'catch-up';
      readonly connectionId: string;
      readonly topics: readonly IngestTopic[];
      readonly reason: string;
      /** Recovering a gap in event numbers: try $events for this range first. */
      readonly eventRange?: { readonly topic: IngestTopic; readonly from: number; readonly to: number };
      /**
       * Continuing a catch-up that stopped at its page limit: changes at or after this instant (no
       * overlap), until the catch-up that started it (`startedAt`) is covered.
       */
      readonly continueFrom?: string;
      readonly startedAt?: string;
    }
  | {
      /** Make sure Subscriptions exist and are healthy; check heartbeats and gaps. */
      readonly kind: 'maintain';
      readonly connectionId: string;
    };

export interface EncounterChangedEvent {
  readonly encounter: string;
  /** The resource versions whose arrival caused this event ("Type/id/_history/v"). */
  readonly causes: readonly string[];
  /**
   * The stored versions of the encounter itself that this change replaced, where one could have
   * been coded ("Encounter/id/_history/<store version>"): charge capture recomputes the visits it
   * was coded with that it is no longer with (moved to another day, patient or episode).
   */
  readonly replaced?: readonly string[];
}

/**
 * Ends an encounter-changed key's encounter part: the jobs about one encounter share their key up
 * to it, so charge capture leases them together (LeaseOptions.siblingsBy).
 */
export const ENCOUNTER_KEY_SEPARATOR = '|';

/** One domain event per changed copy version, written in the same transaction as the copy. */
export function encounterChangedKey(encounter: string, cause: string): string {
  return `${encounter}${ENCOUNTER_KEY_SEPARATOR}${cause}`;
}

export function hashText(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);
}

/** Idempotency keys: the same event delivered twice maps to one job. */
export const jobKeys = {
  /**
   * Event numbers count per EHR subscription: a recreated subscription starts again at 1, so its
   * id is part of the key (`scope`), or its first events would collide with long-finished jobs.
   */
  event: (connectionId: string, topic: IngestTopic, eventNumber: number, scope: string): string =>
    `${connectionId}|${topic}|${scope}|event|${eventNumber}`,
  /** A status carries no identity of its own; keep them all (they are cheap and order-independent). */
  status: (connectionId: string, topic: IngestTopic, type: string, id: string): string =>
    `${connectionId}|${topic}|${type}|${id}`,
  /** Classic bodies: the resource version and interaction identify the change. */
  classic: (
    connectionId: string,
    target: { resourceType: string; id: string; versionId?: string },
    interaction: string,
    body: string,
  ): string =>
    `${connectionId}|classic|${target.resourceType}/${target.id}|${target.versionId ?? hashText(body)}|${interaction}`,
  catchUp: (connectionId: string, id: string): string => `${connectionId}|catch-up|${id}`,
  /** One maintenance pass per connection per time bucket, whichever process enqueues it first. */
  maintain: (connectionId: string, bucket: number): string => `${connectionId}|maintain|${bucket}`,
};
