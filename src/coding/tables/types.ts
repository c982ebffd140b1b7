/**
 * Shapes of the coding rule tables. The tables themselves are JSON files beside this module
 * (`*.json`), each with its source and effective date, validated by `loadCodingTables()` (ajv) at
 * boot. Rules live in data; the engine reads them.
 */
import type { AdministrationFamily, PayerKind, Route } from '../types.ts';
import type { BillingUnit } from '../cms/dosage.ts';
import type { CmsMueRow, CmsNdcRow, CmsSource } from '../cms/table-format.ts';
import type { THERAPY_CLASSES } from './schemas.ts';

export type TherapyClass = (typeof THERAPY_CLASSES)[number];

/** Every table file starts with where its values come from and from when they apply. */
export interface TableHeader {
  readonly title: string;
  /** Source keys from ../shared/research/*.md, or URLs. */
  readonly sources: readonly string[];
  /** YYYY-MM-DD */
  readonly effective: string;
  readonly notes?: string;
}

/** How certain a value is: V seen in an authoritative source; C corroborated by third parties; UNVERIFIED from general knowledge (treat as configurable). */
export type Verification = 'V' | 'C' | 'UNVERIFIED';

export interface DrugPackage {
  /** As printed on the package (10-digit with hyphens, any of 4-4-2 / 5-3-2 / 5-4-1, or 11-digit 5-4-2). */
  readonly ndc: string;
  /** Normalized 11 digits, 5-4-2, no hyphens (R11.1). */
  readonly ndc11: string;
  /** Amount of drug in the package (e.g. 100 mg per vial). */
  readonly contains: { readonly value: number; readonly unit: string };
  /** Volume when it is a solution, for ML-based NDC quantities. */
  readonly volume?: { readonly value: number; readonly unit: 'mL' };
  /** NDC unit qualifier used for this package on claims (R11.4). */
  readonly ndcUnit: 'UN' | 'ML' | 'GR' | 'F2' | 'ME';
  readonly verification: Verification;
}

export interface DrugEntry {
  /** Stable key, e.g. "infliximab-remicade". */
  readonly key: string;
  readonly name: string;
  /** HCPCS Level II code billed for this product (labeler-specific where CMS makes it so). */
  readonly hcpcs: string;
  /** Dripline's short label for the HCPCS code (HCPCS descriptors are public; keep it short). */
  readonly hcpcsLabel: string;
  /** Amount in the HCPCS long descriptor: units = ceil(dose / billingUnit) (R9.1–R9.2). */
  readonly billingUnit: { readonly value: number; readonly unit: string };
  /** Default administration family (R1.2); payers may override by HCPCS. */
  readonly family: AdministrationFamily;
  /** single-dose → JW/JZ apply under Medicare (R10); multi-dose → neither. */
  readonly container: 'single-dose' | 'multi-dose';
  /** Hormonal antineoplastic → 96402 for SC/IM (R6.1). */
  readonly hormonalAntineoplastic?: boolean;
  /** Therapy class, for medical necessity, home per diem and reporting. */
  readonly therapyClass: TherapyClass;
  /** RxNorm ingredient/product codes that identify the drug when no NDC is documented. */
  readonly rxnorm?: readonly string[];
  readonly packages: readonly DrugPackage[];
  /** Commercial home infusion per diem S-code for this therapy, when one applies (R15.2). */
  readonly homePerDiem?: string;
  /** Medicare home infusion therapy category (R15.1), when eligible. */
  readonly hitCategory?: 1 | 2 | 3;
  readonly verification: Verification;
  readonly source: string;
  /** Caveats: labeler-specific codes, default per diem chosen, unverified parts. */
  readonly notes?: string;
}

export interface DrugCatalog extends TableHeader {
  readonly drugs: readonly DrugEntry[];
}

/** CPT administration codes with Dripline's own labels and their role in the rules. */
export interface AdministrationCode {
  readonly code: string;
  /** Dripline's short label — never the AMA descriptor. */
  readonly label: string;
  readonly family: AdministrationFamily | 'injection' | 'home';
  readonly role:
    | 'initial'
    | 'additional-hour'
    | 'sequential'
    | 'concurrent'
    | 'initial-push'
    | 'additional-push-new'
    | 'additional-push-same'
    | 'injection'
    | 'prolonged-pump'
    | 'home-visit'
    | 'home-visit-additional-hour';
  readonly addOn: boolean;
  /** 96376: no payment on the physician fee schedule (R5.2). */
  readonly facilityOnly?: boolean;
  /** Routes the code is for (IV 96365 vs SC 96369; SC/IM 96372, 96401, 96402); absent = not route-specific. */
  readonly routes?: readonly Route[];
  /** 96401 (false) vs 96402 (true): SC/IM chemo injection of a non-hormonal / hormonal antineoplastic (R6.1). */
  readonly hormonalAntineoplastic?: boolean;
  readonly rule: string;
}

export interface AdministrationCodeTable extends TableHeader {
  readonly codes: readonly AdministrationCode[];
}

export interface PayerRuleSet extends TableHeader {
  readonly payer: PayerKind;
  /** JW/JZ on single-dose drug lines (R10). */
  readonly wasteModifiers: {
    readonly jw: boolean;
    /** JZ required for dates of service on/after this date, or null when never. */
    readonly jzRequiredFrom: string | null;
  };
  /** NDC required on drug lines (R11.5). */
  readonly ndcRequired: boolean;
  /** Modifier for a second initial at a separate site / encounter (R2.2). */
  readonly distinctServiceModifier: { readonly separateSite: string; readonly separateEncounter: string };
  /** Family overrides by HCPCS (e.g. infliximab as therapeutic for some commercial payers, R1.2). */
  readonly familyOverrides: Readonly<Record<string, AdministrationFamily>>;
  /** Home infusion scheme (R15). */
  readonly homeInfusion: 'medicare-hit' | 'commercial-per-diem';
  /** Codes this payer does not accept (e.g. 96376 for some commercial payers). */
  readonly refusedCodes: readonly string[];
}

export interface MueEntry {
  readonly code: string;
  readonly setting: 'practitioner' | 'outpatient-hospital';
  readonly units: number;
  /** MUE adjudication indicator 1 line / 2 policy DOS / 3 clinical DOS (R13.1). */
  readonly mai: 1 | 2 | 3;
  /** Certainty of `units`. */
  readonly verification: Verification;
  /** Certainty of `mai` when it differs from `verification`. */
  readonly maiVerification?: Verification;
  /** Where a value from the CMS files came from: the Medicare table, or Medicaid's where Medicare has none. */
  readonly basis?: 'medicare' | 'medicaid-fallback';
  /** Source key for this value. */
  readonly source?: string;
  readonly notes?: string;
}

export interface MueTable extends TableHeader {
  readonly entries: readonly MueEntry[];
}

export interface NcciPair {
  /** Column 1 (comprehensive) code. */
  readonly column1: string;
  /** Column 2 (component) code: not payable with column 1 unless the indicator allows a modifier. */
  readonly column2: string;
  /** 0 never bypassed, 1 bypassed with 59/X{EPSU} when documented, 9 not applicable (R13.3). */
  readonly modifierIndicator: '0' | '1' | '9';
  readonly verification: Verification;
  /** Rule the pair follows from (e.g. "R2.5"). */
  readonly rule?: string;
  readonly notes?: string;
}

export interface NcciTable extends TableHeader {
  readonly pairs: readonly NcciPair[];
}

export interface HomeInfusionTable extends TableHeader {
  /** Commercial per diem S-codes by therapy (R15.2). */
  readonly perDiem: readonly {
    readonly code: string;
    readonly label: string;
    readonly therapyClass: string;
    readonly frequency?: string;
    readonly verification?: Verification;
    readonly notes?: string;
  }[];
  /** Nursing visit codes: 99601 first 2 h, 99602 each additional hour (R15.2). */
  readonly nursing: {
    readonly visit: string;
    readonly additionalHour: string;
    readonly visitMinutes: number;
  };
  /** Medicare HIT professional services G-codes by category (R15.1). */
  readonly medicareHit: readonly {
    readonly category: 1 | 2 | 3;
    readonly firstVisit: string;
    readonly subsequentVisit: string;
    readonly verification?: Verification;
  }[];
  /** Supplies / pump codes some payers pay outside the per diem. */
  readonly supplies: readonly {
    readonly code: string;
    readonly label: string;
    readonly per: 'day' | 'week' | 'bag' | 'month';
    readonly verification?: Verification;
    /** Which payers pay it outside the per diem, and other caveats. */
    readonly notes?: string;
  }[];
}

export interface RevenueCodeTable extends TableHeader {
  /** Revenue code by line kind for institutional claims (R14). */
  readonly byKind: Readonly<Record<string, string>>;
  /** Certainty of each `byKind` entry (same keys); absent key = UNVERIFIED. */
  readonly verification?: Readonly<Record<string, Verification>>;
}

/**
 * Rules deciding what the drug master does not say, for drugs outside the hand-curated catalog: the
 * administration family (R1.2) and therapy class from the HCPCS code (ranges, lists) and from the
 * drug's name (USAN stems), and the home infusion per diem / HIT category of a therapy class.
 */
export interface CategoryRule {
  /** HCPCS range (inclusive) or list the rule covers (HCPCS rules); a regular expression on the drug's name keys (name rules). */
  readonly from?: string;
  readonly to?: string;
  readonly codes?: readonly string[];
  readonly pattern?: string;
  /** What the rule recognises, in words ("antineoplastic (HCPCS J9000–J9999)", "monoclonal antibody (-mab)"). */
  readonly class: string;
  readonly family?: AdministrationFamily;
  readonly therapyClass?: TherapyClass;
  readonly hormonalAntineoplastic?: boolean;
  /** The rule is a reasonable default, not a definition: the line asks a coder to confirm (R1.2). */
  readonly confirm?: boolean;
  readonly sources: readonly string[];
}

export interface CategoryRuleTable extends TableHeader {
  readonly hcpcsRules: readonly CategoryRule[];
  readonly nameRules: readonly CategoryRule[];
  /** Home infusion by therapy class: the default per diem (R15.2) and Medicare HIT category (R15.1). */
  readonly homeByTherapyClass: Readonly<
    Partial<Record<TherapyClass, { readonly perDiem?: string; readonly hitCategory?: 1 | 2 | 3 }>>
  >;
}

/** One HCPCS code of a CMS quarter table (src/coding/tables/cms/<quarter>.json), as the engine reads it. */
export interface CmsDrug {
  readonly code: string;
  readonly label: string;
  /** The billing unit as CMS publishes it ("20 MG", "PER VIAL"). */
  readonly dosage: string;
  /** Parsed billing unit; undefined when the dosage string is not understood (lines are held). */
  readonly unit?: BillingUnit;
  /** Medicare Part B payment limit per billing unit (ASP + 6%), when priced. */
  readonly paymentLimit?: number;
  readonly coinsurance?: number;
  /** OPPS status indicator (K separately payable, N packaged, G pass-through…). */
  readonly statusIndicator?: string;
  readonly oppsRate?: number;
  /** Drug-name match keys (names.ts). */
  readonly names: readonly string[];
  readonly origin: 'asp' | 'crosswalk' | 'hcpcs';
  /** An oral drug (solid NDC packages count in units). */
  readonly oral: boolean;
}

export interface CmsQuarter {
  /** "2026Q1". */
  readonly id: string;
  readonly effective: string;
  readonly through: string;
  readonly imported: string;
  readonly sources: readonly CmsSource[];
  readonly drugs: ReadonlyMap<string, CmsDrug>;
  /** 11-digit NDC → the HCPCS code(s) and package data. */
  readonly ndc: ReadonlyMap<string, readonly CmsNdcRow[]>;
  readonly mue: readonly CmsMueRow[];
  /** First word of a name key → the keys starting with it and their HCPCS codes. */
  readonly names: ReadonlyMap<
    string,
    readonly { readonly key: string; readonly words: readonly string[]; readonly codes: readonly string[] }[]
  >;
}

export interface CmsTables {
  /** Imported quarters, oldest first. */
  readonly quarters: readonly CmsQuarter[];
}

/** All tables, loaded and validated. */
export interface CodingTables {
  readonly drugs: DrugCatalog;
  readonly administrationCodes: AdministrationCodeTable;
  readonly payers: Readonly<Record<PayerKind, PayerRuleSet>>;
  readonly mue: MueTable;
  readonly ncci: NcciTable;
  readonly homeInfusion: HomeInfusionTable;
  readonly revenueCodes: RevenueCodeTable;
  readonly categoryRules: CategoryRuleTable;
  readonly cms: CmsTables;
}
