/**
 * The infusion coding engine's contract. The engine is pure: `codeEncounters(input, tables)` takes
 * what was documented (already extracted from FHIR by the adapter) and the rule tables, and returns
 * charge lines — each with the rule, the minutes or amounts, and the source that decided it — plus
 * documentation issues. No I/O, no clock: dates come from the input.
 *
 * Sources are cited by the keys of ../shared/research/coding-rules.md (e.g. "CH12-30.5", "R3.3").
 * CPT descriptors are AMA copyright: codes carry Dripline's own short labels only.
 */

export type CareSetting = 'office' | 'hospital-outpatient' | 'home';
export type PayerKind = 'medicare' | 'medicaid' | 'commercial';

/** Administration family (coding-rules R1.1). The drug master sets it; a payer rule set may override it. */
export type AdministrationFamily = 'chemo-complex' | 'therapeutic' | 'hydration';

/** How the drug went in. `push` = continuous presence or an infusion of 15 minutes or less (R3.1). */
export type Technique = 'infusion' | 'push' | 'injection';

export type Route = 'intravenous' | 'subcutaneous' | 'intramuscular' | 'other';

export interface Quantity {
  readonly value: number;
  /** UCUM code as documented: mg, g, mcg, mL, [iU], U, ... */
  readonly unit: string;
}

/** One documented administration, as the FHIR adapter extracted it from a MedicationAdministration. */
export interface DocumentedAdministration {
  /** MedicationAdministration id (appears in rationale and issues). */
  readonly id: string;
  readonly encounterId: string;
  readonly status:
    'completed' | 'in-progress' | 'not-done' | 'on-hold' | 'stopped' | 'entered-in-error' | 'unknown';
  /** What was given: the NDC of the package actually used when documented, else RxNorm / HCPCS / text. */
  readonly drug: {
    readonly ndc?: string;
    readonly rxnorm?: string;
    readonly hcpcs?: string;
    readonly text?: string;
  };
  readonly route?: Route;
  /** Documented technique (dosage.method); when absent the engine derives it from route and duration. */
  readonly method?: Technique;
  /** Vascular access / body site as documented (a code or text); distinct sites allow a second initial in a facility (R2.3). */
  readonly site?: string;
  readonly dose?: Quantity;
  /** Package size of the container used (Medication.amount), for computed waste. */
  readonly packageSize?: Quantity;
  /** Strength of the product (Medication.ingredient.strength, else Medication.amount as a ratio): amount per volume, for doses in mL. */
  readonly concentration?: { readonly contains: Quantity; readonly volumeMl: number };
  /** Administration family documented on the order (MedicationRequest) or the Medication (extension administration-category, R1.2). */
  readonly category?: { readonly family: AdministrationFamily; readonly on: 'order' | 'medication' };
  /** Documented discarded amount (extension discarded-amount). */
  readonly discarded?: Quantity;
  /** ISO instants; `end` absent = no stop time documented. */
  readonly start?: string;
  readonly end?: string;
  /** True when the administration points at an order (MedicationRequest). */
  readonly ordered: boolean;
  /** Office: flagged as the primary reason for the visit (extension primary-service). */
  readonly primary?: boolean;
}

export interface EncounterContext {
  readonly id: string;
  /** 'visit' for office/hospital encounters; home infusion has an episode and nursing visits (partOf the episode). */
  readonly kind: 'visit' | 'home-episode' | 'home-nursing-visit';
  readonly partOf?: string;
  /** ISO instants of Encounter.period. */
  readonly start?: string;
  readonly end?: string;
  /** ICD-10-CM codes, first is principal. */
  readonly diagnoses: readonly string[];
}

/** Administration family overrides by HCPCS code: for one payer kind, or for all (R1.2). */
export type FamilyOverrides = Readonly<
  Partial<Record<PayerKind | 'all', Readonly<Record<string, AdministrationFamily>>>>
>;

export interface TenantCodingOptions {
  /** 340B-acquired drugs: which modifier this provider type uses (R12.1), or none. */
  readonly modifier340B?: 'JG' | 'TB';
  /** The clinic's IANA time zone for dates of service, e.g. "America/New_York" (DST-aware); wins over `utcOffset`. */
  readonly timeZone?: string;
  /** Fixed offset for dates of service, e.g. "-05:00" (no DST), when no `timeZone` is given. Default "+00:00". */
  readonly utcOffset?: string;
  /** The tenant's family overrides (R1.2), before the payer rule set's. */
  readonly familyOverrides?: FamilyOverrides;
}

export interface CodingInput {
  readonly setting: CareSetting;
  readonly payer: PayerKind;
  readonly encounters: readonly EncounterContext[];
  readonly administrations: readonly DocumentedAdministration[];
  readonly options?: TenantCodingOptions;
}

export interface LineRationale {
  /** Rule id, e.g. "R3.3" (add-on hours) or "R10.1" (JW). */
  readonly rule: string;
  /** Source keys, e.g. ["CH12-30.5", "UWHC"]. */
  readonly sources: readonly string[];
  /** Plain-language why, with the numbers: "infusion 09:10–11:25 = 135 min: 1 add-on hour (>30 min past the first hour)". */
  readonly text: string;
  readonly minutes?: number;
  readonly amounts?: Readonly<Record<string, number>>;
}

export interface NdcLine {
  /** 11 digits, 5-4-2, no hyphens (R11.1). */
  readonly ndc11: string;
  /** R11.4 unit qualifier. */
  readonly unit: 'UN' | 'ML' | 'GR' | 'F2' | 'ME';
  readonly quantity: number;
}

/**
 * What Medicare Part B would pay for a drug line (the reference the remittance check compares with):
 * the CMS payment limit per unit of the date of service's quarter (ASP + 6%) × units; zero for a drug
 * OPPS packages (status N) on an institutional claim; unknown when CMS prices no limit.
 */
export interface ExpectedPayment {
  readonly basis: 'asp-limit' | 'opps-packaged' | 'not-priced';
  /** CMS quarter of the table used ("2026Q1"). */
  readonly quarter: string;
  readonly perUnit?: number;
  /** USD for the line's units (0 when packaged). */
  readonly amount?: number;
  /** OPPS status indicator of the code (K, N, G…), when listed. */
  readonly statusIndicator?: string;
  /** Beneficiary coinsurance percentage from the ASP file. */
  readonly coinsurancePercent?: number;
}

export interface ChargeLine {
  /**
   * Stable identity: the same inputs always give the same key (charge capture uses it for
   * ChargeItem ids, so recomputation never duplicates). Built from encounter, rule, code and the
   * administrations involved — not from array positions.
   */
  readonly key: string;
  readonly kind:
    | 'administration'
    | 'drug'
    | 'drug-waste'
    | 'home-per-diem'
    | 'home-nursing'
    | 'home-professional'
    | 'supply';
  readonly code: { readonly system: 'CPT' | 'HCPCS'; readonly code: string; readonly label: string };
  readonly units: number;
  readonly modifiers: readonly string[];
  /** YYYY-MM-DD in the clinic's offset. */
  readonly dateOfService: string;
  readonly encounterId: string;
  readonly administrationIds: readonly string[];
  readonly ndc?: NdcLine;
  /** Institutional claims only (R14). */
  readonly revenueCode?: string;
  /** ICD-10-CM pointers for the line (codes, principal first). */
  readonly diagnoses: readonly string[];
  readonly rationale: LineRationale;
  /**
   * A line that exists but cannot be billed yet (its units are unknown: a dose that does not convert
   * to the billing unit, a billing unit CMS does not state): `units` is 0, the ChargeItem is
   * `planned`, and the claim waits until the documentation is fixed. Never silently dropped.
   */
  readonly hold?: { readonly code: string; readonly reason: string };
  /** Drug lines: the Medicare reference payment (see ExpectedPayment). */
  readonly payment?: ExpectedPayment;
}

export interface CodingIssue {
  readonly severity: 'error' | 'warning' | 'information';
  /** Machine-readable: missing-stop-time, impossible-period, unknown-drug, unconvertible-dose, missing-dose, missing-site, unordered-drug, unsupported-route, hydration-too-short, ... */
  readonly code: string;
  readonly message: string;
  readonly encounterId?: string;
  readonly administrationId?: string;
  readonly rule?: string;
}

export interface CodingResult {
  readonly lines: readonly ChargeLine[];
  /** Administrations held back (no line) because documentation is missing; each has an error issue. */
  readonly held: readonly string[];
  readonly issues: readonly CodingIssue[];
}
