/**
 * `POST /fhir/Encounter/$infusion-charges` — stateless coding of one patient's day (or home
 * infusion episode). Input: Parameters with `setting` (valueCode), optional `payer` (valueCode
 * medicare | medicaid | commercial) and `bundle` (a collection Bundle of Encounters,
 * MedicationAdministrations, Medications and optionally Patient, Coverage, Condition). Output:
 * Parameters with `claim` (a draft Claim), one `chargeItem` part per charge, and `issues` (an
 * OperationOutcome). Nothing is stored.
 */
import { badRequest, OperationOutcomeError } from '@medplum/core';
import type {
  Bundle,
  Coverage,
  Parameters,
  ParametersParameter,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { codeEncounters } from './engine/index.ts';
import { bundleResources, extractCodingInput } from './fhir/extract.ts';
import { toChargeItems, toDraftClaim, toOutcome } from './fhir/emit.ts';
import type { EmitContext } from './fhir/emit.ts';
import type { CodingTables } from './tables/types.ts';
import { normalizeReference } from '../store/search-index.ts';
import type { CareSetting, CodingResult, PayerKind, TenantCodingOptions } from './types.ts';

const SETTINGS: readonly CareSetting[] = ['office', 'hospital-outpatient', 'home'];
const PAYERS: readonly PayerKind[] = ['medicare', 'medicaid', 'commercial'];

function param(parameters: Parameters, name: string): ParametersParameter | undefined {
  const matches = (parameters.parameter ?? []).filter((p) => p.name === name);
  if (matches.length > 1) {
    throw new OperationOutcomeError(badRequest(`Parameter "${name}" may appear only once`, name));
  }
  return matches[0];
}

export interface InfusionChargesRequest {
  readonly setting?: CareSetting;
  readonly payer?: PayerKind;
  readonly resources: Resource[];
}

/** Validates the operation's Parameters (400 with the reason otherwise). */
export function parseInfusionChargesParameters(body: unknown): InfusionChargesRequest {
  const parameters = body as Parameters;
  if (parameters?.resourceType !== 'Parameters') {
    throw new OperationOutcomeError(badRequest('The body must be a Parameters resource'));
  }
  const known = new Set(['setting', 'payer', 'bundle']);
  for (const p of parameters.parameter ?? []) {
    if (!known.has(p.name ?? '')) {
      throw new OperationOutcomeError(badRequest(`Unknown parameter "${p.name ?? ''}"`, p.name));
    }
  }
  const settingCode = param(parameters, 'setting')?.valueCode;
  if (settingCode !== undefined && !SETTINGS.includes(settingCode as CareSetting)) {
    throw new OperationOutcomeError(badRequest(`setting must be one of ${SETTINGS.join(', ')}`, 'setting'));
  }
  const payerCode = param(parameters, 'payer')?.valueCode;
  if (payerCode !== undefined && !PAYERS.includes(payerCode as PayerKind)) {
    throw new OperationOutcomeError(badRequest(`payer must be one of ${PAYERS.join(', ')}`, 'payer'));
  }
  const bundle = param(parameters, 'bundle')?.resource as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'collection') {
    throw new OperationOutcomeError(badRequest('Parameter "bundle" must be a collection Bundle', 'bundle'));
  }
  const resources = bundleResources(bundle);
  if (!resources.some((r) => r.resourceType === 'Encounter')) {
    throw new OperationOutcomeError(badRequest('The bundle holds no Encounter', 'bundle'));
  }
  return {
    ...(settingCode ? { setting: settingCode as CareSetting } : {}),
    ...(payerCode ? { payer: payerCode as PayerKind } : {}),
    resources,
  };
}

function normalized(reference: string | undefined): string | undefined {
  return reference ? normalizeReference(reference) : undefined;
}

/** Runs the engine on a request and renders the output Parameters (pure apart from `now`). */
export function infusionCharges(
  request: InfusionChargesRequest,
  tables: CodingTables,
  now: Date,
  options?: TenantCodingOptions,
): Parameters {
  // References may be relative or absolute ("https://ehr/fhir/Patient/1" is Patient/1).
  const patients = new Set(
    request.resources
      .flatMap((r) => ('subject' in r && r.subject ? [(r.subject as Reference).reference] : []))
      .map((ref) => (ref ? normalizeReference(ref) : undefined))
      .filter((ref) => ref?.startsWith('Patient/')),
  );
  if (patients.size > 1) {
    throw new OperationOutcomeError(badRequest('The bundle must hold one patient’s services', 'bundle'));
  }
  const extracted = extractCodingInput(request.resources, {
    ...(request.setting ? { setting: request.setting } : {}),
    ...(request.payer ? { payer: request.payer } : {}),
    ...(options ? { options } : {}),
  });
  if (extracted.problems.length > 0) {
    throw new OperationOutcomeError(badRequest(extracted.problems.join('; '), 'setting'));
  }
  const coded = codeEncounters(extracted.input, tables);
  const result: CodingResult = {
    ...coded,
    held: [...extracted.held, ...coded.held],
    issues: [...extracted.issues, ...coded.issues],
  };
  const coverage = extracted.index
    .all<Coverage>('Coverage')
    .filter((c) => c.status !== 'entered-in-error' && c.status !== 'cancelled')
    .filter((c) => !extracted.patient || normalized(c.beneficiary?.reference) === extracted.patient)
    .sort((a, b) => (a.order ?? 99) - (b.order ?? 99))[0];
  const insurer = normalized(coverage?.payor?.[0]?.reference);
  const ctx: EmitContext = {
    patient: { reference: extracted.patient ?? 'Patient/unknown' },
    setting: extracted.input.setting,
    now,
    ...(coverage?.id ? { coverage: { reference: `Coverage/${coverage.id}` } } : {}),
    ...(insurer?.startsWith('Organization/') ? { insurer: { reference: insurer } } : {}),
  };
  const chargeItems = toChargeItems(result, ctx);
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'claim', resource: toDraftClaim(result, ctx) },
      ...chargeItems.map((resource) => ({ name: 'chargeItem', resource })),
      { name: 'issues', resource: toOutcome(result) },
    ],
  };
}
