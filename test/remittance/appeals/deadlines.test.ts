/**
 * Appeal deadlines (src/remittance/appeals/deadlines.ts): Medicare counts from the presumed
 * receipt (the notice's date + 5 days), commercial from the decision; month ends, leap years and
 * the tenant's zone deciding which calendar day "today" is.
 */
import { describe, expect, test } from '@jest/globals';
import {
  appealLevels,
  deadlineStage,
  filingDeadline,
  nextLevel,
} from '../../../src/remittance/appeals/deadlines.ts';
import { localDate } from '../../../src/time/zone.ts';

const medicare = { kind: 'medicare' as const };
const commercial = { kind: 'commercial' as const };

describe('levels by payer', () => {
  test('Medicare: redetermination then reconsideration; commercial: first then second level; none after', () => {
    expect(appealLevels(medicare).map((l) => l.level)).toEqual(['redetermination', 'reconsideration']);
    expect(appealLevels(commercial).map((l) => l.level)).toEqual(['first-level', 'second-level']);
    expect(nextLevel(medicare)?.level).toBe('redetermination');
    expect(nextLevel(medicare, 'redetermination')?.level).toBe('reconsideration');
    expect(nextLevel(medicare, 'reconsideration')).toBeUndefined();
    expect(nextLevel(commercial, 'first-level')?.days).toBe(60);
  });

  test('per payer days from config replace the defaults, and the source says so', () => {
    const payer = { kind: 'commercial' as const, appealDays: 90, secondAppealDays: 45 };
    expect(appealLevels(payer).map((l) => l.days)).toEqual([90, 45]);
    expect(appealLevels(payer)[0]?.source).toMatch(/config appealDays/);
    expect(appealLevels(commercial)[0]?.source).toMatch(/2560\.503-1/);
    expect(appealLevels(medicare)[0]?.source).toMatch(/405\.942/);
  });
});

describe('filing deadlines', () => {
  const redetermination = appealLevels(medicare)[0]!;
  const reconsideration = appealLevels(medicare)[1]!;
  const firstLevel = appealLevels(commercial)[0]!;

  test('Medicare redetermination: 120 days from receipt, receipt presumed 5 days after the date (42 CFR 405.942)', () => {
    // 2026-01-31 + 5 = 2026-02-05; + 120 days = 2026-06-05.
    expect(filingDeadline('2026-01-31', redetermination)).toBe('2026-06-05');
    // Across a year end: 2026-12-03 + 5 = 12-08; + 120 = 2027-04-07.
    expect(filingDeadline('2026-12-03', redetermination)).toBe('2027-04-07');
  });

  test('leap years: February 29 counts as a day in 2028, not in 2027', () => {
    expect(filingDeadline('2028-02-20', redetermination)).toBe('2028-06-24');
    expect(filingDeadline('2027-02-20', redetermination)).toBe('2027-06-25');
  });

  test('Medicare reconsideration: 180 days from receipt of the redetermination (42 CFR 405.962)', () => {
    expect(filingDeadline('2026-03-31', reconsideration)).toBe('2026-10-02');
  });

  test('commercial: 180 days from the decision, across month ends', () => {
    // From August 31: February 2027 has 28 days, so day 180 is February 27.
    expect(filingDeadline('2026-08-31', firstLevel)).toBe('2027-02-27');
    expect(filingDeadline('2027-08-31', firstLevel)).toBe('2028-02-27');
  });
});

describe('warnings and missed deadlines', () => {
  test('ok beyond 30 days, a warning at 30 and at 7 days left, missed the day after the deadline', () => {
    expect(deadlineStage('2027-04-07', '2027-03-07')).toEqual({ stage: 'ok', daysLeft: 31 });
    expect(deadlineStage('2027-04-07', '2027-03-08')).toEqual({ stage: 'warn-30', daysLeft: 30 });
    expect(deadlineStage('2027-04-07', '2027-03-31')).toEqual({ stage: 'warn-7', daysLeft: 7 });
    expect(deadlineStage('2027-04-07', '2027-04-07')).toEqual({ stage: 'warn-7', daysLeft: 0 });
    expect(deadlineStage('2027-04-07', '2027-04-08')).toEqual({ stage: 'missed', daysLeft: -1 });
  });

  test("the tenant's zone decides the day: 03:30 UTC is still the deadline day in Chicago, the day after in UTC", () => {
    const clock = new Date('2026-12-05T03:30:00Z');
    expect(deadlineStage('2026-12-04', localDate(clock, 'America/Chicago')).stage).toBe('warn-7');
    expect(deadlineStage('2026-12-04', localDate(clock, 'UTC')).stage).toBe('missed');
    // And across DST: 2027-03-14 06:30 UTC is 2027-03-14 01:30 CST (before the change at 02:00).
    expect(localDate(new Date('2027-03-14T06:30:00Z'), 'America/Chicago')).toBe('2027-03-14');
  });
});
