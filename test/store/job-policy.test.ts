import { describe, expect, test } from '@jest/globals';
import { retryDelayMs } from '../../src/store/job-policy.ts';

describe('retryDelayMs', () => {
  test('1 s doubling, ±20% jitter, never above 1 h', () => {
    expect(retryDelayMs(1, 0.5)).toBe(1000);
    expect(retryDelayMs(2, 0.5)).toBe(2000);
    expect(retryDelayMs(4, 0.5)).toBe(8000);
    expect(retryDelayMs(1, 0)).toBe(800);
    expect(retryDelayMs(1, 0.999999)).toBe(1200);
    expect(retryDelayMs(3, 0)).toBe(3200);
    expect(retryDelayMs(13, 0.5)).toBe(3_600_000);
    expect(retryDelayMs(40, 0.999)).toBe(3_600_000);
    expect(retryDelayMs(100, 0)).toBe(2_880_000);
  });

  test('a first attempt or nonsense counts start at 1 s', () => {
    expect(retryDelayMs(0, 0.5)).toBe(1000);
    expect(retryDelayMs(-3, 0.5)).toBe(1000);
  });
});
