/**
 * Which of the tenant's configured payers a patient's coverage is with, and which coverage is the
 * primary one: read by the claim workflow (the payer a claim is built for) and by the authorization
 * ledger (the payer of charges no claim bills yet). Pure.
 */
import type { Coverage, Organization } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../config/billing.ts';

const PAYER_ID_SYSTEM_HINT = 'payer-id';

/** The patient's coverages in claim order: in force (not cancelled or entered in error), by `order`, then id. */
export function coveragesInOrder<T extends Coverage>(coverages: readonly T[]): T[] {
  return coverages
    .filter((c) => c.status !== 'entered-in-error' && c.status !== 'cancelled')
    .sort((a, b) => (a.order ?? 99) - (b.order ?? 99) || (a.id ?? '').localeCompare(b.id ?? ''));
}

/**
 * The configured payer a coverage names: by payer id (an identifier of the payor Organization or of
 * the payor reference; one whose system says payer-id first), else by name (the Organization's, or
 * the payor reference's display).
 */
export function configuredPayerOf(
  payers: readonly PayerEndpoint[],
  coverage: Coverage | undefined,
  organization: Organization | undefined,
): PayerEndpoint | undefined {
  const identifiers = [
    ...(organization?.identifier ?? []),
    ...(coverage?.payor ?? []).flatMap((p) => (p.identifier ? [p.identifier] : [])),
  ];
  const byId =
    payers.find((p) =>
      identifiers.some((i) => i.value === p.payerId && (i.system?.includes(PAYER_ID_SYSTEM_HINT) ?? true)),
    ) ?? payers.find((p) => identifiers.some((i) => i.value === p.payerId));
  return (
    byId ??
    payers.find((p) =>
      [organization?.name, ...(coverage?.payor ?? []).map((x) => x.display)].some(
        (name) => name !== undefined && p.name.toLowerCase() === name.toLowerCase(),
      ),
    )
  );
}
