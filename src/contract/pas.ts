/**
 * The prior authorization part of the FHIR contract (src/coverage/pas, the sandbox payer's PAS
 * endpoint): the URLs Dripline defines for it, declared with `define`, and — as plain constants, not
 * in the registry — the canonical URLs and code systems of Da Vinci PAS 2.2.1
 * (http://hl7.org/fhir/us/davinci-pas/, STU 2.2), the Subscriptions Backport IG and the X12 code
 * lists PAS binds to, so everything a PAS message names is read in one place.
 */
import { define } from './registry.ts';

/** PAS StructureDefinitions (profiles and extensions). */
export const PAS_SD = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';

export const PAS_PROFILE = {
  requestBundle: `${PAS_SD}/profile-pas-request-bundle`,
  responseBundle: `${PAS_SD}/profile-pas-response-bundle`,
  inquiryRequestBundle: `${PAS_SD}/profile-pas-inquiry-request-bundle`,
  inquiryResponseBundle: `${PAS_SD}/profile-pas-inquiry-response-bundle`,
  claim: `${PAS_SD}/profile-claim`,
  claimUpdate: `${PAS_SD}/profile-claim-update`,
  claimInquiry: `${PAS_SD}/profile-claim-inquiry`,
  claimResponse: `${PAS_SD}/profile-claimresponse`,
  claimInquiryResponse: `${PAS_SD}/profile-claiminquiryresponse`,
  beneficiary: `${PAS_SD}/profile-beneficiary`,
  subscriber: `${PAS_SD}/profile-subscriber`,
  coverage: `${PAS_SD}/profile-coverage`,
  insurer: `${PAS_SD}/profile-insurer`,
  requestor: `${PAS_SD}/profile-requestor`,
  practitioner: `${PAS_SD}/profile-practitioner`,
  medicationRequest: `${PAS_SD}/profile-medicationrequest`,
  serviceRequest: `${PAS_SD}/profile-servicerequest`,
  subscription: `${PAS_SD}/profile-subscription`,
  task: `${PAS_SD}/profile-task`,
  communicationRequest: `${PAS_SD}/profile-communicationrequest`,
} as const;

export const PAS_EXT = {
  certificationType: `${PAS_SD}/extension-certificationType`,
  serviceItemRequestType: `${PAS_SD}/extension-serviceItemRequestType`,
  requestedService: `${PAS_SD}/extension-requestedService`,
  careTeamClaimScope: `${PAS_SD}/extension-careTeamClaimScope`,
  transmissionIdentifiers: `${PAS_SD}/extension-TransmissionIdentifiers`,
  levelOfServiceCode: `${PAS_SD}/extension-levelOfServiceCode`,
  diagnosisRecordedDate: `${PAS_SD}/extension-diagnosisRecordedDate`,
  itemTraceNumber: `${PAS_SD}/extension-itemTraceNumber`,
  infoChanged: `${PAS_SD}/extension-infoChanged`,
  infoCancelled: `${PAS_SD}/modifierextension-infoCancelled`,
  reviewAction: `${PAS_SD}/extension-reviewAction`,
  reviewActionCode: `${PAS_SD}/extension-reviewActionCode`,
  itemPreAuthPeriod: `${PAS_SD}/extension-itemPreAuthPeriod`,
  itemPreAuthIssueDate: `${PAS_SD}/extension-itemPreAuthIssueDate`,
  itemRequestedServiceDate: `${PAS_SD}/extension-itemRequestedServiceDate`,
  itemAuthorizedDetail: `${PAS_SD}/extension-itemAuthorizedDetail`,
  itemAuthorizedProvider: `${PAS_SD}/extension-itemAuthorizedProvider`,
  authorizationNumber: `${PAS_SD}/extension-authorizationNumber`,
  administrationReferenceNumber: `${PAS_SD}/extension-administrationReferenceNumber`,
  claimResponseReviewer: `${PAS_SD}/extension-claimResponseReviewer`,
  errorElement: `${PAS_SD}/extension-errorElement`,
  errorPath: `${PAS_SD}/extension-errorPath`,
  errorFollowupAction: `${PAS_SD}/extension-errorFollowupAction`,
  serviceLineNumber: `${PAS_SD}/extension-serviceLineNumber`,
  timingCalendarPattern: `${PAS_SD}/extension-timingcalendarpattern`,
} as const;

/** PAS temporary codes (supportingInfo categories, Task codes, topic events). */
export const PAS_TEMP_CODES = 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes';
/** The PAS SubscriptionTopic (pas.md §3.1). */
export const PAS_TOPIC = 'http://hl7.org/fhir/us/davinci-pas/SubscriptionTopic/PASSubscriptionTopic';

/** X12 code systems PAS binds to (codes are X12's; Dripline writes only the codes, never their descriptions). */
export const PAS_X12 = {
  /** HCR01 review action (A1 certified in total, A2 partial, A3 not certified, A4 pended, A6 modified). */
  reviewAction: 'https://codesystem.x12.org/005010/306',
  /** UM02 certification type (I initial, 3 cancel...). */
  certificationType: 'https://codesystem.x12.org/005010/1322',
  /** UM01 request category (HS health services review...). */
  requestType: 'https://codesystem.x12.org/005010/1525',
  /** Service type code (1 medical care...). */
  serviceType: 'https://codesystem.x12.org/005010/1365',
  /** Entity identifier code (PR payer, X3 utilization management organization...). */
  entity: 'https://codesystem.x12.org/005010/98',
  /** AAA03 reject reasons. */
  rejectReason: 'https://codesystem.x12.org/005010/901',
  /** AAA04 follow-up action. */
  followupAction: 'https://codesystem.x12.org/005010/889',
  /** HCR03 review decision reasons (external code list 886). */
  decisionReason: 'https://codesystem.x12.org/external/886',
  /** PWK01 attachment report type. */
  reportType: 'https://codesystem.x12.org/005010/755',
  /** Individual relationship code (18 self). */
  relationship: 'https://codesystem.x12.org/005010/1069',
} as const;

export const PAS_SYSTEM = {
  hcpcs: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  cpt: 'http://www.ama-assn.org/go/cpt',
  ndc: 'http://hl7.org/fhir/sid/ndc',
  npi: 'http://hl7.org/fhir/sid/us-npi',
  ein: 'http://terminology.hl7.org/NamingSystem/USEIN',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  placeOfService: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set',
  claimType: 'http://terminology.hl7.org/CodeSystem/claim-type',
  processPriority: 'http://terminology.hl7.org/CodeSystem/processpriority',
  adjudication: 'http://terminology.hl7.org/CodeSystem/adjudication',
  relatedClaim: 'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  subscriberRelationship: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship',
  ucum: 'http://unitsofmeasure.org',
} as const;

/** Subscriptions R5 Backport IG (STU 1.1) extensions and profiles. */
export const PAS_BACKPORT = {
  filterCriteria:
    'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria',
  payloadContent:
    'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content',
  subscription: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription',
  heartbeatPeriod:
    'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period',
} as const;

// ----- What Dripline defines for prior authorization (not published: kept on its own records) -----

export const EXT_PAS_STATE = define(
  'extension',
  'pas-state',
  'Stored PAS Claim: where the prior authorization request stands (prepared, pended, certified…)',
);
export const EXT_PAS_SOURCE = define(
  'extension',
  'pas-source',
  'Stored PAS Claim: the order version it was built from (MedicationRequest/id/_history/v)',
);
export const EXT_PAS_PAYER = define(
  'extension',
  'pas-payer',
  'Stored PAS Claim: the tenant payer (config id) the request was sent to',
);
export const EXT_PAS_PAYER_SUBSCRIPTION = define(
  'extension',
  'pas-payer-subscription-id',
  'PAS subscription record: the id the payer gave Dripline’s Subscription on its PAS topic',
);
export const EXT_PAS_SUBSCRIPTION_UNSUPPORTED = define(
  'extension',
  'pas-subscription-unsupported',
  'PAS subscription record: the payer offers no PAS subscription, so pended requests use $inquire',
);
export const EXT_PAS_SUBSCRIPTION_UNCONFIRMED = define(
  'extension',
  'pas-subscription-unconfirmed',
  'PAS subscription record: a create got no answer, so the payer may hold one Dripline does not know',
);
export const CS_PAS_RECORD = define(
  'code-system',
  'pas-record',
  'Basic.code of Dripline’s own PAS records (the last contact of a payer’s subscription)',
);
export const EXT_PAS_LAST_CONTACT = define(
  'extension',
  'pas-subscription-last-contact',
  'PAS subscription contact: when Dripline last heard from the payer about it (handshake, heartbeat, event)',
);
export const EXT_PAS_EVENTS_RECEIVED = define(
  'extension',
  'pas-subscription-events-received',
  'PAS subscription contact: the highest event number Dripline received in its notifications',
);
export const EXT_PAS_EVENT_LEDGER = define(
  'extension',
  'pas-subscription-event-ledger',
  'PAS subscription contact: the event numbers received, the count the payer reported, and since when any are missing (JSON)',
);
export const ID_PAS_MESSAGE = define(
  'identifier-system',
  'pas-message',
  'DocumentReference: one PAS message exactly as sent to or received from a payer',
);
export const ID_PAS_PAYER_RESPONSE = define(
  'identifier-system',
  'pas-payer-response',
  'PAS ClaimResponse kept by Dripline: the payer’s own id of its ClaimResponse',
);
export const ID_PAS_TRANSACTION = define(
  'identifier-system',
  'pas-transaction',
  'Bundle.identifier of the PAS request bundles Dripline sends (the submitter transaction id)',
);
export const CS_PRIOR_AUTH_TASK = define(
  'code-system',
  'prior-auth-task',
  'Task.code of prior authorization work items (denied, more information, payer error, invalid answer)',
);
