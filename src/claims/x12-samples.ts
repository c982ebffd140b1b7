/**
 * Realistic ClaimContexts for the X12 tests and `bench:claims` (no store needed): an office infusion
 * of infliximab with its NDC and a JW (discarded drug) line, a hospital outpatient visit with revenue
 * codes, and a corrected claim replacing an earlier one. `n` varies ids and names so a batch of them
 * is not one claim repeated.
 */
import type { Claim, ClaimItem, CodeableConcept, Coverage, Patient } from '@medplum/fhirtypes';
import type { BillingProvider, PayerEndpoint } from '../config/billing.ts';
import type { ClaimContext } from './types.ts';
import { CS_NDC_UNIT_QUALIFIER } from '../contract/canonical.ts';

const CPT = 'http://www.ama-assn.org/go/cpt';
const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
const NDC = 'http://hl7.org/fhir/sid/ndc';
const REV = 'https://www.nubc.org/CodeSystem/RevenueCodes';

export const SAMPLE_PROVIDER: BillingProvider = {
  name: 'Riverbend Infusion Center',
  npi: '1234567893',
  taxonomy: '261QI0500X',
  taxId: '123456789',
  address: {
    line: ['100 Main Street', 'Suite 200'],
    city: 'Springfield',
    state: 'IL',
    postalCode: '62701-1234',
  },
  phone: '217-555-0100',
};

export const SAMPLE_PAYER: PayerEndpoint = {
  id: 'acme',
  name: 'Acme Health Plan',
  payerId: '60054',
  kind: 'commercial',
  channel: 'x12',
  timelyFilingDays: 180,
};

const FIRST = ['Maria', 'José', 'Anne-Marie', 'Wei', 'Olu', 'Grace', 'Ivan', 'Noor'];
const LAST = ['García', "O'Brien", 'Nguyen', 'Smith~Jones', 'Okafor', 'Müller', 'Kowalski', 'Patel'];

function patient(n: number): Patient & { id: string } {
  return {
    resourceType: 'Patient',
    id: `pat-${n}`,
    name: [
      {
        use: 'official',
        family: LAST[n % LAST.length] ?? 'Doe',
        given: [FIRST[n % FIRST.length] ?? 'J', 'Q'],
      },
    ],
    gender: n % 2 === 0 ? 'female' : 'male',
    birthDate: `19${50 + (n % 40)}-0${1 + (n % 9)}-1${n % 10}`,
    address: [
      {
        use: 'home',
        line: [`${10 + (n % 900)} Oak Avenue`],
        city: 'Springfield',
        state: 'IL',
        postalCode: '62704',
      },
    ],
  };
}

function coverage(n: number, order = 1): Coverage & { id: string } {
  return {
    resourceType: 'Coverage',
    id: `cov-${n}-${order}`,
    status: 'active',
    order,
    subscriberId: `XYZ${String(100000000 + n)}`,
    relationship: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }],
    },
    beneficiary: { reference: `Patient/pat-${n}` },
    payor: [{ display: 'Acme Health Plan' }],
    class: [{ type: { coding: [{ code: 'group' }] }, value: 'GRP-7788', name: 'Acme Employer Group' }],
  };
}

function item(
  sequence: number,
  code: string,
  units: number,
  net: number,
  extra: Partial<ClaimItem> & {
    modifiers?: string[];
    ndc?: { code: string; quantity: number; unit: string };
  } = {},
): ClaimItem {
  const { modifiers, ndc, ...rest } = extra;
  return {
    sequence,
    productOrService: { coding: [{ system: code.startsWith('J') ? HCPCS : CPT, code }] },
    ...(modifiers ? { modifier: modifiers.map((m) => ({ coding: [{ system: HCPCS, code: m }] })) } : {}),
    servicedDate: '2026-11-02',
    quantity: { value: units },
    net: { value: net, currency: 'USD' },
    ...(ndc
      ? {
          detail: [
            {
              sequence: 1,
              productOrService: { coding: [{ system: NDC, code: ndc.code }] },
              quantity: {
                value: ndc.quantity,
                unit: ndc.unit,
                system: CS_NDC_UNIT_QUALIFIER,
                code: ndc.unit,
              },
            },
          ],
        }
      : {}),
    ...rest,
  };
}

function baseContext(
  n: number,
  claim: Claim & { id: string },
  setting: ClaimContext['setting'],
): ClaimContext {
  return {
    claim,
    setting,
    patient: patient(n),
    coverages: [coverage(n)],
    payer: SAMPLE_PAYER,
    provider: SAMPLE_PROVIDER,
    encounters: [],
    chargeItems: [],
    administrations: [],
    medications: [],
    conditions: [],
    otherClaims: [],
    today: '2026-11-20',
  };
}

function diagnosis(
  sequence: number,
  code: string,
  principal = false,
): NonNullable<Claim['diagnosis']>[number] {
  return {
    sequence,
    diagnosisCodeableConcept: { coding: [{ system: ICD, code }] },
    ...(principal ? { type: [{ coding: [{ code: 'principal' }] }] } : {}),
  };
}

/**
 * Office infusion (837P): infliximab 96413-style therapeutic infusion 96365 + 96366, J1745 with its NDC
 * (3 vials, 10 mL... billed as 40 units of 10 mg) and the discarded amount on a JW line.
 */
export function officeInfusionContext(n = 1, preAuthRef: string | null = 'PA-2026-4411'): ClaimContext {
  const claim: Claim & { id: string } = {
    resourceType: 'Claim',
    id: `clm-office-${n}`,
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: `Patient/pat-${n}` },
    created: '2026-11-02T17:00:00Z',
    billablePeriod: { start: '2026-11-02', end: '2026-11-02' },
    provider: { display: SAMPLE_PROVIDER.name },
    priority: { coding: [{ code: 'normal' }] },
    diagnosis: [diagnosis(1, 'K50.012'), diagnosis(2, 'K50.90'), diagnosis(3, 'Z79.899')],
    insurance: [
      {
        sequence: 1,
        focal: true,
        coverage: { reference: `Coverage/cov-${n}-1` },
        ...(preAuthRef ? { preAuthRef: [preAuthRef] } : {}),
      },
    ],
    item: [
      item(1, '96365', 1, 250, { diagnosisSequence: [1, 2] }),
      item(2, '96366', 2, 140, { diagnosisSequence: [1] }),
      item(3, 'J1745', 40, 3960.5, {
        diagnosisSequence: [1, 2, 3],
        ndc: { code: '57894-0030-01', quantity: 4, unit: 'UN' },
      }),
      item(4, 'J1745', 2, 198.02, {
        modifiers: ['JW'],
        diagnosisSequence: [1],
        ndc: { code: '57894003001', quantity: 0.2, unit: 'UN' },
      }),
    ],
  };
  return baseContext(n, claim, 'office');
}

/** Hospital outpatient (837I, type of bill 0131): revenue codes 0260 / 0636 with HCPCS, NDC in mL. */
export function hospitalOutpatientContext(n = 1): ClaimContext {
  const rev = (code: string): CodeableConcept => ({ coding: [{ system: REV, code }] });
  const claim: Claim & { id: string } = {
    resourceType: 'Claim',
    id: `clm-hopd-${n}`,
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }] },
    subType: { coding: [{ system: 'https://www.nubc.org/CodeSystem/TypeOfBill', code: '0131' }] },
    use: 'claim',
    patient: { reference: `Patient/pat-${n}` },
    created: '2026-11-02T17:00:00Z',
    billablePeriod: { start: '2026-11-02', end: '2026-11-02' },
    provider: { display: SAMPLE_PROVIDER.name },
    priority: { coding: [{ code: 'normal' }] },
    contained: [
      {
        resourceType: 'Practitioner',
        id: 'attending',
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1922334457' }],
        name: [{ family: 'Lindqvist', given: ['Sofia'] }],
      },
    ],
    careTeam: [
      {
        sequence: 1,
        provider: { reference: '#attending' },
        role: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claimcareteamrole', code: 'attending' }],
        },
        qualification: { coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207RH0003X' }] },
      },
    ],
    diagnosis: [diagnosis(1, 'C50.911', true), diagnosis(2, 'D63.0')],
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/cov-${n}-1` } }],
    item: [
      item(1, '96413', 1, 820, { revenue: rev('0260') }),
      item(2, '96375', 1, 160, { revenue: rev('0260'), modifiers: ['59'] }),
      item(3, 'J9355', 42, 12500, {
        revenue: rev('0636'),
        ndc: { code: '50242-0134-01', quantity: 21, unit: 'ML' },
      }),
      item(4, 'J1100', 10, 15.75, {
        revenue: rev('636'),
        ndc: { code: '63323-0165-01', quantity: 1, unit: 'ML' },
      }),
    ],
  };
  return baseContext(n, claim, 'hospital-outpatient');
}

/** A corrected office claim (frequency 7) replacing payer claim 2026110500123. */
export function correctedClaimContext(n = 1): ClaimContext {
  const base = officeInfusionContext(n, null);
  const claim: Claim & { id: string } = {
    ...base.claim,
    id: `clm-office-${n}-c1`,
    related: [
      {
        claim: { reference: `Claim/clm-office-${n}` },
        relationship: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/related-claim-relationship', code: 'prior' },
          ],
        },
        reference: { value: '2026110500123' },
      },
    ],
  };
  return { ...base, claim };
}
