import { describe, expect, test } from '@jest/globals';
import { mulberry32 } from '../../src/sandbox/random.ts';
import {
  advanceContiguous,
  gapNeedsRecovery,
  heartbeatOverdue,
  INITIAL_TRACKER,
  missingRanges,
  recordEvent,
  recordRecovered,
  recordReported,
} from '../../src/ingest/event-tracker.ts';
import type { EventTrackerState } from '../../src/ingest/event-tracker.ts';

const T0 = '2026-11-26T10:00:00.000Z';

function apply(numbers: number[]): EventTrackerState {
  let state = INITIAL_TRACKER;
  for (const n of numbers) {
    state = recordEvent(state, n, T0).state;
  }
  return state;
}

describe('event tracker', () => {
  test('events in any order leave the marks advanceContiguous gives for all the numbers seen', () => {
    const random = mulberry32(17);
    for (let run = 0; run < 40; run++) {
      // A shuffled window of event numbers with a few missing and a few delivered twice.
      const numbers = Array.from({ length: 300 }, (_, i) => i + 1).filter(() => random() > 0.05);
      for (let i = numbers.length - 1; i > 0; i--) {
        const j = Math.min(i, Math.floor(random() * 40) + Math.max(0, i - 40));
        [numbers[i], numbers[j]] = [numbers[j] ?? 0, numbers[i] ?? 0];
      }
      // (Event 1 again after more is a counter reset: not among the duplicates here.)
      const delivered = numbers.flatMap((n) => (n > 1 && random() < 0.05 ? [n, n] : [n]));
      let state = INITIAL_TRACKER;
      const seen: number[] = [];
      for (const n of delivered) {
        state = recordEvent(state, n, T0).state;
        seen.push(n);
        const expected = advanceContiguous(0, seen);
        expect({ contiguous: state.contiguous, ahead: state.ahead }).toEqual(expected);
      }
    }
  });

  test('in-order events advance the contiguous mark with no gap', () => {
    const state = apply([1, 2, 3]);
    expect(state).toMatchObject({ contiguous: 3, ahead: [], reported: 3 });
    expect(state.gapSince).toBeUndefined();
  });

  test('out-of-order arrival opens a gap that closes when the late event comes', () => {
    const open = apply([1, 3, 4]);
    expect(open).toMatchObject({ contiguous: 1, ahead: [3, 4] });
    expect(open.gapSince).toBe(T0);
    expect(missingRanges(open)).toEqual([{ from: 2, to: 2 }]);
    const closed = recordEvent(open, 2, T0).state;
    expect(closed).toMatchObject({ contiguous: 4, ahead: [] });
    expect(closed.gapSince).toBeUndefined();
  });

  test('duplicates are recognised and change nothing but lastHeard', () => {
    const state = apply([1, 2, 3]);
    const again = recordEvent(state, 2, '2026-11-26T10:05:00.000Z');
    expect(again.kind).toBe('duplicate');
    expect(again.state).toMatchObject({
      contiguous: 3,
      ahead: [],
      reported: 3,
      lastHeard: '2026-11-26T10:05:00.000Z',
    });
  });

  test('a heartbeat reporting more events than processed is a gap', () => {
    const state = recordReported(apply([1, 2]), 5, T0);
    expect(state.reset).toBe(false);
    expect(missingRanges(state.state)).toEqual([{ from: 3, to: 5 }]);
    expect(gapNeedsRecovery(state.state, new Date('2026-11-26T10:00:05Z'), 10_000)).toBe(false);
    expect(gapNeedsRecovery(state.state, new Date('2026-11-26T10:00:11Z'), 10_000)).toBe(true);
  });

  test('a counter that goes down is a reset', () => {
    const reported = recordReported(apply([1, 2, 3, 4]), 2, T0);
    expect(reported.reset).toBe(true);
    expect(reported.state).toMatchObject({ contiguous: 2, reported: 2, ahead: [] });
    const restarted = recordEvent(apply([1, 2, 3, 4]), 1, T0);
    expect(restarted.kind).toBe('reset');
  });

  test('event 1 again under a count that did not go down is a redelivery, not a reset', () => {
    const state = apply([1, 2, 3, 4]);
    const counted = recordReported(state, 4, T0);
    expect(counted.reset).toBe(false);
    const again = recordEvent(counted.state, 1, T0, 4);
    expect(again.kind).toBe('duplicate');
    expect(again.state).toMatchObject({ contiguous: 4, reported: 4 });
  });

  test('recovery marks the range done', () => {
    const state = recordRecovered(apply([1, 4]), 3, T0);
    expect(state).toMatchObject({ contiguous: 4, ahead: [] });
    expect(state.gapSince).toBeUndefined();
  });

  test('missing ranges with several holes', () => {
    const state = recordReported(apply([1, 3, 6]), 8, T0).state;
    expect(missingRanges(state)).toEqual([
      { from: 2, to: 2 },
      { from: 4, to: 5 },
      { from: 7, to: 8 },
    ]);
  });

  test('heartbeat overdue after 1.5 periods of silence', () => {
    const state = apply([1]);
    expect(heartbeatOverdue(state, new Date('2026-11-26T10:07:00Z'), 300)).toBe(false);
    expect(heartbeatOverdue(state, new Date('2026-11-26T10:08:00Z'), 300)).toBe(true);
    expect(heartbeatOverdue(INITIAL_TRACKER, new Date('2027-01-01T00:00:00Z'), 300)).toBe(false);
  });
});
