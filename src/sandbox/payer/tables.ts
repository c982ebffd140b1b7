/**
 * The sandbox payer's own tables: fee schedules, prior-authorization lists, drug/diagnosis
 * coverage, timely filing and cost sharing. They are the payer's policy, kept apart from
 * Dripline's coding tables on purpose (an honest outside party does not read its client's rules).
 *
 * Public facts both sides read from the same published sources are taken from Dripline's loaded
 * coding tables: the drug catalog (HCPCS billing unit, single- vs multi-dose container, from the
 * HCPCS descriptors and labels), the CMS NCCI procedure-to-procedure edits and the CMS MUE values.
 *
 * Every money value here is either cited (the drug-table.md ASP payment limits, which CMS
 * publishes as ASP + 6 % per billing unit) or marked SANDBOX: made up for the sandbox, not a
 * CMS or payer rate, never to be used as one.
 */
import type { CodingTables } from '../../coding/tables/types.ts';
import { loadCodingTables } from '../../coding/tables/load.ts';
import { latestQuarter } from '../../coding/tables/cms.ts';
import { isPackaged } from '../../coding/engine/payment.ts';
import type { PayerKind } from '../../coding/types.ts';

export type { PayerKind };

/**
 * How a drug's allowed amount per billing unit is found:
 * - `payment-limit`: the CMS Part B payment allowance limit per unit, which is already ASP + 6 %
 *   (value used as is), cited from ../shared/research/drug-table.md;
 * - `sandbox-asp`: a made-up ASP per unit (SANDBOX), allowed = ASP × 1.06.
 */
export interface DrugRate {
  readonly hcpcs: string;
  readonly basis: 'payment-limit' | 'sandbox-asp';
  readonly perUnit: number;
  readonly source: string;
}

/** Allowed amount per billing unit (ASP + 6 %), unrounded. */
export function drugAllowedPerUnit(rate: DrugRate): number {
  return rate.basis === 'payment-limit' ? rate.perUnit : rate.perUnit * 1.06;
}

const SBX = 'SANDBOX: made-up ASP per unit, not a CMS value';
const limit = (hcpcs: string, perUnit: number, source: string): DrugRate => ({
  hcpcs,
  basis: 'payment-limit',
  perUnit,
  source: `drug-table.md: ${source}`,
});
const sandbox = (hcpcs: string, perUnit: number): DrugRate => ({
  hcpcs,
  basis: 'sandbox-asp',
  perUnit,
  source: SBX,
});

/** Drug fee schedule: ASP + 6 % per billing unit. */
export const DRUG_RATES: readonly DrugRate[] = [
  // Cited payment limits (ASP + 6 % basis) from ../shared/research/drug-table.md.
  limit('J1745', 31.479, 'Q3 2026, CCO'),
  limit('Q5103', 27.71, 'Q3 2026, CCO'),
  limit('Q5104', 26.615, 'Q3 2026, CCO'),
  limit('Q5121', 30.83, 'Q3 2026, CCO'),
  limit('J2350', 60.97, 'Q3 2026, CCO'),
  limit('J0129', 44.109, 'Q4 2025, ASP-25Q4'),
  limit('J0881', 2.926, 'Q4 2025, ASP-25Q4'),
  limit('J0885', 8.544, 'Q4 2025, ASP-25Q4'),
  limit('J0131', 0.057, 'Q4 2025, ASP-25Q4'),
  limit('J0878', 0.028, 'Q4 2025, ASP-25Q4'),
  limit('J0875', 15.613, 'Q4 2025, ASP-25Q4'),
  limit('J0133', 0.037, 'Q4 2025, ASP-25Q4'),
  // SANDBOX values (made up; drug-table.md has "not found" for these).
  sandbox('J3262', 4.5),
  sandbox('J3380', 24),
  sandbox('J2323', 28),
  sandbox('J3358', 26),
  sandbox('J0897', 17),
  sandbox('J2357', 24),
  sandbox('J9271', 57),
  sandbox('J9299', 30),
  sandbox('J9022', 95),
  sandbox('J9173', 88),
  sandbox('J9228', 150),
  sandbox('J9035', 70),
  sandbox('J9355', 85),
  sandbox('J9312', 78),
  sandbox('J9145', 52),
  sandbox('J9045', 3),
  sandbox('J9060', 2),
  sandbox('J9267', 0.1),
  sandbox('J9171', 0.3),
  sandbox('J9190', 2),
  sandbox('J9263', 0.1),
  sandbox('J0640', 1),
  sandbox('J9201', 3),
  sandbox('J9070', 4),
  sandbox('J9000', 3),
  sandbox('J9041', 10),
  sandbox('J9250', 1),
  sandbox('J9217', 300),
  sandbox('J9395', 20),
  sandbox('J2505', 1500),
  sandbox('J1442', 1.2),
  sandbox('J1459', 80),
  sandbox('J1569', 80),
  sandbox('J1561', 80),
  sandbox('J1756', 0.3),
  sandbox('J1439', 1.2),
  sandbox('Q0138', 0.8),
  sandbox('J2916', 2),
  sandbox('J1750', 25),
  sandbox('J2405', 0.05),
  sandbox('J1626', 0.15),
  sandbox('J2469', 1.5),
  sandbox('J1453', 1),
  sandbox('J1100', 0.1),
  sandbox('J1200', 0.6),
  sandbox('J2930', 3),
  sandbox('J2920', 2),
  sandbox('J0696', 0.5),
  sandbox('J3370', 3),
  sandbox('J7030', 1.5),
  sandbox('J7040', 0.9),
  sandbox('J7050', 0.8),
  sandbox('J7120', 1.5),
  sandbox('J7060', 1),
  sandbox('J3420', 0.3),
];

/**
 * Administration and access codes: SANDBOX fee schedule, dollars per unit. Made up for the
 * sandbox (order of magnitude of a physician fee schedule), not CMS or payer rates.
 */
export const ADMINISTRATION_RATES: Readonly<Record<string, number>> = {
  '36000': 20,
  '36410': 18,
  '96360': 60,
  '96361': 15,
  '96365': 70,
  '96366': 20,
  '96367': 30,
  '96368': 20,
  '96369': 160,
  '96370': 15,
  '96372': 15,
  '96374': 45,
  '96375': 20,
  '96376': 20,
  '96401': 75,
  '96402': 30,
  '96409': 110,
  '96411': 60,
  '96413': 135,
  '96415': 30,
  '96416': 140,
  '96417': 60,
  '96523': 25,
  '99601': 110,
  '99602': 50,
};

/**
 * SANDBOX: the administration rates the sandbox payers agreed with the sandbox centre from this
 * year (the contract the centre's billing office holds: src/sandbox/contracts.ts). The payers'
 * claim systems never loaded the raise for these codes and still pay last year's rate
 * (ADMINISTRATION_RATES) — a fee-schedule load error, the most common cause of underpayment, seeded
 * on purpose (as the EHR seeds its documentation errors) so that the day's remittances find it.
 */
export const RAISES_NOT_LOADED: Readonly<Record<string, number>> = {
  '96365': 75,
  '96413': 140,
};

/** What the sandbox payers' contracts say they pay for the administration and access codes. */
export const CONTRACTED_ADMINISTRATION_RATES: Readonly<Record<string, number>> = {
  ...ADMINISTRATION_RATES,
  ...RAISES_NOT_LOADED,
};

export interface CostSharing {
  /** Share of the allowed amount (after deductible) the patient pays, 0..1. Medicare Part B: 0.2. */
  readonly coinsurance: number;
  /** Deductible still to meet for this member (applied to lines in order); 0 = met / none. */
  readonly deductible: number;
  /** Fixed copay per paid line. */
  readonly copayPerLine: number;
}

/** Defaults: Medicare-style 80/20 with no deductible left; Medicaid no cost sharing; commercial SANDBOX 80/20. */
export const DEFAULT_COST_SHARING: Readonly<Record<PayerKind, CostSharing>> = {
  medicare: { coinsurance: 0.2, deductible: 0, copayPerLine: 0 },
  medicaid: { coinsurance: 0, deductible: 0, copayPerLine: 0 },
  commercial: { coinsurance: 0.2, deductible: 0, copayPerLine: 0 },
};

/**
 * Timely filing, days from the date of service to receipt. Medicare: 12 months (one calendar
 * year, 42 CFR 424.44). Medicaid and commercial values are SANDBOX policy (they vary by state and
 * contract).
 */
export const DEFAULT_TIMELY_FILING_DAYS: Readonly<Record<PayerKind, number>> = {
  medicare: 365,
  medicaid: 365,
  commercial: 90,
};

/**
 * SANDBOX policy: drugs that need prior authorization, by payer kind. Original Medicare does not
 * prior-authorize these Part B drugs; the sandbox's Medicaid and commercial plans do for the
 * biologics, immunotherapies and immune globulins.
 */
const PA_DRUGS = [
  'J1745',
  'Q5103',
  'Q5104',
  'Q5121',
  'J2350',
  'J0129',
  'J3262',
  'J3380',
  'J2323',
  'J3358',
  'J2357',
  'J9271',
  'J9299',
  'J9022',
  'J9173',
  'J9228',
  'J9035',
  'J9355',
  'J9312',
  'J9145',
  'J1459',
  'J1569',
  'J1561',
];
export const PRIOR_AUTH_REQUIRED: Readonly<Record<PayerKind, readonly string[]>> = {
  medicare: [],
  medicaid: PA_DRUGS,
  commercial: PA_DRUGS,
};

/** SANDBOX policy: a prior-authorization number is well formed when it matches this (else CARC 15). */
export const PRIOR_AUTH_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{5,29}$/;

/**
 * SANDBOX policy: ICD-10-CM prefixes (no dot) that support a drug (medical necessity, CARC 11).
 * From the drugs' labelled indications as generally known; a sandbox simplification of payer
 * drug policies / LCDs, not a copy of any. Drugs not listed are not checked.
 */
const INFLIXIMAB = ['K50', 'K51', 'M05', 'M06', 'M45', 'L40'];
const ONCOLOGY = ['C', 'D0', 'D37', 'D38', 'D39', 'D4'];
const IVIG = ['D80', 'D81', 'D82', 'D83', 'D84', 'D693', 'G61', 'G70', 'M33'];
const IRON = ['D50', 'D63', 'D64', 'N18', 'O990', 'K90'];
export const DIAGNOSIS_SUPPORT: Readonly<Record<string, readonly string[]>> = {
  J1745: INFLIXIMAB,
  Q5103: INFLIXIMAB,
  Q5104: INFLIXIMAB,
  Q5121: INFLIXIMAB,
  J2350: ['G35'],
  J2323: ['G35', 'K50'],
  J3380: ['K50', 'K51'],
  J3358: ['K50', 'K51', 'L40'],
  J0129: ['M05', 'M06', 'M08', 'L40'],
  J3262: ['M05', 'M06', 'M08', 'M31'],
  J2357: ['J45', 'L50', 'J33'],
  J0897: ['M80', 'M81', 'C'],
  J9271: ONCOLOGY,
  J9299: ONCOLOGY,
  J9022: ONCOLOGY,
  J9173: ONCOLOGY,
  J9228: ONCOLOGY,
  J9035: ONCOLOGY,
  J9355: ONCOLOGY,
  J9312: [...ONCOLOGY, 'M05', 'M31', 'G70'],
  J9145: ONCOLOGY,
  J1459: IVIG,
  J1569: IVIG,
  J1561: IVIG,
  J1756: IRON,
  J1439: IRON,
  Q0138: IRON,
  J2916: IRON,
  J1750: IRON,
};

/** NCCI modifiers that bypass an edit with modifier indicator 1. */
export const NCCI_BYPASS_MODIFIERS: readonly string[] = ['59', 'XE', 'XP', 'XS', 'XU'];

/** Medicare JW/JZ on single-dose drugs: JZ required for dates of service from this date (CMS, 2023). */
export const JW_JZ_REQUIRED_FROM = '2023-07-01';

export interface NcciEdit {
  readonly column1: string;
  readonly column2: string;
  readonly modifierIndicator: '0' | '1' | '9';
}

/** Everything the pure adjudicator reads. */
export interface PayerTables {
  readonly drugRates: ReadonlyMap<string, DrugRate>;
  readonly administrationRates: Readonly<Record<string, number>>;
  /** HCPCS → container, from the public drug catalog. */
  readonly drugContainers: ReadonlyMap<string, 'single-dose' | 'multi-dose'>;
  /** Drugs OPPS packages (status N, public Addendum B via the CMS table): no JW/JZ on institutional claims (R10.3). */
  readonly packagedUnderOpps: ReadonlySet<string>;
  readonly ncci: readonly NcciEdit[];
  /** Code → MUE units per day (practitioner setting). */
  readonly mue: ReadonlyMap<string, { readonly units: number; readonly perLine: boolean }>;
  readonly priorAuthRequired: Readonly<Record<PayerKind, readonly string[]>>;
  readonly priorAuthPattern: RegExp;
  readonly diagnosisSupport: Readonly<Record<string, readonly string[]>>;
  readonly timelyFilingDays: Readonly<Record<PayerKind, number>>;
  readonly costSharing: Readonly<Record<PayerKind, CostSharing>>;
  /** Payer kinds requiring an NDC on drug lines (CARC 16 + RARC M119). */
  readonly ndcRequired: readonly PayerKind[];
}

export interface PayerTableOverrides {
  readonly costSharing?: Partial<Record<PayerKind, Partial<CostSharing>>>;
  readonly timelyFilingDays?: Partial<Record<PayerKind, number>>;
}

/** The payer's tables; the public parts come from Dripline's validated coding tables. */
export function buildPayerTables(
  overrides: PayerTableOverrides = {},
  coding: CodingTables = loadCodingTables(),
): PayerTables {
  const drugContainers = new Map<string, 'single-dose' | 'multi-dose'>();
  for (const drug of coding.drugs.drugs) {
    if (!drugContainers.has(drug.hcpcs)) {
      drugContainers.set(drug.hcpcs, drug.container);
    }
  }
  const mue = new Map<string, { units: number; perLine: boolean }>();
  for (const e of coding.mue.entries) {
    if (e.setting === 'practitioner') {
      mue.set(e.code, { units: e.units, perLine: e.mai === 1 });
    }
  }
  const costSharing = { ...DEFAULT_COST_SHARING };
  for (const [kind, value] of Object.entries(overrides.costSharing ?? {}) as [
    PayerKind,
    Partial<CostSharing>,
  ][]) {
    costSharing[kind] = { ...costSharing[kind], ...value };
  }
  return {
    drugRates: new Map(DRUG_RATES.map((r) => [r.hcpcs, r])),
    administrationRates: ADMINISTRATION_RATES,
    drugContainers,
    packagedUnderOpps: new Set(
      [...latestQuarter(coding.cms).drugs.values()].filter((d) => isPackaged(d)).map((d) => d.code),
    ),
    ncci: coding.ncci.pairs.map((p) => ({
      column1: p.column1,
      column2: p.column2,
      modifierIndicator: p.modifierIndicator,
    })),
    mue,
    priorAuthRequired: PRIOR_AUTH_REQUIRED,
    priorAuthPattern: PRIOR_AUTH_PATTERN,
    diagnosisSupport: DIAGNOSIS_SUPPORT,
    timelyFilingDays: { ...DEFAULT_TIMELY_FILING_DAYS, ...overrides.timelyFilingDays },
    costSharing,
    ndcRequired: ['medicaid'],
  };
}
