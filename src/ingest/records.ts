/**
 * Dripline's record of each Subscription it keeps on an EHR: one per (connection, topic), stored in
 * the tenant's store as a `Subscription` resource (not exposed through the FHIR API) with a stable
 * id, the EHR's subscription id, a SHA-256 of the per-subscription secret (the secret itself lives
 * only on the EHR, in channel.header), and the event tracker state.
 */
import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { OperationOutcomeError } from '@medplum/core';
import type { Extension, Subscription } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../config/config.ts';
import type { Store, TenantId } from '../store/port.ts';
import type { EventTrackerState } from './event-tracker.ts';
import { INITIAL_TRACKER } from './event-tracker.ts';
import { DEFAULT_TOPIC_URLS } from './topics.ts';
import type { IngestTopic } from './topics.ts';
import {
  EXT_CHANNEL_SECRET_HASH,
  EXT_EHR_CONNECTION,
  EXT_EHR_SUBSCRIPTION,
  EXT_EVENT_TRACKER,
  EXT_INGEST_TOPIC,
} from '../contract/canonical.ts';

/** What Dripline subscribes to. */

export interface SubscriptionRecord {
  readonly recordId: string;
  readonly connectionId: string;
  readonly topic: IngestTopic;
  /** The Subscription's id on the EHR (undefined until created there). */
  readonly ehrSubscriptionId?: string;
  readonly secretSha256?: string;
  /** Status last seen on the EHR. */
  readonly status: Subscription['status'];
  readonly tracker: EventTrackerState;
  /** Store version, for optimistic concurrency. */
  readonly versionId?: string;
}

export function recordIdFor(connectionId: string, topic: IngestTopic): string {
  return `${connectionId}--${topic === 'MedicationAdministration' ? 'ma' : 'enc'}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The SHA-256 digest of a presented secret, computed once per request whatever it is compared with. */
export function secretDigest(presented: string): Buffer {
  return hash('sha256', presented, 'buffer');
}

/** A stored secret's SHA-256 (hex) as bytes, or undefined when there is none or it is malformed. */
export function storedDigest(storedSha256: string | undefined): Buffer | undefined {
  if (!storedSha256 || !/^[0-9a-f]{64}$/i.test(storedSha256)) {
    return undefined;
  }
  return Buffer.from(storedSha256, 'hex');
}

/** Constant-time check of a presented secret's digest against a stored digest. */
export function digestMatches(presented: Buffer, stored: Buffer | undefined): boolean {
  return stored !== undefined && stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** Constant-time check of a presented secret against a stored SHA-256. */
export function secretMatches(presented: string, storedSha256: string | undefined): boolean {
  return digestMatches(secretDigest(presented), storedDigest(storedSha256));
}

function ext(resource: Subscription, url: string): Extension | undefined {
  return resource.extension?.find((e) => e.url === url);
}

export function toRecord(resource: Subscription & { id: string }): SubscriptionRecord {
  const trackerText = ext(resource, EXT_EVENT_TRACKER)?.valueString;
  let tracker = INITIAL_TRACKER;
  if (trackerText) {
    try {
      tracker = JSON.parse(trackerText) as EventTrackerState;
    } catch {
      tracker = INITIAL_TRACKER;
    }
  }
  const ehrSubscriptionId = ext(resource, EXT_EHR_SUBSCRIPTION)?.valueString;
  const secretSha256 = ext(resource, EXT_CHANNEL_SECRET_HASH)?.valueString;
  return {
    recordId: resource.id,
    connectionId: ext(resource, EXT_EHR_CONNECTION)?.valueString ?? '',
    topic: (ext(resource, EXT_INGEST_TOPIC)?.valueCode ?? 'MedicationAdministration') as IngestTopic,
    status: resource.status,
    tracker,
    ...(ehrSubscriptionId ? { ehrSubscriptionId } : {}),
    ...(secretSha256 ? { secretSha256 } : {}),
    ...(resource.meta?.versionId ? { versionId: resource.meta.versionId } : {}),
  };
}

export function toResource(
  record: SubscriptionRecord,
  connection: Pick<EhrConnectionConfig, 'mode' | 'topics'>,
  endpoint: string,
): Subscription & { id: string } {
  const extension: Extension[] = [
    { url: EXT_EHR_CONNECTION, valueString: record.connectionId },
    { url: EXT_INGEST_TOPIC, valueCode: record.topic },
    { url: EXT_EVENT_TRACKER, valueString: JSON.stringify(record.tracker) },
  ];
  if (record.ehrSubscriptionId) {
    extension.push({ url: EXT_EHR_SUBSCRIPTION, valueString: record.ehrSubscriptionId });
  }
  if (record.secretSha256) {
    extension.push({ url: EXT_CHANNEL_SECRET_HASH, valueString: record.secretSha256 });
  }
  return {
    resourceType: 'Subscription',
    id: record.recordId,
    status: record.status,
    reason: `Dripline ingest of ${record.topic}`,
    criteria:
      connection.mode === 'rest-hook'
        ? record.topic
        : (connection.topics?.[record.topic]?.url ?? DEFAULT_TOPIC_URLS[record.topic]),
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
    extension,
  };
}

export async function loadRecord(
  store: Store,
  tenant: TenantId,
  connectionId: string,
  topic: IngestTopic,
): Promise<SubscriptionRecord | undefined> {
  try {
    const resource = await store.resources.read(tenant, 'Subscription', recordIdFor(connectionId, topic));
    return toRecord(resource as Subscription & { id: string });
  } catch (err) {
    if (err instanceof OperationOutcomeError && err.outcome.id === 'not-found') {
      return undefined;
    }
    throw err;
  }
}

/**
 * Read-modify-write of a record with optimistic concurrency; `change` is re-applied to the fresh
 * record when another worker got there first.
 */
export async function updateRecord(
  store: Store,
  tenant: TenantId,
  connection: Pick<EhrConnectionConfig, 'id' | 'mode' | 'topics'>,
  topic: IngestTopic,
  endpoint: string,
  change: (record: SubscriptionRecord) => SubscriptionRecord,
): Promise<SubscriptionRecord> {
  for (let attempt = 0; ; attempt++) {
    const current = (await loadRecord(store, tenant, connection.id, topic)) ?? {
      recordId: recordIdFor(connection.id, topic),
      connectionId: connection.id,
      topic,
      status: 'requested' as const,
      tracker: INITIAL_TRACKER,
    };
    const next = change(current);
    const resource = toResource(next, connection, endpoint);
    try {
      const result = current.versionId
        ? await store.resources.update(tenant, resource, { ifMatchVersion: current.versionId })
        : await store.resources.create(tenant, resource, { id: resource.id });
      return toRecord(result.resource as Subscription & { id: string });
    } catch (err) {
      const conflict =
        err instanceof OperationOutcomeError &&
        (err.outcome.id === 'precondition-failed' || err.outcome.id === 'conflict');
      if (!conflict || attempt >= 8) {
        throw err;
      }
    }
  }
}
