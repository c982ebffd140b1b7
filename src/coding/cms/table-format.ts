/**
 * The format of a committed CMS quarter table (src/coding/tables/cms/<quarter>.json): what the
 * importer (./import.ts) writes and the table loader (../tables/cms.ts) reads. Types only, apart
 * from both, so that loading the tables at boot never loads the importer.
 */
import type { BillingUnit } from './dosage.ts';

export type CmsFileKind =
  'asp-pricing' | 'asp-crosswalk' | 'hcpcs' | 'opps-addendum-b' | 'mue-medicare' | 'mue-medicaid';

export interface CmsSource {
  readonly kind: CmsFileKind;
  readonly file: string;
  /** What the file says it is (its first line), or the kind. */
  readonly title: string;
  /** The period the file says it covers, or the one its name gives (e.g. "2025Q4"). */
  readonly period: string;
  readonly rows: number;
  readonly sha256: string;
}

/** Per HCPCS: [code, label, dosage as published, billing unit (null = not understood), payment limit, coinsurance %, OPPS SI, OPPS rate, names, origin, oral]. */
export type CmsHcpcsRow = readonly [
  code: string,
  label: string,
  dosage: string,
  unit: BillingUnit | null,
  paymentLimit: number | null,
  coinsurance: number | null,
  statusIndicator: string | null,
  oppsRate: number | null,
  names: readonly string[],
  origin: 'asp' | 'crosswalk' | 'hcpcs',
  oral: boolean,
];

/** One row per NDC (11 digits) and HCPCS code it is assigned to: [NDC, HCPCS, package size, package quantity, billing units per item, billing units per package]. */
export type CmsNdcRow = readonly [
  ndc: string,
  hcpcs: string,
  pkgSize: number,
  pkgQty: number,
  billUnits: number,
  billUnitsPkg: number,
];

/** Per code: [code, MUE units, which table it came from]. */
export type CmsMueRow = readonly [code: string, units: number, basis: 'medicare' | 'medicaid'];

export interface CmsQuarterTable {
  readonly title: string;
  readonly format: 1;
  /** "2026Q1". */
  readonly quarter: string;
  /** YYYY-MM-DD, first and last day of the quarter (from the ASP file). */
  readonly effective: string;
  readonly through: string;
  /** YYYY-MM-DD the import ran. */
  readonly imported: string;
  readonly generator: string;
  readonly sources: readonly CmsSource[];
  readonly notes: string;
  /** Sorted by code; arrays rather than keyed objects because they parse several times faster. */
  readonly hcpcs: readonly CmsHcpcsRow[];
  /** Sorted by NDC, then HCPCS. */
  readonly ndc: readonly CmsNdcRow[];
  readonly mue: readonly CmsMueRow[];
  /** What the import could not use, so a reviewer sees it (bad NDCs, unknown dosage strings). */
  readonly skipped: readonly string[];
}
