/**
 * The day the sandbox seeds (src/sandbox/day.ts): decided in the centre's zone, a day every visit
 * of which has ended — whatever the hour. The seeded day's last visit ends at 00:30 the next day.
 */
import { expect, test } from '@jest/globals';
import { sandboxSeedDay } from '../../src/sandbox/day.ts';
import { generateInfusionDay } from '../../src/sandbox/ehr/seed/generate.ts';

const NY = 'America/New_York';

test.each([
  // 00:30 UTC is 19:30 the day before in New York: that day is not over, the one before is.
  ['2026-12-04T00:30:00Z', '2026-12-02'],
  ['2026-12-04T04:59:00Z', '2026-12-02'],
  // 00:10 in New York: yesterday's last visit runs until 00:30, so the day before.
  ['2026-12-04T05:10:00Z', '2026-12-02'],
  ['2026-12-04T05:31:00Z', '2026-12-03'],
  ['2026-12-04T23:30:00Z', '2026-12-03'],
  // Summer time: midnight in New York is 04:00 UTC.
  ['2026-07-04T04:20:00Z', '2026-07-02'],
  ['2026-07-04T04:31:00Z', '2026-07-03'],
])('at %s the sandbox seeds %s', (now, day) => {
  expect(sandboxSeedDay(new Date(now), { timeZone: NY, patients: 16 })).toBe(day);
});

/** Every encounter end of the seeded day `date`, generated once per date (the day is deterministic). */
const encounterEnds = new Map<string, number[]>();
function endsOf(date: string): number[] {
  let ends = encounterEnds.get(date);
  if (!ends) {
    const day = generateInfusionDay({ date, patients: 16, timeZone: NY });
    ends = [...day.reference, ...day.timeline.map((s) => s.resource)].flatMap((r) =>
      r.resourceType === 'Encounter' && r.period?.end ? [Date.parse(r.period.end)] : [],
    );
    encounterEnds.set(date, ends);
  }
  return ends;
}

test.each([11, 6])(
  'every visit of the chosen day has ended, every half hour of a day (month %i)',
  (month) => {
    for (let minute = 0; minute < 24 * 60; minute += 30) {
      const now = new Date(Date.UTC(2026, month, 4, 0, minute));
      const ends = endsOf(sandboxSeedDay(now, { timeZone: NY, patients: 16 })).filter(
        (t) => t > now.getTime(),
      );
      expect([now.toISOString(), ends]).toEqual([now.toISOString(), []]);
    }
  },
);
