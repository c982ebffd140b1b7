/**
 * The core of Dripline's FHIR contract: every canonical URL of ingest, coding, charges and claims,
 * declared once, each with what it means (extensions and profiles, code systems, identifier systems,
 * subscription topics, the operation base). Each later capability declares its own in a contract
 * file beside this one (src/contract/<capability>.ts), listed in src/contract/index.ts. No file
 * outside src/contract/ spells a `https://dripline.dev/fhir/…` URL (a test checks src/, scripts/
 * and test/); the StructureDefinitions in profiles/ are generated with these URLs and a test checks
 * each one is declared (`published`) and each published one has its file.
 *
 * The contract sits at the bottom of the layers (it imports nothing outside itself), so the coding
 * engine, the X12 writer, the sandbox parties and the FHIR server all read the same constants.
 */

import { CANONICAL_BASE, define } from './registry.ts';

export { CANONICAL_BASE } from './registry.ts';
export type { Canonical, CanonicalKind } from './registry.ts';

/** Base of Dripline's StructureDefinitions (profiles/ is generated under it). */
export const STRUCTURE_DEFINITION_BASE = `${CANONICAL_BASE}/StructureDefinition`;

// ----- Extensions of the FHIR contract (StructureDefinitions in profiles/) ------------------------

export const EXT_DISCARDED_AMOUNT = define(
  'extension',
  'discarded-amount',
  'MedicationAdministration: drug amount discarded from a single-dose container (billed with JW)',
  true,
);
export const EXT_PRIMARY_SERVICE = define(
  'extension',
  'primary-service',
  'MedicationAdministration: the primary reason for an office visit (its initial service)',
  true,
);
export const EXT_REQUEST_ID = define(
  'extension',
  'request-id',
  'AuditEvent: the HTTP request id the event was recorded for',
  true,
);
export const EXT_CODING_RATIONALE = define(
  'extension',
  'coding-rationale',
  'ChargeItem: the rule, sources, minutes and amounts that decided the line',
  true,
);
export const EXT_CHARGE_MODIFIER = define(
  'extension',
  'charge-modifier',
  'ChargeItem: a HCPCS/CPT modifier on the line (JW, JZ, 59, XE, JG…)',
  true,
);
export const EXT_NDC_QUANTITY = define(
  'extension',
  'ndc-quantity',
  'ChargeItem: the NDC quantity and unit qualifier the claim line reports',
  true,
);
export const EXT_REVENUE_CODE = define(
  'extension',
  'revenue-code',
  'ChargeItem: the UB-04 revenue code of an institutional line',
  true,
);
export const EXT_CHARGE_LINE_KEY = define(
  'extension',
  'charge-line-key',
  'ChargeItem: the stable key of the line, from which its id derives',
  true,
);
export const EXT_CHARGE_ITEM = define(
  'extension',
  'charge-item',
  'Claim.item: the ChargeItem the line bills',
  true,
);
export const EXT_CLAIM_FREQUENCY = define(
  'extension',
  'claim-frequency',
  'Claim: frequency code (1 original, 7 replacement, 8 void)',
  true,
);
export const EXT_ADMINISTRATION_CATEGORY = define(
  'extension',
  'administration-category',
  'Medication or MedicationRequest: the documented administration category (chemo/complex, therapeutic, hydration)',
);

// ----- Profiles ----------------------------------------------------------------------------------

export const PROFILE_CHARGE_ITEM = define(
  'profile',
  'dripline-chargeitem',
  'ChargeItem profile: a coded infusion charge line with its rationale',
  true,
);
export const PROFILE_CLAIM = define(
  'profile',
  'dripline-claim',
  'Claim profile: a claim Dripline builds and scrubs before it is sent',
  true,
);

// ----- Dripline's own bookkeeping on the resources it keeps --------------------------------------

export const EXT_CHARGE_AMOUNT = define(
  'extension',
  'charge-amount',
  'Claim.item: the chargemaster amount billed for the line',
);
export const EXT_CLAIM_STATE = define(
  'extension',
  'claim-state',
  'Claim: where the claim is in the workflow (built, held, ready, submitting, …)',
);
export const EXT_CLAIM_STATE_SINCE = define(
  'extension',
  'claim-state-since',
  'Claim: when the claim entered its current state',
);
export const EXT_CLAIM_PAYER = define(
  'extension',
  'claim-payer',
  "Claim: the tenant's payer id the claim is billed to",
);
export const EXT_CLAIM_INPUTS = define(
  'extension',
  'claim-inputs',
  'Claim: fingerprint of the inputs it was built from (rebuild when they change)',
);
export const EXT_CLAIM_X12_BATCH = define(
  'extension',
  'claim-x12-batch',
  'Claim: the X12 batch file (DocumentReference) that carried it',
);
export const EXT_CLAIM_REPLACED_BY = define(
  'extension',
  'claim-replaced-by',
  'Claim: the corrected or void claim that replaces it',
);
export const EXT_SCRUB_FINDING = define(
  'extension',
  'scrub-finding',
  'Task: one scrubber finding (rule, severity, message, fix) on a claim work item',
);
export const EXT_SOURCE_VERSION = define(
  'extension',
  'source-version-id',
  "Copies of EHR data: the EHR's meta.versionId of the copy",
);
export const EXT_SOURCE_LAST_UPDATED = define(
  'extension',
  'source-last-updated',
  "Copies of EHR data: the EHR's meta.lastUpdated of the copy",
);
export const EXT_EHR_SUBSCRIPTION = define(
  'extension',
  'ehr-subscription-id',
  "Subscription record: the EHR's id of the subscription",
);
export const EXT_EHR_CONNECTION = define(
  'extension',
  'ehr-connection',
  'Subscription record: the EHR connection it belongs to',
);
export const EXT_CHANNEL_SECRET_HASH = define(
  'extension',
  'channel-secret-sha256',
  'Subscription record: SHA-256 of the channel secret the EHR sends',
);
export const EXT_EVENT_TRACKER = define(
  'extension',
  'event-tracker',
  'Subscription record: event numbers seen, gaps and heartbeats',
);
export const EXT_INGEST_TOPIC = define(
  'extension',
  'ingest-topic',
  'Subscription record: which resource type it subscribes to',
);
export const EXT_SANDBOX_NOTIFICATION_SHAPE = define(
  'extension',
  'sandbox-notification-shape',
  "Sandbox EHR's Subscription: which notification shape it sends (tests of sender variety)",
);

// ----- Code systems ------------------------------------------------------------------------------

export const CS_ADMINISTRATION_TECHNIQUE = define(
  'code-system',
  'administration-technique',
  'Dosage.method: push, infusion or injection',
);
export const CS_CARE_SETTING = define(
  'code-system',
  'care-setting',
  'Encounter.type: office, hospital outpatient or home',
);
export const CS_NDC_UNIT_QUALIFIER = define(
  'code-system',
  'ndc-unit-qualifier',
  'NDC unit qualifiers of claim lines (UN, ML, GR, F2, ME)',
);
export const CS_CODING_ISSUE = define(
  'code-system',
  'coding-issue',
  'Documentation issues the coding engine raises (missing-stop-time, …)',
);
export const CS_WORK_ITEM = define(
  'code-system',
  'work-item',
  'Task.code of charge capture work items (documentation issues, corrected claim needed)',
);
export const CS_TASK_CODE = define(
  'code-system',
  'task-code',
  'Task.code of claim work items (claim-attention)',
);
export const CS_SCRUB_RULE = define(
  'code-system',
  'scrub-rule',
  'Scrubber rule ids (src/claims/rules/scrub-rules.json)',
);
export const CS_OPERATION = define(
  'code-system',
  'operation',
  'AuditEvent.subtype of actions people take (override, resubmit)',
);
export const CS_SOURCE_STATUS = define(
  'code-system',
  'source-status',
  'Copies of EHR data: deleted or gone at the source',
);
export const CS_COPY_CODING = define(
  'code-system',
  'copy-coding',
  'Copies of EHR encounters: no version stored so far could be coded (its changes start no charge capture)',
);

// ----- Identifier systems ------------------------------------------------------------------------

export const ID_AGENT = define(
  'identifier-system',
  'agent',
  'Provenance/AuditEvent agent: a Dripline worker or client',
);
export const ID_CLAIM = define(
  'identifier-system',
  'claim',
  "Claim.identifier: Dripline's claim id (837 CLM01)",
);
export const ID_PAYER_ID = define(
  'identifier-system',
  'payer-id',
  "Organization.identifier: a payer's id on claims (837 NM109)",
);
export const ID_CLAIM_SUBMISSION = define(
  'identifier-system',
  'claim-submission',
  'Claim.identifier: the submission key (claim id + version) a payer answers to',
);
export const ID_X12_INTERCHANGE = define(
  'identifier-system',
  'x12-interchange-control-number',
  'DocumentReference.identifier: ISA13 of an X12 batch file',
);
const ID_PAYER_CLAIM_RESPONSE_BASE = define(
  'identifier-system',
  'payer-claim-response',
  "ClaimResponse.identifier: the payer's answer id (one system per payer, /{payer id})",
);

/** The identifier system of one payer's ClaimResponse ids. */
export function payerClaimResponseSystem(payerId: string): string {
  return `${ID_PAYER_CLAIM_RESPONSE_BASE}/${payerId}`;
}

// ----- Subscription topics (defaults; each EHR connection may name its own) -----------------------

export const TOPIC_MEDICATION_ADMINISTRATION = define(
  'topic',
  'medication-administration',
  'MedicationAdministration created or updated',
);
export const TOPIC_ENCOUNTER = define('topic', 'encounter', 'Encounter created or updated');

// ----- Operations --------------------------------------------------------------------------------

export const OPERATION_DEFINITION_BASE = define(
  'operation-base',
  '',
  'Base of the OperationDefinitions Dripline serves ($infusion-charges, $x12)',
);
