/**
 * The sandbox payer's PAS endpoint as its CapabilityStatement says it (./server.ts): SMART security,
 * Claim `$submit` and `$inquire` on the PAS profiles, ClaimResponse read, and Subscription create,
 * read, update, delete, search (`url`, `status`), `$status` and `$events` (./subscription-routes.ts).
 */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { smartRestSecurity } from '../../../auth/token-route.ts';
import { PAS_PROFILE } from '../../../contract/pas.ts';

export function capabilityStatement(base: string, tokenUrl: string, now: Date): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now.toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    instantiates: ['http://hl7.org/fhir/us/davinci-pas/CapabilityStatement/IntermediaryCapabilities'],
    software: { name: 'Dripline sandbox payer (Da Vinci PAS 2.2.1)', version: '0.1.0' },
    implementation: { description: 'Sandbox payer: prior authorization (PAS 2.2.1)', url: base },
    rest: [
      {
        mode: 'server',
        security: smartRestSecurity(tokenUrl),
        resource: [
          {
            type: 'Claim',
            supportedProfile: [PAS_PROFILE.claim, PAS_PROFILE.claimUpdate, PAS_PROFILE.claimInquiry],
            operation: [
              {
                name: 'submit',
                definition: 'http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit',
              },
              {
                name: 'inquire',
                definition: 'http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquire',
              },
            ],
          },
          { type: 'ClaimResponse', interaction: [{ code: 'read' }] },
          {
            type: 'Subscription',
            supportedProfile: [PAS_PROFILE.subscription],
            operation: [
              {
                name: 'status',
                definition:
                  'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status',
              },
              {
                name: 'events',
                definition:
                  'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events',
              },
            ],
            interaction: [
              { code: 'create' },
              { code: 'read' },
              { code: 'update' },
              { code: 'delete' },
              { code: 'search-type' },
            ],
            searchParam: [
              {
                name: 'url',
                type: 'uri',
                definition: 'http://hl7.org/fhir/SearchParameter/Subscription-url',
              },
              {
                name: 'status',
                type: 'token',
                definition: 'http://hl7.org/fhir/SearchParameter/Subscription-status',
              },
            ],
          },
        ],
      },
    ],
  };
}
