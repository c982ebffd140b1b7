/**
 * Prior authorizations on file, read from stored ClaimResponses with `use = preauthorization` (the
 * answer of a Da Vinci PAS `Claim/$submit`, or one a biller records by hand from a payer portal or
 * call), and checked against what a claim bills. Pure. What they have been used for is the
 * authorization ledger's (./ledger.ts).
 *
 * What counts (Da Vinci PAS 2.2.1, ../shared/research/pas.md §1.5, §2):
 * - the authorization number: `ClaimResponse.preAuthRef`, else the item's reviewAction `number`
 *   (X12 HCR02, the certification number), else the item's `extension-authorizationNumber` (REF*BB);
 *   items under different numbers are different authorizations;
 * - the dates: `preAuthPeriod`, or an item's `extension-itemPreAuthPeriod`;
 * - the services: items whose reviewAction code is A1 (certified in total) or A2 (certified,
 *   partial), with code and quantity from the item's `extension-itemAuthorizedDetail` (what was
 *   authorized), else from the request Claim's item of that sequence (what was asked for);
 *   `addItem`s (what a payer authorized instead — A6 "modified" pairs an item with an addItem), with
 *   their own productOrService and quantity (or their authorizedDetail). A3 (not certified), A4
 *   (pended) and A6 items authorize nothing. A ClaimResponse with neither items nor addItems
 *   authorizes any service in its dates.
 * - the quantity is units, or visits when its code is X12 673 `VS` or its unit says visits (PAS
 *   limits Claim quantities to units, visits, days and times: pas.md §1.4);
 * - `status` active and `outcome` not `error`.
 */
import type {
  Claim,
  ClaimResponse,
  ClaimResponseAddItem,
  ClaimResponseItem,
  CodeableConcept,
  Extension,
  Period,
  Quantity,
} from '@medplum/fhirtypes';

const PAS = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';
export const EXT_REVIEW_ACTION = `${PAS}/extension-reviewAction`;
export const EXT_REVIEW_ACTION_CODE = `${PAS}/extension-reviewActionCode`;
export const EXT_ITEM_PREAUTH_PERIOD = `${PAS}/extension-itemPreAuthPeriod`;
export const EXT_ITEM_AUTHORIZED_DETAIL = `${PAS}/extension-itemAuthorizedDetail`;
export const EXT_AUTHORIZATION_NUMBER = `${PAS}/extension-authorizationNumber`;
/** X12 1365 service type codes: a category of care, not a billing code. */
const X12_SERVICE_TYPE = 'https://codesystem.x12.org/005010/1365';
/** X12 673 (HSD01) quantity qualifier for visits. */
const X12_VISITS = 'VS';
/** X12 306 (HCR01) codes that certify the service (A1 in total, A2 partially). */
const CERTIFIED = new Set(['A1', 'A2']);

export interface AuthorizedService {
  /** CPT/HCPCS code. */
  readonly code: string;
  /** Billing units authorized; absent = not limited by units. */
  readonly units?: number;
  /** Visits authorized (the quantity was in visits); absent = not limited by visits. */
  readonly visits?: number;
  /** First and last date (YYYY-MM-DD) of the authorization of this service; absent = open. */
  readonly start?: string;
  readonly end?: string;
}

export interface Authorization {
  readonly number: string;
  /** "ClaimResponse/{id}" it was read from. */
  readonly source: string;
  /** The payer's id (ClaimResponse.insurer identifier value), when it names one. */
  readonly payerId?: string;
  /** "Patient/{id}". */
  readonly patient?: string;
  readonly start?: string;
  readonly end?: string;
  /** Empty: any service in the dates. */
  readonly services: readonly AuthorizedService[];
}

const day = (value: string | undefined): string | undefined => (value ? value.slice(0, 10) : undefined);

function reviewOf(extensions: readonly Extension[] | undefined): { code?: string; number?: string } {
  const action = extensions?.find((e) => e.url === EXT_REVIEW_ACTION)?.extension ?? [];
  const code = action
    .find((e) => e.url === EXT_REVIEW_ACTION_CODE || e.url === 'code')
    ?.valueCodeableConcept?.coding?.find((c) => c.code)?.code;
  const number = action.find((e) => e.url === 'number')?.valueString?.trim();
  return { ...(code ? { code } : {}), ...(number ? { number } : {}) };
}

function itemReview(item: ClaimResponseItem | ClaimResponseAddItem): { code?: string; number?: string } {
  for (const adjudication of item.adjudication ?? []) {
    const review = reviewOf(adjudication.extension);
    if (review.code || review.number) {
      return review;
    }
  }
  return reviewOf(item.extension);
}

/** The number an item carries: its certification number (HCR02), else its REF*BB authorization number. */
function itemNumber(item: ClaimResponseItem | ClaimResponseAddItem): string | undefined {
  return (
    itemReview(item).number ??
    (item.extension?.find((e) => e.url === EXT_AUTHORIZATION_NUMBER)?.valueString?.trim() || undefined)
  );
}

function itemPeriod(item: ClaimResponseItem | ClaimResponseAddItem): Period | undefined {
  return item.extension?.find((e) => e.url === EXT_ITEM_PREAUTH_PERIOD)?.valuePeriod;
}

/** What the payer says it authorized on an item (extension-itemAuthorizedDetail). */
function authorizedDetail(item: ClaimResponseItem | ClaimResponseAddItem): {
  concept?: CodeableConcept;
  quantity?: Quantity;
} {
  const parts = item.extension?.find((e) => e.url === EXT_ITEM_AUTHORIZED_DETAIL)?.extension ?? [];
  const concept = parts.find((p) => p.url === 'productOrServiceCode')?.valueCodeableConcept;
  const quantity = parts.find((p) => p.url === 'quantity')?.valueQuantity;
  return { ...(concept ? { concept } : {}), ...(quantity ? { quantity } : {}) };
}

function codeOf(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.find((c) => c.code)?.code?.toUpperCase();
}

/** A billing code (CPT/HCPCS/NDC...) of a concept; an X12 service type is a category, not a code to bill. */
function billingCodeOf(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.find((c) => c.code && c.system !== X12_SERVICE_TYPE)?.code?.toUpperCase();
}

/** Units or visits of a quantity (absent, or not a finite number: not limited). */
function amountOf(quantity: Quantity | undefined): { units?: number; visits?: number } {
  const value = quantity?.value;
  if (value === undefined || !Number.isFinite(value)) {
    return {};
  }
  const visits =
    quantity?.code?.toUpperCase() === X12_VISITS || /^visits?$/i.test(quantity?.unit?.trim() ?? '');
  return visits ? { visits: value } : { units: value };
}

/** The authorizations a set of stored ClaimResponses grant (others are ignored). */
export function authorizationsOf(
  responses: readonly ClaimResponse[],
  requests: readonly Claim[] = [],
): Authorization[] {
  const requestById = new Map(requests.filter((c) => c.id).map((c) => [`Claim/${c.id ?? ''}`, c]));
  const out: Authorization[] = [];
  for (const response of responses) {
    if (response.use !== 'preauthorization' || response.status !== 'active' || response.outcome === 'error') {
      continue;
    }
    const request = response.request?.reference ? requestById.get(response.request.reference) : undefined;
    const preAuthRef = response.preAuthRef?.trim() || undefined;
    const items = response.item ?? [];
    const adds = response.addItem ?? [];
    // The number an item without its own falls back to: preAuthRef, else the first one given.
    const fallback = preAuthRef ?? [...items, ...adds].map(itemNumber).find((n) => n !== undefined);
    const period = { start: day(response.preAuthPeriod?.start), end: day(response.preAuthPeriod?.end) };
    const byNumber = new Map<string, AuthorizedService[]>();
    const service = (
      number: string | undefined,
      code: string | undefined,
      amount: { units?: number; visits?: number },
      own: Period | undefined,
    ): void => {
      if (!code || !number) {
        return;
      }
      const start = day(own?.start) ?? period.start;
      const end = day(own?.end) ?? period.end;
      byNumber.set(number, [
        ...(byNumber.get(number) ?? []),
        { code, ...amount, ...(start ? { start } : {}), ...(end ? { end } : {}) },
      ]);
    };
    for (const item of items) {
      const review = itemReview(item);
      if (!review.code || !CERTIFIED.has(review.code)) {
        continue;
      }
      const requested = request?.item?.find((i) => i.sequence === item.itemSequence);
      const detail = authorizedDetail(item);
      service(
        preAuthRef ?? itemNumber(item) ?? fallback,
        billingCodeOf(detail.concept) ?? codeOf(requested?.productOrService),
        amountOf(detail.quantity ?? requested?.quantity),
        itemPeriod(item),
      );
    }
    for (const add of adds) {
      const review = itemReview(add);
      if (review.code && !CERTIFIED.has(review.code)) {
        continue;
      }
      // An addItem without a number of its own takes that of the item it modifies.
      const paired = items.find((i) => add.itemSequence?.includes(i.itemSequence));
      const detail = authorizedDetail(add);
      service(
        preAuthRef ?? itemNumber(add) ?? (paired ? itemNumber(paired) : undefined) ?? fallback,
        codeOf(add.productOrService) ?? codeOf(detail.concept),
        amountOf(add.quantity ?? detail.quantity),
        itemPeriod(add),
      );
    }
    const payerId = response.insurer?.identifier?.value;
    const common = {
      source: `ClaimResponse/${response.id ?? '?'}`,
      ...(payerId ? { payerId } : {}),
      ...(response.patient?.reference ? { patient: response.patient.reference } : {}),
    };
    if (items.length + adds.length === 0) {
      // A recorded authorization without services: any service in its dates.
      if (preAuthRef) {
        out.push({ number: preAuthRef, ...common, ...datesOf(period), services: [] });
      }
      continue; // no number to bill with
    }
    for (const [number, services] of byNumber) {
      out.push({ number, ...common, ...datesOf(period, services), services });
    }
  }
  return out;
}

/** An authorization's dates: preAuthPeriod, else the span of its services' dates. */
function datesOf(
  period: { start?: string | undefined; end?: string | undefined },
  services: readonly AuthorizedService[] = [],
): { start?: string; end?: string } {
  const starts = services.map((s) => s.start);
  const ends = services.map((s) => s.end);
  const start = period.start ?? (starts.every((s) => s !== undefined) ? starts.sort()[0] : undefined);
  const end = period.end ?? (ends.every((e) => e !== undefined) ? ends.sort().at(-1) : undefined);
  return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
}

/**
 * The ClaimResponse that records an authorization a payer gave outside PAS (by phone, fax or
 * portal), as a biller would POST it to `/fhir/ClaimResponse`: the number, the dates, and
 * optionally the services and units authorized (none listed: any service in the dates).
 */
export function authorizationOnFile(input: {
  readonly patient: string;
  readonly payerId: string;
  readonly number: string;
  readonly start: string;
  readonly end: string;
  readonly services?: readonly { readonly code: string; readonly units?: number }[];
  readonly now: Date;
}): ClaimResponse {
  return {
    resourceType: 'ClaimResponse',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'preauthorization',
    patient: { reference: input.patient },
    created: input.now.toISOString(),
    insurer: { identifier: { value: input.payerId } },
    outcome: 'complete',
    preAuthRef: input.number,
    preAuthPeriod: { start: input.start, end: input.end },
    ...(input.services && input.services.length > 0
      ? {
          addItem: input.services.map((s) => ({
            productOrService: { coding: [{ code: s.code }] },
            ...(s.units !== undefined ? { quantity: { value: s.units } } : {}),
            // PAS shape: the item was certified in total (X12 306 A1) under this number.
            adjudication: [
              {
                category: {
                  coding: [
                    { system: 'http://terminology.hl7.org/CodeSystem/adjudication', code: 'submitted' },
                  ],
                },
                extension: [
                  {
                    url: EXT_REVIEW_ACTION,
                    extension: [
                      { url: 'number', valueString: input.number },
                      {
                        url: EXT_REVIEW_ACTION_CODE,
                        valueCodeableConcept: {
                          coding: [{ system: 'https://codesystem.x12.org/005010/306', code: 'A1' }],
                        },
                      },
                    ],
                  },
                ],
              },
            ],
          })),
        }
      : {}),
  };
}

/** Whether a date (YYYY-MM-DD) is inside [start, end] (open ends allowed). */
export function withinDates(date: string, range: { start?: string; end?: string }): boolean {
  return (!range.start || date >= range.start) && (!range.end || date <= range.end);
}

/** The authorized services of `auth` for a code (the whole authorization when it lists none). */
export function servicesFor(auth: Authorization, code: string): AuthorizedService[] {
  if (auth.services.length === 0) {
    return [{ code, ...(auth.start ? { start: auth.start } : {}), ...(auth.end ? { end: auth.end } : {}) }];
  }
  return auth.services.filter((s) => s.code === code.toUpperCase());
}
