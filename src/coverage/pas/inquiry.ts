/**
 * The PAS Inquiry Request Bundle (`Claim/$inquire`, Da Vinci PAS 2.2.1, ../shared/research/pas.md
 * §3.2): a query by example for the current state of a request — a Claim Inquiry first, with the
 * requestor, the payer and the patient (member id MB on the Coverage), the items asked about, and
 * the payer's numbers (the pended item's reference, REF-NT; the certification number, REF-BB) so the
 * payer finds the exact request. The inquiry's own Claim.identifier is a new trace number, not a
 * search key. Pure.
 *
 * Dripline asks `$inquire` only for payers that offer no subscription, on a slow schedule (spec-9,
 * spec-42: inquiries are not for polling): src/coverage/pas/worker.ts.
 */
import type { Bundle, Claim, Extension } from '@medplum/fhirtypes';
import { buildPasRequest } from './request-bundle.ts';
import type { PasRequestInput } from './request-bundle.ts';
import { PAS_EXT, PAS_PROFILE } from './urls.ts';

/** What the payer said so far about each item, to name it in the inquiry. */
export interface KnownNumbers {
  readonly [sequence: number]: { readonly payerReference?: string; readonly authorization?: string };
}

export function buildPasInquiry(input: PasRequestInput, known: KnownNumbers): Bundle {
  const request = buildPasRequest(input);
  const entries = request.entry ?? [];
  const claim = entries[0]?.resource as Claim;
  const inquiry: Claim = {
    ...claim,
    meta: { profile: [PAS_PROFILE.claimInquiry] },
    item: (claim.item ?? []).map((item) => {
      const numbers = known[item.sequence];
      const extension: Extension[] = [
        ...(item.extension ?? []),
        ...(numbers?.payerReference
          ? [{ url: PAS_EXT.administrationReferenceNumber, valueString: numbers.payerReference }]
          : []),
        ...(numbers?.authorization
          ? [{ url: PAS_EXT.authorizationNumber, valueString: numbers.authorization }]
          : []),
      ];
      return { ...item, extension };
    }),
  };
  return {
    ...request,
    meta: { profile: [PAS_PROFILE.inquiryRequestBundle] },
    entry: [{ ...entries[0], resource: inquiry }, ...entries.slice(1)],
  };
}
