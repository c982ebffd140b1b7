/**
 * The FHIR operations Dripline serves, as OperationDefinitions: the CapabilityStatement lists each
 * on its resource type (rest.resource.operation) by canonical URL, and `GET
 * /fhir/OperationDefinition/{id}` returns the definition (bearer token with read on
 * OperationDefinition; conformance data, not PHI, so not audited).
 *
 * The operations themselves live with their capability: `$infusion-charges` in src/coding/operation.ts
 * (routed in ./routes.ts), `$x12` in src/claims/x12-routes.ts.
 */
import type { OperationDefinition, OperationDefinitionParameter } from '@medplum/fhirtypes';
import { Router } from 'express';
import type { Request, Response } from 'express';
import { getAuthContext, requireScope } from '../auth/bearer.ts';
import { FHIR_JSON, outcome, sendOutcome } from '../http/outcomes.ts';
import { OPERATION_DEFINITION_BASE } from '../contract/canonical.ts';

const PUBLISHED = '2026-12-04';

function param(
  name: string,
  use: 'in' | 'out',
  min: number,
  max: string,
  type: string,
  documentation: string,
): OperationDefinitionParameter {
  return { name, use, min, max, type, documentation };
}

function definition(
  id: string,
  fields: Omit<OperationDefinition, 'resourceType' | 'id' | 'url' | 'status' | 'kind' | 'date' | 'publisher'>,
): OperationDefinition & { id: string; url: string } {
  return {
    resourceType: 'OperationDefinition',
    id,
    url: `${OPERATION_DEFINITION_BASE}/${id}`,
    status: 'active',
    kind: 'operation',
    date: PUBLISHED,
    publisher: 'Dripline',
    ...fields,
  };
}

export const OPERATION_DEFINITIONS: readonly (OperationDefinition & { id: string; url: string })[] = [
  definition('infusion-charges', {
    name: 'InfusionCharges',
    title: 'Code one encounter’s infusion charges (stateless)',
    code: 'infusion-charges',
    description:
      'Codes a collection Bundle of one patient’s documented infusion day (or home episode) into charges and a draft claim. Nothing is stored.',
    affectsState: false,
    resource: ['Encounter'],
    system: false,
    type: true,
    instance: false,
    parameter: [
      param(
        'setting',
        'in',
        0,
        '1',
        'code',
        'office | hospital-outpatient | home; default: from Encounter.type',
      ),
      param(
        'payer',
        'in',
        0,
        '1',
        'code',
        'medicare | medicaid | commercial; default: from the primary Coverage',
      ),
      param(
        'bundle',
        'in',
        1,
        '1',
        'Bundle',
        'A collection Bundle: Encounter(s), MedicationAdministrations and what they reference',
      ),
      param('claim', 'out', 1, '1', 'Claim', 'The draft claim'),
      param('chargeItem', 'out', 0, '*', 'ChargeItem', 'One per charge, with its coding rationale'),
      param('issues', 'out', 1, '1', 'OperationOutcome', 'Documentation and coding issues'),
    ],
  }),
  definition('x12', {
    name: 'X12',
    title: 'Render claims as X12 005010 837P/837I',
    code: 'x12',
    description:
      'On a Claim: that claim as one X12 interchange. On the type: a batch of the listed claims of one kind, streamed. The response body is the X12 (Content-Type application/edi-x12), not a FHIR resource.',
    affectsState: false,
    resource: ['Claim'],
    system: false,
    type: true,
    instance: true,
    parameter: [
      param(
        'kind',
        'in',
        0,
        '1',
        'code',
        '837P | 837I; required on the type, default on an instance: from the claim',
      ),
      param('payer', 'in', 0, '1', 'string', 'Type level: the tenant payer id (slug)'),
      param('state', 'in', 0, '1', 'code', 'Type level: the claims’ workflow state, e.g. ready'),
      param('id', 'in', 0, '1', 'string', 'Type level: claim ids, comma-separated'),
      param('return', 'out', 1, '1', 'Binary', 'The X12 interchange (application/edi-x12)'),
    ],
  }),
];

/** The operations on a resource type, as CapabilityStatement.rest.resource.operation. */
export function operationsOn(resourceType: string): { name: string; definition: string }[] {
  return OPERATION_DEFINITIONS.filter((d) =>
    (d.resource as readonly string[] | undefined)?.includes(resourceType),
  ).map((d) => ({
    name: d.code ?? '',
    definition: d.url,
  }));
}

/** `GET /OperationDefinition/{id}` (mounted behind the bearer check). */
export function createOperationDefinitionRouter(): Router {
  const router = Router();
  router.get('/OperationDefinition/:id', (req: Request, res: Response) => {
    requireScope(getAuthContext(res), 'OperationDefinition', 'read');
    const found = OPERATION_DEFINITIONS.find((d) => d.id === req.params.id);
    if (!found) {
      sendOutcome(res, 404, outcome('not-found', `OperationDefinition/${String(req.params.id)} not found`));
      return;
    }
    res.status(200).type(FHIR_JSON).send(JSON.stringify(found));
  });
  return router;
}
