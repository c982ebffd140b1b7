/**
 * Which PAS subscription events Dripline never received (src/coverage/pas/missing-events.ts,
 * Backport IG 1.1 errors.html "Missing Event"): an event number that skips, a count beyond what
 * was delivered; late and redelivered notifications; recoveries.
 */
import { expect, test } from '@jest/globals';
import type { EventLedger } from '../../../src/coverage/pas/missing-events.ts';
import {
  EMPTY_LEDGER,
  eventsAccounted,
  MISSING_EVENT_GRACE_MS,
  missingRanges,
  recovered,
  recoveryDueAt,
  takeNotification,
} from '../../../src/coverage/pas/missing-events.ts';

const at = (second: number): Date => new Date(Date.UTC(2026, 11, 6, 15, 0, second));
const take = (ledger: EventLedger, numbers: number[], reported: number | undefined, second: number) =>
  takeNotification(ledger, { numbers, ...(reported !== undefined ? { reported } : {}) }, at(second));

test('events in order, then heartbeats counting them: nothing missing', () => {
  let ledger = take(EMPTY_LEDGER, [], 0, 0); // the handshake
  ledger = take(ledger, [1], 1, 1);
  ledger = take(ledger, [2], 2, 2);
  ledger = take(ledger, [], 2, 3);
  expect(ledger).toEqual({ through: 2, ahead: [], reported: 2 });
  expect(missingRanges(ledger)).toEqual([]);
  expect(recoveryDueAt(ledger)).toBeUndefined();
});

test('an event number that skips: the one skipped is missing, due after the grace from when it was seen', () => {
  const ledger = take(take(EMPTY_LEDGER, [1], 1, 0), [3], 3, 5);
  expect(missingRanges(ledger)).toEqual([{ from: 2, to: 2 }]);
  expect(recoveryDueAt(ledger)).toEqual(new Date(at(5).getTime() + MISSING_EVENT_GRACE_MS));
  expect(eventsAccounted(ledger)).toBe(3);
  // It arrives late, within the wait: nothing missing any more.
  expect(recoveryDueAt(take(ledger, [2], 3, 7))).toBeUndefined();
});

test('a heartbeat counting more than was delivered: the rest is missing; the same heartbeat again does not put it off', () => {
  const first = take(take(EMPTY_LEDGER, [1], 1, 0), [], 3, 10);
  expect(missingRanges(first)).toEqual([{ from: 2, to: 3 }]);
  const again = take(first, [], 3, 20);
  expect(again).toEqual(first);
  // A later one revealing more: still due from the first.
  const more = take(again, [], 5, 30);
  expect(missingRanges(more)).toEqual([{ from: 2, to: 5 }]);
  expect(recoveryDueAt(more)).toEqual(recoveryDueAt(first));
});

test('recovered through the count: nothing missing; an event redelivered after changes nothing', () => {
  const gap = take(take(EMPTY_LEDGER, [1], 1, 0), [4], 4, 1);
  const done = recovered(gap, 4, at(20));
  expect(done).toEqual({ through: 4, ahead: [], reported: 4 });
  expect(take(done, [2], 4, 30)).toEqual(done);
  expect(take(done, [1], 4, 31)).toEqual(done);
});

test('more missing past what was recovered: missing from the recovery on', () => {
  const gap = take(EMPTY_LEDGER, [], 2, 0);
  const later = take(gap, [], 4, 5);
  const done = recovered(later, 2, at(20));
  expect(missingRanges(done)).toEqual([{ from: 3, to: 4 }]);
  expect(done.missingSince).toBe(at(20).toISOString());
});
