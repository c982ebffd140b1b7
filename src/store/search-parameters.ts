/**
 * Which search parameters Dripline indexes, per resource type, and the ones every type has. The
 * index derivation (./search-index.ts) and the CapabilityStatement read this one table, so a
 * parameter is searchable exactly when it is advertised; changing it re-derives the index at open
 * (SEARCH_INDEX_VERSION hashes it).
 *
 * Expressions follow the FHIR R4 search parameter registry
 * (https://hl7.org/fhir/R4/searchparameter-registry.html); where Dripline adds a convenience alias
 * (e.g. `encounter` on MedicationAdministration for R4's `context`) the entry says so.
 */
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../contract/canonical.ts';
import { EXT_PAS_STATE } from '../contract/pas.ts';

export type SearchParamKind = 'token' | 'reference' | 'date' | 'string';

export interface SearchParamDefinition {
  readonly code: string;
  readonly kind: SearchParamKind;
  /** FHIRPath over the resource (evaluated with @medplum/core). */
  readonly expression: string;
  /** For references: only targets of these types are indexed (e.g. `patient` → Patient). */
  readonly targets?: readonly string[];
  /** Why this differs from the R4 registry, when it does. */
  readonly note?: string;
}

const identifier = (type: string): SearchParamDefinition => ({
  code: 'identifier',
  kind: 'token',
  expression: `${type}.identifier`,
});
const status = (type: string): SearchParamDefinition => ({
  code: 'status',
  kind: 'token',
  expression: `${type}.status`,
});
const ref = (
  code: string,
  expression: string,
  targets?: readonly string[],
  note?: string,
): SearchParamDefinition => ({
  code,
  kind: 'reference',
  expression,
  ...(targets ? { targets } : {}),
  ...(note ? { note } : {}),
});
const token = (code: string, expression: string, note?: string): SearchParamDefinition => ({
  code,
  kind: 'token',
  expression,
  ...(note ? { note } : {}),
});

/** A Dripline extension's value on a resource (the workflow state of a claim, its payer ...). */
const extensionValue = (type: string, url: string): string => `${type}.extension.where(url = '${url}').value`;
const date = (code: string, expression: string, note?: string): SearchParamDefinition => ({
  code,
  kind: 'date',
  expression,
  ...(note ? { note } : {}),
});
const str = (code: string, expression: string): SearchParamDefinition => ({
  code,
  kind: 'string',
  expression,
});

const PATIENT = ['Patient'] as const;

/** The resource types Dripline keeps, with the search parameters each supports (besides _id and _lastUpdated). */
export const SEARCH_PARAMETERS: Readonly<Record<string, readonly SearchParamDefinition[]>> = {
  Patient: [
    identifier('Patient'),
    str('name', 'Patient.name.family | Patient.name.given | Patient.name.text'),
    str('family', 'Patient.name.family'),
    str('given', 'Patient.name.given'),
    date('birthdate', 'Patient.birthDate'),
    token('gender', 'Patient.gender'),
    token('active', 'Patient.active'),
  ],
  Encounter: [
    identifier('Encounter'),
    status('Encounter'),
    ref('patient', 'Encounter.subject', PATIENT),
    ref('subject', 'Encounter.subject'),
    date('date', 'Encounter.period'),
    token('class', 'Encounter.class'),
    token('type', 'Encounter.type'),
    ref('location', 'Encounter.location.location'),
    ref('part-of', 'Encounter.partOf'),
    ref('service-provider', 'Encounter.serviceProvider'),
  ],
  MedicationAdministration: [
    identifier('MedicationAdministration'),
    status('MedicationAdministration'),
    ref('patient', 'MedicationAdministration.subject', PATIENT),
    ref('subject', 'MedicationAdministration.subject'),
    ref('context', 'MedicationAdministration.context'),
    ref('encounter', 'MedicationAdministration.context', ['Encounter'], 'Dripline alias of R4 `context`'),
    date('effective-time', 'MedicationAdministration.effective'),
    date('date', 'MedicationAdministration.effective', 'Dripline alias of R4 `effective-time`'),
    token('code', 'MedicationAdministration.medication.as(CodeableConcept)'),
    ref('medication', 'MedicationAdministration.medication.as(Reference)'),
    ref('request', 'MedicationAdministration.request'),
  ],
  MedicationRequest: [
    identifier('MedicationRequest'),
    status('MedicationRequest'),
    token('intent', 'MedicationRequest.intent'),
    ref('patient', 'MedicationRequest.subject', PATIENT),
    ref('subject', 'MedicationRequest.subject'),
    ref('encounter', 'MedicationRequest.encounter'),
    date('authoredon', 'MedicationRequest.authoredOn'),
    token('code', 'MedicationRequest.medication.as(CodeableConcept)'),
    ref('medication', 'MedicationRequest.medication.as(Reference)'),
  ],
  Medication: [identifier('Medication'), status('Medication'), token('code', 'Medication.code')],
  Coverage: [
    identifier('Coverage'),
    status('Coverage'),
    ref('patient', 'Coverage.beneficiary', PATIENT),
    ref('beneficiary', 'Coverage.beneficiary'),
    ref('subscriber', 'Coverage.subscriber'),
    ref('payor', 'Coverage.payor'),
    token('type', 'Coverage.type'),
  ],
  // A coverage's subscriber when it is not the patient (spouse, parent…): 837 loop 2010BA.
  RelatedPerson: [
    identifier('RelatedPerson'),
    ref('patient', 'RelatedPerson.patient', PATIENT),
    str('name', 'RelatedPerson.name.family | RelatedPerson.name.given | RelatedPerson.name.text'),
    token('relationship', 'RelatedPerson.relationship'),
    token('active', 'RelatedPerson.active'),
  ],
  Condition: [
    identifier('Condition'),
    ref('patient', 'Condition.subject', PATIENT),
    ref('subject', 'Condition.subject'),
    ref('encounter', 'Condition.encounter'),
    token('code', 'Condition.code'),
    token('clinical-status', 'Condition.clinicalStatus'),
    token('category', 'Condition.category'),
  ],
  Organization: [
    identifier('Organization'),
    str('name', 'Organization.name | Organization.alias'),
    token('type', 'Organization.type'),
    token('active', 'Organization.active'),
  ],
  Practitioner: [
    identifier('Practitioner'),
    str('name', 'Practitioner.name.family | Practitioner.name.given | Practitioner.name.text'),
    token('active', 'Practitioner.active'),
  ],
  ChargeItem: [
    identifier('ChargeItem'),
    status('ChargeItem'),
    ref('patient', 'ChargeItem.subject', PATIENT),
    ref('subject', 'ChargeItem.subject'),
    ref('context', 'ChargeItem.context'),
    ref('encounter', 'ChargeItem.context', ['Encounter'], 'Dripline alias of R4 `context`'),
    token('code', 'ChargeItem.code'),
    date('occurrence', 'ChargeItem.occurrence'),
    date('date', 'ChargeItem.occurrence', 'Dripline alias of R4 `occurrence`'),
    date('entered-date', 'ChargeItem.enteredDate'),
  ],
  Claim: [
    identifier('Claim'),
    status('Claim'),
    token('use', 'Claim.use'),
    ref('patient', 'Claim.patient', PATIENT),
    ref('encounter', 'Claim.item.encounter'),
    ref('provider', 'Claim.provider'),
    ref('insurer', 'Claim.insurer'),
    date('created', 'Claim.created'),
    date('date', 'Claim.billablePeriod', 'Dripline: the service dates of the claim'),
    token(
      'claim-state',
      extensionValue('Claim', EXT_CLAIM_STATE),
      'Dripline: the claim workflow state (built, held, ready, submitting, submitted, adjudicated, rejected, void)',
    ),
    token(
      'claim-payer',
      extensionValue('Claim', EXT_CLAIM_PAYER),
      'Dripline: the tenant payer (config payers[].id) the claim goes to',
    ),
    token(
      'pas-state',
      extensionValue('Claim', EXT_PAS_STATE),
      'Dripline: where a prior authorization request stands (prepared, pended, certified, denied …)',
    ),
  ],
  ClaimResponse: [
    identifier('ClaimResponse'),
    status('ClaimResponse'),
    ref('patient', 'ClaimResponse.patient', PATIENT),
    ref('request', 'ClaimResponse.request'),
    ref('insurer', 'ClaimResponse.insurer'),
    token('outcome', 'ClaimResponse.outcome'),
    date('created', 'ClaimResponse.created'),
  ],
  ExplanationOfBenefit: [
    identifier('ExplanationOfBenefit'),
    status('ExplanationOfBenefit'),
    ref('patient', 'ExplanationOfBenefit.patient', PATIENT),
    ref('claim', 'ExplanationOfBenefit.claim'),
    ref('coverage', 'ExplanationOfBenefit.insurance.coverage'),
    ref('encounter', 'ExplanationOfBenefit.item.encounter'),
    date('created', 'ExplanationOfBenefit.created'),
  ],
  PaymentReconciliation: [
    identifier('PaymentReconciliation'),
    status('PaymentReconciliation'),
    ref('request', 'PaymentReconciliation.request'),
    ref('payment-issuer', 'PaymentReconciliation.paymentIssuer'),
    token('outcome', 'PaymentReconciliation.outcome'),
    date('created', 'PaymentReconciliation.created'),
  ],
  CoverageEligibilityRequest: [
    identifier('CoverageEligibilityRequest'),
    status('CoverageEligibilityRequest'),
    ref('patient', 'CoverageEligibilityRequest.patient', PATIENT),
    ref('provider', 'CoverageEligibilityRequest.provider'),
    date('created', 'CoverageEligibilityRequest.created'),
  ],
  CoverageEligibilityResponse: [
    identifier('CoverageEligibilityResponse'),
    status('CoverageEligibilityResponse'),
    ref('patient', 'CoverageEligibilityResponse.patient', PATIENT),
    ref('request', 'CoverageEligibilityResponse.request'),
    token('outcome', 'CoverageEligibilityResponse.outcome'),
    date('created', 'CoverageEligibilityResponse.created'),
  ],
  Task: [
    identifier('Task'),
    status('Task'),
    token('intent', 'Task.intent'),
    token('priority', 'Task.priority'),
    token('code', 'Task.code'),
    token('business-status', 'Task.businessStatus'),
    ref('patient', 'Task.for', PATIENT),
    ref('subject', 'Task.for'),
    ref('focus', 'Task.focus'),
    ref('owner', 'Task.owner'),
    ref('encounter', 'Task.encounter'),
    date('authored-on', 'Task.authoredOn'),
    date('modified', 'Task.lastModified'),
  ],
  // Patient statements (src/remittance/statements/): a patient's are listed by subject.
  Invoice: [
    identifier('Invoice'),
    status('Invoice'),
    ref('patient', 'Invoice.subject', PATIENT),
    ref('subject', 'Invoice.subject'),
    ref('account', 'Invoice.account'),
    date('date', 'Invoice.date'),
  ],
  // X12 claim batch files (src/claims/x12-batch.ts): identifier = the interchange control number.
  DocumentReference: [
    identifier('DocumentReference'),
    status('DocumentReference'),
    date('date', 'DocumentReference.date'),
  ],
  AuditEvent: [
    token('type', 'AuditEvent.type'),
    token('subtype', 'AuditEvent.subtype'),
    token('action', 'AuditEvent.action'),
    token('outcome', 'AuditEvent.outcome'),
    date('date', 'AuditEvent.recorded'),
    ref('agent', 'AuditEvent.agent.who'),
    ref('entity', 'AuditEvent.entity.what'),
    ref('patient', 'AuditEvent.entity.what', PATIENT),
  ],
  Provenance: [
    ref('target', 'Provenance.target'),
    ref('patient', 'Provenance.target', PATIENT),
    ref('agent', 'Provenance.agent.who'),
    ref('entity', 'Provenance.entity.what'),
    date('recorded', 'Provenance.recorded'),
  ],
};

/** Parameters every type supports on the store's own columns. */
export const COMMON_SEARCH_PARAMETERS: readonly SearchParamDefinition[] = [
  { code: '_id', kind: 'token', expression: 'id' },
  { code: '_lastUpdated', kind: 'date', expression: 'meta.lastUpdated' },
];

export const KEPT_RESOURCE_TYPES: readonly string[] = Object.keys(SEARCH_PARAMETERS);

export function getSearchParameter(resourceType: string, code: string): SearchParamDefinition | undefined {
  return (
    COMMON_SEARCH_PARAMETERS.find((p) => p.code === code) ??
    SEARCH_PARAMETERS[resourceType]?.find((p) => p.code === code)
  );
}

/**
 * Reference parameters answered from another parameter's index rows, by type: `patient` →
 * `subject` on Encounter, `patient` → `entity` on AuditEvent, `encounter` → `context` on
 * ChargeItem ... Such a parameter has the same expression as the other, narrowed to some target
 * types, so its entries are exactly the other's entries of those types, and a search on it with
 * values of those types matches the same resources as the other with the same values. Indexing it
 * as well stored every such reference twice: an AuditEvent (one per audited read) wrote its
 * patient under both `entity` and `patient`, each row on a random page of the reference index.
 * The same holds for an alias: a parameter of the same kind and expression as one listed before it
 * (`date` on ChargeItem is R4's `occurrence`, on MedicationAdministration `effective-time`) has
 * exactly its entries and sort key, so it is answered from that one's rows: a ChargeItem wrote its
 * date of service twice, as a date row and as a sort key.
 * Derived from the table above, so a parameter added to it is covered by the same rule.
 */
export const ANSWERED_FROM: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.fromEntries(
  Object.entries(SEARCH_PARAMETERS).map(([type, definitions]) => [
    type,
    Object.fromEntries(
      definitions.flatMap((param, index) => {
        if (param.kind === 'reference' && param.targets !== undefined) {
          const wide = definitions.find(
            (d) => d.kind === 'reference' && d.targets === undefined && d.expression === param.expression,
          );
          return wide ? [[param.code, wide.code]] : [];
        }
        const first = definitions.find(
          (d, i) =>
            i < index &&
            d.kind === param.kind &&
            d.expression === param.expression &&
            d.targets === undefined,
        );
        return first && param.targets === undefined ? [[param.code, first.code]] : [];
      }),
    ),
  ]),
);
