/**
 * Which of a patient's coverages is the primary one: read by the claim workflow (the payer a claim
 * is built for) and by the authorization ledger (the payer of charges no claim bills yet). Pure.
 */
import type { Coverage } from '@medplum/fhirtypes';

/** The patient's coverages in claim order: in force (not cancelled or entered in error), by `order`, then id. */
export function coveragesInOrder<T extends Coverage>(coverages: readonly T[]): T[] {
  return coverages
    .filter((c) => c.status !== 'entered-in-error' && c.status !== 'cancelled')
    .sort((a, b) => (a.order ?? 99) - (b.order ?? 99) || (a.id ?? '').localeCompare(b.id ?? ''));
}
