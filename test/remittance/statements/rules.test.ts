/**
 * Statement rules (src/remittance/statements/rules.ts): cycles from the anchor, aging buckets with
 * credits paying the oldest first, and the dunning schedule (configurable), credits flagged.
 */
import { describe, expect, test } from '@jest/globals';
import {
  agingOf,
  collectionsStatus,
  cycleOf,
  unpaidCharges,
} from '../../../src/remittance/statements/rules.ts';

describe('statement rules', () => {
  test('the cycle is the last cycle start on or before today; the due date follows the statement date', () => {
    expect(cycleOf('2026-01-30')).toEqual({ start: '2026-01-01', due: '2026-02-20' });
    expect(cycleOf('2026-01-31')).toEqual({ start: '2026-01-31', due: '2026-02-21' });
    expect(cycleOf('2026-12-04', { cycleDays: 14, anchor: '2026-11-02', dueDays: 10 })).toEqual({
      start: '2026-11-30',
      due: '2026-12-14',
    });
  });

  test('aging: credits pay the oldest amounts first; each bucket has its edges', () => {
    const charges = [
      { date: '2026-07-01', amount: 40 }, // 156 days
      { date: '2026-08-06', amount: 10 }, // 120 days
      { date: '2026-09-05', amount: 20 }, // 90 days
      { date: '2026-11-03', amount: 30 }, // 31 days
      { date: '2026-11-04', amount: 50 }, // 30 days
    ];
    expect(agingOf(unpaidCharges(charges, 0), '2026-12-04')).toEqual({
      '0-30': 50,
      '31-60': 30,
      '61-90': 20,
      '91-120': 10,
      '120+': 40,
    });
    expect(agingOf(unpaidCharges(charges, 45), '2026-12-04')).toEqual({
      '0-30': 50,
      '31-60': 30,
      '61-90': 20,
      '91-120': 5,
      '120+': 0,
    });
  });

  test('dunning by the age of the oldest unpaid amount; a credit is refund-due; the schedule is per tenant', () => {
    const at = (date: string) => [{ date, amount: 10 }];
    expect(collectionsStatus(10, at('2026-10-06'), '2026-12-04')).toBe('current'); // 59 days
    expect(collectionsStatus(10, at('2026-10-05'), '2026-12-04')).toBe('reminder'); // 60
    expect(collectionsStatus(10, at('2026-09-05'), '2026-12-04')).toBe('final-notice'); // 90
    expect(collectionsStatus(10, at('2026-08-06'), '2026-12-04')).toBe('hold'); // 120
    expect(collectionsStatus(-5, [], '2026-12-04')).toBe('refund-due');
    expect(collectionsStatus(0, [], '2026-12-04')).toBe('current');
    expect(collectionsStatus(10, at('2026-11-04'), '2026-12-04', { dunning: { reminder: 30 } })).toBe(
      'reminder',
    );
  });
});
