/**
 * The sandbox centre's cast, as data: the practice, the hospital and the home infusion pharmacy
 * (Columbus, Ohio), their locations, the payers, the physicians who order and the nurses who give
 * the infusions, and which place and organisation each care setting bills from. All fictional; NPIs
 * are derived from the bases below by `npi()` (checksum-valid, invented). ../seed/centre.ts turns this
 * into Organization, Location and Practitioner resources.
 */
import type { PayerKey, PracKey, Setting } from '../seed/model.ts';

export const ADDRESS_CITY = { city: 'Columbus', state: 'OH', country: 'US' } as const;

export const COMMERCIAL: readonly PayerKey[] = ['lakeshore', 'cardinal', 'sycamore'];
/** `sopt`: the Source of Payment Typology code and display (the Coverage type). */
export const PAYERS: Readonly<
  Record<PayerKey, { id: string; name: string; payerId: string; sopt: [string, string] }>
> = {
  medicare: { id: 'org-medicare', name: 'Medicare Part B', payerId: 'MCR-B-J15', sopt: ['1', 'MEDICARE'] },
  medicaid: {
    id: 'org-medicaid-oh',
    name: 'Ohio Department of Medicaid',
    payerId: 'OH-MCD',
    sopt: ['2', 'MEDICAID'],
  },
  lakeshore: {
    id: 'org-lakeshore-mutual',
    name: 'Lakeshore Mutual Health (PPO)',
    payerId: 'LSM01',
    sopt: ['5', 'PRIVATE HEALTH INSURANCE'],
  },
  cardinal: {
    id: 'org-cardinal-healthpartners',
    name: 'Cardinal HealthPartners (HMO)',
    payerId: 'CHP22',
    sopt: ['5', 'PRIVATE HEALTH INSURANCE'],
  },
  sycamore: {
    id: 'org-sycamore-benefit',
    name: 'Sycamore Benefit Trust (self-funded)',
    payerId: 'SBT07',
    sopt: ['5', 'PRIVATE HEALTH INSURANCE'],
  },
};

/** The seeded payers as a tenant would configure them (config `payers[]` without the channel). */
export const SEED_PAYERS: readonly {
  readonly id: string;
  readonly name: string;
  readonly payerId: string;
  readonly kind: 'medicare' | 'medicaid' | 'commercial';
}[] = Object.values(PAYERS).map((p) => ({
  id: p.id.replace(/^org-/, ''),
  name: p.name,
  payerId: p.payerId,
  kind: p.sopt[0] === '1' ? 'medicare' : p.sopt[0] === '2' ? 'medicaid' : 'commercial',
}));

export const ORG_PRACTICE = 'org-scioto-infusion';
export const ORG_HOSPITAL = 'org-olentangy-hospital';
export const ORG_HOME = 'org-scioto-home-infusion';
export const LOC_OFFICE = 'loc-office-infusion-suite';
export const LOC_HOPD = 'loc-hopd-infusion';
export const LOC_HOME = 'loc-patient-home';

/** Where each care setting's visits happen and who bills them; `pos`: CMS place of service. */
export const SETTING_OF: Readonly<
  Record<Setting, { location: string; org: string; pos: [string, string]; label: string }>
> = {
  office: {
    location: LOC_OFFICE,
    org: ORG_PRACTICE,
    pos: ['11', 'Office'],
    label: 'Physician office infusion',
  },
  hopd: {
    location: LOC_HOPD,
    org: ORG_HOSPITAL,
    pos: ['22', 'On Campus-Outpatient Hospital'],
    label: 'Hospital outpatient infusion',
  },
  home: { location: LOC_HOME, org: ORG_HOME, pos: ['12', 'Home'], label: 'Home infusion nursing visit' },
};

export interface ProviderRecord {
  readonly id: string;
  readonly name: string;
  /** The NPI's first nine digits (the check digit is computed). */
  readonly npiBase: string;
  readonly ein: string;
  readonly phone: string;
  readonly line: string;
  readonly postalCode: string;
  readonly partOf?: string;
}

/** The billing providers, in the order the EHR holds them. */
export const PROVIDERS: readonly ProviderRecord[] = [
  {
    id: ORG_PRACTICE,
    name: 'Scioto Valley Infusion & Oncology Associates',
    npiBase: '149201735',
    ein: '31-4820917',
    phone: '614-555-0100',
    line: '1200 Riverside Plaza, Suite 300',
    postalCode: '43215',
  },
  {
    id: ORG_HOSPITAL,
    name: 'Olentangy River Hospital',
    npiBase: '159802446',
    ein: '31-6603184',
    phone: '614-555-0100',
    line: '4500 Olentangy River Road',
    postalCode: '43215',
  },
  {
    id: ORG_HOME,
    name: 'Scioto Valley Home Infusion Pharmacy',
    npiBase: '169403157',
    ein: '31-4820918',
    phone: '614-555-0100',
    line: '1200 Riverside Plaza, Suite 120',
    postalCode: '43215',
    partOf: ORG_PRACTICE,
  },
];

export interface LocationRecord {
  readonly id: string;
  readonly setting: Setting;
  readonly mode: 'instance' | 'kind';
  readonly name: string;
  /** An HL7 v3 RoleCode type beside the place of service. */
  readonly role?: [string, string];
  /** HL7 location-physical-type code and display. */
  readonly physicalType: [string, string];
  readonly address?: { readonly line: string; readonly postalCode: string };
  readonly organization: string;
}

export const LOCATIONS: readonly LocationRecord[] = [
  {
    id: LOC_OFFICE,
    setting: 'office',
    mode: 'instance',
    name: 'Scioto Valley Infusion Suite',
    physicalType: ['wa', 'Ward'],
    address: { line: '1200 Riverside Plaza, Suite 300', postalCode: '43215' },
    organization: ORG_PRACTICE,
  },
  {
    id: LOC_HOPD,
    setting: 'hopd',
    mode: 'instance',
    name: 'Olentangy River Hospital Outpatient Infusion Center',
    role: ['HOSP', 'Hospital'],
    physicalType: ['wa', 'Ward'],
    address: { line: '4500 Olentangy River Road, Pavilion B', postalCode: '43214' },
    organization: ORG_HOSPITAL,
  },
  {
    id: LOC_HOME,
    setting: 'home',
    mode: 'kind',
    name: "Patient's residence",
    role: ['PTRES', "Patient's Residence"],
    physicalType: ['ho', 'House'],
    organization: ORG_HOME,
  },
];

/** Ordering physicians; `taxonomy`: NUCC provider taxonomy code and display. */
export const PHYSICIANS: Readonly<
  Record<PracKey, { given: string; family: string; taxonomy: [string, string] }>
> = {
  onc1: { given: 'Anjali', family: 'Rao', taxonomy: ['207RH0003X', 'Hematology & Oncology'] },
  onc2: { given: 'Marcus', family: 'Whitfield', taxonomy: ['207RX0202X', 'Medical Oncology'] },
  rheum: { given: 'Elena', family: 'Petrov', taxonomy: ['207RR0500X', 'Rheumatology'] },
  gi: { given: 'Samuel', family: 'Okafor', taxonomy: ['207RG0100X', 'Gastroenterology'] },
  neuro: { given: 'Hannah', family: 'Liebermann', taxonomy: ['2084N0400X', 'Neurology'] },
  id: { given: 'Luis', family: 'Ortega', taxonomy: ['207RI0200X', 'Infectious Disease'] },
  im: { given: 'Grace', family: 'Kim', taxonomy: ['207R00000X', 'Internal Medicine'] },
};

/** The nurses of each setting, in the order visits are shared among them. */
export const NURSES: Readonly<Record<Setting, readonly { given: string; family: string }[]>> = {
  office: [
    { given: 'Maria', family: 'Delgado' },
    { given: 'Kevin', family: 'Brennan' },
    { given: 'Tasha', family: 'Greene' },
    { given: 'Priya', family: 'Natarajan' },
  ],
  hopd: [
    { given: 'Owen', family: 'Fitzgerald' },
    { given: 'Lena', family: 'Schultz' },
    { given: 'Andre', family: 'Baptiste' },
  ],
  home: [
    { given: 'Beth', family: 'Yoder' },
    { given: 'Carlos', family: 'Mendez' },
  ],
};
export const NURSE_TAXONOMY: Readonly<Record<Setting, [string, string]>> = {
  office: ['163W00000X', 'Registered Nurse'],
  hopd: ['163W00000X', 'Registered Nurse'],
  home: ['163WI0600X', 'Registered Nurse, Infusion Therapy'],
};
