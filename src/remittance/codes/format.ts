/**
 * The format of the committed CARC and RARC tables (./carc-table.json, ./rarc-table.json): what the
 * import (./import.ts) writes and the loader (../codes.ts) reads, and the denial categories (the
 * work queues) a CARC falls in. Types and constants only.
 */

/**
 * Where a denial's work goes, by its cause (../shared/research/market.md §2, "CARC codes that matter
 * for infusion, and what to do"). `patient-responsibility` adjustments are not denials.
 */
export type DenialCategory =
  | 'eligibility'
  | 'authorization'
  | 'coding'
  | 'documentation'
  | 'medical-necessity'
  | 'bundling'
  | 'timely-filing'
  | 'duplicate'
  | 'patient-responsibility'
  | 'other';

export const DENIAL_CATEGORIES: readonly { readonly id: DenialCategory; readonly label: string }[] = [
  { id: 'eligibility', label: 'Eligibility and coverage' },
  { id: 'authorization', label: 'Authorization' },
  { id: 'coding', label: 'Coding and modifiers' },
  { id: 'documentation', label: 'Documentation and claim data' },
  { id: 'medical-necessity', label: 'Medical necessity' },
  { id: 'bundling', label: 'Bundling and NCCI' },
  { id: 'timely-filing', label: 'Timely filing' },
  { id: 'duplicate', label: 'Duplicate' },
  { id: 'patient-responsibility', label: 'Patient responsibility' },
  { id: 'other', label: 'Other' },
];

export const DENIAL_CATEGORY_IDS: readonly DenialCategory[] = DENIAL_CATEGORIES.map((c) => c.id);

export type CodeListKind = 'carc' | 'rarc';
export type CodeStatus = 'current' | 'deactivated';

/** [code, status, category, routine, label, first day, last day]. */
export type CarcRow = readonly [
  code: string,
  status: CodeStatus,
  category: DenialCategory,
  routine: boolean,
  label: string,
  start: string | null,
  stop: string | null,
];

/** [code, status, label (null: none written), first day, last day]. */
export type RarcRow = readonly [
  code: string,
  status: CodeStatus,
  label: string | null,
  start: string | null,
  stop: string | null,
];

export interface CodeTable<R extends CarcRow | RarcRow> {
  readonly title: string;
  readonly format: 1;
  readonly list: CodeListKind;
  /** YYYY-MM-DD the import ran. */
  readonly imported: string;
  readonly generator: string;
  readonly source: { readonly file: string; readonly rows: number; readonly sha256: string };
  readonly notes: string;
  readonly codes: readonly R[];
}
