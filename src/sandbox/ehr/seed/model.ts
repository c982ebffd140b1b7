/**
 * The seeded day's shapes: what the generator returns (the day, its timeline steps, its declared
 * errors) and what the data files in `../seed-data/` are written in (therapy products, the
 * centre's settings and people, regimens and the administrations they give). Types only, so that
 * data and the code that turns it into FHIR can both import them without importing each other.
 */
import type { Quantity, Resource } from '@medplum/fhirtypes';

// ---------------------------------------------------------------------------------------------
// The generated day
// ---------------------------------------------------------------------------------------------

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
  /**
   * What the payers know that the EHR does not: coverages (by id) a payer has ended although the
   * EHR still shows them active. The sandbox payer's enrollment reads it (src/sandbox/payer/eligibility).
   */
  payerEnrollment: PayerEnrollmentChange[];
}

/** A coverage the payer ended: its last day covered, before the seeded day. */
export interface PayerEnrollmentChange {
  readonly coverage: string;
  readonly status: 'terminated';
  readonly ended: string;
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

// ---------------------------------------------------------------------------------------------
// Therapy products (../seed-data/therapies.ts)
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

// ---------------------------------------------------------------------------------------------
// The centre (../seed-data/cast.ts) and its clinical codes (../seed-data/clinical-codes.ts)
// ---------------------------------------------------------------------------------------------

export type PayerKey = 'medicare' | 'medicaid' | 'lakeshore' | 'cardinal' | 'sycamore';
export type Setting = 'office' | 'hopd' | 'home';
export type PracKey = 'onc1' | 'onc2' | 'rheum' | 'gi' | 'neuro' | 'id' | 'im';
export type SiteKey =
  'l-forearm' | 'r-forearm' | 'l-upper-arm' | 'r-upper-arm' | 'abdomen' | 'buttock' | 'port';

// ---------------------------------------------------------------------------------------------
// Regimens (../seed-data/regimens.ts)
// ---------------------------------------------------------------------------------------------

/** The seed's deterministic PRNG (./values.ts `makeRng`): every draw of the day comes from one. */
export interface Rng {
  next: () => number;
  int: (min: number, max: number) => number;
  pick: <T>(items: readonly T[]) => T;
  shuffle: <T>(items: readonly T[]) => T[];
}

/** One administration in a regimen, timed in minutes from the chair start. */
export interface AdminSpec {
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

export interface PatientCtx {
  weightKg: number;
  bsa: number;
  rng: Rng;
}

export interface Regimen {
  therapyClass: TherapyClass;
  dx: readonly string[];
  orderer: PracKey;
  observe: number;
  admins: (c: PatientCtx) => AdminSpec[];
}

// ---------------------------------------------------------------------------------------------
// Generating a day (./generate.ts, ./patient.ts, ./visit.ts)
// ---------------------------------------------------------------------------------------------

/** What every part of one day's generation shares; ./generate.ts makes one per day. */
export interface DayContext {
  /** The calendar day, YYYY-MM-DD, in the centre's zone. */
  readonly date: string;
  readonly seed: number;
  readonly timeZone: string;
  readonly rng: Rng;
  /** Local wall-clock minutes of the day (past 1440: the next day) → ISO instant with the offset. */
  readonly clock: (minutes: number) => string;
  /** The date `days` whole days from the day, YYYY-MM-DD. */
  readonly shift: (days: number) => string;
  /** The EHR's data at the start of the day, in the order it is added. */
  readonly reference: Resource[];
  /** An EHR write at a minute of the day; the resource is snapshotted as it is now. */
  readonly emit: (minute: number, action: 'create' | 'update', resource: Resource, note?: string) => void;
  /** Visits given so far in each setting (visits go round its nurses). */
  readonly nurseLoad: Record<Setting, number>;
  /** "Given Family" of the day's patients so far (names are not repeated). */
  readonly usedNames: Set<string>;
}
