import { createHash } from 'node:crypto';
/**
 * Which search parameters Dripline indexes, and the pure function that derives index entries from
 * a resource. Both store adapters persist the output of `indexResource` beside the current version,
 * so search semantics are defined once, here, and in port.ts.
 *
 * Expressions follow the FHIR R4 search parameter registry
 * (https://hl7.org/fhir/R4/searchparameter-registry.html); where Dripline adds a convenience alias
 * (e.g. `encounter` on MedicationAdministration for R4's `context`) the entry says so.
 */
import { evalFhirPathTyped, parseFhirPath, toTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { IndexEntry, IndexedResource } from './port.ts';
import { EXT_CLAIM_PAYER, EXT_CLAIM_STATE } from '../contract/canonical.ts';

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

/** FHIR string search is case- and accent-insensitive (R4 search 3.1.1.4.7). */
export function normalizeString(value: string): string {
  return value
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .trim();
}

// ---------------------------------------------------------------------------------------------
// Dates: every FHIR date/dateTime/instant/Period becomes a half-open [start, end) of instants.
// ---------------------------------------------------------------------------------------------

const MIN_INSTANT = '0001-01-01T00:00:00.000Z';
const MAX_INSTANT = '9999-12-31T23:59:59.999Z';
const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The [start, end) instants covered by a FHIR date value at its precision: "2026-11" covers the
 * whole month. Values without a zone are read as UTC (the EHR's zone is unknown here). Returns
 * undefined for values that are not FHIR dates.
 */
export function dateRange(value: string): { start: string; end: string } | undefined {
  const m = DATE_PATTERN.exec(value);
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  // Reject impossible calendar dates (2026-02-30) instead of letting Date.UTC roll them over.
  if (month > 11 || day < 1 || new Date(Date.UTC(year, month, day)).getUTCDate() !== day) {
    return undefined;
  }
  if (
    (h !== undefined && Number(h) > 23) ||
    (mi !== undefined && Number(mi) > 59) ||
    (s !== undefined && Number(s) > 59)
  ) {
    return undefined;
  }
  let startMs: number;
  let endMs: number;
  if (h === undefined) {
    startMs = Date.UTC(year, month, day);
    endMs = d ? Date.UTC(year, month, day + 1) : mo ? Date.UTC(year, month + 1, 1) : Date.UTC(year + 1, 0, 1);
  } else {
    const offsetMinutes = zoneOffsetMinutes(zone);
    const seconds = s ? Number(s) : 0;
    const millis = frac ? Math.floor(Number(frac) * 1000) : 0;
    startMs = Date.UTC(year, month, day, Number(h), Number(mi), seconds, millis) - offsetMinutes * 60_000;
    // Precision: minutes → +1 min, seconds → +1 s, fractional → +1 ms.
    endMs = startMs + (s === undefined ? 60_000 : frac === undefined ? 1000 : 1);
  }
  if (Number.isNaN(startMs) || Number.isNaN(endMs)) {
    return undefined;
  }
  return { start: toInstant(startMs), end: toInstant(endMs) };
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (!zone || zone === 'Z') {
    return 0;
  }
  const sign = zone.startsWith('-') ? -1 : 1;
  const [hours, minutes] = zone.slice(1).split(':').map(Number);
  return sign * ((hours ?? 0) * 60 + (minutes ?? 0));
}

function toInstant(ms: number): string {
  if (ms <= Date.UTC(1, 0, 1)) {
    return MIN_INSTANT;
  }
  if (ms >= Date.UTC(9999, 11, 31, 23, 59, 59, 999)) {
    return MAX_INSTANT;
  }
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Index extraction
// ---------------------------------------------------------------------------------------------

/** "Patient/123", "https://ehr/fhir/Patient/123/_history/2" → "Patient/123". */
export function normalizeReference(reference: string): string | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

type FhirValue = unknown;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tokenValues(value: FhirValue): { system?: string; value: string }[] {
  if (typeof value === 'string') {
    return [{ value }];
  }
  if (typeof value === 'boolean' || typeof value === 'number') {
    return [{ value: String(value) }];
  }
  if (!isRecord(value)) {
    return [];
  }
  // CodeableConcept
  if (Array.isArray(value.coding) || typeof value.text === 'string') {
    return (Array.isArray(value.coding) ? value.coding : []).flatMap(tokenValues);
  }
  // Coding or Identifier
  const code =
    typeof value.code === 'string' ? value.code : typeof value.value === 'string' ? value.value : undefined;
  if (code === undefined) {
    return [];
  }
  return typeof value.system === 'string' ? [{ system: value.system, value: code }] : [{ value: code }];
}

function dateValues(value: FhirValue): { start: string; end: string }[] {
  if (typeof value === 'string') {
    const range = dateRange(value);
    return range ? [range] : [];
  }
  if (isRecord(value) && (typeof value.start === 'string' || typeof value.end === 'string')) {
    // Period: an open end means "still going".
    const start = typeof value.start === 'string' ? dateRange(value.start)?.start : MIN_INSTANT;
    const end = typeof value.end === 'string' ? dateRange(value.end)?.end : MAX_INSTANT;
    return start && end ? [{ start, end }] : [];
  }
  return [];
}

function referenceValues(value: FhirValue, targets: readonly string[] | undefined): string[] {
  if (!isRecord(value) || typeof value.reference !== 'string') {
    return [];
  }
  const normalized = normalizeReference(value.reference);
  if (!normalized) {
    return [];
  }
  const type = normalized.slice(0, normalized.indexOf('/'));
  return !targets || targets.includes(type) ? [normalized] : [];
}

function stringValues(value: FhirValue): string[] {
  return typeof value === 'string' && value.trim() !== '' ? [normalizeString(value)] : [];
}

/**
 * Search parameter expressions here are simple FHIRPath: `Type.a.b` paths joined by `|`, where a
 * step may name a choice element (`effective` → effectiveDateTime / effectivePeriod) or narrow one
 * with `.as(Type)`. Those compile to a direct property walk — about 20× faster than the general
 * evaluator, which matters because every write indexes its resource. So does a Dripline extension's
 * value (`Type.extension.where(url = '…').value`). Anything else falls back to
 * @medplum/core's FHIRPath; a test checks both agree on every definition.
 */
type Step = { readonly name: string; readonly as?: string };
type CompiledExpression = ((resource: Resource) => unknown[]) & { readonly fastPath: boolean };

const SIMPLE_PATH = /^[A-Z][A-Za-z]+(\.[a-z][A-Za-z]*(\.as\([A-Z][A-Za-z]*\))?)+$/;
/** `Type.extension.where(url = '…').value`: the value[x] of the resource's top-level extensions with that url. */
const EXTENSION_VALUE = /^[A-Z][A-Za-z]+\.extension\.where\(url = '([^']+)'\)\.value$/;
const compiledExpressions = new Map<string, CompiledExpression>();

export function compileExpression(expression: string): CompiledExpression {
  let fn = compiledExpressions.get(expression);
  if (fn) {
    return fn;
  }
  const extensionUrl = EXTENSION_VALUE.exec(expression)?.[1];
  if (extensionUrl !== undefined) {
    fn = Object.assign(
      (resource: Resource) =>
        ((resource as { extension?: Record<string, unknown>[] }).extension ?? [])
          .filter((e) => e['url'] === extensionUrl)
          .flatMap((e) =>
            Object.entries(e)
              .filter(([key, value]) => key.startsWith('value') && value !== undefined)
              .map(([, value]) => value),
          ),
      { fastPath: true },
    );
    compiledExpressions.set(expression, fn);
    return fn;
  }
  const alternatives = expression.split('|').map((p) => p.trim());
  if (alternatives.every((p) => SIMPLE_PATH.test(p))) {
    const paths = alternatives.map((p) => {
      const steps: Step[] = [];
      for (const part of p.split('.').slice(1)) {
        const as = /^as\(([A-Za-z]+)\)$/.exec(part);
        const last = steps[steps.length - 1];
        if (as && last) {
          steps[steps.length - 1] = { name: last.name, as: as[1] };
        } else {
          steps.push({ name: part });
        }
      }
      return steps;
    });
    fn = Object.assign((resource: Resource) => paths.flatMap((steps) => walk([resource], steps)), {
      fastPath: true,
    });
  } else {
    const atom = parseFhirPath(expression);
    fn = Object.assign(
      (resource: Resource) =>
        evalFhirPathTyped(atom, [toTypedValue(resource)]).map((v) => v.value as unknown),
      { fastPath: false },
    );
  }
  compiledExpressions.set(expression, fn);
  return fn;
}

function walk(nodes: unknown[], steps: readonly Step[]): unknown[] {
  let current = nodes;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const node of current) {
      if (!isRecord(node)) {
        continue;
      }
      if (step.as === undefined && step.name in node) {
        pushFlat(next, node[step.name]);
        continue;
      }
      // A choice element: `effective` is stored as effectiveDateTime, effectivePeriod, ...
      for (const key of Object.keys(node)) {
        if (
          key.length > step.name.length &&
          key.startsWith(step.name) &&
          isUpper(key.charCodeAt(step.name.length))
        ) {
          if (step.as === undefined || key === step.name + step.as) {
            pushFlat(next, node[key]);
          }
        }
      }
    }
    current = next;
  }
  return current;
}

function pushFlat(target: unknown[], value: unknown): void {
  if (Array.isArray(value)) {
    target.push(...(value as unknown[]));
  } else if (value !== undefined && value !== null) {
    target.push(value);
  }
}

function isUpper(code: number): boolean {
  return code >= 65 && code <= 90;
}

/**
 * Fingerprint of what the index holds (the search parameter definitions and this module's
 * derivation version). A store opened on data indexed under another fingerprint re-derives every
 * resource's index entries, so a search parameter added or changed applies to old data too.
 * Bump INDEX_DERIVATION when indexResource or normalizeString change what they produce.
 */
const INDEX_DERIVATION = 1;
export const SEARCH_INDEX_VERSION = createHash('sha256')
  .update(JSON.stringify({ derivation: INDEX_DERIVATION, parameters: SEARCH_PARAMETERS }))
  .digest('hex')
  .slice(0, 16);

/** Derives the index entries, sort keys and identifiers of one resource (pure). */
export function indexResource(resource: Resource): IndexedResource {
  const definitions = SEARCH_PARAMETERS[resource.resourceType] ?? [];
  const entries: IndexEntry[] = [];
  const sortKeys: Record<string, string> = {};
  const seen = new Set<string>();
  const push = (entry: IndexEntry): void => {
    const key = JSON.stringify(entry);
    if (!seen.has(key)) {
      seen.add(key);
      entries.push(entry);
    }
  };
  const keepSmallest = (code: string, candidate: string): void => {
    const current = sortKeys[code];
    if (current === undefined || candidate < current) {
      sortKeys[code] = candidate;
    }
  };

  for (const definition of definitions) {
    const values = compileExpression(definition.expression)(resource);
    for (const value of values) {
      switch (definition.kind) {
        case 'token':
          for (const t of tokenValues(value)) {
            push({
              code: definition.code,
              kind: 'token',
              value: t.value,
              ...(t.system ? { system: t.system } : {}),
            });
            keepSmallest(definition.code, t.value);
          }
          break;
        case 'reference':
          for (const r of referenceValues(value, definition.targets)) {
            push({ code: definition.code, kind: 'reference', value: r });
          }
          break;
        case 'date':
          for (const d of dateValues(value)) {
            push({ code: definition.code, kind: 'date', start: d.start, end: d.end });
            keepSmallest(definition.code, d.start);
          }
          break;
        case 'string':
          for (const s of stringValues(value)) {
            push({ code: definition.code, kind: 'string', value: s });
            keepSmallest(definition.code, s);
          }
          break;
        default:
          definition.kind satisfies never;
      }
    }
  }

  const identifiers = (
    'identifier' in resource && Array.isArray(resource.identifier) ? (resource.identifier as unknown[]) : []
  ).flatMap((i) => (isRecord(i) && typeof i.value === 'string' ? tokenValues(i) : []));

  return { entries, sortKeys, identifiers };
}
