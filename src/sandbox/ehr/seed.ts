/**
 * A realistic infusion-centre day as FHIR R4 data, for the sandbox EHR.
 *
 * `generateInfusionDay` is pure and deterministic: the same options give deep-equal output, and
 * the seed only changes who gets which visit, names, weights, times, nurses and commercial
 * carriers. `reference` is what the EHR holds at the start of the day; `timeline` is what it writes
 * during the day, in time order, for the sandbox server to replay.
 *
 * Sources: drugs, HCPCS codes, billing units, containers and the one verified NDC come from
 * ../shared/research/drug-table.md; time and setting rules from ../shared/research/coding-rules.md.
 * HCPCS, NDC and ICD-10-CM codes are public. No CPT descriptor text appears anywhere in the data.
 * All people, organisations and identifiers are fictional (NPIs are checksum-valid but invented).
 */
import type {
  CodeableConcept,
  Condition,
  Coverage,
  Encounter,
  Extension,
  Location,
  Medication,
  MedicationAdministration,
  MedicationRequest,
  Organization,
  Patient,
  Practitioner,
  Quantity,
  Reference,
  RelatedPerson,
  Resource,
} from '@medplum/fhirtypes';
import { mulberry32 } from '../random.ts';
import { zonedIso } from '../../time/zone.ts';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export interface InfusionDayOptions {
  /** The calendar day, YYYY-MM-DD, in the centre's local time. */
  date: string;
  /** Patients with a visit today (default 36). Every setting, therapy class and messy case is present from 16. */
  patients?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /**
   * The centre's time zone: an IANA name (the sandbox passes its tenant's, America/New_York: the
   * centre is in Columbus, Ohio) or a fixed ±HH:MM offset (default '-05:00'). Times are written
   * with its offset at each instant.
   */
  timeZone?: string;
}

export interface TimelineStep {
  /** ISO instant with the centre's offset. */
  at: string;
  action: 'create' | 'update';
  /** With id set; for updates the full new version. */
  resource: Resource;
  note?: string;
}

export interface InfusionDay {
  /**
   * Static data present at the start of the day: Organization, Location, Practitioner, Patient,
   * RelatedPerson (a spouse holding the coverage), Coverage, Condition, Medication, MedicationRequest, and the home-infusion therapy-episode
   * Encounters that began on an earlier day.
   */
  reference: Resource[];
  /** The EHR's writes during the day, in non-decreasing time order. */
  timeline: TimelineStep[];
  /** The day's deliberate errors, each with the rule meant to catch it (data, for the day's figures). */
  seededErrors: SeededError[];
}

/**
 * A deliberate error in the seeded day and the rule meant to catch it. `coding`: charge capture
 * holds the line back with a documentation issue of that code (severity error) on the encounter's
 * "documentation issues" Task; `scrub`: the claim scrubber holds the encounter's claim at its first
 * scrub with a finding of that rule id (src/claims/rules/scrub-rules.json). Every other claim of the
 * day is meant to pass its first scrub.
 */
export interface SeededError {
  /** The encounter (`enc-NNN-1`) whose charges or claim carry it. */
  readonly encounter: string;
  readonly caughtBy: 'coding' | 'scrub';
  readonly rule: string;
  readonly what: string;
}

/** The smallest `patients` for which every setting, therapy class, payer type and messy case appears. */
export const MIN_PATIENTS_FOR_FULL_COVERAGE = 16;

export const EXTENSION_DISCARDED_AMOUNT = 'https://dripline.dev/fhir/StructureDefinition/discarded-amount';
export const EXTENSION_PRIMARY_SERVICE = 'https://dripline.dev/fhir/StructureDefinition/primary-service';

/** Code and identifier systems used in the data. */
export const SYSTEMS = {
  npi: 'http://hl7.org/fhir/sid/us-npi',
  ein: 'urn:oid:2.16.840.1.113883.4.4',
  mbi: 'http://hl7.org/fhir/sid/us-mbi',
  ndc: 'http://hl7.org/fhir/sid/ndc',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  snomed: 'http://snomed.info/sct',
  ucum: 'http://unitsofmeasure.org',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  roleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  placeOfService: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set',
  payerType: 'urn:oid:2.16.840.1.113883.3.221.5',
  nucc: 'http://nucc.org/provider-taxonomy',
  /** Dripline's own codes for the care setting of an encounter. */
  careSetting: 'https://dripline.dev/fhir/CodeSystem/care-setting',
  /** Dripline's own codes for push / infusion / injection technique (dosage.method). */
  technique: 'https://dripline.dev/fhir/CodeSystem/administration-technique',
  mrn: 'https://sandbox.dripline.dev/ehr/sid/mrn',
  visitNumber: 'https://sandbox.dripline.dev/ehr/sid/visit-number',
  orderNumber: 'https://sandbox.dripline.dev/ehr/sid/order-number',
  memberId: 'https://sandbox.dripline.dev/ehr/sid/member-id',
  payerId: 'https://sandbox.dripline.dev/ehr/sid/payer-id',
} as const;

// ---------------------------------------------------------------------------------------------
// Therapy table (source: ../shared/research/drug-table.md)
//
// HCPCS code and billing unit are from drug-table.md (its V/C/UNVERIFIED marks apply). The only
// NDC verified there is Remicade 57894-0030-01; every other NDC below is an example package code
// from general knowledge, marked ndcVerified: false. The sandbox uses them as realistic-looking
// package codes; do not treat them as a crosswalk. NDCs are written as they appear on the package:
// some 11-digit 5-4-2, some 10-digit 4-4-2 / 5-3-2, as EHRs really send them.
// RxNorm codes are ingredient (IN) concepts, given only where known.
// ---------------------------------------------------------------------------------------------

export type TherapyClass =
  | 'chemotherapy'
  | 'biologic'
  | 'immune-globulin'
  | 'iron'
  | 'anti-infective'
  | 'hydration'
  | 'supportive'
  | 'injection';
export type Route = 'IV' | 'SC' | 'IM';
export type Technique = 'push' | 'infusion' | 'injection';

export interface TherapyProduct {
  readonly key: string;
  readonly name: string;
  readonly hcpcs: string;
  readonly billingUnit: { readonly value: number; readonly code: string };
  readonly ndc: string;
  readonly ndcVerified: boolean;
  readonly rxnormIngredient?: string;
  /** Drug amount in one package (vial, syringe, kit, bag). */
  readonly packageAmount: { readonly value: number; readonly code: string };
  /** Volume of one package in mL, where it is a liquid. */
  readonly packageVolumeMl?: number;
  readonly container: string;
  readonly singleDose: boolean;
  readonly form: string;
  readonly route: Route;
  readonly technique: Technique;
  readonly typicalDose: string;
  /** Typical administration time in minutes (0 for an SC/IM injection). */
  readonly typicalMinutes: number;
  readonly therapyClass: TherapyClass;
  /** Documented with medicationCodeableConcept (NDC inline) rather than a Medication reference. */
  readonly inlineCode?: boolean;
}

const p = (t: TherapyProduct): TherapyProduct => t;

// prettier-ignore
export const THERAPIES: readonly TherapyProduct[] = [
  // A. Biologics
  p({ key: 'infliximab-100mg', name: 'Remicade (infliximab) 100 mg vial', hcpcs: 'J1745', billingUnit: { value: 10, code: 'mg' }, ndc: '57894-0030-01', ndcVerified: true, rxnormIngredient: '191831', packageAmount: { value: 100, code: 'mg' }, container: 'single-dose vial', singleDose: true, form: 'Powder for solution for injection', route: 'IV', technique: 'infusion', typicalDose: '5 mg/kg', typicalMinutes: 120, therapyClass: 'biologic' }),
  p({ key: 'rituximab-100mg', name: 'Rituxan (rituximab) 100 mg/10 mL vial', hcpcs: 'J9312', billingUnit: { value: 10, code: 'mg' }, ndc: '50242-051-21', ndcVerified: false, rxnormIngredient: '121191', packageAmount: { value: 100, code: 'mg' }, packageVolumeMl: 10, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'IV', technique: 'infusion', typicalDose: '375 mg/m2 (lymphoma)', typicalMinutes: 240, therapyClass: 'biologic' }),
  p({ key: 'rituximab-500mg', name: 'Rituxan (rituximab) 500 mg/50 mL vial', hcpcs: 'J9312', billingUnit: { value: 10, code: 'mg' }, ndc: '50242-053-06', ndcVerified: false, rxnormIngredient: '121191', packageAmount: { value: 500, code: 'mg' }, packageVolumeMl: 50, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'IV', technique: 'infusion', typicalDose: '1000 mg (RA)', typicalMinutes: 195, therapyClass: 'biologic' }),
  p({ key: 'ocrelizumab-300mg', name: 'Ocrevus (ocrelizumab) 300 mg/10 mL vial', hcpcs: 'J2350', billingUnit: { value: 1, code: 'mg' }, ndc: '50242-150-01', ndcVerified: false, packageAmount: { value: 300, code: 'mg' }, packageVolumeMl: 10, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'IV', technique: 'infusion', typicalDose: '600 mg every 6 months', typicalMinutes: 210, therapyClass: 'biologic' }),
  p({ key: 'vedolizumab-300mg', name: 'Entyvio (vedolizumab) 300 mg vial', hcpcs: 'J3380', billingUnit: { value: 1, code: 'mg' }, ndc: '64764-300-20', ndcVerified: false, rxnormIngredient: '1538097', packageAmount: { value: 300, code: 'mg' }, container: 'single-dose vial', singleDose: true, form: 'Powder for solution for injection', route: 'IV', technique: 'infusion', typicalDose: '300 mg', typicalMinutes: 30, therapyClass: 'biologic' }),
  p({ key: 'denosumab-60mg', name: 'Prolia (denosumab) 60 mg/mL prefilled syringe', hcpcs: 'J0897', billingUnit: { value: 1, code: 'mg' }, ndc: '55513-710-01', ndcVerified: false, rxnormIngredient: '993449', packageAmount: { value: 60, code: 'mg' }, packageVolumeMl: 1, container: 'single-dose prefilled syringe', singleDose: true, form: 'Solution for injection', route: 'SC', technique: 'injection', typicalDose: '60 mg every 6 months', typicalMinutes: 0, therapyClass: 'injection' }),
  // B. Oncology
  p({ key: 'paclitaxel-300mg', name: 'paclitaxel 300 mg/50 mL multiple-dose vial', hcpcs: 'J9267', billingUnit: { value: 1, code: 'mg' }, ndc: '61703-342-50', ndcVerified: false, rxnormIngredient: '56946', packageAmount: { value: 300, code: 'mg' }, packageVolumeMl: 50, container: 'multiple-dose vial', singleDose: false, form: 'Solution for injection', route: 'IV', technique: 'infusion', typicalDose: '175 mg/m2 q3w or 80 mg/m2 weekly', typicalMinutes: 180, therapyClass: 'chemotherapy' }),
  p({ key: 'carboplatin-450mg', name: 'carboplatin 450 mg/45 mL multiple-dose vial', hcpcs: 'J9045', billingUnit: { value: 50, code: 'mg' }, ndc: '61703-339-50', ndcVerified: false, rxnormIngredient: '40048', packageAmount: { value: 450, code: 'mg' }, packageVolumeMl: 45, container: 'multiple-dose vial', singleDose: false, form: 'Solution for injection', route: 'IV', technique: 'infusion', typicalDose: 'AUC 5', typicalMinutes: 30, therapyClass: 'chemotherapy' }),
  p({ key: 'oxaliplatin-100mg', name: 'oxaliplatin 100 mg/20 mL vial', hcpcs: 'J9263', billingUnit: { value: 0.5, code: 'mg' }, ndc: '0409-4709-02', ndcVerified: false, rxnormIngredient: '32592', packageAmount: { value: 100, code: 'mg' }, packageVolumeMl: 20, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'IV', technique: 'infusion', typicalDose: '85 mg/m2', typicalMinutes: 120, therapyClass: 'chemotherapy' }),
  p({ key: 'leucovorin-350mg', name: 'leucovorin calcium 350 mg vial', hcpcs: 'J0640', billingUnit: { value: 50, code: 'mg' }, ndc: '63323-711-00', ndcVerified: false, rxnormIngredient: '6313', packageAmount: { value: 350, code: 'mg' }, container: 'single-dose vial', singleDose: true, form: 'Powder for solution for injection', route: 'IV', technique: 'infusion', typicalDose: '400 mg/m2', typicalMinutes: 120, therapyClass: 'supportive' }),
  p({ key: 'fluorouracil-2500mg', name: 'fluorouracil 2.5 g/50 mL pharmacy bulk package', hcpcs: 'J9190', billingUnit: { value: 500, code: 'mg' }, ndc: '63323-117-51', ndcVerified: false, rxnormIngredient: '4492', packageAmount: { value: 2500, code: 'mg' }, packageVolumeMl: 50, container: 'pharmacy bulk package', singleDose: false, form: 'Solution for injection', route: 'IV', technique: 'push', typicalDose: '400 mg/m2 bolus then 2400 mg/m2 over 46 h', typicalMinutes: 5, therapyClass: 'chemotherapy' }),
  p({ key: 'leuprolide-22.5mg', name: 'Lupron Depot (leuprolide acetate) 22.5 mg 3-month kit', hcpcs: 'J9217', billingUnit: { value: 7.5, code: 'mg' }, ndc: '0074-3346-03', ndcVerified: false, rxnormIngredient: '42375', packageAmount: { value: 22.5, code: 'mg' }, container: 'single-dose kit', singleDose: true, form: 'Powder for suspension for injection (depot)', route: 'IM', technique: 'injection', typicalDose: '22.5 mg every 3 months', typicalMinutes: 0, therapyClass: 'injection' }),
  p({ key: 'methotrexate-50mg', name: 'methotrexate 50 mg/2 mL preservative-free vial', hcpcs: 'J9250', billingUnit: { value: 5, code: 'mg' }, ndc: '0703-3671-01', ndcVerified: false, rxnormIngredient: '6851', packageAmount: { value: 50, code: 'mg' }, packageVolumeMl: 2, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'SC', technique: 'injection', typicalDose: '15-25 mg weekly', typicalMinutes: 0, therapyClass: 'injection' }),
  // D. Immune globulin
  p({ key: 'ivig-privigen-10g', name: 'Privigen (immune globulin IV 10%) 10 g/100 mL vial', hcpcs: 'J1459', billingUnit: { value: 500, code: 'mg' }, ndc: '44206-437-10', ndcVerified: false, packageAmount: { value: 10, code: 'g' }, packageVolumeMl: 100, container: 'single-use vial', singleDose: true, form: 'Solution for infusion', route: 'IV', technique: 'infusion', typicalDose: '0.4-1 g/kg', typicalMinutes: 210, therapyClass: 'immune-globulin' }),
  // E. Iron
  p({ key: 'iron-sucrose-100mg', name: 'Venofer (iron sucrose) 100 mg/5 mL vial', hcpcs: 'J1756', billingUnit: { value: 1, code: 'mg' }, ndc: '0517-2340-01', ndcVerified: false, packageAmount: { value: 100, code: 'mg' }, packageVolumeMl: 5, container: 'single-use vial', singleDose: true, form: 'Solution for injection', route: 'IV', technique: 'push', typicalDose: '200 mg', typicalMinutes: 5, therapyClass: 'iron' }),
  p({ key: 'ferric-carboxymaltose-750mg', name: 'Injectafer (ferric carboxymaltose) 750 mg/15 mL vial', hcpcs: 'J1439', billingUnit: { value: 1, code: 'mg' }, ndc: '0517-0650-01', ndcVerified: false, packageAmount: { value: 750, code: 'mg' }, packageVolumeMl: 15, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'IV', technique: 'infusion', typicalDose: '750 mg', typicalMinutes: 18, therapyClass: 'iron' }),
  // F. Premedications and antiemetics
  p({ key: 'ondansetron-40mg', name: 'ondansetron 40 mg/20 mL multiple-dose vial', hcpcs: 'J2405', billingUnit: { value: 1, code: 'mg' }, ndc: '0409-4759-01', ndcVerified: false, rxnormIngredient: '26225', packageAmount: { value: 40, code: 'mg' }, packageVolumeMl: 20, container: 'multiple-dose vial', singleDose: false, form: 'Solution for injection', route: 'IV', technique: 'push', typicalDose: '8 mg', typicalMinutes: 3, therapyClass: 'supportive', inlineCode: true }),
  p({ key: 'dexamethasone-10mg', name: 'dexamethasone sodium phosphate 10 mg/mL vial', hcpcs: 'J1100', billingUnit: { value: 1, code: 'mg' }, ndc: '63323-165-01', ndcVerified: false, rxnormIngredient: '3264', packageAmount: { value: 10, code: 'mg' }, packageVolumeMl: 1, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'IV', technique: 'push', typicalDose: '10-20 mg', typicalMinutes: 3, therapyClass: 'supportive' }),
  p({ key: 'diphenhydramine-50mg', name: 'diphenhydramine HCl 50 mg/mL vial', hcpcs: 'J1200', billingUnit: { value: 50, code: 'mg' }, ndc: '63323-664-01', ndcVerified: false, rxnormIngredient: '3498', packageAmount: { value: 50, code: 'mg' }, packageVolumeMl: 1, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'IV', technique: 'push', typicalDose: '25-50 mg', typicalMinutes: 2, therapyClass: 'supportive' }),
  // G. Anti-infectives
  p({ key: 'ceftriaxone-2g', name: 'ceftriaxone 2 g vial', hcpcs: 'J0696', billingUnit: { value: 250, code: 'mg' }, ndc: '0409-7338-01', ndcVerified: false, rxnormIngredient: '2193', packageAmount: { value: 2, code: 'g' }, container: 'single-dose vial', singleDose: true, form: 'Powder for solution for injection', route: 'IV', technique: 'infusion', typicalDose: '2 g daily', typicalMinutes: 30, therapyClass: 'anti-infective' }),
  p({ key: 'vancomycin-500mg', name: 'vancomycin 500 mg vial', hcpcs: 'J3370', billingUnit: { value: 500, code: 'mg' }, ndc: '0409-6509-01', ndcVerified: false, rxnormIngredient: '11124', packageAmount: { value: 500, code: 'mg' }, container: 'single-dose vial', singleDose: true, form: 'Powder for solution for injection', route: 'IV', technique: 'infusion', typicalDose: '15-20 mg/kg q12h', typicalMinutes: 120, therapyClass: 'anti-infective' }),
  // H. Fluids
  p({ key: 'ns-1000ml', name: 'sodium chloride 0.9% 1,000 mL bag', hcpcs: 'J7030', billingUnit: { value: 1000, code: 'mL' }, ndc: '0338-0049-04', ndcVerified: false, rxnormIngredient: '9863', packageAmount: { value: 1000, code: 'mL' }, packageVolumeMl: 1000, container: 'flexible bag', singleDose: true, form: 'Solution for infusion', route: 'IV', technique: 'infusion', typicalDose: '1,000 mL', typicalMinutes: 120, therapyClass: 'hydration', inlineCode: true }),
  p({ key: 'ns-500ml', name: 'sodium chloride 0.9% 500 mL bag', hcpcs: 'J7040', billingUnit: { value: 500, code: 'mL' }, ndc: '0338-0049-03', ndcVerified: false, rxnormIngredient: '9863', packageAmount: { value: 500, code: 'mL' }, packageVolumeMl: 500, container: 'flexible bag', singleDose: true, form: 'Solution for infusion', route: 'IV', technique: 'infusion', typicalDose: '500 mL', typicalMinutes: 60, therapyClass: 'hydration' }),
  p({ key: 'cyanocobalamin-1000mcg', name: 'cyanocobalamin 1,000 mcg/mL vial', hcpcs: 'J3420', billingUnit: { value: 1000, code: 'ug' }, ndc: '0517-0031-25', ndcVerified: false, rxnormIngredient: '11248', packageAmount: { value: 1000, code: 'ug' }, packageVolumeMl: 1, container: 'single-dose vial', singleDose: true, form: 'Solution for injection', route: 'IM', technique: 'injection', typicalDose: '1,000 mcg monthly', typicalMinutes: 0, therapyClass: 'injection' }),
];

export function therapy(key: string): TherapyProduct {
  const t = THERAPIES.find((x) => x.key === key);
  if (!t) {
    throw new Error(`unknown therapy ${key}`);
  }
  return t;
}

/** 5-4-2 with hyphens, padding whichever segment of a 10-digit NDC is short (coding-rules R11.1). */
export function ndcTo11(ndc: string): string {
  const [a = '', b = '', c = ''] = ndc.split('-');
  return `${a.padStart(5, '0')}-${b.padStart(4, '0')}-${c.padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny deterministic PRNG. */
function makeRng(seed: number): {
  next: () => number;
  int: (min: number, max: number) => number;
  pick: <T>(items: readonly T[]) => T;
  shuffle: <T>(items: readonly T[]) => T[];
} {
  const next = mulberry32(seed);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => nth(items, int(0, items.length - 1));
  const shuffle = <T>(items: readonly T[]): T[] => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(0, i);
      [out[i], out[j]] = [nth(out, j), nth(out, i)];
    }
    return out;
  };
  return { next, int, pick, shuffle };
}
type Rng = ReturnType<typeof makeRng>;

function nth<T>(items: readonly T[], i: number): T {
  const v = items[i];
  if (v === undefined) {
    throw new Error(`index ${i} out of range`);
  }
  return v;
}

const pad = (n: number, width = 3): string => String(n).padStart(width, '0');

/** A checksum-valid NPI from a 9-digit base (Luhn over the 80840 prefix, as CMS defines it). */
function npi(base9: string): string {
  const digits = `80840${base9}`.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = nth(digits, i);
    if (double) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
  }
  return `${base9}${(10 - (sum % 10)) % 10}`;
}

const qty = (value: number, code: string, unit = code === 'ug' ? 'mcg' : code): Quantity => ({
  value,
  unit,
  system: SYSTEMS.ucum,
  code,
});
const coding = (system: string, code: string, display?: string): CodeableConcept => ({
  coding: [{ system, code, ...(display ? { display } : {}) }],
  ...(display ? { text: display } : {}),
});
const ref = <T extends Resource>(type: T['resourceType'], id: string, display?: string): Reference<T> => ({
  reference: `${type}/${id}`,
  ...(display ? { display } : {}),
});

/**
 * Local wall-clock minutes on `date` (may exceed 1440: the next day) → ISO instant written with the
 * centre's offset at that instant (DST-aware for an IANA zone).
 */
function makeClock(date: string, timeZone: string): (minutes: number) => string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    throw new Error('date must be YYYY-MM-DD');
  }
  zonedIso(date, 0, timeZone); // throws on a zone Intl does not know
  return (minutes) => zonedIso(date, minutes, timeZone);
}

/** `date` shifted by whole days, YYYY-MM-DD. */
function shiftDate(date: string, days: number): string {
  const [y = 0, mo = 1, d = 1] = date.split('-').map(Number);
  return new Date(Date.UTC(y, mo - 1, d + days)).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------
// Static cast: organisations, locations, practitioners
// ---------------------------------------------------------------------------------------------

const ADDRESS_CITY = { city: 'Columbus', state: 'OH', country: 'US' } as const;

type PayerKey = 'medicare' | 'medicaid' | 'lakeshore' | 'cardinal' | 'sycamore';
const COMMERCIAL: readonly PayerKey[] = ['lakeshore', 'cardinal', 'sycamore'];
const PAYERS: Readonly<
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

const ORG_PRACTICE = 'org-scioto-infusion';
const ORG_HOSPITAL = 'org-olentangy-hospital';
const ORG_HOME = 'org-scioto-home-infusion';
const LOC_OFFICE = 'loc-office-infusion-suite';
const LOC_HOPD = 'loc-hopd-infusion';
const LOC_HOME = 'loc-patient-home';

type Setting = 'office' | 'hopd' | 'home';
const SETTING_OF: Readonly<
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

function organizations(): Organization[] {
  const provider = (
    id: string,
    name: string,
    npiBase: string,
    ein: string,
    line: string,
    partOf?: string,
  ): Organization => ({
    resourceType: 'Organization',
    id,
    active: true,
    identifier: [
      { system: SYSTEMS.npi, value: npi(npiBase) },
      {
        system: SYSTEMS.ein,
        value: ein,
        type: coding('http://terminology.hl7.org/CodeSystem/v2-0203', 'TAX', 'Tax ID number'),
      },
    ],
    type: [coding('http://terminology.hl7.org/CodeSystem/organization-type', 'prov', 'Healthcare Provider')],
    name,
    telecom: [{ system: 'phone', value: '614-555-0100', use: 'work' }],
    address: [{ line: [line], ...ADDRESS_CITY, postalCode: '43215' }],
    ...(partOf ? { partOf: ref<Organization>('Organization', partOf) } : {}),
  });
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
  return [
    provider(
      ORG_PRACTICE,
      'Scioto Valley Infusion & Oncology Associates',
      '149201735',
      '31-4820917',
      '1200 Riverside Plaza, Suite 300',
    ),
    provider(
      ORG_HOSPITAL,
      'Olentangy River Hospital',
      '159802446',
      '31-6603184',
      '4500 Olentangy River Road',
    ),
    provider(
      ORG_HOME,
      'Scioto Valley Home Infusion Pharmacy',
      '169403157',
      '31-4820918',
      '1200 Riverside Plaza, Suite 120',
      ORG_PRACTICE,
    ),
    ...payers,
  ];
}

function locations(): Location[] {
  const posType = (s: Setting): CodeableConcept => {
    const [code, display] = SETTING_OF[s].pos;
    return coding(SYSTEMS.placeOfService, code, display);
  };
  const physical = (code: string, display: string): CodeableConcept =>
    coding('http://terminology.hl7.org/CodeSystem/location-physical-type', code, display);
  return [
    {
      resourceType: 'Location',
      id: LOC_OFFICE,
      status: 'active',
      mode: 'instance',
      name: 'Scioto Valley Infusion Suite',
      type: [posType('office')],
      physicalType: physical('wa', 'Ward'),
      address: { line: ['1200 Riverside Plaza, Suite 300'], ...ADDRESS_CITY, postalCode: '43215' },
      managingOrganization: ref<Organization>('Organization', ORG_PRACTICE),
    },
    {
      resourceType: 'Location',
      id: LOC_HOPD,
      status: 'active',
      mode: 'instance',
      name: 'Olentangy River Hospital Outpatient Infusion Center',
      type: [posType('hopd'), coding(SYSTEMS.roleCode, 'HOSP', 'Hospital')],
      physicalType: physical('wa', 'Ward'),
      address: { line: ['4500 Olentangy River Road, Pavilion B'], ...ADDRESS_CITY, postalCode: '43214' },
      managingOrganization: ref<Organization>('Organization', ORG_HOSPITAL),
    },
    {
      resourceType: 'Location',
      id: LOC_HOME,
      status: 'active',
      mode: 'kind',
      name: "Patient's residence",
      type: [posType('home'), coding(SYSTEMS.roleCode, 'PTRES', "Patient's Residence")],
      physicalType: physical('ho', 'House'),
      managingOrganization: ref<Organization>('Organization', ORG_HOME),
    },
  ];
}

type PracKey = 'onc1' | 'onc2' | 'rheum' | 'gi' | 'neuro' | 'id' | 'im';
const PHYSICIANS: Readonly<Record<PracKey, { given: string; family: string; taxonomy: [string, string] }>> = {
  onc1: { given: 'Anjali', family: 'Rao', taxonomy: ['207RH0003X', 'Hematology & Oncology'] },
  onc2: { given: 'Marcus', family: 'Whitfield', taxonomy: ['207RX0202X', 'Medical Oncology'] },
  rheum: { given: 'Elena', family: 'Petrov', taxonomy: ['207RR0500X', 'Rheumatology'] },
  gi: { given: 'Samuel', family: 'Okafor', taxonomy: ['207RG0100X', 'Gastroenterology'] },
  neuro: { given: 'Hannah', family: 'Liebermann', taxonomy: ['2084N0400X', 'Neurology'] },
  id: { given: 'Luis', family: 'Ortega', taxonomy: ['207RI0200X', 'Infectious Disease'] },
  im: { given: 'Grace', family: 'Kim', taxonomy: ['207R00000X', 'Internal Medicine'] },
};
const NURSES: Readonly<Record<Setting, readonly { given: string; family: string }[]>> = {
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
const physicianId = (k: PracKey): string => `prac-${k}`;
const nurseId = (s: Setting, i: number): string => `prac-rn-${s}-${i + 1}`;

function practitioners(): Practitioner[] {
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
      const taxonomy: [string, string] =
        s === 'home'
          ? ['163WI0600X', 'Registered Nurse, Infusion Therapy']
          : ['163W00000X', 'Registered Nurse'];
      out.push(make(nurseId(s, i), d.given, d.family, taxonomy, 'RN'));
    });
  }
  return out;
}

function medications(): Medication[] {
  return THERAPIES.map((t): Medication => {
    const perMl = t.packageVolumeMl && t.packageAmount.code !== 'mL';
    return {
      resourceType: 'Medication',
      id: `med-${t.key}`,
      status: 'active',
      code: { coding: [{ system: SYSTEMS.ndc, code: t.ndc, display: t.name }], text: t.name },
      form: { text: `${t.form} (${t.container})` },
      // Package size; the denominator names the container, so single- vs multiple-dose is explicit.
      amount: {
        numerator: qty(t.packageAmount.value, t.packageAmount.code),
        denominator: { value: 1, unit: t.container, system: SYSTEMS.ucum, code: '{package}' },
      },
      ingredient: [
        {
          itemCodeableConcept: t.rxnormIngredient
            ? { coding: [{ system: SYSTEMS.rxnorm, code: t.rxnormIngredient }], text: ingredientName(t) }
            : { text: ingredientName(t) },
          isActive: true,
          strength:
            perMl && t.packageVolumeMl
              ? {
                  numerator: qty(t.packageAmount.value / t.packageVolumeMl, t.packageAmount.code),
                  denominator: qty(1, 'mL'),
                }
              : {
                  numerator: qty(t.packageAmount.value, t.packageAmount.code),
                  denominator: { value: 1, unit: t.container, system: SYSTEMS.ucum, code: '{package}' },
                },
        },
      ],
    };
  });
}

function ingredientName(t: TherapyProduct): string {
  const m = /\(([^)]+)\)/.exec(t.name);
  return (
    m?.[1] ??
    t.name
      .split(' ')
      .slice(0, t.name.startsWith('sodium chloride') ? 3 : 1)
      .join(' ')
  );
}

// ---------------------------------------------------------------------------------------------
// Diagnoses (ICD-10-CM) and regimens
// ---------------------------------------------------------------------------------------------

const DX: Readonly<Record<string, string>> = {
  'C50.911': 'Malignant neoplasm of unspecified site of right female breast',
  'C56.9': 'Malignant neoplasm of unspecified ovary',
  'C34.90': 'Malignant neoplasm of unspecified part of unspecified bronchus or lung',
  'C18.7': 'Malignant neoplasm of sigmoid colon',
  'C83.30': 'Diffuse large B-cell lymphoma, unspecified site',
  C61: 'Malignant neoplasm of prostate',
  'M05.79':
    'Rheumatoid arthritis with rheumatoid factor of multiple sites without organ or systems involvement',
  'L40.50': 'Arthropathic psoriasis, unspecified',
  'K50.90': "Crohn's disease, unspecified, without complications",
  'K51.90': 'Ulcerative colitis, unspecified, without complications',
  'G35.A': 'Relapsing-remitting multiple sclerosis',
  'G61.81': 'Chronic inflammatory demyelinating polyneuritis',
  'D83.9': 'Common variable immunodeficiency, unspecified',
  'D50.0': 'Iron deficiency anemia secondary to blood loss (chronic)',
  'N18.4': 'Chronic kidney disease, stage 4 (severe)',
  'D63.1': 'Anemia in chronic kidney disease',
  'D51.0': 'Vitamin B12 deficiency anemia due to intrinsic factor deficiency',
  'M81.0': 'Age-related osteoporosis without current pathological fracture',
  'L03.115': 'Cellulitis of right lower limb',
  'A41.9': 'Sepsis, unspecified organism',
  'E86.0': 'Dehydration',
  'R11.2': 'Nausea with vomiting, unspecified',
};

type SiteKey = 'l-forearm' | 'r-forearm' | 'l-upper-arm' | 'r-upper-arm' | 'abdomen' | 'buttock' | 'port';
const SITES: Readonly<Record<SiteKey, [string, string]>> = {
  'l-forearm': ['66480008', 'Structure of left forearm'],
  'r-forearm': ['64262003', 'Structure of right forearm'],
  'l-upper-arm': ['368208006', 'Left upper arm structure'],
  'r-upper-arm': ['368209003', 'Right upper arm structure'],
  abdomen: ['113345001', 'Abdominal structure'],
  buttock: ['46862004', 'Buttock structure'],
  port: ['78904004', 'Chest wall structure (implanted port)'],
};
const ROUTES: Readonly<Record<Route, [string, string]>> = {
  IV: ['47625008', 'Intravenous route'],
  SC: ['34206005', 'Subcutaneous route'],
  IM: ['78421000', 'Intramuscular route'],
};

/** One administration in a regimen, timed in minutes from the chair start. */
interface AdminSpec {
  product: string;
  /** Order key within the patient (several orders may share a product, e.g. 5-FU bolus and pump). */
  order: string;
  start: number;
  minutes: number;
  dose?: Quantity;
  technique: Technique;
  site?: SiteKey | 'iv' | 'none';
  discarded?: Quantity;
  orderText: string;
  rate?: Quantity;
  // Messy and special cases
  primary?: boolean;
  noOrder?: boolean;
  noDose?: boolean;
  openEnded?: boolean;
  dateTimeOnly?: boolean;
  correctEnd?: { chartedMinutes: number; at: number };
  duplicateVoidedAt?: number;
  note?: string;
}

interface PatientCtx {
  weightKg: number;
  bsa: number;
  rng: Rng;
}

interface Regimen {
  therapyClass: TherapyClass;
  dx: readonly string[];
  orderer: PracKey;
  observe: number;
  admins: (c: PatientCtx) => AdminSpec[];
}

const round = (v: number, step: number): number => Math.round(v / step) * step;

/** Doses drawn from single-dose packages: the documented waste is the rest of the last package. */
function fromVials(product: string, dose: number): Quantity | undefined {
  const t = therapy(product);
  if (!t.singleDose) {
    return undefined;
  }
  const size = t.packageAmount.value;
  const waste = Math.ceil(dose / size - 1e-9) * size - dose;
  return waste > 1e-9 ? qty(Number(waste.toFixed(3)), t.packageAmount.code) : undefined;
}

const push = (product: string, start: number, dose: Quantity, orderText: string, minutes = 3): AdminSpec => ({
  product,
  order: product,
  start,
  minutes,
  dose,
  technique: 'push',
  orderText,
});
const infusion = (
  product: string,
  start: number,
  minutes: number,
  dose: Quantity,
  orderText: string,
  extra: Partial<AdminSpec> = {},
): AdminSpec => ({
  product,
  order: product,
  start,
  minutes,
  dose,
  technique: 'infusion',
  orderText,
  ...extra,
});
const injection = (
  product: string,
  start: number,
  dose: Quantity,
  site: SiteKey,
  orderText: string,
): AdminSpec => ({
  product,
  order: product,
  start,
  minutes: 0,
  dose,
  technique: 'injection',
  site,
  orderText,
});

const REGIMENS = {
  'paclitaxel-carboplatin': {
    therapyClass: 'chemotherapy',
    dx: ['C56.9'],
    orderer: 'onc1',
    observe: 10,
    admins: ({ bsa, rng }) => {
      const pac = round(175 * bsa, 5);
      // Calvert: dose = AUC × (GFR + 25).
      const carbo = round(5 * (rng.int(60, 110) + 25), 10);
      return [
        infusion('ns-500ml', 0, 60, qty(500, 'mL'), 'NS 500 mL IV over 60 min before chemotherapy', {
          rate: qty(500, 'mL/h'),
        }),
        push('dexamethasone-10mg', 62, qty(20, 'mg'), 'dexamethasone 20 mg IV push 30 min before paclitaxel'),
        push('diphenhydramine-50mg', 66, qty(50, 'mg'), 'diphenhydramine 50 mg IV push before paclitaxel', 2),
        push('ondansetron-40mg', 69, qty(16, 'mg'), 'ondansetron 16 mg IV push before chemotherapy'),
        infusion('paclitaxel-300mg', 95, 180, qty(pac, 'mg'), `paclitaxel 175 mg/m2 (${pac} mg) IV over 3 h`),
        infusion(
          'carboplatin-450mg',
          280,
          30,
          qty(carbo, 'mg'),
          `carboplatin AUC 5 (${carbo} mg) IV over 30 min`,
        ),
      ];
    },
  },
  'paclitaxel-weekly': {
    therapyClass: 'chemotherapy',
    dx: ['C50.911'],
    orderer: 'onc2',
    observe: 10,
    admins: ({ bsa }) => {
      const pac = round(80 * bsa, 5);
      return [
        push('dexamethasone-10mg', 0, qty(10, 'mg'), 'dexamethasone 10 mg IV push before paclitaxel'),
        push('diphenhydramine-50mg', 4, qty(25, 'mg'), 'diphenhydramine 25 mg IV push before paclitaxel', 2),
        infusion(
          'paclitaxel-300mg',
          30,
          60,
          qty(pac, 'mg'),
          `paclitaxel 80 mg/m2 (${pac} mg) IV over 1 h weekly`,
        ),
      ];
    },
  },
  folfox: {
    therapyClass: 'chemotherapy',
    dx: ['C18.7'],
    orderer: 'onc2',
    observe: 15,
    admins: ({ bsa }) => {
      const oxali = round(85 * bsa, 5);
      const lv = round(400 * bsa, 10);
      const bolus = round(400 * bsa, 10);
      const pump = round(2400 * bsa, 50);
      return [
        push('ondansetron-40mg', 0, qty(8, 'mg'), 'ondansetron 8 mg IV push before chemotherapy'),
        push('dexamethasone-10mg', 4, qty(10, 'mg'), 'dexamethasone 10 mg IV push before chemotherapy'),
        // Oxaliplatin and leucovorin run together through a Y-site: concurrent infusions.
        infusion(
          'oxaliplatin-100mg',
          20,
          120,
          qty(oxali, 'mg'),
          `oxaliplatin 85 mg/m2 (${oxali} mg) IV over 2 h`,
          { discarded: fromVials('oxaliplatin-100mg', oxali) },
        ),
        infusion(
          'leucovorin-350mg',
          20,
          120,
          qty(lv, 'mg'),
          `leucovorin 400 mg/m2 (${lv} mg) IV over 2 h with oxaliplatin`,
        ),
        {
          ...push(
            'fluorouracil-2500mg',
            145,
            qty(bolus, 'mg'),
            `fluorouracil 400 mg/m2 (${bolus} mg) IV push`,
            5,
          ),
          order: 'fluorouracil-bolus',
        },
        // 46-hour ambulatory pump: started today, disconnected on day 3, so no stop time today.
        infusion(
          'fluorouracil-2500mg',
          155,
          46 * 60,
          qty(pump, 'mg'),
          `fluorouracil 2400 mg/m2 (${pump} mg) continuous IV over 46 h by ambulatory pump`,
          {
            order: 'fluorouracil-pump',
            openEnded: true,
            rate: qty(Number((pump / 46).toFixed(1)), 'mg/h'),
            note: 'Ambulatory pump connected; disconnect in 46 h',
          },
        ),
      ];
    },
  },
  'rituximab-ra': {
    therapyClass: 'biologic',
    dx: ['M05.79'],
    orderer: 'rheum',
    observe: 30,
    admins: () => [
      push('dexamethasone-10mg', 0, qty(10, 'mg'), 'dexamethasone 10 mg IV push 30 min before rituximab'),
      push('diphenhydramine-50mg', 4, qty(50, 'mg'), 'diphenhydramine 50 mg IV push before rituximab', 2),
      infusion(
        'rituximab-500mg',
        30,
        255,
        qty(1000, 'mg'),
        'rituximab 1000 mg IV, titrate per protocol (days 1 and 15)',
      ),
    ],
  },
  'rituximab-lymphoma': {
    therapyClass: 'biologic',
    dx: ['C83.30'],
    orderer: 'onc1',
    observe: 15,
    admins: ({ bsa }) => {
      const dose = round(375 * bsa, 10);
      return [
        push('diphenhydramine-50mg', 0, qty(50, 'mg'), 'diphenhydramine 50 mg IV push before rituximab', 2),
        infusion(
          'rituximab-100mg',
          30,
          240,
          qty(dose, 'mg'),
          `rituximab 375 mg/m2 (${dose} mg) IV, titrate per protocol`,
          { discarded: fromVials('rituximab-100mg', dose) },
        ),
      ];
    },
  },
  infliximab: {
    therapyClass: 'biologic',
    dx: ['K50.90'],
    orderer: 'gi',
    observe: 15,
    admins: ({ weightKg }) => {
      const dose = round(5 * weightKg, 10);
      return [
        push('diphenhydramine-50mg', 0, qty(25, 'mg'), 'diphenhydramine 25 mg IV push before infliximab', 2),
        infusion(
          'infliximab-100mg',
          20,
          120,
          qty(dose, 'mg'),
          `infliximab 5 mg/kg (${dose} mg) IV over 2 h every 8 weeks`,
          { discarded: fromVials('infliximab-100mg', dose) },
        ),
      ];
    },
  },
  'infliximab-ra': {
    therapyClass: 'biologic',
    dx: ['M05.79'],
    orderer: 'rheum',
    observe: 15,
    admins: ({ weightKg }) => {
      const dose = round(3 * weightKg, 10);
      return [
        infusion(
          'infliximab-100mg',
          0,
          120,
          qty(dose, 'mg'),
          `infliximab 3 mg/kg (${dose} mg) IV over 2 h every 8 weeks`,
          { discarded: fromVials('infliximab-100mg', dose) },
        ),
      ];
    },
  },
  ocrelizumab: {
    therapyClass: 'biologic',
    dx: ['G35.A'],
    orderer: 'neuro',
    observe: 60,
    admins: () => [
      push('dexamethasone-10mg', 0, qty(10, 'mg'), 'dexamethasone 10 mg IV push 30 min before ocrelizumab'),
      push('diphenhydramine-50mg', 4, qty(50, 'mg'), 'diphenhydramine 50 mg IV push before ocrelizumab', 2),
      infusion(
        'ocrelizumab-300mg',
        35,
        210,
        qty(600, 'mg'),
        'ocrelizumab 600 mg IV over 3.5 h every 6 months',
      ),
    ],
  },
  vedolizumab: {
    therapyClass: 'biologic',
    dx: ['K51.90'],
    orderer: 'gi',
    observe: 10,
    admins: () => [
      infusion(
        'vedolizumab-300mg',
        0,
        30,
        qty(300, 'mg'),
        'vedolizumab 300 mg IV over 30 min every 8 weeks',
        { rate: qty(500, 'mL/h') },
      ),
    ],
  },
  ivig: {
    therapyClass: 'immune-globulin',
    dx: ['G61.81'],
    orderer: 'neuro',
    observe: 15,
    admins: ({ weightKg }) => {
      const grams = round(0.4 * weightKg, 2.5);
      return [
        push('diphenhydramine-50mg', 0, qty(25, 'mg'), 'diphenhydramine 25 mg IV push before IVIG', 2),
        infusion(
          'ivig-privigen-10g',
          15,
          150 + Math.round(grams * 2),
          qty(grams, 'g'),
          `immune globulin 10% 0.4 g/kg (${grams} g) IV, titrate per protocol`,
          { discarded: fromVials('ivig-privigen-10g', grams) },
        ),
      ];
    },
  },
  'iron-sucrose': {
    therapyClass: 'iron',
    dx: ['D50.0'],
    orderer: 'im',
    observe: 15,
    admins: () => [
      push(
        'iron-sucrose-100mg',
        0,
        qty(200, 'mg'),
        'iron sucrose 200 mg slow IV push over 5 min, 5 doses',
        5,
      ),
    ],
  },
  'ferric-carboxymaltose': {
    therapyClass: 'iron',
    dx: ['D50.0'],
    orderer: 'im',
    observe: 30,
    admins: () => [
      infusion(
        'ferric-carboxymaltose-750mg',
        0,
        18,
        qty(750, 'mg'),
        'ferric carboxymaltose 750 mg IV over at least 15 min, repeat in 7 days',
      ),
    ],
  },
  hydration: {
    therapyClass: 'hydration',
    dx: ['E86.0', 'R11.2'],
    orderer: 'im',
    observe: 10,
    admins: () => [
      push('ondansetron-40mg', 0, qty(8, 'mg'), 'ondansetron 8 mg IV push for nausea'),
      infusion('ns-1000ml', 5, 120, qty(1000, 'mL'), 'NS 1,000 mL IV over 2 h for dehydration', {
        rate: qty(500, 'mL/h'),
      }),
    ],
  },
  ceftriaxone: {
    therapyClass: 'anti-infective',
    dx: ['L03.115'],
    orderer: 'id',
    observe: 10,
    admins: () => [
      infusion('ceftriaxone-2g', 0, 30, qty(2, 'g'), 'ceftriaxone 2 g IV over 30 min every 24 h'),
    ],
  },
  vancomycin: {
    therapyClass: 'anti-infective',
    dx: ['L03.115'],
    orderer: 'id',
    observe: 10,
    admins: () => [
      infusion(
        'vancomycin-500mg',
        0,
        120,
        qty(1500, 'mg'),
        'vancomycin 1,500 mg IV over 2 h every 12 h (trough-guided)',
      ),
    ],
  },
  denosumab: {
    therapyClass: 'injection',
    dx: ['M81.0'],
    orderer: 'im',
    observe: 10,
    admins: ({ rng }) => [
      injection(
        'denosumab-60mg',
        0,
        qty(60, 'mg'),
        rng.pick(['l-upper-arm', 'r-upper-arm', 'abdomen'] as const),
        'denosumab 60 mg SC every 6 months',
      ),
    ],
  },
  leuprolide: {
    therapyClass: 'injection',
    dx: ['C61'],
    orderer: 'onc2',
    observe: 10,
    admins: () => [
      injection(
        'leuprolide-22.5mg',
        0,
        qty(22.5, 'mg'),
        'buttock',
        'leuprolide acetate depot 22.5 mg IM every 3 months',
      ),
    ],
  },
  'methotrexate-sc': {
    therapyClass: 'injection',
    dx: ['L40.50'],
    orderer: 'rheum',
    observe: 10,
    admins: () => [
      {
        ...injection('methotrexate-50mg', 0, qty(25, 'mg'), 'abdomen', 'methotrexate 25 mg SC weekly'),
        discarded: fromVials('methotrexate-50mg', 25),
      },
    ],
  },
  b12: {
    therapyClass: 'injection',
    dx: ['D51.0'],
    orderer: 'im',
    observe: 5,
    admins: ({ rng }) => [
      injection(
        'cyanocobalamin-1000mcg',
        0,
        qty(1000, 'ug'),
        rng.pick(['l-upper-arm', 'r-upper-arm'] as const),
        'cyanocobalamin 1,000 mcg IM monthly',
      ),
    ],
  },
} satisfies Record<string, Regimen>;
type RegimenKey = keyof typeof REGIMENS;

type PayerPlan = 'medicare' | 'medicaid' | 'commercial' | 'medicare+medicaid' | 'medicare+commercial';

/** The day's visit mix and the messy cases attached to it. */
interface PlanEntry {
  regimen: RegimenKey;
  setting: Setting;
  payer: PayerPlan;
  dx?: readonly string[];
  orderer?: PracKey;
  /** Home: the therapy episode begins today (first nursing visit). */
  newEpisode?: boolean;
  /** Home: an evening visit whose infusion runs past midnight. */
  night?: boolean;
  mutate?: (admins: AdminSpec[]) => void;
  note?: string;
  /** The commercial coverage is the spouse's, and the EHR never recorded who the spouse is. */
  spouseNotRecorded?: boolean;
  /** The entry's deliberate errors (see SeededError). */
  seeded?: readonly Omit<SeededError, 'encounter'>[];
}

/** The payer requires prior authorization for the drug and none is on file (prior-auth.json). */
const noAuthorization = (drug: string): Omit<SeededError, 'encounter'> => ({
  caughtBy: 'scrub',
  rule: 'prior-auth',
  what: `${drug}: the payer requires prior authorization and none is on file`,
});

const mutateFirst =
  (product: string, change: (a: AdminSpec) => void): ((admins: AdminSpec[]) => void) =>
  (admins) => {
    const a = admins.find((x) => x.product === product);
    if (a) {
      change(a);
    }
  };

/** The first MIN_PATIENTS_FOR_FULL_COVERAGE entries cover every setting, class, payer and messy case. */
const PLAN: readonly PlanEntry[] = [
  {
    regimen: 'paclitaxel-carboplatin',
    setting: 'office',
    payer: 'medicare',
    note: 'hydration before sequential chemo',
  },
  {
    regimen: 'folfox',
    setting: 'office',
    payer: 'commercial',
    note: 'concurrent infusions, 5-FU pump with no stop time',
    seeded: [noAuthorization('oxaliplatin and fluorouracil')],
  },
  {
    regimen: 'infliximab',
    setting: 'office',
    payer: 'commercial',
    // Charted stop time mistyped (75 min), corrected hours later to the real 120 min.
    mutate: mutateFirst('infliximab-100mg', (a) => (a.correctEnd = { chartedMinutes: 75, at: 15 * 60 + 30 })),
    seeded: [noAuthorization('infliximab')],
  },
  {
    regimen: 'rituximab-ra',
    setting: 'office',
    payer: 'medicare+commercial',
    // Infusion reaction: diphenhydramine given on a verbal order never entered.
    mutate: (admins) =>
      admins.push({
        ...push(
          'diphenhydramine-50mg',
          95,
          qty(25, 'mg'),
          'diphenhydramine 25 mg IV push for infusion reaction',
          2,
        ),
        order: 'verbal',
        noOrder: true,
        note: 'Infusion reaction: rate paused, diphenhydramine given (verbal order)',
      }),
    seeded: [
      {
        caughtBy: 'scrub',
        rule: 'doc-order',
        what: 'diphenhydramine given on a verbal order that was never entered',
      },
    ],
  },
  {
    regimen: 'vedolizumab',
    setting: 'office',
    payer: 'medicaid',
    mutate: mutateFirst('vedolizumab-300mg', (a) => (a.noDose = true)),
    seeded: [{ caughtBy: 'coding', rule: 'missing-dose', what: 'vedolizumab charted without a dose' }],
  },
  {
    regimen: 'hydration',
    setting: 'office',
    payer: 'commercial',
    dx: ['E86.0', 'R11.2', 'C50.911'],
    orderer: 'onc2',
    mutate: (admins) => {
      mutateFirst('ns-1000ml', (a) => (a.primary = true))(admins);
      mutateFirst('ondansetron-40mg', (a) => (a.duplicateVoidedAt = 14 * 60 + 10))(admins);
    },
    spouseNotRecorded: true,
    seeded: [
      {
        caughtBy: 'scrub',
        rule: 'subscriber-missing',
        what: "the coverage is the spouse's, and the EHR never recorded who the spouse is",
      },
    ],
  },
  {
    regimen: 'leuprolide',
    setting: 'office',
    payer: 'medicare',
    mutate: mutateFirst('leuprolide-22.5mg', (a) => (a.site = 'none')),
  },
  { regimen: 'ivig', setting: 'home', payer: 'medicare', dx: ['D83.9'], orderer: 'im' },
  { regimen: 'vancomycin', setting: 'home', payer: 'commercial', night: true },
  { regimen: 'ceftriaxone', setting: 'home', payer: 'medicaid', dx: ['A41.9'], newEpisode: true },
  {
    regimen: 'paclitaxel-carboplatin',
    setting: 'hopd',
    payer: 'medicare+medicaid',
    dx: ['C34.90'],
    orderer: 'onc2',
    mutate: mutateFirst('ns-500ml', (a) => (a.dateTimeOnly = true)),
    seeded: [
      {
        caughtBy: 'coding',
        rule: 'missing-stop-time',
        what: 'the saline before chemotherapy charted after the fact with a start time only',
      },
    ],
  },
  { regimen: 'rituximab-lymphoma', setting: 'hopd', payer: 'medicare' },
  { regimen: 'iron-sucrose', setting: 'hopd', payer: 'medicaid' },
  {
    regimen: 'ferric-carboxymaltose',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('ferric carboxymaltose')],
  },
  { regimen: 'ivig', setting: 'office', payer: 'medicare' },
  { regimen: 'denosumab', setting: 'office', payer: 'medicare' },
  // The rest of a full day.
  {
    regimen: 'ocrelizumab',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('ocrelizumab')],
  },
  {
    regimen: 'methotrexate-sc',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('methotrexate')],
  },
  { regimen: 'b12', setting: 'office', payer: 'medicare+medicaid' },
  { regimen: 'ceftriaxone', setting: 'office', payer: 'medicaid' },
  { regimen: 'infliximab-ra', setting: 'office', payer: 'medicare' },
  {
    regimen: 'paclitaxel-weekly',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('paclitaxel')],
  },
  {
    regimen: 'vedolizumab',
    setting: 'hopd',
    payer: 'commercial',
    dx: ['K50.90'],
    seeded: [noAuthorization('vedolizumab')],
  },
  {
    regimen: 'ivig',
    setting: 'hopd',
    payer: 'medicaid',
    dx: ['D83.9'],
    orderer: 'im',
    seeded: [noAuthorization('immune globulin')],
  },
  { regimen: 'hydration', setting: 'hopd', payer: 'medicare' },
  { regimen: 'vancomycin', setting: 'hopd', payer: 'commercial' },
  { regimen: 'ocrelizumab', setting: 'hopd', payer: 'medicare' },
  { regimen: 'ivig', setting: 'home', payer: 'commercial', seeded: [noAuthorization('immune globulin')] },
  { regimen: 'iron-sucrose', setting: 'office', payer: 'medicare+medicaid', dx: ['N18.4', 'D63.1'] },
  { regimen: 'folfox', setting: 'hopd', payer: 'medicare' },
  {
    regimen: 'infliximab-ra',
    setting: 'hopd',
    payer: 'commercial',
    seeded: [noAuthorization('infliximab')],
  },
  { regimen: 'denosumab', setting: 'office', payer: 'medicare+commercial' },
  { regimen: 'rituximab-ra', setting: 'office', payer: 'commercial', seeded: [noAuthorization('rituximab')] },
  {
    regimen: 'paclitaxel-carboplatin',
    setting: 'office',
    payer: 'commercial',
    seeded: [noAuthorization('paclitaxel and carboplatin')],
  },
  { regimen: 'ferric-carboxymaltose', setting: 'office', payer: 'medicare' },
  { regimen: 'paclitaxel-weekly', setting: 'hopd', payer: 'medicaid', dx: ['C50.911'] },
];

// ---------------------------------------------------------------------------------------------
// Demographics
// ---------------------------------------------------------------------------------------------

// prettier-ignore
const FAMILY = ['Alvarez', 'Baker', 'Chen', 'Dawson', 'Eberhardt', 'Fofana', 'Gallagher', 'Hernandez', 'Ibrahim', 'Jablonski', 'Kowalczyk', 'Lindqvist', 'Moreau', 'Nguyen', 'Okonkwo', 'Patel', 'Quintero', 'Russo', 'Sato', 'Thompson', 'Underwood', 'Vasquez', 'Washington', 'Xu', 'Yamamoto', 'Zielinski', 'Abernathy', 'Bianchi', 'Castellanos', 'Dubois', 'Esposito', 'Fischer', 'Goldberg', 'Haddad', 'Iverson', 'Jensen'];
// prettier-ignore
const GIVEN = {
  female: ['Rosa', 'Linda', 'Mei', 'Dolores', 'Aisha', 'Karen', 'Ingrid', 'Maribel', 'Tamika', 'Yuki', 'Fatima', 'Joan', 'Olga', 'Beatriz', 'Nora', 'Helen'],
  male: ['James', 'Wei', 'Harold', 'Darnell', 'Tomasz', 'Rajesh', 'Luis', 'Emeka', 'Gary', 'Hiroshi', 'Ahmed', 'Frank', 'Pavel', 'Diego', 'Walter', 'Curtis'],
} as const;
// prettier-ignore
const STREETS = ['Maple Ave', 'High St', 'Cleveland Ave', 'Morse Rd', 'Parsons Ave', 'Karl Rd', 'Sawmill Rd', 'Livingston Ave', 'Hamilton Rd', 'Broad St'];
const PLACES: readonly [string, string][] = [
  ['Columbus', '43215'],
  ['Columbus', '43206'],
  ['Columbus', '43224'],
  ['Dublin', '43017'],
  ['Westerville', '43081'],
  ['Grove City', '43123'],
  ['Reynoldsburg', '43068'],
  ['Hilliard', '43026'],
];
const ACUTE_DX: readonly string[] = ['E86.0', 'R11.2', 'L03.115', 'A41.9'];
const FEMALE_ONLY: readonly string[] = ['C56.9', 'C50.911'];
const MALE_ONLY: readonly string[] = ['C61'];

/** Medicare Beneficiary Identifier shape: C A AN N A AN N A A N N (letters exclude S, L, O, I, B, Z). */
function mbi(rng: Rng): string {
  const L = 'ACDEFGHJKMNPQRTUVWXY';
  const N = '0123456789';
  const letter = (): string => nth(L.split(''), rng.int(0, L.length - 1));
  const digit = (min = 0): string => nth(N.split(''), rng.int(min, 9));
  const alnum = (): string => (rng.next() < 0.5 ? letter() : digit());
  return [
    digit(1),
    letter(),
    alnum(),
    digit(),
    letter(),
    alnum(),
    digit(),
    letter(),
    letter(),
    digit(),
    digit(),
  ].join('');
}

/**
 * The spouse who holds a patient's commercial coverage (Coverage.subscriber), drawn without the PRNG
 * so adding it changes nothing else of the day: a name from the other list, the same address, an
 * age near the patient's.
 */
function spouseOf(patient: Patient, n: number): RelatedPerson {
  const gender = patient.gender === 'female' ? 'male' : 'female';
  const given = nth(GIVEN[gender], (n * 7) % GIVEN[gender].length);
  return {
    resourceType: 'RelatedPerson',
    id: `rp-${pad(n)}`,
    active: true,
    patient: ref<Patient>('Patient', patient.id ?? ''),
    relationship: [coding('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'SPS', 'spouse')],
    name: [{ use: 'official', family: patient.name?.[0]?.family ?? '', given: [given] }],
    gender,
    birthDate: shiftDate(patient.birthDate ?? '1970-01-01', ((n * 131) % 1461) - 730),
    ...(patient.address ? { address: structuredClone(patient.address) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

interface PendingStep {
  minute: number;
  seq: number;
  step: Omit<TimelineStep, 'at'>;
}

export function generateInfusionDay(options: InfusionDayOptions): InfusionDay {
  const { date, patients = 36, seed = 1, timeZone = '-05:00' } = options;
  if (!Number.isInteger(patients) || patients < 1 || patients > 999) {
    throw new Error('patients must be an integer from 1 to 999');
  }
  const clock = makeClock(date, timeZone);
  const rng = makeRng(seed);
  const day = (offsetDays: number): string => shiftDate(date, offsetDays);

  const reference: Resource[] = [...organizations(), ...locations(), ...practitioners(), ...medications()];
  const pending: PendingStep[] = [];
  let seq = 0;
  const emit = (minute: number, action: 'create' | 'update', resource: Resource, note?: string): void => {
    // Each step carries its own snapshot, so later edits of the same object cannot leak into it.
    pending.push({
      minute,
      seq: seq++,
      step: { action, resource: structuredClone(resource), ...(note ? { note } : {}) },
    });
  };

  // Who gets which visit is the seed's choice; the plan fixes the mix.
  const entries = Array.from({ length: patients }, (_, i) => nth(PLAN, i % PLAN.length));
  const order = rng.shuffle(entries.map((_, i) => i));
  const nurseLoad: Record<Setting, number> = { office: 0, hopd: 0, home: 0 };
  const usedNames = new Set<string>();
  const seededErrors: SeededError[] = [];

  order.forEach((planIndex, i) => {
    const entry = nth(entries, planIndex);
    const n = i + 1;
    const pid = `pat-${pad(n)}`;
    const regimen: Regimen = REGIMENS[entry.regimen];
    const dxCodes = entry.dx ?? regimen.dx;
    const orderer = entry.orderer ?? regimen.orderer;

    // --- demographics
    const medicareAge = entry.payer.startsWith('medicare');
    const age = medicareAge ? rng.int(66, 88) : rng.int(24, 63);
    const gender: 'female' | 'male' = dxCodes.some((c) => FEMALE_ONLY.includes(c))
      ? 'female'
      : dxCodes.some((c) => MALE_ONLY.includes(c))
        ? 'male'
        : rng.next() < 0.55
          ? 'female'
          : 'male';
    let family = rng.pick(FAMILY);
    let given = rng.pick(GIVEN[gender]);
    while (usedNames.has(`${given} ${family}`) && usedNames.size < FAMILY.length * GIVEN[gender].length) {
      family = rng.pick(FAMILY);
      given = rng.pick(GIVEN[gender]);
    }
    usedNames.add(`${given} ${family}`);
    const birthDate = shiftDate(`${Number(date.slice(0, 4)) - age}-01-01`, rng.int(0, 364));
    const [city, postalCode] = rng.pick(PLACES);
    const weightKg = gender === 'female' ? rng.int(52, 95) : rng.int(64, 112);
    const heightCm = gender === 'female' ? rng.int(152, 175) : rng.int(165, 190);
    const bsa = Number(Math.sqrt((weightKg * heightCm) / 3600).toFixed(2));
    const patient: Patient = {
      resourceType: 'Patient',
      id: pid,
      active: true,
      identifier: [
        {
          use: 'usual',
          type: coding('http://terminology.hl7.org/CodeSystem/v2-0203', 'MR', 'Medical record number'),
          system: SYSTEMS.mrn,
          value: `E${String(4_100_000 + n * 7919 + seed * 13).padStart(7, '0')}`,
        },
      ],
      name: [{ use: 'official', family, given: [given] }],
      telecom: [
        { system: 'phone', value: `614-555-${pad(1000 + n * 37 + (seed % 50), 4).slice(-4)}`, use: 'home' },
      ],
      gender,
      birthDate,
      address: [
        {
          use: 'home',
          line: [`${rng.int(100, 9899)} ${rng.pick(STREETS)}`],
          city,
          state: 'OH',
          postalCode,
          country: 'US',
        },
      ],
    };
    reference.push(patient);

    // --- coverage
    const carrier = rng.pick(COMMERCIAL);
    const plans: PayerKey[] =
      entry.payer === 'medicare'
        ? ['medicare']
        : entry.payer === 'medicaid'
          ? ['medicaid']
          : entry.payer === 'commercial'
            ? [carrier]
            : entry.payer === 'medicare+medicaid'
              ? ['medicare', 'medicaid']
              : ['medicare', carrier];
    // (The draw is made for every commercial entry, so a forced spouse changes no other draw.)
    const spouseSubscriber =
      (entry.payer === 'commercial' && rng.next() < 0.35) || entry.spouseNotRecorded === true;
    const spouse = spouseSubscriber && !entry.spouseNotRecorded ? spouseOf(patient, n) : undefined;
    if (spouse) {
      reference.push(spouse);
    }
    plans.forEach((payerKey, k) => {
      const payer = PAYERS[payerKey];
      const isCommercial = COMMERCIAL.includes(payerKey);
      const subscriberId =
        payerKey === 'medicare'
          ? mbi(rng)
          : payerKey === 'medicaid'
            ? String(rng.int(100000, 999999)) + String(rng.int(100000, 999999))
            : `${payer.payerId.slice(0, 3)}${rng.int(10000000, 99999999)}${spouseSubscriber ? '02' : '01'}`;
      const coverage: Coverage = {
        resourceType: 'Coverage',
        id: `cov-${pad(n)}-${k + 1}`,
        status: 'active',
        identifier: [
          { system: payerKey === 'medicare' ? SYSTEMS.mbi : SYSTEMS.memberId, value: subscriberId },
        ],
        type: coding(SYSTEMS.payerType, payer.sopt[0], payer.sopt[1]),
        ...(spouseSubscriber && isCommercial
          ? spouse
            ? { subscriber: ref<RelatedPerson>('RelatedPerson', spouse.id ?? '') }
            : {}
          : { subscriber: ref<Patient>('Patient', pid) }),
        subscriberId,
        beneficiary: ref<Patient>('Patient', pid),
        relationship: coding(
          'http://terminology.hl7.org/CodeSystem/subscriber-relationship',
          spouseSubscriber && isCommercial ? 'spouse' : 'self',
          spouseSubscriber && isCommercial ? 'Spouse' : 'Self',
        ),
        period: { start: `${Number(date.slice(0, 4)) - (k === 0 ? 3 : 1)}-01-01` },
        payor: [ref<Organization>('Organization', payer.id, payer.name)],
        class: [
          payerKey === 'medicare'
            ? {
                type: coding('http://terminology.hl7.org/CodeSystem/coverage-class', 'plan'),
                value: 'PART-B',
                name: 'Medicare Part B',
              }
            : payerKey === 'medicaid'
              ? {
                  type: coding('http://terminology.hl7.org/CodeSystem/coverage-class', 'plan'),
                  value: 'OH-MCD-FFS',
                  name: 'Ohio Medicaid',
                }
              : {
                  type: coding('http://terminology.hl7.org/CodeSystem/coverage-class', 'group'),
                  value: `GRP-${rng.int(10000, 99999)}`,
                  name: `${payer.name} employer group`,
                },
        ],
        order: k + 1,
      };
      reference.push(coverage);
    });

    // --- conditions
    const conditionIds = dxCodes.map((code, k) => {
      const id = `cond-${pad(n)}-${k + 1}`;
      const onsetDaysAgo = ACUTE_DX.includes(code) ? rng.int(2, 12) : rng.int(60, 1500);
      const condition: Condition = {
        resourceType: 'Condition',
        id,
        clinicalStatus: coding(
          'http://terminology.hl7.org/CodeSystem/condition-clinical',
          'active',
          'Active',
        ),
        verificationStatus: coding(
          'http://terminology.hl7.org/CodeSystem/condition-ver-status',
          'confirmed',
          'Confirmed',
        ),
        category: [
          coding(
            'http://terminology.hl7.org/CodeSystem/condition-category',
            'problem-list-item',
            'Problem List Item',
          ),
        ],
        code: {
          coding: [{ system: SYSTEMS.icd10cm, code, display: DX[code] ?? code }],
          text: DX[code] ?? code,
        },
        subject: ref<Patient>('Patient', pid),
        onsetDateTime: day(-onsetDaysAgo),
        recordedDate: day(-(onsetDaysAgo - rng.int(0, Math.min(onsetDaysAgo - 1, 30)))),
      };
      reference.push(condition);
      return id;
    });
    const reasons = conditionIds.map((id) => ref<Condition>('Condition', id));

    // --- administrations planned for today
    const ctx: PatientCtx = { weightKg, bsa, rng };
    const admins = regimen.admins(ctx);
    entry.mutate?.(admins);
    admins.sort((a, b) => a.start - b.start);
    const setting = entry.setting;
    const ivSite: SiteKey =
      regimen.therapyClass === 'chemotherapy' ? 'port' : rng.pick(['l-forearm', 'r-forearm'] as const);

    // --- orders (MedicationRequest), one per order key
    const ordererRef = ref<Practitioner>(
      'Practitioner',
      physicianId(orderer),
      `${PHYSICIANS[orderer].given} ${PHYSICIANS[orderer].family}, MD`,
    );
    const orderIds = new Map<string, string>();
    for (const a of admins) {
      if (a.noOrder || orderIds.has(a.order)) {
        continue;
      }
      const t = therapy(a.product);
      const id = `mr-${pad(n)}-${a.order}`;
      orderIds.set(a.order, id);
      const request: MedicationRequest = {
        resourceType: 'MedicationRequest',
        id,
        identifier: [
          { system: SYSTEMS.orderNumber, value: `ORD${pad(n)}${pad(orderIds.size, 2)}${pad(seed % 1000)}` },
        ],
        status: 'active',
        intent: 'order',
        ...medicationOf(t),
        subject: ref<Patient>('Patient', pid),
        // Standing orders were signed days ago; a same-day hydration order that morning.
        authoredOn:
          entry.regimen === 'hydration'
            ? zonedIso(date, 6 * 60 + rng.int(0, 11) * 5, timeZone)
            : zonedIso(day(-rng.int(2, 20)), rng.int(8, 16) * 60 + rng.int(0, 11) * 5, timeZone),
        requester: ordererRef,
        reasonReference: reasons.slice(0, 1),
        dosageInstruction: [
          {
            text: a.orderText,
            route: coding(SYSTEMS.snomed, ROUTES[t.route][0], ROUTES[t.route][1]),
            method: techniqueCode(a.technique),
            ...(a.dose
              ? { doseAndRate: [{ doseQuantity: a.dose, ...(a.rate ? { rateQuantity: a.rate } : {}) }] }
              : {}),
          },
        ],
      };
      reference.push(request);
    }

    // --- encounters and the day's timeline
    const totalMinutes =
      Math.max(...admins.map((a) => a.start + (a.openEnded ? 0 : a.minutes))) + regimen.observe;
    const setup = setting === 'home' ? 20 : 15;
    let arrival: number;
    if (entry.night) {
      arrival = 22 * 60;
    } else if (setting === 'home') {
      arrival = 8 * 60 + 5 * rng.int(0, Math.max(0, Math.floor((17 * 60 - totalMinutes - 8 * 60) / 5)));
    } else {
      const open = setting === 'office' ? 7 * 60 + 30 : 7 * 60;
      const close = setting === 'office' ? 18 * 60 : 19 * 60;
      arrival = open + 5 * rng.int(0, Math.max(0, Math.floor((close - totalMinutes - setup - open) / 5)));
    }
    const chair = arrival + setup;
    const teaching = entry.newEpisode ? 60 : 0;
    const departure = chair + totalMinutes + teaching;

    const nurseIndex = nurseLoad[setting]++ % NURSES[setting].length;
    const nurse = ref<Practitioner>('Practitioner', nurseId(setting, nurseIndex));
    const where = SETTING_OF[setting];
    const encId = `enc-${pad(n)}-1`;
    const episodeId = `enc-${pad(n)}-ep`;
    seededErrors.push(...(entry.seeded ?? []).map((e) => ({ encounter: encId, ...e })));

    if (setting === 'home') {
      const episode: Encounter = {
        resourceType: 'Encounter',
        id: episodeId,
        identifier: [{ system: SYSTEMS.visitNumber, value: `HI${pad(n)}${pad(seed % 1000)}` }],
        status: 'in-progress',
        class: { system: SYSTEMS.actCode, code: 'HH', display: 'home health' },
        type: [encounterType('home-infusion-episode', 'Home infusion therapy episode', where.pos)],
        serviceType: { text: `Home infusion therapy: ${regimen.therapyClass}` },
        subject: ref<Patient>('Patient', pid),
        participant: [
          { type: [coding(SYSTEMS.participationType, 'REF', 'referrer')], individual: ordererRef },
        ],
        period: {
          start: entry.newEpisode ? clock(arrival - 30) : zonedIso(day(-rng.int(4, 40)), 10 * 60, timeZone),
        },
        reasonReference: reasons,
        location: [{ location: ref<Location>('Location', LOC_HOME), status: 'active' }],
        serviceProvider: ref<Organization>('Organization', ORG_HOME),
      };
      if (entry.newEpisode) {
        emit(arrival - 30, 'create', episode, 'Home infusion referral accepted: therapy episode opened');
      } else {
        reference.push(episode);
      }
    }

    const encounter: Encounter = {
      resourceType: 'Encounter',
      id: encId,
      identifier: [{ system: SYSTEMS.visitNumber, value: `V${date.replaceAll('-', '')}${pad(n)}` }],
      status: 'arrived',
      class:
        setting === 'home'
          ? { system: SYSTEMS.actCode, code: 'HH', display: 'home health' }
          : { system: SYSTEMS.actCode, code: 'AMB', display: 'ambulatory' },
      type: [
        encounterType(
          setting === 'office'
            ? 'office'
            : setting === 'hopd'
              ? 'hospital-outpatient'
              : 'home-infusion-visit',
          setting === 'home' && entry.newEpisode ? 'Home infusion nursing visit (first visit)' : where.label,
          where.pos,
        ),
      ],
      serviceType: {
        text: setting === 'hopd' ? 'Hospital outpatient infusion department' : 'Infusion therapy',
      },
      subject: ref<Patient>('Patient', pid),
      participant: [
        {
          type: [
            coding(
              SYSTEMS.participationType,
              setting === 'office' ? 'ATND' : 'REF',
              setting === 'office' ? 'attender' : 'referrer',
            ),
          ],
          individual: ordererRef,
        },
        { type: [coding(SYSTEMS.participationType, 'PART', 'Participation')], individual: nurse },
      ],
      period: { start: clock(arrival) },
      reasonReference: reasons,
      location: [
        {
          location: ref<Location>('Location', where.location),
          status: 'active',
          period: { start: clock(arrival) },
        },
      ],
      serviceProvider: ref<Organization>('Organization', where.org),
      ...(setting === 'home' ? { partOf: ref<Encounter>('Encounter', episodeId) } : {}),
    };
    emit(arrival, 'create', encounter, `${given} ${family} arrived (${where.label})`);
    const inProgress: Encounter = {
      ...encounter,
      status: 'in-progress',
      statusHistory: [{ status: 'arrived', period: { start: clock(arrival), end: clock(arrival + 5) } }],
    };
    emit(
      arrival + 5,
      'update',
      inProgress,
      setting === 'home' ? 'Nurse assessment, line access' : 'Roomed in infusion chair',
    );

    admins.forEach((a, k) => {
      const t = therapy(a.product);
      const id = `ma-${pad(n)}-1-${k + 1}`;
      const start = chair + a.start;
      const end = start + a.minutes;
      const site =
        a.site === 'none'
          ? undefined
          : a.site && a.site !== 'iv'
            ? a.site
            : t.route === 'IV'
              ? ivSite
              : undefined;
      const requestId = orderIds.get(a.order);
      const final: MedicationAdministration = {
        resourceType: 'MedicationAdministration',
        id,
        ...(a.primary ? { extension: [{ url: EXTENSION_PRIMARY_SERVICE, valueBoolean: true }] } : {}),
        status: a.openEnded ? 'in-progress' : 'completed',
        category: coding(
          'http://terminology.hl7.org/CodeSystem/medication-admin-category',
          setting === 'home' ? 'community' : 'outpatient',
          setting === 'home' ? 'Community' : 'Outpatient',
        ),
        ...medicationOf(t),
        subject: ref<Patient>('Patient', pid),
        context: ref<Encounter>('Encounter', encId),
        ...(t.technique === 'injection' || a.dateTimeOnly
          ? { effectiveDateTime: clock(start) }
          : {
              effectivePeriod: a.openEnded
                ? { start: clock(start) }
                : { start: clock(start), end: clock(end) },
            }),
        performer: [
          {
            function: coding(
              'http://terminology.hl7.org/CodeSystem/med-admin-perform-function',
              'performer',
              'Performer',
            ),
            actor: nurse,
          },
        ],
        reasonReference: reasons.slice(0, 1),
        ...(requestId ? { request: ref<MedicationRequest>('MedicationRequest', requestId) } : {}),
        dosage: {
          ...(site ? { site: coding(SYSTEMS.snomed, SITES[site][0], SITES[site][1]) } : {}),
          route: coding(SYSTEMS.snomed, ROUTES[t.route][0], ROUTES[t.route][1]),
          method: techniqueCode(a.technique),
          ...(a.noDose ? {} : a.dose ? { dose: a.dose } : {}),
          ...(a.rate ? { rateQuantity: a.rate } : {}),
        },
      };
      if (a.discarded) {
        final.extension = [...(final.extension ?? []), discarded(a.discarded)];
      }
      if (a.note) {
        final.note = [{ text: a.note }];
      }

      const longInfusion = a.technique === 'infusion' && a.minutes > 15 && !a.dateTimeOnly;
      if (a.dateTimeOnly) {
        // Charted late, from memory, with a start time only.
        emit(
          end + 10,
          'create',
          final,
          `${ingredientName(t)}: charted after the fact with a start time only`,
        );
      } else if (longInfusion) {
        const running: MedicationAdministration = {
          ...final,
          status: 'in-progress',
          effectivePeriod: { start: clock(start) },
          extension: final.extension?.filter((e) => e.url !== EXTENSION_DISCARDED_AMOUNT),
        };
        if (!running.extension?.length) {
          delete running.extension;
        }
        emit(start, 'create', running, a.note ?? `${ingredientName(t)} infusion started`);
        if (a.correctEnd) {
          const charted = {
            ...final,
            effectivePeriod: { start: clock(start), end: clock(start + a.correctEnd.chartedMinutes) },
          };
          emit(
            start + a.correctEnd.chartedMinutes,
            'update',
            charted,
            `${ingredientName(t)} charted as stopped (wrong stop time)`,
          );
          emit(
            Math.max(a.correctEnd.at, end + 60),
            'update',
            final,
            `${ingredientName(t)}: stop time corrected by the nurse`,
          );
        } else if (!a.openEnded) {
          emit(end, 'update', final, `${ingredientName(t)} infusion stopped`);
        }
      } else {
        emit(end, 'create', final, a.note ?? `${ingredientName(t)} given (${a.technique})`);
      }

      if (a.duplicateVoidedAt !== undefined) {
        const dupId = `ma-${pad(n)}-1-${admins.length + 1}`;
        const duplicate: MedicationAdministration = { ...final, id: dupId };
        emit(end + 3, 'create', duplicate, `${ingredientName(t)} charted a second time by mistake`);
        emit(
          Math.max(a.duplicateVoidedAt, end + 45),
          'update',
          { ...duplicate, status: 'entered-in-error' },
          'Duplicate charting voided',
        );
      }
    });

    const finished: Encounter = {
      ...encounter,
      status: 'finished',
      period: { start: clock(arrival), end: clock(departure) },
      location: [
        {
          location: ref<Location>('Location', where.location),
          status: 'completed',
          period: { start: clock(arrival), end: clock(departure) },
        },
      ],
      statusHistory: [
        { status: 'arrived', period: { start: clock(arrival), end: clock(arrival + 5) } },
        { status: 'in-progress', period: { start: clock(arrival + 5), end: clock(departure) } },
      ],
    };
    emit(
      departure,
      'update',
      finished,
      setting === 'home' ? 'Nurse left the home' : 'Patient discharged from the infusion area',
    );
  });

  pending.sort((a, b) => a.minute - b.minute || a.seq - b.seq);
  return {
    reference,
    timeline: pending.map(({ minute, step }) => ({ at: clock(minute), ...step })),
    seededErrors,
  };
}

function medicationOf(
  t: TherapyProduct,
): { medicationReference: Reference<Medication> } | { medicationCodeableConcept: CodeableConcept } {
  return t.inlineCode
    ? {
        medicationCodeableConcept: {
          coding: [{ system: SYSTEMS.ndc, code: t.ndc, display: t.name }],
          text: t.name,
        },
      }
    : { medicationReference: ref<Medication>('Medication', `med-${t.key}`, t.name) };
}

function techniqueCode(technique: Technique): CodeableConcept {
  const display = technique === 'push' ? 'IV push' : technique === 'infusion' ? 'Infusion' : 'Injection';
  return coding(SYSTEMS.technique, technique, display);
}

function encounterType(code: string, display: string, pos: [string, string]): CodeableConcept {
  return {
    coding: [
      { system: SYSTEMS.careSetting, code, display },
      { system: SYSTEMS.placeOfService, code: pos[0], display: pos[1] },
    ],
    text: display,
  };
}

function discarded(amount: Quantity): Extension {
  return { url: EXTENSION_DISCARDED_AMOUNT, valueQuantity: amount };
}
