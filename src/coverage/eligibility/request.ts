/**
 * What Dripline asks a payer about a patient's coverage, in both forms: the FHIR R4
 * CoverageEligibilityRequest (purposes `validation` and `benefits`, one item per service type and
 * per drug of the order; hl7.org/fhir/R4/coverageeligibilityrequest.html; ../shared/research/pas.md
 * §5) and the same question as a 005010X279A1 270 inquiry (src/x12/270). Pure.
 *
 * Who the insured is follows the TR3 (1.4.7.1, the subscriber and the dependent): the patient is
 * sent as the subscriber (2000C) with the Coverage's member id when the Coverage says the patient
 * is the subscriber (relationship `self`, or none) or names no one else; otherwise the named
 * subscriber goes in 2000C and the patient as their dependent (2000D).
 */
import { ID_PAYER_ID } from '../../contract/canonical.ts';
import { ID_ELIGIBILITY_TRACE } from '../../contract/eligibility.ts';
import type {
  CoverageEligibilityRequest,
  Coverage,
  HumanName,
  Patient,
  RelatedPerson,
} from '@medplum/fhirtypes';
import { SYSTEMS } from '../../coding/fhir/extract.ts';
import type { BillingProvider, PayerEndpoint } from '../../config/billing.ts';
import type { EligibilityPerson, Inquiry270 } from '../../x12/270/types.ts';
import { serviceTypeLabel } from './service-types.ts';
import { HL7_SYSTEMS, X12_CODE_SYSTEMS } from './code-systems.ts';

export interface EligibilityAsk {
  /** The request's id (stable for one check, so a retry keeps it). */
  readonly id: string;
  /** The trace number (270 TRN02; the FHIR request's identifier), unique per request. */
  readonly trace: string;
  readonly patient: Patient & { id: string };
  readonly coverage: Coverage & { id: string };
  /** Whom `coverage.subscriber` names, when that is not the patient and it is on file. */
  readonly subscriber?: Patient | RelatedPerson;
  readonly payer: Pick<PayerEndpoint, 'name' | 'payerId'>;
  readonly provider: Pick<BillingProvider, 'name' | 'npi' | 'taxId'>;
  /** The date of service asked about (YYYY-MM-DD). */
  readonly date: string;
  /** X12 1365 service types (./service-types.ts). */
  readonly serviceTypes: readonly string[];
  /** HCPCS codes of the drugs ordered (FHIR items: does each need authorization?). */
  readonly procedures?: readonly string[];
  readonly now: Date;
}

/** The member id a Coverage gives: subscriberId, else its first identifier. */
export function memberIdOf(coverage: Coverage): string | undefined {
  const value = coverage.subscriberId ?? coverage.identifier?.find((i) => i.value)?.value;
  return value?.trim() || undefined;
}

export function eligibilityRequest(ask: EligibilityAsk): CoverageEligibilityRequest & { id: string } {
  return {
    resourceType: 'CoverageEligibilityRequest',
    id: ask.id,
    identifier: [{ system: ID_ELIGIBILITY_TRACE, value: ask.trace }],
    status: 'active',
    priority: { coding: [{ system: HL7_SYSTEMS.processPriority, code: 'normal' }] },
    purpose: ['validation', 'benefits'],
    patient: { reference: `Patient/${ask.patient.id}` },
    servicedDate: ask.date,
    created: ask.now.toISOString(),
    provider: {
      identifier: { system: HL7_SYSTEMS.npi, value: ask.provider.npi },
      display: ask.provider.name,
    },
    insurer: { identifier: { system: ID_PAYER_ID, value: ask.payer.payerId }, display: ask.payer.name },
    insurance: [{ focal: true, coverage: { reference: `Coverage/${ask.coverage.id}` } }],
    item: [
      ...ask.serviceTypes.map((code) => ({
        category: {
          coding: [{ system: X12_CODE_SYSTEMS.serviceType, code, display: serviceTypeLabel(code) }],
        },
      })),
      ...(ask.procedures ?? []).map((code) => ({
        productOrService: { coding: [{ system: SYSTEMS.hcpcs, code }] },
      })),
    ],
  };
}

function personOf(name: HumanName | undefined, birthDate?: string, gender?: string): EligibilityPerson {
  return {
    lastName: name?.family ?? '',
    ...(name?.given?.[0] ? { firstName: name.given[0] } : {}),
    ...(name?.given?.[1] ? { middleName: name.given[1] } : {}),
    ...(name?.suffix?.[0] ? { suffix: name.suffix[0] } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(gender ? { gender: gender === 'female' ? 'F' : gender === 'male' ? 'M' : 'U' } : {}),
  };
}

const officialName = (names: readonly HumanName[] | undefined): HumanName | undefined =>
  names?.find((n) => n.use === 'official') ?? names?.[0];

/** The same question as a 270 inquiry. Throws TypeError when the coverage has no member id. */
export function inquiryOf(ask: EligibilityAsk): Inquiry270 {
  const memberId = memberIdOf(ask.coverage);
  if (!memberId) {
    throw new TypeError(`Coverage/${ask.coverage.id} has no member id (subscriberId or identifier)`);
  }
  const patient = personOf(officialName(ask.patient.name), ask.patient.birthDate, ask.patient.gender);
  const relationship = ask.coverage.relationship?.coding?.find((c) => c.code)?.code;
  const other = relationship !== undefined && relationship !== 'self' ? ask.subscriber : undefined;
  const otherName = other ? officialName(other.name) : undefined;
  const common = {
    payer: { name: ask.payer.name, id: ask.payer.payerId },
    provider: { name: ask.provider.name, npi: ask.provider.npi },
    // TRN03: "1" and the provider's EIN (TR3 2000C TRN03).
    trace: { number: ask.trace, assigner: `1${ask.provider.taxId}` },
    date: ask.date,
    serviceTypes: ask.serviceTypes,
  };
  if (otherName?.family) {
    return {
      ...common,
      subscriber: { ...personOf(otherName, other?.birthDate, other?.gender), memberId },
      dependent: patient,
    };
  }
  return { ...common, subscriber: { ...patient, memberId } };
}
