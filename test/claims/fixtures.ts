/**
 * A clean infusion claim for the build and scrub tests: an office infliximab infusion (commercial
 * payer, prior auth on file, NDC on the drug line, Crohn's disease). Each call returns fresh copies,
 * so tests may mutate them.
 */
import type {
  ChargeItem,
  Condition,
  Coverage,
  Encounter,
  MedicationAdministration,
  Patient,
} from '@medplum/fhirtypes';
import { buildClaim } from '../../src/claims/build.ts';
import type { BuildClaimInput } from '../../src/claims/build.ts';
import type { BillingProvider, PayerEndpoint } from '../../src/config/billing.ts';
import type { ClaimContext } from '../../src/claims/types.ts';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import type { PayerKind } from '../../src/coding/types.ts';
import {
  EXT_CHARGE_LINE_KEY,
  EXT_CHARGE_MODIFIER,
  EXT_NDC_QUANTITY,
  EXT_REVENUE_CODE,
} from '../../src/contract/canonical.ts';

export const DOS = '2025-03-10';
export const TODAY = '2025-03-20';

export const PROVIDER: BillingProvider = {
  name: 'Riverside Infusion Center',
  npi: '1234567893',
  taxonomy: '261QI0500X',
  taxId: '123456789',
  address: { line: ['100 Main St'], city: 'Columbus', state: 'OH', postalCode: '43215' },
  phone: '614-555-0100',
};

export function payer(kind: PayerKind = 'commercial'): PayerEndpoint {
  return {
    id: `${kind}-payer`,
    name: `${kind} payer`,
    payerId: kind === 'medicare' ? '15202' : 'COMM1',
    kind,
    channel: 'fhir',
    timelyFilingDays: 90,
  };
}

export interface Fixture {
  input: {
    -readonly [K in keyof BuildClaimInput]: BuildClaimInput[K];
  } & {
    encounters: Encounter[];
    chargeItems: ChargeItem[];
    coverages: Coverage[];
    conditions: Condition[];
    preAuthRefs: string[];
  };
  administrations: MedicationAdministration[];
  today: string;
}

function charge(
  id: string,
  system: 'cpt' | 'hcpcs',
  code: string,
  units: number,
  opts: { modifiers?: string[]; ndc?: { code: string; quantity: number; unit: string } } = {},
): ChargeItem {
  return {
    resourceType: 'ChargeItem',
    id,
    status: 'billable',
    extension: [
      { url: EXT_CHARGE_LINE_KEY, valueString: `key-${id}` },
      ...(opts.modifiers ?? []).map((m) => ({
        url: EXT_CHARGE_MODIFIER,
        valueCoding: { system: SYSTEMS.hcpcs, code: m },
      })),
      ...(opts.ndc
        ? [
            {
              url: EXT_NDC_QUANTITY,
              valueQuantity: { value: opts.ndc.quantity, unit: opts.ndc.unit, code: opts.ndc.unit },
            },
          ]
        : []),
      { url: EXT_REVENUE_CODE, valueCoding: { code: system === 'cpt' ? '0260' : '0636' } },
    ],
    code: { coding: [{ system: system === 'cpt' ? SYSTEMS.cpt : SYSTEMS.hcpcs, code }] },
    subject: { reference: 'Patient/pat-1' },
    context: { reference: 'Encounter/enc-1' },
    occurrenceDateTime: DOS,
    quantity: { value: units },
    ...(opts.ndc
      ? { productCodeableConcept: { coding: [{ system: SYSTEMS.ndc, code: opts.ndc.code }] } }
      : {}),
    reason: [{ coding: [{ system: SYSTEMS.icd10cm, code: 'K50.90' }] }],
    service: [{ reference: 'MedicationAdministration/ma-1' }],
  };
}

export function fixture(kind: PayerKind = 'commercial'): Fixture {
  const patient: Patient = {
    resourceType: 'Patient',
    id: 'pat-1',
    name: [{ family: 'Doe', given: ['Jane'] }],
    gender: 'female',
    birthDate: '1961-04-12',
    address: [{ use: 'home', line: ['12 Elm Street'], city: 'Columbus', state: 'OH', postalCode: '43215' }],
  };
  const conditions: Condition[] = [
    {
      resourceType: 'Condition',
      id: 'cond-1',
      subject: { reference: 'Patient/pat-1' },
      code: { coding: [{ system: SYSTEMS.icd10cm, code: 'K50.90' }] },
    },
  ];
  const encounters: Encounter[] = [
    {
      resourceType: 'Encounter',
      id: 'enc-1',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: 'Patient/pat-1' },
      period: { start: `${DOS}T09:00:00-05:00`, end: `${DOS}T12:00:00-05:00` },
      diagnosis: [{ condition: { reference: 'Condition/cond-1' }, rank: 1 }],
    },
  ];
  const coverages: Coverage[] = [
    {
      resourceType: 'Coverage',
      id: 'cov-1',
      status: 'active',
      subscriberId: 'M123456',
      beneficiary: { reference: 'Patient/pat-1' },
      payor: [{ reference: 'Organization/payer-1' }],
      period: { start: '2024-01-01' },
    },
  ];
  const chargeItems: ChargeItem[] = [
    charge('ci-admin', 'cpt', '96365', 1),
    charge('ci-addon', 'cpt', '96366', 1),
    charge('ci-drug', 'hcpcs', 'J1745', 40, {
      ...(kind === 'medicare' ? { modifiers: ['JZ'] } : {}),
      ndc: { code: '57894003001', quantity: 4, unit: 'UN' },
    }),
  ];
  const administrations: MedicationAdministration[] = [
    {
      resourceType: 'MedicationAdministration',
      id: 'ma-1',
      status: 'completed',
      medicationCodeableConcept: { coding: [{ system: SYSTEMS.ndc, code: '57894003001' }] },
      subject: { reference: 'Patient/pat-1' },
      context: { reference: 'Encounter/enc-1' },
      effectivePeriod: { start: `${DOS}T09:10:00-05:00`, end: `${DOS}T11:25:00-05:00` },
      performer: [{ actor: { reference: 'Practitioner/rn-1' } }],
      request: { reference: 'MedicationRequest/mr-1' },
      dosage: {
        site: { text: 'left forearm' },
        dose: { value: 400, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
      },
    },
  ];
  return {
    input: {
      id: 'claim-1',
      setting: 'office',
      encounters,
      chargeItems,
      patient,
      coverages,
      payer: payer(kind),
      provider: PROVIDER,
      conditions,
      now: new Date('2025-03-11T08:00:00Z'),
      preAuthRefs: ['PA-778899'],
    },
    administrations,
    today: TODAY,
  };
}

/** The scrub context of a fixture (building its claim). */
export function contextOf(f: Fixture): ClaimContext {
  const claim = buildClaim(f.input);
  return {
    claim,
    setting: f.input.setting,
    patient: f.input.patient,
    coverages: f.input.coverages,
    payer: f.input.payer,
    provider: f.input.provider,
    encounters: f.input.encounters,
    chargeItems: f.input.chargeItems,
    administrations: f.administrations,
    medications: [],
    conditions: f.input.conditions,
    otherClaims: [],
    today: f.today,
  };
}
