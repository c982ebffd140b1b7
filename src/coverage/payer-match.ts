/**
 * Which of the tenant's configured payers a Coverage names: by payer id (an identifier of the payor
 * Organization, or of the payor reference itself; one whose system says "payer-id" first), else by
 * name (the Organization's, or the payor reference's display). Pure: the caller reads the
 * Organization. Claims (the payer a claim goes to) and eligibility (the payer asked) read the same
 * answer from here.
 */
import type { Coverage, Organization } from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../config/billing.ts';

const PAYER_ID_SYSTEM_HINT = 'payer-id';

/** The "Organization/id" the coverage's payor names first, when it names one. */
export function payorOrganizationRef(coverage: Coverage | undefined): string | undefined {
  for (const payor of coverage?.payor ?? []) {
    const ref = payor.reference;
    const at = ref?.lastIndexOf('Organization/') ?? -1;
    if (ref && at >= 0) {
      return ref.slice(at);
    }
  }
  return undefined;
}

export function matchPayer(
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
