/**
 * Reading a payer's PAS answer into a decision (Da Vinci PAS 2.2.1, ../shared/research/pas.md §2,
 * §3.2): every form the IG defines — approved (A1, A2 with certification numbers, periods and
 * units), modified (A6 with the paired addItem saying what was authorized), denied (A3 with X12 886
 * reasons and processNote text), pended (A4, the payer's reference number), cancelled, business
 * errors (`ClaimResponse.error` with X12 901 codes, the IG's error bundle), an OperationOutcome (4xx),
 * the `$inquire` Parameters — and the payer's request for more information (a CommunicationRequest
 * or a PAS Task in the answer). Pure.
 *
 * The reader is tolerant (older-style answers such as the reference implementation's claim-level
 * reviewAction are read too), and says separately whether the answer conforms to the PAS profiles:
 * Dripline acts only on answers that do (src/coverage/pas/worker.ts).
 */
import type {
  Bundle,
  ClaimResponse,
  ClaimResponseAddItem,
  ClaimResponseItem,
  CodeableConcept,
  CommunicationRequest,
  Extension,
  Identifier,
  OperationOutcome,
  Period,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { validatePasResponseBundle } from './profiles.ts';
import { PAS_EXT, PAS_X12 } from '../../contract/pas.ts';

/** Where a request stands after an answer. */
export type PasStatus =
  | 'certified' // every item certified (A1)
  | 'partial' // some certified, some not, or A2 (certified in part)
  | 'modified' // the payer authorized something other than what was asked (A6 + addItem)
  | 'denied' // not certified (A3)
  | 'pended' // still under review (A4)
  | 'cancelled' // the request was cancelled
  | 'error' // the payer could not process it (ClaimResponse.error, outcome error)
  | 'rejected'; // refused outright (an OperationOutcome, HTTP 4xx)

export type ItemStatus = 'certified' | 'partial' | 'denied' | 'pended' | 'modified' | 'cancelled' | 'unknown';

/** X12 306 (HCR01) review action codes → what they mean for Dripline. C (cancelled) is from third-party lists [UNCONFIRMED]. */
const REVIEW: Readonly<Record<string, ItemStatus>> = {
  A1: 'certified',
  A2: 'partial',
  A3: 'denied',
  A4: 'pended',
  A6: 'modified',
  C: 'cancelled',
};

export interface AuthorizedDetail {
  readonly code?: string;
  readonly units?: number;
  readonly period?: { readonly start?: string; readonly end?: string };
}

export interface ItemDecision {
  /** The request item's sequence (ClaimResponse.item.itemSequence). */
  readonly sequence: number;
  readonly reviewCode?: string;
  readonly status: ItemStatus;
  /** The certification / authorization number (reviewAction.number, X12 HCR02). */
  readonly number?: string;
  /** X12 886 decision reasons. */
  readonly reasons: readonly string[];
  /** The payer's reference for a pended or denied item (REF-NT). */
  readonly payerReference?: string;
  readonly period?: { readonly start?: string; readonly end?: string };
  /** What was authorized: the item's authorizedDetail, or (A6) the paired addItem. */
  readonly authorized?: AuthorizedDetail;
  readonly notes: readonly string[];
}

export interface PayerError {
  /** X12 901 reject reason. */
  readonly code?: string;
  readonly element?: string;
  readonly path?: string;
  /** X12 889 follow-up action. */
  readonly followup?: string;
}

export interface PasReading {
  readonly status: PasStatus;
  /** The ClaimResponse read (first of the Bundle), when there is one. */
  readonly claimResponse?: ClaimResponse;
  /** What the answer says it answers: `ClaimResponse.request` and the ClaimResponse's identifiers. */
  readonly request?: { readonly reference?: string; readonly identifier?: Identifier };
  readonly identifiers: readonly Identifier[];
  readonly items: readonly ItemDecision[];
  /** Services the payer authorized that no request item asked for (addItems paired with none). */
  readonly added: readonly AuthorizedDetail[];
  /** preAuthRef, else the first item number. */
  readonly number?: string;
  readonly period?: { readonly start?: string; readonly end?: string };
  readonly errors: readonly PayerError[];
  /** processNote texts (denial reasons in words, X12 MSG). */
  readonly notes: readonly string[];
  /** The payer asks for more information (CommunicationRequest / PAS Task in the answer, or referenced). */
  readonly moreInformation: readonly (CommunicationRequest | Task)[];
  /** The OperationOutcome of a refusal. */
  readonly outcome?: OperationOutcome;
  /** Why the answer does not conform to the PAS response profiles (undefined when it does). */
  readonly nonconformance?: OperationOutcome;
}

const codeOf = (concept: CodeableConcept | undefined, system?: string): string | undefined =>
  concept?.coding?.find((c) => c.code && (system === undefined || c.system === system))?.code ??
  concept?.coding?.find((c) => c.code)?.code;

const ext = (extensions: readonly Extension[] | undefined, url: string): Extension | undefined =>
  extensions?.find((e) => e.url === url);

const dateOf = (value: string | undefined): string | undefined => value?.slice(0, 10);

function periodOf(period: Period | undefined): { start?: string; end?: string } | undefined {
  if (!period?.start && !period?.end) {
    return undefined;
  }
  const start = dateOf(period.start);
  const end = dateOf(period.end);
  return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
}

/** The reviewAction of an item (inside its "submitted" adjudication, or on the item itself in older answers). */
function reviewOf(holder: ClaimResponseItem | ClaimResponseAddItem): {
  code?: string;
  number?: string;
  reasons: string[];
} {
  const actions = [
    ...(holder.adjudication ?? []).map((a) => ext(a.extension, PAS_EXT.reviewAction)),
    ext(holder.extension, PAS_EXT.reviewAction),
  ].filter((e): e is Extension => e !== undefined);
  for (const action of actions) {
    const parts = action.extension ?? [];
    const code =
      codeOf(
        parts.find((p) => p.url === PAS_EXT.reviewActionCode || p.url === 'code')?.valueCodeableConcept,
        PAS_X12.reviewAction,
      ) ??
      action.valueCode ??
      action.valueString;
    const number = parts.find((p) => p.url === 'number')?.valueString;
    const reasons = parts
      .filter((p) => p.url === 'reasonCode')
      .map((p) => codeOf(p.valueCodeableConcept))
      .filter((c): c is string => c !== undefined);
    if (code || number) {
      return { ...(code ? { code } : {}), ...(number ? { number } : {}), reasons };
    }
  }
  return { reasons: [] };
}

function authorizedDetailOf(extensions: readonly Extension[] | undefined): AuthorizedDetail | undefined {
  const detail = ext(extensions, PAS_EXT.itemAuthorizedDetail)?.extension;
  if (!detail) {
    return undefined;
  }
  const code = codeOf(detail.find((p) => p.url === 'productOrServiceCode')?.valueCodeableConcept);
  const units = detail.find((p) => p.url === 'quantity')?.valueQuantity?.value;
  return { ...(code ? { code } : {}), ...(units !== undefined ? { units } : {}) };
}

function notesFor(response: ClaimResponse, numbers: readonly number[] | undefined): string[] {
  return (response.processNote ?? [])
    .filter((n) => numbers === undefined || (n.number !== undefined && numbers.includes(n.number)))
    .map((n) => n.text)
    .filter((t): t is string => typeof t === 'string' && t !== '');
}

function overall(
  items: readonly ItemDecision[],
  response: ClaimResponse,
  errors: readonly PayerError[],
): PasStatus {
  if (response.outcome === 'error' || (errors.length > 0 && items.length === 0)) {
    return 'error';
  }
  const statuses = new Set(items.map((i) => i.status));
  if (statuses.size === 0) {
    return response.outcome === 'queued' ? 'pended' : 'error';
  }
  if (statuses.has('pended')) {
    return 'pended';
  }
  if (statuses.size === 1) {
    const [only] = statuses;
    return only === 'unknown'
      ? 'error'
      : only === 'certified' || only === 'denied' || only === 'cancelled' || only === 'modified'
        ? only
        : 'partial';
  }
  if (statuses.has('modified')) {
    return 'modified';
  }
  return [...statuses].every((s) => s === 'cancelled' || s === 'denied') ? 'denied' : 'partial';
}

/** Reads one ClaimResponse (with the Bundle it came in, for the resources it points at). */
export function readClaimResponse(
  response: ClaimResponse,
  bundle?: Bundle,
): Omit<PasReading, 'nonconformance'> {
  const adds = response.addItem ?? [];
  const requestSequences = new Set((response.item ?? []).map((i) => i.itemSequence));
  const addDetail = (add: ClaimResponseAddItem): AuthorizedDetail => {
    const units = add.quantity?.value ?? authorizedDetailOf(add.extension)?.units;
    const period =
      periodOf(ext(add.extension, PAS_EXT.itemPreAuthPeriod)?.valuePeriod) ?? periodOf(add.servicedPeriod);
    const code = codeOf(add.productOrService);
    return {
      ...(code ? { code } : {}),
      ...(units !== undefined ? { units } : {}),
      ...(period ? { period } : {}),
    };
  };
  const items: ItemDecision[] = (response.item ?? []).map((item) => {
    const review = reviewOf(item);
    const paired = adds.find((a) => a.itemSequence?.includes(item.itemSequence));
    const period = periodOf(ext(item.extension, PAS_EXT.itemPreAuthPeriod)?.valuePeriod);
    const reference = ext(item.extension, PAS_EXT.administrationReferenceNumber)?.valueString;
    const authorized = paired ? addDetail(paired) : authorizedDetailOf(item.extension);
    // A6: the number the payer gave is on the addItem of what it authorized.
    const number = review.number ?? (paired ? reviewOf(paired).number : undefined);
    return {
      sequence: item.itemSequence,
      ...(review.code ? { reviewCode: review.code } : {}),
      status: review.code ? (REVIEW[review.code] ?? 'unknown') : 'unknown',
      ...(number ? { number } : {}),
      reasons: review.reasons,
      ...(reference ? { payerReference: reference } : {}),
      ...(period ? { period } : {}),
      ...(authorized ? { authorized } : {}),
      notes: notesFor(response, item.noteNumber),
    };
  });
  // Older answers (the reference implementation's): one claim-level reviewAction and no items.
  if (items.length === 0) {
    const claimLevel = reviewOf({ extension: response.extension } as ClaimResponseItem);
    if (claimLevel.code) {
      items.push({
        sequence: 0,
        reviewCode: claimLevel.code,
        status: REVIEW[claimLevel.code] ?? 'unknown',
        ...(claimLevel.number ? { number: claimLevel.number } : {}),
        reasons: claimLevel.reasons,
        notes: [],
      });
    }
  }
  const errors: PayerError[] = (response.error ?? []).map((e) => {
    const code = codeOf(e.code);
    const element = ext(e.extension, PAS_EXT.errorElement)?.extension?.find(
      (p) => p.url === 'error',
    )?.valueString;
    const path = ext(e.extension, PAS_EXT.errorPath)?.valueString;
    const followup = codeOf(ext(e.extension, PAS_EXT.errorFollowupAction)?.valueCodeableConcept);
    return {
      ...(code ? { code } : {}),
      ...(element ? { element } : {}),
      ...(path ? { path } : {}),
      ...(followup ? { followup } : {}),
    };
  });
  const number = response.preAuthRef?.trim() || items.find((i) => i.number)?.number;
  const period = periodOf(response.preAuthPeriod);
  const inBundle = (bundle?.entry ?? []).map((e) => e.resource).filter((r): r is Resource => r !== undefined);
  // A CommunicationRequest (attachments wanted) or a PAS Task (documentation via CDex) in the answer.
  const moreInformation = inBundle.filter(
    (r): r is CommunicationRequest | Task =>
      r.resourceType === 'CommunicationRequest' ||
      (r.resourceType === 'Task' && r.meta?.profile?.some((p) => p.endsWith('/profile-task')) === true),
  );
  return {
    status: overall(items, response, errors),
    claimResponse: response,
    ...(response.request
      ? {
          request: {
            ...(response.request.reference ? { reference: response.request.reference } : {}),
            ...(response.request.identifier ? { identifier: response.request.identifier } : {}),
          },
        }
      : {}),
    identifiers: response.identifier ?? [],
    items,
    added: adds.filter((a) => !(a.itemSequence ?? []).some((s) => requestSequences.has(s))).map(addDetail),
    ...(number ? { number } : {}),
    ...(period ? { period } : {}),
    errors,
    notes: notesFor(response, undefined),
    moreInformation,
  };
}

const empty = (status: PasStatus, extra: Partial<PasReading>): PasReading => ({
  status,
  identifiers: [],
  items: [],
  added: [],
  errors: [],
  notes: [],
  moreInformation: [],
  ...extra,
});

function nonconformant(text: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'invalid', details: { text } }],
  };
}

/**
 * Reads a `$submit` answer (or a notification's focus): a PAS Response Bundle, a bare ClaimResponse
 * (older payers), or an OperationOutcome (a refusal). Anything else reads as `error`, nonconformant.
 */
export function readPasResponse(answer: unknown, options: { inquiry?: boolean } = {}): PasReading {
  const resource = answer as Resource | undefined;
  if (resource?.resourceType === 'OperationOutcome') {
    return empty('rejected', { outcome: resource });
  }
  if (resource?.resourceType === 'ClaimResponse') {
    return {
      ...readClaimResponse(resource),
      nonconformance: nonconformant(
        'The answer is a bare ClaimResponse, not a PAS Response Bundle (PAS 2.2.1 answers with a Bundle)',
      ),
    };
  }
  if (resource?.resourceType === 'Bundle') {
    const first = resource.entry?.[0]?.resource;
    const response =
      first?.resourceType === 'ClaimResponse'
        ? first
        : (resource.entry ?? [])
            .map((e) => e.resource)
            .find((r): r is ClaimResponse => r?.resourceType === 'ClaimResponse');
    const nonconformance = validatePasResponseBundle(resource, options.inquiry);
    if (!response) {
      return empty('error', {
        nonconformance: nonconformance ?? nonconformant('The Bundle holds no ClaimResponse'),
      });
    }
    return { ...readClaimResponse(response, resource), ...(nonconformance ? { nonconformance } : {}) };
  }
  return empty('error', {
    nonconformance: nonconformant(
      `The answer is ${resource?.resourceType ? `a ${resource.resourceType}` : 'not a FHIR resource'}, not a PAS Response Bundle`,
    ),
  });
}

/**
 * Reads a `$inquire` answer: a Parameters wrapping 0..* PAS Inquiry Response Bundles (the
 * OperationDefinition names the output `return`, the IG example `responseBundle`: any parameter
 * holding a Bundle is read, pas.md §3.2), or a bare Bundle (older payers, marked nonconformant).
 */
export function readPasInquiry(answer: unknown): PasReading[] {
  const resource = answer as Resource | undefined;
  if (resource?.resourceType === 'Parameters') {
    return (resource.parameter ?? [])
      .map((p) => p.resource)
      .filter((r): r is Bundle => r?.resourceType === 'Bundle')
      .map((b) => readPasResponse(b, { inquiry: true }));
  }
  if (resource?.resourceType === 'Bundle') {
    const reading = readPasResponse(resource, { inquiry: true });
    return [
      {
        ...reading,
        nonconformance:
          reading.nonconformance ??
          nonconformant('A bare Bundle: PAS 2.2.1 $inquire answers with Parameters'),
      },
    ];
  }
  return [readPasResponse(answer)];
}
