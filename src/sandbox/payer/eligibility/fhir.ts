/**
 * The sandbox payer's FHIR eligibility: `POST [base]/CoverageEligibilityRequest/$submit` (FHIR R4
 * operation CoverageEligibilityRequest-submit) with a Bundle whose first entry is the
 * CoverageEligibilityRequest and whose other entries are what it references (the Patient, the
 * Coverage; references resolve against the entries' fullUrls, FHIR R4 Bundle §"Resolving
 * references in Bundles"), or the Parameters `resource` holding it. Answers a
 * CoverageEligibilityResponse from the enrollment (./enrollment.ts):
 * - the member not found, or the name or birth date not matching → outcome `error`, with the X12
 *   901 reject reason as the error code (as PAS does for its errors);
 * - ended → `inforce` false and the plan's end date;
 * - in force → `inforce` true, the plan year, and per requested service type (X12 1365) the
 *   deductible and out-of-pocket maximum (allowed and used this year), co-insurance and co-payment,
 *   with whether the plan authorizes that service first; per requested drug (HCPCS) whether it
 *   must be authorized (the payer's prior authorization list, ../tables.ts).
 * A body that is not that is a 400 with an OperationOutcome naming what is wrong.
 */
import { randomUUID } from 'node:crypto';
import { normalizeErrorString, validateResource } from '@medplum/core';
import type {
  Bundle,
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  CoverageEligibilityResponseInsuranceItem,
  Money,
  OperationOutcome,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import type { PayerKind } from '../tables.ts';
import type { Enrollment, SandboxMember } from './enrollment.ts';
import { benefitsOf, coveredOn } from './enrollment.ts';

const X12_SERVICE_TYPE = 'https://codesystem.x12.org/005010/1365';
const X12_BENEFIT = 'https://codesystem.x12.org/005010/1390';
const X12_REJECT = 'https://codesystem.x12.org/005010/901';
const BENEFIT_TYPE = 'http://terminology.hl7.org/CodeSystem/benefit-type';
const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';

/** The sandbox payer's own words for the reasons it gives. */
const REASONS: Readonly<Record<string, string>> = {
  '71': 'birth date does not match the member’s',
  '72': 'member id missing',
  '73': 'name does not match the member’s',
  '75': 'member not found',
};

export type EligibilitySubmit =
  | { readonly ok: true; readonly response: CoverageEligibilityResponse }
  | { readonly ok: false; readonly outcome: OperationOutcome };

function refuse(text: string, expression?: string): EligibilitySubmit {
  return {
    ok: false,
    outcome: {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'invalid',
          details: { text },
          ...(expression ? { expression: [expression] } : {}),
        },
      ],
    },
  };
}

function resolver(
  entries: readonly { fullUrl?: string; resource?: Resource }[],
): (ref: string | undefined) => Resource | undefined {
  return (ref) => {
    if (!ref) {
      return undefined;
    }
    return entries.find(
      (e) =>
        e.fullUrl === ref ||
        (e.fullUrl?.endsWith(`/${ref}`) ?? false) ||
        (e.resource && `${e.resource.resourceType}/${e.resource.id ?? ''}` === ref),
    )?.resource;
  };
}

export interface EligibilityContext {
  readonly enrollment: Enrollment;
  /** The payer kind answering (by payer id). */
  readonly kindOf: (payerId: string) => PayerKind | undefined;
  readonly payerName: (payerId: string) => string;
  readonly priorAuthRequired: Readonly<Record<PayerKind, readonly string[]>>;
  /** The payer's today (YYYY-MM-DD) and now (ISO with its offset). */
  readonly today: string;
  readonly created: string;
}

export function submitEligibility(body: unknown, ctx: EligibilityContext): EligibilitySubmit {
  const resource = body as Resource | undefined;
  const bundle: Bundle | undefined =
    resource?.resourceType === 'Bundle'
      ? resource
      : resource?.resourceType === 'Parameters'
        ? (resource.parameter?.find((p) => p.name === 'resource')?.resource as Bundle | undefined)
        : undefined;
  if (bundle?.resourceType !== 'Bundle') {
    return refuse(
      'The body must be a Bundle whose first entry is the CoverageEligibilityRequest, with the Patient and Coverage it names',
    );
  }
  const entries = bundle.entry ?? [];
  const request = entries[0]?.resource as CoverageEligibilityRequest | undefined;
  if (request?.resourceType !== 'CoverageEligibilityRequest') {
    return refuse(
      "The Bundle's first entry must be the CoverageEligibilityRequest",
      'Bundle.entry[0].resource',
    );
  }
  for (const [i, entry] of entries.entries()) {
    try {
      if (entry.resource) {
        validateResource(entry.resource);
      }
    } catch (err) {
      return refuse(`Bundle.entry[${i}] is not valid FHIR R4: ${normalizeErrorString(err)}`.slice(0, 500));
    }
  }
  if (request.status !== 'active') {
    return refuse('The request must be active', 'CoverageEligibilityRequest.status');
  }
  if (!request.purpose.some((p) => p === 'validation' || p === 'benefits')) {
    return refuse(
      'This payer answers the purposes validation and benefits',
      'CoverageEligibilityRequest.purpose',
    );
  }
  const resolve = resolver(entries);
  const patient = resolve(request.patient.reference) as Patient | undefined;
  const coverage = resolve(request.insurance?.[0]?.coverage.reference) as Coverage | undefined;
  if (patient?.resourceType !== 'Patient') {
    return refuse('The request’s patient is not in the Bundle', 'CoverageEligibilityRequest.patient');
  }
  if (coverage?.resourceType !== 'Coverage') {
    return refuse(
      'The request’s insurance coverage is not in the Bundle',
      'CoverageEligibilityRequest.insurance[0].coverage',
    );
  }
  const payerId = request.insurer?.identifier?.value ?? '';
  const kind = ctx.kindOf(payerId);
  if (!kind) {
    return refuse(
      `This payer does not answer for payer id "${payerId}"`,
      'CoverageEligibilityRequest.insurer',
    );
  }
  const date = (request.servicedDate ?? request.servicedPeriod?.start ?? ctx.today).slice(0, 10);
  const lookup = ctx.enrollment.find(payerId, {
    ...((coverage.subscriberId ?? coverage.identifier?.[0]?.value)
      ? { memberId: coverage.subscriberId ?? coverage.identifier?.[0]?.value }
      : {}),
    ...(patient.name?.[0]?.family ? { lastName: patient.name[0].family } : {}),
    ...(patient.birthDate ? { birthDate: patient.birthDate } : {}),
  });
  const base: CoverageEligibilityResponse = {
    resourceType: 'CoverageEligibilityResponse',
    id: randomUUID(),
    ...(request.identifier ? { identifier: request.identifier } : {}),
    status: 'active',
    purpose: request.purpose,
    patient: request.patient,
    ...(request.servicedDate ? { servicedDate: request.servicedDate } : {}),
    created: ctx.created,
    request: {
      reference: `CoverageEligibilityRequest/${request.id ?? ''}`,
      ...(request.identifier?.[0] ? { identifier: request.identifier[0] } : {}),
    },
    outcome: 'complete',
    insurer: {
      identifier: {
        ...(request.insurer.identifier?.system ? { system: request.insurer.identifier.system } : {}),
        value: payerId,
      },
      display: ctx.payerName(payerId),
    },
  };
  if (!lookup.found) {
    return {
      ok: true,
      response: {
        ...base,
        outcome: 'error',
        disposition: REASONS[lookup.reason] ?? 'member not verified',
        error: [
          {
            code: { coding: [{ system: X12_REJECT, code: lookup.reason, display: REASONS[lookup.reason] }] },
          },
        ],
      },
    };
  }
  const member = lookup.member;
  const inforce = coveredOn(member, date);
  return {
    ok: true,
    response: {
      ...base,
      disposition: inforce ? 'Coverage active' : `Coverage ended ${member.planEnd ?? ''}`.trim(),
      insurance: [
        {
          coverage: request.insurance?.[0]?.coverage ?? { reference: 'Coverage/unknown' },
          inforce,
          benefitPeriod: inforce
            ? { start: `${date.slice(0, 4)}-01-01`, end: `${date.slice(0, 4)}-12-31` }
            : { start: member.planStart, ...(member.planEnd ? { end: member.planEnd } : {}) },
          ...(inforce && request.purpose.includes('benefits')
            ? { item: items(request, member, kind, ctx) }
            : {}),
        },
      ],
    },
  };
}

function items(
  request: CoverageEligibilityRequest,
  member: SandboxMember,
  kind: PayerKind,
  ctx: EligibilityContext,
): CoverageEligibilityResponseInsuranceItem[] {
  const benefits = benefitsOf(member, kind);
  const { plan } = benefits;
  const money = (value: number): Money => ({ value, currency: 'USD' });
  const categories = (request.item ?? [])
    .flatMap(
      (i) => i.category?.coding?.filter((c) => c.system === X12_SERVICE_TYPE).map((c) => c.code ?? '') ?? [],
    )
    .filter((c) => c !== '');
  const drugs = (request.item ?? [])
    .flatMap(
      (i) => i.productOrService?.coding?.filter((c) => c.system === HCPCS).map((c) => c.code ?? '') ?? [],
    )
    .filter((c) => c !== '');
  const out: CoverageEligibilityResponseInsuranceItem[] = [];
  for (const category of categories.length > 0 ? categories : ['30']) {
    out.push({
      category: { coding: [{ system: X12_SERVICE_TYPE, code: category }] },
      network: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/benefit-network', code: 'in' }] },
      unit: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/benefit-unit', code: 'individual' }],
      },
      term: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/benefit-term', code: 'annual' }] },
      authorizationRequired: plan.authorizationServiceTypes.includes(category),
      benefit: [
        {
          type: {
            coding: [
              { system: BENEFIT_TYPE, code: 'deductible' },
              { system: X12_BENEFIT, code: 'C' },
            ],
          },
          allowedMoney: money(plan.deductible),
          usedMoney: money(plan.deductible - benefits.deductibleRemaining),
        },
        ...(plan.outOfPocket !== undefined && benefits.outOfPocketRemaining !== undefined
          ? [
              {
                type: { coding: [{ system: X12_BENEFIT, code: 'G' }], text: 'out-of-pocket maximum' },
                allowedMoney: money(plan.outOfPocket),
                usedMoney: money(plan.outOfPocket - benefits.outOfPocketRemaining),
              },
            ]
          : []),
        {
          type: {
            coding: [
              { system: BENEFIT_TYPE, code: 'copay-percent' },
              { system: X12_BENEFIT, code: 'A' },
            ],
          },
          allowedUnsignedInt: Math.round(plan.coinsurance * 100),
        },
        {
          type: {
            coding: [
              { system: BENEFIT_TYPE, code: 'copay' },
              { system: X12_BENEFIT, code: 'B' },
            ],
          },
          allowedMoney: money(plan.copay),
        },
      ],
    });
  }
  for (const code of [...new Set(drugs)]) {
    out.push({
      productOrService: { coding: [{ system: HCPCS, code }] },
      authorizationRequired: ctx.priorAuthRequired[kind].includes(code),
    });
  }
  return out;
}
