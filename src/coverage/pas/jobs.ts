/**
 * The prior authorization queue's jobs (src/coverage/pas/worker.ts runs them), and how work gets on
 * it: the ingest hook (an order copy, each EHR version, in the copy's own transaction) and the
 * API/CLI (an order now, or its cancel). Keys make the same event one job.
 */
import { createHash } from 'node:crypto';
import type { BatchOperation, EnqueueRequest, JobState, Store, TenantId } from '../../store/port.ts';
import type { Resource } from '@medplum/fhirtypes';
import { sourceVersionOf } from '../../ingest/copies.ts';
import { PRIOR_AUTH_QUEUE } from './records.ts';
import { readOptional } from '../../store/read-optional.ts';

export type PriorAuthJob =
  | {
      readonly kind: 'order';
      readonly order: string;
      /** The order's type; absent: a MedicationRequest (jobs written before service orders). */
      readonly orderType?: 'ServiceRequest';
      readonly cancel?: boolean;
      readonly reason: string;
      /** Asked for by someone (API, billers' app, CLI), not an order version from the EHR. */
      readonly asked?: true;
    }
  | { readonly kind: 'send'; readonly caseId: string; readonly claim: string; readonly document: string }
  | { readonly kind: 'notification'; readonly payer: string; readonly body: unknown; readonly text: string }
  | { readonly kind: 'inquire'; readonly caseId: string; readonly round: number }
  | { readonly kind: 'subscribe'; readonly payer: string }
  | {
      readonly kind: 'unsubscribe';
      readonly payer: string;
      /** The payer's id of a subscription Dripline made and does not keep (./subscription-orphan.ts). */
      readonly subscription: string;
    }
  | {
      /**
       * Has the payer gone silent about the kept subscription (./subscription-check.ts)? Round n of
       * the subscription's line of checks.
       */
      readonly kind: 'check-subscription';
      readonly payer: string;
      /** The payer's id of the subscription watched. */
      readonly subscription: string;
      readonly round: number;
      /** The events-since-subscription-start the last `$status` reported (what is already re-polled). */
      readonly knownEvents?: number;
    }
  | {
      /**
       * Events of the kept subscription a notification showed were never received: recovered once
       * the IG's wait is over (./subscription-recovery.ts). Round n of the subscription's line.
       */
      readonly kind: 'recover-events';
      readonly payer: string;
      /** The payer's id of the subscription whose events are missing. */
      readonly subscription: string;
      readonly round: number;
    }
  | {
      /** Find and delete subscriptions a create with no answer may have left (./subscription-orphan.ts). */
      readonly kind: 'sweep-subscriptions';
      readonly payer: string;
      /**
       * The payer's id of the subscription Dripline keeps there; absent when the payer refused the
       * later create (it keeps none there: every one found goes).
       */
      readonly keep?: string;
    }
  | {
      /**
       * Purge the tenant's finished housekeeping jobs past their retention (./retention.ts): one per
       * tenant per hour, whichever worker enqueues it first.
       */
      readonly kind: 'purge-finished';
    };

/**
 * The job applying a payer's notification (the notify route's, ./routes.ts; and each event
 * `$events` recovered, ./subscription-events.ts): keyed by the subscription it names and its event
 * numbers, so one event is one job however it came — delivered twice, or recovered and then
 * delivered late (either way round). One naming no event numbers is keyed by its text's hash.
 */
export function notificationJob(
  payer: string,
  notification: {
    readonly subscription?: string;
    readonly numbers: readonly (number | undefined)[];
    readonly body: unknown;
    readonly text: string;
  },
): EnqueueRequest {
  const numbers = notification.numbers.map((n) => n ?? '').join(',');
  const tail = numbers || createHash('sha256').update(notification.text).digest('hex').slice(0, 32);
  const payload: PriorAuthJob = {
    kind: 'notification',
    payer,
    body: notification.body,
    text: notification.text,
  };
  return {
    queue: PRIOR_AUTH_QUEUE,
    key: `notify|${payer}|${notification.subscription ?? ''}|${tail}`,
    payload,
  };
}

/**
 * A line of prior-auth jobs: keys of which at most one job is ever ready or leased, the n-th made
 * only once the one before has ended (done, or dead after its last attempt). Its keys are numbered
 * (`{numbered}{n}`), so its latest is found in one look (JobQueue.highestNumbered).
 */
export interface JobLine {
  /** What the line's keys are numbered after: the n-th job's key is `{numbered}{n}`. */
  readonly numbered: string;
  /** The first job's key when it is not `{numbered}1` (a line grown from a key of its own). */
  readonly firstKey?: string;
  readonly payload: (n: number) => PriorAuthJob;
  /** When the job made may run (default now). */
  readonly runAt?: string;
  /** A `JobQueue.wake` with this key makes the line's job waiting for its runAt due at once. */
  readonly waitKey?: string;
}

/** The key of a line's n-th job (n from 1). */
function lineKey(line: JobLine, n: number): string {
  return n === 1 && line.firstKey !== undefined ? line.firstKey : `${line.numbered}${n}`;
}

/**
 * Enqueues the next job of a line unless one of it is still to run. From the line's start (`from`
 * 1, the default) it looks at the line's latest job only: the one job of a line that can still be
 * to run is its latest (each is made after the one before ended). One still to run ends it with
 * nothing made; else the next number is tried — not each key from 1, two store calls a key, which
 * a case pended for months (hundreds of rounds) paid on every pend and ask. A job queuing its
 * successor starts past its own key (`from`; its own job is leased). A key taken meanwhile (a
 * racing caller) by a job that ended is passed over, one still to run ends the walk; two callers
 * racing for the same key make one job (keys are unique per tenant and queue). Resolves with
 * whether one was made.
 */
export async function enqueueNextInLine(
  store: Pick<Store, 'jobs'>,
  tenant: TenantId,
  line: JobLine,
  from = 1,
): Promise<boolean> {
  let n = from;
  if (from === 1) {
    const latest = await store.jobs.highestNumbered(tenant, PRIOR_AUTH_QUEUE, line.numbered);
    if (latest) {
      if (stillToRun(latest.state)) {
        return false;
      }
      n = Number(latest.key.slice(line.numbered.length)) + 1;
    }
  }
  for (; ; n++) {
    const queued = await store.jobs.enqueue(tenant, {
      queue: PRIOR_AUTH_QUEUE,
      key: lineKey(line, n),
      payload: line.payload(n),
      ...(line.runAt ? { runAt: line.runAt } : {}),
      ...(line.waitKey ? { waitKey: line.waitKey } : {}),
    });
    if (queued.created) {
      return true;
    }
    if (stillToRun((await store.jobs.getJob(queued.jobId))?.state)) {
      return false;
    }
  }
}

function stillToRun(state: JobState | undefined): boolean {
  return state === 'ready' || state === 'leased';
}

/**
 * Enqueues a prior-auth job unless one of its line is still to run: the line of `key` is
 * `{key}`, `{key}|2`, `{key}|3`, ... (enqueueNextInLine). So an order job run again, or a second
 * ask, adds nothing while one is queued (the payer is never asked the same thing by two jobs at
 * once), and an ask after the last one died gets a new one. Resolves with whether one was made.
 */
export function enqueueInLine(
  store: Pick<Store, 'jobs'>,
  tenant: TenantId,
  key: string,
  payload: PriorAuthJob,
): Promise<boolean> {
  return enqueueNextInLine(store, tenant, { numbered: `${key}|`, firstKey: key, payload: () => payload });
}

/**
 * The ingest hook: a stored order copy (each EHR version) starts its prior authorization job, in
 * the copy's transaction: a drug order (MedicationRequest) or a service order (ServiceRequest:
 * hydration, home nursing), asked for when the payer's rule names its code.
 */
export function priorAuthJobsFor(copy: Resource): BatchOperation[] {
  if ((copy.resourceType !== 'MedicationRequest' && copy.resourceType !== 'ServiceRequest') || !copy.id) {
    return [];
  }
  const version = sourceVersionOf(copy).versionId ?? copy.meta?.versionId ?? 'unversioned';
  const service = copy.resourceType === 'ServiceRequest';
  const job: PriorAuthJob = {
    kind: 'order',
    order: copy.id,
    ...(service ? { orderType: 'ServiceRequest' as const } : {}),
    reason: 'order received from the EHR',
  };
  // Drug orders keep their key as before; service orders carry their type (ids are per type).
  const key = service ? `order|ServiceRequest/${copy.id}|${version}` : `order|${copy.id}|${version}`;
  return [{ op: 'enqueue', job: { queue: PRIOR_AUTH_QUEUE, key, payload: job } }];
}

/** The orders prior authorization is asked for: drug orders and service orders. */
export type OrderType = 'MedicationRequest' | 'ServiceRequest';

/**
 * An order named by a person (API body or query, CLI argument): "MedicationRequest/{id}",
 * "ServiceRequest/{id}", or a bare id (a MedicationRequest, as before service orders).
 */
export function parseOrderReference(
  value: unknown,
): { readonly type: OrderType; readonly id: string } | undefined {
  if (typeof value !== 'string') {
    return undefined;
  }
  const match = /^(?:(MedicationRequest|ServiceRequest)\/)?([A-Za-z0-9\-.]{1,64})$/.exec(value);
  if (!match) {
    return undefined;
  }
  return { type: (match[1] as OrderType | undefined) ?? 'MedicationRequest', id: match[2] ?? '' };
}

/**
 * Asks for a prior authorization of an order now (API, CLI). Each ask is a job (`at`: a person may
 * ask again, e.g. after fixing what a work item named); what it does stays idempotent: the order
 * version already asked for is not asked again, an unanswered request is resent as it was kept.
 */
export async function enqueueOrder(
  store: Pick<Store, 'jobs' | 'resources'>,
  tenant: TenantId,
  order: string,
  options: {
    readonly cancel?: boolean;
    readonly reason: string;
    readonly at: Date;
    /** The order's type (default MedicationRequest). */
    readonly orderType?: OrderType;
  },
): Promise<{ readonly created: boolean; readonly key: string }> {
  const service = options.orderType === 'ServiceRequest';
  const copy = await readOptional(store, tenant, service ? 'ServiceRequest' : 'MedicationRequest', order);
  const version = copy ? (sourceVersionOf(copy).versionId ?? copy.meta.versionId) : 'absent';
  // As the ingest hook's keys: drug orders by id alone, service orders with their type.
  const key = `order|${service ? `ServiceRequest/${order}` : order}|${version}|${options.cancel ? 'cancel' : 'ask'}|${options.at.toISOString()}`;
  const job: PriorAuthJob = {
    kind: 'order',
    order,
    ...(service ? { orderType: 'ServiceRequest' as const } : {}),
    ...(options.cancel ? { cancel: true } : {}),
    reason: options.reason,
    asked: true,
  };
  const result = await store.jobs.enqueue(tenant, { queue: PRIOR_AUTH_QUEUE, key, payload: job });
  return { created: result.created, key };
}
