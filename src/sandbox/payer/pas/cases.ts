/**
 * The sandbox payer's prior authorization cases: what it received, what it decided per item, and
 * the PAS Response Bundles it answers with (Da Vinci PAS 2.2.1, shaped after the IG's response
 * examples: ../shared/research/pas.md §2). Pure: ids and times are passed in.
 */
import type {
  Bundle,
  BundleEntry,
  Claim,
  ClaimResponse,
  ClaimResponseAddItem,
  ClaimResponseItem,
  CodeableConcept,
  CommunicationRequest,
  Coverage,
  Extension,
  Identifier,
  Reference,
} from '@medplum/fhirtypes';
import { resolveInBundle } from '../../../coverage/pas/profiles.ts';
import { PAS_EXT, PAS_PROFILE, PAS_SYSTEM, PAS_X12 } from '../../../contract/pas.ts';
import type { FinalAction, PasPolicy, PolicyAction } from './policy.ts';
import { policyFor } from './policy.ts';

/** X12 306 codes the sandbox answers with (C: cancelled, from third-party lists [UNCONFIRMED]). */
export type ReviewCode = 'A1' | 'A3' | 'A4' | 'A6' | 'C';

export interface PayerItem {
  readonly sequence: number;
  readonly code: string;
  readonly system: string;
  readonly units?: number;
  readonly start?: string;
  readonly end?: string;
  readonly review: ReviewCode;
  /** Certification number (A1, A6's addItem). */
  readonly number?: string;
  /** Reference number of a pended or denied item (REF-NT). */
  readonly reference?: string;
  readonly authorizedUnits?: number;
  readonly authorizedEnd?: string;
  readonly note?: string;
  /** What a pended item becomes once reviewed. */
  readonly then?: FinalAction;
  /** What a `more-info` pend asks for. */
  readonly needs?: string;
  /** The request item as received (its fingerprint tells a changed item from an unchanged one). */
  readonly fingerprint: string;
}

export interface PayerCase {
  /** The payer's id of the case (its ClaimResponse id). */
  readonly id: string;
  /** Every Claim identifier of the chain (initial request and its updates), `system|value`. */
  readonly claimKeys: readonly string[];
  /** The latest Claim as the requester names it (fullUrl) and its identifier. */
  readonly claimUrl: string;
  readonly claimIdentifier?: Identifier;
  readonly claimType: CodeableConcept;
  /** Echoed entries (patient, insurer, requestor) with the requester's fullUrls (spec-33). */
  readonly echo: readonly BundleEntry[];
  readonly patientRef: string;
  readonly insurerRef: string;
  readonly requestorRef: string;
  /** The member id (Coverage MB identifier) and the requestor's identifiers, for $inquire. */
  readonly memberId?: string;
  readonly providerIds: readonly string[];
  /** TransmissionIdentifiers interchangeSenderID: the subscription filter (org-identifier). */
  readonly senderId?: string;
  readonly items: readonly PayerItem[];
  readonly issued: string;
  readonly updated: string;
  /** Bumped by every change: the notification of a change carries it. */
  readonly version: number;
}

const PAS = 'https://sandbox.dripline.dev/payer';

const coding = (system: string, code: string): CodeableConcept => ({ coding: [{ system, code }] });

export const keyOf = (identifier: Identifier | undefined): string =>
  identifier?.value ? `${identifier.system ?? ''}|${identifier.value}` : '';

function fingerprint(item: NonNullable<Claim['item']>[number]): string {
  return JSON.stringify({
    code: item.productOrService.coding?.[0]?.code,
    units: item.quantity?.value,
    period: item.servicedPeriod ?? item.servicedDate,
    cancelled: item.modifierExtension?.some(
      (e) => e.url === PAS_EXT.infoCancelled && e.valueBoolean === true,
    ),
  });
}

const isCancelled = (item: NonNullable<Claim['item']>[number]): boolean =>
  item.modifierExtension?.some((e) => e.url === PAS_EXT.infoCancelled && e.valueBoolean === true) === true ||
  item.extension?.find((e) => e.url === PAS_EXT.certificationType)?.valueCodeableConcept?.coding?.[0]
    ?.code === '3';

function addMonths(date: string, months: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

export interface Numbering {
  /** The next certification / reference number (AUTH…, PEND…). */
  next(prefix: 'AUTH' | 'PEND' | 'DENY'): string;
}

/** The decision of one item under the policy (pends keep what they become). */
function decide(
  item: Omit<PayerItem, 'review' | 'fingerprint'> & { fingerprint: string },
  action: PolicyAction | FinalAction,
  numbers: Numbering,
): PayerItem {
  switch (action.action) {
    case 'approve':
      return { ...item, review: 'A1', number: numbers.next('AUTH') };
    case 'approve-fewer': {
      const units = item.units === undefined ? action.maxUnits : Math.min(item.units, action.maxUnits);
      const end = action.months && item.start ? addMonths(item.start, action.months) : item.end;
      const fewer = units < (item.units ?? Infinity) || end !== item.end;
      return fewer
        ? {
            ...item,
            review: 'A6',
            number: numbers.next('AUTH'),
            authorizedUnits: units,
            ...(end ? { authorizedEnd: end } : {}),
          }
        : { ...item, review: 'A1', number: numbers.next('AUTH') };
    }
    case 'deny':
      return { ...item, review: 'A3', reference: numbers.next('DENY'), note: action.reason };
    case 'pend':
      return { ...item, review: 'A4', reference: numbers.next('PEND'), then: action.then };
    case 'more-info':
      return {
        ...item,
        review: 'A4',
        reference: numbers.next('PEND'),
        then: action.then,
        needs: action.needs,
      };
  }
}

export interface Received {
  readonly bundle: Bundle;
  readonly claim: Claim;
  readonly claimUrl: string;
}

/** Why a business rule refuses the request (answered as a PAS error bundle, X12 901 codes). */
export interface BusinessError {
  readonly code: string;
  readonly path: string;
}

function memberIdOf(received: Received): { memberId?: string; coverageIndex: number } {
  const coverageRef = received.claim.insurance?.find((i) => i.focal)?.coverage.reference ?? '';
  const entry = resolveInBundle(received.bundle, received.claimUrl, coverageRef);
  const coverage = entry?.resource as Coverage | undefined;
  const memberId = coverage?.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MB'))?.value;
  return {
    ...(memberId ? { memberId } : {}),
    coverageIndex: (received.bundle.entry ?? []).indexOf(entry as BundleEntry),
  };
}

/**
 * What a payer checks before deciding anything: it can find the member (X12 901 72: member id
 * missing; 75: not a member it knows, when it is given its members).
 */
export function businessErrors(received: Received, members?: ReadonlySet<string>): BusinessError[] {
  const { memberId, coverageIndex } = memberIdOf(received);
  const path = `Bundle.entry[${coverageIndex}].resource.identifier`;
  if (!memberId) {
    return [{ code: '72', path }];
  }
  return members && !members.has(memberId) ? [{ code: '75', path }] : [];
}

function itemsOf(claim: Claim): (Omit<PayerItem, 'review'> & { cancelled: boolean })[] {
  return (claim.item ?? []).map((item) => {
    const code = item.productOrService.coding?.[0];
    return {
      sequence: item.sequence,
      code: code?.code ?? '',
      system: code?.system ?? PAS_SYSTEM.hcpcs,
      ...(item.quantity?.value !== undefined ? { units: item.quantity.value } : {}),
      ...((item.servicedPeriod?.start ?? item.servicedDate)
        ? { start: item.servicedPeriod?.start ?? item.servicedDate }
        : {}),
      ...((item.servicedPeriod?.end ?? item.servicedDate)
        ? { end: item.servicedPeriod?.end ?? item.servicedDate }
        : {}),
      fingerprint: fingerprint(item),
      cancelled: isCancelled(item),
    };
  });
}

function parties(
  received: Received,
): Pick<PayerCase, 'echo' | 'patientRef' | 'insurerRef' | 'requestorRef' | 'providerIds' | 'senderId'> {
  const { bundle, claim, claimUrl } = received;
  const entryOf = (reference: string | undefined): BundleEntry | undefined =>
    reference ? resolveInBundle(bundle, claimUrl, reference) : undefined;
  const patient = entryOf(claim.patient.reference);
  const insurer = entryOf(claim.insurer?.reference);
  const requestor = entryOf(claim.provider.reference);
  const echo = [requestor, insurer, patient].filter((e): e is BundleEntry => e !== undefined);
  const sender = claim.extension
    ?.find((e) => e.url === PAS_EXT.transmissionIdentifiers)
    ?.extension?.find((e) => e.url === 'interchangeSenderID')?.valueString;
  const providerIds = ((requestor?.resource as { identifier?: Identifier[] } | undefined)?.identifier ?? [])
    .map((i) => i.value)
    .filter((v): v is string => v !== undefined);
  return {
    echo,
    patientRef: patient?.fullUrl ?? claim.patient.reference ?? '',
    insurerRef: insurer?.fullUrl ?? claim.insurer?.reference ?? '',
    requestorRef: requestor?.fullUrl ?? claim.provider.reference ?? '',
    providerIds,
    ...(sender ? { senderId: sender } : {}),
  };
}

/** A new case: every item decided under the policy. */
export function openCase(
  received: Received,
  policy: PasPolicy,
  id: string,
  now: string,
  numbers: Numbering,
): PayerCase {
  const { memberId } = memberIdOf(received);
  return {
    id,
    claimKeys: (received.claim.identifier ?? []).map(keyOf),
    claimUrl: received.claimUrl,
    ...(received.claim.identifier?.[0] ? { claimIdentifier: received.claim.identifier[0] } : {}),
    claimType: received.claim.type,
    ...parties(received),
    ...(memberId ? { memberId } : {}),
    items: itemsOf(received.claim).map(({ cancelled, ...item }) =>
      cancelled ? { ...item, review: 'C' as const } : decide(item, policyFor(policy, item.code), numbers),
    ),
    issued: now,
    updated: now,
    version: 1,
  };
}

/**
 * A Claim Update applied to its case (pas.md §4): cancelled items become C, new or changed items
 * are decided anew, unchanged ones keep their decision; the whole request cancelled (Claim-level
 * certification type 3) cancels every item. Refused after a denial (spec-64): a new request is needed.
 */
export function applyUpdate(
  current: PayerCase,
  received: Received,
  policy: PasPolicy,
  now: string,
  numbers: Numbering,
): PayerCase | { refused: string } {
  if (current.items.length > 0 && current.items.every((i) => i.review === 'A3')) {
    return { refused: 'The request was denied: send a new request instead of an update' };
  }
  const cancelAll =
    received.claim.extension?.find((e) => e.url === PAS_EXT.certificationType)?.valueCodeableConcept
      ?.coding?.[0]?.code === '3';
  const before = new Map(current.items.map((i) => [i.sequence, i]));
  const items = itemsOf(received.claim).map(({ cancelled, ...item }): PayerItem => {
    const previous = before.get(item.sequence);
    if (cancelAll || cancelled) {
      return { ...(previous ?? item), ...item, review: 'C' };
    }
    if (previous && previous.fingerprint === item.fingerprint && previous.review !== 'C') {
      return previous;
    }
    return decide(item, policyFor(policy, item.code), numbers);
  });
  return {
    ...current,
    ...parties(received),
    claimKeys: [...new Set([...current.claimKeys, ...(received.claim.identifier ?? []).map(keyOf)])],
    claimUrl: received.claimUrl,
    ...(received.claim.identifier?.[0] ? { claimIdentifier: received.claim.identifier[0] } : {}),
    items,
    updated: now,
    version: current.version + 1,
  };
}

/** The payer's review of pended items is done: each becomes what its policy said. */
export function finishReview(current: PayerCase, now: string, numbers: Numbering): PayerCase {
  if (!current.items.some((i) => i.review === 'A4')) {
    return current;
  }
  return {
    ...current,
    items: current.items.map((item) => {
      if (item.review !== 'A4' || !item.then) {
        return item;
      }
      // The pend reference stays: an inquiry by the old number finds the current answer (spec-46).
      const { then: final, needs: _needs, ...rest } = item;
      return decide(rest, final, numbers);
    }),
    updated: now,
    version: current.version + 1,
  };
}

const reviewAction = (code: ReviewCode, number?: string): Extension => ({
  url: PAS_EXT.reviewAction,
  extension: [
    ...(number ? [{ url: 'number', valueString: number }] : []),
    { url: PAS_EXT.reviewActionCode, valueCodeableConcept: coding(PAS_X12.reviewAction, code) },
  ],
});

const submitted = (code: ReviewCode, number?: string): ClaimResponseItem['adjudication'][number] => ({
  extension: [reviewAction(code, number)],
  category: coding(PAS_SYSTEM.adjudication, 'submitted'),
});

const issueDate = (iso: string): string => iso.slice(0, 10);

/** The PAS Response Bundle of a case as it stands (ClaimResponse first, then the echoed parties). */
export function responseBundle(
  current: PayerCase,
  options: {
    readonly base: string;
    readonly transactionId: string;
    readonly now: string;
    readonly errors?: readonly BusinessError[];
  },
): Bundle {
  const notes: NonNullable<ClaimResponse['processNote']> = [];
  const communications: CommunicationRequest[] = [];
  const items: ClaimResponseItem[] = [];
  const addItems: ClaimResponseAddItem[] = [];
  const productOf = (i: PayerItem): CodeableConcept => coding(i.system, i.code);
  for (const i of current.items) {
    const requested =
      i.start || i.end
        ? [
            {
              url: PAS_EXT.itemRequestedServiceDate,
              valuePeriod: { ...(i.start ? { start: i.start } : {}), ...(i.end ? { end: i.end } : {}) },
            },
          ]
        : [];
    const extension: Extension[] = [...requested];
    let noteNumber: number[] | undefined;
    if (i.review === 'A1') {
      extension.push(
        { url: PAS_EXT.itemPreAuthIssueDate, valueDate: issueDate(current.updated) },
        ...(i.start || i.end
          ? [
              {
                url: PAS_EXT.itemPreAuthPeriod,
                valuePeriod: { ...(i.start ? { start: i.start } : {}), ...(i.end ? { end: i.end } : {}) },
              },
            ]
          : []),
        {
          url: PAS_EXT.itemAuthorizedDetail,
          extension: [
            { url: 'productOrServiceCode', valueCodeableConcept: productOf(i) },
            ...(i.units !== undefined
              ? [{ url: 'quantity', valueQuantity: { value: i.units, unit: 'units' } }]
              : []),
          ],
        },
      );
    } else if (i.review === 'A3' || i.review === 'A4') {
      if (i.reference) {
        extension.push({ url: PAS_EXT.administrationReferenceNumber, valueString: i.reference });
      }
      const text =
        i.review === 'A3' ? i.note : i.needs ? `Additional information needed: ${i.needs}` : undefined;
      if (text) {
        notes.push({ number: notes.length + 1, type: 'display', text });
        noteNumber = [notes.length];
      }
      if (i.needs) {
        communications.push({
          resourceType: 'CommunicationRequest',
          id: `${current.id}-info-${i.sequence}`,
          meta: { profile: [PAS_PROFILE.communicationRequest] },
          extension: [{ url: PAS_EXT.serviceLineNumber, valuePositiveInt: i.sequence }],
          status: 'active',
          // X12 755 (PWK01) 09: progress report.
          category: [coding(PAS_X12.reportType, '09')],
          payload: [{ contentString: i.needs }],
        });
      }
    } else if (i.review === 'A6') {
      addItems.push({
        itemSequence: [i.sequence],
        productOrService: productOf(i),
        ...(i.authorizedUnits !== undefined ? { quantity: { value: i.authorizedUnits, unit: 'units' } } : {}),
        extension: [
          { url: PAS_EXT.itemPreAuthIssueDate, valueDate: issueDate(current.updated) },
          ...(i.start
            ? [
                {
                  url: PAS_EXT.itemPreAuthPeriod,
                  valuePeriod: {
                    start: i.start,
                    ...((i.authorizedEnd ?? i.end) ? { end: i.authorizedEnd ?? i.end } : {}),
                  },
                },
              ]
            : []),
        ],
        adjudication: [submitted('A1', i.number)],
      });
    }
    items.push({
      ...(extension.length > 0 ? { extension } : {}),
      itemSequence: i.sequence,
      ...(noteNumber ? { noteNumber } : {}),
      adjudication: [submitted(i.review, i.review === 'A1' ? i.number : undefined)],
    });
  }
  const errors = options.errors ?? [];
  const response: ClaimResponse & { id: string } = {
    resourceType: 'ClaimResponse',
    id: current.id,
    meta: { profile: [PAS_PROFILE.claimResponse] },
    ...(current.claimIdentifier ? { identifier: [current.claimIdentifier] } : {}),
    status: 'active',
    type: current.claimType,
    use: 'preauthorization',
    patient: { reference: current.patientRef },
    created: current.updated,
    insurer: { reference: current.insurerRef },
    requestor: { reference: current.requestorRef },
    request: {
      reference: current.claimUrl,
      ...(current.claimIdentifier ? { identifier: current.claimIdentifier } : {}),
    } satisfies Reference,
    outcome: errors.length > 0 ? 'error' : 'complete',
    ...(errors.length === 0 && items.length > 0 ? { item: items } : {}),
    ...(errors.length === 0 && addItems.length > 0 ? { addItem: addItems } : {}),
    ...(errors.length === 0 && notes.length > 0 ? { processNote: notes } : {}),
    ...(errors.length === 0 && communications.length > 0
      ? {
          communicationRequest: communications.map((c) => ({
            reference: `${options.base}/CommunicationRequest/${c.id ?? ''}`,
          })),
        }
      : {}),
    ...(errors.length > 0
      ? {
          error: errors.map((e) => ({
            extension: [
              { url: PAS_EXT.errorPath, valueString: e.path },
              { url: PAS_EXT.errorFollowupAction, valueCodeableConcept: coding(PAS_X12.followupAction, 'C') },
            ],
            code: coding(PAS_X12.rejectReason, e.code),
          })),
        }
      : {}),
  };
  const entry: BundleEntry[] = [
    { fullUrl: `${options.base}/ClaimResponse/${response.id}`, resource: response },
    ...current.echo,
    ...communications.map((c) => ({
      fullUrl: `${options.base}/CommunicationRequest/${c.id ?? ''}`,
      resource: c,
    })),
  ];
  return {
    resourceType: 'Bundle',
    meta: { profile: [PAS_PROFILE.responseBundle] },
    identifier: { system: `${PAS}/sid/pas-transaction`, value: options.transactionId },
    type: 'collection',
    timestamp: options.now,
    entry,
  };
}

/** Whether a case matches an inquiry's query by example (member id, provider, numbers). */
export function matchesInquiry(
  current: PayerCase,
  query: {
    readonly memberId?: string;
    readonly providerIds: readonly string[];
    readonly numbers: readonly string[];
  },
): boolean {
  if (!query.memberId || current.memberId !== query.memberId) {
    return false;
  }
  if (query.providerIds.length > 0 && !query.providerIds.some((id) => current.providerIds.includes(id))) {
    return false;
  }
  return (
    query.numbers.length === 0 ||
    current.items.some(
      (i) => query.numbers.includes(i.number ?? '') || query.numbers.includes(i.reference ?? ''),
    )
  );
}
