/**
 * The format of a reference rate schedule a contract can be a percentage of
 * (./reference/<schedule>-<period>.json): OPPS national payment rates of the administration and
 * access codes (imported from CMS Addendum B by ./reference-import.ts) and the physician fee
 * schedule rates Dripline seeds by hand (marked UNVERIFIED). Medicare drug rates (ASP) are not
 * here: they come from the CMS quarter tables the coding engine loads (src/coding/tables/cms/).
 */

import type { ReferenceScheduleId } from '../../config/contracts-file.ts';

/** Schedules a `percent-of-reference` contract term can name (the contracts file format, in config). */
export type { ReferenceScheduleId };

export const REFERENCE_SCHEDULES: readonly ReferenceScheduleId[] = [
  'medicare-asp',
  'opps',
  'medicare-physician',
];

/** [code, rate in USD per unit of the code, status indicator or other qualifier (null: none)]. */
export type ReferenceRateRow = readonly [code: string, rate: number, qualifier: string | null];

export interface ReferenceRateTable {
  readonly title: string;
  readonly format: 1;
  readonly schedule: Exclude<ReferenceScheduleId, 'medicare-asp'>;
  /** First and last day the rates apply to (YYYY-MM-DD). */
  readonly effective: string;
  readonly through: string;
  /** `verified`: imported from the named public file; `UNVERIFIED`: seeded by hand, not checked against its source. */
  readonly verification: 'verified' | 'UNVERIFIED';
  readonly source: {
    readonly file: string;
    readonly rows?: number;
    readonly sha256?: string;
    readonly note?: string;
  };
  readonly imported?: string;
  readonly generator?: string;
  readonly notes: string;
  readonly rates: readonly ReferenceRateRow[];
}
