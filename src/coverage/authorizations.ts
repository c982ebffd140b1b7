/**
 * Prior authorizations on file, read from stored ClaimResponses with `use = preauthorization` (the
 * answer of a Da Vinci PAS `Claim/$submit`, or one a biller records by hand from a payer portal or
 * call), and checked against what a claim bills. Pure.
 *
 * What counts (Da Vinci PAS 2.x, ../shared/research/pas.md §2):
 * - the authorization number: `ClaimResponse.preAuthRef`, else an item's reviewAction `number`
 *   (X12 HCR02, the certification number);
 * - the dates: `preAuthPeriod`, or an item's `extension-itemPreAuthPeriod`;
 * - the services: items whose reviewAction code is A1 (certified in total) or A2 (certified,
 *   partial), with code and units from the request Claim's item of that sequence; `addItem`s
 *   (what a payer authorized instead — A6 "modified" pairs an item with an addItem), with their
 *   own productOrService and quantity. A3 (not certified), A4 (pended) and A6 items authorize
 *   nothing. A ClaimResponse with neither items nor addItems authorizes any service in its dates.
 * - `status` active and `outcome` not `error`.
 */
import type {
  Claim,
  ClaimResponse,
  ClaimResponseAddItem,
  ClaimResponseItem,
  Extension,
  Period,
} from '@medplum/fhirtypes';

const PAS = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';
export const EXT_REVIEW_ACTION = `${PAS}/extension-reviewAction`;
export const EXT_REVIEW_ACTION_CODE = `${PAS}/extension-reviewActionCode`;
export const EXT_ITEM_PREAUTH_PERIOD = `${PAS}/extension-itemPreAuthPeriod`;
/** X12 306 (HCR01) codes that certify the service (A1 in total, A2 partially). */
const CERTIFIED = new Set(['A1', 'A2']);

export interface AuthorizedService {
  /** CPT/HCPCS code. */
  readonly code: string;
  /** Units authorized (billing units); absent = not limited. */
  readonly units?: number;
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
  const number = action.find((e) => e.url === 'number')?.valueString;
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

function itemPeriod(item: ClaimResponseItem | ClaimResponseAddItem): Period | undefined {
  return item.extension?.find((e) => e.url === EXT_ITEM_PREAUTH_PERIOD)?.valuePeriod;
}

function codeOf(concept: { coding?: { code?: string }[] } | undefined): string | undefined {
  return concept?.coding?.find((c) => c.code)?.code?.toUpperCase();
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
    const services: AuthorizedService[] = [];
    let number = response.preAuthRef?.trim() || undefined;
    const period = { start: day(response.preAuthPeriod?.start), end: day(response.preAuthPeriod?.end) };
    const service = (
      code: string | undefined,
      units: number | undefined,
      own: Period | undefined,
    ): AuthorizedService | undefined => {
      if (!code) {
        return undefined;
      }
      const start = day(own?.start) ?? period.start;
      const end = day(own?.end) ?? period.end;
      return {
        code,
        ...(units !== undefined && Number.isFinite(units) ? { units } : {}),
        ...(start ? { start } : {}),
        ...(end ? { end } : {}),
      };
    };
    for (const item of response.item ?? []) {
      const review = itemReview(item);
      number ??= review.number;
      if (!review.code || !CERTIFIED.has(review.code)) {
        continue;
      }
      const requested = request?.item?.find((i) => i.sequence === item.itemSequence);
      const s = service(codeOf(requested?.productOrService), requested?.quantity?.value, itemPeriod(item));
      if (s) {
        services.push(s);
      }
    }
    for (const add of response.addItem ?? []) {
      const review = itemReview(add);
      number ??= review.number;
      if (review.code && !CERTIFIED.has(review.code)) {
        continue;
      }
      const s = service(codeOf(add.productOrService), add.quantity?.value, itemPeriod(add));
      if (s) {
        services.push(s);
      }
    }
    const itemized = (response.item ?? []).length + (response.addItem ?? []).length > 0;
    if (!number || (itemized && services.length === 0)) {
      continue; // no number to bill with, or nothing certified
    }
    const payerId = response.insurer?.identifier?.value;
    out.push({
      number,
      source: `ClaimResponse/${response.id ?? '?'}`,
      ...(payerId ? { payerId } : {}),
      ...(response.patient?.reference ? { patient: response.patient.reference } : {}),
      ...(period.start ? { start: period.start } : {}),
      ...(period.end ? { end: period.end } : {}),
      services,
    });
  }
  return out;
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

/**
 * The authorization numbers a claim should carry: those of the payer's authorizations that cover
 * at least one of the claim's lines (code authorized, date of service inside the dates).
 */
export function authorizationNumbersFor(
  auths: readonly Authorization[],
  payerId: string,
  lines: readonly { code: string; date: string }[],
): string[] {
  const numbers = new Set<string>();
  for (const auth of auths) {
    if (auth.payerId !== undefined && auth.payerId !== payerId) {
      continue;
    }
    if (lines.some((l) => servicesFor(auth, l.code).some((s) => withinDates(l.date, s)))) {
      numbers.add(auth.number);
    }
  }
  return [...numbers].sort();
}
