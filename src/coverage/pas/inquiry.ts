/**
 * The PAS Inquiry Request Bundle (`Claim/$inquire`, Da Vinci PAS 2.2.1, ../shared/research/pas.md
 * §3.2): a query by example for the current state of a request — a Claim Inquiry first, with the
 * requestor, the payer and the patient (member id MB on the Coverage), the items asked about, and
 * the payer's numbers (the pended item's reference, REF-NT; the certification number, REF-BB) so the
 * payer finds the exact request. The inquiry's own Claim.identifier is a new trace number, not a
 * search key. Pure.
 *
 * Dripline asks `$inquire` on a slow schedule (spec-9, spec-42: inquiries are not for polling): how
 * a payer that offers no subscription is followed, and at a subscribed payer the fallback when no
 * notification has come, backing off (./inquiry-schedule.ts, ./follow-up.ts).
 */
import type { Bundle, Claim, ClaimResponse, Extension } from '@medplum/fhirtypes';
import { buildPasRequest, stableUuid } from './request-bundle.ts';
import { readClaimResponse } from './response.ts';
import type { PasRequestInput } from './request-bundle.ts';
import { PAS_EXT, PAS_PROFILE } from '../../contract/pas.ts';

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

/**
 * The inquiry about a request Dripline sent, from the request Bundle as it was kept: its Claim
 * becomes a Claim Inquiry with a new trace number (urn:uuid fullUrl: the inquiry is not kept as a
 * Claim), the update's `related` and prior Claim left out, each item naming the payer's numbers
 * from the last answer (`response`, Dripline's copy).
 */
export function inquiryFromRequest(
  request: Bundle,
  input: { readonly claimId: string; readonly now: string; readonly response?: ClaimResponse },
): Bundle {
  const [first, ...rest] = request.entry ?? [];
  const claim = first?.resource as Claim;
  const known: Record<number, { payerReference?: string; authorization?: string }> = {};
  for (const item of readClaimResponse(input.response ?? ({ resourceType: 'ClaimResponse' } as ClaimResponse))
    .items) {
    known[item.sequence] = {
      ...(item.payerReference ? { payerReference: item.payerReference } : {}),
      ...(item.number ? { authorization: item.number } : {}),
    };
  }
  const { related: _related, ...base } = claim;
  const inquiry: Claim = {
    ...base,
    id: input.claimId,
    meta: { profile: [PAS_PROFILE.claimInquiry] },
    identifier: (claim.identifier ?? []).slice(0, 1).map((i) => ({ ...i, value: input.claimId })),
    created: input.now,
    extension: (claim.extension ?? []).filter((e) => e.url !== PAS_EXT.certificationType),
    item: (claim.item ?? []).map((item) => {
      const numbers = known[item.sequence];
      return {
        ...item,
        extension: [
          ...(item.extension ?? []).filter((e) => e.url !== PAS_EXT.infoChanged),
          ...(numbers?.payerReference
            ? [{ url: PAS_EXT.administrationReferenceNumber, valueString: numbers.payerReference }]
            : []),
          ...(numbers?.authorization
            ? [{ url: PAS_EXT.authorizationNumber, valueString: numbers.authorization }]
            : []),
        ],
      };
    }),
  };
  // From a urn fullUrl a relative reference resolves against nothing: the Claim's references become
  // the absolute URLs its entries have (the base of the request Claim's REST fullUrl).
  const restBase = /^(https?:\/\/.+)\/Claim\/[^/]+$/.exec(first?.fullUrl ?? '')?.[1];
  const absolute = restBase
    ? (JSON.parse(JSON.stringify(inquiry), (key, value: unknown) =>
        key === 'reference' && typeof value === 'string' && !/^(urn:|https?:|#)/.test(value)
          ? `${restBase}/${value}`
          : value,
      ) as Claim)
    : inquiry;
  return {
    resourceType: 'Bundle',
    meta: { profile: [PAS_PROFILE.inquiryRequestBundle] },
    identifier: { ...request.identifier, value: input.claimId },
    type: 'collection',
    timestamp: input.now,
    entry: [
      { fullUrl: `urn:uuid:${stableUuid(`inquiry|${input.claimId}`)}`, resource: absolute },
      ...rest.filter((e) => e.resource?.resourceType !== 'Claim'),
    ],
  };
}
