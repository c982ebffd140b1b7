/**
 * What an infusion order asks the payer for, and whether it needs asking: the order
 * (MedicationRequest) and what it points at, read from the tenant's store; the patient's primary
 * Coverage and the configured payer it names; the drug's HCPCS code, therapy class and billing unit
 * by the coding engine's resolution (src/coding/engine/resolve.ts, the same as billing); the payer's
 * rule in force (./auth-rules.ts, the scrubber's); units = ceil(dose in billing units) × doses.
 *
 * Infusion mapping (pas.md §1.4, [UNCONFIRMED] by any payer): one item per drug code, the course
 * from the order's dispenseRequest.validityPeriod, else from the day it was signed (in the tenant's
 * zone; today without one) for the payer's `courseDays`, doses from the order's timing count (else its repeats + 1, else 1),
 * place of service from the order's encounter (11 office, 22 outpatient hospital, 12 home; 11 when
 * the order names none), X12 1365 service type 1 (medical care).
 */
import type {
  CodeableConcept,
  Condition,
  Coverage,
  Encounter,
  Medication,
  MedicationRequest,
  Organization,
  Patient,
  Practitioner,
  RelatedPerson,
  ServiceRequest,
} from '@medplum/fhirtypes';
import type { PayerEndpoint } from '../../config/billing.ts';
import type { TenantConfig } from '../../config/config.ts';
import { tenantCalendarZone } from '../../config/config.ts';
import { resolveAdministrationDrug } from '../../coding/engine/resolve.ts';
import { ceilUnits, convert } from '../../coding/engine/units.ts';
import { settingOf } from '../../coding/fhir/extract.ts';
import type { CodingTables } from '../../coding/tables/types.ts';
import type { DocumentedAdministration } from '../../coding/types.ts';
import { sourceVersionOf } from '../../ingest/copies.ts';
import type { Store, StoredResource } from '../../store/port.ts';
import { searchAll } from '../../store/search-all.ts';
import { addDays, localDate } from '../../time/zone.ts';
import type { PriorAuthTable } from './auth-rules.ts';
import { authorizationRuleFor, requiresAuthorization } from './auth-rules.ts';
import type { PasParties, RequestedService } from './request-bundle.ts';
import { PAS_SYSTEM } from '../../contract/pas.ts';

export interface PlanDeps {
  readonly store: Pick<Store, 'resources'>;
  readonly tenant: TenantConfig;
  readonly tables: CodingTables;
  readonly priorAuth: PriorAuthTable;
  readonly now: () => Date;
}

export type OrderPlan =
  /** No request: the drug needs no authorization, the payer takes no PAS, the order is unknown... */
  | { readonly kind: 'not-needed'; readonly reason: string }
  /** Not yet: what the request needs has not arrived from the EHR (the coverage, the patient). */
  | { readonly kind: 'waiting'; readonly reason: string }
  /** A request is needed and cannot be made: a person must act (a Task says why). */
  | {
      readonly kind: 'cannot';
      readonly reason: string;
      readonly patient?: string;
      readonly payer: PayerEndpoint;
    }
  | {
      readonly kind: 'request';
      readonly payer: PayerEndpoint & { pas: NonNullable<PayerEndpoint['pas']> };
      readonly parties: PasParties;
      readonly diagnoses: readonly string[];
      readonly services: readonly RequestedService[];
      readonly doses: number;
      readonly claimType: 'professional' | 'institutional';
      /** The order version asked for: "MedicationRequest/id/_history/v". */
      readonly source: string;
      /** The order was cancelled, stopped or entered in error at the EHR. */
      readonly withdrawn: boolean;
      /** Why the rule asks for authorization (its source). */
      readonly rule: string;
    };

const WITHDRAWN = new Set(['cancelled', 'stopped', 'entered-in-error']);
const PAYER_ID_HINT = 'payer';

async function read<T extends StoredResource>(
  deps: PlanDeps,
  reference: string | undefined,
): Promise<T | undefined> {
  const [type, id] = (reference ?? '').split('/');
  if (!type || !id || (reference ?? '').split('/').length !== 2) {
    return undefined;
  }
  try {
    return (await deps.store.resources.read(deps.tenant.id, type, id)) as T;
  } catch {
    return undefined;
  }
}

/** The configured payer a Coverage names: by payer id (payor identifiers), else by name. */
export async function payerOfCoverage(
  deps: PlanDeps,
  coverage: Coverage,
): Promise<PayerEndpoint | undefined> {
  const orgRef = coverage.payor?.map((p) => p.reference).find((r) => r?.startsWith('Organization/'));
  const organization = await read<Organization & StoredResource>(deps, orgRef);
  const identifiers = [
    ...(organization?.identifier ?? []),
    ...(coverage.payor ?? []).flatMap((p) => (p.identifier ? [p.identifier] : [])),
  ];
  const payers = deps.tenant.payers;
  return (
    payers.find((p) =>
      identifiers.some((i) => i.value === p.payerId && (i.system?.includes(PAYER_ID_HINT) ?? true)),
    ) ??
    payers.find((p) => identifiers.some((i) => i.value === p.payerId)) ??
    payers.find((p) =>
      [organization?.name, ...(coverage.payor ?? []).map((x) => x.display)].some(
        (name) => name !== undefined && name.toLowerCase() === p.name.toLowerCase(),
      ),
    )
  );
}

function codes(concept: CodeableConcept | undefined, ...systems: string[]): string | undefined {
  return concept?.coding?.find((c) => c.system !== undefined && systems.includes(c.system) && c.code)?.code;
}

const POS: Readonly<Record<string, string>> = { office: '11', 'hospital-outpatient': '22', home: '12' };

/** Billing units of one dose, when the order's dose converts to the code's billing unit. */
export function unitsPerDose(
  billing: ReturnType<typeof resolveAdministrationDrug>['billing'],
  dose: { value: number; unit: string } | undefined,
): number | undefined {
  if (!billing) {
    return undefined;
  }
  if (billing.kind === 'per-administration') {
    return 1;
  }
  if (billing.kind !== 'amount' || !dose) {
    return undefined;
  }
  const amount = convert(dose, billing.unit);
  return amount === undefined ? undefined : ceilUnits(amount / billing.value);
}

/** The order's drug as a documented administration, for the coding engine to resolve (billing's resolution). */
export function documentedOrderDrug(
  order: MedicationRequest & { id: string },
  concept: CodeableConcept | undefined,
): DocumentedAdministration {
  const ndc = codes(concept, PAS_SYSTEM.ndc, 'urn:oid:2.16.840.1.113883.6.69');
  const rxnorm = codes(
    concept,
    'http://www.nlm.nih.gov/research/umls/rxnorm',
    'urn:oid:2.16.840.1.113883.6.88',
  );
  const hcpcs = codes(
    concept,
    PAS_SYSTEM.hcpcs,
    'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
    'urn:oid:2.16.840.1.113883.6.285',
  );
  const text = concept?.text ?? concept?.coding?.find((c) => c.display)?.display;
  return {
    id: order.id,
    encounterId: '',
    status: 'completed',
    drug: {
      ...(ndc ? { ndc } : {}),
      ...(rxnorm ? { rxnorm } : {}),
      ...(hcpcs ? { hcpcs } : {}),
      ...(text ? { text } : {}),
    },
    ordered: true,
  };
}

/** The first dose of an order's first dosage instruction, as a value and unit. */
export function orderDose(order: MedicationRequest): { value: number; unit: string } | undefined {
  const dose = order.dosageInstruction?.[0]?.doseAndRate?.find((d) => d.doseQuantity)?.doseQuantity;
  return dose?.value !== undefined ? { value: dose.value, unit: dose.code ?? dose.unit ?? '' } : undefined;
}

/** What an order asks the payer for (one service). */
export interface AskedService {
  readonly code: string;
  readonly codeSystem: 'hcpcs' | 'cpt';
  readonly therapyClass?: string;
  /** The drug's codes (a drug order). */
  readonly concept?: CodeableConcept;
  readonly start: string;
  readonly end: string;
  readonly units?: number;
  readonly doses: number;
}

/** What a drug order asks for: the drug's HCPCS code by the coding engine, course and units (its doses × units per dose). */
async function drugOrderService(
  deps: PlanDeps,
  order: MedicationRequest & StoredResource,
  signed: string | undefined,
  today: string,
  courseDays: number,
): Promise<AskedService | undefined> {
  const medication = await read<Medication & StoredResource>(deps, order.medicationReference?.reference);
  const concept = medication?.code ?? order.medicationCodeableConcept;
  // The course starts when the order says (its validity period), else on the day it was signed.
  const validity = order.dispenseRequest?.validityPeriod;
  const start = validity?.start?.slice(0, 10) ?? signed ?? today;
  const end = validity?.end?.slice(0, 10) ?? addDays(start, courseDays - 1);
  const drug = resolveAdministrationDrug(deps.tables, documentedOrderDrug(order, concept), start);
  if (!drug.hcpcs) {
    return undefined;
  }
  const dosage = order.dosageInstruction?.[0];
  const doses = dosage?.timing?.repeat?.count ?? (order.dispenseRequest?.numberOfRepeatsAllowed ?? 0) + 1;
  const perDose = unitsPerDose(drug.billing, orderDose(order));
  return {
    code: drug.hcpcs,
    codeSystem: 'hcpcs',
    ...(drug.drug.therapyClass ? { therapyClass: drug.drug.therapyClass } : {}),
    ...(concept ? { concept } : {}),
    start,
    end,
    ...(perDose !== undefined ? { units: perDose * Math.max(1, doses) } : {}),
    doses,
  };
}

/** The orders that can start a prior authorization: a drug order, or a service order (hydration, home nursing). */
export type PasOrderType = 'MedicationRequest' | 'ServiceRequest';

const SERVICE_CODE_SYSTEMS = new Set<string>([
  PAS_SYSTEM.hcpcs,
  PAS_SYSTEM.cpt,
  'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'urn:oid:2.16.840.1.113883.6.285',
  'urn:oid:2.16.840.1.113883.6.12',
]);

/** What a service order asks for: its HCPCS/CPT code, course and units (pure). */
export function serviceOrderService(
  order: ServiceRequest,
  signed: string | undefined,
  today: string,
  courseDays: number,
): AskedService | undefined {
  const code = order.code?.coding?.find(
    (c) => c.system !== undefined && SERVICE_CODE_SYSTEMS.has(c.system) && c.code,
  )?.code;
  if (!code) {
    return undefined;
  }
  const start =
    order.occurrencePeriod?.start?.slice(0, 10) ?? order.occurrenceDateTime?.slice(0, 10) ?? signed ?? today;
  const end =
    order.occurrencePeriod?.end?.slice(0, 10) ??
    (order.occurrenceDateTime ? start : addDays(start, courseDays - 1));
  const units = order.quantityQuantity?.value;
  return {
    code: code.toUpperCase(),
    // CPT is five digits; HCPCS Level II a letter and four digits.
    codeSystem: /^\d{5}$/.test(code) ? 'cpt' : 'hcpcs',
    start,
    end,
    ...(units !== undefined && units > 0 ? { units } : {}),
    doses: order.occurrenceTiming?.repeat?.count ?? 1,
  };
}

/** The plan for one order (a stored MedicationRequest id, or a ServiceRequest id with `type`). */
export async function planOrder(
  deps: PlanDeps,
  orderId: string,
  type: PasOrderType = 'MedicationRequest',
): Promise<OrderPlan> {
  const order = await read<(MedicationRequest | ServiceRequest) & StoredResource>(deps, `${type}/${orderId}`);
  if (!order) {
    return { kind: 'not-needed', reason: `${type}/${orderId} is not on file` };
  }
  const patientRef = order.subject.reference;
  const patient = await read<Patient & StoredResource>(deps, patientRef);
  if (!patient || !patientRef) {
    return { kind: 'waiting', reason: `the order's patient (${patientRef ?? 'none'}) is not on file yet` };
  }
  const coverages = (
    await searchAll<Coverage>(deps.store, deps.tenant.id, 'Coverage', [
      { code: 'beneficiary', kind: 'reference', values: [patientRef] },
    ])
  )
    .filter((c) => c.status === 'active')
    .sort((a, b) => (a.order ?? 99) - (b.order ?? 99) || a.id.localeCompare(b.id));
  const coverage = coverages[0];
  if (!coverage) {
    return { kind: 'waiting', reason: 'no active coverage of the patient on file yet' };
  }
  const payer = await payerOfCoverage(deps, coverage);
  if (!payer) {
    return { kind: 'not-needed', reason: 'the coverage names no payer configured for the tenant' };
  }
  if (!payer.pas) {
    return { kind: 'not-needed', reason: `${payer.name} takes no PAS requests (no pas endpoint configured)` };
  }
  const today = localDate(deps.now(), tenantCalendarZone(deps.tenant));
  const zone = tenantCalendarZone(deps.tenant);
  const signed =
    order.authoredOn && order.authoredOn.length > 10
      ? localDate(new Date(order.authoredOn), zone)
      : order.authoredOn;
  const asked =
    order.resourceType === 'MedicationRequest'
      ? await drugOrderService(deps, order, signed, today, payer.pas.courseDays)
      : serviceOrderService(order, signed, today, payer.pas.courseDays);
  if (!asked) {
    return {
      kind: 'not-needed',
      reason: `the order names no HCPCS or CPT code Dripline can find: whether it needs authorization is unknown`,
    };
  }
  const { start, end } = asked;
  const rule = authorizationRuleFor(deps.priorAuth, payer, start);
  if (!requiresAuthorization(rule, asked.code, asked.therapyClass)) {
    return {
      kind: 'not-needed',
      reason: `${asked.code} needs no authorization from ${payer.name} (${rule.source})`,
    };
  }
  if (!deps.tenant.billing) {
    return {
      kind: 'cannot',
      reason: 'the tenant has no billing provider configured (the requestor of a PAS request)',
      patient: patientRef,
      payer,
    };
  }
  const encounter = await read<Encounter & StoredResource>(deps, order.encounter?.reference);
  const setting = encounter ? settingOf(encounter) : undefined;
  const placeOfService = POS[setting ?? 'office'] ?? '11';
  const insured = coverage.subscriber?.reference;
  const subscriber =
    insured && insured !== patientRef
      ? await read<(Patient | RelatedPerson) & StoredResource>(deps, insured)
      : undefined;
  const orderer = order.requester?.reference?.startsWith('Practitioner/')
    ? await read<Practitioner & StoredResource>(deps, order.requester.reference)
    : undefined;
  const conditions = await Promise.all(
    (order.reasonReference ?? []).map((r) => read<Condition & StoredResource>(deps, r.reference)),
  );
  const diagnoses = [
    ...conditions.map((c) => codes(c?.code, PAS_SYSTEM.icd10cm)),
    ...(order.reasonCode ?? []).map((c) => codes(c, PAS_SYSTEM.icd10cm)),
  ].filter((c): c is string => c !== undefined);
  const pas = payer.pas;
  return {
    kind: 'request',
    payer: { ...payer, pas },
    parties: {
      patient,
      coverage,
      ...(subscriber ? { subscriber } : {}),
      payer: { id: payer.id, name: payer.name, payerId: payer.payerId },
      requestor: deps.tenant.billing,
      ...(orderer ? { orderer } : {}),
      order,
      ...(asked.concept ? { medication: asked.concept } : {}),
    },
    diagnoses: [...new Set(diagnoses)],
    services: [
      {
        sequence: 1,
        code: asked.code,
        codeSystem: asked.codeSystem,
        ...(asked.units !== undefined ? { units: asked.units } : {}),
        start,
        end,
        placeOfService,
        serviceType: '1',
      },
    ],
    doses: Math.max(1, asked.doses),
    claimType: placeOfService === '22' ? 'institutional' : 'professional',
    source: `${order.resourceType}/${order.id}/_history/${sourceVersionOf(order).versionId ?? order.meta.versionId}`,
    withdrawn: WITHDRAWN.has(order.status),
    rule: rule.source,
  };
}
