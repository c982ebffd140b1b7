/**
 * CodingInput → the collection Bundle an EHR would send for it: Patient, Coverage (Source of
 * Payment Typology for the payer) and its payor Organization, the clinic Organization, Encounters
 * (type = place of service / care setting, class, period, partOf, diagnosis → Conditions),
 * Medications (NDC / RxNorm / HCPCS coding, package amount), MedicationRequests for ordered
 * administrations, and MedicationAdministrations (status, effective[x], dosage route / method / site /
 * dose, discarded-amount and primary-service extensions, request, context).
 *
 * Only what the input documents goes into the Bundle, so `extractCodingInput(bundle)` must code
 * exactly as the engine codes `input` (the one addition, Medication.amount for a catalogued NDC,
 * is the package the engine would look up anyway). Instants are written in the clinic's offset
 * when the input has one (`options.utcOffset`), the way an EHR records local times.
 */
import type {
  BundleEntry,
  Bundle,
  CodeableConcept,
  Condition,
  Coverage,
  Encounter,
  Extension,
  Medication,
  MedicationAdministration,
  MedicationRequest,
  Organization,
  Patient,
  Quantity as FhirQuantity,
  Resource,
} from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { SYSTEMS } from '../../src/coding/fhir/extract.ts';
import type { CodingTables } from '../../src/coding/tables/types.ts';
import type {
  CareSetting,
  CodingInput,
  DocumentedAdministration,
  EncounterContext,
  PayerKind,
  Quantity,
  Route,
} from '../../src/coding/types.ts';
import {
  EXT_ADMINISTRATION_CATEGORY,
  EXT_DISCARDED_AMOUNT,
  EXT_PRIMARY_SERVICE,
} from '../../src/contract/canonical.ts';

export const EHR_BASE = 'https://ehr.example.org/fhir';
export const PATIENT_ID = 'pat-4471';
const UCUM = 'http://unitsofmeasure.org';
const POS = 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set.html';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const DATA_ABSENT = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

const ROUTE_CODING: Readonly<Record<Route, { code: string; display: string }>> = {
  intravenous: { code: '47625008', display: 'Intravenous route' },
  subcutaneous: { code: '34206005', display: 'Subcutaneous route' },
  intramuscular: { code: '78421000', display: 'Intramuscular route' },
  other: { code: '26643006', display: 'Oral route' },
};

/** Documented site keys the scenarios use → what a flowsheet records. */
const SITES: Readonly<Record<string, CodeableConcept>> = {
  L: {
    coding: [{ system: SYSTEMS.snomed, code: '368208006', display: 'Left upper arm structure' }],
    text: 'L antecubital',
  },
  R: {
    coding: [{ system: SYSTEMS.snomed, code: '368209003', display: 'Right upper arm structure' }],
    text: 'R forearm',
  },
  port: { text: 'Implanted venous access port (R chest)' },
};

const PAYERS: Readonly<Record<PayerKind, { sopt: string; display: string; org: string }>> = {
  medicare: { sopt: '121', display: 'Medicare FFS', org: 'Novitas Solutions (Medicare Part B)' },
  medicaid: { sopt: '2', display: 'MEDICAID', org: 'Texas Health and Human Services (Medicaid)' },
  commercial: { sopt: '512', display: 'Commercial Managed Care - PPO', org: 'Aetna Life Insurance Company' },
};

const SETTING_TYPE: Readonly<Record<CareSetting, CodeableConcept>> = {
  office: { coding: [{ system: POS, code: '11', display: 'Office' }] },
  'hospital-outpatient': { coding: [{ system: POS, code: '22', display: 'On Campus-Outpatient Hospital' }] },
  home: {
    coding: [
      { system: SYSTEMS.careSetting, code: 'home', display: 'Home infusion' },
      { system: POS, code: '12', display: 'Home' },
    ],
  },
};

const ICD10: Readonly<Record<string, string>> = {
  'K50.90': "Crohn's disease, unspecified, without complications",
  'A41.9': 'Sepsis, unspecified organism',
  'B00.4': 'Herpesviral encephalitis',
  'C18.9': 'Malignant neoplasm of colon, unspecified',
};

function slug(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}

/** An instant in a fixed offset ("-05:00"): 2025-03-11T03:00:00Z → 2025-03-10T22:00:00-05:00. */
export function inOffset(iso: string, offset: string | undefined): string {
  const m = offset ? /^([+-])(\d{2}):?(\d{2})$/.exec(offset) : null;
  if (!m) {
    return iso;
  }
  const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  const local = new Date(Date.parse(iso) + minutes * 60_000).toISOString().slice(0, 19);
  return `${local}${m[1]}${m[2]}:${m[3]}`;
}

function quantity(q: Quantity): FhirQuantity {
  return { value: q.value, unit: q.unit, system: UCUM, code: q.unit };
}

function entry(resource: Resource & { id: string }): BundleEntry {
  return { fullUrl: `${EHR_BASE}/${resource.resourceType}/${resource.id}`, resource };
}

function medicationCode(drug: DocumentedAdministration['drug']): CodeableConcept {
  return {
    coding: [
      ...(drug.ndc ? [{ system: SYSTEMS.ndc, code: drug.ndc }] : []),
      ...(drug.rxnorm ? [{ system: SYSTEMS.rxnorm, code: drug.rxnorm }] : []),
      ...(drug.hcpcs ? [{ system: SYSTEMS.hcpcs, code: drug.hcpcs }] : []),
    ],
    ...(drug.text ? { text: drug.text } : {}),
  };
}

/** The container size: documented, else the catalogue package of a documented NDC (what the engine would use). */
function packageAmount(
  adm: DocumentedAdministration,
  tables: CodingTables | undefined,
): Quantity | undefined {
  if (adm.packageSize) {
    return adm.packageSize;
  }
  if (!adm.drug.ndc || !tables) {
    return undefined;
  }
  const digits = adm.drug.ndc.replace(/-/g, '');
  for (const drug of tables.drugs.drugs) {
    const pkg = drug.packages.find((p) => p.ndc === adm.drug.ndc || p.ndc11 === digits);
    if (pkg) {
      return pkg.contains;
    }
  }
  return undefined;
}

function effective(
  adm: DocumentedAdministration,
  offset: string | undefined,
): Partial<MedicationAdministration> {
  const start = adm.start ? inOffset(adm.start, offset) : undefined;
  const end = adm.end ? inOffset(adm.end, offset) : undefined;
  if (end) {
    return { effectivePeriod: { ...(start ? { start } : {}), end } };
  }
  if (start) {
    // A running infusion has a period without an end; a push or shot is a moment.
    const moment =
      adm.method === 'push' ||
      adm.method === 'injection' ||
      (adm.route !== undefined && adm.route !== 'intravenous');
    return moment ? { effectiveDateTime: start } : { effectivePeriod: { start } };
  }
  // effective[x] is required: say why it is absent.
  return {
    _effectiveDateTime: { extension: [{ url: DATA_ABSENT, valueCode: 'unknown' }] },
  } as Partial<MedicationAdministration>;
}

export interface BundleOptions {
  /** Tables for the catalogue package amounts of NDC Medications (omit: no Medication.amount unless documented). */
  readonly tables?: CodingTables;
}

export function toFhirBundle(input: CodingInput, opts: BundleOptions = {}): Bundle {
  const offset = input.options?.utcOffset;
  const patientRef = { reference: `Patient/${PATIENT_ID}` };
  const payer = PAYERS[input.payer];
  const resources: (Resource & { id: string })[] = [];

  const patient: Patient & { id: string } = {
    resourceType: 'Patient',
    id: PATIENT_ID,
    identifier: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        system: 'https://ehr.example.org/mrn',
        value: 'MRN-0044711',
      },
    ],
    name: [{ family: 'Okafor', given: ['Adaeze'] }],
    gender: 'female',
    birthDate: '1958-07-14',
  };
  const clinic: Organization & { id: string } = {
    resourceType: 'Organization',
    id: 'org-clinic',
    identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
    name: 'Riverside Infusion Center',
  };
  const payor: Organization & { id: string } = {
    resourceType: 'Organization',
    id: `org-payer-${input.payer}`,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'ins' }] }],
    name: payer.org,
  };
  const coverage: Coverage & { id: string } = {
    resourceType: 'Coverage',
    id: 'cov-primary',
    status: 'active',
    type: { coding: [{ system: SYSTEMS.sourceOfPayment, code: payer.sopt, display: payer.display }] },
    subscriberId: 'XQ7730021',
    beneficiary: patientRef,
    relationship: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }],
    },
    payor: [{ reference: `Organization/${payor.id}`, display: payer.org }],
    order: 1,
  };
  resources.push(patient, clinic, payor, coverage);

  for (const e of input.encounters) {
    resources.push(...encounterResources(e, input.setting, offset));
  }

  const medications = new Map<string, Medication & { id: string }>();
  for (const adm of input.administrations) {
    const amount = packageAmount(adm, opts.tables);
    const onMedication = adm.category?.on === 'medication' ? adm.category.family : undefined;
    const identity = JSON.stringify([adm.drug, amount, adm.concentration, onMedication]);
    let medication = medications.get(identity);
    if (
      !medication &&
      (adm.drug.ndc || adm.drug.rxnorm || adm.drug.hcpcs || adm.concentration || onMedication)
    ) {
      medication = {
        resourceType: 'Medication',
        id: `med-${slug(identity)}`,
        ...(onMedication
          ? { extension: [{ url: EXT_ADMINISTRATION_CATEGORY, valueCode: onMedication }] }
          : {}),
        code: medicationCode(adm.drug),
        status: 'active',
        ...(adm.concentration
          ? {
              ingredient: [
                {
                  itemCodeableConcept: medicationCode(adm.drug),
                  isActive: true,
                  strength: {
                    numerator: quantity(adm.concentration.contains),
                    denominator: { value: adm.concentration.volumeMl, unit: 'mL', system: UCUM, code: 'mL' },
                  },
                },
              ],
            }
          : {}),
        ...(amount
          ? {
              amount: {
                numerator: quantity(amount),
                denominator: {
                  value: 1,
                  unit: 'vial',
                  system: 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm',
                  code: 'VIAL',
                },
              },
            }
          : {}),
      };
      medications.set(identity, medication);
      resources.push(medication);
    }
    const medicationX = medication
      ? { medicationReference: { reference: `Medication/${medication.id}` } }
      : { medicationCodeableConcept: medicationCode(adm.drug) };
    const encounter = { reference: `Encounter/${adm.encounterId}` };
    if (adm.ordered) {
      const request: MedicationRequest & { id: string } = {
        resourceType: 'MedicationRequest',
        id: `rx-${adm.id}`,
        ...(adm.category?.on === 'order'
          ? { extension: [{ url: EXT_ADMINISTRATION_CATEGORY, valueCode: adm.category.family }] }
          : {}),
        status: 'completed',
        intent: 'order',
        ...medicationX,
        subject: patientRef,
        encounter,
      };
      resources.push(request);
    }
    const extension: Extension[] = [
      ...(adm.discarded ? [{ url: EXT_DISCARDED_AMOUNT, valueQuantity: quantity(adm.discarded) }] : []),
      ...(adm.primary !== undefined ? [{ url: EXT_PRIMARY_SERVICE, valueBoolean: adm.primary }] : []),
    ];
    const site = adm.site ? (SITES[adm.site] ?? { text: adm.site }) : undefined;
    const administration: MedicationAdministration & { id: string } = {
      resourceType: 'MedicationAdministration',
      id: adm.id,
      ...(extension.length > 0 ? { extension } : {}),
      status: adm.status,
      ...medicationX,
      subject: patientRef,
      context: encounter,
      ...effective(adm, offset),
      ...(adm.ordered ? { request: { reference: `MedicationRequest/rx-${adm.id}` } } : {}),
      dosage: {
        ...(site ? { site } : {}),
        ...(adm.route ? { route: { coding: [{ system: SYSTEMS.snomed, ...ROUTE_CODING[adm.route] }] } } : {}),
        ...(adm.method
          ? { method: { coding: [{ system: SYSTEMS.technique, code: adm.method, display: adm.method }] } }
          : {}),
        ...(adm.dose ? { dose: quantity(adm.dose) } : {}),
      },
    };
    resources.push(administration);
  }

  return {
    resourceType: 'Bundle',
    id: `coding-${slug(JSON.stringify(input))}`,
    type: 'collection',
    timestamp: '2025-03-12T06:00:00Z',
    entry: resources.map(entry),
  };
}

function encounterResources(
  e: EncounterContext,
  setting: CareSetting,
  offset: string | undefined,
): (Resource & { id: string })[] {
  const conditions: (Condition & { id: string })[] = e.diagnoses.map((code) => ({
    resourceType: 'Condition',
    id: `cond-${e.id}-${code.replace(/\./g, '')}`,
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    verificationStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
    },
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' },
        ],
      },
    ],
    code: { coding: [{ system: SYSTEMS.icd10cm, code, ...(ICD10[code] ? { display: ICD10[code] } : {}) }] },
    subject: { reference: `Patient/${PATIENT_ID}` },
    encounter: { reference: `Encounter/${e.id}` },
  }));
  const home = setting === 'home';
  const start = e.start ? inOffset(e.start, offset) : undefined;
  const end = e.end ? inOffset(e.end, offset) : undefined;
  const encounter: Encounter & { id: string } = {
    resourceType: 'Encounter',
    id: e.id,
    status: end ? 'finished' : 'in-progress',
    class: home
      ? { system: ACT_CODE, code: 'HH', display: 'home health' }
      : { system: ACT_CODE, code: 'AMB', display: 'ambulatory' },
    type: [SETTING_TYPE[setting]],
    subject: { reference: `Patient/${PATIENT_ID}` },
    ...(start || end ? { period: { ...(start ? { start } : {}), ...(end ? { end } : {}) } } : {}),
    ...(conditions.length > 0
      ? {
          diagnosis: conditions.map((c, i) => ({
            condition: { reference: `Condition/${c.id}` },
            use: {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/diagnosis-role', code: 'billing' }],
            },
            rank: i + 1,
          })),
        }
      : {}),
    ...(e.partOf ? { partOf: { reference: `Encounter/${e.partOf}` } } : {}),
    serviceProvider: { reference: 'Organization/org-clinic' },
  };
  return [encounter, ...conditions];
}
