/**
 * Da Vinci PAS 2.2.1 profiles as Dripline validates them, written from the IG's published rules
 * (hl7.fhir.us.davinci-pas#2.2.1: profile snapshots and invariants; ../shared/research/pas.md §1–4
 * names each rule with its IG section). The IG package is not on the npm registry, so these are
 * Dripline's own StructureDefinitions under the IG's canonical URLs: `npm run profiles:build` expands
 * them into profiles/pas/ (base R4 snapshot + these constraints), src/coverage/pas/profiles.ts loads
 * and compiles them once.
 *
 * Each rule is an element cardinality, a fixed value, or an invariant (FHIRPath) that the R4
 * validator of @medplum/core enforces. Extension slices the IG requires (certificationType on every
 * item...) are written as invariants on the element that carries them: @medplum/core does not check
 * the minimum of a slice on an element that has no extensions at all. Terminology bindings to X12
 * value sets cannot be expanded publicly (pas.md §10): only the code systems are checked. Reference
 * targets' profiles are checked by validating each Bundle entry against the profile of its role
 * (src/coverage/pas/profiles.ts), not through the reference.
 */
export const PAS_CANONICAL = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';
const EXT = PAS_CANONICAL;

export interface PasInvariant {
  readonly key: string;
  /** Element id the invariant sits on (default: the root). */
  readonly on?: string;
  readonly human: string;
  readonly expression: string;
}

export interface PasProfileSpec {
  /** The IG's id (profile-claim...): the canonical is `${PAS_CANONICAL}/${id}`. */
  readonly id: string;
  readonly title: string;
  readonly type: string;
  /** The IG page or section the rules come from. */
  readonly source: string;
  readonly elements?: Readonly<
    Record<
      string,
      {
        readonly min?: number;
        readonly max?: string;
        readonly fixedCode?: string;
        readonly fixedBoolean?: boolean;
        readonly fixedUri?: string;
      }
    >
  >;
  readonly invariants?: readonly PasInvariant[];
}

const fullDate = (path: string): string => `(${path}.exists() implies ${path}.toString().length() = 10)`;
const hasExt = (url: string, count = '= 1'): string => `extension.where(url = '${EXT}/${url}').count() ${count}`;

/** What every PAS Bundle profile requires: an identified, timestamped collection of full entries. */
const PAS_BUNDLE = {
  'Bundle.identifier': { min: 1 },
  'Bundle.type': { fixedCode: 'collection' },
  'Bundle.timestamp': { min: 1 },
  'Bundle.entry.fullUrl': { min: 1 },
  'Bundle.entry.resource': { min: 1 },
} as const;

export const PAS_PROFILES: readonly PasProfileSpec[] = [
  {
    id: 'profile-pas-request-bundle',
    title: 'PAS Request Bundle',
    type: 'Bundle',
    source: 'PAS 2.2.1 StructureDefinition-profile-pas-request-bundle; pas.md §1.2',
    elements: {
      ...PAS_BUNDLE,
      'Bundle.entry': { min: 1 },
      'Bundle.entry.search': { max: '0' },
      'Bundle.entry.request': { max: '0' },
      'Bundle.entry.response': { max: '0' },
    },
    invariants: [
      { key: 'ClaimFirst', human: 'The first entry of a PAS request Bundle is the Claim', expression: 'entry.first().resource is Claim' },
      {
        key: 'pas-claims',
        human: 'At most two Claims: the request and, in an update, the Claim it updates',
        expression: 'entry.where(resource is Claim).count() <= 2',
      },
      { key: 'pas-once', human: 'Each resource appears once (spec-14): fullUrls are distinct', expression: 'entry.fullUrl.isDistinct()' },
    ],
  },
  {
    id: 'profile-pas-response-bundle',
    title: 'PAS Response Bundle',
    type: 'Bundle',
    source: 'PAS 2.2.1 StructureDefinition-profile-pas-response-bundle; pas.md §2',
    elements: {
      ...PAS_BUNDLE,
      'Bundle.entry': { min: 1 },
    },
    invariants: [
      {
        key: 'ClaimResponseFirst',
        human: 'The first entry of a PAS response Bundle is the ClaimResponse',
        expression: 'entry.first().resource is ClaimResponse',
      },
      {
        key: 'pas-one-response',
        human: 'Exactly one ClaimResponse',
        expression: 'entry.where(resource is ClaimResponse).count() = 1',
      },
    ],
  },
  {
    id: 'profile-pas-inquiry-request-bundle',
    title: 'PAS Inquiry Request Bundle',
    type: 'Bundle',
    source: 'PAS 2.2.1 StructureDefinition-profile-pas-inquiry-request-bundle; pas.md §3.2',
    elements: {
      ...PAS_BUNDLE,
    },
    invariants: [
      { key: 'ClaimFirst', human: 'The first entry is the Claim Inquiry', expression: 'entry.first().resource is Claim' },
    ],
  },
  {
    id: 'profile-pas-inquiry-response-bundle',
    title: 'PAS Inquiry Response Bundle',
    type: 'Bundle',
    source: 'PAS 2.2.1 StructureDefinition-profile-pas-inquiry-response-bundle; pas.md §3.2',
    elements: { 'Bundle.type': { fixedCode: 'collection' }, 'Bundle.timestamp': { min: 1 } },
    invariants: [
      {
        key: 'ClaimResponseFirst',
        human: 'The first entry is the ClaimInquiryResponse',
        expression: 'entry.first().resource is ClaimResponse',
      },
    ],
  },
  {
    id: 'profile-claim',
    title: 'PAS Claim',
    type: 'Claim',
    source: 'PAS 2.2.1 StructureDefinition-profile-claim (base profile-claim-base); pas.md §1.3',
    elements: {
      'Claim.identifier': { min: 1, max: '2' },
      'Claim.status': { fixedCode: 'active' },
      'Claim.use': { fixedCode: 'preauthorization' },
      'Claim.insurer': { min: 1 },
      'Claim.insurance.focal': { fixedBoolean: true },
      'Claim.item.category': { min: 1 },
      'Claim.item.location[x]': { min: 1 },
    },
    invariants: claimInvariants(),
  },
  {
    id: 'profile-claim-update',
    title: 'PAS Claim Update',
    type: 'Claim',
    source: 'PAS 2.2.1 StructureDefinition-profile-claim-update; pas.md §4',
    elements: {
      'Claim.identifier': { min: 1, max: '2' },
      'Claim.status': { fixedCode: 'active' },
      'Claim.use': { fixedCode: 'preauthorization' },
      'Claim.insurer': { min: 1 },
      'Claim.related': { min: 1, max: '1' },
      'Claim.related.claim': { min: 1 },
      'Claim.related.relationship': { min: 1 },
      'Claim.insurance.focal': { fixedBoolean: true },
      'Claim.item.category': { min: 1 },
      'Claim.item.location[x]': { min: 1 },
    },
    invariants: [
      ...claimInvariants(),
      {
        key: 'pas-update-prior',
        human: 'An update relates to the Claim it updates as `prior`',
        expression:
          "related.relationship.coding.where(system = 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship' and code = 'prior').exists()",
      },
      {
        key: 'pas-cancelled-item',
        on: 'Claim.item',
        human: 'A cancelled item (infoCancelled) carries certification type 3 (spec-70)',
        expression: `modifierExtension.where(url = '${EXT}/modifierextension-infoCancelled' and value = true).exists() implies extension.where(url = '${EXT}/extension-certificationType').value.coding.code = '3'`,
      },
    ],
  },
  {
    id: 'profile-claim-inquiry',
    title: 'PAS Claim Inquiry',
    type: 'Claim',
    source: 'PAS 2.2.1 StructureDefinition-profile-claim-inquiry; pas.md §3.2',
    elements: {
      'Claim.identifier': { min: 1 },
      'Claim.status': { fixedCode: 'active' },
      'Claim.use': { fixedCode: 'preauthorization' },
      'Claim.insurer': { min: 1 },
    },
  },
  {
    id: 'profile-claimresponse',
    title: 'PAS ClaimResponse',
    type: 'ClaimResponse',
    source: 'PAS 2.2.1 StructureDefinition-profile-claimresponse (base profile-claimresponse-base); pas.md §2',
    elements: {
      'ClaimResponse.status': { fixedCode: 'active' },
      'ClaimResponse.use': { fixedCode: 'preauthorization' },
      'ClaimResponse.request': { min: 1 },
    },
    invariants: claimResponseInvariants(),
  },
  {
    id: 'profile-claiminquiryresponse',
    title: 'PAS ClaimInquiryResponse',
    type: 'ClaimResponse',
    source: 'PAS 2.2.1 StructureDefinition-profile-claiminquiryresponse; pas.md §3.2',
    elements: {
      'ClaimResponse.status': { fixedCode: 'active' },
      'ClaimResponse.use': { fixedCode: 'preauthorization' },
    },
    invariants: claimResponseInvariants(),
  },
  {
    id: 'profile-beneficiary',
    title: 'PAS Beneficiary Patient',
    type: 'Patient',
    source: 'PAS 2.2.1 StructureDefinition-profile-beneficiary (US Core Patient 7.0.0); pas.md §1.3',
    elements: { 'Patient.identifier': { min: 1 }, 'Patient.name': { min: 1 }, 'Patient.gender': { min: 1 } },
    invariants: [{ key: 'FullDateRule', human: 'birthDate is a full date', expression: fullDate('birthDate') }],
  },
  {
    id: 'profile-subscriber',
    title: 'PAS Subscriber Patient',
    type: 'Patient',
    source: 'PAS 2.2.1 StructureDefinition-profile-subscriber; pas.md §1.3',
    elements: { 'Patient.name': { min: 1 } },
    invariants: [{ key: 'FullDateRule', human: 'birthDate is a full date', expression: fullDate('birthDate') }],
  },
  {
    id: 'profile-coverage',
    title: 'PAS Coverage',
    type: 'Coverage',
    source: 'PAS 2.2.1 StructureDefinition-profile-coverage; pas.md §1.3',
    elements: { 'Coverage.status': { fixedCode: 'active' }, 'Coverage.payor': { max: '1' } },
    invariants: [
      {
        key: 'pas-member-id',
        human: 'One member identifier (type MB)',
        expression: "identifier.where(type.coding.where(code = 'MB').exists()).count() = 1",
      },
      {
        key: 'self-beneficiary',
        human: 'A subscriber is named unless the beneficiary is the subscriber (relationship self / X12 18)',
        expression: "subscriber.exists() or relationship.coding.where(code = 'self' or code = '18').exists()",
      },
    ],
  },
  {
    id: 'profile-insurer',
    title: 'PAS Insurer Organization',
    type: 'Organization',
    source: 'PAS 2.2.1 StructureDefinition-profile-insurer; pas.md §1.3',
    elements: { 'Organization.active': { min: 1, fixedBoolean: true }, 'Organization.name': { min: 1 } },
  },
  {
    id: 'profile-requestor',
    title: 'PAS Requestor Organization',
    type: 'Organization',
    source: 'PAS 2.2.1 StructureDefinition-profile-requestor; pas.md §1.3',
    elements: {
      'Organization.identifier': { min: 1 },
      'Organization.active': { min: 1, fixedBoolean: true },
      'Organization.name': { min: 1 },
    },
  },
  {
    id: 'profile-practitioner',
    title: 'PAS Practitioner',
    type: 'Practitioner',
    source: 'PAS 2.2.1 StructureDefinition-profile-practitioner (US Core Practitioner); pas.md §1.3',
    elements: { 'Practitioner.identifier': { min: 1 }, 'Practitioner.name': { min: 1 } },
  },
  {
    id: 'profile-medicationrequest',
    title: 'PAS MedicationRequest',
    type: 'MedicationRequest',
    source: 'PAS 2.2.1 StructureDefinition-profile-medicationrequest; pas.md §1.4 (prof-1)',
    elements: {
      'MedicationRequest.status': { fixedCode: 'active' },
      'MedicationRequest.intent': { fixedCode: 'order' },
    },
    invariants: [
      {
        key: 'prof-1',
        human: 'A PAS Timing has repeat.count, or frequency with period and periodUnit, or an X12 calendar/delivery pattern',
        expression:
          "dosageInstruction.timing.all(repeat.count.exists() or (repeat.frequency.exists() and repeat.period.exists() and repeat.periodUnit.exists()) or extension.where(url = '" +
          `${EXT}/extension-timingcalendarpattern' or url = '${EXT}/extension-timingdeliverypattern').exists())`,
      },
    ],
  },
  {
    id: 'profile-servicerequest',
    title: 'PAS ServiceRequest',
    type: 'ServiceRequest',
    source:
      'PAS 2.2.1 StructureDefinition-profile-servicerequest; pas.md §1.3 (requestedService) and §1.4 (prof-1, prof-2)',
    elements: {
      'ServiceRequest.status': { fixedCode: 'active' },
      'ServiceRequest.intent': { fixedCode: 'order' },
      'ServiceRequest.code': { min: 1 },
    },
    invariants: [
      {
        key: 'prof-2',
        human: 'A PAS quantity has a value and a unit or a code',
        expression: 'quantity.ofType(Quantity).all(value.exists() and (unit.exists() or code.exists()))',
      },
      {
        key: 'prof-1',
        human: 'A PAS Timing has repeat.count, or frequency with period and periodUnit, or an X12 calendar/delivery pattern',
        expression:
          "occurrence.ofType(Timing).all(repeat.count.exists() or (repeat.frequency.exists() and repeat.period.exists() and repeat.periodUnit.exists()) or extension.where(url = '" +
          `${EXT}/extension-timingcalendarpattern' or url = '${EXT}/extension-timingdeliverypattern').exists())`,
      },
    ],
  },
  {
    id: 'profile-subscription',
    title: 'PAS Subscription',
    type: 'Subscription',
    source: 'PAS 2.2.1 StructureDefinition-profile-subscription (Backport IG backport-subscription); pas.md §3.1',
    elements: { 'Subscription.channel.endpoint': { min: 1 }, 'Subscription.channel.type': { fixedCode: 'rest-hook' } },
    invariants: [
      {
        key: 'pas-topic',
        human: 'criteria is the PAS SubscriptionTopic',
        expression: "criteria = 'http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic'",
      },
      {
        key: 'pas-full-resource',
        human: 'Notifications carry full resources (spec-62)',
        expression:
          "channel.payload.extension.where(url = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content' and value = 'full-resource').exists()",
      },
    ],
  },
];

function claimInvariants(): PasInvariant[] {
  return [
    {
      key: 'pas-claim-type',
      human: 'type is professional, institutional or oral (claim-type)',
      expression:
        "type.coding.where(system = 'http://terminology.hl7.org/CodeSystem/claim-type' and (code = 'professional' or code = 'institutional' or code = 'oral')).exists()",
    },
    { key: 'pas-identifier', human: 'Every identifier has a system and a value', expression: 'identifier.all(system.exists() and value.exists())' },
    { key: 'pas-sequence', human: 'Item sequences are unique (spec-34)', expression: 'item.sequence.isDistinct()' },
    { key: 'pas-supporting-sequence', human: 'supportingInfo sequences are unique (spec-22)', expression: 'supportingInfo.sequence.isDistinct()' },
    {
      key: 'pas-item-extensions',
      on: 'Claim.item',
      human: 'Each item has one serviceItemRequestType and one certificationType (X12 UM01, UM02)',
      expression: `${hasExt('extension-serviceItemRequestType')} and ${hasExt('extension-certificationType')}`,
    },
    {
      key: 'pas-item-code',
      on: 'Claim.item',
      human: 'productOrService is an X12 service type, CPT, HCPCS, ICD-10-PCS or NDC code',
      expression:
        "productOrService.coding.where(system = 'https://codesystem.x12.org/005010/1365' or system = 'http://www.ama-assn.org/go/cpt' or system = 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets' or system = 'http://www.cms.gov/Medicare/Coding/ICD10' or system = 'http://hl7.org/fhir/sid/ndc').exists()",
    },
    // FullDateRule on the items' service dates is checked in src/coverage/pas/profiles.ts: @medplum/core's
    // FHIRPath gives no string for the serviced[x] choice.
    {
      key: 'prof-2',
      on: 'Claim.item',
      human: 'A quantity has a value and a unit or code',
      expression: 'quantity.exists() implies (quantity.value.exists() and (quantity.unit.exists() or quantity.code.exists()))',
    },
    {
      key: 'prof-3',
      on: 'Claim.item',
      human: 'A quantity code is an X12 673 unit',
      expression: "quantity.code.exists() implies quantity.system = 'https://codesystem.x12.org/005010/673'",
    },
    {
      key: 'pas-care-team-scope',
      on: 'Claim.careTeam',
      human: 'Each care team member says whether it is claim-level or item-level (careTeamClaimScope)',
      expression: hasExt('extension-careTeamClaimScope'),
    },
    {
      key: 'pas-diagnosis',
      on: 'Claim.diagnosis',
      human: 'Diagnoses are ICD-10-CM codes',
      expression: "diagnosisCodeableConcept.coding.where(system = 'http://hl7.org/fhir/sid/icd-10-cm').exists()",
    },
  ];
}

function claimResponseInvariants(): PasInvariant[] {
  return [
    {
      key: 'pas-outcome',
      human: 'outcome is complete, error or partial (queued was removed in 2.2.1)',
      expression: "outcome = 'complete' or outcome = 'error' or outcome = 'partial'",
    },
    {
      key: 'pas-review-action',
      on: 'ClaimResponse.item',
      human:
        'Each item decision is a reviewAction with its reviewActionCode (X12 306) in a "submitted" adjudication',
      expression: `adjudication.where(category.coding.where(code = 'submitted').exists()).extension.where(url = '${EXT}/extension-reviewAction').extension.where(url = '${EXT}/extension-reviewActionCode').value.coding.where(system = 'https://codesystem.x12.org/005010/306').exists()`,
    },
  ];
}
