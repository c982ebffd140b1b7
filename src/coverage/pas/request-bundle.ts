/**
 * The PAS Request Bundle (Da Vinci PAS 2.2.1 `profile-pas-request-bundle`, ../shared/research/pas.md
 * §1.2–1.4) for an infusion order, and its Claim Updates (§4). Pure: ids, times and every input are
 * passed in.
 *
 * Shape (after the IG's request examples): a `collection` Bundle with an identifier (Dripline's
 * transaction id) and a timestamp; the Claim first (`use = preauthorization`, `status = active`),
 * then every resource it references, recursively, each once: requestor and insurer Organizations,
 * Coverage, Patient (beneficiary, and the subscriber when it is someone else), the ordering
 * Practitioner with a PractitionerRole at the requestor (PAS care team members are roles or
 * organizations), and the MedicationRequest the items ask for. Resources Dripline stores keep their
 * REST URL on Dripline's FHIR base as fullUrl (spec-16) with relative references, as in the IG's
 * examples; the two Organizations, the PractitionerRole and a subscriber who is not a Patient are
 * composed here and get `urn:uuid:` fullUrls derived from what they stand for, so later bundles
 * reuse them (spec-17).
 *
 * Infusion mapping (pas.md §1.4, [UNCONFIRMED] by any payer): one item per drug HCPCS code in
 * `productOrService`, billing units in `quantity` (value + unit text, no X12 673 code), the course's
 * dates in `servicedPeriod`, the place of service in `locationCodeableConcept`, the order as
 * `requestedService`, diagnoses as ICD-10-CM. Only must-support elements are sent (conformance.md).
 */
import { createHash } from 'node:crypto';
import type {
  Bundle,
  BundleEntry,
  Claim,
  ClaimItem,
  CodeableConcept,
  Coverage,
  Extension,
  MedicationRequest,
  ServiceRequest,
  Organization,
  Patient,
  Practitioner,
  PractitionerRole,
  Reference,
  RelatedPerson,
  Resource,
} from '@medplum/fhirtypes';
import type { BillingProvider } from '../../config/billing.ts';
import { ID_PAS_TRANSACTION, PAS_EXT, PAS_PROFILE, PAS_SYSTEM, PAS_X12 } from '../../contract/pas.ts';

/** One service asked for: an item of the Claim. Its sequence never changes across updates (spec-34). */
export interface RequestedService {
  readonly sequence: number;
  /** HCPCS code of the drug (or CPT/HCPCS of a service). */
  readonly code: string;
  readonly codeSystem: 'hcpcs' | 'cpt';
  /** Billing units over the whole period; absent when they cannot be known from the order. */
  readonly units?: number;
  /** First and last day of the course (YYYY-MM-DD). */
  readonly start: string;
  readonly end: string;
  /** CMS place of service: 11 office, 12 home, 19/22 outpatient hospital. */
  readonly placeOfService: string;
  /** X12 1365 service type of the item. */
  readonly serviceType: string;
}

export interface PasParties {
  readonly patient: Patient & { id: string };
  readonly coverage: Coverage & { id: string };
  /** The subscriber when it is not the patient. */
  readonly subscriber?: (Patient | RelatedPerson) & { id: string };
  readonly payer: { readonly id: string; readonly name: string; readonly payerId: string };
  readonly requestor: BillingProvider;
  readonly orderer?: Practitioner & { id: string };
  /** The order asked for: a drug order, or a service order (hydration, home nursing). */
  readonly order: (MedicationRequest | ServiceRequest) & { id: string };
  /** The drug's codes when the order names a Medication (the PAS MedicationRequest carries them itself). */
  readonly medication?: CodeableConcept;
}

/** X12 transmission identifiers (ISA06 of the sender is the PAS subscription filter, pas.md §3.1). */
export interface TransmissionIds {
  readonly applicationSenderCode: string;
  readonly applicationReceiverCode: string;
  readonly interchangeSenderId: string;
  readonly interchangeReceiverId?: string;
}

export interface PasRequestInput {
  /** Dripline's FHIR base (`{PUBLIC_URL}/fhir`): fullUrls of stored resources live under it. */
  readonly fhirBase: string;
  /** Tenant, for the composed resources' stable uuids. */
  readonly tenant: string;
  /** Id of the Claim (Dripline stores it under this id). */
  readonly claimId: string;
  /** Bundle.identifier value: the submitter transaction id. */
  readonly transactionId: string;
  /** Claim.identifier value (TRN02); its system is `urn:trnorg:<interchangeSenderId>`. */
  readonly trace: string;
  /** ISO instant (Claim.created, Bundle.timestamp). */
  readonly now: string;
  readonly claimType: 'professional' | 'institutional';
  readonly parties: PasParties;
  readonly transmission: TransmissionIds;
  /** ICD-10-CM codes, principal first. */
  readonly diagnoses: readonly string[];
  readonly services: readonly RequestedService[];
  /** Administrations the order asks for over the period (the MedicationRequest's timing repeat count). */
  readonly doses: number;
}

/** What an update changes relative to the submission it follows (pas.md §4). */
export interface PasUpdateInput extends PasRequestInput {
  /** The Claim of the submission being updated, as it was sent (it goes in the Bundle, spec-65). */
  readonly prior: Claim & { id: string };
  /** Sequences to cancel (their items resent with infoCancelled); `all` cancels the whole request. */
  readonly cancel: readonly number[] | 'all';
}

const coding = (system: string, code: string): CodeableConcept => ({ coding: [{ system, code }] });

/** A name-based uuid (SHA-256 of the name, RFC 4122 layout): the same thing gets the same urn. */
export function stableUuid(name: string): string {
  const h = createHash('sha256').update(name, 'utf8').digest('hex');
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Entry {
  readonly fullUrl: string;
  readonly reference: string;
  readonly resource: Resource;
}

function stored(fhirBase: string, resource: Resource & { id: string }): Entry {
  const reference = `${resource.resourceType}/${resource.id}`;
  return { fullUrl: `${fhirBase}/${reference}`, reference, resource };
}

function composed(tenant: string, what: string, resource: Resource): Entry {
  const urn = `urn:uuid:${stableUuid(`${tenant}|${what}`)}`;
  return { fullUrl: urn, reference: urn, resource };
}

// Any target: the Bundle's entries are typed by what they hold, not by the reference.
const ref = <T extends Resource = never>(entry: Entry): Reference<T> => ({ reference: entry.reference });

/** Only the elements PAS marks must-support (conformance.md: others SHOULD NOT be sent). */
function beneficiary(patient: Patient & { id: string }, profile: string): Patient & { id: string } {
  return {
    resourceType: 'Patient',
    id: patient.id,
    meta: { profile: [profile] },
    ...(patient.identifier ? { identifier: patient.identifier.filter((i) => i.value) } : {}),
    ...(patient.name ? { name: patient.name } : {}),
    ...(patient.gender ? { gender: patient.gender } : {}),
    // FullDateRule: a full date or nothing.
    ...(patient.birthDate && patient.birthDate.length === 10 ? { birthDate: patient.birthDate } : {}),
    ...(patient.address ? { address: patient.address } : {}),
  };
}

function subscriberAsPatient(person: RelatedPerson & { id: string }, id: string): Patient & { id: string } {
  return {
    resourceType: 'Patient',
    id,
    meta: { profile: [PAS_PROFILE.subscriber] },
    ...(person.identifier ? { identifier: person.identifier.filter((i) => i.value) } : {}),
    ...(person.name ? { name: person.name } : {}),
    ...(person.gender ? { gender: person.gender } : {}),
    ...(person.birthDate && person.birthDate.length === 10 ? { birthDate: person.birthDate } : {}),
    ...(person.address ? { address: person.address } : {}),
  };
}

/** The member id: an MB identifier of the Coverage, else its subscriberId. */
export function memberIdOf(coverage: Coverage): string | undefined {
  const mb = coverage.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MB'))?.value;
  return mb ?? coverage.subscriberId ?? coverage.identifier?.find((i) => i.value)?.value;
}

function requestorOrganization(provider: BillingProvider): Organization {
  return {
    resourceType: 'Organization',
    meta: { profile: [PAS_PROFILE.requestor] },
    identifier: [
      { system: PAS_SYSTEM.npi, value: provider.npi },
      { system: PAS_SYSTEM.ein, value: provider.taxId },
    ],
    active: true,
    // X12 98 1P: provider (the requester of 278 loop 2010B).
    type: [coding(PAS_X12.entity, '1P')],
    name: provider.name,
    ...(provider.phone ? { telecom: [{ system: 'phone' as const, value: provider.phone }] } : {}),
    address: [
      {
        line: [...provider.address.line],
        city: provider.address.city,
        state: provider.address.state,
        postalCode: provider.address.postalCode,
        country: 'US',
      },
    ],
  };
}

function insurerOrganization(payer: PasParties['payer']): Organization {
  return {
    resourceType: 'Organization',
    meta: { profile: [PAS_PROFILE.insurer] },
    // v2-0203 NIIP: national insurance payor identifier (the payer id claims name).
    identifier: [{ type: coding(PAS_SYSTEM.identifierType, 'NIIP'), value: payer.payerId }],
    active: true,
    type: [coding(PAS_X12.entity, 'PR')],
    name: payer.name,
  };
}

/** A service order as PAS carries it (profile-servicerequest): code, quantity and period as asked. */
function serviceOrderForPas(
  order: ServiceRequest & { id: string },
  patient: Entry,
  requester: Entry | undefined,
): ServiceRequest & { id: string } {
  const units = order.quantityQuantity?.value;
  return {
    resourceType: 'ServiceRequest',
    id: order.id,
    meta: { profile: [PAS_PROFILE.serviceRequest] },
    ...(order.identifier ? { identifier: order.identifier } : {}),
    status: 'active',
    intent: 'order',
    ...(order.category ? { category: order.category } : {}),
    ...(order.code ? { code: order.code } : {}),
    // prof-2: a quantity has a value and a unit (text; no X12 673 code, pas.md §1.4).
    ...(units !== undefined
      ? { quantityQuantity: { value: units, unit: order.quantityQuantity?.unit ?? 'units' } }
      : {}),
    subject: ref(patient),
    ...(order.occurrencePeriod ? { occurrencePeriod: order.occurrencePeriod } : {}),
    ...(order.occurrenceDateTime ? { occurrenceDateTime: order.occurrenceDateTime } : {}),
    ...(order.authoredOn ? { authoredOn: order.authoredOn } : {}),
    ...(requester ? { requester: ref(requester) } : {}),
  };
}

function orderForPas(
  order: MedicationRequest & { id: string },
  medication: CodeableConcept | undefined,
  patient: Entry,
  requester: Entry | undefined,
  courseDoses: number,
): MedicationRequest & { id: string } {
  const dosage = order.dosageInstruction?.[0];
  const dose = dosage?.doseAndRate?.find((d) => d.doseQuantity)?.doseQuantity;
  const drug = order.medicationCodeableConcept ?? medication;
  return {
    resourceType: 'MedicationRequest',
    id: order.id,
    meta: { profile: [PAS_PROFILE.medicationRequest] },
    ...(order.identifier ? { identifier: order.identifier } : {}),
    status: 'active',
    intent: 'order',
    ...(drug ? { medicationCodeableConcept: drug } : {}),
    subject: ref(patient),
    ...(order.authoredOn ? { authoredOn: order.authoredOn } : {}),
    ...(requester ? { requester: ref(requester) } : {}),
    dosageInstruction: [
      {
        ...(dosage?.text ? { text: dosage.text } : {}),
        // prof-1: a PAS Timing needs repeat.count (or frequency/period, or an X12 pattern).
        timing: { repeat: { count: courseDoses } },
        ...(dosage?.route ? { route: dosage.route } : {}),
        ...(dose ? { doseAndRate: [{ doseQuantity: dose }] } : {}),
      },
    ],
  };
}

function itemOf(service: RequestedService, order: Entry, diagnoses: number, careTeam: boolean): ClaimItem {
  return {
    extension: [
      { url: PAS_EXT.serviceItemRequestType, valueCodeableConcept: coding(PAS_X12.requestType, 'HS') },
      { url: PAS_EXT.certificationType, valueCodeableConcept: coding(PAS_X12.certificationType, 'I') },
      { url: PAS_EXT.requestedService, valueReference: ref(order) },
    ],
    sequence: service.sequence,
    ...(careTeam ? { careTeamSequence: [1] } : {}),
    ...(diagnoses > 0
      ? { diagnosisSequence: Array.from({ length: Math.min(diagnoses, 4) }, (_, i) => i + 1) }
      : {}),
    category: coding(PAS_X12.serviceType, service.serviceType),
    productOrService: coding(service.codeSystem === 'cpt' ? PAS_SYSTEM.cpt : PAS_SYSTEM.hcpcs, service.code),
    servicedPeriod: { start: service.start, end: service.end },
    locationCodeableConcept: coding(PAS_SYSTEM.placeOfService, service.placeOfService),
    // prof-2: value with unit text; prof-3: no code unless it is an X12 673 code (pas.md §1.4).
    ...(service.units !== undefined ? { quantity: { value: service.units, unit: 'units' } } : {}),
  };
}

interface Assembled {
  readonly claim: Claim & { id: string };
  readonly entries: Entry[];
}

function assemble(input: PasRequestInput, profile: string): Assembled {
  const { parties, fhirBase, tenant } = input;
  const patient = stored(fhirBase, beneficiary(parties.patient, PAS_PROFILE.beneficiary));
  const requestor = composed(
    tenant,
    `requestor|${input.parties.requestor.npi}`,
    requestorOrganization(parties.requestor),
  );
  const insurer = composed(tenant, `insurer|${parties.payer.payerId}`, insurerOrganization(parties.payer));
  let subscriber: Entry | undefined;
  if (parties.subscriber && parties.subscriber.id !== parties.patient.id) {
    subscriber =
      parties.subscriber.resourceType === 'Patient'
        ? stored(fhirBase, beneficiary(parties.subscriber, PAS_PROFILE.subscriber))
        : composed(
            tenant,
            `subscriber|RelatedPerson/${parties.subscriber.id}`,
            subscriberAsPatient(parties.subscriber, `subscriber-${parties.subscriber.id}`),
          );
  }
  const memberId = memberIdOf(parties.coverage);
  const self = !subscriber;
  const coverage = stored(fhirBase, {
    resourceType: 'Coverage',
    id: parties.coverage.id,
    meta: { profile: [PAS_PROFILE.coverage] },
    ...(memberId ? { identifier: [{ type: coding(PAS_SYSTEM.identifierType, 'MB'), value: memberId }] } : {}),
    status: 'active',
    ...(parties.coverage.subscriberId ? { subscriberId: parties.coverage.subscriberId } : {}),
    ...(subscriber ? { subscriber: ref(subscriber) } : {}),
    beneficiary: ref(patient),
    ...(self
      ? {
          relationship: {
            coding: [
              { system: PAS_SYSTEM.subscriberRelationship, code: 'self' },
              { system: PAS_X12.relationship, code: '18' },
            ],
          },
        }
      : parties.coverage.relationship
        ? { relationship: parties.coverage.relationship }
        : {}),
    payor: [ref(insurer)],
  } satisfies Coverage & { id: string });
  const practitioner = parties.orderer
    ? stored(fhirBase, {
        resourceType: 'Practitioner',
        id: parties.orderer.id,
        meta: { profile: [PAS_PROFILE.practitioner] },
        ...(parties.orderer.identifier
          ? { identifier: parties.orderer.identifier.filter((i) => i.value) }
          : {}),
        ...(parties.orderer.name ? { name: parties.orderer.name } : {}),
      } satisfies Practitioner & { id: string })
    : undefined;
  const role = practitioner
    ? composed(tenant, `role|${practitioner.reference}|${parties.requestor.npi}`, {
        resourceType: 'PractitionerRole',
        // From an entry with a urn fullUrl, a relative reference has no base to resolve against.
        practitioner: { reference: practitioner.fullUrl },
        organization: ref(requestor),
      } satisfies PractitionerRole)
    : undefined;
  const order = stored(
    fhirBase,
    parties.order.resourceType === 'ServiceRequest'
      ? serviceOrderForPas(parties.order, patient, practitioner)
      : orderForPas(parties.order, parties.medication, patient, practitioner, Math.max(1, input.doses)),
  );
  const claim: Claim & { id: string } = {
    resourceType: 'Claim',
    id: input.claimId,
    meta: { profile: [profile] },
    extension: [
      {
        url: PAS_EXT.transmissionIdentifiers,
        extension: [
          { url: 'applicationSenderCode', valueString: input.transmission.applicationSenderCode },
          { url: 'applicationReceiverCode', valueString: input.transmission.applicationReceiverCode },
          { url: 'interchangeSenderID', valueString: input.transmission.interchangeSenderId },
          ...(input.transmission.interchangeReceiverId
            ? [{ url: 'interchangeReceiverID', valueString: input.transmission.interchangeReceiverId }]
            : []),
        ],
      },
    ],
    identifier: [{ system: `urn:trnorg:${input.transmission.interchangeSenderId}`, value: input.trace }],
    status: 'active',
    type: coding(PAS_SYSTEM.claimType, input.claimType),
    use: 'preauthorization',
    patient: ref(patient),
    created: input.now,
    insurer: ref(insurer),
    provider: ref(requestor),
    priority: coding(PAS_SYSTEM.processPriority, 'normal'),
    ...(role
      ? {
          careTeam: [
            {
              extension: [{ url: PAS_EXT.careTeamClaimScope, valueBoolean: true }],
              sequence: 1,
              provider: ref(role),
            },
          ],
        }
      : {}),
    ...(input.diagnoses.length > 0
      ? {
          diagnosis: input.diagnoses.slice(0, 12).map((code, i) => ({
            sequence: i + 1,
            diagnosisCodeableConcept: coding(PAS_SYSTEM.icd10cm, code),
          })),
        }
      : {}),
    insurance: [{ sequence: 1, focal: true, coverage: ref(coverage) }],
    item: input.services.map((s) =>
      itemOf(s, order, Math.min(input.diagnoses.length, 12), role !== undefined),
    ),
  };
  const entries = [
    requestor,
    insurer,
    coverage,
    patient,
    ...(subscriber ? [subscriber] : []),
    ...(role ? [role] : []),
    ...(practitioner ? [practitioner] : []),
    order,
  ];
  return { claim, entries };
}

function bundleOf(input: PasRequestInput, claim: Claim & { id: string }, entries: readonly Entry[]): Bundle {
  const entry: BundleEntry[] = [
    { fullUrl: `${input.fhirBase}/Claim/${claim.id}`, resource: claim },
    ...entries.map((e) => ({ fullUrl: e.fullUrl, resource: e.resource })),
  ];
  return {
    resourceType: 'Bundle',
    meta: { profile: [PAS_PROFILE.requestBundle] },
    identifier: { system: ID_PAS_TRANSACTION, value: input.transactionId },
    type: 'collection',
    timestamp: input.now,
    entry,
  };
}

/** The initial request (certification type I on every item). */
export function buildPasRequest(input: PasRequestInput): Bundle {
  const { claim, entries } = assemble(input, PAS_PROFILE.claim);
  return bundleOf(input, claim, entries);
}

const sameItem = (a: ClaimItem | undefined, b: ClaimItem): boolean =>
  a !== undefined &&
  JSON.stringify({ ...a, extension: undefined, modifierExtension: undefined }) ===
    JSON.stringify({ ...b, extension: undefined, modifierExtension: undefined });

const isCancelled = (item: ClaimItem | undefined): boolean =>
  item?.modifierExtension?.some((e) => e.url === PAS_EXT.infoCancelled && e.valueBoolean === true) ?? false;

/**
 * A PAS Claim Update (profile-claim-update): `related` → the prior submission (which the Bundle
 * includes, its own predecessor not), every item of the prior submission resent with its sequence
 * and current details, new ones added; items added or changed relative to the prior submission carry
 * `infoChanged` (`added` / `changed`; newly cancelled counts as changed), cancelled ones
 * `infoCancelled` and certification type 3 (spec-68..72). `cancel: 'all'` also sets the Claim-level
 * certification type 3 (cancel the whole request).
 */
export function buildPasUpdate(input: PasUpdateInput): Bundle {
  const { claim, entries } = assemble(input, PAS_PROFILE.claimUpdate);
  const priorItems = new Map((input.prior.item ?? []).map((i) => [i.sequence, i]));
  const current = new Map(claim.item?.map((i) => [i.sequence, i]) ?? []);
  // Items of earlier submissions that this one no longer asks for are resent, cancelled.
  for (const [sequence, item] of priorItems) {
    if (!current.has(sequence)) {
      current.set(sequence, item);
    }
  }
  const cancelled = (sequence: number): boolean =>
    input.cancel === 'all' ||
    input.cancel.includes(sequence) ||
    !input.services.some((s) => s.sequence === sequence);
  const items = [...current.values()]
    .sort((a, b) => a.sequence - b.sequence)
    .map((item): ClaimItem => {
      const before = priorItems.get(item.sequence);
      const wasCancelled = isCancelled(before);
      const cancel = wasCancelled || cancelled(item.sequence);
      const base = (item.extension ?? []).filter(
        (e) => e.url !== PAS_EXT.certificationType && e.url !== PAS_EXT.infoChanged,
      );
      const change: Extension[] = !before
        ? [{ url: PAS_EXT.infoChanged, valueCode: 'added' }]
        : (cancel && !wasCancelled) || (!cancel && !sameItem(before, item))
          ? [{ url: PAS_EXT.infoChanged, valueCode: 'changed' }]
          : [];
      return {
        ...item,
        extension: [
          ...base,
          {
            url: PAS_EXT.certificationType,
            valueCodeableConcept: coding(PAS_X12.certificationType, cancel ? '3' : 'I'),
          },
          ...change,
        ],
        ...(cancel ? { modifierExtension: [{ url: PAS_EXT.infoCancelled, valueBoolean: true }] } : {}),
      };
    });
  const update: Claim & { id: string } = {
    ...claim,
    extension: [
      ...(claim.extension ?? []),
      ...(input.cancel === 'all'
        ? [{ url: PAS_EXT.certificationType, valueCodeableConcept: coding(PAS_X12.certificationType, '3') }]
        : []),
    ],
    related: [
      {
        claim: { reference: `Claim/${input.prior.id}` },
        relationship: coding(PAS_SYSTEM.relatedClaim, 'prior'),
      },
    ],
    item: items,
  };
  // The prior submission as it was sent, without its own `related` chain's predecessor (spec-66).
  const prior: Entry = {
    fullUrl: `${input.fhirBase}/Claim/${input.prior.id}`,
    reference: `Claim/${input.prior.id}`,
    resource: input.prior,
  };
  return bundleOf(input, update, [...entries, prior]);
}
