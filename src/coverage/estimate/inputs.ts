/**
 * What a patient estimate is made from, read from the tenant's store (the I/O edge of ./estimate.ts):
 * the subject (an order — MedicationRequest or ServiceRequest — or a coded Encounter), its patient's
 * primary Coverage and the configured payer it names, the lines to price, and the latest
 * CoverageEligibilityResponse for that coverage with the benefits of the service type that fits.
 *
 * Lines: an Encounter's captured charges (ChargeItems `billable` in its context: code, units, date
 * of service); a MedicationRequest's drug as the coding engine resolves it (the billing resolution,
 * as PAS asks for it) for one dose; a ServiceRequest's HCPCS/CPT code and quantity (else 1).
 * Benefits: the most specific service type the eligibility inquiry asked for the setting
 * (./service-types.json) that the answer priced, else general (30).
 *
 * Problems a person can fix are `EstimateProblem`s (the route answers them as 4xx OperationOutcomes).
 */
import { createHash } from 'node:crypto';
import type {
  ChargeItem,
  CodeableConcept,
  Coverage,
  Encounter,
  Medication,
  MedicationRequest,
  Organization,
  ServiceRequest,
} from '@medplum/fhirtypes';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import type { PayerEndpoint } from '../../config/billing.ts';
import { resolveAdministrationDrug } from '../../coding/engine/resolve.ts';
import { settingOf, SYSTEMS } from '../../coding/fhir/extract.ts';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { CareSetting } from '../../coding/types.ts';
import type { Store, StoredResource, TenantId } from '../../store/port.ts';
import { readOptional } from '../../store/read-optional.ts';
import { searchAll } from '../../store/search-all.ts';
import { localDate } from '../../time/zone.ts';
import { coveragesInOrder } from '../coverage-order.ts';
import { latestAnswers } from '../eligibility/records.ts';
import { loadServiceTypes } from '../eligibility/service-types.ts';
import { benefitsFor } from '../eligibility/summary.ts';
import { matchPayer, payorOrganizationRef } from '../payer-match.ts';
import { documentedOrderDrug, orderDose, unitsPerDose } from '../pas/order-plan.ts';
import type { AllowedAmountLookup, EstimateInput, EstimateLine } from './estimate.ts';

/** What the estimate of a subject needs, or why it cannot be made (status: the HTTP answer). */
export class EstimateProblem extends Error {
  readonly status: 400 | 404 | 422;
  readonly code: 'invalid' | 'not-found' | 'processing';
  constructor(status: 400 | 404 | 422, code: 'invalid' | 'not-found' | 'processing', message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export type EstimateSubjectType = 'MedicationRequest' | 'ServiceRequest' | 'Encounter';
const SUBJECT_RE = /^(MedicationRequest|ServiceRequest|Encounter)\/([A-Za-z0-9\-.]{1,64})$/;

/** "MedicationRequest/id", "ServiceRequest/id" or "Encounter/id"; undefined otherwise. */
export function parseEstimateSubject(
  raw: unknown,
): { readonly type: EstimateSubjectType; readonly id: string } | undefined {
  const match = typeof raw === 'string' ? SUBJECT_RE.exec(raw.trim()) : null;
  return match ? { type: match[1] as EstimateSubjectType, id: match[2] as string } : undefined;
}

/** Allowed amounts for one payer of the tenant (the app layer builds it: contracts, else fee schedule). */
export type AllowedAmountsFor = (tenant: TenantConfig, payer: PayerEndpoint) => AllowedAmountLookup;

export interface EstimateDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly tables: CodingTables;
  readonly allowedAmounts: AllowedAmountsFor;
  readonly now: Date;
}

const ORDER_CODE_SYSTEMS = new Set<string>([
  SYSTEMS.hcpcs,
  SYSTEMS.cpt,
  'urn:oid:2.16.840.1.113883.6.285',
  'urn:oid:2.16.840.1.113883.6.12',
  'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
]);

function billingCode(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.find((c) => c.system !== undefined && ORDER_CODE_SYSTEMS.has(c.system) && c.code)
    ?.code;
}

interface Subject {
  readonly patient: string | undefined;
  readonly lines: EstimateLine[];
  readonly setting: CareSetting | undefined;
  /** Chemotherapy (its own service type's benefits apply first). */
  readonly chemotherapy: boolean;
  /** Resources read for the lines (audited). */
  readonly read: string[];
}

async function encounterSubject(
  deps: EstimateDeps,
  tenant: TenantId,
  encounter: Encounter & StoredResource,
): Promise<Subject> {
  const charges = (
    await searchAll<ChargeItem>(deps.store, tenant, 'ChargeItem', [
      { code: 'context', kind: 'reference', values: [`Encounter/${encounter.id}`] },
    ])
  ).filter((c) => c.status === 'billable');
  const lines = charges
    .map((c) => ({
      code: billingCode(c.code),
      units: c.quantity?.value ?? 1,
      date: (c.occurrenceDateTime ?? '').slice(0, 10),
      id: c.id,
    }))
    .filter((l): l is typeof l & { code: string } => l.code !== undefined && l.units > 0)
    .sort((a, b) => a.date.localeCompare(b.date) || a.code.localeCompare(b.code) || a.id.localeCompare(b.id))
    .map((l, i) => ({ sequence: i + 1, code: l.code, units: l.units, date: l.date }));
  if (lines.length === 0) {
    throw new EstimateProblem(
      422,
      'processing',
      `Encounter/${encounter.id} has no billable charges yet (it is not coded): estimate its order instead`,
    );
  }
  return {
    patient: encounter.subject?.reference,
    lines,
    setting: settingOf(encounter),
    // CPT 96401-96549: chemotherapy and complex biologic administration.
    chemotherapy: lines.some((l) => /^96(4\d\d|5[0-4]\d)$/.test(l.code)),
    read: charges.map((c) => `ChargeItem/${c.id}`),
  };
}

async function medicationOrderSubject(
  deps: EstimateDeps,
  tenant: TenantConfig,
  order: MedicationRequest & StoredResource,
  today: string,
): Promise<Subject> {
  const medicationId = order.medicationReference?.reference?.startsWith('Medication/')
    ? order.medicationReference.reference.slice('Medication/'.length)
    : undefined;
  const medication = medicationId
    ? await readOptional<Medication>(deps.store, tenant.id, 'Medication', medicationId)
    : undefined;
  const concept = medication?.code ?? order.medicationCodeableConcept;
  const date = order.dispenseRequest?.validityPeriod?.start?.slice(0, 10) ?? today;
  const drug = resolveAdministrationDrug(deps.tables, documentedOrderDrug(order, concept), date);
  if (!drug.hcpcs) {
    throw new EstimateProblem(
      422,
      'processing',
      `The drug of MedicationRequest/${order.id} has no HCPCS code Dripline can find: nothing to price`,
    );
  }
  const units = unitsPerDose(drug.billing, orderDose(order));
  if (units === undefined) {
    throw new EstimateProblem(
      422,
      'processing',
      `The dose of MedicationRequest/${order.id} does not convert to ${drug.hcpcs}'s billing unit`,
    );
  }
  const encounter = await encounterOf(deps, tenant.id, order.encounter?.reference);
  return {
    patient: order.subject.reference,
    lines: [{ sequence: 1, code: drug.hcpcs, units, date }],
    setting: encounter ? settingOf(encounter) : undefined,
    chemotherapy: drug.drug.therapyClass === 'chemotherapy' || drug.drug.family === 'chemo-complex',
    read: [
      ...(medication ? [`Medication/${medication.id}`] : []),
      ...(encounter ? [`Encounter/${encounter.id}`] : []),
    ],
  };
}

async function serviceOrderSubject(
  deps: EstimateDeps,
  tenant: TenantConfig,
  order: ServiceRequest & StoredResource,
  today: string,
): Promise<Subject> {
  const code = billingCode(order.code);
  if (!code) {
    throw new EstimateProblem(
      422,
      'processing',
      `ServiceRequest/${order.id} names no HCPCS or CPT code: nothing to price`,
    );
  }
  const date = (order.occurrenceDateTime ?? order.occurrencePeriod?.start ?? '').slice(0, 10) || today;
  const encounter = await encounterOf(deps, tenant.id, order.encounter?.reference);
  return {
    patient: order.subject.reference,
    lines: [{ sequence: 1, code, units: order.quantityQuantity?.value ?? 1, date }],
    setting: encounter ? settingOf(encounter) : undefined,
    chemotherapy: false,
    read: encounter ? [`Encounter/${encounter.id}`] : [],
  };
}

async function encounterOf(
  deps: EstimateDeps,
  tenant: TenantId,
  reference: string | undefined,
): Promise<(Encounter & StoredResource) | undefined> {
  return reference?.startsWith('Encounter/')
    ? readOptional<Encounter>(deps.store, tenant, 'Encounter', reference.slice('Encounter/'.length))
    : undefined;
}

/** The service types whose benefits apply, most specific first (general 30 fills what they leave out). */
export function estimateServiceTypes(setting: CareSetting | undefined, chemotherapy: boolean): string[] {
  const table = loadServiceTypes();
  return [...(chemotherapy ? table.chemotherapy : []), ...table.bySetting[setting ?? 'office']];
}

/** Everything `patientEstimate` needs for the subject, plus what was read (for the audit). */
export async function loadEstimateInput(
  deps: EstimateDeps,
  tenant: TenantConfig,
  subjectRef: string,
): Promise<{ readonly input: EstimateInput; readonly read: readonly string[] }> {
  const subject = parseEstimateSubject(subjectRef);
  if (!subject) {
    throw new EstimateProblem(
      400,
      'invalid',
      'The subject must be "MedicationRequest/<id>", "ServiceRequest/<id>" or "Encounter/<id>"',
    );
  }
  const resource = await readOptional(deps.store, tenant.id, subject.type, subject.id);
  if (!resource) {
    throw new EstimateProblem(404, 'not-found', `${subject.type}/${subject.id} is not known`);
  }
  const today = localDate(deps.now, tenantCalendarZone(tenant));
  const what =
    subject.type === 'Encounter'
      ? await encounterSubject(deps, tenant.id, resource as Encounter & StoredResource)
      : subject.type === 'MedicationRequest'
        ? await medicationOrderSubject(deps, tenant, resource as MedicationRequest & StoredResource, today)
        : await serviceOrderSubject(deps, tenant, resource as ServiceRequest & StoredResource, today);
  const patient = what.patient;
  if (!patient?.startsWith('Patient/')) {
    throw new EstimateProblem(422, 'processing', `${subject.type}/${subject.id} names no patient`);
  }
  const coverage = coveragesInOrder(
    await searchAll<Coverage>(deps.store, tenant.id, 'Coverage', [
      { code: 'beneficiary', kind: 'reference', values: [patient] },
    ]),
  )[0];
  if (!coverage) {
    throw new EstimateProblem(422, 'processing', `${patient} has no coverage on file`);
  }
  const orgRef = payorOrganizationRef(coverage);
  const organization = orgRef
    ? await readOptional<Organization>(
        deps.store,
        tenant.id,
        'Organization',
        orgRef.slice('Organization/'.length),
      )
    : undefined;
  const payer = matchPayer(tenant.payers, coverage, organization);
  if (!payer) {
    throw new EstimateProblem(
      422,
      'processing',
      `Coverage/${coverage.id} names no payer configured for the tenant: no contract or benefits to read`,
    );
  }
  const answer = (await latestAnswers(deps.store, tenant.id, patient)).get(`Coverage/${coverage.id}`);
  if (!answer) {
    throw new EstimateProblem(
      422,
      'processing',
      `No eligibility answer on file for Coverage/${coverage.id}: check eligibility first (POST /api/eligibility/check)`,
    );
  }
  const benefits = benefitsFor(answer.summary, estimateServiceTypes(what.setting, what.chemotherapy));
  if (
    benefits.deductible === undefined &&
    benefits.coinsurancePercent === undefined &&
    benefits.copay === undefined &&
    benefits.outOfPocket === undefined
  ) {
    throw new EstimateProblem(
      422,
      'processing',
      `${answer.summary.response} gives no benefits (deductible, co-insurance, co-payment) to estimate from`,
    );
  }
  if (!tenant.billing) {
    throw new EstimateProblem(422, 'processing', 'The tenant has no billing provider configured');
  }
  const subjectText = `${subject.type}/${subject.id}`;
  const id = `est-${createHash('sha256')
    .update(`${subjectText}|${resource.meta.versionId}|${answer.summary.response}|${deps.now.toISOString()}`)
    .digest('hex')
    .slice(0, 24)}`;
  return {
    input: {
      id,
      patient,
      coverage: `Coverage/${coverage.id}`,
      insurer: { display: payer.name, payerId: payer.payerId },
      provider: { npi: tenant.billing.npi, name: tenant.billing.name },
      subject: subjectText,
      lines: what.lines,
      allowed: deps.allowedAmounts(tenant, payer),
      benefits,
      benefitsSource: answer.summary.response,
      now: deps.now,
    },
    read: [
      subjectText,
      ...what.read,
      `Coverage/${coverage.id}`,
      ...(organization ? [`Organization/${organization.id}`] : []),
      answer.summary.response,
    ],
  };
}
