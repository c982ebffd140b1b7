/**
 * Keeps Dripline's Subscriptions alive on each EHR: creates the missing ones (one per topic, each
 * with its own random secret in channel.header), and repairs ones the EHR put in `error` or `off`
 * (a fresh secret and status back to `requested`, which makes a backport server handshake again).
 *
 * Shapes follow the R4 Subscriptions Backport IG (backport-subscription profile, extensions on
 * criteria and channel), R5 Subscription for `r5` connections, and a classic criteria string for
 * `rest-hook` connections. Topic URLs, filters and payload come from the connection's topic plan
 * (./topics.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { EhrConnectionConfig } from '../config/config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/port.ts';
import type { ConnectionBinding, SubscriptionDirectory } from './receiver.ts';
import type { SubscriptionRecord } from './records.ts';
import type { IngestTopic } from './topics.ts';
import { restartTracking } from './event-tracker.ts';
import { loadRecord, sha256Hex, updateRecord } from './records.ts';
import { INGEST_TOPICS } from './topics.ts';
import { r5FilterBy, restHookCriteria, topicPlan } from './topics.ts';
import { classifyEhrError } from './ehr-port.ts';
import type { SubscriptionMaintainer } from './ehr-port.ts';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

/** What the manager needs from an EHR client. */
export interface EhrSubscriptionsPort {
  readUrl(reference: string): Promise<Resource>;
  create<T extends Resource>(resource: T): Promise<T>;
  update<T extends Resource>(resource: T): Promise<T>;
}

export interface SubscriptionManagerDeps {
  readonly store: Store;
  readonly directory: SubscriptionDirectory;
  readonly ehrFor: (connection: EhrConnectionConfig) => EhrSubscriptionsPort;
  readonly publicUrl: string;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** The Subscription resource Dripline asks the EHR to create (pure; exported for tests). */
export function buildSubscription(
  connection: EhrConnectionConfig,
  topic: IngestTopic,
  endpoint: string,
  secret: string,
): Resource {
  const header = `Authorization: Bearer ${secret}`;
  const reason = `Dripline infusion billing: ${topic}`;
  const plan = topicPlan(connection, topic);
  switch (connection.mode) {
    case 'r5':
      // An R5 Subscription (for R4B/R5 EHRs); sent as JSON, it is not an R4 resource.
      return {
        resourceType: 'Subscription',
        status: 'requested',
        reason,
        topic: plan.url,
        ...(plan.filters.length > 0 ? { filterBy: r5FilterBy(plan) } : {}),
        channelType: {
          system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type',
          code: 'rest-hook',
        },
        endpoint,
        parameter: [{ name: 'Authorization', value: `Bearer ${secret}` }],
        heartbeatPeriod: connection.heartbeatSeconds,
        timeout: 30,
        contentType: 'application/fhir+json',
        content: plan.payload,
        maxCount: 20,
      } as unknown as Resource;
    case 'rest-hook':
      return {
        resourceType: 'Subscription',
        status: 'requested',
        reason,
        criteria: restHookCriteria(plan),
        channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', header: [header] },
      };
    case 'backport':
    case 'poll':
      return {
        resourceType: 'Subscription',
        meta: { profile: [`${BACKPORT}/backport-subscription`] },
        status: 'requested',
        reason,
        criteria: plan.url,
        ...(plan.filters.length > 0
          ? {
              _criteria: {
                extension: plan.filters.map((valueString) => ({
                  url: `${BACKPORT}/backport-filter-criteria`,
                  valueString,
                })),
              },
            }
          : {}),
        channel: {
          extension: [
            { url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: connection.heartbeatSeconds },
            { url: `${BACKPORT}/backport-timeout`, valueUnsignedInt: 30 },
            { url: `${BACKPORT}/backport-max-count`, valuePositiveInt: 20 },
          ],
          type: 'rest-hook',
          endpoint,
          payload: 'application/fhir+json',
          _payload: {
            extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: plan.payload }],
          },
          header: [header],
        },
      } as Resource;
    default:
      connection.mode satisfies never;
      throw new Error('unknown mode');
  }
}

export class SubscriptionManager implements SubscriptionMaintainer {
  readonly #deps: SubscriptionManagerDeps;

  constructor(deps: SubscriptionManagerDeps) {
    this.#deps = deps;
  }

  #endpoint(connectionId: string): string {
    return `${this.#deps.publicUrl}/ehr/${connectionId}/notify`;
  }

  /** Returns the topics whose subscription was recreated or repaired (the caller catches them up). */
  async ensure(binding: ConnectionBinding): Promise<IngestTopic[]> {
    const rebuilt: IngestTopic[] = [];
    if (binding.connection.mode === 'poll') {
      return rebuilt;
    }
    for (const topic of INGEST_TOPICS) {
      const record = await loadRecord(this.#deps.store, binding.tenant, binding.connection.id, topic);
      if (!record?.ehrSubscriptionId) {
        await this.#create(binding, topic);
        continue;
      }
      let remote: Resource | undefined;
      try {
        remote = await this.#deps
          .ehrFor(binding.connection)
          .readUrl(`Subscription/${record.ehrSubscriptionId}`);
      } catch (err) {
        if (classifyEhrError(err) !== 'gone') {
          throw err;
        }
      }
      const status = remote && 'status' in remote ? (remote.status as string) : undefined;
      if (!remote) {
        this.#deps.logger.warn(
          { connectionId: binding.connection.id, topic },
          'subscription gone from the EHR: recreating',
        );
        await this.#create(binding, topic);
        rebuilt.push(topic);
      } else if (status === 'error' || status === 'off') {
        await this.repair(binding, topic, remote);
        rebuilt.push(topic);
      } else if (status !== record.status) {
        await this.#setRecord(binding, topic, (r) => ({
          ...r,
          status: status as SubscriptionRecord['status'],
        }));
      }
    }
    return rebuilt;
  }

  async repair(binding: ConnectionBinding, topic: IngestTopic, current?: Resource): Promise<void> {
    const record = await loadRecord(this.#deps.store, binding.tenant, binding.connection.id, topic);
    if (!record?.ehrSubscriptionId) {
      await this.#create(binding, topic);
      return;
    }
    const ehr = this.#deps.ehrFor(binding.connection);
    let remote = current;
    try {
      remote ??= await ehr.readUrl(`Subscription/${record.ehrSubscriptionId}`);
    } catch (err) {
      if (classifyEhrError(err) !== 'gone') {
        throw err;
      }
      // Fix: a subscription deleted on the EHR made repair throw a terminal error (the job was
      // dead-lettered and nothing was repaired); there is nothing to repair, so recreate it.
      await this.#create(binding, topic);
      return;
    }
    const secret = randomBytes(32).toString('base64url');
    // Record the new secret first: the EHR handshakes as soon as it sees the update.
    await this.#setRecord(binding, topic, (r) => ({
      ...r,
      secretSha256: sha256Hex(secret),
      status: 'requested',
    }));
    const desired = buildSubscription(
      binding.connection,
      topic,
      this.#endpoint(binding.connection.id),
      secret,
    );
    const updated = await ehr.update({
      ...desired,
      id: record.ehrSubscriptionId,
      meta: { ...remote.meta, ...desired.meta },
    });
    await this.#setRecord(binding, topic, (r) => ({
      ...r,
      status: (updated as { status?: SubscriptionRecord['status'] }).status ?? 'requested',
    }));
    this.#deps.logger.info({ connectionId: binding.connection.id, topic }, 'subscription repaired');
  }

  async #create(binding: ConnectionBinding, topic: IngestTopic): Promise<void> {
    const secret = randomBytes(32).toString('base64url');
    const now = (this.#deps.now ?? (() => new Date()))().toISOString();
    await this.#setRecord(binding, topic, (r) => {
      const { ehrSubscriptionId: _old, ...rest } = r;
      // Fix: the previous subscription's tracker was kept, but the new one counts from 1 again: its
      // numbers up to the old high-water mark passed for duplicates (or a reset) and its gaps were
      // invisible. Tracking restarts in a new epoch; `lastSync` (set now if there was none) bounds
      // later catch-ups to what this subscription could have missed.
      return {
        ...rest,
        secretSha256: sha256Hex(secret),
        status: 'requested',
        tracker: restartTracking(r.tracker, now),
      };
    });
    const created = await this.#deps
      .ehrFor(binding.connection)
      .create(buildSubscription(binding.connection, topic, this.#endpoint(binding.connection.id), secret));
    const ehrSubscriptionId = created.id;
    if (!ehrSubscriptionId) {
      throw new Error('the EHR created a Subscription without an id');
    }
    await this.#setRecord(binding, topic, (r) => ({
      ...r,
      ehrSubscriptionId,
      status: (created as { status?: SubscriptionRecord['status'] }).status ?? r.status,
    }));
    this.#deps.logger.info(
      { connectionId: binding.connection.id, topic, ehrSubscriptionId },
      'subscription created',
    );
  }

  async #setRecord(
    binding: ConnectionBinding,
    topic: IngestTopic,
    change: (r: SubscriptionRecord) => SubscriptionRecord,
  ): Promise<void> {
    await updateRecord(
      this.#deps.store,
      binding.tenant,
      binding.connection,
      topic,
      this.#endpoint(binding.connection.id),
      change,
    );
    this.#deps.directory.invalidate(binding.connection.id);
  }
}
