/**
 * FHIR → engine input: reads one patient's Encounters, MedicationAdministrations, Medications and
 * Conditions (a collection Bundle, or resources from the store) and produces the engine's
 * CodingInput. Pure. The mapping is Dripline's FHIR contract (README "Coding contract"):
 *
 * - drug: NDC (http://hl7.org/fhir/sid/ndc, any printed form), RxNorm or HCPCS coding on
 *   Medication.code or MedicationAdministration.medicationCodeableConcept, and its text (code text,
 *   displays, ingredient names) for the name fallback; package size from Medication.amount
 *   (numerator); strength (amount per mL, for doses in mL) from the single active ingredient's
 *   strength, else Medication.amount as a ratio over mL;
 * - administration family documented on the order (MedicationRequest), else the Medication:
 *   extension administration-category (valueCode chemo-complex | therapeutic | hydration, R1.2);
 * - route from dosage.route (SNOMED 47625008 IV, 34206005 SC, 78421000 IM; HL7 v3
 *   RouteOfAdministration IV…, SC/SQ…, IM…; else the route's words); technique from
 *   dosage.method when present (Dripline's administration-technique codes, or the words push /
 *   infusion / injection), else derived by the engine from the duration;
 * - site from dosage.site; dose from dosage.dose (UCUM); times from effectivePeriod / effectiveDateTime;
 * - documented waste in extension discarded-amount (Quantity); the office's primary service in
 *   extension primary-service (boolean);
 * - diagnoses (ICD-10-CM) from the administration's reasonReference, then the Encounter's
 *   reasonReference and diagnosis Conditions;
 * - the clinic's UTC offset for dates of service, when the tenant configures none, from the offset
 *   the EHR wrote on the first Encounter.period.start (else administration start): EHRs record
 *   local times, and 22:00-05:00 is a service on that local day, not the next UTC day.
 */
import type {
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
  Ratio,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { normalizeReference } from '../../store/search-index.ts';
import type {
  AdministrationFamily,
  CareSetting,
  CodingInput,
  CodingIssue,
  DocumentedAdministration,
  EncounterContext,
  PayerKind,
  Quantity,
  Route,
  Technique,
  TenantCodingOptions,
} from '../types.ts';
import {
  CS_ADMINISTRATION_TECHNIQUE,
  CS_CARE_SETTING,
  EXT_ADMINISTRATION_CATEGORY,
  EXT_DISCARDED_AMOUNT,
  EXT_PRIMARY_SERVICE,
} from '../../contract/canonical.ts';

export const SYSTEMS = {
  ndc: 'http://hl7.org/fhir/sid/ndc',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  hcpcs: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  hcpcsAlt: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  cpt: 'http://www.ama-assn.org/go/cpt',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  snomed: 'http://snomed.info/sct',
  technique: CS_ADMINISTRATION_TECHNIQUE,
  careSetting: CS_CARE_SETTING,
  sourceOfPayment: 'urn:oid:2.16.840.1.113883.3.221.5',
} as const;

/** The same code systems by their HL7 OIDs, as some EHRs (C-CDA heritage) write them. */
const CODE_SYSTEM_OIDS = {
  ndc: 'urn:oid:2.16.840.1.113883.6.69',
  rxnorm: 'urn:oid:2.16.840.1.113883.6.88',
  hcpcs: 'urn:oid:2.16.840.1.113883.6.285',
} as const;

const V3_ROUTE = 'http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration';

const ROUTES: Readonly<Record<string, Route>> = {
  '47625008': 'intravenous',
  '34206005': 'subcutaneous',
  '78421000': 'intramuscular',
};

const FAMILIES: ReadonlySet<string> = new Set<AdministrationFamily>([
  'chemo-complex',
  'therapeutic',
  'hydration',
]);

/** The administration family an order or Medication documents (extension administration-category). */
function documentedFamily(extensions: readonly Extension[] | undefined): AdministrationFamily | undefined {
  const ext = extensions?.find((e) => e.url === EXT_ADMINISTRATION_CATEGORY);
  const code = ext?.valueCode ?? ext?.valueCoding?.code ?? ext?.valueCodeableConcept?.coding?.[0]?.code;
  return code !== undefined && FAMILIES.has(code) ? (code as AdministrationFamily) : undefined;
}

const VOLUME_ML: Readonly<Record<string, number>> = { ml: 1, l: 1000, cc: 1 };

/** Amount per mL from a Ratio (e.g. 100 mg / 10 mL), when its denominator is a volume. */
function perVolume(ratio: Ratio | undefined): { contains: Quantity; volumeMl: number } | undefined {
  const contains = quantity(ratio?.numerator);
  const d = ratio?.denominator;
  const factor = VOLUME_ML[(d?.code ?? d?.unit ?? '').toLowerCase()];
  if (
    !contains ||
    factor === undefined ||
    !(d?.value && d.value > 0) ||
    VOLUME_ML[contains.unit.toLowerCase()]
  ) {
    return undefined;
  }
  return { contains, volumeMl: d.value * factor };
}

/** Strength: the single active ingredient's, else Medication.amount as a ratio over mL. */
function strengthOf(
  medication: Medication | undefined,
): { contains: Quantity; volumeMl: number } | undefined {
  const active = (medication?.ingredient ?? []).filter((i) => i.isActive !== false && i.strength);
  return (active.length === 1 ? perVolume(active[0]?.strength) : undefined) ?? perVolume(medication?.amount);
}

function codings(concept: CodeableConcept | undefined, ...systems: string[]): string[] {
  return (concept?.coding ?? [])
    .filter((c) => c.system !== undefined && systems.includes(c.system) && typeof c.code === 'string')
    .map((c) => c.code as string);
}

function ref(reference: Reference | undefined): string | undefined {
  return reference?.reference ? normalizeReference(reference.reference) : undefined;
}

function quantity(q: { value?: number; code?: string; unit?: string } | undefined): Quantity | undefined {
  if (q?.value === undefined || !Number.isFinite(q.value)) {
    return undefined;
  }
  const unit = q.code ?? q.unit;
  return unit ? { value: q.value, unit } : undefined;
}

function technique(concept: CodeableConcept | undefined): Technique | undefined {
  const code = codings(concept, SYSTEMS.technique)[0];
  if (code === 'push' || code === 'infusion' || code === 'injection') {
    return code;
  }
  const text = [concept?.text, ...(concept?.coding ?? []).map((c) => c.display)].join(' ').toLowerCase();
  if (/\bpush\b/.test(text)) {
    return 'push';
  }
  if (/\binfusion\b/.test(text)) {
    return 'infusion';
  }
  if (/\binjection\b/.test(text)) {
    return 'injection';
  }
  return undefined;
}

function route(concept: CodeableConcept | undefined): Route | undefined {
  if (!concept) {
    return undefined;
  }
  for (const code of codings(concept, SYSTEMS.snomed)) {
    const r = ROUTES[code];
    if (r) {
      return r;
    }
  }
  for (const code of codings(concept, V3_ROUTE)) {
    if (/^IV/.test(code)) {
      return 'intravenous';
    }
    if (/^(SC|SQ|SUBCUT)/.test(code)) {
      return 'subcutaneous';
    }
    if (/^IM/.test(code)) {
      return 'intramuscular';
    }
  }
  // Words, as EHRs without a standard route code write them ("Intravenous", "IV push", "Subcut").
  const words = [concept.text, ...(concept.coding ?? []).map((c) => c.display)].join(' ').toLowerCase();
  if (/\bintravenous(ly)?\b|\biv\b/.test(words)) {
    return 'intravenous';
  }
  if (/\bsub-?cutaneous(ly)?\b|\bsubcut\b|\bsubq\b|\bsc\b|\bsq\b/.test(words)) {
    return 'subcutaneous';
  }
  if (/\bintramuscular(ly)?\b|\bim\b/.test(words)) {
    return 'intramuscular';
  }
  return 'other';
}

/** Index of resources by "Type/id". */
export class ResourceIndex {
  readonly #byRef = new Map<string, Resource>();

  constructor(resources: readonly Resource[]) {
    for (const r of resources) {
      if (r.id) {
        this.#byRef.set(`${r.resourceType}/${r.id}`, r);
      }
    }
  }

  /** The resource a reference points at; callers name the type the reference is documented to target. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller states the expected type
  get<T extends Resource>(reference: Reference | string | undefined): T | undefined {
    const key = typeof reference === 'string' ? normalizeReference(reference) : ref(reference);
    return key ? (this.#byRef.get(key) as T | undefined) : undefined;
  }

  all<T extends Resource>(type: T['resourceType']): T[] {
    return [...this.#byRef.values()].filter((r): r is T => r.resourceType === type);
  }
}

function icd10(index: ResourceIndex, references: readonly (Reference | undefined)[]): string[] {
  const codes: string[] = [];
  for (const reference of references) {
    const condition = index.get<Condition>(reference);
    for (const code of codings(condition?.code, SYSTEMS.icd10cm)) {
      if (!codes.includes(code)) {
        codes.push(code);
      }
    }
  }
  return codes;
}

/** Care setting from Encounter.type (Dripline care-setting codes or CMS place of service 11/22/12). */
export function settingOf(encounter: Encounter): CareSetting | undefined {
  for (const type of encounter.type ?? []) {
    for (const c of type.coding ?? []) {
      if (
        c.system === SYSTEMS.careSetting &&
        (c.code === 'office' || c.code === 'hospital-outpatient' || c.code === 'home')
      ) {
        return c.code;
      }
      if (c.code === '11') {
        return 'office';
      }
      if (c.code === '22' || c.code === '19') {
        return 'hospital-outpatient';
      }
      if (c.code === '12') {
        return 'home';
      }
    }
  }
  return encounter.class?.code === 'HH' ? 'home' : undefined;
}

/**
 * Payer kind from the patient's primary Coverage: Source of Payment Typology (1 Medicare,
 * 2 Medicaid, others commercial), else the payor organization's name.
 */
export function payerOf(index: ResourceIndex, patient: string | undefined): PayerKind | undefined {
  const coverages = index
    .all<Coverage>('Coverage')
    .filter((c) => c.status !== 'entered-in-error' && c.status !== 'cancelled')
    .filter((c) => !patient || ref(c.beneficiary) === patient)
    .sort((a, b) => (a.order ?? 99) - (b.order ?? 99));
  const primary = coverages[0];
  if (!primary) {
    return undefined;
  }
  const sopt = codings(primary.type, SYSTEMS.sourceOfPayment)[0];
  if (sopt?.startsWith('1')) {
    return 'medicare';
  }
  if (sopt?.startsWith('2')) {
    return 'medicaid';
  }
  const payor = index.get<Organization>(primary.payor?.[0]);
  const name = `${payor?.name ?? ''} ${primary.payor?.[0]?.display ?? ''}`.toLowerCase();
  if (name.includes('medicare')) {
    return 'medicare';
  }
  if (name.includes('medicaid')) {
    return 'medicaid';
  }
  return 'commercial';
}

function administrationOf(
  index: ResourceIndex,
  ma: MedicationAdministration & { id: string },
): DocumentedAdministration | undefined {
  const encounterId = ref(ma.context)?.split('/')[1];
  if (!encounterId) {
    return undefined;
  }
  const medication = index.get<Medication>(ma.medicationReference);
  const order = index.get<MedicationRequest>(ma.request);
  const concept = medication?.code ?? ma.medicationCodeableConcept;
  const ndc = codings(concept, SYSTEMS.ndc, CODE_SYSTEM_OIDS.ndc)[0];
  const rxnorm = codings(concept, SYSTEMS.rxnorm, CODE_SYSTEM_OIDS.rxnorm)[0];
  const hcpcs = codings(concept, SYSTEMS.hcpcs, SYSTEMS.hcpcsAlt, CODE_SYSTEM_OIDS.hcpcs)[0];
  const names = [
    concept?.text,
    ...(concept?.coding ?? []).map((c) => c.display),
    ...(medication?.ingredient ?? []).flatMap((i) => [
      i.itemCodeableConcept?.text,
      ...(i.itemCodeableConcept?.coding ?? []).map((c) => c.display),
    ]),
  ].filter((n): n is string => typeof n === 'string' && n.trim() !== '');
  const text = names.length > 0 ? [...new Set(names)].join(' / ') : undefined;
  const packageSize = quantity(medication?.amount?.numerator);
  const concentration = strengthOf(medication);
  const orderFamily = documentedFamily(order?.extension);
  const medicationFamily = documentedFamily(medication?.extension);
  const category = orderFamily
    ? { family: orderFamily, on: 'order' as const }
    : medicationFamily
      ? { family: medicationFamily, on: 'medication' as const }
      : undefined;
  const discarded = quantity(ma.extension?.find((e) => e.url === EXT_DISCARDED_AMOUNT)?.valueQuantity);
  const primary = ma.extension?.find((e) => e.url === EXT_PRIMARY_SERVICE)?.valueBoolean;
  const site = ma.dosage?.site;
  const siteKey = codings(site, SYSTEMS.snomed)[0] ?? site?.text;
  const methodCode = technique(ma.dosage?.method);
  const routeCode = route(ma.dosage?.route);
  const dose = quantity(ma.dosage?.dose);
  const start = ma.effectivePeriod?.start ?? ma.effectiveDateTime;
  const end = ma.effectivePeriod?.end;
  return {
    id: ma.id,
    encounterId,
    status: ma.status,
    drug: {
      ...(ndc ? { ndc } : {}),
      ...(rxnorm ? { rxnorm } : {}),
      ...(hcpcs ? { hcpcs } : {}),
      ...(text ? { text } : {}),
    },
    ...(routeCode ? { route: routeCode } : {}),
    ...(methodCode ? { method: methodCode } : {}),
    ...(siteKey ? { site: siteKey } : {}),
    ...(dose ? { dose } : {}),
    ...(packageSize ? { packageSize } : {}),
    ...(concentration ? { concentration } : {}),
    ...(category ? { category } : {}),
    ...(discarded ? { discarded } : {}),
    ...(start ? { start } : {}),
    ...(end ? { end } : {}),
    ordered: ma.request?.reference !== undefined,
    ...(primary !== undefined ? { primary } : {}),
  };
}

const INSTANT_OFFSET = /T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** The UTC offset written on an instant ("Z" → "+00:00"), or undefined for a date or no offset. */
export function offsetOf(instant: string | undefined): string | undefined {
  const m = instant ? INSTANT_OFFSET.exec(instant) : null;
  if (!m?.[1]) {
    return undefined;
  }
  return m[1] === 'Z' ? '+00:00' : m[1];
}

/** The clinic's offset as documented: the earliest Encounter start's offset, else the earliest administration start's. */
export function documentedOffset(
  encounters: readonly Encounter[],
  administrations: readonly MedicationAdministration[],
): string | undefined {
  const earliest = (instants: (string | undefined)[]): string | undefined =>
    instants
      .filter((i): i is string => offsetOf(i) !== undefined && Number.isFinite(Date.parse(i as string)))
      .sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  const instant =
    earliest(encounters.map((e) => e.period?.start)) ??
    earliest(administrations.map((a) => a.effectivePeriod?.start ?? a.effectiveDateTime));
  return offsetOf(instant);
}

export interface ExtractOptions {
  readonly setting?: CareSetting;
  readonly payer?: PayerKind;
  readonly options?: TenantCodingOptions;
}

export interface Extracted {
  readonly input: CodingInput;
  /** Why the input could not be built (missing setting or payer), for a 400. */
  readonly problems: readonly string[];
  readonly patient?: string;
  readonly index: ResourceIndex;
  /** Administrations that could not be handed to the engine at all (no encounter): held, with an error issue each. */
  readonly issues: readonly CodingIssue[];
  readonly held: readonly string[];
}

/** Builds the engine input from a patient's resources for one day or one home-infusion episode. */
export function extractCodingInput(resources: readonly Resource[], options: ExtractOptions = {}): Extracted {
  const index = new ResourceIndex(resources);
  const encounters = index.all<Encounter>('Encounter').filter((e) => e.status !== 'entered-in-error');
  const administrations = index.all<MedicationAdministration>('MedicationAdministration');
  const patient = ref(encounters[0]?.subject) ?? ref(administrations[0]?.subject);
  const problems: string[] = [];

  const setting = options.setting ?? encounters.map(settingOf).find((s) => s !== undefined);
  if (!setting) {
    problems.push(
      'setting is required (office, hospital-outpatient or home) and could not be derived from Encounter.type',
    );
  }
  const payer = options.payer ?? payerOf(index, patient) ?? 'commercial';
  const utcOffset = options.options?.utcOffset ?? documentedOffset(encounters, administrations);
  const tenantOptions: TenantCodingOptions | undefined =
    options.options || utcOffset ? { ...options.options, ...(utcOffset ? { utcOffset } : {}) } : undefined;

  const episodeIds = new Set(
    encounters.map((e) => ref(e.partOf)).filter((r): r is string => r !== undefined),
  );
  const contexts: EncounterContext[] = encounters
    .filter((e): e is Encounter & { id: string } => e.id !== undefined)
    .map((e) => {
      const partOf = ref(e.partOf)?.split('/')[1];
      const kind: EncounterContext['kind'] = partOf
        ? 'home-nursing-visit'
        : episodeIds.has(`Encounter/${e.id}`) ||
            (setting === 'home' && e.class?.code === 'HH' && !e.period?.end)
          ? 'home-episode'
          : 'visit';
      return {
        id: e.id,
        kind,
        ...(partOf ? { partOf } : {}),
        ...(e.period?.start ? { start: e.period.start } : {}),
        ...(e.period?.end ? { end: e.period.end } : {}),
        diagnoses: icd10(index, [
          ...(e.reasonReference ?? []),
          ...(e.diagnosis ?? []).map((d) => d.condition),
        ]),
      };
    });

  const issues: CodingIssue[] = [];
  const held: string[] = [];
  const documented = administrations
    .filter((ma): ma is MedicationAdministration & { id: string } => ma.id !== undefined)
    .map((ma) => {
      const doc = administrationOf(index, ma);
      if (!doc) {
        // Without an encounter there is no visit to code it in: say so rather than drop a charge silently.
        if (ma.status !== 'entered-in-error' && ma.status !== 'not-done') {
          held.push(ma.id);
          issues.push({
            severity: 'error',
            code: 'missing-encounter',
            message: `MedicationAdministration ${ma.id} has no context Encounter: not coded`,
            administrationId: ma.id,
          });
        }
        return undefined;
      }
      // An administration's own reasons come first, then its encounter's.
      const own = icd10(index, ma.reasonReference ?? []);
      const context = contexts.find((c) => c.id === doc.encounterId);
      if (context && own.length > 0) {
        const merged = [...own, ...context.diagnoses.filter((d) => !own.includes(d))];
        contexts.splice(contexts.indexOf(context), 1, { ...context, diagnoses: merged });
      }
      return doc;
    })
    .filter((d): d is DocumentedAdministration => d !== undefined);

  return {
    input: {
      setting: setting ?? 'office',
      payer,
      encounters: contexts,
      administrations: documented,
      ...(tenantOptions ? { options: tenantOptions } : {}),
    },
    problems,
    ...(patient ? { patient } : {}),
    index,
    issues,
    held,
  };
}

const URN_UUID = /^urn:uuid:([0-9a-fA-F-]{36})$/;

/**
 * The resources of a Bundle, with references by fullUrl (urn:uuid:… or absolute URLs, as EHRs
 * write collection Bundles) rewritten to "Type/id" so the rest of the mapping resolves them; a
 * resource with a urn:uuid fullUrl and no id takes the uuid as its id.
 */
export function bundleResources(bundle: Bundle): Resource[] {
  const entries = (bundle.entry ?? []).filter(
    (e): e is typeof e & { resource: Resource } => e.resource !== undefined,
  );
  const byFullUrl = new Map<string, string>();
  const resources = entries.map((e) => {
    const uuid = e.fullUrl ? URN_UUID.exec(e.fullUrl)?.[1] : undefined;
    const resource =
      e.resource.id || !uuid ? e.resource : ({ ...e.resource, id: uuid.toLowerCase() } as Resource);
    if (e.fullUrl && resource.id) {
      byFullUrl.set(e.fullUrl, `${resource.resourceType}/${resource.id}`);
    }
    return resource;
  });
  if (byFullUrl.size === 0 || ![...byFullUrl.keys()].some((u) => u.includes(':'))) {
    return resources;
  }
  return resources.map((r) => rewriteReferences(r, byFullUrl) as Resource);
}

function rewriteReferences(value: unknown, byFullUrl: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => rewriteReferences(v, byFullUrl));
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      key === 'reference' && typeof v === 'string'
        ? (byFullUrl.get(v) ?? v)
        : rewriteReferences(v, byFullUrl);
  }
  return out;
}
