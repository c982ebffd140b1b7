/**
 * What Dripline's FHIR API supports, as data. The CapabilityStatement, the SMART configuration and
 * the HTTP layer's "is this interaction supported?" check all read this one table, so the
 * CapabilityStatement lists exactly what the server does.
 */
import type { CapabilityStatement, CapabilityStatementRestResource, ResourceType } from '@medplum/fhirtypes';
import type { DriplineConfig } from '../config/config.ts';
import { smartRestSecurity } from '../auth/token-route.ts';
import { COMMON_SEARCH_PARAMETERS, SEARCH_PARAMETERS } from '../store/search-parameters.ts';
import { operationsOn } from './operations.ts';

export type TypeInteraction = 'read' | 'vread' | 'search-type' | 'history-instance' | 'create' | 'update';

const READ_ONLY: readonly TypeInteraction[] = ['read', 'vread', 'search-type', 'history-instance'];
const READ_WRITE: readonly TypeInteraction[] = [...READ_ONLY, 'create', 'update'];

/**
 * Interactions per resource type. Copies of EHR data and Dripline's own billing resources are
 * readable and writable by authorized system clients; AuditEvent and Provenance are written only by
 * Dripline itself (a client that could write its own audit trail would defeat it).
 */
export const SUPPORTED_INTERACTIONS: Readonly<Record<string, readonly TypeInteraction[]>> = {
  Patient: READ_WRITE,
  Encounter: READ_WRITE,
  MedicationAdministration: READ_WRITE,
  MedicationRequest: READ_WRITE,
  Medication: READ_WRITE,
  Coverage: READ_WRITE,
  RelatedPerson: READ_WRITE,
  Condition: READ_WRITE,
  Organization: READ_WRITE,
  Practitioner: READ_WRITE,
  ChargeItem: READ_WRITE,
  Claim: READ_WRITE,
  ClaimResponse: READ_WRITE,
  ExplanationOfBenefit: READ_WRITE,
  PaymentReconciliation: READ_WRITE,
  CoverageEligibilityRequest: READ_WRITE,
  CoverageEligibilityResponse: READ_WRITE,
  Task: READ_WRITE,
  // X12 claim batch files (src/claims/x12-batch.ts): written by Dripline only.
  DocumentReference: READ_ONLY,
  AuditEvent: ['read', 'vread', 'search-type'],
  Provenance: READ_ONLY,
  // Definitions of Dripline's operations (./operations.ts): fixed data, read only.
  OperationDefinition: ['read'],
};

/**
 * Resource types that are not protected health information on their own. Reads of every other type
 * are audited (HIPAA §164.312(b) audit controls).
 */
export const NON_PHI_TYPES: ReadonlySet<string> = new Set([
  'Organization',
  'Practitioner',
  'Medication',
  'AuditEvent',
  'OperationDefinition',
]);

export function isSupported(resourceType: string, interaction: TypeInteraction): boolean {
  return SUPPORTED_INTERACTIONS[resourceType]?.includes(interaction) ?? false;
}

/** Reference search parameters usable in `_include` / `_revinclude`. */
export function referenceParameters(resourceType: string): string[] {
  return (SEARCH_PARAMETERS[resourceType] ?? []).filter((p) => p.kind === 'reference').map((p) => p.code);
}

const FHIR_SEARCH_TYPE: Record<string, 'token' | 'reference' | 'date' | 'string'> = {
  token: 'token',
  reference: 'reference',
  date: 'date',
  string: 'string',
};

export function buildCapabilityStatement(
  config: DriplineConfig,
  software: { version: string },
): CapabilityStatement {
  const resources: CapabilityStatementRestResource[] = Object.entries(SUPPORTED_INTERACTIONS).map(
    ([type, interactions]) => {
      const params = [...COMMON_SEARCH_PARAMETERS, ...(SEARCH_PARAMETERS[type] ?? [])];
      const writable = interactions.includes('create');
      const refs = referenceParameters(type);
      const operation = operationsOn(type);
      const versioned = interactions.includes('vread');
      return {
        type: type as ResourceType,
        interaction: interactions.map((code) => ({ code })),
        ...(versioned ? { versioning: 'versioned-update', readHistory: true } : {}),
        updateCreate: false,
        conditionalCreate: writable,
        conditionalUpdate: false,
        conditionalDelete: 'not-supported',
        ...(interactions.includes('search-type')
          ? {
              searchInclude: refs.map((code) => `${type}:${code}`),
              searchParam: params.map((p) => ({
                name: p.code,
                type: FHIR_SEARCH_TYPE[p.kind] ?? 'token',
                ...(p.note ? { documentation: p.note } : {}),
              })),
            }
          : {}),
        ...(operation.length > 0 ? { operation } : {}),
      };
    },
  );
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-26',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    software: { name: 'Dripline', version: software.version },
    implementation: { description: 'Dripline infusion billing server', url: `${config.publicUrl}/fhir` },
    rest: [
      {
        mode: 'server',
        security: smartRestSecurity(`${config.publicUrl}/oauth2/token`, { cors: false }),
        resource: resources,
        searchParam: [
          { name: '_count', type: 'number' },
          { name: '_offset', type: 'number' },
          { name: '_sort', type: 'string' },
          { name: '_total', type: 'token' },
          { name: '_include', type: 'special' },
          { name: '_revinclude', type: 'special' },
        ],
      },
    ],
  };
}
