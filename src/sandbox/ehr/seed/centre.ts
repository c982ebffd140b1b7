/**
 * The centre as FHIR: its Organizations (providers and payers), Locations and Practitioners, made
 * from ../seed-data/cast.ts. The same on every day: they open the EHR's reference data.
 */
import type { CodeableConcept, Location, Organization, Practitioner } from '@medplum/fhirtypes';
import {
  ADDRESS_CITY,
  LOCATIONS,
  NURSE_TAXONOMY,
  NURSES,
  PAYERS,
  PHYSICIANS,
  PROVIDERS,
  SETTING_OF,
} from '../seed-data/cast.ts';
import type { PayerKey, PracKey, Setting } from './model.ts';
import { SYSTEMS } from './systems.ts';
import { coding, npi, ref } from './values.ts';

export const physicianId = (k: PracKey): string => `prac-${k}`;
export const nurseId = (s: Setting, i: number): string => `prac-rn-${s}-${i + 1}`;

/** The billing providers, then the payers. */
export function organizations(): Organization[] {
  const providers = PROVIDERS.map((p): Organization => ({
    resourceType: 'Organization',
    id: p.id,
    active: true,
    identifier: [
      { system: SYSTEMS.npi, value: npi(p.npiBase) },
      {
        system: SYSTEMS.ein,
        value: p.ein,
        type: coding('http://terminology.hl7.org/CodeSystem/v2-0203', 'TAX', 'Tax ID number'),
      },
    ],
    type: [coding('http://terminology.hl7.org/CodeSystem/organization-type', 'prov', 'Healthcare Provider')],
    name: p.name,
    telecom: [{ system: 'phone', value: p.phone, use: 'work' }],
    address: [{ line: [p.line], ...ADDRESS_CITY, postalCode: p.postalCode }],
    ...(p.partOf ? { partOf: ref<Organization>('Organization', p.partOf) } : {}),
  }));
  const payers = (Object.keys(PAYERS) as PayerKey[]).map((k): Organization => {
    const payer = PAYERS[k];
    return {
      resourceType: 'Organization',
      id: payer.id,
      active: true,
      identifier: [{ system: SYSTEMS.payerId, value: payer.payerId }],
      type: [coding('http://terminology.hl7.org/CodeSystem/organization-type', 'pay', 'Payer')],
      name: payer.name,
    };
  });
  return [...providers, ...payers];
}

/** Each location typed by its place of service (and an HL7 role where one applies). */
export function locations(): Location[] {
  const posType = (s: Setting): CodeableConcept => {
    const [code, display] = SETTING_OF[s].pos;
    return coding(SYSTEMS.placeOfService, code, display);
  };
  const physical = ([code, display]: [string, string]): CodeableConcept =>
    coding('http://terminology.hl7.org/CodeSystem/location-physical-type', code, display);
  return LOCATIONS.map((l): Location => ({
    resourceType: 'Location',
    id: l.id,
    status: 'active',
    mode: l.mode,
    name: l.name,
    type: [posType(l.setting), ...(l.role ? [coding(SYSTEMS.roleCode, l.role[0], l.role[1])] : [])],
    physicalType: physical(l.physicalType),
    ...(l.address
      ? { address: { line: [l.address.line], ...ADDRESS_CITY, postalCode: l.address.postalCode } }
      : {}),
    managingOrganization: ref<Organization>('Organization', l.organization),
  }));
}

/** The physicians, then each setting's nurses; NPIs are drawn from a fixed sequence of bases. */
export function practitioners(): Practitioner[] {
  const out: Practitioner[] = [];
  let n = 0;
  const make = (
    id: string,
    given: string,
    family: string,
    taxonomy: [string, string],
    suffix: string,
  ): Practitioner => ({
    resourceType: 'Practitioner',
    id,
    active: true,
    identifier: [{ system: SYSTEMS.npi, value: npi(String(170000000 + 104729 * ++n)) }],
    name: [{ family, given: [given], suffix: [suffix] }],
    qualification: [{ code: coding(SYSTEMS.nucc, taxonomy[0], taxonomy[1]) }],
  });
  for (const k of Object.keys(PHYSICIANS) as PracKey[]) {
    const d = PHYSICIANS[k];
    out.push(make(physicianId(k), d.given, d.family, d.taxonomy, 'MD'));
  }
  for (const s of ['office', 'hopd', 'home'] as const) {
    NURSES[s].forEach((d, i) => {
      out.push(make(nurseId(s, i), d.given, d.family, NURSE_TAXONOMY[s], 'RN'));
    });
  }
  return out;
}
