/**
 * The advancing clock the sandbox day runs on (src/time/clock.ts): the system clock until it is
 * moved forward, then ahead of it by every amount it was moved; never back.
 */
import { describe, expect, test } from '@jest/globals';
import { advancingClock } from '../../src/time/clock.ts';

describe('advancingClock', () => {
  test('keeps time with the system clock (moved by its offset) and jumps forward when advanced', () => {
    const clock = advancingClock(3_600_000);
    const before = Date.now();
    const first = clock.now().getTime();
    expect(first).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(first).toBeLessThanOrEqual(Date.now() + 3_600_000);
    clock.advance(30_000);
    clock.advance(5_000);
    expect(clock.advancedMs()).toBe(35_000);
    const later = clock.now().getTime();
    expect(later).toBeGreaterThanOrEqual(first + 35_000);
    expect(later).toBeLessThanOrEqual(Date.now() + 3_600_000 + 35_000);
  });

  test('never moves back, nor by an amount that is not a number', () => {
    const clock = advancingClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(clock.advancedMs()).toBe(0);
  });
});
