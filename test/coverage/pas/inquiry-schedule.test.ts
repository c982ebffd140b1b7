/** When a pended PAS request's inquiry rounds run: the payer's slow schedule, backing off where it notifies. */
import { describe, expect, test } from '@jest/globals';
import { FALLBACK_CAP_MINUTES, nextInquiryAt } from '../../../src/coverage/pas/inquiry-schedule.ts';

const PENDED = new Date('2026-12-06T10:00:00Z');
const at = (minutes: number): Date => new Date(PENDED.getTime() + minutes * 60_000);
const minutesAfterPend = (date: Date): number => (date.getTime() - PENDED.getTime()) / 60_000;

/** The rounds' instants (minutes after the pend) when each runs at its time and finds the request still pended. */
function rounds(notified: boolean, inquireMinutes: number, count: number): number[] {
  const out: number[] = [];
  let next = nextInquiryAt({ notified, inquireMinutes, pendedAt: PENDED, now: PENDED, afterRound: false });
  for (let i = 0; i < count; i++) {
    out.push(minutesAfterPend(next));
    next = nextInquiryAt({ notified, inquireMinutes, pendedAt: PENDED, now: next, afterRound: true });
  }
  return out;
}

describe('the rounds of one pend', () => {
  test('no subscription in place: every inquireMinutes, as configured', () => {
    expect(rounds(false, 240, 5)).toEqual([240, 480, 720, 960, 1200]);
  });

  test('notified: the first inquireMinutes after the pend, then the waits double up to a day', () => {
    // Waits 240, 480, 960, then the day's cap.
    expect(rounds(true, 240, 6)).toEqual([240, 720, 1680, 3120, 4560, 6000]);
    expect(FALLBACK_CAP_MINUTES).toBe(1440);
  });

  test('notified, inquireMinutes longer than a day: never more often than configured', () => {
    expect(rounds(true, 2880, 3)).toEqual([2880, 5760, 8640]);
  });

  test('a round run early (a person asked) waits the time pended so far plus inquireMinutes', () => {
    const next = nextInquiryAt({
      notified: true,
      inquireMinutes: 30,
      pendedAt: PENDED,
      now: at(5),
      afterRound: true,
    });
    expect(minutesAfterPend(next)).toBe(5 + 35);
  });
});

describe('the first round of a pend', () => {
  test('inquireMinutes after the pend, at any payer', () => {
    for (const notified of [true, false]) {
      const first = nextInquiryAt({
        notified,
        inquireMinutes: 30,
        pendedAt: PENDED,
        now: at(10),
        afterRound: false,
      });
      expect(minutesAfterPend(first)).toBe(30);
    }
  });

  test('a request pended long before anything followed it: now', () => {
    const now = at(3 * 24 * 60);
    expect(
      nextInquiryAt({ notified: true, inquireMinutes: 240, pendedAt: PENDED, now, afterRound: false }),
    ).toEqual(now);
  });
});
