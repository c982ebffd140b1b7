/** dayOutcome (pure): which holds a seeded error explains. */
import { expect, test } from '@jest/globals';
import { dayOutcome } from '../../src/sandbox/day-outcome.ts';

const claim = (id: string, encounter: string, firstErrors: string[]) => ({
  id,
  encounters: [`Encounter/${encounter}`],
  firstScrub: firstErrors.length > 0 ? ('held' as const) : ('ready' as const),
  firstErrors,
});

test('a line coding held keeps its claim waiting (charge-held): explained by the coding error, and only by one', () => {
  const seeded = [{ encounter: 'e1', caughtBy: 'coding' as const, rule: 'missing-dose', what: 'no dose' }];
  const coding = [{ encounter: 'Encounter/e1', errors: ['missing-dose'] }];
  const explained = dayOutcome(seeded, [claim('c1', 'e1', ['charge-held'])], coding);
  expect(explained.unexplained).toEqual([]);
  expect(explained.seeded.missed).toEqual([]);
  // The same hold on an encounter with no seeded error is not explained.
  const other = dayOutcome(seeded, [claim('c1', 'e1', []), claim('c2', 'e2', ['charge-held'])], coding);
  expect(other.unexplained).toEqual([{ claim: 'c2', rules: ['charge-held'] }]);
  expect(other.clean).toEqual({ passed: 0, total: 1 });
});
