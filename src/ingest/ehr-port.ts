/**
 * What the ingest worker needs from an EHR — reads, searches and operations (EhrPort), and the
 * upkeep of its Subscriptions (SubscriptionMaintainer) — and how an EHR's errors are classified
 * (gone, foreign, refused, or "try later"). Separate from the worker so that its implementations
 * (src/ehr, ./subscription-manager.ts) depend on the contract, not on the worker.
 */
import type { CapabilityStatement, Resource } from '@medplum/fhirtypes';
import type { ConnectionBinding } from './receiver.ts';
import type { IngestTopic } from './topics.ts';

/** What the worker needs from an EHR (implemented by src/ehr/ehr-client.ts over SMART Backend Services). */
export interface EhrPort {
  /** A relative "Type/id" or an absolute URL under the connection's FHIR base; anything else is refused without a request. */
  readUrl(reference: string): Promise<Resource>;
  /**
   * A search with its next pages, up to the port's page limit; `truncated` when the limit stopped
   * it with pages left (the caller continues from where it got).
   */
  searchAll(
    resourceType: string,
    params: Record<string, string>,
  ): Promise<{ resources: Resource[]; truncated: boolean }>;
  /** The EHR's CapabilityStatement (`GET [base]/metadata`). */
  capabilities(): Promise<CapabilityStatement>;
  operation(
    path: string,
    options: { method: 'GET' | 'POST'; params?: Record<string, string> },
  ): Promise<Resource>;
}

export interface SubscriptionMaintainer {
  /**
   * Creates missing Subscriptions on the EHR and repairs ones in error/off. Returns the topics whose
   * subscription was recreated (gone from the EHR) or repaired: what changed while it was broken
   * was never notified, so the caller catches them up.
   */
  ensure(binding: ConnectionBinding): Promise<readonly IngestTopic[]>;
  /** Re-requests a subscription the EHR reports in error/off. */
  repair(binding: ConnectionBinding, topic: IngestTopic): Promise<void>;
}

/** How an EHR error should be handled. */
type ErrorClass = 'gone' | 'foreign' | 'terminal' | 'retryable';

export function classifyEhrError(err: unknown): ErrorClass {
  const e = err as { name?: string; retryable?: unknown; status?: unknown };
  if (e.name === 'ForeignReferenceError') {
    return 'foreign';
  }
  if (e.name === 'EhrNotFoundError' || e.status === 404 || e.status === 410) {
    return 'gone';
  }
  if (e.retryable === false) {
    return 'terminal';
  }
  return 'retryable';
}

/** The EHR (or its token endpoint) said "not now" (429/5xx/network), as opposed to an unknown failure. */
export function ehrSaidLater(err: unknown): boolean {
  return (err as { retryable?: unknown } | undefined)?.retryable === true;
}
