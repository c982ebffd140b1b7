/** The sandbox payer's claims endpoints as their CapabilityStatement says them (./claim-routes.ts). */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { smartRestSecurity } from '../../auth/token-route.ts';
import type { PayerKind } from './tables.ts';

/** CapabilityStatement: SMART security, Claim with `$submit`, ClaimResponse read/search. */
export function buildPayerCapabilityStatement(
  fhirBaseUrl: string,
  tokenUrl: string,
  now: Date,
  kind?: PayerKind,
): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now.toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'Dripline sandbox payer', version: '0.1.0' },
    implementation: {
      description: `Sandbox payer (${kind ?? 'kind from Claim.insurer.identifier'}) for Dripline integration tests (in-memory)`,
      url: fhirBaseUrl,
    },
    rest: [
      {
        mode: 'server',
        security: smartRestSecurity(tokenUrl),
        resource: [
          {
            type: 'Claim',
            interaction: [{ code: 'read' }],
            operation: [
              { name: 'submit', definition: 'http://hl7.org/fhir/OperationDefinition/Claim-submit' },
            ],
          },
          {
            type: 'CoverageEligibilityRequest',
            operation: [
              {
                name: 'submit',
                definition: 'http://hl7.org/fhir/OperationDefinition/CoverageEligibilityRequest-submit',
              },
            ],
          },
          {
            type: 'ClaimResponse',
            interaction: [{ code: 'read' }, { code: 'search-type' }],
            searchParam: [{ name: 'request', type: 'reference' }],
          },
        ],
      },
    ],
  };
}
