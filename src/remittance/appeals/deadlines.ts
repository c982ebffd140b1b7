/**
 * Appeal levels and filing deadlines by payer: pure rules, each with its source. Dates are
 * calendar dates (YYYY-MM-DD) in the tenant's zone; the caller turns the clock into "today" there.
 *
 * - Medicare Part A/B: first a redetermination by the MAC, then a reconsideration by the QIC.
 *   - redetermination: filed within 120 days from the date of receipt of the initial determination
 *     (the remittance), receipt presumed 5 days after the date on the notice (42 CFR 405.942(a));
 *   - reconsideration: filed within 180 days from the date of receipt of the redetermination
 *     decision, receipt presumed 5 days after its date (42 CFR 405.962(a)).
 * - Commercial (and Medicaid managed care): first and second level.
 *   - first level: 180 days from the adverse determination (ERISA group health plans must allow at
 *     least 180 days, 29 CFR 2560.503-1(h)(3)(i)); per payer `appealDays` (contracts often say less);
 *   - second level: 60 days from the first-level decision, a common contract term (UNVERIFIED: no
 *     federal rule sets it): per payer `secondAppealDays`.
 * - Medicaid fee-for-service: 90 days first level (UNVERIFIED: each state sets its own).
 *
 * A deadline falling on a weekend or holiday is not moved (42 CFR 405.942 counts calendar days and
 * has no such extension; the conservative reading for every payer).
 */
import { addDays, daysBetween } from '../../time/zone.ts';

export type AppealLevel = 'redetermination' | 'reconsideration' | 'first-level' | 'second-level';
export type PayerKind = 'medicare' | 'medicaid' | 'commercial';

export interface AppealPayer {
  readonly kind: PayerKind;
  /** Days to file the first level (config `payers[].appealDays`). */
  readonly appealDays?: number;
  /** Days to file the second level (config `payers[].secondAppealDays`). */
  readonly secondAppealDays?: number;
}

export interface LevelRule {
  readonly level: AppealLevel;
  readonly label: string;
  /** Days to file, counted from the (presumed) receipt of the decision appealed. */
  readonly days: number;
  /** Days after the decision's date its receipt is presumed (0: counted from the date itself). */
  readonly receiptDays: number;
  readonly source: string;
}

const MEDICARE: readonly LevelRule[] = [
  {
    level: 'redetermination',
    label: 'Medicare redetermination (first level)',
    days: 120,
    receiptDays: 5,
    source:
      '42 CFR 405.942(a): 120 days from receipt of the initial determination, receipt presumed 5 days after its date',
  },
  {
    level: 'reconsideration',
    label: 'Medicare reconsideration by the QIC (second level)',
    days: 180,
    receiptDays: 5,
    source:
      '42 CFR 405.962(a): 180 days from receipt of the redetermination, receipt presumed 5 days after its date',
  },
];

const FIRST_LEVEL_DAYS: Readonly<Record<Exclude<PayerKind, 'medicare'>, number>> = {
  commercial: 180,
  medicaid: 90,
};

/** The payer's appeal levels in order, with the days each allows. */
export function appealLevels(payer: AppealPayer): readonly LevelRule[] {
  if (payer.kind === 'medicare') {
    return MEDICARE.map((rule, i) =>
      i === 0 && payer.appealDays !== undefined
        ? {
            ...rule,
            days: payer.appealDays,
            source: `${rule.source} (this payer: ${payer.appealDays} days, config)`,
          }
        : i === 1 && payer.secondAppealDays !== undefined
          ? {
              ...rule,
              days: payer.secondAppealDays,
              source: `${rule.source} (this payer: ${payer.secondAppealDays} days, config)`,
            }
          : rule,
    );
  }
  const firstDefault = FIRST_LEVEL_DAYS[payer.kind];
  return [
    {
      level: 'first-level',
      label: 'First-level appeal',
      days: payer.appealDays ?? firstDefault,
      receiptDays: 0,
      source:
        payer.appealDays !== undefined
          ? `payer contract: ${payer.appealDays} days (config appealDays)`
          : payer.kind === 'commercial'
            ? '29 CFR 2560.503-1(h)(3)(i): at least 180 days from the adverse determination'
            : 'state Medicaid rule: 90 days (UNVERIFIED default; set appealDays)',
    },
    {
      level: 'second-level',
      label: 'Second-level appeal',
      days: payer.secondAppealDays ?? 60,
      receiptDays: 0,
      source:
        payer.secondAppealDays !== undefined
          ? `payer contract: ${payer.secondAppealDays} days (config secondAppealDays)`
          : 'common contract term: 60 days from the first-level decision (UNVERIFIED default; set secondAppealDays)',
    },
  ];
}

/** The level after `previous` (undefined: the first), or undefined when there is none. */
export function nextLevel(payer: AppealPayer, previous?: AppealLevel): LevelRule | undefined {
  const levels = appealLevels(payer);
  if (previous === undefined) {
    return levels[0];
  }
  const at = levels.findIndex((l) => l.level === previous);
  return at < 0 ? undefined : levels[at + 1];
}

/** The last day to file an appeal of a decision dated `decided` (YYYY-MM-DD) at this level. */
export function filingDeadline(decided: string, rule: Pick<LevelRule, 'days' | 'receiptDays'>): string {
  return addDays(addDays(decided, rule.receiptDays), rule.days);
}

/** Warnings at 30 and 7 days left (the days before the deadline), `missed` once it has passed. */
export const WARNING_DAYS = [30, 7] as const;
export type DeadlineStage = 'ok' | 'warn-30' | 'warn-7' | 'missed';

/** Where an open appeal stands against its deadline on `today` (the deadline day itself is still in time). */
export function deadlineStage(deadline: string, today: string): { stage: DeadlineStage; daysLeft: number } {
  const daysLeft = daysBetween(today, deadline);
  const stage: DeadlineStage =
    daysLeft < 0 ? 'missed' : daysLeft <= 7 ? 'warn-7' : daysLeft <= 30 ? 'warn-30' : 'ok';
  return { stage, daysLeft };
}
