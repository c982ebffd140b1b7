/**
 * Dates of service in the clinic's IANA time zone (R3.7): the engine follows DST where a fixed
 * offset cannot, and a configured zone wins over the older fixed `utcOffset`.
 */
import { expect, test } from '@jest/globals';
import { codeEncounters } from '../../../src/coding/engine/index.ts';
import { adm, input, show, TABLES, visit } from './helpers.ts';

const NY = 'America/New_York';

const administrationLines = (result: ReturnType<typeof codeEncounters>): string[] =>
  result.lines.filter((l) => l.kind === 'administration').map((l) => show(l, true));

test('office push at 22:00 New York summer time (02:00Z) is dated that evening', () => {
  const result = codeEncounters(
    input('office', [adm('p', 'J2405', '2026-07-04T02:00:00Z', '2026-07-04T02:03:00Z')], {
      encounters: [visit('E1', '2026-07-04T01:55:00Z')],
      options: { timeZone: NY },
    }),
    TABLES,
  );
  expect(administrationLines(result)).toEqual(['96374x1@2026-07-03']);
});

test('a fixed -05:00 is an hour off in summer; the zone is not', () => {
  // 00:30 EDT on 4 July is 23:30 on 3 July at a fixed -05:00.
  const push = [adm('p', 'J2405', '2026-07-04T04:30:00Z', '2026-07-04T04:33:00Z')];
  const encounters = [visit('E1', '2026-07-04T04:25:00Z')];
  const zoned = codeEncounters(input('office', push, { encounters, options: { timeZone: NY } }), TABLES);
  const fixed = codeEncounters(
    input('office', push, { encounters, options: { utcOffset: '-05:00' } }),
    TABLES,
  );
  const both = codeEncounters(
    input('office', push, { encounters, options: { timeZone: NY, utcOffset: '-05:00' } }),
    TABLES,
  );
  expect(administrationLines(zoned)).toEqual(['96374x1@2026-07-04']);
  expect(administrationLines(fixed)).toEqual(['96374x1@2026-07-03']);
  expect(administrationLines(both)).toEqual(['96374x1@2026-07-04']);
});

test('facility infusion across local midnight: first hour on the day it began, the rest on the next (EDT)', () => {
  // 23:30–01:30 EDT.
  const result = codeEncounters(
    input('hospital-outpatient', [
      adm('a', 'J1756', '2026-07-04T03:30:00Z', '2026-07-04T05:30:00Z', { site: 'L' }),
    ]),
    TABLES,
  );
  const zoned = codeEncounters(
    input(
      'hospital-outpatient',
      [adm('a', 'J1756', '2026-07-04T03:30:00Z', '2026-07-04T05:30:00Z', { site: 'L' })],
      { options: { timeZone: NY } },
    ),
    TABLES,
  );
  expect(administrationLines(zoned)).toEqual(['96365x1@2026-07-03', '96366x1@2026-07-04']);
  // In UTC the whole infusion is on 4 July.
  expect(administrationLines(result)).toEqual(['96365x1@2026-07-04', '96366x1@2026-07-04']);
});
